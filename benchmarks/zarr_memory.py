"""Peak memory while reconstructing growing scenes straight to zarr (CPU).

Each size runs in a fresh subprocess; peak RSS is that process's
``ru_maxrss``. A flat peak across sizes shows that the pipeline streams
chunk rows to disk instead of holding the cube in memory. The input is a
lazy synthetic dask scene (no input file), so only the reconstruction and the
writer are measured.

Run::

    OMP_NUM_THREADS=1 python benchmarks/zarr_memory.py --sizes 1024 2048 4096
    OMP_NUM_THREADS=1 python benchmarks/zarr_memory.py --sizes 16384   # 31.7 GB cube, ~11 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

CHILD = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
import dask, dask.array as da, numpy as np, torch
import specrecon
from specrecon.cube import make_rgb
size, chunk, tile, model_name = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0); torch.set_num_threads(1)
from specrecon.models import create_model
model = create_model(model_name).eval()
data = da.random.RandomState(0).random_sample((3, size, size), chunks=(3, chunk, chunk)).astype("float32")
rgb = make_rgb(data)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
cube = rgb.hsr.reconstruct(model=model, tile_size=tile, overlap=tile // 4, device="cpu",
                           wavelengths=np.linspace(400, 700, model.bands))
with tempfile.TemporaryDirectory() as tmp, dask.config.set(scheduler="threads", num_workers=2):
    cube.hsr.to_zarr(Path(tmp) / "c.zarr")   # the store is deleted afterwards
    seconds = time.perf_counter() - t0
print(json.dumps({"size": size, "seconds": round(seconds, 1),
                  "rss_before_mb": round(base / 1024, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "cube_mb": round(model.bands * size * size * 4 / 2**20, 1)}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    p.add_argument("--chunk", type=int, default=256)
    p.add_argument("--tile", type=int, default=64)
    p.add_argument("--model", default="mst-plus-plus-tiny-31")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    for size in a.sizes:
        out = subprocess.run([sys.executable, "-c", CHILD, str(size), str(a.chunk), str(a.tile),
                              a.model], capture_output=True, text=True, check=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        res.update(chunk=a.chunk, tile=a.tile, model=a.model, machine=platform.platform())
        print(json.dumps(res))
        if a.out:
            with open(a.out, "a") as f:
                f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
