"""``specrecon reconstruct INPUT OUTPUT``: RGB raster in, georeferenced cube out."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from specrecon.cli._common import add_compute_options, compute_context, open_rgb

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``reconstruct`` subcommand."""
    p = subparsers.add_parser(
        "reconstruct", help="reconstruct a hyperspectral cube from an RGB GeoTIFF/zarr/NetCDF",
        description="Reconstruct a hyperspectral cube from an RGB raster, chunk by chunk "
                    "through dask, and write it as a georeferenced zarr store or NetCDF file.")
    p.add_argument("input", type=Path, help="RGB GeoTIFF (.tif), zarr store or NetCDF file")
    p.add_argument("output", type=Path, help="output .zarr store or .nc file")
    add_compute_options(p)
    p.add_argument("--scale", type=float, default=None,
                   help="multiply the input values by this to get reflectance in [0, 1], "
                        "e.g. 1e-4 for reflectance x 10000 (Sentinel-2/Landsat L2) or "
                        "0.0000152590219 (1/65535) for full-range 16-bit images; must be > 0 "
                        "(default: from the dtype and CF scale_factor attributes)")
    p.add_argument("--resume", action="store_true",
                   help="resume an interrupted zarr write instead of starting over (refused "
                        "if the store holds another input, model or options)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--physical", action=argparse.BooleanOptionalAction, default=None,
                   help="correct each spectrum to re-render exactly to its input RGB through "
                        "the model's input sensor (physical consistency, see docs/reconstruct; "
                        "default: on where it runs per pixel -- satellite models and camera models "
                        "with a calibrated exposure)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Reconstruct ``args.input`` into ``args.output``."""
    from specrecon.errors import DatasetFormatError, format_message
    from specrecon.inference import reconstruct
    from specrecon.io import to_netcdf, to_zarr, write_status

    suffix = args.output.suffix.lower()
    if suffix not in {".zarr", ".nc", ".nc4"}:
        raise DatasetFormatError(format_message(
            "an output ending in .zarr or .nc", f"'{args.output.name}'",
            "name the output e.g. scene_cube.zarr"))
    if args.output.exists() and not (args.overwrite or args.resume):
        raise DatasetFormatError(format_message(
            "an output path that does not exist yet", f"{args.output} exists",
            "pass --overwrite to replace it, --resume to finish an interrupted zarr write, "
            "or choose another name"))
    status = write_status(args.output) if args.resume and args.output.is_dir() else None
    finished = bool(status and status["complete"])
    start = time.perf_counter()
    rgb = open_rgb(args.input, args.chunks)
    with compute_context(args):
        cube = reconstruct(rgb, model=args.model, device=args.device, dtype=args.dtype,
                           batch_size=args.batch_size, scale=args.scale,
                           physical=args.physical)
        progress = not args.no_progress
        mode = "w" if args.overwrite else "w-"
        if suffix == ".zarr":
            to_zarr(cube, args.output, mode=mode, resume=args.resume, progress=progress)
        else:
            to_netcdf(cube, args.output, mode=mode, progress=progress)
    elapsed = time.perf_counter() - start
    if finished:   # to_zarr checked that the store holds this very cube
        print(f"{args.output} is already complete (same input, model and options): "
              "nothing written")
        return 0
    ny, nx = cube.shape[-2:]
    print(f"wrote {args.output}: {cube.sizes['wavelength']} bands "
          f"{float(cube.wavelength[0]):.0f}-{float(cube.wavelength[-1]):.0f} nm, {ny} x {nx} px, "
          f"model {cube.attrs.get('model')}, {ny * nx / elapsed / 1e6:.3f} Mpx/s "
          f"({elapsed:.1f} s)")
    return 0
