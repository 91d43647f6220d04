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
    # never darker than the darkest measured value of a band (no near-zero reflectance)
    assert (new >= base.min(axis=0) - 1e-7).all()
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
    kw = {"seed": 5, "illuminant": "D65"}
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
    kw = {"illuminant": "D65", "exposure_range": (0.1, 0.3),
          "photon_scale_range": (300.0, 3000.0), "jpeg_quality_range": (60, 90)}
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


# =========================================================================== satellite

def _sat_lib():
    from specrecon.datasets._spectra_library import satellite_library
    from specrecon.spectral import get_bandset

    bs = get_bandset("hyspecnet202")
    return satellite_library(4, tuple(bs.wavelengths.tolist()), tuple(bs.fwhm.tolist()),
                             extended=True)


def _at(lib, row, nm):
    return float(lib.values[row, int(np.argmin(np.abs(lib.wavelengths - nm)))])


def test_extended_library_materials_follow_their_published_shapes():
    from specrecon.datasets._spectra_library import EXTENDED_MATERIALS

    lib = _sat_lib()
    g = lib.groups
    assert lib.values.min() >= 0.0 and lib.values.max() <= 1.0
    for names in EXTENDED_MATERIALS.values():
        for name in names:
            rows = g["x:" + name]
            assert rows.size == 3
            assert all(lib.names[r].startswith("parametric:") for r in rows)  # documented as such
    for k in (9, 10, 11):          # dry vegetation: PROSAIL, kind 4, weak red edge
        assert g["veg_kind"][k] == 4.0
        r = g[f"veg{k}"][5, 1]
        assert _at(lib, r, 865) < 4.0 * _at(lib, r, 665)
    green = g["veg0"][5, 2]
    assert _at(lib, green, 865) > 6.0 * _at(lib, green, 665)
    for r in g["x:snow_fresh"]:    # bright visible, ice absorption near 1500 nm
        assert _at(lib, r, 550) > 0.85 and _at(lib, r, 1500) < 0.25 * _at(lib, r, 550)
        assert _at(lib, r, 1030) < _at(lib, r, 1090)      # the 1030 nm ice band
    for r in g["x:water_clear"]:
        assert _at(lib, r, 865) < 0.01 and _at(lib, r, 1650) < 1e-3
    def red_peak(r):
        return max(_at(lib, r, nm) for nm in (693, 700, 707)) / _at(lib, r, 675)

    for r in g["x:water_algal"]:   # chlorophyll trough at 675 nm, peak near 700 nm
        assert red_peak(r) > 1.0 and red_peak(r) > 1.3 * red_peak(g["x:water_clear"][0])
    for r in g["x:water_turbid"]:  # sediment: green-red reflectance above clear water
        assert _at(lib, r, 600) > 2.0 * _at(lib, g["x:water_clear"][0], 600)
    for r in g["x:clay"]:          # Al-OH band at ~2205 nm below its shoulders
        assert _at(lib, r, 2205) < 0.5 * (_at(lib, r, 2120) + _at(lib, r, 2280))
    for r in g["x:carbonate"]:     # carbonate band near 2340 nm
        assert _at(lib, r, 2335) < 0.5 * (_at(lib, r, 2250) + _at(lib, r, 2420))
    for r in g["x:iron"]:          # iron-oxide: dark blue, steep rise to the red
        assert _at(lib, r, 450) < 0.6 * _at(lib, r, 700)
    for r in g["x:char"]:
        assert lib.values[r].max() < 0.15


def _pool(surfaces, seeds=range(6), size=96):
    spectra, covers = [], []
    for sd in seeds:
        _, cube = syn.satellite_scene(size, size, seed=sd, surfaces=surfaces)
        spectra.append(cube.values.reshape(202, -1).T[::5])
        covers.append(syn.satellite_land_cover(size, size, seed=sd, surfaces=surfaces).values)
    return np.concatenate(spectra).astype(float), covers


def test_extended_scenes_are_more_diverse_and_cover_new_classes():
    basic, _ = _pool("basic")
    ext, covers = _pool("extended")
    assert ext.min() >= 0.0 and ext.max() <= 1.0

    def rank(x, q=0.9999):
        e = np.cumsum(np.linalg.svd(x - x.mean(0), compute_uv=False) ** 2)
        return int(np.searchsorted(e / e[-1], q) + 1)

    assert rank(ext) > rank(basic)
    assert ext.std(axis=0).mean() > 1.2 * basic.std(axis=0).mean()
    seen = set(np.unique(np.concatenate([c.ravel() for c in covers])).tolist())
    assert {7, 8, 9, 10} <= seen     # snow/ice, rock, dry vegetation, burned


def test_thin_roads_and_water_stand_out_at_864nm():
    """Roads and water are dark at 864 nm next to vegetation; at 10 m the minor roads
    (4-10 m) dominate pixels, at 30 m they are still mixed into them by area."""
    for sd in (1, 2, 3):
        _, cube = syn.satellite_scene(128, 128, seed=sd, surfaces="extended", resolution=10.0)
        lc = syn.satellite_land_cover(128, 128, seed=sd, surfaces="extended",
                                      resolution=10.0).values
        nir = cube.sel(wavelength=864, method="nearest").values
        veg = nir[lc <= 2].mean()
        assert (lc == 5).mean() > 0.005
        # paved roads are dark at 864 nm (dirt tracks are soil-bright, as in reality)
        assert np.mean(nir[lc == 5] < 0.6 * veg) > 0.2
        if (lc == 6).any():
            assert nir[lc == 6].mean() < 0.5 * veg
    # at 30 m: the extended scene has more sub-pixel line pixels than the basic one
    def line_pixels(surfaces):
        _, cube = syn.satellite_scene(128, 128, seed=1, surfaces=surfaces)
        nir = cube.sel(wavelength=864, method="nearest").values
        # a pixel darker than both horizontal or both vertical neighbours by 5 %
        c = nir[1:-1, 1:-1]
        h = (c < 0.95 * nir[1:-1, :-2]) & (c < 0.95 * nir[1:-1, 2:])
        v = (c < 0.95 * nir[:-2, 1:-1]) & (c < 0.95 * nir[2:, 1:-1])
        return int((h | v).sum())

    assert line_pixels("extended") > line_pixels("basic")


def test_extended_scene_is_chunk_independent_and_deterministic():
    kw = {"seed": 3, "surfaces": "extended", "residuals": 1.0}
    full = syn.satellite_scene(70, 90, **kw)
    lazy = syn.satellite_scene(70, 90, chunks=23, **kw)
    np.testing.assert_array_equal(lazy.cube.values, full.cube.values)
    np.testing.assert_array_equal(syn.satellite_scene(70, 90, **kw).cube.values, full.cube.values)
    np.testing.assert_array_equal(
        syn.satellite_land_cover(70, 90, seed=3, surfaces="extended", chunks=23).values,
        syn.satellite_land_cover(70, 90, seed=3, surfaces="extended").values)


def test_residuals_change_truth_and_rgb_consistently():
    from specrecon.spectral import simulate_rgb

    plain = syn.satellite_scene(48, 48, seed=2, surfaces="extended")
    res = syn.satellite_scene(48, 48, seed=2, surfaces="extended", residuals=1.0)
    ratio = (res.cube.values + 1e-3) / (plain.cube.values + 1e-3)
    assert 0.0 <= float(res.cube.min()) and float(res.cube.max()) <= 1.0
    assert np.abs(ratio - 1.0).mean() > 0.005
    assert np.abs(ratio - 1.0).mean() < 0.2           # residuals, not a different scene
    again = simulate_rgb(res.cube, "sentinel2_msi_rgb", **syn.DEFAULT_SATELLITE_SIMULATE)
    np.testing.assert_allclose(res.rgb.values, again.values, atol=1e-6)
    with pytest.raises(ConfigError, match="residuals"):
        syn.satellite_scene(16, 16, residuals=-1.0)
    with pytest.raises(ConfigError, match="surfaces"):
        syn.satellite_scene(16, 16, surfaces="lunar")


def test_band_noise_and_resolution_range():
    clean = syn.satellite_scene(64, 64, seed=1)
    noisy = syn.satellite_scene(64, 64, seed=1, band_noise_range=(0.004, 0.006))
    sd = float((noisy.rgb - clean.rgb).std())
    assert 0.003 < sd < 0.007 and 0.004 <= noisy.rgb.attrs["read_noise"] <= 0.006
    scenes = syn.satellite_dataset(4, 16, resolution=(10.0, 30.0), surfaces="extended")
    res = [s.cube.attrs["resolution_m"] for s in scenes]
    assert all(10.0 <= r <= 30.0 for r in res) and len(set(res)) == 4
    assert all(s.cube.attrs["surfaces"] == "extended" for s in scenes)
    with pytest.raises(ConfigError, match="surface"):
        syn.satellite_dataset(1, 16, surface="extended")
