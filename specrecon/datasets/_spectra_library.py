"""Spectral libraries behind the synthetic scenes of :mod:`specrecon.datasets.synthetic`.

Two libraries live here:

- :func:`measured_reflectances`: real, measured reflectance spectra shipped with
  colour-science (ColorChecker charts, the 190-patch RAW-to-ACES training set,
  the preferred-memory-colour chart, CIE and NIST CQS test colour samples),
  band-averaged onto a cube's band grid. They feed the "natural" scenes.
- :func:`satellite_library`: surface reflectances for the "satellite" scenes:
  vegetation canopies simulated with PROSAIL (PROSPECT-D leaf model + 4SAIL canopy
  model), the two soil spectra PROSAIL ships, and *parametric* (not measured)
  spectra for water, asphalt, concrete, roof tiles, metal and bitumen roofs.

Everything here is numpy only; colour-science and prosail are imported inside
the functions that need them. Results are cached in memory (never on disk).

Examples
--------
>>> import numpy as np
>>> wl = np.arange(400.0, 701.0, 10.0)
>>> lib = measured_reflectances(tuple(wl), tuple(np.full(31, 10.0)))
>>> lib.values.shape[1], bool(lib.values.min() >= 0)
(31, True)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from specrecon._compat import import_colour
from specrecon.errors import UnknownSensorError, format_message

__all__ = [
    "DAYLIGHT_CCT_RANGE",
    "DAYLIGHT_ILLUMINANTS",
    "REAL_ILLUMINANTS",
    "SpectralLibrary",
    "band_average",
    "daylight_spectrum",
    "derived_reflectances",
    "illuminant_spectrum",
    "measured_reflectances",
    "measured_sources",
    "satellite_library",
]

#: CIE / ISO illuminants with measured or standardised (not synthetic) SPDs that
#: :func:`illuminant_spectrum` accepts for random choice: daylight, tungsten,
#: fluorescent and LED sources. ``E`` (equal energy) and the high-pressure lamps
#: (``HP*``, near-zero emission over parts of 400-700 nm) are left out.
REAL_ILLUMINANTS: tuple[str, ...] = (
    "D50", "D55", "D65", "D75", "A",
    "FL2", "FL7", "FL11", "FL3.8", "FL3.15",
    "LED-B1", "LED-B3", "LED-B5", "LED-BH1", "LED-V1",
)

#: CIE daylight illuminants: the outdoor-light subset of :data:`REAL_ILLUMINANTS`,
#: closest to ARAD-1K's mostly outdoor scenes (the shipped natural model trains on these).
DAYLIGHT_ILLUMINANTS: tuple[str, ...] = ("D50", "D55", "D65", "D75")

#: Correlated colour temperatures (K) of the CIE D-series daylights drawn for the
#: ``"daylight"`` illuminant token: overcast / low sun (4000 K) to open shade / north
#: sky (12000 K); drawn uniformly in reciprocal temperature (mired), as daylight
#: measurements cluster near 5000-7000 K.
DAYLIGHT_CCT_RANGE: tuple[float, float] = (4000.0, 12000.0)

# The measured reflectance sets taken from colour-science: (label prefix, loader key).
_MEASURED_SETS: tuple[tuple[str, str], ...] = (
    ("rawtoaces190", "RAW to ACES v1 190 patches"),
    ("colorchecker_babel", "BabelColor Average"),
    ("colorchecker_ohta", "ColorChecker N Ohta"),
    ("pmc", "PMC"),
    ("tcs_cie1995", "CIE 1995"),
    ("tcs_cie2024", "CIE 2024"),
    ("cqs_vs", "NIST CQS 9.0"),
)


@dataclass(frozen=True)
class SpectralLibrary:
    """A table of spectra on one band grid.

    Attributes
    ----------
    values : numpy.ndarray
        ``(n_spectra, n_bands)`` float32.
    names : tuple of str
        One label per spectrum (``"<set>:<sample>"``).
    wavelengths, fwhm : numpy.ndarray
        The band grid (nm).
    groups : dict
        Named index arrays into ``values`` (e.g. ``"crop0"`` -> LAI x Cab grid).
    source : str
        Provenance in words.
    """

    values: np.ndarray
    names: tuple[str, ...]
    wavelengths: np.ndarray
    fwhm: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""


def band_average(values: np.ndarray, wl_in: np.ndarray, centres: np.ndarray,
                 fwhm: np.ndarray) -> np.ndarray:
    """Average finely sampled spectra into bands with Gaussian responses.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n, len(wl_in))`` spectra sampled at ``wl_in`` (regular, e.g. 1 nm).
    wl_in : numpy.ndarray
        Sample wavelengths (nm).
    centres, fwhm : numpy.ndarray
        Band centres and full widths at half maximum (nm).

    Returns
    -------
    numpy.ndarray
        ``(n, len(centres))`` float64 band values; each band response is a
        Gaussian truncated at +-3 sigma and normalised to unit sum, so a flat
        spectrum stays flat.

    Examples
    --------
    >>> wl = np.arange(400.0, 501.0)
    >>> out = band_average(np.ones((1, wl.size)), wl, np.array([450.0]), np.array([10.0]))
    >>> out.shape, round(float(out[0, 0]), 12)
    ((1, 1), 1.0)
    """
    sigma = np.maximum(np.asarray(fwhm, "float64"), 1e-6) / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    d = (wl_in[None, :] - np.asarray(centres, "float64")[:, None]) / sigma[:, None]
    w = np.where(np.abs(d) <= 3.0, np.exp(-0.5 * d * d), 0.0)
    # a band narrower than the sampling still gets its nearest sample
    nearest = np.argmin(np.abs(d), axis=1)
    w[np.arange(w.shape[0]), nearest] = np.maximum(w[np.arange(w.shape[0]), nearest], 1e-12)
    w /= w.sum(axis=1, keepdims=True)
    return np.asarray(values, "float64") @ w.T


def _to_1nm(wl: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Linear interpolation onto ``grid``, holding end values outside the range."""
    return np.interp(grid, wl, values)


def _grid_for(centres: np.ndarray, fwhm: np.ndarray) -> np.ndarray:
    lo = np.floor(centres.min() - 1.5 * fwhm.max())
    hi = np.ceil(centres.max() + 1.5 * fwhm.max())
    return np.arange(lo, hi + 1.0, 1.0)


def _measured_sds() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, wavelengths, reflectance) for every measured sample colour-science ships."""
    import_colour()
    from colour.characterisation import SDS_COLOURCHECKERS, read_training_data_rawtoaces_v1
    from colour.quality import SDS_TCS, SDS_VS

    out: list[tuple[str, np.ndarray, np.ndarray]] = []
    training = read_training_data_rawtoaces_v1()
    wl = np.asarray(training.wavelengths, "float64")
    vals = np.asarray(training.values, "float64")
    for i, label in enumerate(training.labels):
        out.append((f"rawtoaces190:{label}", wl, vals[:, i]))
    for prefix, key in _MEASURED_SETS[1:]:
        sds = (SDS_COLOURCHECKERS.get(key) or SDS_TCS.get(key) or SDS_VS.get(key))
        for name, sd in sds.items():
            out.append((f"{prefix}:{name}", np.asarray(sd.wavelengths, "float64"),
                        np.asarray(sd.values, "float64")))
    return out


@functools.lru_cache(maxsize=8)
def measured_reflectances(wavelengths: tuple[float, ...],
                          fwhm: tuple[float, ...]) -> SpectralLibrary:
    """Measured reflectance spectra from colour-science on a band grid.

    Sources (all measured; ~320 spectra): the RAW-to-ACES v1 190-patch training
    set, ColorChecker Classic (BabelColor average of 30 charts, and Ohta 1997),
    the preferred-memory-colour (PMC) chart, the CIE 1995 / CIE 2024 test colour
    samples and the NIST CQS 9.0 samples. Values are clipped to [0, 1] (the
    190-patch set contains -1e-17 style round-off).

    Parameters
    ----------
    wavelengths, fwhm : tuple of float
        Band grid (tuples so that the result can be cached).

    Returns
    -------
    SpectralLibrary
        ``values`` of shape ``(n_samples, n_bands)``.

    Examples
    --------
    >>> wl = tuple(np.arange(400.0, 701.0, 10.0))
    >>> lib = measured_reflectances(wl, (10.0,) * 31)
    >>> sum(n.startswith("rawtoaces190:") for n in lib.names)
    190
    """
    centres = np.asarray(wavelengths, "float64")
    fw = np.asarray(fwhm, "float64")
    grid = _grid_for(centres, fw)
    names, rows = [], []
    for label, wl, vals in _measured_sds():
        names.append(label)
        rows.append(_to_1nm(wl, vals, grid))
    values = np.clip(band_average(np.asarray(rows), grid, centres, fw), 0.0, 1.0)
    return SpectralLibrary(values=values.astype("float32"), names=tuple(names),
                           wavelengths=centres, fwhm=fw,
                           source="colour-science measured reflectances: RAW to ACES v1 190 "
                                  "patches, ColorChecker (BabelColor avg., Ohta), PMC, "
                                  "CIE 1995/2024 TCS, NIST CQS 9.0")


@functools.lru_cache(maxsize=64)
def illuminant_spectrum(name: str, wavelengths: tuple[float, ...],
                        fwhm: tuple[float, ...]) -> np.ndarray:
    """A CIE illuminant's SPD on a band grid, scaled to a maximum of 1.

    Parameters
    ----------
    name : str
        Key of ``colour.SDS_ILLUMINANTS`` (e.g. ``"D65"``, ``"A"``, ``"FL11"``,
        ``"LED-B3"``).
    wavelengths, fwhm : tuple of float
        Band grid.

    Returns
    -------
    numpy.ndarray
        float32 ``(n_bands,)`` with maximum 1.

    Raises
    ------
    UnknownSensorError
        If colour-science does not know the illuminant.

    Examples
    --------
    >>> s = illuminant_spectrum("A", tuple(np.arange(400.0, 701.0, 10.0)), (10.0,) * 31)
    >>> float(s.max()), bool(s[0] < s[-1])
    (1.0, True)
    """
    import_colour()
    from colour import SDS_ILLUMINANTS

    if name not in SDS_ILLUMINANTS:
        raise UnknownSensorError(format_message(
            "a CIE illuminant known to colour-science", repr(name),
            f"use one of {', '.join(REAL_ILLUMINANTS)} (or any key of colour.SDS_ILLUMINANTS)"))
    sd = SDS_ILLUMINANTS[name]
    centres = np.asarray(wavelengths, "float64")
    fw = np.asarray(fwhm, "float64")
    grid = _grid_for(centres, fw)
    spd = _to_1nm(np.asarray(sd.wavelengths, "float64"), np.asarray(sd.values, "float64"), grid)
    band = band_average(np.clip(spd, 0.0, None)[None, :], grid, centres, fw)[0]
    return (band / band.max()).astype("float32")


def measured_sources() -> tuple[str, ...]:
    """Names of the measured reflectance sources (the ``"<set>"`` part of the labels).

    Returns
    -------
    tuple of str
        E.g. ``("rawtoaces190", "colorchecker_babel", ...)``; pass some of them as
        ``exclude_sources`` to :func:`specrecon.datasets.synthetic.natural_scene` to
        keep them out of training (held-out validation).

    Examples
    --------
    >>> "pmc" in measured_sources()
    True
    """
    return tuple(prefix for prefix, _ in _MEASURED_SETS)


@functools.lru_cache(maxsize=256)
def _daylight_cached(cct: float, wavelengths: tuple[float, ...],
                     fwhm: tuple[float, ...]) -> np.ndarray:
    import_colour()
    from colour import sd_CIE_illuminant_D_series
    from colour.temperature import CCT_to_xy_CIE_D

    # CIE D-series chromaticity of the nominal temperature (1.4388 / 1.4380: the
    # revised second radiation constant, as for D65 = 6504 K)
    xy = CCT_to_xy_CIE_D(float(cct) * 1.4388 / 1.4380)
    sd = sd_CIE_illuminant_D_series(xy)
    centres = np.asarray(wavelengths, "float64")
    fw = np.asarray(fwhm, "float64")
    grid = _grid_for(centres, fw)
    spd = _to_1nm(np.asarray(sd.wavelengths, "float64"), np.asarray(sd.values, "float64"), grid)
    band = band_average(np.clip(spd, 0.0, None)[None, :], grid, centres, fw)[0]
    return (band / band.max()).astype("float32")


def daylight_spectrum(cct: float, wavelengths: tuple[float, ...],
                      fwhm: tuple[float, ...]) -> np.ndarray:
    """The CIE D-series daylight of a correlated colour temperature, scaled to a maximum of 1.

    Parameters
    ----------
    cct : float
        Nominal correlated colour temperature in kelvin (4000-25000, the range of
        the CIE daylight locus); rounded to 10 K (the spectra are cached).
    wavelengths, fwhm : tuple of float
        Band grid.

    Returns
    -------
    numpy.ndarray
        float32 ``(n_bands,)`` with maximum 1.

    Raises
    ------
    ConfigError
        If ``cct`` lies outside 4000-25000 K.

    Examples
    --------
    >>> wl, fw = tuple(np.arange(400.0, 701.0, 10.0)), (10.0,) * 31
    >>> d65 = illuminant_spectrum("D65", wl, fw)
    >>> bool(np.abs(daylight_spectrum(6500.0, wl, fw) - d65).max() < 0.01)
    True
    >>> warm, cold = daylight_spectrum(4000.0, wl, fw), daylight_spectrum(12000.0, wl, fw)
    >>> bool(warm[0] < cold[0])   # less blue in warm daylight
    True
    """
    from specrecon.errors import ConfigError

    if not 4000.0 <= float(cct) <= 25000.0:
        raise ConfigError(format_message(
            "a daylight correlated colour temperature in 4000-25000 K", repr(cct),
            "use e.g. 6500 (D65); CIE D-series daylight is defined on 4000-25000 K"))
    return _daylight_cached(round(float(cct) / 10.0) * 10.0, tuple(wavelengths), tuple(fwhm))


def _fit_in_range(base: np.ndarray, delta: np.ndarray, lo: np.ndarray | float = 0.0,
                  hi: float = 1.0) -> np.ndarray:
    """Largest ``t`` in [0, 1] per row with ``base + t * delta`` inside [lo, hi]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(delta > 0, (hi - base) / delta, np.inf)
        down = np.where(delta < 0, (base - lo) / -delta, np.inf)
    return np.clip(np.minimum(up, down).min(axis=1), 0.0, 1.0)


def derived_reflectances(base: np.ndarray, n: int, seed: int, *, n_components: int = 6,
                         jitter: float = 0.35) -> np.ndarray:
    """New plausible reflectances derived from measured ones: mixtures and basis perturbations.

    Three kinds, in equal shares (every draw from ``seed``):

    - **additive mixtures** of two or three spectra with Dirichlet(1) weights (a
      pixel covering several materials side by side);
    - **subtractive mixtures** of two spectra, a weighted geometric mean
      ``exp(w log r1 + (1 - w) log r2)`` (pigments or dyes in one layer; lies
      outside the convex hull of the measured set);
    - **basis perturbations**: a measured spectrum plus a random combination of the
      first ``n_components`` principal components of ``base`` (standard deviation
      ``jitter`` x each component's own spread).

    Half of the mixtures also receive a basis perturbation. Perturbations are
    scaled down (never clipped) where they would leave the measured range -- from
    the darkest measured value of each band up to 1 -- so every result is as smooth
    as the principal components and no darker than a measured surface in any band
    (near-zero reflectance would dominate the MRAE training loss).

    Parameters
    ----------
    base : numpy.ndarray
        ``(m, bands)`` measured reflectances in [0, 1], ``m >= 3``.
    n : int
        Number of new spectra.
    seed : int
        Seed (the output is a pure function of ``base``, ``n`` and ``seed``).
    n_components : int
        Principal components used for perturbations (the leading ones are smooth).
    jitter : float
        Perturbation size in units of each component's standard deviation.

    Returns
    -------
    numpy.ndarray
        float32 ``(n, bands)`` in [0, 1].

    Examples
    --------
    >>> wl = tuple(np.arange(400.0, 701.0, 10.0))
    >>> lib = measured_reflectances(wl, (10.0,) * 31).values
    >>> new = derived_reflectances(lib, 100, seed=0)
    >>> new.shape, bool(new.min() >= 0.0 and new.max() <= 1.0)
    ((100, 31), True)
    """
    base = np.asarray(base, "float64")
    m = base.shape[0]
    n = int(n)
    if n <= 0:
        return np.zeros((0, base.shape[1]), "float32")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xDE21]))
    mean = base.mean(axis=0)
    _, sv, vt = np.linalg.svd(base - mean, full_matrices=False)
    k = int(min(n_components, vt.shape[0]))
    comps = vt[:k] * (sv[:k, None] / np.sqrt(m))          # components scaled by their spread
    kind = rng.integers(0, 3, n)
    out = np.empty((n, base.shape[1]))
    # additive mixtures of 2-3 spectra
    idx = rng.integers(0, m, (n, 3))
    w = rng.dirichlet(np.ones(3), n)
    w[rng.random(n) < 0.5, 2] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    additive = np.einsum("nk,nkb->nb", w, base[idx])
    # subtractive (geometric) mixtures of 2 spectra
    t = rng.uniform(0.2, 0.8, (n, 1))
    logb = np.log(np.maximum(base, 1e-3))
    subtractive = np.exp(t * logb[idx[:, 0]] + (1.0 - t) * logb[idx[:, 1]])
    out[:] = np.where((kind == 0)[:, None], additive,
                      np.where((kind == 1)[:, None], subtractive, base[idx[:, 0]]))
    out = np.clip(out, 0.0, 1.0)
    # basis perturbations: always for kind 2, for half of the mixtures
    perturb = (kind == 2) | (rng.random(n) < 0.5)
    delta = (rng.standard_normal((n, k)) * jitter) @ comps
    floor = base.min(axis=0)
    out = np.maximum(out, floor)     # geometric means of values >= floor stay above it
    scale = np.where(perturb, _fit_in_range(out, delta, floor), 0.0)
    out = out + scale[:, None] * delta
    return np.clip(out, floor, 1.0).astype("float32")


# --------------------------------------------------------------------------- satellite

#: LAI levels (m2/m2) of every vegetation grid; pixels interpolate between them.
LAI_LEVELS: np.ndarray = np.array([0.05, 0.4, 1.0, 1.8, 2.8, 4.0, 5.5, 7.0])
#: Chlorophyll multipliers of every vegetation grid (stressed .. healthy).
CAB_LEVELS: np.ndarray = np.array([0.35, 0.7, 1.05])

_PROSAIL_WL = np.arange(400.0, 2501.0)


def _parametric_materials(grid: np.ndarray) -> dict[str, np.ndarray]:
    """Smooth *parametric* spectra (1-nm grid) for materials PROSAIL does not cover.

    These are not measurements: they are hand-built curves whose levels and
    features follow the published shape of each material class (water: a
    green peak and strong NIR/SWIR absorption; asphalt: dark, slowly rising;
    concrete: bright, flat, carbonate dip near 2330 nm; clay tiles: red edge
    near 580 nm and an iron band near 900 nm; ...).
    """
    x = grid

    def gauss(c: float, w: float) -> np.ndarray:
        return np.exp(-0.5 * ((x - c) / w) ** 2)

    def sig(c: float, w: float) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x - c) / w))

    nir_absorb = np.exp(-np.clip(x - 690.0, 0.0, None) / 45.0)
    mats = {
        "water_clear": (0.012 + 0.03 * gauss(500.0, 70.0) + 0.008 * gauss(570.0, 40.0))
        * nir_absorb,
        "water_turbid": (0.02 + 0.06 * gauss(580.0, 80.0) + 0.025 * gauss(690.0, 45.0))
        * np.exp(-np.clip(x - 720.0, 0.0, None) / 60.0),
        "asphalt_new": 0.045 + 0.04 * (x - 400.0) / 2100.0 + 0.01 * sig(600.0, 80.0),
        "asphalt_aged": 0.08 + 0.09 * sig(650.0, 200.0) - 0.02 * gauss(2300.0, 60.0),
        "concrete": 0.2 + 0.15 * sig(520.0, 80.0) + 0.05 * sig(1200.0, 300.0)
        - 0.06 * sig(1900.0, 150.0) - 0.06 * gauss(2335.0, 25.0) - 0.03 * gauss(1415.0, 30.0),
        "clay_tile": 0.06 + 0.28 * sig(590.0, 22.0) - 0.05 * gauss(900.0, 80.0)
        + 0.12 * sig(1200.0, 250.0) - 0.05 * gauss(1930.0, 60.0),
        "metal_roof": 0.36 - 0.05 * (x - 400.0) / 2100.0 + 0.02 * gauss(550.0, 100.0),
        "bitumen_roof": 0.05 + 0.02 * sig(900.0, 300.0),
        "bright_sand": 0.18 + 0.3 * sig(560.0, 70.0) + 0.06 * sig(1300.0, 300.0)
        - 0.08 * gauss(1930.0, 70.0) - 0.04 * gauss(2200.0, 40.0),
    }
    return {k: np.clip(v, 0.0, 1.0) for k, v in mats.items()}


def _soil_spectra() -> tuple[np.ndarray, np.ndarray]:
    """PROSAIL's dry and wet soil reflectances, 400-2500 nm at 1 nm."""
    import prosail

    soil = prosail.spectral_lib.soil
    return np.asarray(soil.rsoil1, "float64"), np.asarray(soil.rsoil2, "float64")


def _vegetation_types(rng: np.random.Generator) -> list[dict[str, float]]:
    """Leaf/canopy parameters of the vegetation types of one scene library."""
    types: list[dict[str, float]] = []
    for _ in range(6):  # crops; one in three may be senescing (brown pigments)
        senescent = rng.random() < 0.3
        types.append({
            "kind": 0.0, "n": rng.uniform(1.2, 2.0), "cab": rng.uniform(30.0, 70.0),
            "car_ratio": rng.uniform(0.15, 0.3), "cbrown": rng.uniform(0.4, 1.2) if senescent
            else rng.uniform(0.0, 0.15), "cw": rng.uniform(0.006, 0.03),
            "cm": rng.uniform(0.003, 0.01), "ant": rng.uniform(0.0, 3.0),
            "lidfa": rng.uniform(35.0, 70.0), "hspot": rng.uniform(0.02, 0.3),
            "rsoil": rng.uniform(0.6, 1.3), "psoil": rng.uniform(0.1, 0.9)})
    # grassland / meadow
    types.append({"kind": 1.0, "n": rng.uniform(1.4, 1.8), "cab": rng.uniform(25.0, 45.0),
                      "car_ratio": 0.22, "cbrown": rng.uniform(0.1, 0.5),
                      "cw": rng.uniform(0.008, 0.015),
                      "cm": rng.uniform(0.004, 0.008), "ant": 1.0, "lidfa": rng.uniform(55.0, 70.0),
                      "hspot": 0.05, "rsoil": rng.uniform(0.7, 1.1),
                      "psoil": rng.uniform(0.3, 0.8)})
    # broadleaf and needleleaf-like forest (dense, erectophile/planophile)
    types.append({"kind": 2.0, "n": rng.uniform(1.6, 2.0), "cab": rng.uniform(40.0, 60.0),
                      "car_ratio": 0.25, "cbrown": 0.05, "cw": rng.uniform(0.01, 0.02),
                      "cm": rng.uniform(0.006, 0.012), "ant": 2.0, "lidfa": rng.uniform(40.0, 55.0),
                      "hspot": rng.uniform(0.2, 0.5), "rsoil": 0.5, "psoil": 0.3})
    types.append({"kind": 3.0, "n": rng.uniform(2.0, 2.6), "cab": rng.uniform(35.0, 55.0),
                      "car_ratio": 0.25, "cbrown": 0.1, "cw": rng.uniform(0.015, 0.03),
                      "cm": rng.uniform(0.01, 0.02), "ant": 2.0, "lidfa": rng.uniform(60.0, 75.0),
                      "hspot": rng.uniform(0.3, 0.6), "rsoil": 0.4, "psoil": 0.2})
    return types


@functools.lru_cache(maxsize=32)
def satellite_library(seed: int, wavelengths: tuple[float, ...],
                      fwhm: tuple[float, ...], extended: bool = False,
                      soil_shapes: bool = False) -> SpectralLibrary:
    """The surface-reflectance library of one satellite scene seed.

    Per seed: sun/view geometry (sun zenith 20-55 deg, view zenith 0-8 deg,
    relative azimuth 0-180 deg); six crop types, a grassland and two forest types
    with leaf (N, Cab, Car, Cbrown, Cw, Cm, anthocyanins) and canopy (leaf angle,
    hotspot, soil brightness/moisture) parameters drawn from realistic ranges;
    each is run through PROSAIL (PROSPECT-D + 4SAIL, SDR) on an
    ``LAI_LEVELS x CAB_LEVELS`` grid (9 x 24 = 216 runs, ~0.2 s). Added: PROSAIL's
    dry and wet soils and the parametric materials of ``_parametric_materials``.

    With ``extended=True`` the library also holds three dry-vegetation types
    (PROSAIL with little chlorophyll and water and much brown pigment; ``veg9`` to
    ``veg11``, kind 4) and three seed-drawn variants of every *parametric* material
    of :data:`EXTENDED_MATERIALS` -- water from a bio-optical model (clear,
    sediment-laden, algal, humic, optically shallow), snow and ice from an
    asymptotic radiative-transfer model with the shape of ice absorption, soils and
    rocks with iron-oxide, clay, carbonate, gypsum and mafic absorption bands,
    painted / brick / photovoltaic / plastic urban surfaces, char and ash; groups
    ``"x:<material>"`` (e.g. ``"x:water_algal"``) hold their row indices. They
    follow published shapes; they are not measurements.

    Parameters
    ----------
    seed : int
        Scene seed.
    wavelengths, fwhm : tuple of float
        Band grid (within 400-2500 nm).
    extended : bool
        Add the extended surfaces (see above).
    soil_shapes : bool
        Add ``"soil_iron"``: PROSAIL's dry and wet soils times :func:`iron_oxide_factor`
        (two rows). Mixed with the plain soils in random proportions per parcel they
        give bare soils a continuum of visible slopes (iron-oxide-rich soils are much
        darker in the blue than PROSAIL's two soils).

    Returns
    -------
    SpectralLibrary
        ``groups``: ``"veg<k>"`` -> int array ``(len(LAI_LEVELS), len(CAB_LEVELS))``
        of row indices for vegetation type ``k`` (0-5 crops, 6 grass, 7-8 forest);
        single materials -> one-element arrays (``"soil_dry"``, ``"soil_wet"``,
        ``"water_clear"``, ...). ``groups["veg_kind"]`` holds each type's kind
        (0 crop, 1 grass, 2 broadleaf, 3 needleleaf).

    Examples
    --------
    >>> wl = np.linspace(420.0, 2450.0, 50)
    >>> lib = satellite_library(0, tuple(wl), tuple(np.full(50, 10.0)))
    >>> lib.values.shape[1], lib.groups["veg0"].shape
    (50, (8, 3))
    """
    import prosail

    centres = np.asarray(wavelengths, "float64")
    fw = np.asarray(fwhm, "float64")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5A7E]))
    tts = rng.uniform(20.0, 55.0)
    tto = rng.uniform(0.0, 8.0)
    psi = rng.uniform(0.0, 180.0)
    rows: list[np.ndarray] = []
    names: list[str] = []
    groups: dict[str, np.ndarray] = {}
    types = _vegetation_types(rng)
    if extended:
        types += _dry_vegetation_types(np.random.default_rng(
            np.random.SeedSequence([int(seed), 0xD12])))
    for k, p in enumerate(types):
        idx = np.empty((LAI_LEVELS.size, CAB_LEVELS.size), dtype="int64")
        for i, lai in enumerate(LAI_LEVELS):
            for j, cab_f in enumerate(CAB_LEVELS):
                cab = p["cab"] * cab_f
                # stressed leaves: less chlorophyll, more brown pigment
                cbrown = p["cbrown"] + (0.35 if cab_f < 0.5 else 0.0)
                r = prosail.run_prosail(
                    p["n"], cab, cab * p["car_ratio"], cbrown, p["cw"], p["cm"], float(lai),
                    p["lidfa"], p["hspot"], tts, tto, psi, ant=p["ant"],
                    prospect_version="D", typelidf=2, rsoil=p["rsoil"], psoil=p["psoil"])
                idx[i, j] = len(rows)
                rows.append(np.asarray(r, "float64"))
                names.append(f"prosail:veg{k}:lai={lai:g}:cab={cab:.1f}")
        groups[f"veg{k}"] = idx
    groups["veg_kind"] = np.array([p["kind"] for p in types])
    dry, wet = _soil_spectra()
    for name, spec in (("soil_dry", dry), ("soil_wet", wet)):
        groups[name] = np.array([len(rows)])
        rows.append(spec)
        names.append(f"prosail:{name}")
    for name, spec in _parametric_materials(_PROSAIL_WL).items():
        groups[name] = np.array([len(rows)])
        rows.append(spec)
        names.append(f"parametric:{name}")
    if extended:
        ext = _extended_materials(_PROSAIL_WL, seed)
        for name, spec in ext.items():
            key = "x:" + name.split(".")[0]
            groups[key] = np.append(groups.get(key, np.zeros(0, "int64")), len(rows))
            rows.append(spec)
            names.append(f"parametric:{name}")
    if soil_shapes:
        groups["soil_iron"] = np.array([len(rows), len(rows) + 1])
        f = iron_oxide_factor(_PROSAIL_WL)
        for name, spec in (("soil_dry", dry), ("soil_wet", wet)):
            rows.append(spec * f)
            names.append(f"prosail:{name}:iron-oxide")
    values = band_average(np.asarray(rows), _PROSAIL_WL, centres, fw)
    values = np.clip(values, 0.0, 1.0).astype("float32")
    return SpectralLibrary(
        values=values, names=tuple(names), wavelengths=centres, fwhm=fw, groups=groups,
        source=f"PROSAIL (PROSPECT-D + 4SAIL) canopies at sun zenith {tts:.1f} deg, view zenith "
               f"{tto:.1f} deg, relative azimuth {psi:.0f} deg; PROSAIL dry/wet soils; "
               "parametric water, asphalt, concrete, roof and sand spectra"
               + ("; PROSAIL dry vegetation; parametric (not measured) water types, snow/ice, "
                  "soils/rocks with mineral bands, urban materials, char/ash" if extended else "")
               + ("; PROSAIL soils with an iron-oxide visible slope" if soil_shapes else ""))


def iron_oxide_factor(wavelengths: np.ndarray, depth: float = 0.7, edge: float = 520.0,
                      width: float = 30.0) -> np.ndarray:
    """Multiplicative visible darkening of a soil by iron oxides (a smooth absorption edge).

    Hematite and goethite absorb strongly below ~550 nm (charge-transfer bands), which
    makes iron-rich soils red-brown with a steep visible slope; the factor is
    ``1 - depth * sigmoid((edge - wavelength) / width)``: about ``1 - depth`` in the blue,
    1 from ~600 nm on. A shape, not a measurement.

    Examples
    --------
    >>> iron_oxide_factor(np.array([400.0, 520.0, 700.0, 2000.0])).round(2).tolist()
    [0.31, 0.65, 1.0, 1.0]
    """
    wl = np.asarray(wavelengths, "float64")
    return 1.0 - depth / (1.0 + np.exp(-(edge - wl) / width))


# --------------------------------------------------------------------------- extended satellite
# Parametric spectra of the "extended" satellite surfaces. None of these is a
# measurement: each is a published *shape* (a model or a continuum with
# absorption bands at the published positions) whose parameters are drawn per
# scene seed. Wavelengths in nm on a 1-nm grid.

#: log10 of the imaginary refractive index of ice at knots (nm); an approximation
#: of the shape of the Warren & Brandt (2008) compilation (minimum in the blue,
#: bands near 1030, 1260, 1500 and 2000 nm), used by the snow model.
_ICE_LOG10K = np.array([
    (400, -11.0), (450, -10.5), (500, -9.7), (550, -9.4), (600, -8.9), (650, -8.5),
    (700, -8.0), (750, -7.8), (800, -7.1), (850, -6.9), (900, -6.4), (950, -6.3),
    (1000, -5.8), (1030, -5.66), (1100, -5.9), (1150, -5.6), (1200, -5.2), (1260, -4.9),
    (1300, -5.0), (1350, -4.8), (1400, -4.0), (1450, -3.4), (1500, -3.3), (1550, -3.25),
    (1600, -3.4), (1650, -3.5), (1700, -3.7), (1800, -3.9), (1850, -3.8), (1900, -3.3),
    (1950, -2.8), (2000, -2.8), (2050, -3.1), (2100, -3.5), (2200, -3.7), (2250, -3.7),
    (2300, -3.4), (2400, -3.0), (2500, -2.9)])

#: log10 of the absorption coefficient of pure water (1/m) at knots (nm), the shape
#: of Pope & Fry (1997) / Kou et al. (1993), used by the water model.
_WATER_LOG10A = np.array([
    (400, -2.2), (450, -1.97), (500, -1.6), (550, -1.25), (600, -0.6), (650, -0.46),
    (700, -0.22), (720, 0.0), (750, 0.42), (800, 0.3), (850, 0.63), (900, 0.8), (950, 1.47),
    (1000, 1.6), (1200, 2.0), (1450, 3.5), (1600, 2.9), (1950, 4.1), (2200, 2.3), (2500, 3.0)])


def _knots(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.interp(x, table[:, 0], table[:, 1])


def _water_reflectance(x: np.ndarray, chl: float, cdom: float, tss: float,
                       depth: float | None = None, bottom: np.ndarray | None = None) -> np.ndarray:
    """Water-leaving reflectance from a semi-analytical bio-optical model.

    Absorption ``a = a_water + a_phytoplankton(chl) + a_CDOM + a_particles(tss)``
    and backscattering ``bb = bb_water + bb_particles(tss)``; remote-sensing
    reflectance from Gordon et al. (1988) / Lee et al. (1999),
    ``rrs = 0.089 u + 0.125 u^2`` with ``u = bb / (a + bb)``, above-surface
    ``Rrs = 0.52 rrs / (1 - 1.7 rrs)`` and reflectance ``pi Rrs``. Phytoplankton
    absorption peaks at 440 and 675 nm (Bricaud-like ``chl^0.65`` scaling); CDOM and
    detritus decay exponentially from 440 nm. With ``depth`` (m) and a ``bottom``
    reflectance the optically shallow case ``R_deep (1 - e^{-2 K H}) + R_b e^{-2 K H}``
    (``K = a + bb``) is returned.
    """
    a_w = 10.0 ** _knots(_WATER_LOG10A, x)
    a_ph = 0.06 * chl ** 0.65 * (np.exp(-0.5 * ((x - 440.0) / 35.0) ** 2)
                                 + 0.55 * np.exp(-0.5 * ((x - 675.0) / 12.0) ** 2)
                                 + 0.12 * np.exp(-0.5 * ((x - 600.0) / 60.0) ** 2))
    a_g = cdom * np.exp(-0.015 * (x - 440.0))
    a_p = 0.03 * tss * np.exp(-0.011 * (x - 440.0))
    bb_w = 0.5 * 0.0038 * (400.0 / x) ** 4.32
    bb_p = 0.015 * tss * (550.0 / x) ** 0.7 + 0.004 * chl ** 0.62 * (550.0 / x)
    a = a_w + a_ph + a_g + a_p
    bb = bb_w + bb_p
    u = bb / (a + bb)
    rrs = 0.089 * u + 0.125 * u * u
    refl = np.pi * 0.52 * rrs / (1.0 - 1.7 * rrs)
    if depth is not None and bottom is not None:
        att = np.exp(-2.0 * (a + bb) * depth)
        refl = refl * (1.0 - att) + bottom * att
    return refl


def _snow_reflectance(x: np.ndarray, grain_mm: float, albedo: float, dirt: float) -> np.ndarray:
    """Snow / ice reflectance from the asymptotic radiative-transfer shape
    ``R = A exp(-b sqrt(alpha d))`` (Kokhanovsky & Zege 2004), ``alpha`` the ice
    absorption coefficient ``4 pi k / lambda``, ``d`` the grain size; ``dirt``
    (impurities) lowers the visible (most in the blue)."""
    k = 10.0 ** _knots(_ICE_LOG10K, x)
    alpha = 4.0 * np.pi * k / (x * 1e-9)
    a_vis = albedo * (1.0 - dirt * np.exp(-(x - 400.0) / 350.0))
    return a_vis * np.exp(-5.0 * np.sqrt(alpha * grain_mm * 1e-3))


def _gauss(x: np.ndarray, c: float, w: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - c) / w) ** 2)


def _sig(x: np.ndarray, c: float, w: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x - c) / w))


def _mineral_reflectance(x: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """A soil / rock spectrum: a smooth continuum times absorption bands at their
    published positions -- iron-oxide charge-transfer edge (500-600 nm) and crystal
    field band (hematite ~870, goethite ~920 nm), OH / water (1415, 1915 nm), Al-OH
    clay (2205 nm; kaolinite doublet with 2165 nm), carbonate (2340 nm, dolomite
    2320 nm, weak 2160 nm), gypsum (1450, 1750, 1940, 2215 nm), Fe2+ in mafic rock
    (~1000 nm) and organic matter (darkening, strongest in the blue)."""
    u = rng.uniform
    bright = {"soil": u(0.12, 0.55), "clay": u(0.3, 0.6), "iron": u(0.25, 0.5),
              "carbonate": u(0.4, 0.7), "gypsum": u(0.6, 0.8), "basalt": u(0.05, 0.12),
              "granite": u(0.25, 0.4), "salt": u(0.6, 0.85)}[kind]
    vis_frac = {"soil": u(0.2, 0.55), "clay": u(0.45, 0.75), "iron": u(0.12, 0.3),
                "carbonate": u(0.65, 0.9), "gypsum": u(0.75, 0.95), "basalt": u(0.7, 0.95),
                "granite": u(0.5, 0.75), "salt": u(0.8, 0.98)}[kind]
    rise = u(150.0, 450.0)
    cont = bright * (vis_frac + (1.0 - vis_frac) * (1.0 - np.exp(-(x - 400.0) / rise)))
    cont *= 1.0 - u(0.0, 0.25) * np.clip((x - 1300.0) / 1200.0, 0.0, 1.0)
    f = np.ones_like(x)
    iron = {"soil": u(0.0, 0.5), "clay": u(0.0, 0.3), "iron": u(0.5, 0.9)}.get(kind, u(0.0, 0.15))
    if iron > 0:
        edge = u(520.0, 580.0)
        f *= 1.0 - iron * 0.6 * (1.0 - _sig(x, edge, 22.0)) * (x < 800)
        f *= 1.0 - iron * u(0.1, 0.25) * _gauss(x, u(860.0, 930.0), u(60.0, 90.0))
    om = u(0.0, 0.45) if kind == "soil" else 0.0
    f *= 1.0 - om * np.exp(-(x - 400.0) / u(300.0, 700.0))
    water = u(0.03, 0.25) if kind not in ("basalt", "granite") else u(0.0, 0.06)
    f *= 1.0 - water * 0.6 * _gauss(x, 1415.0, 22.0)
    f *= 1.0 - water * _gauss(x, 1915.0, 35.0)
    clay = {"clay": u(0.1, 0.3), "soil": u(0.02, 0.15), "iron": u(0.02, 0.12)}.get(kind, 0.0)
    if clay:
        f *= 1.0 - clay * _gauss(x, u(2200.0, 2210.0), 22.0)
        if rng.random() < 0.5:     # kaolinite doublet
            f *= 1.0 - 0.6 * clay * _gauss(x, 2165.0, 14.0)
    carb = {"carbonate": u(0.15, 0.35), "soil": u(0.0, 0.08) if rng.random() < 0.3 else 0.0,
            "salt": u(0.0, 0.05)}.get(kind, 0.0)
    if carb:
        f *= 1.0 - carb * _gauss(x, u(2320.0, 2345.0), 28.0)
        f *= 1.0 - 0.25 * carb * _gauss(x, 2160.0, 25.0)
    if kind == "gypsum":
        for c, d in ((1450.0, 0.35), (1750.0, 0.15), (1940.0, 0.4), (2215.0, 0.2),
                     (1000.0, 0.06)):
            f *= 1.0 - d * u(0.7, 1.0) * _gauss(x, c, 25.0)
    if kind == "basalt":
        f *= 1.0 - u(0.05, 0.2) * _gauss(x, u(950.0, 1050.0), 120.0)
    return cont * f


def _urban_reflectance(x: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Built materials: painted roofs (TiO2 edge near 410 nm; C-H binder bands at
    1730 / 2310 nm), coloured paints, brick (iron features), photovoltaic panels
    (dark, anti-reflective blue), gravel, artificial turf (green without a red
    edge) and polyethylene film (1215 / 1730 / 2310 nm)."""
    u = rng.uniform
    ch = (1.0 - u(0.02, 0.08) * _gauss(x, 1730.0, 20.0)) * (1.0 - u(0.03, 0.1) * _gauss(x, 2310.0,
                                                                                       30.0))
    if kind == "white_paint":
        r = u(0.65, 0.85) * _sig(x, u(405.0, 420.0), 7.0) * (1.0 - u(0.1, 0.3)
                                                              * _sig(x, 1500.0, 300.0)) * ch
    elif kind == "red_paint":
        r = (u(0.04, 0.08) + u(0.3, 0.45) * _sig(x, u(585.0, 615.0), 18.0)) * ch
        r = np.where(x > 800, r * u(0.8, 1.2), r)
    elif kind == "green_paint":
        r = (u(0.04, 0.07) + u(0.06, 0.14) * _gauss(x, u(520.0, 550.0), 40.0)
             + u(0.15, 0.45) * _sig(x, u(700.0, 780.0), 30.0)) * ch
    elif kind == "blue_paint":
        r = (u(0.04, 0.07) + u(0.1, 0.2) * _gauss(x, u(450.0, 480.0), 45.0)
             + u(0.1, 0.4) * _sig(x, u(720.0, 800.0), 30.0)) * ch
    elif kind == "brick":
        r = (u(0.06, 0.1) + u(0.2, 0.3) * _sig(x, u(570.0, 600.0), 20.0)
             + u(0.05, 0.15) * _sig(x, 1100.0, 200.0)) * (1.0 - u(0.08, 0.15)
                                                          * _gauss(x, 880.0, 70.0))
        r *= (1.0 - 0.1 * _gauss(x, 1915.0, 35.0)) * (1.0 - 0.08 * _gauss(x, 2205.0, 20.0))
    elif kind == "solar_panel":
        r = (u(0.04, 0.07) + u(0.02, 0.05) * _gauss(x, u(430.0, 470.0), 30.0)
             + u(0.02, 0.08) * _sig(x, 1150.0, 60.0))
    elif kind == "gravel":
        r = u(0.15, 0.3) * (1.0 + u(0.0, 0.3) * np.clip((x - 400.0) / 1500.0, 0.0, 1.0))
        r *= (1.0 - u(0.0, 0.1) * _gauss(x, 2340.0, 30.0))
    elif kind == "artificial_turf":
        r = (u(0.03, 0.05) + u(0.05, 0.1) * _gauss(x, 540.0, 35.0)
             + u(0.12, 0.25) * _sig(x, u(700.0, 800.0), 40.0)) * ch * ch
    elif kind == "plastic_film":
        r = u(0.25, 0.5) * (1.0 - u(0.03, 0.08) * _gauss(x, 1215.0, 15.0)) * ch * ch
    else:  # pragma: no cover - internal
        raise ValueError(kind)
    return r


def _burned_reflectance(x: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Burned ground: char (black carbon, dark and slowly rising to the SWIR), white
    ash (bright, carbonate band at 2340 nm, weak water bands) and grey ash."""
    u = rng.uniform
    t = (x - 400.0) / 2100.0
    if kind == "char":
        return u(0.02, 0.045) + u(0.02, 0.08) * t
    if kind == "ash_white":
        r = u(0.25, 0.45) * (1.0 + u(0.0, 0.3) * np.clip(t * 3, 0, 1))
        return r * (1.0 - u(0.05, 0.15) * _gauss(x, 2340.0, 30.0)) * (
            1.0 - u(0.02, 0.08) * _gauss(x, 1415.0, 20.0)) * (1.0 - u(0.05, 0.12)
                                                             * _gauss(x, 1915.0, 35.0))
    return u(0.08, 0.18) * (1.0 + u(0.0, 0.5) * t)   # grey ash


#: the extended parametric materials: (group name, generator kind) per class; several
#: draws (variants) of each are made per scene seed.
EXTENDED_MATERIALS: dict[str, tuple[str, ...]] = {
    "water": ("water_clear", "water_turbid", "water_algal", "water_humic", "water_shallow"),
    "snow": ("snow_fresh", "snow_old", "snow_dirty", "ice"),
    "mineral": ("soil", "clay", "iron", "carbonate", "gypsum", "basalt", "granite", "salt"),
    "urban": ("white_paint", "red_paint", "green_paint", "blue_paint", "brick", "solar_panel",
              "gravel", "artificial_turf", "plastic_film"),
    "burned": ("char", "ash_white", "ash_grey"),
}


def _extended_materials(x: np.ndarray, seed: int, variants: int = 3) -> dict[str, np.ndarray]:
    """``variants`` seed-drawn spectra of every extended material (1-nm grid ``x``)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xE47]))
    u = rng.uniform
    out: dict[str, np.ndarray] = {}
    for v in range(variants):
        out[f"water_clear.{v}"] = _water_reflectance(x, u(0.03, 0.5), u(0.005, 0.05),
                                                     u(0.1, 2.0))
        out[f"water_turbid.{v}"] = _water_reflectance(x, u(1.0, 8.0), u(0.1, 0.6),
                                                      float(np.exp(u(np.log(15), np.log(250)))))
        out[f"water_algal.{v}"] = _water_reflectance(x, float(np.exp(u(np.log(20), np.log(300)))),
                                                     u(0.1, 0.6), u(0.5, 4.0))
        out[f"water_humic.{v}"] = _water_reflectance(x, u(1.0, 10.0), u(2.0, 10.0), u(1.0, 6.0))
        sand = _mineral_reflectance(x, rng, "carbonate" if v % 2 else "soil")
        out[f"water_shallow.{v}"] = _water_reflectance(x, u(0.1, 3.0), u(0.02, 0.3),
                                                       u(0.5, 5.0), depth=u(0.5, 4.0),
                                                       bottom=sand)
        out[f"snow_fresh.{v}"] = _snow_reflectance(x, u(0.05, 0.3), u(0.94, 0.99), u(0.0, 0.03))
        out[f"snow_old.{v}"] = _snow_reflectance(x, u(0.5, 2.0), u(0.85, 0.95), u(0.02, 0.1))
        out[f"snow_dirty.{v}"] = _snow_reflectance(x, u(0.3, 1.5), u(0.6, 0.85), u(0.1, 0.4))
        out[f"ice.{v}"] = _snow_reflectance(x, u(5.0, 40.0), u(0.35, 0.65), u(0.0, 0.3))
        for kind in EXTENDED_MATERIALS["mineral"]:
            out[f"{kind}.{v}"] = _mineral_reflectance(x, rng, kind)
        for kind in EXTENDED_MATERIALS["urban"]:
            out[f"{kind}.{v}"] = _urban_reflectance(x, rng, kind)
        for kind in EXTENDED_MATERIALS["burned"]:
            out[f"{kind}.{v}"] = _burned_reflectance(x, rng, kind)
    return {k: np.clip(val, 0.0, 1.0) for k, val in out.items()}


def _dry_vegetation_types(rng: np.random.Generator) -> list[dict[str, float]]:
    """Senescent / dry vegetation (PROSAIL): little chlorophyll and water, brown pigments."""
    types = []
    for kind in range(3):   # dry grass / senescent crop, stubble, litter-rich shrub
        types.append({
            "kind": 4.0, "n": rng.uniform(1.5, 2.5), "cab": rng.uniform(0.5, 5.0),
            "car_ratio": rng.uniform(0.3, 0.6), "cbrown": rng.uniform(0.3, 1.5),
            "cw": rng.uniform(0.0005, 0.002), "cm": rng.uniform(0.006, 0.016),
            "ant": rng.uniform(0.0, 1.0), "lidfa": rng.uniform(50.0, 75.0) if kind != 2
            else rng.uniform(35.0, 55.0), "hspot": rng.uniform(0.05, 0.3),
            "rsoil": rng.uniform(0.8, 1.4), "psoil": rng.uniform(0.6, 1.0)})
    return types
