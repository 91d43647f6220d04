"""HySpecNet-11k (EnMAP L2A patches): georeferenced 202-band cubes and the official splits.

HySpecNet-11k holds 11,483 patches of 128 x 128 pixels cut from EnMAP L2A
surface-reflectance tiles (224 bands, int16 reflectance x 10000, 30 m). As
published, the dataset keeps 202 bands (zero-based product bands 126-140 and
160-166, water vapour, are dropped), clips to [0, 10000] and divides by 10000.

Folder layout (as published)::

    hyspecnet-11k/
        patches/
            tile_001/
                tile_001-patch_01/
                    tile_001-patch_01-SPECTRAL_IMAGE.TIF   (224 bands, GeoTIFF)
                    tile_001-patch_01-DATA.npy             (202 bands, optional)
                    tile_001-patch_01-QL_*.TIF, ...        (quality layers, unused)
        splits/
            easy/{train,val,test}.csv
            hard/{train,val,test}.csv

Each split CSV line is the path of a patch's ``-DATA.npy`` relative to
``patches/`` (paths relative to the dataset root are accepted as well). The
loader maps it to the ``-SPECTRAL_IMAGE.TIF`` of the same patch folder (which
carries the georeferencing), or reads the ``.npy`` when asked or when the TIF
is absent.

Band order: EnMAP's VNIR and SWIR detectors overlap (902-993 nm), so the
product band order is not sorted by wavelength. Cubes are returned sorted by
wavelength (the ``hyspecnet202`` band set's ``file_index`` gives the mapping),
as :func:`specrecon.cube.make_cube` requires.

Examples
--------
>>> from specrecon.datasets import HySpecNet11k
>>> ds = HySpecNet11k("/data/hyspecnet-11k", split="train", difficulty="hard")  # doctest: +SKIP
>>> cube = ds[0]                                                               # doctest: +SKIP
>>> cube.shape, cube.rio.crs is not None                                        # doctest: +SKIP
((202, 128, 128), True)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from specrecon.cube import make_cube
from specrecon.errors import DatasetFormatError, format_message

__all__ = [
    "HYSPECNET_BANDSET",
    "HYSPECNET_DROPPED_BANDS",
    "HySpecNet11k",
    "open_hyspecnet_patch",
]

#: Zero-based EnMAP product band indices HySpecNet-11k removes (water vapour).
HYSPECNET_DROPPED_BANDS: tuple[int, ...] = tuple(range(126, 141)) + tuple(range(160, 167))
#: Name of the band set (in :mod:`specrecon.spectral`) describing the 202 kept bands.
HYSPECNET_BANDSET = "hyspecnet202"

_N_PRODUCT = 224
_N_KEPT = _N_PRODUCT - len(HYSPECNET_DROPPED_BANDS)
_KEEP = np.setdiff1d(np.arange(_N_PRODUCT), np.array(HYSPECNET_DROPPED_BANDS))
_TIF_SUFFIX = "-SPECTRAL_IMAGE.TIF"
_NPY_SUFFIX = "-DATA.npy"
_SPLIT_ALIASES = {"train": "train", "val": "val", "valid": "val", "validation": "val",
                  "test": "test"}


def _bandset() -> Any:
    from specrecon.spectral import get_bandset

    bs = get_bandset(HYSPECNET_BANDSET)
    if len(bs.wavelengths) != _N_KEPT:
        raise DatasetFormatError(format_message(
            f"the {HYSPECNET_BANDSET!r} band set with {_N_KEPT} bands",
            f"{len(bs.wavelengths)} bands", "check specrecon.spectral"))
    return bs


def _sort_index(bs: Any) -> np.ndarray:
    idx = getattr(bs, "file_index", None)
    return np.arange(_N_KEPT) if idx is None else np.asarray(idx)


def _patch_files(path: Path) -> tuple[Path, Path]:
    """(tif, npy) paths of the patch that ``path`` (folder, TIF or .npy) belongs to."""
    if path.is_dir():
        stem = path.name
        return path / f"{stem}{_TIF_SUFFIX}", path / f"{stem}{_NPY_SUFFIX}"
    name = path.name
    for suffix in (_TIF_SUFFIX, _NPY_SUFFIX):
        if name.upper().endswith(suffix.upper()):
            stem = name[: -len(suffix)]
            return path.with_name(f"{stem}{_TIF_SUFFIX}"), path.with_name(f"{stem}{_NPY_SUFFIX}")
    return path, path


def _scale(data: Any) -> Any:
    """Clip to [0, 10000] and divide by 10000, float32 (numpy or dask)."""
    return (np.clip(data, 0, 10000).astype("float32") / np.float32(10000.0))


def _read_tif(tif: Path, chunks: Any) -> xr.DataArray:
    import rioxarray

    try:
        da = rioxarray.open_rasterio(tif, chunks=chunks, masked=False, cache=False)
    except Exception as err:  # noqa: BLE001 - rasterio/GDAL raise many unrelated types
        raise DatasetFormatError(format_message(
            "a readable HySpecNet-11k SPECTRAL_IMAGE GeoTIFF", f"{type(err).__name__}: {err}",
            "re-download or re-extract the patch")) from None
    if isinstance(da, list) or "band" not in da.dims:  # subdatasets or odd layouts
        raise DatasetFormatError(format_message(
            "a single multi-band GeoTIFF", f"{type(da).__name__} from {tif}",
            "pass the patch's -SPECTRAL_IMAGE.TIF"))
    return da


def open_hyspecnet_patch(path: str | os.PathLike[str], *, source: str = "auto",
                         chunks: Any = None) -> xr.DataArray:
    """Read one HySpecNet-11k patch as a 202-band cube.

    Parameters
    ----------
    path : str or path-like
        The patch's ``-SPECTRAL_IMAGE.TIF``, its ``-DATA.npy``, or the patch folder.
    source : {"auto", "tif", "npy"}, default "auto"
        Which file to read the values from. ``"auto"``: the TIF when it exists,
        else the ``.npy``. With ``"npy"`` the georeferencing is still taken
        from the TIF's header when the TIF exists.
    chunks : optional
        Dask chunks for the TIF (passed to :func:`rioxarray.open_rasterio`);
        None reads eagerly.

    Returns
    -------
    xarray.DataArray
        Cube ``(wavelength=202, y=128, x=128)`` float32 in [0, 1], sorted by
        wavelength (EnMAP centres and FWHM from the ``hyspecnet202`` band set),
        with ``x``/``y`` map coordinates and ``spatial_ref`` (CRS, transform)
        when read from (or next to) the GeoTIFF. ``attrs["source"]`` names the file.

    Raises
    ------
    DatasetFormatError
        If the files are missing or do not hold 224 (TIF) / 202 (npy) bands.

    Notes
    -----
    TIF values are clipped to [0, 10000] and divided by 10000, as in the
    published preprocessing (nodata pixels, -32768 in EnMAP L2A, become 0).
    A ``.npy`` holding floats is taken as already normalised (as published);
    integer ``.npy`` data is scaled like the TIF. A 224-band ``.npy`` has the
    water-vapour bands dropped first.

    Examples
    --------
    >>> cube = open_hyspecnet_patch(  # doctest: +SKIP
    ...     "patches/tile_001/tile_001-patch_01/tile_001-patch_01-SPECTRAL_IMAGE.TIF")
    >>> cube.sizes["wavelength"], str(cube.rio.crs)  # doctest: +SKIP
    (202, 'EPSG:32633')
    """
    if source not in ("auto", "tif", "npy"):
        raise DatasetFormatError(format_message("source in ('auto', 'tif', 'npy')", repr(source),
                                                "pick one of them"))
    path = Path(path)
    tif, npy = _patch_files(path)
    if tif == npy:  # a file named otherwise: go by its extension
        if path.suffix.lower() == ".npy":
            tif = path.with_suffix(".TIF")
        else:
            npy = path.with_suffix(".npy")
    use_tif = tif.is_file() and source in ("auto", "tif")
    if source == "tif" and not tif.is_file():
        raise DatasetFormatError(format_message(
            "a -SPECTRAL_IMAGE.TIF in the patch folder", f"no file at {tif}",
            "check the path, or pass source='npy' to read the -DATA.npy"))
    if not use_tif and not npy.is_file():
        raise DatasetFormatError(format_message(
            "a HySpecNet-11k patch (-SPECTRAL_IMAGE.TIF or -DATA.npy)",
            f"neither {tif.name} nor {npy.name} in {tif.parent}",
            "check the path and the dataset layout (patches/tile_XXX/tile_XXX-patch_YY/)"))
    bs = _bandset()
    order = _sort_index(bs)
    geo: xr.DataArray | None = None
    if use_tif:
        da = _read_tif(tif, chunks)
        nb = da.sizes["band"]
        if nb == _N_PRODUCT:
            da = da.isel(band=_KEEP)
        elif nb != _N_KEPT:
            raise DatasetFormatError(format_message(
                f"{_N_PRODUCT} bands (EnMAP L2A) in the SPECTRAL_IMAGE TIF", f"{nb} in {tif}",
                "pass the patch's -SPECTRAL_IMAGE.TIF, not a quality layer"))
        data = _scale(da.data[order])
        geo, src = da, tif
    else:
        arr = np.load(npy, mmap_mode="r")
        if arr.ndim != 3 or arr.shape[0] not in (_N_PRODUCT, _N_KEPT):
            raise DatasetFormatError(format_message(
                f"a ({_N_KEPT}, 128, 128) array in the -DATA.npy", f"shape {arr.shape} in {npy}",
                "regenerate the .npy from the SPECTRAL_IMAGE.TIF, or read the TIF"))
        if arr.shape[0] == _N_PRODUCT:
            arr = arr[_KEEP]
        arr = arr[order]
        data = (np.asarray(arr, dtype="float32") if np.issubdtype(arr.dtype, np.floating)
                else _scale(np.asarray(arr)))
        src = npy
        if tif.is_file() and tif != npy:
            geo = _read_tif(tif, chunks=None)  # lazy: only the header is read
            if geo.shape[1:] != data.shape[1:]:
                geo = None
    kwargs: dict[str, Any] = {}
    if geo is not None:
        kwargs["y"] = geo["y"].values
        kwargs["x"] = geo["x"].values
        if "spatial_ref" in geo.coords:
            kwargs["extra_coords"] = {"spatial_ref": geo["spatial_ref"].variable.copy()}
    cube = make_cube(data, bs.wavelengths, bs.fwhm, attrs={
        "dataset": "HySpecNet-11k", "source": str(src), "band_set": HYSPECNET_BANDSET,
        "patch": tif.parent.name}, **kwargs)
    if "spatial_ref" in cube.coords:
        cube.encoding["grid_mapping"] = "spatial_ref"
        for dim, attrs in (("x", geo["x"].attrs), ("y", geo["y"].attrs)):  # type: ignore[index]
            cube[dim].attrs.update(attrs)
    return cube


class HySpecNet11k(Sequence):
    """HySpecNet-11k patches of an official split, as a lazy sequence of cubes.

    Parameters
    ----------
    root : str or path-like
        Dataset folder holding ``patches/`` and ``splits/`` (see module docstring).
    split : {"train", "val", "test"}
        Split CSV to read (``"valid"``/``"validation"`` mean ``"val"``).
    difficulty : {"hard", "easy"}, default "hard"
        ``"hard"`` is the tile-wise split (no tile in two splits), the one to
        report results on; ``"easy"`` splits patches at random.
    source : {"auto", "tif", "npy"}, default "auto"
        Passed to :func:`open_hyspecnet_patch`.
    chunks : optional
        Dask chunks for the TIF, passed to :func:`open_hyspecnet_patch`.

    Attributes
    ----------
    patch_dirs : list of pathlib.Path
        Folder of each patch, in CSV order.

    Raises
    ------
    DatasetFormatError
        If the split CSV is missing or empty, or its first entry does not
        resolve to a patch folder. Later entries are checked when read.

    Examples
    --------
    >>> ds = HySpecNet11k("/data/hyspecnet-11k", "test")   # doctest: +SKIP
    >>> from specrecon.datasets import PairedPatchDataset
    >>> pairs = [(None, cube) for cube in ds]              # doctest: +SKIP
    >>> train = PairedPatchDataset(pairs, 64, simulate="basler-ace2")   # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str], split: str = "train",
                 difficulty: str = "hard", *, source: str = "auto", chunks: Any = None) -> None:
        self.root = Path(root)
        self.patch_dirs: list[Path] = []
        if split not in _SPLIT_ALIASES:
            raise DatasetFormatError(format_message(
                "split in ('train', 'val', 'test')", repr(split), "use one of them"))
        if difficulty not in ("easy", "hard"):
            raise DatasetFormatError(format_message(
                "difficulty 'hard' (tile-wise split) or 'easy'", repr(difficulty),
                "use difficulty='hard'"))
        self.split = _SPLIT_ALIASES[split]
        self.difficulty = difficulty
        self.source = source
        self.chunks = chunks
        csv = self.root / "splits" / difficulty / f"{self.split}.csv"
        if not csv.is_file():
            if not self.root.is_dir():
                found = f"no folder at {self.root}"
            else:
                found = "contents " + (", ".join(sorted(
                    p.name + ("/" if p.is_dir() else "") for p in self.root.iterdir())) or "none")
            raise DatasetFormatError(format_message(
                f"the split file splits/{difficulty}/{self.split}.csv under {self.root}",
                found, "point root at the HySpecNet-11k folder holding patches/ and splits/"))
        entries = _read_split_csv(csv)
        if not entries:
            raise DatasetFormatError(format_message(
                "one relative -DATA.npy path per line", f"no entries in {csv}",
                "re-download the split files"))
        self.csv = csv
        base = self._resolve_base(entries[0], csv)
        self.patch_dirs = [(base / e).parent for e in entries]

    def _resolve_base(self, first: str, csv: Path) -> Path:
        for base in (self.root / "patches", self.root):
            if (base / first).parent.is_dir():
                return base
        raise DatasetFormatError(format_message(
            f"the first entry of {csv.name} ({first!r}) to be a patch folder under "
            f"{self.root / 'patches'} or {self.root}",
            "no such folder",
            "lay patches out as patches/tile_XXX/tile_XXX-patch_YY/ (as published)"))

    def __len__(self) -> int:
        return len(self.patch_dirs)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]
        return open_hyspecnet_patch(self.patch_dirs[i], source=self.source, chunks=self.chunks)

    def __repr__(self) -> str:
        return (f"HySpecNet11k(split={self.split!r}, difficulty={self.difficulty!r}, "
                f"{len(self)} patches, root={str(self.root)!r})")


def _read_split_csv(csv: Path) -> list[str]:
    entries: list[str] = []
    for n, line in enumerate(csv.read_text().splitlines()):
        field = line.split(",")[0].strip().strip('"')
        if not field or field.startswith("#"):
            continue
        low = field.lower()
        if not low.endswith((".npy", ".tif")):
            if n == 0:
                continue  # a header line
            raise DatasetFormatError(format_message(
                "relative paths to -DATA.npy files, one per line",
                f"{field!r} on line {n + 1} of {csv}", "check the split file"))
        field = field.replace("\\", "/")
        entries.append(field.removeprefix("./"))
    return entries
