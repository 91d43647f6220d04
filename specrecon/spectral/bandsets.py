"""Band sets: the band centres and widths of hyperspectral products.

A :class:`BandSet` describes the spectral axis of a cube: centres (nm), FWHM
(nm), optional good-band flags and where the numbers come from. Built-ins:

- ``arad31``: NTIRE 2022 / ARAD-1K, 400-700 nm in 10 nm steps, FWHM 10 nm;
- ``enmap224``: EnMAP L2A, 224 bands (VNIR 91 + SWIR 133), centres from the
  published band table, FWHM approximated (see ``specrecon/data/enmap_bands.csv``);
- ``hyspecnet202``: ``enmap224`` minus the water-vapour bands HySpecNet-11k
  drops (zero-based product indices 126-140 and 160-166);
- ``emit285``: an *EMIT-like* 285-band grid, 381-2493 nm at ~7.4 nm, with
  good-band flags marking the 1400 nm and 1900 nm water-vapour regions.

Band order. Every band set stores its bands sorted by wavelength, because a
cube's ``wavelength`` index must be strictly increasing. EnMAP's VNIR and SWIR
detectors overlap (VNIR ends at 993 nm, SWIR starts at 902 nm), so the product
(file) order of ``enmap224``/``hyspecnet202`` is *not* sorted. ``file_index``
maps each sorted band back to its position in the product's band order:
``cube_data = product_data[bandset.file_index]`` turns a band-first array read
from a file into the band set's order.

Examples
--------
>>> bs = get_bandset("hyspecnet202")
>>> bs.size, bool((bs.wavelengths[1:] > bs.wavelengths[:-1]).all())
(202, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from specrecon.cube import check_wavelengths, wavelength_coords
from specrecon.errors import CoordinateError, format_message
from specrecon.spectral._registry import LazyRegistry

__all__ = ["BandSet", "get_bandset", "list_bandsets", "register_bandset",
           "HYSPECNET_DROP", "EMIT_WATER_VAPOUR_NM"]

#: Zero-based EnMAP product band indices removed by HySpecNet-11k (water vapour).
HYSPECNET_DROP: tuple[int, ...] = tuple(range(126, 141)) + tuple(range(160, 167))

#: Wavelength ranges (nm) flagged as bad in ``emit285`` (water-vapour absorption).
EMIT_WATER_VAPOUR_NM: tuple[tuple[float, float], ...] = ((1320.0, 1450.0), (1770.0, 1960.0))


def _ro(a: Any, dtype: str) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class BandSet:
    """Band centres, widths and flags of a hyperspectral product.

    Parameters
    ----------
    name : str
        Registry name.
    wavelengths : numpy.ndarray
        Band centres (nm), strictly increasing.
    fwhm : numpy.ndarray
        Full widths at half maximum (nm), one per band.
    good : numpy.ndarray of bool or None
        Good-band flags (EMIT convention), or None when all bands are usable.
    source : str
        Where the numbers come from (and what is approximated).
    file_index : numpy.ndarray of int or None
        Position of each band in the product's native band order when that
        order is not sorted by wavelength (None: native order == this order).

    Examples
    --------
    >>> bs = BandSet.from_arrays([450.0, 550.0, 650.0])
    >>> bs.fwhm.tolist()
    [100.0, 100.0, 100.0]
    """

    name: str
    wavelengths: np.ndarray
    fwhm: np.ndarray
    good: np.ndarray | None = None
    source: str = ""
    file_index: np.ndarray | None = None

    def __post_init__(self) -> None:
        wl = _ro(check_wavelengths(self.wavelengths, what=f"wavelengths of band set {self.name!r}"),
                 "float64")
        fw = _ro(self.fwhm, "float64")
        if fw.shape != wl.shape or np.any(~np.isfinite(fw)) or np.any(fw <= 0):
            raise CoordinateError(format_message(
                f"{wl.size} positive FWHM values", f"shape {fw.shape}",
                "pass one positive width (nm) per band"))
        object.__setattr__(self, "wavelengths", wl)
        object.__setattr__(self, "fwhm", fw)
        if self.good is not None:
            good = _ro(self.good, "bool")
            if good.shape != wl.shape:
                raise CoordinateError(format_message(f"{wl.size} good-band flags",
                                                     f"shape {good.shape}",
                                                     "pass one flag per band"))
            object.__setattr__(self, "good", good)
        if self.file_index is not None:
            idx = _ro(self.file_index, "int64")
            if idx.shape != wl.shape or sorted(idx.tolist()) != list(range(wl.size)):
                raise CoordinateError(format_message(
                    f"a permutation of 0..{wl.size - 1} as file_index", f"shape {idx.shape}",
                    "pass the product position of each sorted band"))
            object.__setattr__(self, "file_index", idx)

    @property
    def size(self) -> int:
        """Number of bands."""
        return int(self.wavelengths.size)

    def __len__(self) -> int:
        return self.size

    def coords(self) -> dict[str, Any]:
        """Coordinates for a cube's ``wavelength`` dimension.

        Returns
        -------
        dict
            From :func:`specrecon.cube.wavelength_coords` (with ``good_band``
            when the band set has flags).

        Examples
        --------
        >>> sorted(get_bandset("arad31").coords())
        ['fwhm', 'wavelength']
        """
        return wavelength_coords(self.wavelengths, self.fwhm, self.good)

    @classmethod
    def from_arrays(cls, wavelengths: Sequence[float] | np.ndarray,
                    fwhm: Sequence[float] | np.ndarray | float | None = None,
                    name: str = "custom", *, good: Sequence[bool] | None = None,
                    source: str = "user supplied") -> BandSet:
        """Build a band set from centres and (optionally) widths.

        Parameters
        ----------
        wavelengths : array-like
            Band centres (nm), strictly increasing.
        fwhm : array-like or float, optional
            Widths (nm); default: the centre spacing (``numpy.gradient``).
        name : str
            Name of the band set.
        good : array-like of bool, optional
            Good-band flags.
        source : str
            Provenance text.

        Returns
        -------
        BandSet

        Examples
        --------
        >>> BandSet.from_arrays([500, 510, 530], name="x").fwhm.tolist()
        [10.0, 15.0, 20.0]
        """
        wl = check_wavelengths(wavelengths)
        if fwhm is None:
            fw = np.gradient(wl) if wl.size > 1 else np.array([10.0])
        else:
            fw = np.broadcast_to(np.asarray(fwhm, "float64"), wl.shape)
        return cls(name=name, wavelengths=wl, fwhm=fw, good=good, source=source)

    @classmethod
    def from_cube(cls, cube: Any, name: str = "cube") -> BandSet:
        """Band set of a cube DataArray (its ``wavelength``, ``fwhm``, ``good_band``).

        Examples
        --------
        >>> from specrecon.cube import make_cube
        >>> c = make_cube(np.zeros((3, 1, 1)), [500.0, 510.0, 520.0])
        >>> BandSet.from_cube(c).size
        3
        """
        wl = np.asarray(cube["wavelength"].values, "float64")
        fw = np.asarray(cube["fwhm"].values, "float64") if "fwhm" in cube.coords else None
        good = np.asarray(cube["good_band"].values, bool) if "good_band" in cube.coords else None
        return cls.from_arrays(wl, fw, name, good=good, source="from a cube's coordinates")


# --------------------------------------------------------------------------- built-ins

_ENMAP_SOURCE = (
    "EnMAP L2A band centres: published EnMAP band table (EnMAP_Spectral_Bands_update.xlsx, "
    "EnMAP ground segment / HySpecNet-11k), VNIR 91 bands 418.4-993.3 nm, SWIR 133 bands "
    "902.0-2445.3 nm (the deepest water-vapour bands are not part of the product). "
    "FWHM APPROXIMATED as 1.25 x the local band spacing of each detector (means 8.0 / "
    "12.4 nm vs. the mission's published ~8.1 / ~12.5 nm); exact per-scene FWHM are in "
    "each product's METADATA.XML. Shipped as specrecon/data/enmap_bands.csv.")


def _read_enmap_table() -> tuple[np.ndarray, np.ndarray]:
    text = resources.files("specrecon").joinpath("data", "enmap_bands.csv").read_text()
    rows = [ln.split(",") for ln in text.splitlines()
            if ln and not ln.startswith("#") and not ln.startswith("band,")]
    wl = np.array([float(r[2]) for r in rows])
    fw = np.array([float(r[3]) for r in rows])
    return wl, fw


def _sorted_set(name: str, wl: np.ndarray, fw: np.ndarray, source: str) -> BandSet:
    order = np.argsort(wl, kind="stable")
    return BandSet(name=name, wavelengths=wl[order], fwhm=fw[order], source=source,
                   file_index=order)


def _arad31() -> BandSet:
    wl = np.arange(400.0, 701.0, 10.0)
    return BandSet("arad31", wl, np.full(wl.shape, 10.0),
                   source="NTIRE 2022 spectral recovery challenge / ARAD-1K: 31 bands, "
                          "400-700 nm in 10 nm steps (FWHM taken as the 10 nm step).")


def _enmap224() -> BandSet:
    wl, fw = _read_enmap_table()
    return _sorted_set("enmap224", wl, fw, _ENMAP_SOURCE)


def _hyspecnet202() -> BandSet:
    wl, fw = _read_enmap_table()
    keep = np.setdiff1d(np.arange(wl.size), np.array(HYSPECNET_DROP))
    return _sorted_set(
        "hyspecnet202", wl[keep], fw[keep],
        "HySpecNet-11k: enmap224 without zero-based product bands 126-140 and 160-166 "
        "(water vapour), 202 bands; file_index refers to the 202-band product order. "
        + _ENMAP_SOURCE)


def _emit285() -> BandSet:
    wl = np.linspace(381.0, 2493.0, 285)
    good = np.ones(wl.shape, bool)
    for lo, hi in EMIT_WATER_VAPOUR_NM:
        good &= ~((wl >= lo) & (wl <= hi))
    return BandSet(
        "emit285", wl, np.full(wl.shape, 8.5), good=good,
        source="EMIT-like (approximation, not the EMIT calibration table): 285 evenly spaced "
               "bands 381-2493 nm (~7.4 nm), FWHM 8.5 nm, good_band False within "
               "1320-1450 nm and 1770-1960 nm (water vapour), after the EMIT L2A layout.")


_BUILTINS: dict[str, Callable[[], BandSet]] = {
    "arad31": _arad31,
    "enmap224": _enmap224,
    "hyspecnet202": _hyspecnet202,
    "emit285": _emit285,
}
_REGISTRY: LazyRegistry[BandSet] = LazyRegistry(
    "band-set", _BUILTINS,
    unknown_hint="pick a listed name, or use BandSet.from_arrays(...) / register_bandset(...)")


def list_bandsets() -> list[str]:
    """Names of the built-in and registered band sets.

    Examples
    --------
    >>> list_bandsets()[:2]
    ['arad31', 'emit285']
    """
    return _REGISTRY.names()


def get_bandset(name: str | BandSet) -> BandSet:
    """Look up a band set by name (built once, then cached).

    Parameters
    ----------
    name : str or BandSet
        A name from :func:`list_bandsets` (case-insensitive), or a BandSet,
        returned unchanged.

    Returns
    -------
    BandSet

    Raises
    ------
    UnknownSensorError
        If the name is not known; the message lists the known names.

    Examples
    --------
    >>> get_bandset("arad31").size
    31
    """
    if isinstance(name, BandSet):
        return name
    return _REGISTRY.get(name)


def register_bandset(bandset: BandSet, *, overwrite: bool = False) -> BandSet:
    """Make a band set available to :func:`get_bandset` under its name.

    Examples
    --------
    >>> bs = register_bandset(BandSet.from_arrays([500, 600], name="doc_two"), overwrite=True)
    >>> get_bandset("doc_two") is bs
    True
    """
    return _REGISTRY.register(bandset.name, bandset, overwrite=overwrite)

