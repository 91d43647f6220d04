"""GeoTIFF -> reconstruct -> zarr against the raw forward of the same shipped model.

Run (2 cores; the ratios are what matter on a shared machine)::

    OMP_NUM_THREADS=1 python benchmarks/pipeline_throughput.py --size 2048 \
        --out benchmarks/results/pipeline_throughput.jsonl
    OMP_NUM_THREADS=1 python benchmarks/pipeline_throughput.py --size 1024 --cluster
    OMP_NUM_THREADS=1 python benchmarks/pipeline_throughput.py --size 2048 --dir /dev/shm

The output of a 2048 px scene is 2-3 GB of compressed zarr chunks; on a shared virtual
disk whose write speed swings by 10x, ``--dir /dev/shm`` (memory-backed) measures the
pipeline without the disk, and the default directory measures it with.

What is compared, in one process so that machine load hits all figures alike:

* **raw forward**: the shipped model (``--model``, default the package default) on
  batches of ``--batch`` random tiles at the model card's tile size, torch using
  ``--threads`` intra-op threads; its time is scaled to the number of tiles the
  scene's global tile grid holds (``grid tiles``), i.e. the model work the pipeline
  cannot avoid with the card's tile settings;
* **pipeline**: a ``--size`` squared uint8 GeoTIFF written first, then
  ``rioxarray.open_rasterio(chunks=...)`` (lazy) -> :func:`specrecon.reconstruct`
  -> :func:`specrecon.to_zarr`, with the threaded scheduler (``--threads`` dask
  threads, one torch thread each), timed end to end;
* ``--cluster``: the same pipeline on a ``LocalCluster`` of ``--threads``
  single-thread worker processes, cold (workers start and load the model) and
  warm (a second write), against the threaded time; once with distributed's
  default worker environment and once with :func:`specrecon.runtime.worker_config`
  (see :data:`specrecon.runtime.WORKER_ENVIRON` for why).

``efficiency = raw time for the grid tiles / pipeline time``, measured in ``--repeats``
rounds of (raw streams, pipeline) so that both sides of each ratio see the same machine
load; the median round is reported and every round recorded (``rounds``). The pipeline also
runs the tiles that straddle chunk borders twice (``tiles run`` vs ``grid tiles``)
and blends, scales, masks, compresses and writes. ``--sync`` adds the same
pipeline on the synchronous scheduler against the one-thread raw forward (a
figure that machine load hardly skews), and ``*_model_share`` is the fraction of
the pipeline's thread time spent inside model calls.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


def _tiles_run(grid: Any, ych: tuple[int, ...], xch: tuple[int, ...]) -> int:
    from specrecon.tiling import chunk_bounds

    return sum(grid.y.tiles_for(a, b).size * grid.x.tiles_for(c, d).size
               for (a, b), (c, d) in itertools.product(itertools.pairwise(chunk_bounds(ych)),
                                                       itertools.pairwise(chunk_bounds(xch))))


def _pipeline(tif: Path, store: Path | None, model: str, chunk: int,
              batch: int) -> tuple[float, Any, float]:
    """Run GeoTIFF -> reconstruct -> to_zarr (``store=None``: compute every chunk of the
    cube and drop it instead of writing it); wall seconds, the cube, system CPU seconds."""
    import dask
    import rioxarray

    import specrecon

    t0, sys0 = time.perf_counter(), os.times().system
    src = rioxarray.open_rasterio(tif, chunks={"band": -1, "y": chunk, "x": chunk})
    cube = specrecon.reconstruct(src, model, device="cpu", batch_size=batch)
    if store is None:
        one = tuple((1,) * len(c) for c in cube.data.chunks)
        dask.compute(cube.data.map_blocks(lambda b: b[:1, :1, :1].copy(), chunks=one))
    else:
        specrecon.to_zarr(cube, store, mode="w")
    elapsed, system = time.perf_counter() - t0, os.times().system - sys0
    if store is not None:
        shutil.rmtree(store)          # a 2048^2 cube is 3+ GB on disk
    return elapsed, cube, system


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--model", default="default")
    p.add_argument("--chunk", type=int, default=512)
    p.add_argument("--batch", type=int, default=None,
                   help="tiles per forward pass (default: reconstruct's, "
                        "specrecon.graph.tiles_per_forward)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--raw-batches", type=int, default=100,
                   help="batches per stream timed for the raw forward (scaled to the grid)")
    p.add_argument("--repeats", type=int, default=3,
                   help="rounds of (raw forward, threaded pipeline); the median round's "
                        "efficiency is reported, every round is recorded")
    p.add_argument("--cluster", action="store_true", help="also time a LocalCluster")
    p.add_argument("--sync", action="store_true",
                   help="also time the synchronous scheduler against the 1-thread raw forward")
    p.add_argument("--dir", default=None,
                   help="where the GeoTIFF and the zarr stores go (default: the system temp "
                        "directory); /dev/shm takes the disk out of the figure")
    p.add_argument("--no-write", action="store_true",
                   help="each round also times the same pipeline computing every chunk of "
                        "the cube without writing it (what the write adds)")
    p.add_argument("--out", default=None, help="append a JSON line with the results here")
    a = p.parse_args()

    import rioxarray  # noqa: F401
    import torch

    from specrecon.graph import chunk_plan, tiles_per_forward
    from specrecon.inference import tile_grid
    from specrecon.models import load_model
    from specrecon.runtime import resolve_model

    resolved = resolve_model(a.model, device="cpu")
    card = resolved.card
    grid = tile_grid((a.size, a.size), card)
    ych, xch = chunk_plan(grid, ((a.chunk,), (a.chunk,)), bands=resolved.bands)
    tiles_run = _tiles_run(grid, ych, xch)
    a.batch = tiles_per_forward(grid.tile_shape, resolved.bands, a.batch)

    # raw forward: the same model and tile size, batches of random tiles. The raw
    # throughput with `threads` cores is the best of one stream with `threads` torch
    # threads and `threads` concurrent streams of one torch thread each (how the pipeline
    # runs it); a one-thread stream times `threads` is recorded too but not used, since
    # two streams on two cores do not run at twice one stream's speed (shared caches
    # and memory bandwidth, and a fresh process's allocator).
    net = load_model(resolved.spec.source, device="cpu")
    ty, tx = grid.tile_shape
    x = torch.rand(a.batch, 3, ty, tx)

    def stream(n: int, out: list[float]) -> None:
        with torch.inference_mode():
            t0 = time.perf_counter()
            for _ in range(n):
                net(x).numpy()
            out.append(time.perf_counter() - t0)

    with torch.inference_mode():
        for _ in range(3):
            net(x)
    torch.set_num_threads(1)
    one: list[float] = []
    stream(a.raw_batches, one)
    one_s = one[0] / a.raw_batches / a.batch
    torch.set_num_threads(a.threads)
    intra: list[float] = []
    stream(a.raw_batches, intra)
    intra_s = intra[0] / a.raw_batches / a.batch

    def streams() -> float:
        """Seconds per tile of ``threads`` concurrent one-thread streams."""
        torch.set_num_threads(1)
        walls: list[float] = []
        workers = [threading.Thread(target=stream, args=(a.raw_batches, walls))
                   for _ in range(a.threads)]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return (time.perf_counter() - t0) / (a.raw_batches * a.batch * a.threads)

    raw = {"one_s": one_s, "intra_s": intra_s, "streams": streams}
    tmp = Path(tempfile.mkdtemp(prefix="specrecon-pipeline-", dir=a.dir))
    try:
        _run_pipelines(a, tmp, grid, tiles_run, resolved, raw)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_pipelines(a: argparse.Namespace, tmp: Path, grid: Any, tiles_run: int, resolved: Any,
                   raw: dict[str, Any]) -> None:
    import dask
    import torch

    from specrecon.cube import make_rgb

    ty, tx = grid.tile_shape
    rng = np.random.default_rng(0)
    rgb = make_rgb((rng.random((3, a.size, a.size)) * 255).astype("uint8"),
                   y=500_000.0 - 10.0 * np.arange(a.size), x=300_000.0 + 10.0 * np.arange(a.size))
    rgb.rio.write_crs("EPSG:32633").rio.to_raster(tmp / "rgb.tif", tiled=True)

    # time spent inside the model calls of the pipeline (this process: threads / sync)
    from specrecon import runtime

    inside = {"s": 0.0}
    lock = threading.Lock()
    predict = runtime.predict

    def timed_predict(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return predict(*args, **kwargs)
        finally:
            with lock:
                inside["s"] += time.perf_counter() - t

    runtime.predict = timed_predict  # type: ignore[assignment]
    torch.set_num_threads(1)                     # one torch thread per dask thread
    sync_s = None
    if a.sync:
        with dask.config.set(scheduler="synchronous"):
            sync_s, _, _ = _pipeline(tmp / "rgb.tif", tmp / "s.zarr", a.model, a.chunk,
                                     a.batch)
        sync_model_s = inside["s"]
        inside["s"] = 0.0
    # rounds of (raw streams, threaded pipeline): the raw figure is measured right before
    # each pipeline run, so a change of machine load hits both sides of each ratio
    rounds: list[dict[str, float]] = []
    for _ in range(max(1, a.repeats)):
        streams_s = raw["streams"]()
        raw_grid_s = min(raw["intra_s"], streams_s) * grid.n_tiles
        torch.set_num_threads(1)                 # one torch thread per dask thread
        inside["s"] = 0.0
        with dask.config.set(scheduler="threads", num_workers=a.threads):
            threaded_s, cube, system_s = _pipeline(tmp / "rgb.tif", tmp / "t.zarr", a.model,
                                                   a.chunk, a.batch)
        model_s = inside["s"]
        rounds.append({"raw_s_per_tile_streams": round(streams_s, 5),
                       "raw_grid_s": round(raw_grid_s, 2), "threaded_s": round(threaded_s, 2),
                       "efficiency": round(raw_grid_s / threaded_s, 3),
                       "model_share": round(model_s / (threaded_s * a.threads), 3),
                       "system_s": round(system_s, 2)})
        if a.no_write:
            with dask.config.set(scheduler="threads", num_workers=a.threads):
                compute_s, _, compute_sys = _pipeline(tmp / "rgb.tif", None, a.model, a.chunk,
                                                      a.batch)
            rounds[-1].update(compute_only_s=round(compute_s, 2),
                              compute_only_system_s=round(compute_sys, 2),
                              efficiency_compute_only=round(raw_grid_s / compute_s, 3))
    runtime.predict = predict  # type: ignore[assignment]
    median = sorted(rounds, key=lambda r: r["efficiency"])[(len(rounds) - 1) // 2]
    one_s, intra_s = raw["one_s"], raw["intra_s"]
    res: dict[str, Any] = {
        "model": resolved.name, "tile": [ty, tx],
        "overlap": [grid.y.overlap, grid.x.overlap], "size": a.size, "chunk": a.chunk,
        "batch": a.batch, "threads": a.threads, "dir": str(tmp.parent),
        "grid_tiles": grid.n_tiles,
        "tiles_run": tiles_run, "graph_tasks": len(cube.__dask_graph__()),
        "raw_s_per_tile_1thread": round(one_s, 5),
        "raw_s_per_tile_intraop": round(intra_s, 5),
        "raw_s_per_tile_streams": median["raw_s_per_tile_streams"],
        "raw_grid_s": median["raw_grid_s"],
        "threaded_s": median["threaded_s"],
        "efficiency_threaded": median["efficiency"],
        "mpx_s_threaded": round(a.size ** 2 / median["threaded_s"] / 1e6, 4),
        "threaded_model_share": median["model_share"],
        "threaded_system_s": median["system_s"],
        "rounds": rounds,
    }
    if sync_s is not None:
        res.update(sync_s=round(sync_s, 2),
                   efficiency_sync=round(one_s * grid.n_tiles / sync_s, 3),
                   sync_model_share=round(sync_model_s / sync_s, 3))
    print(json.dumps(res))
    if a.cluster:
        from distributed import Client, LocalCluster

        from specrecon.runtime import worker_config

        for label, cfg in (("default_env", {}), ("specrecon_env", worker_config())):
            t0 = time.perf_counter()
            with dask.config.set(cfg), \
                    LocalCluster(n_workers=a.threads, threads_per_worker=1, processes=True,
                                 dashboard_address=None, worker_dashboard_address=None) as lc, \
                    Client(lc) as client:
                start_s = time.perf_counter() - t0
                cold_s, _, _ = _pipeline(tmp / "rgb.tif", tmp / "c1.zarr", a.model, a.chunk,
                                         a.batch)
                warm_s, _, _ = _pipeline(tmp / "rgb.tif", tmp / "c2.zarr", a.model, a.chunk,
                                         a.batch)
                loads = client.run(lambda: sum(__import__(
                    "specrecon.runtime", fromlist=["cache_info"]).cache_info()["loads"].values()))
            res[f"cluster_{label}"] = {
                "start_s": round(start_s, 2), "cold_s": round(cold_s, 2),
                "warm_s": round(warm_s, 2), "cold_vs_threaded": round(cold_s / median["threaded_s"], 3),
                "warm_vs_threaded": round(warm_s / median["threaded_s"], 3),
                "model_loads_per_worker": sorted(loads.values())}
            print(json.dumps(res))
    res.update(machine=f"{platform.machine()} {os.cpu_count()} cpus",
               torch=torch.__version__, date=time.strftime("%Y-%m-%d"))
    if a.out:
        with open(a.out, "a") as fh:
            fh.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
