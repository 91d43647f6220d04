"""Synthetic scenes: determinism, physics sanity, provenance, dask laziness, georeferencing."""

from __future__ import annotations

import time

import numpy as np
import pytest

from specrecon.datasets import synthetic as syn
from specrecon.errors import ChunkingError, SpatialDimensionError, UnknownSensorError


def _band(cube, nm: float) -> np.ndarray:
    return cube.sel(wavelength=nm, method="nearest").values


@pytest.fixture(scope="module")
def sat():
    return syn.satellite_scene(96, 128, seed=11)


@pytest.fixture(scope="module")
def nat():
    return syn.natural_scene(64, 80, seed=4)


# ------------------------------------------------------------------ natural

def test_natural_structure_and_labels(nat):
    rgb, cube = nat
    assert cube.dims == ("wavelength", "y", "x") and cube.shape == (31, 64, 80)
    np.testing.assert_allclose(cube.wavelength.values, np.arange(400.0, 701.0, 10.0))
    assert rgb.dims == ("band", "y", "x") and rgb.shape == (3, 64, 80)
    assert cube.dtype == np.float32 and rgb.dtype == np.float32
    for da in nat:
        assert da.attrs["synthetic"] == 1
        assert da.attrs["source"].startswith("specrecon synthetic")
    assert cube.attrs["illuminant"] == "D65"


def test_natural_values_physical(nat):
    rgb, cube = nat
    v = cube.values
    assert np.isfinite(v).all() and v.min() >= 0.0 and v.max() <= 1.0
    assert v.max() > 0.05                      # not an all-dark scene
    assert 0.0 <= rgb.values.min() and rgb.values.max() <= 1.0
    # default simulation: auto-exposure to a mean of 0.18, 8-bit levels
    assert abs(float(rgb.mean()) - 0.18) < 0.02
    np.testing.assert_allclose(rgb.values * 255, np.round(rgb.values * 255), atol=1e-3)


def test_natural_deterministic_and_seed_dependent():
    a = syn.natural_scene(32, 32, seed=7)
    b = syn.natural_scene(32, 32, seed=7)
    c = syn.natural_scene(32, 32, seed=8)
    np.testing.assert_array_equal(a.cube.values, b.cube.values)
    np.testing.assert_array_equal(a.rgb.values, b.rgb.values)
    assert np.abs(a.cube.values - c.cube.values).mean() > 1e-3


def test_natural_pixels_are_measured_spectra_times_illuminant(nat):
    """Unmixed pixels equal a colour-science reflectance x D65 up to a scalar (shading)."""
    from specrecon.datasets._spectra_library import illuminant_spectrum

    lib = syn.natural_library()
    wl = tuple(nat.cube.wavelength.values.tolist())
    illum = illuminant_spectrum("D65", wl, tuple(nat.cube.fwhm.values.tolist()))
    refl = (nat.cube.values.reshape(31, -1).T / illum).astype("float64")   # (pixels, bands)
    refl /= np.linalg.norm(refl, axis=1, keepdims=True)
    libn = lib.values.astype("float64") / np.linalg.norm(lib.values, axis=1, keepdims=True)
    best = 1.0 - (refl @ libn.T).max(axis=1)     # 0 when the shape matches exactly
    exact = best < 1e-6
    assert exact.mean() > 0.3, exact.mean()
    # a random spectrum (or a smoothed library one) would not match anything this well
    rng = np.random.default_rng(0)
    fake = np.abs(libn[:50] + rng.normal(0, 0.02, (50, 31)))
    fake /= np.linalg.norm(fake, axis=1, keepdims=True)
    assert (1.0 - (fake @ libn.T).max(axis=1) > 1e-4).all()


def test_natural_library_is_measured():
    lib = syn.natural_library()
    prefixes = {n.split(":")[0] for n in lib.names}
    assert {"rawtoaces190", "colorchecker_babel", "colorchecker_ohta", "pmc"} <= prefixes
    assert sum(n.startswith("rawtoaces190:") for n in lib.names) == 190
    assert lib.values.min() >= 0 and lib.values.max() <= 1


def test_natural_random_illuminant_is_real():
    seen = {syn.natural_scene(8, 8, seed=s, illuminant=None).cube.attrs["illuminant"]
            for s in range(12)}
    assert seen <= set(syn.REAL_ILLUMINANTS) and len(seen) >= 3
    with pytest.raises(UnknownSensorError):
        syn.natural_scene(8, 8, illuminant="not-a-lamp")


def test_natural_illuminant_changes_spectrum():
    d65 = syn.natural_scene(24, 24, seed=1, illuminant="D65").cube
    a = syn.natural_scene(24, 24, seed=1, illuminant="A").cube
    # tungsten light: far more red than blue relative to daylight
    ratio = (_band(a, 680) / np.maximum(_band(a, 420), 1e-6)).mean()
    ratio65 = (_band(d65, 680) / np.maximum(_band(d65, 420), 1e-6)).mean()
    assert ratio > 2 * ratio65


# ------------------------------------------------------------------ satellite

def test_satellite_structure_and_range(sat):
    rgb, cube = sat
    assert cube.shape == (202, 96, 128) and rgb.shape == (3, 96, 128)
    assert 415 < float(cube.wavelength[0]) < 425 and 2440 < float(cube.wavelength[-1]) < 2460
    v = cube.values
    assert np.isfinite(v).all() and v.min() >= 0.0 and v.max() <= 1.0
    assert cube.attrs["synthetic"] == 1 and rgb.attrs["synthetic"] == 1
    assert "PROSAIL" in cube.attrs["source"]
    assert np.isfinite(rgb.values).all() and 0 <= rgb.values.min() and rgb.values.max() <= 1


def test_satellite_deterministic_and_seed_dependent(sat):
    again = syn.satellite_scene(96, 128, seed=11)
    np.testing.assert_array_equal(sat.cube.values, again.cube.values)
    other = syn.satellite_scene(96, 128, seed=12)
    assert np.abs(sat.cube.values - other.cube.values).mean() > 1e-3


def test_vegetation_red_edge_and_dark_water():
    # a seed whose scene holds crops, forest and water (checked below)
    h = w = 160
    for seed in range(40):
        lc = syn.satellite_land_cover(h, w, seed=seed).values
        if (lc == 6).sum() > 50 and ((lc == 0) | (lc == 2)).sum() > 500:
            break
    else:  # pragma: no cover
        pytest.fail("no seed with water and vegetation in 40 tries")
    cube = syn.satellite_scene(h, w, seed=seed).cube
    red, nir = _band(cube, 665), _band(cube, 860)
    veg = (lc == 0) | (lc == 2)
    ndvi = (nir - red) / (nir + red)
    assert np.median(ndvi[veg]) > 0.5          # red edge: NIR >> red on vegetation
    water = lc == 6
    assert np.median(nir[water]) < 0.03       # water absorbs the NIR
    assert np.median(nir[veg]) > 5 * np.median(nir[water])


def test_land_cover_codes():
    lc = syn.satellite_land_cover(128, 128, seed=3)
    assert lc.dtype == np.uint8 and int(lc.max()) < len(syn.LAND_COVER_CLASSES)
    assert lc.attrs["synthetic"] == 1


def test_chunked_equals_unchunked_exactly():
    full = syn.satellite_scene(70, 90, seed=5)
    for chunks in (32, (17, 64)):
        lazy = syn.satellite_scene(70, 90, seed=5, chunks=chunks)
        assert lazy.cube.chunks[1][0] == (chunks if isinstance(chunks, int) else chunks[0])
        np.testing.assert_array_equal(lazy.cube.values, full.cube.values)
        # The RGB is a matrix product over the bands: BLAS may sum in another order for
        # another block shape (seen: 7e-9 differences), so it is equal to rounding only.
        np.testing.assert_allclose(lazy.rgb.values, full.rgb.values, rtol=1e-6, atol=1e-7)
    lc = syn.satellite_land_cover(70, 90, seed=5, chunks=23)
    np.testing.assert_array_equal(lc.values, syn.satellite_land_cover(70, 90, seed=5).values)


def test_window_of_larger_scene_matches():
    """Content is a function of the global pixel position: a crop equals a smaller scene."""
    big = syn.satellite_scene(80, 80, seed=9, chunks=40)
    small = syn.satellite_scene(40, 40, seed=9)
    np.testing.assert_array_equal(big.cube[:, :40, :40].values, small.cube.values)


def test_lazy_construction_is_fast_and_computes_nothing():
    import dask
    import dask.array as da

    calls = []

    def counting_get(dsk, keys, **kw):  # any compute during construction would land here
        calls.append(1)
        return dask.get(dsk, keys, **kw)

    t0 = time.perf_counter()
    with dask.config.set(scheduler=counting_get):
        scene = syn.satellite_scene(4096, 4096, seed=0, chunks=512)
    elapsed = time.perf_counter() - t0
    assert calls == []
    assert elapsed < 5.0
    assert isinstance(scene.cube.data, da.Array) and isinstance(scene.rgb.data, da.Array)
    assert scene.cube.data.numblocks == (1, 8, 8)
    assert scene.cube.chunks[0] == (202,)
    # one block computes on its own
    block = scene.cube.data.blocks[0, 3, 5].compute(scheduler="sync")
    assert block.shape == (202, 512, 512) and block.dtype == np.float32


def test_georeferencing(sat):
    cube = sat.cube
    assert str(cube.rio.crs) == "EPSG:32633"
    assert "spatial_ref" in cube.coords and "spatial_ref" in sat.rgb.coords
    assert str(sat.rgb.rio.crs) == "EPSG:32633"
    t = cube.rio.transform()
    assert (t.a, t.e, t.c, t.f) == (30.0, -30.0, 500000.0, 5300000.0)
    assert np.all(np.diff(cube.y.values) < 0) and np.all(np.diff(cube.x.values) > 0)
    assert float(cube.x[0]) == 500015.0 and float(cube.y[0]) == 5299985.0
    other = syn.satellite_scene(8, 8, crs="EPSG:4326", origin=(10.0, 50.0), resolution=0.001)
    assert other.cube.rio.crs.to_epsg() == 4326
    np.testing.assert_allclose(other.cube.rio.bounds(), (10.0, 49.992, 10.008, 50.0))


# ------------------------------------------------------------------ datasets & errors

def test_datasets_distinct_and_reproducible():
    seeds_train = syn.scene_seeds(6, seed=0, split="train")
    seeds_val = syn.scene_seeds(6, seed=0, split="validation")
    assert len(set(seeds_train)) == 6 and not set(seeds_train) & set(seeds_val)
    tr = syn.satellite_dataset(2, 24, seed=0)
    va = syn.satellite_dataset(2, 24, seed=0, split="validation")
    assert len(tr) == 2 and all(isinstance(s, syn.Scene) for s in tr)
    assert not np.array_equal(tr[0].cube.values, tr[1].cube.values)
    assert not np.array_equal(tr[0].cube.values, va[0].cube.values)
    np.testing.assert_array_equal(tr[1].cube.values,
                                  syn.satellite_dataset(2, 24, seed=0)[1].cube.values)
    nd = syn.natural_dataset(2, (16, 20), seed=3)
    assert nd[0].cube.shape == (31, 16, 20)
    assert not np.array_equal(nd[0].cube.values, nd[1].cube.values)
    # scene seed recorded, and any sensor noise is seeded per scene (not one pattern for all)
    assert nd[0].rgb.attrs["scene_seed"] == nd[0].cube.attrs["seed"]
    assert nd[0].rgb.attrs["seed"] != nd[1].rgb.attrs["seed"]


def test_bad_arguments():
    with pytest.raises(SpatialDimensionError):
        syn.natural_scene(0, 10)
    with pytest.raises(ChunkingError):
        syn.satellite_scene(16, 16, chunks="auto")
    with pytest.raises(ChunkingError):
        syn.satellite_scene(16, 16, chunks=(0, 4))


def test_natural_illuminant_drawn_from_a_given_set() -> None:
    from specrecon.datasets.synthetic import DAYLIGHT_ILLUMINANTS, natural_dataset

    scenes = natural_dataset(6, 16, illuminant=DAYLIGHT_ILLUMINANTS)
    used = {s.cube.attrs["illuminant"] for s in scenes}
    assert used <= set(DAYLIGHT_ILLUMINANTS)
    assert len(used) > 1  # drawn per scene, not fixed
    again = natural_dataset(6, 16, illuminant=DAYLIGHT_ILLUMINANTS)
    assert ([s.cube.attrs["illuminant"] for s in again]
            == [s.cube.attrs["illuminant"] for s in scenes])


def test_soil_shapes_steepen_only_the_bare_soils_visible_slope() -> None:
    from specrecon.errors import ConfigError

    h = w = 128
    for seed in range(40):                       # a scene with some bare soil
        lc = syn.satellite_land_cover(h, w, seed=seed).values
        if (lc == 3).sum() > 300:
            break
    else:  # pragma: no cover
        pytest.fail("no seed with bare soil in 40 tries")
    plain = syn.satellite_scene(h, w, seed=seed).cube
    shaped = syn.satellite_scene(h, w, seed=seed, soil_shapes=True).cube
    assert shaped.attrs["soil_shapes"] == 1 and plain.attrs["soil_shapes"] == 0
    changed = np.abs(shaped.values - plain.values).max(axis=0) > 1e-6
    bare = lc == 3
    assert changed[bare].mean() > 0.5 and changed[lc == 6].sum() == 0   # soils, not water
    # darker in the blue relative to the red, unchanged beyond ~650 nm
    ratio = lambda c: _band(c, 450)[changed] / _band(c, 650)[changed]  # noqa: E731
    assert np.median(ratio(shaped)) < 0.9 * np.median(ratio(plain))
    assert np.abs(_band(shaped, 1600) - _band(plain, 1600)).max() < 1e-3
    lazy = syn.satellite_scene(h, w, seed=seed, soil_shapes=True, chunks=48).cube
    np.testing.assert_allclose(lazy.values, shaped.values, atol=1e-6)     # chunk-invariant
    with pytest.raises(ConfigError, match="soil_shapes"):
        syn.satellite_scene(32, 32, seed=1, soil_shapes="yes")  # type: ignore[arg-type]
    ds = syn.satellite_dataset(1, size=32, soil_shapes=True)
    assert ds[0].cube.attrs["soil_shapes"] == 1
