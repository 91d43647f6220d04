"""ARAD-1K (NTIRE 2022 spectral reconstruction challenge): cubes, RGB images, splits.

Files as published by the challenge:

- spectral cubes: MATLAB v7.3 ``.mat`` files (HDF5 inside) with the variables
  ``cube`` (482 x 512 x 31 in MATLAB, so the HDF5 dataset is stored transposed
  as ``(31, 512, 482)``), ``bands`` (centre wavelengths, 400-700 nm step 10) and
  ``norm_factor`` (the scale the cube was divided by);
- RGB inputs: 8-bit JPEGs of the same scene, 482 x 512.

Folder layout expected by :class:`ARAD1K` (folder names are matched
case-insensitively; ``Train_spectral`` works too)::

    ARAD_1K/
        Train_Spectral/ARAD_1K_0001.mat ... ARAD_1K_0900.mat
        Train_RGB/ARAD_1K_0001.jpg ... ARAD_1K_0900.jpg
        Valid_Spectral/ARAD_1K_0901.mat ... ARAD_1K_0950.mat
        Valid_RGB/ARAD_1K_0901.jpg ... ARAD_1K_0950.jpg
        Test_RGB/ARAD_1K_0951.jpg ... ARAD_1K_1000.jpg

The split is fixed by the file id (:data:`ARAD_SPLITS`): 900 training scenes
0001-0900, 50 validation scenes 0901-0950, 50 test scenes 0951-1000 (test
cubes were never released, so test items have ``cube=None``).

Examples
--------
>>> from specrecon.datasets import ARAD1K, open_arad_cube
>>> cube = open_arad_cube("ARAD_1K/Train_Spectral/ARAD_1K_0001.mat")   # doctest: +SKIP
>>> cube.sizes                                                         # doctest: +SKIP
Frozen({'wavelength': 31, 'y': 482, 'x': 512})
>>> rgb, cube = ARAD1K("ARAD_1K", split="valid")[0]                     # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import xarray as xr

from specrecon.cube import make_cube, make_rgb
from specrecon.errors import DatasetFormatError, format_message

__all__ = ["ARAD1K", "ARAD_SPLITS", "ARAD_WAVELENGTHS", "open_arad_cube", "open_arad_rgb"]

#: Official NTIRE 2022 split: split name -> inclusive range of file ids.
ARAD_SPLITS: dict[str, tuple[int, int]] = {
    "train": (1, 900),
    "valid": (901, 950),
    "test": (951, 1000),
}

#: Band centres used when a file has no ``bands`` variable (nm).
ARAD_WAVELENGTHS: np.ndarray = np.arange(400.0, 701.0, 10.0)

_FOLDERS: dict[str, tuple[str | None, str]] = {
    # split -> (spectral folder, RGB folder)
    "train": ("Train_Spectral", "Train_RGB"),
    "valid": ("Valid_Spectral", "Valid_RGB"),
    "test": (None, "Test_RGB"),
}
_NAME_RE = re.compile(r"^ARAD_1K_(\d{4})\.(mat|jpe?g|png)$", re.IGNORECASE)
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _open_error(path: Path, what: str) -> DatasetFormatError:
    return DatasetFormatError(format_message(
        what, f"no file at {path}", "check the path (ARAD-1K files are ARAD_1K_NNNN.mat/.jpg)"))


def _is_hdf5(path: Path) -> bool:
    # MATLAB v7.3 files carry a 512-byte MATLAB header before the HDF5 superblock.
    with open(path, "rb") as fh:
        head = fh.read(1024)
    return _HDF5_MAGIC in (head[:8], head[512:520])


def _read_v73(path: Path) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    import h5py

    with h5py.File(path, "r") as f:
        if "cube" not in f:
            raise DatasetFormatError(format_message(
                "a MATLAB variable 'cube' in the ARAD-1K .mat file",
                f"variables {sorted(f.keys())} in {path}",
                "pass an ARAD-1K spectral file (Train_Spectral/ or Valid_Spectral/)"))
        stored = np.asarray(f["cube"][()])
        bands = np.asarray(f["bands"][()]).ravel() if "bands" in f else None
        norm = float(np.asarray(f["norm_factor"][()]).ravel()[0]) if "norm_factor" in f else None
    if stored.ndim != 3:
        raise DatasetFormatError(format_message(
            "a 3-D 'cube' variable", f"shape {stored.shape} in {path}", "check the file"))
    # HDF5 holds MATLAB's column-major (y, x, band) as (band, x, y): swap the last two axes.
    return np.transpose(stored, (0, 2, 1)), bands, norm


def _read_v5(path: Path) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(path, variable_names=["cube", "bands", "norm_factor"])
    except Exception as err:  # noqa: BLE001 - scipy raises many types for foreign files
        raise DatasetFormatError(format_message(
            "a MATLAB .mat file (v7.3/HDF5 as published for ARAD-1K, or v5)",
            f"a file scipy cannot read ({err}) at {path}",
            "re-download the file or save it from MATLAB with save(..., '-v7.3')")) from None
    if "cube" not in mat:
        raise DatasetFormatError(format_message(
            "a MATLAB variable 'cube' in the ARAD-1K .mat file",
            f"variables {sorted(k for k in mat if not k.startswith('__'))} in {path}",
            "pass an ARAD-1K spectral file"))
    cube = np.asarray(mat["cube"])
    if cube.ndim != 3:
        raise DatasetFormatError(format_message(
            "a 3-D 'cube' variable", f"shape {cube.shape} in {path}", "check the file"))
    bands = np.asarray(mat["bands"]).ravel() if "bands" in mat else None
    norm = float(np.asarray(mat["norm_factor"]).ravel()[0]) if "norm_factor" in mat else None
    # scipy returns MATLAB's natural (y, x, band) order
    return np.moveaxis(cube, -1, 0), bands, norm


def open_arad_cube(path: str | os.PathLike[str]) -> xr.DataArray:
    """Read one ARAD-1K spectral ``.mat`` file as a cube.

    Parameters
    ----------
    path : str or path-like
        A MATLAB v7.3 (HDF5) ``.mat`` file as published, with ``cube``,
        ``bands`` and ``norm_factor``. Older MATLAB v5 files holding the same
        variables are read with :func:`scipy.io.loadmat`.

    Returns
    -------
    xarray.DataArray
        Cube ``(wavelength=31, y=482, x=512)`` float32. ``wavelength`` comes
        from ``bands`` (400-700 nm step 10 when absent); the cube values are
        returned as stored and ``attrs["norm_factor"]`` records the file's
        normalisation factor (NaN when absent).

    Raises
    ------
    DatasetFormatError
        If the file is missing, is not a MATLAB file, has no ``cube`` variable,
        or ``bands`` does not match the band count.

    Examples
    --------
    >>> cube = open_arad_cube("Train_Spectral/ARAD_1K_0001.mat")   # doctest: +SKIP
    >>> cube.dims, cube.shape                                        # doctest: +SKIP
    (('wavelength', 'y', 'x'), (31, 482, 512))
    """
    path = Path(path)
    if not path.is_file():
        raise _open_error(path, "an ARAD-1K .mat file")
    if _is_hdf5(path):
        data, bands, norm = _read_v73(path)
        version = "7.3"
    else:
        with open(path, "rb") as fh:
            head = fh.read(116)
        if not head.startswith(b"MATLAB"):
            raise DatasetFormatError(format_message(
                "a MATLAB v7.3 (HDF5) .mat file as published for ARAD-1K",
                f"neither HDF5 nor a MATLAB header in {path} (starts {head[:16]!r})",
                "re-download the file; it may be truncated or an HTML error page"))
        data, bands, norm = _read_v5(path)
        version = "5"
    if bands is None:
        if data.shape[0] != ARAD_WAVELENGTHS.size:
            raise DatasetFormatError(format_message(
                f"{ARAD_WAVELENGTHS.size} bands (400-700 nm) when the file has no 'bands'",
                f"{data.shape[0]} bands in {path}", "add a 'bands' variable to the file"))
        bands = ARAD_WAVELENGTHS
    bands = np.asarray(bands, dtype="float64")
    if bands.size != data.shape[0]:
        raise DatasetFormatError(format_message(
            f"one 'bands' entry per cube band ({data.shape[0]})", f"{bands.size} in {path}",
            "check that 'cube' is stored (bands, x, y) in HDF5, i.e. (y, x, bands) in MATLAB"))
    attrs = {
        "dataset": "ARAD-1K",
        "source": str(path),
        "mat_version": version,
        "norm_factor": np.nan if norm is None else norm,
    }
    return make_cube(np.ascontiguousarray(data, dtype="float32"), bands, attrs=attrs,
                     name="reflectance")


def open_arad_rgb(path: str | os.PathLike[str]) -> xr.DataArray:
    """Read an ARAD-1K RGB image (JPEG; PNG also works) as float32 in [0, 1].

    Parameters
    ----------
    path : str or path-like
        Image file. 8-bit images are divided by 255, 16-bit ones by 65535.

    Returns
    -------
    xarray.DataArray
        RGB ``(band=3, y, x)`` built with :func:`specrecon.cube.make_rgb`.

    Raises
    ------
    DatasetFormatError
        If the file is missing or not an image Pillow can read.

    Examples
    --------
    >>> rgb = open_arad_rgb("Train_RGB/ARAD_1K_0001.jpg")   # doctest: +SKIP
    >>> rgb.shape                                             # doctest: +SKIP
    (3, 482, 512)
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise _open_error(path, "an ARAD-1K RGB image")
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                raise DatasetFormatError(format_message(
                    "a 3-channel RGB image", f"a single-channel {mode} image at {path}",
                    "pass the RGB JPEG of the scene"))
            if mode == "RGB":
                arr = np.asarray(im)
            else:
                arr = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise DatasetFormatError(format_message(
            "an RGB JPEG/PNG image", f"a file Pillow cannot identify at {path}",
            "re-download the image")) from None
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    data = np.ascontiguousarray(np.moveaxis(arr, -1, 0), dtype="float32") / np.float32(scale)
    return make_rgb(data, attrs={"dataset": "ARAD-1K", "source": str(path)})


def _find_folder(root: Path, name: str) -> Path | None:
    exact = root / name
    if exact.is_dir():
        return exact
    for child in root.iterdir():
        if child.is_dir() and child.name.lower() == name.lower():
            return child
    return None


def _scan(folder: Path, exts: tuple[str, ...]) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for child in folder.iterdir():
        m = _NAME_RE.match(child.name)
        if m and m.group(2).lower() in exts:
            found[int(m.group(1))] = child
    return found


class ARAD1K(Sequence):
    """The ARAD-1K dataset as a lazy sequence of ``(rgb, cube)`` pairs.

    Parameters
    ----------
    root : str or path-like
        Folder holding ``Train_Spectral``, ``Train_RGB``, ``Valid_Spectral``,
        ``Valid_RGB`` and/or ``Test_RGB`` (see the module docstring).
    split : {"train", "valid", "test"}
        Official split by file id: 0001-0900, 0901-0950, 0951-1000.
    strict : bool, default True
        Require every id of the split to be present (with both RGB and cube
        for train/valid). With ``False`` the ids present in both folders are
        used, e.g. for a partial download.

    Attributes
    ----------
    ids : list of int
        File ids of the items, in order.
    rgb_paths, cube_paths : list of pathlib.Path
        Files of each item (``cube_paths`` entries are ``None`` for ``test``).

    Raises
    ------
    DatasetFormatError
        If the folders of the split are missing, or (``strict``) files are missing.

    Examples
    --------
    >>> ds = ARAD1K("/data/ARAD_1K", split="valid")   # doctest: +SKIP
    >>> len(ds), ds.ids[0]                             # doctest: +SKIP
    (50, 901)
    >>> rgb, cube = ds[0]                              # doctest: +SKIP
    >>> from specrecon.datasets import PairedPatchDataset
    >>> train = PairedPatchDataset(ds, patch_size=128)   # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str], split: str = "train", *,
                 strict: bool = True) -> None:
        if split not in ARAD_SPLITS:
            raise DatasetFormatError(format_message(
                f"split in {sorted(ARAD_SPLITS)}", repr(split), "use 'train', 'valid' or 'test'"))
        self.root = Path(root)
        self.split = split
        if not self.root.is_dir():
            raise DatasetFormatError(format_message(
                "an ARAD-1K folder", f"no folder at {self.root}", "check the root path"))
        lo, hi = ARAD_SPLITS[split]
        wanted = range(lo, hi + 1)
        spec_name, rgb_name = _FOLDERS[split]
        present = sorted(p.name + "/" for p in self.root.iterdir() if p.is_dir()) or ["nothing"]
        folders = [n for n in (spec_name, rgb_name) if n is not None]
        located = {n: _find_folder(self.root, n) for n in folders}
        missing = [n for n, p in located.items() if p is None]
        if missing:
            raise DatasetFormatError(format_message(
                f"folder(s) {', '.join(m + '/' for m in missing)} for split {split!r} "
                f"in {self.root}",
                f"{', '.join(present)}",
                "lay the data out as published: Train_Spectral/, Train_RGB/, Valid_Spectral/, "
                "Valid_RGB/, Test_RGB/ with files ARAD_1K_NNNN.mat / .jpg"))
        rgb_files = _scan(located[rgb_name], ("jpg", "jpeg", "png"))  # type: ignore[arg-type]
        spec_files = (_scan(located[spec_name], ("mat",))  # type: ignore[arg-type]
                      if spec_name is not None else None)
        ids = [i for i in wanted if i in rgb_files and (spec_files is None or i in spec_files)]
        if strict:
            need = {"RGB": rgb_files} if spec_files is None else {"RGB": rgb_files,
                                                                  "spectral": spec_files}
            gaps = {k: [i for i in wanted if i not in v] for k, v in need.items()}
            gaps = {k: v for k, v in gaps.items() if v}
            if gaps:
                found = "; ".join(f"{len(v)} {k} file(s) missing, e.g. ARAD_1K_{v[0]:04d}"
                                  for k, v in gaps.items())
                raise DatasetFormatError(format_message(
                    f"{len(wanted)} {split} scenes ARAD_1K_{lo:04d}..ARAD_1K_{hi:04d}",
                    f"{found} (in {self.root})",
                    "complete the download, or pass strict=False to use the scenes present"))
        if not ids:
            raise DatasetFormatError(format_message(
                f"files ARAD_1K_{lo:04d}..ARAD_1K_{hi:04d} for split {split!r}",
                f"{len(rgb_files)} RGB file(s) in {located[rgb_name]} but none with an id "
                "in that range" + ("" if spec_files is None else " and a matching .mat"),
                "check the split name and the file names (ARAD_1K_NNNN.mat / .jpg)"))
        self.ids: list[int] = ids
        self.rgb_paths: list[Path] = [rgb_files[i] for i in ids]
        self.cube_paths: list[Path | None] = [
            None if spec_files is None else spec_files[i] for i in ids]

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> tuple[xr.DataArray, xr.DataArray | None]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[xr.DataArray, xr.DataArray | None]]: ...

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]  # raises IndexError, handles negatives
        rgb = open_arad_rgb(self.rgb_paths[i])
        cpath = self.cube_paths[i]
        cube = None if cpath is None else open_arad_cube(cpath)
        if cube is not None and cube.shape[1:] != rgb.shape[1:]:
            raise DatasetFormatError(format_message(
                f"RGB and cube of scene {self.ids[i]:04d} with the same size",
                f"RGB {rgb.shape[1:]} vs cube {cube.shape[1:]}",
                "check the files; ARAD-1K scenes are 482 x 512"))
        rgb.attrs["scene"] = cube_name = f"ARAD_1K_{self.ids[i]:04d}"
        if cube is not None:
            cube.attrs["scene"] = cube_name
        return rgb, cube

    def __repr__(self) -> str:
        return f"ARAD1K(split={self.split!r}, {len(self)} items, root={str(self.root)!r})"
