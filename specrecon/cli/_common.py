"""Helpers shared by the CLI subcommands: scheduler/cluster set-up and input opening."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["add_compute_options", "compute_context", "open_rgb", "positive_int"]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (so ``--chunks 0`` is a usage error, not a crash)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; found {value}")
    return value


def add_compute_options(p: argparse.ArgumentParser) -> None:
    """Options every compute-heavy subcommand shares (model, device, chunks, scheduler)."""
    p.add_argument("--model", default="default",
                   help="shipped model name or .safetensors path (default: the shipped "
                        "satellite model; see 'specrecon models')")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    p.add_argument("--dtype", default="fp32", type=_precision, metavar="{fp32,bf16,fp16}",
                   help="inference precision (default fp32; aliases float32/bfloat16/float16; "
                        "fp16 needs a GPU, bf16 works on CPU too)")
    p.add_argument("--chunks", type=positive_int, default=512,
                   help="spatial chunk size in pixels (default: 512; raised to the model's "
                        "tile size when smaller)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="tiles per forward pass (default: about 4 M output values per pass, "
                        "at most 8 tiles)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--scheduler", default="threads",
                       choices=["threads", "processes", "synchronous", "local-cluster"],
                       help="dask scheduler (default: threads; local-cluster starts a "
                            "dask.distributed LocalCluster)")
    group.add_argument("--cluster", metavar="ADDRESS",
                       help="address of a running dask.distributed scheduler, e.g. "
                            "tcp://10.0.0.5:8786")


def _precision(text: str) -> str:
    from specrecon.device import normalize_precision
    from specrecon.errors import ConfigError

    try:
        return normalize_precision(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


@contextlib.contextmanager
def compute_context(args: argparse.Namespace) -> Iterator[Any]:
    """Set up the dask scheduler the user asked for; yields the distributed client or None."""
    import dask

    if args.cluster or args.scheduler == "local-cluster":
        from distributed import Client, LocalCluster

        if args.cluster:
            client = Client(args.cluster)
            cluster = None
        else:
            from specrecon.runtime import worker_config

            with dask.config.set(worker_config()):   # fast allocation for model tensors
                cluster = LocalCluster(processes=True, threads_per_worker=1)
            client = Client(cluster)
        print(f"dask dashboard: {client.dashboard_link}")
        try:
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        with dask.config.set(scheduler=args.scheduler):
            yield None


def open_rgb(path: Path, chunks: int) -> Any:
    """Open an RGB raster (GeoTIFF, zarr or NetCDF) lazily as a DataArray."""
    import xarray as xr

    from specrecon.errors import DatasetFormatError, format_message

    if not path.exists():
        raise DatasetFormatError(format_message("an existing input file", str(path),
                                                "check the path"))
    suffix = path.suffix.lower()
    if suffix in {".tif", ".tiff", ".vrt", ".jp2", ".png", ".jpg", ".jpeg"}:
        import rioxarray

        return rioxarray.open_rasterio(path, chunks={"x": chunks, "y": chunks})
    if suffix == ".zarr" or path.is_dir():
        ds = xr.open_zarr(path, decode_coords="all")
    elif suffix in {".nc", ".nc4", ".netcdf"}:
        ds = xr.open_dataset(path, decode_coords="all", chunks={})
    else:
        raise DatasetFormatError(format_message(
            "a GeoTIFF (.tif), zarr store (.zarr) or NetCDF file (.nc)", f"'{path.name}'",
            "convert the image to one of these formats (e.g. with gdal_translate)"))
    from specrecon.cube import find_spatial_dims
    from specrecon.inference import select_rgb_variable

    da = select_rgb_variable(ds)
    return da.chunk({d: chunks for d in find_spatial_dims(da.dims) or ()})
