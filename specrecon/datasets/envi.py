"""ENVI raw rasters (``.hdr`` + binary): reader, small writer, and the LIB-HSI dataset.

The header is parsed here (no GDAL/spectral-python needed); the binary is
memory-mapped with :class:`numpy.memmap`, so opening a cube reads nothing but
the header. Supported header fields: ``samples``, ``lines``, ``bands``,
``header offset``, ``data type`` (1, 2, 3, 4, 5, 12, 13, 14, 15), ``interleave``
(bsq/bil/bip), ``byte order``, ``wavelength`` with ``wavelength units``
(micrometres are converted to nm), ``fwhm``, ``bbl``, ``data ignore value``,
``reflectance scale factor``, ``map info`` (north-up grids: coordinates, and a
CRS from ``coordinate system string`` or UTM/WGS-84 zones), ``description``.

LIB-HSI layout expected by :class:`LIBHSI`::

    LIB-HSI/
        train/
            reflectance_cubes/<name>.hdr  (+ <name>.dat, 204 bands, Specim IQ)
            rgb/<name>.png
            labels/<name>.png             (segmentation labels, unused here)
        validation/ ...
        test/ ...

Examples
--------
>>> import numpy as np, tempfile, os
>>> from specrecon.cube import make_cube
>>> cube = make_cube(np.random.rand(3, 4, 5).astype("float32"), [500.0, 600.0, 700.0])
>>> d = tempfile.mkdtemp()
>>> hdr = write_envi(cube, os.path.join(d, "c.hdr"), interleave="bil")
>>> back = open_envi(hdr)
>>> back.shape, bool(np.allclose(back.values, cube.values))
((3, 4, 5), True)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from specrecon.cube import make_cube
from specrecon.errors import DatasetFormatError, format_message

__all__ = ["ENVI_DTYPES", "LIBHSI", "open_envi", "read_envi_header", "write_envi"]

#: ENVI ``data type`` code -> numpy dtype (native byte order; ``byte order`` decides).
ENVI_DTYPES: dict[int, str] = {
    1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 6: "c8", 9: "c16",
    12: "u2", 13: "u4", 14: "i8", 15: "u8",
}
_CODES = {np.dtype(v).str[1:]: k for k, v in ENVI_DTYPES.items()}
_BINARY_EXTS = ("", ".img", ".dat", ".raw", ".bin", ".bsq", ".bil", ".bip",
                ".IMG", ".DAT", ".RAW", ".BIN", ".BSQ", ".BIL", ".BIP")
_NUMERIC_KEYS = {"samples", "lines", "bands", "header offset", "data type", "byte order",
                 "x start", "y start", "data ignore value", "reflectance scale factor"}
_LIST_KEYS = {"wavelength", "fwhm", "bbl", "data gain values", "data offset values"}


# --------------------------------------------------------------------------- header

def read_envi_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse an ENVI ``.hdr`` file into a dict.

    Parameters
    ----------
    path : str or path-like
        The header file.

    Returns
    -------
    dict
        Lower-case keys with single spaces. Numeric scalar fields are ints or
        floats, ``wavelength``/``fwhm``/``bbl`` lists of floats, other ``{...}``
        values lists of strings, everything else strings.

    Raises
    ------
    DatasetFormatError
        If the file does not start with ``ENVI`` or a ``{`` is never closed.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.hdr")
    >>> _ = open(p, "w").write("ENVI\\nsamples = 4\\nwavelength = {0.5, 0.6}\\n")
    >>> h = read_envi_header(p)
    >>> h["samples"], h["wavelength"]
    (4, [0.5, 0.6])
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise DatasetFormatError(format_message("a readable ENVI .hdr file", str(err),
                                                "check the path")) from None
    if not text.lstrip().startswith("ENVI"):
        raise DatasetFormatError(format_message(
            "an ENVI header starting with the word 'ENVI'", f"{text[:20]!r} in {path}",
            "pass the .hdr file of an ENVI raster"))
    header: dict[str, Any] = {}
    lines = text.lstrip()[4:].splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = " ".join(key.strip().lower().split())
        value = value.strip()
        if value.startswith("{"):
            while "}" not in value:
                if i >= len(lines):
                    raise DatasetFormatError(format_message(
                        f"a closing '}}' for {key!r}", "end of file", f"repair {path}"))
                value += "\n" + lines[i]
                i += 1
            body = value[1:value.rindex("}")]
            header[key] = _parse_list(key, body)
        else:
            header[key] = _parse_scalar(key, value)
    return header


def _number(text: str) -> int | float:
    f = float(text)
    return int(f) if f.is_integer() and re.fullmatch(r"[+-]?\d+", text.strip()) else f


def _parse_scalar(key: str, value: str) -> Any:
    if key in _NUMERIC_KEYS:
        try:
            return _number(value)
        except ValueError:
            raise DatasetFormatError(format_message(
                f"a number for header field {key!r}", repr(value), "repair the header")) from None
    return value


def _parse_list(key: str, body: str) -> Any:
    if key in ("description", "coordinate system string"):
        return " ".join(body.split())
    items = [s.strip() for s in body.replace("\n", " ").split(",")]
    items = [s for s in items if s != ""]
    if key in _LIST_KEYS:
        try:
            return [float(s) for s in items]
        except ValueError:
            raise DatasetFormatError(format_message(
                f"numbers in header field {key!r}", repr(body[:60]), "repair the header")) from None
    return items


def _header_and_binary(path: Path) -> tuple[Path, Path]:
    if path.suffix.lower() == ".hdr":
        hdr = path
        stem = path.with_suffix("")
        for ext in _BINARY_EXTS:
            cand = Path(str(stem) + ext)
            if cand.is_file() and cand != hdr:
                return hdr, cand
        raise DatasetFormatError(format_message(
            f"the binary next to {hdr.name} ({stem.name}, {stem.name}.img/.dat/.raw/...)",
            f"no such file in {hdr.parent}", "put the data file next to its header"))
    for cand in (path.with_suffix(".hdr"), Path(str(path) + ".hdr"),
                 path.with_suffix(".HDR"), Path(str(path) + ".HDR")):
        if cand.is_file():
            return cand, path
    raise DatasetFormatError(format_message(
        f"an ENVI header for {path.name} ({path.with_suffix('.hdr').name} or {path.name}.hdr)",
        "none" if path.exists() else f"not even {path}", "pass the .hdr file or fix the path"))


def _require(header: Mapping[str, Any], key: str, hdr: Path) -> int:
    if key not in header:
        raise DatasetFormatError(format_message(
            f"header field {key!r}", f"fields {sorted(header)} in {hdr}", "repair the header"))
    return int(header[key])


# --------------------------------------------------------------------------- binary access

class _EnviArray:
    """Array-like ``(bands, lines, samples)`` view of an ENVI binary, memory-mapped on use.

    Picklable by path (the memmap is reopened in each process), so it is safe
    inside dask graphs sent to distributed workers.
    """

    def __init__(self, path: Path, dtype: np.dtype, shape: tuple[int, int, int],
                 interleave: str, offset: int) -> None:
        self.path = path
        self.dtype = dtype
        self.interleave = interleave
        self.offset = offset
        self.shape = shape
        self.ndim = 3
        self._mm: np.ndarray | None = None

    def view(self) -> np.ndarray:
        if self._mm is None:
            bands, lines, samples = self.shape
            disk = {"bsq": (bands, lines, samples), "bil": (lines, bands, samples),
                    "bip": (lines, samples, bands)}[self.interleave]
            mm = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=disk)
            axes = {"bsq": (0, 1, 2), "bil": (1, 0, 2), "bip": (2, 0, 1)}[self.interleave]
            self._mm = mm.transpose(axes)
        return self._mm

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.array(self.view()[key])

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_mm": None}


def _chunks_tuple(chunks: Any) -> Any:
    if isinstance(chunks, Mapping):
        names = (("wavelength", "band", "bands"), ("y", "lines"), ("x", "samples"))
        out = []
        for i, alias in enumerate(names):
            val = next((chunks[a] for a in alias if a in chunks), -1 if i == 0 else "auto")
            out.append(val)
        return tuple(out)
    return chunks


def open_envi(path: str | os.PathLike[str], *, chunks: Any = None, scale: bool = True,
              wavelengths: Sequence[float] | None = None) -> xr.DataArray:
    """Open an ENVI raster as a cube, memory-mapping the binary.

    Parameters
    ----------
    path : str or path-like
        The ``.hdr`` file or the binary (``.img``, ``.dat``, ``.raw``, none, ...).
    chunks : dict, tuple, int or "auto", optional
        Wrap the memory map in a dask array with these chunks (dict keys
        ``wavelength``/``y``/``x``; the band axis defaults to one chunk). The
        dask graph holds the file path, not the data.
    scale : bool, default True
        Return float32 reflectance: values divided by ``reflectance scale
        factor`` (when given) and ``data ignore value`` pixels set to NaN.
        With ``chunks=None`` this reads the file. With ``scale=False`` the
        stored values are returned (a lazy memory map when ``chunks=None``)
        and the factor / ignore value are recorded in ``attrs``.
    wavelengths : sequence of float, optional
        Band centres (nm) to use when the header has none (or to override it).

    Returns
    -------
    xarray.DataArray
        Cube ``(wavelength, y, x)`` sorted by wavelength, with ``fwhm`` (from
        the header, else the band spacing), ``good_band`` from ``bbl``, map
        coordinates and ``spatial_ref`` from ``map info`` when present.

    Raises
    ------
    DatasetFormatError
        For missing files or header fields, unknown data types / interleaves,
        a binary shorter than the header says, or no wavelengths.

    Examples
    --------
    >>> cube = open_envi("train/reflectance_cubes/scene_01.hdr",  # doctest: +SKIP
    ...                  chunks={"y": 256})
    >>> cube.sizes  # doctest: +SKIP
    Frozen({'wavelength': 204, 'y': 512, 'x': 512})
    """
    hdr, binary = _header_and_binary(Path(path))
    h = read_envi_header(hdr)
    samples, lines, bands = (_require(h, k, hdr) for k in ("samples", "lines", "bands"))
    code = _require(h, "data type", hdr)
    if code not in ENVI_DTYPES or code in (6, 9):
        raise DatasetFormatError(format_message(
            "an ENVI data type code in 1, 2, 3, 4, 5, 12, 13, 14, 15",
            f"{code} in {hdr}", "convert the raster to a real-valued type"))
    order = ">" if int(h.get("byte order", 0)) == 1 else "<"
    dtype = np.dtype(order + ENVI_DTYPES[code])
    interleave = str(h.get("interleave", "bsq")).strip().lower()
    if interleave not in ("bsq", "bil", "bip"):
        raise DatasetFormatError(format_message(
            "interleave bsq, bil or bip", f"{interleave!r} in {hdr}", "repair the header"))
    offset = int(h.get("header offset", 0))
    need = offset + samples * lines * bands * dtype.itemsize
    size = binary.stat().st_size
    if size < need:
        raise DatasetFormatError(format_message(
            f"{need} bytes in {binary.name} ({bands} bands x {lines} lines x {samples} samples "
            f"x {dtype.itemsize} bytes + {offset} header bytes)", f"{size} bytes",
            "check 'data type', the dimensions and 'header offset', or re-copy the file"))

    raw_wl = _per_band(h, "wavelength", bands, hdr)
    factor = 1.0 if raw_wl is None else _unit_factor(h, raw_wl, hdr)
    if wavelengths is not None:
        wl: np.ndarray | None = np.asarray(wavelengths, "float64")
    else:
        wl = None if raw_wl is None else raw_wl * factor
    if wl is None:
        raise DatasetFormatError(format_message(
            "a 'wavelength' field in the header", f"none in {hdr}",
            "pass wavelengths=[...] (nm) to open_envi"))
    if wl.size != bands:
        raise DatasetFormatError(format_message(
            f"{bands} wavelengths (one per band)", f"{wl.size}", "fix the header or wavelengths="))
    fwhm = _per_band(h, "fwhm", bands, hdr)
    if fwhm is not None:
        fwhm = fwhm * factor
    bbl = _per_band(h, "bbl", bands, hdr)
    good = None if bbl is None else bbl.astype(bool)

    backend = _EnviArray(binary, dtype, (bands, lines, samples), interleave, offset)
    data: Any
    if chunks is not None:
        import dask.array as da

        data = da.from_array(backend, chunks=_chunks_tuple(chunks), asarray=False,
                             name=f"envi-{binary.name}-{os.stat(binary).st_mtime_ns}")
    else:
        data = backend.view()
    sort = np.argsort(wl, kind="stable")
    if not np.array_equal(sort, np.arange(bands)):
        data = data[sort]
        wl = wl[sort]
        fwhm = None if fwhm is None else fwhm[sort]
        good = None if good is None else good[sort]

    attrs: dict[str, Any] = {"source": str(hdr)}
    if "description" in h:
        attrs["description"] = str(h["description"])
    factor = h.get("reflectance scale factor")
    ignore = h.get("data ignore value")
    if scale:
        arr = data.astype("float32")
        if ignore is not None:
            arr = _where(data == np.asarray(ignore, dtype=dtype), np.float32(np.nan), arr)
        if factor not in (None, 0, 1):
            arr = arr / np.float32(factor)
        data = arr if chunks is not None else np.asarray(arr)
    else:
        if factor is not None:
            attrs["reflectance_scale_factor"] = factor
        if ignore is not None:
            attrs["data_ignore_value"] = ignore

    kwargs: dict[str, Any] = {}
    geo = _map_info(h, lines, samples)
    if geo is not None:
        kwargs["x"], kwargs["y"] = geo["x"], geo["y"]
    cube = make_cube(data, wl, fwhm, good_band=good, attrs=attrs, **kwargs)
    if geo is not None and geo.get("crs") is not None:
        import rioxarray  # noqa: F401  (registers .rio)

        cube = cube.rio.write_crs(geo["crs"]).rio.write_transform(geo["transform"])
    return cube


def _where(cond: Any, a: Any, b: Any) -> Any:
    mod = type(b).__module__
    if mod.startswith("dask"):
        import dask.array as da

        return da.where(cond, a, b)
    return np.where(cond, a, b)


def _unit_factor(h: Mapping[str, Any], wl: np.ndarray, hdr: Path) -> float:
    """Factor that turns the header's wavelength values into nanometres."""
    units = str(h.get("wavelength units", "")).strip().lower()
    if units in ("micrometers", "micrometer", "microns", "micron", "um", "\u00b5m"):
        return 1000.0
    if units in ("nanometers", "nanometer", "nm"):
        return 1.0
    if units in ("millimeters", "millimeter", "mm"):
        return 1e6
    if units in ("wavenumber", "ghz", "mhz", "index"):
        raise DatasetFormatError(format_message(
            "wavelengths in nanometres or micrometres", f"wavelength units {units!r} in {hdr}",
            "pass wavelengths=[...] in nm"))
    # unknown or missing units: values below 30 can only be micrometres
    return 1000.0 if wl.max() < 30 else 1.0


def _per_band(h: Mapping[str, Any], key: str, bands: int, hdr: Path) -> np.ndarray | None:
    if key not in h:
        return None
    arr = np.asarray(h[key], dtype="float64")
    if arr.size != bands:
        raise DatasetFormatError(format_message(
            f"{bands} values in header field {key!r} (one per band)", f"{arr.size} in {hdr}",
            "repair the header"))
    return arr


def _map_info(h: Mapping[str, Any], lines: int, samples: int) -> dict[str, Any] | None:
    info = h.get("map info")
    if not isinstance(info, list) or len(info) < 7:
        return None
    try:
        ref_x, ref_y, east, north, dx, dy = (float(v) for v in info[1:7])
    except ValueError:
        return None
    if any("rotation" in str(v).lower() for v in info):
        return None  # rotated grids have no 1-D x/y coordinates
    x0 = east - (ref_x - 1.0) * dx  # ENVI reference pixels are 1-based, (1, 1) = UL corner
    y0 = north + (ref_y - 1.0) * dy
    out: dict[str, Any] = {
        "x": x0 + (np.arange(samples) + 0.5) * dx,
        "y": y0 - (np.arange(lines) + 0.5) * dy,
        "crs": None,
    }
    from affine import Affine

    out["transform"] = Affine(dx, 0.0, x0, 0.0, -dy, y0)
    wkt = h.get("coordinate system string")
    name = str(info[0]).strip().lower()
    if wkt:
        out["crs"] = wkt
    elif name == "utm" and len(info) >= 10 and "wgs-84" in str(info[9]).lower():
        zone = int(float(info[7]))
        south = str(info[8]).strip().lower().startswith("s")
        out["crs"] = f"EPSG:{(32700 if south else 32600) + zone}"
    elif name.startswith("geographic lat/lon") and "wgs-84" in " ".join(info).lower():
        out["crs"] = "EPSG:4326"
    return out


# --------------------------------------------------------------------------- writer

def write_envi(cube: xr.DataArray | np.ndarray, path: str | os.PathLike[str], *,
               interleave: str = "bsq", dtype: str | np.dtype | None = None,
               byte_order: int = 0, wavelengths: Sequence[float] | None = None,
               data_ignore_value: float | None = None,
               reflectance_scale_factor: float | None = None,
               description: str = "written by specrecon") -> Path:
    """Write a cube as an ENVI raster (``<stem>.img`` + ``<stem>.hdr``).

    Parameters
    ----------
    cube : xarray.DataArray or numpy.ndarray
        ``(bands, y, x)``; a DataArray cube's ``wavelength``, ``fwhm``,
        ``good_band`` and (via rioxarray) CRS/transform are written too.
    path : str or path-like
        Header or binary path; the binary gets ``.img``, the header ``.hdr``.
    interleave : {"bsq", "bil", "bip"}
        Band layout on disk.
    dtype : numpy dtype, optional
        Stored type (default: the cube's); must have an ENVI code.
    byte_order : {0, 1}
        0 little-endian, 1 big-endian.
    wavelengths : sequence of float, optional
        Band centres (nm) for numpy input.
    data_ignore_value, reflectance_scale_factor : float, optional
        Written to the header as given (values are not rescaled).
    description : str
        Header description.

    Returns
    -------
    pathlib.Path
        The header path.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = write_envi(np.zeros((2, 3, 4), "int16"), os.path.join(tempfile.mkdtemp(), "z"),
    ...                wavelengths=[500, 600], byte_order=1)
    >>> read_envi_header(p)["byte order"], p.suffix
    (1, '.hdr')
    """
    interleave = interleave.lower()
    if interleave not in ("bsq", "bil", "bip"):
        raise DatasetFormatError(format_message("interleave bsq, bil or bip", repr(interleave),
                                                "pick one of them"))
    path = Path(path)
    stem = path.with_suffix("") if path.suffix.lower() in (".hdr", ".img") else path
    hdr, binary = Path(str(stem) + ".hdr"), Path(str(stem) + ".img")
    is_da = isinstance(cube, xr.DataArray)
    if is_da and "wavelength" in cube.dims:
        cube = cube.transpose("wavelength", ...)
    arr = np.asarray(cube.values if is_da else cube)
    if arr.ndim != 3:
        raise DatasetFormatError(format_message("a (bands, y, x) array", f"shape {arr.shape}",
                                                "put the band axis first"))
    out_dtype = np.dtype(dtype or arr.dtype)
    code = _CODES.get(out_dtype.str[1:])
    if code is None or code in (6, 9):
        raise DatasetFormatError(format_message(
            f"a dtype with an ENVI code ({sorted(set(ENVI_DTYPES.values()) - {'c8', 'c16'})})",
            str(out_dtype), "cast the cube, e.g. dtype='float32'"))
    disk = arr.astype(out_dtype.newbyteorder(">" if byte_order else "<"), copy=False)
    disk = {"bsq": disk, "bil": disk.transpose(1, 0, 2), "bip": disk.transpose(1, 2, 0)}[interleave]
    np.ascontiguousarray(disk).tofile(binary)

    b, lines, samples = arr.shape
    rows = ["ENVI", f"description = {{{description}}}", f"samples = {samples}",
            f"lines = {lines}", f"bands = {b}", "header offset = 0",
            "file type = ENVI Standard", f"data type = {code}", f"interleave = {interleave}",
            f"byte order = {int(bool(byte_order))}"]
    wl = None
    if is_da and "wavelength" in cube.coords:
        wl = np.asarray(cube["wavelength"].values, "float64")
    elif wavelengths is not None:
        wl = np.asarray(wavelengths, "float64")
    if wl is not None:
        rows += ["wavelength units = Nanometers", f"wavelength = {{{_fmt(wl)}}}"]
    if is_da and "fwhm" in cube.coords:
        rows.append(f"fwhm = {{{_fmt(np.asarray(cube['fwhm'].values, 'float64'))}}}")
    if is_da and "good_band" in cube.coords:
        rows.append(f"bbl = {{{', '.join(str(int(v)) for v in cube['good_band'].values)}}}")
    if data_ignore_value is not None:
        rows.append(f"data ignore value = {data_ignore_value}")
    if reflectance_scale_factor is not None:
        rows.append(f"reflectance scale factor = {reflectance_scale_factor}")
    if is_da:
        rows += _map_info_rows(cube)
    hdr.write_text("\n".join(rows) + "\n")
    return hdr


def _fmt(values: np.ndarray) -> str:
    return ", ".join(f"{v:.6g}" for v in values)


def _map_info_rows(cube: xr.DataArray) -> list[str]:
    if "spatial_ref" not in cube.coords:
        return []
    import rioxarray  # noqa: F401

    crs = cube.rio.crs
    t = cube.rio.transform()
    if crs is None or t.b != 0 or t.d != 0:
        return []
    dx, dy = t.a, -t.e
    epsg = crs.to_epsg()
    if epsg and (32601 <= epsg <= 32660 or 32701 <= epsg <= 32760):
        hemi = "North" if epsg < 32700 else "South"
        info = (f"UTM, 1, 1, {t.c!r}, {t.f!r}, {dx!r}, {dy!r}, {epsg % 100}, {hemi}, "
                "WGS-84, units=Meters")
    else:
        info = f"Arbitrary, 1, 1, {t.c!r}, {t.f!r}, {dx!r}, {dy!r}"
    return [f"map info = {{{info}}}", f"coordinate system string = {{{crs.to_wkt()}}}"]


# --------------------------------------------------------------------------- LIB-HSI

_LIBHSI_SPLITS = {"train": "train", "validation": "validation", "val": "validation",
                  "valid": "validation", "test": "test"}


class LIBHSI(Sequence):
    """LIB-HSI (building facades, Specim IQ, 204 bands) as a sequence of ``(rgb, cube)``.

    Parameters
    ----------
    root : str or path-like
        Folder with ``train/``, ``validation/`` and ``test/``, each holding
        ``reflectance_cubes/<name>.hdr`` (+ binary) and ``rgb/<name>.png``.
    split : {"train", "validation", "test"}
        Split folder (``"val"``/``"valid"`` mean ``"validation"``).
    chunks : optional
        Passed to :func:`open_envi`.
    require_rgb : bool, default True
        Require an RGB PNG for every cube; with False, items without one
        have ``rgb=None`` (simulate RGB with ``PairedPatchDataset(simulate=...)``).

    Attributes
    ----------
    names : list of str
        Scene names (file stems), sorted.

    Raises
    ------
    DatasetFormatError
        If the split folder, ``reflectance_cubes/`` or (``require_rgb``) an RGB
        image is missing.

    Examples
    --------
    >>> ds = LIBHSI("/data/LIB-HSI", "validation")   # doctest: +SKIP
    >>> rgb, cube = ds[0]                              # doctest: +SKIP
    >>> cube.sizes["wavelength"]                       # doctest: +SKIP
    204
    """

    def __init__(self, root: str | os.PathLike[str], split: str = "train", *,
                 chunks: Any = None, require_rgb: bool = True) -> None:
        self.root = Path(root)
        if split not in _LIBHSI_SPLITS:
            raise DatasetFormatError(format_message(
                "split 'train', 'validation' or 'test'", repr(split), "use one of them"))
        self.split = _LIBHSI_SPLITS[split]
        self.chunks = chunks
        folder = self.root / self.split
        cubes_dir, rgb_dir = folder / "reflectance_cubes", folder / "rgb"
        if not cubes_dir.is_dir():
            where = folder if folder.is_dir() else self.root
            found = (", ".join(sorted(p.name + "/" for p in where.iterdir() if p.is_dir()))
                     if where.is_dir() else f"no folder at {where}") or "no sub-folders"
            raise DatasetFormatError(format_message(
                f"{self.split}/reflectance_cubes/ (ENVI .hdr + .dat) under {self.root}",
                f"{found} in {where}",
                "lay LIB-HSI out as {train,validation,test}/{reflectance_cubes,rgb}/"))
        hdrs = sorted(p for p in cubes_dir.iterdir() if p.suffix.lower() == ".hdr")
        if not hdrs:
            raise DatasetFormatError(format_message(
                f"ENVI .hdr files in {cubes_dir}", "none", "check the download"))
        self.names: list[str] = [p.stem for p in hdrs]
        self.cube_paths: list[Path] = hdrs
        self.rgb_paths: list[Path | None] = []
        for name in self.names:
            rgb = next((c for c in (rgb_dir / f"{name}.png", rgb_dir / f"{name}.PNG",
                                    rgb_dir / f"{name}.jpg") if c.is_file()), None)
            if rgb is None and require_rgb:
                raise DatasetFormatError(format_message(
                    f"an RGB image rgb/{name}.png for cube {name}",
                    "none" if rgb_dir.is_dir() else f"no folder {rgb_dir}",
                    "add the RGB images, or pass require_rgb=False"))
            self.rgb_paths.append(rgb)

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]
        cube = open_envi(self.cube_paths[i], chunks=self.chunks)
        cube.attrs.update(dataset="LIB-HSI", scene=self.names[i])
        rgb_path = self.rgb_paths[i]
        rgb = None
        if rgb_path is not None:
            from specrecon.datasets.arad import open_arad_rgb

            rgb = open_arad_rgb(rgb_path)
            rgb.attrs.update(dataset="LIB-HSI", scene=self.names[i])
            if rgb.shape[1:] != cube.shape[1:]:
                raise DatasetFormatError(format_message(
                    f"RGB and cube of {self.names[i]} with the same size",
                    f"RGB {rgb.shape[1:]} vs cube {cube.shape[1:]}", "check the files"))
        return rgb, cube

    def __repr__(self) -> str:
        return f"LIBHSI(split={self.split!r}, {len(self)} items, root={str(self.root)!r})"
