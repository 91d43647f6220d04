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
    "REAL_ILLUMINANTS",
    "DAYLIGHT_ILLUMINANTS",
    "SpectralLibrary",
    "band_average",
    "illuminant_spectrum",
    "measured_reflectances",
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
                      fwhm: tuple[float, ...]) -> SpectralLibrary:
    """The surface-reflectance library of one satellite scene seed.

    Per seed: sun/view geometry (sun zenith 20-55 deg, view zenith 0-8 deg,
    relative azimuth 0-180 deg); six crop types, a grassland and two forest types
    with leaf (N, Cab, Car, Cbrown, Cw, Cm, anthocyanins) and canopy (leaf angle,
    hotspot, soil brightness/moisture) parameters drawn from realistic ranges;
    each is run through PROSAIL (PROSPECT-D + 4SAIL, SDR) on an
    ``LAI_LEVELS x CAB_LEVELS`` grid (9 x 24 = 216 runs, ~0.2 s). Added: PROSAIL's
    dry and wet soils and the parametric materials of ``_parametric_materials``.

    Parameters
    ----------
    seed : int
        Scene seed.
    wavelengths, fwhm : tuple of float
        Band grid (within 400-2500 nm).

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
    values = band_average(np.asarray(rows), _PROSAIL_WL, centres, fw)
    values = np.clip(values, 0.0, 1.0).astype("float32")
    return SpectralLibrary(
        values=values, names=tuple(names), wavelengths=centres, fwhm=fw, groups=groups,
        source=f"PROSAIL (PROSPECT-D + 4SAIL) canopies at sun zenith {tts:.1f} deg, view zenith "
               f"{tto:.1f} deg, relative azimuth {psi:.0f} deg; PROSAIL dry/wet soils; "
               "parametric water, asphalt, concrete, roof and sand spectra")
