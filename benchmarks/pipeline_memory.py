"""Peak memory of the GeoTIFF -> reconstruct -> zarr pipeline (the shipped default model).

Run (one scene per process, so ``ru_maxrss`` is this scene's peak)::

    OMP_NUM_THREADS=1 python benchmarks/pipeline_memory.py --size 4096 --chunk 512
    OMP_NUM_THREADS=1 python benchmarks/pipeline_memory.py --size 4096 --chunk 2048
    OMP_NUM_THREADS=1 python benchmarks/pipeline_memory.py --size 4096 --chunk 2048 --model hydra-natural-31
    OMP_NUM_THREADS=1 python benchmarks/pipeline_memory.py --size 4096 --chunk 512 --batch 2 --model W.safetensors

A uint8 GeoTIFF of ``--size`` squared random pixels is written to a temporary directory
(``--dir``), read lazily in ``--chunk`` px chunks, reconstructed (``--batch`` tiles per forward
pass) and written to zarr with
the threaded scheduler (2 threads); the store is deleted afterwards. ``rss_before`` is the
process after writing the GeoTIFF, ``peak`` the whole process's maximum.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--chunk", type=int, default=512)
    p.add_argument("--model", default="default")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=None,
                   help="tiles per forward pass (default: reconstruct's)")
    p.add_argument("--dir", default=None, help="temporary directory (default: the system's)")
    p.add_argument("--out", default=None, help="append a JSON line with the results here")
    a = p.parse_args()

    import dask
    import numpy as np
    import rioxarray
    import torch

    import specrecon
    from specrecon.cube import make_rgb

    tmp = Path(tempfile.mkdtemp(prefix="specrecon-memory-", dir=a.dir))
    try:
        rng = np.random.default_rng(0)
        rgb = make_rgb((rng.random((3, a.size, a.size)) * 255).astype("uint8"),
                       y=500_000.0 - 10.0 * np.arange(a.size),
                       x=300_000.0 + 10.0 * np.arange(a.size))
        rgb.rio.write_crs("EPSG:32633").rio.to_raster(tmp / "rgb.tif", tiled=True)
        del rgb
        torch.set_num_threads(1)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with dask.config.set(scheduler="threads", num_workers=a.threads):
            t0 = time.perf_counter()
            src = rioxarray.open_rasterio(tmp / "rgb.tif",
                                          chunks={"band": -1, "y": a.chunk, "x": a.chunk})
            cube = specrecon.reconstruct(src, a.model, device="cpu", batch_size=a.batch)
            specrecon.to_zarr(cube, tmp / "t.zarr", mode="w")
            seconds = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        res = {"size": a.size, "chunk": a.chunk, "model": a.model, "batch": a.batch,
               "cube_chunks": [int(cube.chunks[1][0]), int(cube.chunks[2][0])],
               "bands": int(cube.sizes["wavelength"]), "seconds": round(seconds, 1),
               "rss_before_gib": round(base / 2**20, 2), "peak_gib": round(peak / 2**20, 2),
               "date": time.strftime("%Y-%m-%d")}
        print(json.dumps(res))
        if a.out:
            with open(a.out, "a") as fh:
                fh.write(json.dumps(res) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
