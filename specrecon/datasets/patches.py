"""PyTorch datasets over (RGB, cube) pairs: aligned random patches and per-pixel spectra.

Both datasets are deterministic: the patch position, the augmentation and the
seed of any on-the-fly RGB simulation are drawn from a generator seeded with
``(seed, epoch, index)``. Re-creating the dataset with the same ``seed`` and
calling :meth:`PairedPatchDataset.set_epoch` with the epoch of a checkpoint
reproduces that epoch exactly, whatever the number of DataLoader workers.

Inputs may be xarray DataArrays (as returned by the loaders of
:mod:`specrecon.datasets`) or numpy arrays, band axis first. A ``pairs``
sequence may be lazy (e.g. :class:`~specrecon.datasets.arad.ARAD1K`): an item is
loaded on first use and the most recently used one is kept, so the
``patches_per_item`` consecutive indices drawn from one image read it once.

Examples
--------
>>> import numpy as np
>>> from specrecon.datasets.patches import PairedPatchDataset
>>> rgb = np.random.rand(3, 40, 50).astype("float32")
>>> cube = np.random.rand(31, 40, 50).astype("float32")
>>> ds = PairedPatchDataset([(rgb, cube)], patch_size=16, patches_per_item=4)
>>> len(ds)
4
>>> x, y = ds[0]
>>> tuple(x.shape), tuple(y.shape), str(y.dtype)
((3, 16, 16), (31, 16, 16), 'torch.float32')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from specrecon.errors import (
    BandDimensionError,
    ConfigError,
    CoordinateError,
    SpatialDimensionError,
    format_message,
)

__all__ = ["CubeSpectraDataset", "PairedPatchDataset"]


# --------------------------------------------------------------------------- helpers

def _band_first(arr: Any, band_dim: str) -> Any:
    """Return ``arr`` with its band axis first (DataArrays are transposed by name)."""
    dims = getattr(arr, "dims", None)
    if dims is not None and band_dim in dims and dims[0] != band_dim:
        return arr.transpose(band_dim, ...)
    return arr


def _cube_wavelengths(cube: Any) -> np.ndarray | None:
    coords = getattr(cube, "coords", None)
    if coords is not None and "wavelength" in coords:
        return np.asarray(coords["wavelength"].values, dtype="float64")
    return None


def _rgb_band_first(rgb: Any) -> Any:
    """RGB as ``(3, H, W)``; numpy ``(H, W, 3)`` input is moved to band-first."""
    if getattr(rgb, "dims", None) is not None:
        return _band_first(rgb, "band")
    if getattr(rgb, "ndim", 0) == 3 and rgb.shape[0] != 3 and rgb.shape[-1] == 3:
        return np.moveaxis(np.asarray(rgb), -1, 0)
    return rgb


def _crop(arr: Any, y0: int, x0: int, p: int) -> np.ndarray:
    """Read one ``(bands, p, p)`` window as float32 (only the window of a lazy array)."""
    window = arr[:, y0:y0 + p, x0:x0 + p]
    return np.asarray(getattr(window, "values", window), dtype="float32")


def check_brightness_range(value: Any) -> tuple[float, float] | None:
    """``value`` as ``(low, high)`` with ``0 < low <= high``, or None; ConfigError otherwise."""
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo = hi = float("nan")
    if not (0.0 < lo <= hi and np.isfinite(hi)):
        raise ConfigError(format_message(
            "brightness_range as (low, high) with 0 < low <= high", repr(value),
            "e.g. brightness_range=(0.7, 1.3)"))
    return lo, hi


def _augment(arrays: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Apply one of the 8 rot90/flip symmetries, the same one, to every array."""
    k = int(rng.integers(4))
    flip = bool(rng.integers(2))
    out = []
    for a in arrays:
        a = np.rot90(a, k, axes=(1, 2))
        if flip:
            a = a[:, :, ::-1]
        out.append(np.ascontiguousarray(a))
    return out


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(format_message(f"{name} as a positive integer", repr(value),
                                         f"pass e.g. {name}=64"))
    return int(value)


def _band_first_cube(cube: Any, where: str) -> Any:
    """``cube`` with its ``wavelength`` axis first; BandDimensionError unless it is 3-D."""
    cube = _band_first(cube, "wavelength")
    if getattr(cube, "ndim", 0) != 3:
        raise BandDimensionError(format_message(
            "a (bands, y, x) cube", f"shape {getattr(cube, 'shape', None)} in {where}",
            "put the band axis first"))
    return cube


def _check_index(index: int, n: int, what: str) -> int:
    """``index`` made non-negative (Python-style negative indexing); IndexError if out of range."""
    if index < 0:
        index += n
    if not 0 <= index < n:
        raise IndexError(f"index {index} out of range for {n} {what}")
    return index


class _LastItemCache:
    """Keep the most recently loaded item of a (possibly lazy) sequence."""

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = items
        self._key: int | None = None
        self._value: Any = None

    def __call__(self, i: int) -> Any:
        if self._key != i:
            self._value = self.items[i]
            self._key = i
        return self._value

    def __getstate__(self) -> dict[str, Any]:  # never ship cached arrays to workers
        return {"items": self.items, "_key": None, "_value": None}


class _BoundedItemCache:
    """Keep loaded items (numpy arrays) until ``max_bytes`` are held, then only the last one.

    Random-order training draws touch every cube many times; re-reading (or, for lazy
    synthetic scenes, re-generating) a cube on every change of item dominated the
    teacher stage's step time.
    """

    def __init__(self, items: Sequence[Any], max_bytes: int) -> None:
        self.items = items
        self.max_bytes = int(max_bytes)
        self._held: dict[int, Any] = {}
        self._bytes = 0
        self._last = _LastItemCache(items)

    def __call__(self, i: int) -> Any:
        if i in self._held:
            return self._held[i]
        value = self._last(i)
        size = int(getattr(value, "nbytes", 0))
        if self._bytes + size <= self.max_bytes:
            self._held[i] = value
            self._bytes += size
        return value

    def __getstate__(self) -> dict[str, Any]:  # never ship cached arrays to workers
        return {"items": self.items, "max_bytes": self.max_bytes, "_held": {}, "_bytes": 0,
                "_last": _LastItemCache(self.items)}


# --------------------------------------------------------------------------- paired patches

class PairedPatchDataset(Dataset):
    """Random aligned ``(rgb, cube)`` patches for training RGB-to-cube models.

    Parameters
    ----------
    pairs : sequence of (rgb, cube)
        Each ``rgb`` is ``(3, H, W)`` (or ``None`` when ``simulate`` is given),
        each ``cube`` ``(B, H, W)``; xarray DataArrays (cube dims
        ``("wavelength", y, x)``, RGB ``("band", y, x)``) or numpy arrays. Lazy
        sequences such as :class:`~specrecon.datasets.arad.ARAD1K` work.
    patch_size : int, default 64
        Side of the square patches.
    patches_per_item : int, default 8
        Patches drawn from each pair per epoch; ``len(ds) = len(pairs) * patches_per_item``.
    augment : bool, default True
        Apply a random rot90/flip (one of 8 symmetries), identically to RGB and cube.
    simulate : str, Sensor or dict, optional
        Simulate the RGB from the cube patch with
        :func:`specrecon.spectral.simulate_rgb` instead of using the given
        RGB: a sensor name / ``Sensor``, or a dict of ``simulate_rgb`` keyword
        arguments including ``sensor``. The simulation seed is drawn per item.
        Note that the simulation (e.g. auto-exposure) then sees the patch only.
    seed : int, default 0
        Base seed; together with the epoch (:meth:`set_epoch`) and the index it
        fixes everything random about an item.
    brightness_range : (float, float), optional
        Multiply each patch's RGB and cube by one factor drawn uniformly from
        this range (a brighter or darker surface seen by the same linear
        sensor): teaches that brightness scales the spectrum instead of
        leaving it to the scene's context. Exact for linear RGB (reflectance
        composites such as ``sentinel2_msi_rgb``); with ``simulate`` the RGB is
        simulated from the scaled cube.
    wavelengths : array-like, optional
        Band centres (nm) for numpy cubes when ``simulate`` is used; DataArray
        cubes carry their own ``wavelength`` coordinate.

    Raises
    ------
    ConfigError
        If ``patch_size`` / ``patches_per_item`` are not positive integers or
        ``simulate`` lacks a sensor.
    SpatialDimensionError
        (on item access) if a pair is smaller than ``patch_size`` or RGB and
        cube sizes differ.

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.random.rand(31, 32, 32).astype("float32")
    >>> rgb = cube[[25, 15, 5]]
    >>> ds = PairedPatchDataset([(rgb, cube)], patch_size=8, patches_per_item=2, seed=1)
    >>> a, b = ds[1]
    >>> bool((a == b[[25, 15, 5]]).all())   # augmentation is shared
    True
    >>> ds.set_epoch(3)   # a different, reproducible draw
    """

    def __init__(self, pairs: Sequence[tuple[Any, Any]], patch_size: int = 64, *,
                 patches_per_item: int = 8, augment: bool = True,
                 simulate: str | Any | Mapping[str, Any] | None = None, seed: int = 0,
                 wavelengths: Sequence[float] | np.ndarray | None = None,
                 brightness_range: Sequence[float] | None = None) -> None:
        self.pairs = pairs
        self.brightness_range = check_brightness_range(brightness_range)
        self.patch_size = _check_positive_int(patch_size, "patch_size")
        self.patches_per_item = _check_positive_int(patches_per_item, "patches_per_item")
        self.augment = bool(augment)
        self.seed = int(seed)
        self.epoch = 0
        self.wavelengths = None if wavelengths is None else np.asarray(wavelengths, "float64")
        self._sim_kwargs: dict[str, Any] | None
        if simulate is None:
            self._sim_kwargs = None
        elif isinstance(simulate, Mapping):
            kw = dict(simulate)
            if kw.get("sensor") is None:
                raise ConfigError(format_message(
                    "a 'sensor' entry in the simulate dict", f"keys {sorted(kw)}",
                    "pass simulate={'sensor': 'basler-ace2', ...} or a sensor name"))
            self._sim_kwargs = kw
        else:
            self._sim_kwargs = {"sensor": simulate}
        self._load = _LastItemCache(pairs)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose patches ``__getitem__`` returns (default 0).

        Parameters
        ----------
        epoch : int
            Epoch number; the same (seed, epoch, index) always gives the same item.
        """
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.pairs) * self.patches_per_item

    def rng(self, index: int) -> np.random.Generator:
        """The generator that decides item ``index`` in the current epoch."""
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = _check_index(index, len(self), "patches")
        item = index // self.patches_per_item
        pair = self._load(item)
        try:
            rgb, cube = pair
        except (TypeError, ValueError):
            raise ConfigError(format_message("pairs of (rgb, cube)", f"{type(pair).__name__}",
                                             "pass a sequence of 2-tuples")) from None
        if cube is None:
            raise ConfigError(format_message(
                f"a cube for pair {item}", "None (e.g. an ARAD-1K test item)",
                "train on a split with ground-truth cubes"))
        cube = _band_first_cube(cube, f"pair {item}")
        h, w = int(cube.shape[1]), int(cube.shape[2])
        if rgb is None and self._sim_kwargs is None:
            raise ConfigError(format_message(
                f"an RGB image for pair {item}, or simulate=...", "rgb=None",
                "pass simulate='<sensor name>' to simulate RGB from the cube"))
        if rgb is not None and self._sim_kwargs is None:
            rgb = _rgb_band_first(rgb)
            if getattr(rgb, "ndim", 0) != 3 or rgb.shape[0] != 3:
                raise BandDimensionError(format_message(
                    "a (3, y, x) RGB image", f"shape {getattr(rgb, 'shape', None)} in pair {item}",
                    "put the three colour planes first"))
            if tuple(rgb.shape[1:]) != (h, w):
                raise SpatialDimensionError(format_message(
                    f"RGB of the cube's size {(h, w)}", f"{tuple(rgb.shape[1:])} in pair {item}",
                    "crop or resample RGB and cube to the same grid"))
        p = self.patch_size
        if p > h or p > w:
            raise SpatialDimensionError(format_message(
                f"images at least patch_size={p} pixels on each side",
                f"{h}x{w} pixels in pair {item}", f"use patch_size <= {min(h, w)}"))
        rng = self.rng(index)
        y0 = int(rng.integers(h - p + 1))
        x0 = int(rng.integers(w - p + 1))
        cube_patch = _crop(cube, y0, x0, p)
        gain = (float(rng.uniform(*self.brightness_range))
                if self.brightness_range is not None else None)
        if gain is not None:
            cube_patch = cube_patch * np.float32(gain)
        if self._sim_kwargs is not None:
            rgb_patch = self._simulate(cube_patch, cube, rng)
        else:
            rgb_patch = _crop(rgb, y0, x0, p)
            if gain is not None:
                rgb_patch = rgb_patch * np.float32(gain)
        if self.augment:
            rgb_patch, cube_patch = _augment([rgb_patch, cube_patch], rng)
        return torch.from_numpy(rgb_patch), torch.from_numpy(cube_patch)

    def _simulate(self, cube_patch: np.ndarray, cube: Any, rng: np.random.Generator) -> np.ndarray:
        from specrecon.spectral import simulate_rgb

        wl = _cube_wavelengths(cube)
        if wl is None:
            wl = self.wavelengths
        if wl is None:
            raise CoordinateError(format_message(
                "cube wavelengths to simulate RGB", "a numpy cube and no wavelengths=",
                "pass wavelengths=... to PairedPatchDataset or use DataArray cubes"))
        kw = dict(self._sim_kwargs or {})
        sensor = kw.pop("sensor")
        kw.pop("wavelengths", None)
        kw["seed"] = int(rng.integers(2**31 - 1))
        out = simulate_rgb(cube_patch, sensor, wavelengths=wl, **kw)
        out = np.asarray(getattr(out, "values", out), dtype="float32")
        if out.shape != (3, *cube_patch.shape[1:]):
            raise BandDimensionError(format_message(
                f"simulate_rgb to return (3, {cube_patch.shape[1]}, {cube_patch.shape[2]})",
                f"shape {out.shape}",
                "check the simulate settings (the sensor must have 3 channels)"))
        return out

    def __repr__(self) -> str:
        return (f"PairedPatchDataset({len(self.pairs)} pairs x {self.patches_per_item} patches, "
                f"patch_size={self.patch_size}, augment={self.augment}, seed={self.seed}, "
                f"epoch={self.epoch})")


# --------------------------------------------------------------------------- spectra

class CubeSpectraDataset(Dataset):
    """Random per-pixel spectra from cubes, for training a spectral (teacher) autoencoder.

    Parameters
    ----------
    cubes : sequence
        Cubes ``(B, H, W)`` (DataArray or numpy), or ``(rgb, cube)`` pairs
        (the cube is used), e.g. an :class:`~specrecon.datasets.arad.ARAD1K`.
        All cubes must have the same band count.
    pixels_per_item : int, default 4096
        Spectra per item; pixels are drawn without replacement when the cube
        has enough of them.
    items_per_cube : int, default 1
        Items drawn from each cube per epoch.
    seed : int, default 0
        Base seed; items are fixed by ``(seed, epoch, index)``.
    drop_nonfinite : bool, default True
        Draw only pixels whose spectrum is finite everywhere (nodata-safe).
    cache_bytes : int, default 2 GiB
        Decoded spectra of up to this many bytes stay in memory (the rest are re-read
        when drawn again).

    Examples
    --------
    >>> import numpy as np
    >>> ds = CubeSpectraDataset([np.random.rand(31, 10, 12)], pixels_per_item=50)
    >>> tuple(ds[0].shape)
    (50, 31)
    """

    def __init__(self, cubes: Sequence[Any], pixels_per_item: int = 4096, *,
                 items_per_cube: int = 1, seed: int = 0, drop_nonfinite: bool = True,
                 cache_bytes: int = 2 * 2 ** 30) -> None:
        self.cubes = cubes
        self.pixels_per_item = _check_positive_int(pixels_per_item, "pixels_per_item")
        self.items_per_cube = _check_positive_int(items_per_cube, "items_per_cube")
        self.seed = int(seed)
        self.epoch = 0
        self.drop_nonfinite = bool(drop_nonfinite)
        self._load = _BoundedItemCache(_SpectraSource(cubes, self.drop_nonfinite), cache_bytes)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose draws ``__getitem__`` returns."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.cubes) * self.items_per_cube

    def __getitem__(self, index: int) -> torch.Tensor:
        index = _check_index(index, len(self), "items")
        item = index // self.items_per_cube
        spectra = self._load(item)  # (npix, B) float32, valid pixels only
        if spectra.shape[0] == 0:
            raise SpatialDimensionError(format_message(
                f"valid (finite) pixels in cube {item}", "none", "check the cube's nodata"))
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        k = self.pixels_per_item
        replace = spectra.shape[0] < k
        idx = rng.choice(spectra.shape[0], size=k, replace=replace)
        return torch.from_numpy(np.ascontiguousarray(spectra[idx]))

    def __repr__(self) -> str:
        return (f"CubeSpectraDataset({len(self.cubes)} cubes x {self.items_per_cube}, "
                f"pixels_per_item={self.pixels_per_item}, seed={self.seed})")


class _SpectraSource:
    """Turn item ``i`` of ``cubes`` into a ``(n_valid_pixels, B)`` float32 array."""

    def __init__(self, cubes: Sequence[Any], drop_nonfinite: bool) -> None:
        self.cubes = cubes
        self.drop_nonfinite = drop_nonfinite

    def __getitem__(self, i: int) -> np.ndarray:
        cube = self.cubes[i]
        if isinstance(cube, tuple):
            cube = cube[1]
        if cube is None:
            raise ConfigError(format_message(f"a cube for item {i}", "None",
                                             "use a split with ground-truth cubes"))
        cube = _band_first_cube(cube, f"item {i}")
        arr = np.asarray(getattr(cube, "values", cube), dtype="float32")
        spectra = arr.reshape(arr.shape[0], -1).T
        if self.drop_nonfinite:
            spectra = spectra[np.isfinite(spectra).all(axis=1)]
        return spectra
