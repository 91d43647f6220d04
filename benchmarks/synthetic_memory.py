"""Memory and time of writing a large lazy synthetic satellite scene to zarr.

Builds ``satellite_scene(size, size, chunks=chunk)`` (a dask graph, nothing
computed), then writes cube (202 bands) and RGB to a temporary zarr store in
one pass with the threaded scheduler, so each cube block is generated once,
used for both variables, written and dropped. Peak resident memory must stay
near ``workers x (block working set)``, far below the size of the cube.

Usage::

    python benchmarks/synthetic_memory.py                      # 4096 x 4096, chunks 256, 2 workers
    python benchmarks/synthetic_memory.py --size 1024 --markdown out.md

The store is deleted afterwards unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class _PeakSampler(threading.Thread):
    """Samples the process RSS every ``interval`` seconds (psutil)."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, _rss_mib())
            self._halt.wait(self.interval)

    def stop(self) -> float:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, _rss_mib())
        return self.peak


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dir", default=None, help="parent folder of the temporary store")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--markdown", default=None, help="append-free: write the result table here")
    args = ap.parse_args(argv)

    import dask
    import numpy as np
    import xarray as xr

    from specrecon.datasets.synthetic import satellite_scene

    rss0 = _rss_mib()
    t0 = time.perf_counter()
    scene = satellite_scene(args.size, args.size, seed=args.seed, chunks=args.chunk)
    t_build = time.perf_counter() - t0
    rss_build = _rss_mib()
    rgb, cube = scene
    ds = xr.Dataset({"reflectance": cube, "rgb": rgb.drop_vars("band_name", errors="ignore")})
    nbytes_cube = cube.size * cube.dtype.itemsize
    nbytes_rgb = rgb.size * rgb.dtype.itemsize

    tmp = Path(tempfile.mkdtemp(prefix="specrecon-synth-", dir=args.dir))
    store = tmp / "scene.zarr"
    sampler = _PeakSampler()
    sampler.start()
    t0 = time.perf_counter()
    try:
        with dask.config.set(scheduler="threads", num_workers=args.workers):
            ds.to_zarr(store, mode="w", compute=True, consolidated=False)
        t_write = time.perf_counter() - t0
        peak_sampled = sampler.stop()
        size_on_disk = _dir_size(store)
        # read back one block and the georeferencing as a sanity check
        back = xr.open_zarr(store, decode_coords="all", consolidated=False)
        blk = back.reflectance[:, : args.chunk, : args.chunk].values
        ok = bool(np.array_equal(blk, cube[:, : args.chunk, : args.chunk].values))
        crs_ok = "spatial_ref" in back.coords
    finally:
        if sampler.is_alive():
            sampler.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    peak_rusage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    res = {
        "size": args.size, "chunk": args.chunk, "workers": args.workers,
        "blocks": int(np.prod(cube.data.numblocks)),
        "cube_gib": nbytes_cube / 2**30, "rgb_mib": nbytes_rgb / 2**20,
        "build_s": t_build, "write_s": t_write,
        "mpix_per_s": args.size * args.size / t_write / 1e6,
        "rss_start_mib": rss0, "rss_after_build_mib": rss_build,
        "peak_rss_sampled_mib": peak_sampled, "peak_rss_rusage_mib": peak_rusage,
        "store_gib": size_on_disk / 2**30, "roundtrip_block_equal": ok, "spatial_ref_ok": crs_ok,
    }
    for k, v in res.items():
        print(f"{k:24s} {v:.3f}" if isinstance(v, float) else f"{k:24s} {v}")
    if args.markdown:
        _write_markdown(Path(args.markdown), res, argv if argv is not None else sys.argv[1:])
    return res


def _write_markdown(path: Path, r: dict, argv: list[str]) -> None:
    import dask
    import zarr

    cmd = "python benchmarks/synthetic_memory.py " + " ".join(argv)
    lines = [
        "# Synthetic satellite scene: streaming write to zarr",
        "",
        ("Generated by `benchmarks/synthetic_memory.py`. The scene is **synthetic** "
         "(`specrecon.datasets.synthetic.satellite_scene`): PROSAIL vegetation and soils, "
         "parametric water and built materials, 202 HySpecNet bands."),
        "",
        f"Command: `{cmd.strip()}`",
        "",
        (f"Machine: {platform.machine()}, {os.cpu_count()} CPUs visible (shared with other jobs), "
         f"Python {platform.python_version()}, dask {dask.__version__}, zarr {zarr.__version__}; "
         "threaded scheduler."),
        "",
        "| quantity | value |",
        "|---|---|",
        f"| scene | {r['size']} x {r['size']} px, 202 bands, float32 |",
        f"| chunks | {r['chunk']} x {r['chunk']} px x all bands ({r['blocks']} blocks) |",
        f"| workers (threads) | {r['workers']} |",
        f"| cube size in memory if computed | {r['cube_gib']:.2f} GiB (+ RGB {r['rgb_mib']:.0f} MiB) |",
        f"| build lazy scene (graph only; first call in the process, so it includes importing colour-science/prosail/dask/rioxarray and the 216 PROSAIL runs of the spectral library) | {r['build_s']:.2f} s |",
        f"| generate + write cube and RGB | {r['write_s']:.1f} s ({r['mpix_per_s']:.3f} Mpx/s) |",
        (f"| RSS before / after building the graph | {r['rss_start_mib']:.0f} / "
         f"{r['rss_after_build_mib']:.0f} MiB |"),
        f"| peak RSS during the write (psutil, 0.2 s sampling) | {r['peak_rss_sampled_mib']:.0f} MiB |",
        f"| peak RSS of the process (getrusage) | {r['peak_rss_rusage_mib']:.0f} MiB |",
        f"| zarr store on disk | {r['store_gib']:.2f} GiB |",
        f"| first block read back equals the lazy block | {r['roundtrip_block_equal']} |",
        f"| `spatial_ref` survives the round trip | {r['spatial_ref_ok']} |",
        "",
        ("Reading: peak memory is bounded by the blocks in flight (each block's working set is "
         "a few copies of chunk x chunk x 202 float32 values), not by the scene size; the cube "
         "itself is never held in memory."),
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
