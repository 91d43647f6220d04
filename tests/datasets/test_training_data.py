"""Training-data options of the synthetic generators (issue 10, part 2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls

from specrecon.datasets import synthetic as syn
from specrecon.datasets._spectra_library import (
    daylight_spectrum,
    derived_reflectances,
    illuminant_spectrum,
    measured_sources,
)
from specrecon.errors import ConfigError

WL = tuple(np.arange(400.0, 701.0, 10.0))
FW = (10.0,) * 31


def _sources(lib):
    return np.array([n.split(":", 1)[0] for n in lib.names])


# --------------------------------------------------------------------------- derived spectra

def test_derived_reflectances_in_range_smooth_and_deterministic():
    base = syn.natural_library().values
    new = derived_reflectances(base, 500, seed=3)
    assert new.shape == (500, 31) and new.dtype == np.float32
    assert new.min() >= 0.0 and new.max() <= 1.0
    np.testing.assert_array_equal(new, derived_reflectances(base, 500, seed=3))
    assert not np.array_equal(new, derived_reflectances(base, 500, seed=4))
    # about as smooth as the measured spectra (largest second difference per spectrum)
    def rough(x):
        return np.abs(np.diff(x.astype(float), 2, axis=1)).max(axis=1)

    assert rough(new).max() <= 1.1 * rough(base).max()
    assert np.percentile(rough(new), 99) <= 1.05 * np.percentile(rough(base), 99)
    # genuinely new: not copies of measured spectra
    dist = np.sqrt(((new[:, None, :] - base[None]) ** 2).mean(-1)).min(axis=1)
    assert np.mean(dist > 1e-3) > 0.95


@pytest.mark.parametrize("held_out", ["pmc", "rawtoaces190", "colorchecker_babel"])
def test_derived_spectra_bring_an_unseen_source_closer(held_out):
    """Leave one measured source out, derive spectra from the rest: the unseen real
    spectra lie closer (RMS, nearest neighbour) to measured + derived than to measured."""
    lib = syn.natural_library()
    src = _sources(lib)
    train = lib.values[src != held_out].astype(float)
    unseen = lib.values[src == held_out].astype(float)
    derived = derived_reflectances(train, 2000, seed=0).astype(float)

    def nn(lib_):
        return np.sqrt(((unseen[:, None] - lib_[None]) ** 2).mean(-1)).min(axis=1).mean()

    assert nn(np.vstack([train, derived])) < 0.95 * nn(train)


def test_derived_zero_and_small_base():
    base = syn.natural_library().values[:5]
    assert derived_reflectances(base, 0, seed=0).shape == (0, 31)
    assert derived_reflectances(base, 7, seed=0).shape == (7, 31)


# --------------------------------------------------------------------------- held-out sources

def test_natural_library_excludes_sources():
    full = syn.natural_library()
    lib = syn.natural_library(exclude_sources=["pmc", "cqs_vs"])
    assert not ({"pmc", "cqs_vs"} & set(_sources(lib)))
    assert len(lib.names) == len(full.names) - 45
    with pytest.raises(ConfigError, match="source names"):
        syn.natural_library(exclude_sources=["munsell"])
    with pytest.raises(ConfigError, match="left"):
        syn.natural_library(exclude_sources=list(measured_sources()))


def _reflectance_pixels(cube, illuminant, n=300):
    illum = illuminant_spectrum(illuminant, WL, FW).astype(float)
    refl = cube.values.reshape(31, -1).T.astype(float) / illum
    rng = np.random.default_rng(0)
    return refl[rng.choice(refl.shape[0], n, replace=False)]


def _cone_residual(pixels, lib):
    """Relative residual of the best non-negative combination of library spectra."""
    res = [nnls(lib.T, p)[1] / max(np.linalg.norm(p), 1e-9) for p in pixels]
    return np.asarray(res)


def test_excluded_source_never_reaches_a_scene():
    """Keep only the PMC chart: every pixel is a non-negative mixture of PMC spectra
    (shading included); with only the CQS samples, PMC-like pixels cannot be explained."""
    keep_pmc = [s for s in measured_sources() if s != "pmc"]
    _, cube = syn.natural_scene(48, 48, seed=11, illuminant="D65", exclude_sources=keep_pmc)
    pmc = syn.natural_library(exclude_sources=keep_pmc).values.astype(float)
    cqs = syn.natural_library(
        exclude_sources=[s for s in measured_sources() if s != "cqs_vs"]).values.astype(float)
    px = _reflectance_pixels(cube, "D65")
    assert np.percentile(_cone_residual(px, pmc), 99) < 1e-3
    assert np.median(_cone_residual(px, cqs)) > 1e-2
    assert "pmc" not in cube.attrs["excluded_sources"]


def test_scene_with_derived_spectra_has_more_distinct_spectra():
    kw = dict(seed=5, illuminant="D65")
    _, plain = syn.natural_scene(64, 64, **kw)
    _, rich = syn.natural_scene(64, 64, derived_spectra=400, **kw)
    assert "derived" in rich.attrs["source"]
    lib = syn.natural_library().values.astype(float)
    # pixels outside the measured cone appear only with derived spectra
    assert np.percentile(_cone_residual(_reflectance_pixels(plain, "D65"), lib), 95) < 1e-3
    assert np.percentile(_cone_residual(_reflectance_pixels(rich, "D65"), lib), 75) > 1e-3
    assert 0.0 <= float(rich.min()) and float(rich.max()) <= 1.0


# --------------------------------------------------------------------------- illuminants, camera

def test_daylight_illuminant_draws_a_temperature_per_scene():
    ccts = set()
    for seed in range(6):
        _, cube = syn.natural_scene(16, 16, seed=seed, illuminant="daylight")
        name = cube.attrs["illuminant"]
        assert name.startswith("daylight ") and name.endswith(" K")
        cct = float(name.split()[1])
        assert 4000.0 <= cct <= 12000.0
        ccts.add(cct)
    assert len(ccts) >= 5
    # the same seed gives the same illuminant
    a = syn.natural_scene(16, 16, seed=2, illuminant=["daylight", "A"])[1]
    b = syn.natural_scene(16, 16, seed=2, illuminant=["daylight", "A"])[1]
    assert a.attrs["illuminant"] == b.attrs["illuminant"]
    np.testing.assert_array_equal(a.values, b.values)


def test_daylight_spectrum_range_and_errors():
    d65 = illuminant_spectrum("D65", WL, FW)
    assert np.abs(daylight_spectrum(6500.0, WL, FW) - d65).max() < 0.01
    with pytest.raises(ConfigError, match="4000-25000"):
        daylight_spectrum(2856.0, WL, FW)


def test_randomised_exposure_noise_and_jpeg():
    kw = dict(illuminant="D65", exposure_range=(0.1, 0.3), photon_scale_range=(300.0, 3000.0),
              jpeg_quality_range=(60, 90))
    exposures, qualities = [], []
    for seed in range(4):
        rgb, _ = syn.natural_scene(32, 32, seed=seed, **kw)
        assert 0.1 <= rgb.attrs["exposure"] <= 0.3
        assert 300.0 <= rgb.attrs["photon_scale"] <= 3000.0
        assert 60 <= rgb.attrs["jpeg_quality"] <= 90
        exposures.append(rgb.attrs["exposure"])
        qualities.append(rgb.attrs["jpeg_quality"])
    assert len(set(exposures)) == 4
    rgb1, _ = syn.natural_scene(32, 32, seed=1, **kw)
    rgb2, _ = syn.natural_scene(32, 32, seed=1, **kw)
    np.testing.assert_array_equal(rgb1.values, rgb2.values)
    # the brighter exposure target gives the brighter image (same cube)
    lo, _ = syn.natural_scene(32, 32, seed=1, illuminant="D65", exposure_range=(0.1, 0.1))
    hi, _ = syn.natural_scene(32, 32, seed=1, illuminant="D65", exposure_range=(0.3, 0.3))
    assert float(hi.mean()) > 2.0 * float(lo.mean())
    with pytest.raises(ConfigError, match="exposure_range"):
        syn.natural_scene(16, 16, exposure_range=(0.3, 0.1))


def test_dataset_options_are_checked_and_passed():
    scenes = syn.natural_dataset(2, 16, illuminant=["daylight"], derived_spectra=10)
    assert all("derived" in s.cube.attrs["source"] for s in scenes)
    with pytest.raises(ConfigError, match="derived_spectra"):
        syn.natural_dataset(1, 16, derived_spectrum=10)
