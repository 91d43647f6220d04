"""Real measured spectra held out from training, read from installed PyPI packages.

Two held-out sets, each made of *whole sources* that no training library of
specrecon uses:

- ``"real-natural"``: surface reflectances of objects, 380-780 nm, from the data
  tables shipped in the `luxpy <https://pypi.org/project/luxpy/>`_ wheel:

  * ``tm30``: the IES TM-30-15 library of 4880 samples, its 2696-sample subset of
    unique spectra (paints, textiles, skin, natural objects, printed colours, ...);
  * ``munsell``: 1269 matte Munsell chips measured at the University of Eastern
    Finland (Parkkinen et al. 1989);
  * ``opstelten``: the 215 samples of Opstelten (1983).

  Spectra within a max. absolute difference of :data:`NEAR_DUPLICATE` (on the
  ``arad31`` grid) of any measured training spectrum
  (:func:`specrecon.datasets._spectra_library.measured_reflectances`) are dropped,
  so the set stays disjoint from training even where sources overlap (the CIE test
  colour samples are Munsell chips).

- ``"real-satellite"``: the *measured* spectra of the `earthlib
  <https://pypi.org/project/earthlib/>`_ library (MIT), 400-2450 nm at 10 nm with
  the water-absorption gaps 1360-1450 and 1800-1950 nm removed: ICRAF-ISRIC soils
  and other bare ground, built materials (roofs, roads, paints, ...), dry
  vegetation (litter, bark, wood) and char. earthlib's 2000 vegetation canopies
  are PROSAIL *simulations* -- the model specrecon's satellite training data uses --
  and are left out unless ``include_simulated=True``.

Only the packages' data files are read (their code is never imported); nothing is
downloaded. Both packages are in the optional ``validation`` extra
(``pip install specrecon[validation]``).

Examples
--------
>>> import numpy as np
>>> s = HeldOutSet(values=np.full((2, 3), 0.5), wavelengths=np.array([400.0, 410.0, 420.0]),
...                names=("a", "b"), labels=("x", "y"), name="demo", source="doc")
>>> s.on_grid([405.0, 415.0], [10.0, 10.0]).shape
(2, 2)
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specrecon.errors import ConfigError, SpecReconError, format_message

__all__ = [
    "HELDOUT_SETS",
    "NEAR_DUPLICATE",
    "HeldOutSet",
    "MissingDataPackageError",
    "load_heldout",
    "natural_heldout",
    "package_data_dir",
    "satellite_heldout",
]

#: Held-out spectra closer than this (max. absolute difference, ``arad31`` grid)
#: to a training spectrum are dropped from ``real-natural``.
NEAR_DUPLICATE = 0.01

#: Held-out set name -> (PyPI package, short description).
HELDOUT_SETS: dict[str, tuple[str, str]] = {
    "real-natural": ("luxpy", ("measured object reflectances: IES TM-30 (unique 2696), "
                               "Munsell 1269 (UEF), Opstelten 215")),
    "real-satellite": ("earthlib", ("measured surface reflectances (earthlib): soil, built, dry "
                                    "vegetation, burned")),
}

_SAT_GAPS = ((1350.0, 1460.0), (1790.0, 1960.0))   # earthlib has no samples inside


class MissingDataPackageError(SpecReconError, ImportError):
    """A held-out data set needs a PyPI package that is not installed."""


@dataclass(frozen=True)
class HeldOutSet:
    """Labelled measured spectra on their native wavelength samples.

    Attributes
    ----------
    values : numpy.ndarray
        ``(n, n_samples)`` float64 reflectance (NaN where not measured).
    wavelengths : numpy.ndarray
        Sample wavelengths (nm), increasing.
    names : tuple of str
        One identifier per spectrum (``"<source>:<id>"``).
    labels : tuple of str
        One class per spectrum (source for ``real-natural``, surface class for
        ``real-satellite``).
    name : str
        Set name (``"real-natural"`` or ``"real-satellite"``).
    source : str
        Provenance in words.
    gaps : tuple of (float, float)
        Open wavelength intervals without measurements.
    """

    values: np.ndarray
    wavelengths: np.ndarray
    names: tuple[str, ...]
    labels: tuple[str, ...]
    name: str
    source: str
    gaps: tuple[tuple[float, float], ...] = ()

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def classes(self) -> list[str]:
        """Sorted distinct labels."""
        return sorted(set(self.labels))

    def subset(self, index: Any) -> HeldOutSet:
        """The spectra at ``index`` (integer array or boolean mask)."""
        idx = np.arange(len(self))[index]
        return HeldOutSet(self.values[idx], self.wavelengths, tuple(self.names[i] for i in idx),
                          tuple(self.labels[i] for i in idx), self.name, self.source, self.gaps)

    def valid_bands(self, wavelengths: Any, fwhm: Any) -> np.ndarray:
        """Bands of a grid fully covered by measurements (inside the range, off the gaps).

        Examples
        --------
        >>> s = HeldOutSet(np.ones((1, 3)), np.array([400.0, 500.0, 600.0]), ("a",), ("x",),
        ...                "demo", "doc", gaps=((500.0, 600.0),))
        >>> s.valid_bands([450.0, 550.0, 650.0], [10.0, 10.0, 10.0]).tolist()
        [True, False, False]
        """
        c = np.asarray(wavelengths, "float64")
        half = 1.5 * np.asarray(fwhm, "float64")
        lo, hi = c - half, c + half
        ok = (lo >= self.wavelengths[0] - 5.0) & (hi <= self.wavelengths[-1] + 5.0)
        for g0, g1 in self.gaps:
            ok &= (hi <= g0 + 5.0) | (lo >= g1 - 5.0)
        return ok

    def on_grid(self, wavelengths: Any, fwhm: Any) -> np.ndarray:
        """Band-averaged ``(n, len(wavelengths))`` spectra (Gaussian band responses).

        Bands outside :meth:`valid_bands` hold interpolated (not measured) values;
        score only the valid ones.
        """
        from specrecon.datasets._spectra_library import band_average

        centres = np.asarray(wavelengths, "float64")
        fw = np.asarray(fwhm, "float64")
        lo = np.floor(min(centres.min() - 1.5 * fw.max(), self.wavelengths[0]))
        hi = np.ceil(max(centres.max() + 1.5 * fw.max(), self.wavelengths[-1]))
        grid = np.arange(lo, hi + 1.0)
        fine = np.empty((len(self), grid.size))
        for i, row in enumerate(self.values):
            ok = np.isfinite(row)
            fine[i] = np.interp(grid, self.wavelengths[ok], row[ok])
        return band_average(fine, grid, centres, fw)


def package_data_dir(package: str, *parts: str) -> Path:
    """The folder of an installed package's data files, without importing the package.

    Raises
    ------
    MissingDataPackageError
        If the package is not installed.

    Examples
    --------
    >>> package_data_dir("specrecon", "weights").name
    'weights'
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataPackageError(format_message(
            f"the PyPI package {package!r} installed (it ships the held-out spectra)",
            "it is not installed",
            f"pip install {package}   (or: pip install 'specrecon[validation]')"))
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.exists():
        raise MissingDataPackageError(format_message(
            f"{path} inside the installed {package!r}", "no such file or folder",
            f"install a version of {package} that ships it: pip install -U {package}"))
    return path


def _read_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """luxpy ``.dat`` table: first column wavelength, one column per spectrum."""
    table = np.loadtxt(path, delimiter=",", dtype="float64")
    return table[:, 0], table[:, 1:].T


@functools.lru_cache(maxsize=2)
def _natural_raw() -> HeldOutSet:
    root = package_data_dir("luxpy", "data", "rfls")
    rows: list[np.ndarray] = []
    names: list[str] = []
    labels: list[str] = []
    grid = np.arange(380.0, 781.0)

    tm = np.load(root / "IESTM30_15_R4880.npz")["_IESTM30_R4880"]
    unique = np.loadtxt(root / "IESTM30-R4880-subset-with-unique-rfls--2696.dat").astype(int)
    wl, spectra = tm[0], tm[1:]
    for i in unique:
        rows.append(np.interp(grid, wl, spectra[i]))
        names.append(f"tm30:{int(i)}")
        labels.append("tm30")
    for label, fname in (("munsell", "Munsell1269.dat"), ("opstelten", "Opstelten1983_215.dat")):
        wl, spectra = _read_table(root / fname)
        for i, s in enumerate(spectra):
            rows.append(np.interp(grid, wl, s))
            names.append(f"{label}:{i}")
            labels.append(label)
    values = np.clip(np.asarray(rows), 0.0, 1.0)
    return HeldOutSet(values, grid, tuple(names), tuple(labels), "real-natural",
                      "luxpy data tables: " + HELDOUT_SETS["real-natural"][1])


@functools.lru_cache(maxsize=2)
def natural_heldout() -> HeldOutSet:
    """The ``real-natural`` held-out set (see the module notes), near-duplicates removed.

    Returns
    -------
    HeldOutSet
        About 4,150 spectra at 1 nm, 380-780 nm; labels ``tm30``, ``munsell``,
        ``opstelten``.

    Raises
    ------
    MissingDataPackageError
        If luxpy is not installed.
    """
    from specrecon.datasets._spectra_library import measured_reflectances
    from specrecon.spectral import get_bandset

    raw = _natural_raw()
    bs = get_bandset("arad31")
    # the measured training *sources* (not derived training spectra), so that the
    # held-out set does not change when the training library grows
    train = measured_reflectances(tuple(bs.wavelengths.tolist()), tuple(bs.fwhm.tolist()))
    held = raw.on_grid(train.wavelengths, train.fwhm)
    tv = np.asarray(train.values, "float64")
    dist = np.empty(len(raw))
    for i in range(0, len(raw), 512):
        block = held[i:i + 512]
        dist[i:i + 512] = np.abs(block[:, None, :] - tv[None]).max(-1).min(-1)
    return raw.subset(dist >= NEAR_DUPLICATE)


def _satellite_class(level1: str, level2: str, level3: str) -> str:
    if level1 == "impervious":
        return "built"
    return {"bare": "soil", "npv": "dry-vegetation", "burned": "burned",
            "vegetation": "vegetation-simulated"}.get(level2, level2)


@functools.lru_cache(maxsize=4)
def satellite_heldout(include_simulated: bool = False) -> HeldOutSet:
    """The ``real-satellite`` held-out set: earthlib's measured spectra.

    Parameters
    ----------
    include_simulated : bool
        Also return earthlib's 2000 PROSAIL vegetation canopies (label
        ``vegetation-simulated``); they are simulations, not measurements.

    Returns
    -------
    HeldOutSet
        5261 measured spectra (10 nm, 400-2450 nm, two gaps); labels ``soil``,
        ``built``, ``dry-vegetation``, ``burned``.

    Raises
    ------
    MissingDataPackageError
        If earthlib is not installed.
    """
    root = package_data_dir("earthlib", "data")
    header = (root / "spectra.sli.hdr").read_text(encoding="utf-8")

    def field(key: str) -> str:
        m = re.search(rf"^{key}\s*=\s*(\{{[^}}]*\}}|[^\n]*)", header, re.MULTILINE)
        if m is None:
            raise MissingDataPackageError(format_message(
                f"'{key}' in earthlib's spectra.sli.hdr", "missing",
                "install earthlib 1.1 or later"))
        return m.group(1).strip("{} \n")

    n, nb = int(field("lines")), int(field("samples"))
    wl = np.array([float(x) for x in field("wavelength").split(",")])
    if field("wavelength units").lower().startswith("micro"):
        wl = wl * 1000.0
    dtype = {"4": "f4", "5": "f8"}[field("data type")]
    order = "<" if field("byte order") == "0" else ">"
    data = np.fromfile(root / "spectra.sli", dtype=order + dtype).reshape(n, nb).astype("float64")
    with open(root / "spectra.csv", newline="", encoding="utf-8") as fh:
        meta = list(csv.DictReader(fh))
    if len(meta) != n:
        raise MissingDataPackageError(format_message(
            f"{n} rows in earthlib's spectra.csv", f"{len(meta)}", "reinstall earthlib"))
    keep = [i for i, r in enumerate(meta) if include_simulated or r["LEVEL_4"] == "measured"]
    labels = tuple(_satellite_class(meta[i]["LEVEL_1"], meta[i]["LEVEL_2"], meta[i]["LEVEL_3"])
                   for i in keep)
    names = tuple(f"{meta[i]['SOURCE']}:{meta[i]['NAME']}" for i in keep)
    return HeldOutSet(np.clip(data[keep], 0.0, None), wl, names, labels, "real-satellite",
                      "earthlib data files: " + HELDOUT_SETS["real-satellite"][1], _SAT_GAPS)


def load_heldout(name: str) -> HeldOutSet:
    """A held-out set by name: ``"real-natural"`` or ``"real-satellite"``.

    Raises
    ------
    ConfigError
        For an unknown name.
    MissingDataPackageError
        If the set's package is not installed.
    """
    if name == "real-natural":
        return natural_heldout()
    if name == "real-satellite":
        return satellite_heldout()
    raise ConfigError(format_message(f"a held-out set in {sorted(HELDOUT_SETS)}", repr(name),
                                     "pick one of them"))
