"""``specrecon info FILE``: what a raster or cube file holds (dims, bands, CRS, chunks)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run", "describe"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info", help="describe a GeoTIFF / zarr / NetCDF file (bands, wavelengths, CRS, chunks)",
        description="Describe an RGB raster or a hyperspectral cube on disk.")
    p.add_argument("file", type=Path, help="a GeoTIFF, zarr store or NetCDF file")
    p.set_defaults(func=run)


def _open(path: Path) -> object:
    """Open ``path`` lazily as a DataArray (cube if it has wavelengths, raster otherwise)."""
    from specrecon.errors import DatasetFormatError, format_message

    if not path.exists():
        raise DatasetFormatError(format_message("an existing file or zarr store", f"{path}",
                                                "check the path"))
    suffix = path.suffix.lower()
    if suffix in {".tif", ".tiff", ".vrt", ".jp2"}:
        import rioxarray

        return rioxarray.open_rasterio(path, chunks=True)
    from specrecon.io import open_cube

    return open_cube(path, allow_incomplete=True)


def describe(da: object, path: Path | None = None) -> str:
    """A human-readable multi-line description of a DataArray on disk."""
    import numpy as np
    import rioxarray  # noqa: F401  (registers .rio for CRS and transform)

    lines = []
    if path is not None:
        lines.append(f"file:        {path}")
        from specrecon.io import write_status

        status = write_status(path) if path.is_dir() else None
        if status is not None and not status["complete"]:
            lines.append(f"status:      INCOMPLETE ({status['done']} of {status['steps']} row "
                         "steps written; missing rows read as NaN)")
    lines.append(f"variable:    {getattr(da, 'name', None)}")
    lines.append("dims:        " + ", ".join(f"{d}={n}" for d, n in zip(da.dims, da.shape)))
    lines.append(f"dtype:       {da.dtype}")
    chunks = getattr(da, "chunks", None)
    if chunks:
        lines.append("chunks:      " + ", ".join(f"{d}={c[0]}" for d, c in zip(da.dims, chunks)))
    if "wavelength" in da.coords:
        wl = np.asarray(da["wavelength"].values, dtype=float)
        lines.append(f"wavelengths: {wl.size} bands, {wl.min():.1f}-{wl.max():.1f} nm")
        if "fwhm" in da.coords:
            fw = np.asarray(da["fwhm"].values, dtype=float)
            lines.append(f"fwhm:        {fw.min():.1f}-{fw.max():.1f} nm")
    try:
        crs = da.rio.crs
        lines.append(f"crs:         {crs.to_string() if crs else 'none'}")
        if crs:
            t = da.rio.transform()
            lines.append(f"transform:   {tuple(round(v, 6) for v in t[:6])}")
            lines.append(f"resolution:  {da.rio.resolution()}")
    except Exception as err:  # rioxarray cannot tell: report rather than fail
        lines.append(f"crs:         unknown ({type(err).__name__})")
    for key in ("model", "model_sha256", "specrecon_version", "source", "synthetic"):
        if key in da.attrs:
            lines.append(f"{key + ':':<13}{' ' if len(key) > 11 else ''}{da.attrs[key]}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the description of ``args.file`` (and a warning on stderr for incomplete stores)."""
    import sys
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = describe(_open(args.file), args.file)
    print(text)
    for w in caught:
        if "incomplete" in str(w.message):
            print(f"specrecon info: warning: {w.message}", file=sys.stderr)
    return 0
