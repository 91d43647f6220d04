"""Projection, camera simulation and resampling: numpy, xarray and dask paths."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from specrecon.cube import make_cube
from specrecon.errors import ChunkingError, ConfigError, CoordinateError, ModelMismatchError
from specrecon.spectral import (
    BandSet,
    get_bandset,
    get_sensor,
    project,
    resample,
    simulate_rgb,
    srf_matrix,
)

WL = np.arange(400.0, 701.0, 10.0)


def _cube(h: int = 16, w: int = 20, seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.05, 0.9, (1, h, w))
    slope = rng.uniform(-0.5, 0.5, (1, h, w))
    t = ((WL - 550.0) / 150.0)[:, None, None]
    data = np.clip(base + 0.3 * slope * t, 0.0, 1.0).astype("float32")
    y = 5_000_000.0 - 30.0 * np.arange(h)
    x = 400_000.0 + 30.0 * np.arange(w)
    return make_cube(data, WL, np.full(WL.shape, 10.0), y=y, x=x, attrs={"title": "t"})


def _geo_cube() -> xr.DataArray:
    pytest.importorskip("rioxarray")
    return _cube().rio.write_crs("EPSG:32633")


# ------------------------------------------------------------------ project

def test_project_flat_spectrum_equal_channels() -> None:
    flat = np.full((31, 3, 4), 0.4, "float32")
    for name in ("nikon_d5100", "canon_eos_5d_mark_ii", "landsat9_oli_rgb"):
        out = project(flat, name, wavelengths=WL)
        assert out.shape == (3, 3, 4) and out.dtype == np.float32
        np.testing.assert_allclose(out, 0.4, rtol=1e-5)


def test_project_global_keeps_relative_sensitivity() -> None:
    flat = np.ones((31, 1, 1), "float32")
    raw = project(flat, "nikon_d5100", wavelengths=WL, normalize=None)[:, 0, 0]
    glob = project(flat, "nikon_d5100", wavelengths=WL, normalize="global")[:, 0, 0]
    m = get_sensor("nikon_d5100").matrix_for(WL)
    np.testing.assert_allclose(raw, m.sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(glob, raw / raw.max(), rtol=1e-5)
    assert glob.max() == pytest.approx(1.0) and glob.min() < 0.9


def test_project_is_linear() -> None:
    a, b = _cube(seed=1), _cube(seed=2)
    lhs = project(2.0 * a + b, "sentinel2_msi_rgb")
    rhs = 2.0 * project(a, "sentinel2_msi_rgb") + project(b, "sentinel2_msi_rgb")
    np.testing.assert_allclose(lhs.values, rhs.values, rtol=1e-5, atol=1e-6)


def test_project_keeps_coords_and_crs() -> None:
    cube = _geo_cube()
    rgb = project(cube, "nikon_d5100")
    assert rgb.dims == ("band", "y", "x")
    assert list(rgb.band_name.values) == ["red", "green", "blue"]
    np.testing.assert_array_equal(rgb.x.values, cube.x.values)
    np.testing.assert_array_equal(rgb.y.values, cube.y.values)
    assert "spatial_ref" in rgb.coords
    assert rgb.rio.crs.to_epsg() == 32633
    assert rgb.attrs["sensor"] == "nikon_d5100"


def test_project_numpy_needs_wavelengths() -> None:
    with pytest.raises(CoordinateError, match="wavelengths="):
        project(np.zeros((31, 2, 2)), "nikon_d5100")


def test_project_cie_channel_names() -> None:
    rgb = project(_cube(), "cie1931")
    assert rgb.attrs["channel_names"] == ["X", "Y", "Z"]


# ------------------------------------------------------------------ simulate_rgb

def test_simulate_deterministic_and_seeded() -> None:
    cube = _cube()
    kw = dict(photon_scale=750, read_noise=0.002)
    a = simulate_rgb(cube, "nikon_d5100", seed=3, **kw)
    b = simulate_rgb(cube, "nikon_d5100", seed=3, **kw)
    c = simulate_rgb(cube, "nikon_d5100", seed=4, **kw)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert a.dtype == np.float32 and float(a.min()) >= 0 and float(a.max()) <= 1


def test_simulate_exposure_target_mean() -> None:
    cube = _cube()
    for target in (0.18, 0.3):
        rgb = simulate_rgb(cube, "nikon_d5100", exposure=target, bit_depth=8)
        assert float(rgb.mean()) == pytest.approx(target, abs=1.0 / 255)
    float_rgb = simulate_rgb(cube, "nikon_d5100", exposure=0.18, bit_depth=None)
    assert float(float_rgb.mean()) == pytest.approx(0.18, rel=1e-4)
    raw = simulate_rgb(cube, "nikon_d5100", exposure=None, gains=None, bit_depth=None)
    np.testing.assert_allclose(raw.values, project(cube, "nikon_d5100", normalize="global").values,
                               rtol=1e-6)


def test_simulate_gains_applied_in_order() -> None:
    cube = _cube()
    base = simulate_rgb(cube, "nikon_d5100", gains=None, exposure=None, bit_depth=None)
    gained = simulate_rgb(cube, "nikon_d5100", gains=(2.0, 1.0, 1.5), exposure=None,
                          bit_depth=None, clip=False)
    np.testing.assert_allclose(gained.values,
                               base.values * np.array([2.0, 1.0, 1.5])[:, None, None], rtol=1e-5)


def test_simulate_bit_depth_levels() -> None:
    cube = _cube()
    for bits in (4, 8, 12):
        rgb = simulate_rgb(cube, "nikon_d5100", bit_depth=bits).values.astype("float64")
        codes = rgb * (2 ** bits - 1)
        np.testing.assert_allclose(codes, np.round(codes), atol=1e-3)
        if bits == 4:
            assert np.unique(rgb).size <= 16
    u8 = simulate_rgb(cube, "nikon_d5100", bit_depth=8, as_integer=True)
    assert u8.dtype == np.uint8
    u16 = simulate_rgb(cube, "nikon_d5100", bit_depth=12, as_integer=True)
    assert u16.dtype == np.uint16 and int(u16.max()) <= 4095
    f8 = simulate_rgb(cube, "nikon_d5100", bit_depth=8)
    np.testing.assert_array_equal(u8.values, np.round(f8.values * 255).astype("uint8"))


def test_simulate_shot_noise_scales_with_photons() -> None:
    cube = _cube(h=32, w=32)
    clean = simulate_rgb(cube, "nikon_d5100", bit_depth=None).values
    err = {}
    for npe in (100, 10_000):
        noisy = simulate_rgb(cube, "nikon_d5100", bit_depth=None, photon_scale=npe).values
        err[npe] = float(np.std(noisy - clean))
    # Poisson: relative noise ~ 1/sqrt(npe) -> 10x less noise at 100x the photons
    assert 5 < err[100] / err[10_000] < 20


def test_simulate_jpeg_changes_but_stays_close() -> None:
    cube = _cube(h=32, w=32)
    plain = simulate_rgb(cube, "nikon_d5100").values
    jpg = simulate_rgb(cube, "nikon_d5100", jpeg_quality=65).values
    assert not np.array_equal(plain, jpg)
    assert float(np.abs(plain - jpg).mean()) < 0.05
    np.testing.assert_allclose(jpg * 255, np.round(jpg * 255), atol=1e-3)


def test_simulate_config_errors() -> None:
    cube = _cube()
    with pytest.raises(ConfigError, match="bit_depth=8"):
        simulate_rgb(cube, "nikon_d5100", bit_depth=12, jpeg_quality=65)
    with pytest.raises(ConfigError):
        simulate_rgb(cube, "nikon_d5100", gains=(1.0, 2.0))
    with pytest.raises(ConfigError):
        simulate_rgb(cube, "nikon_d5100", bit_depth=None, as_integer=True)


def test_simulate_keeps_coords_crs_and_records_pipeline() -> None:
    cube = _geo_cube()
    rgb = simulate_rgb(cube, "canon_eos_5d_mark_ii", photon_scale=750, jpeg_quality=65, seed=7)
    assert rgb.rio.crs.to_epsg() == 32633
    np.testing.assert_array_equal(rgb.x.values, cube.x.values)
    for key, value in {"sensor": "canon_eos_5d_mark_ii", "photon_scale": 750.0,
                       "jpeg_quality": 65, "seed": 7, "bit_depth": 8, "exposure": 0.18}.items():
        assert rgb.attrs[key] == value
    assert rgb.attrs["gains"] == pytest.approx([2.2933984, 1.0, 1.62308182])


# ------------------------------------------------------------------ dask

def test_dask_stays_lazy_and_matches_numpy_noise_free() -> None:
    pytest.importorskip("dask")
    cube = _geo_cube()
    lazy_cube = cube.chunk({"wavelength": 16, "y": 8, "x": 10})
    for fn, kw in ((project, {}), (simulate_rgb, {"bit_depth": None}),
                   (simulate_rgb, {"bit_depth": 8})):
        lazy = fn(lazy_cube, "nikon_d5100", **kw)
        assert lazy.chunks is not None, fn.__name__
        eager = fn(cube, "nikon_d5100", **kw)
        atol = 1.0 / 255 + 1e-6 if kw.get("bit_depth") == 8 else 1e-5
        np.testing.assert_allclose(lazy.values, eager.values, atol=atol)
        assert lazy.rio.crs.to_epsg() == 32633


def test_dask_noise_single_chunk_equals_numpy() -> None:
    pytest.importorskip("dask")
    cube = _cube()
    eager = simulate_rgb(cube, "nikon_d5100", photon_scale=750, jpeg_quality=65, seed=1)
    lazy = simulate_rgb(cube.chunk({"y": -1, "x": -1}), "nikon_d5100", photon_scale=750,
                        jpeg_quality=65, seed=1)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, eager.values)
    multi = simulate_rgb(cube.chunk({"y": 8}), "nikon_d5100", photon_scale=750, seed=1)
    assert multi.attrs["noise_chunk_dependent"] == 1
    again = simulate_rgb(cube.chunk({"y": 8}), "nikon_d5100", photon_scale=750, seed=1)
    np.testing.assert_array_equal(multi.values, again.values)


def test_dask_jpeg_needs_whole_image() -> None:
    pytest.importorskip("dask")
    with pytest.raises(ChunkingError, match="chunk"):
        simulate_rgb(_cube().chunk({"y": 8}), "nikon_d5100", jpeg_quality=65)


# ------------------------------------------------------------------ resample

def test_srf_matrix_rows_normalised() -> None:
    w = srf_matrix(WL, [455.0, 550.0, 640.0], [20.0, 20.0, 20.0])
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert np.argmax(w[1]) == 15
    # symmetric kernel between two bands splits weight evenly
    assert w[0, 5] == pytest.approx(w[0, 6])


def test_resample_identity_for_smooth_spectrum() -> None:
    cube = _cube()
    same = resample(cube, "arad31")
    np.testing.assert_allclose(same.values[2:-2], cube.values[2:-2], atol=2e-3)
    np.testing.assert_array_equal(same.wavelength.values, WL)
    with_width = resample(cube, "arad31", source_fwhm=10.0)
    np.testing.assert_allclose(with_width.values, cube.values, atol=1e-6)


def test_resample_linear_and_lazy() -> None:
    a, b = _cube(seed=1), _cube(seed=2)
    target = BandSet.from_arrays(np.arange(420.0, 681.0, 20.0), 25.0, name="t")
    lhs = resample(3.0 * a - b, target)
    rhs = 3.0 * resample(a, target) - resample(b, target)
    np.testing.assert_allclose(lhs.values, rhs.values, atol=1e-5)
    pytest.importorskip("dask")
    lazy = resample(a.chunk({"y": 8}), target)
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.values, resample(a, target).values, atol=1e-6)


def test_resample_recovers_linear_spectrum() -> None:
    data = (0.2 + 0.001 * (WL - 400.0))[:, None, None] * np.ones((31, 2, 2))
    target = BandSet.from_arrays([480.0, 555.0, 610.0], [15.0, 30.0, 22.0])
    out = resample(data, target, wavelengths=WL)
    np.testing.assert_allclose(out[:, 0, 0], 0.2 + 0.001 * (target.wavelengths - 400.0),
                               atol=1e-4)


def test_resample_outside_range() -> None:
    cube = _cube()
    with pytest.raises(ModelMismatchError, match="outside"):
        resample(cube, "hyspecnet202")
    flagged = resample(cube, "hyspecnet202", outside="nan")
    inside = (flagged.wavelength >= 400) & (flagged.wavelength <= 700)
    assert bool(flagged.where(~inside, drop=True).isnull().all())
    assert not bool(flagged.where(inside, drop=True).isnull().any())


def test_resample_emit_keeps_good_band_and_crs() -> None:
    pytest.importorskip("rioxarray")
    wl = np.linspace(380.0, 2500.0, 120)
    cube = make_cube(np.ones((120, 3, 3), "float32"), wl).rio.write_crs("EPSG:32633")
    out = resample(cube, get_bandset("emit285"))
    assert out.sizes["wavelength"] == 285
    assert "good_band" in out.coords and int((~out.good_band).sum()) > 0
    np.testing.assert_allclose(out.values, 1.0, rtol=1e-5)
    assert out.rio.crs.to_epsg() == 32633


def test_resample_to_sensor() -> None:
    cube = _cube()
    out = resample(cube, get_sensor("sentinel2_msi_rgb"))
    assert np.all(np.diff(out.wavelength.values) > 0)
    proj = project(cube, "sentinel2_msi_rgb")
    np.testing.assert_allclose(out.values[::-1], proj.values, rtol=1e-5)


def test_simulate_nodata_ignored_by_exposure_and_kept() -> None:
    cube = _cube()
    holed = cube.copy()
    holed[:, :4, :] = np.nan
    rgb = simulate_rgb(holed, "nikon_d5100", bit_depth=None, photon_scale=750)
    assert bool(rgb[:, :4, :].isnull().all())
    assert float(rgb[:, 4:, :].mean()) == pytest.approx(0.18, abs=0.003)
    pytest.importorskip("dask")
    lazy = simulate_rgb(holed.chunk({"y": -1, "x": -1}), "nikon_d5100", bit_depth=None,
                        photon_scale=750)
    np.testing.assert_array_equal(lazy.values, rgb.values)


def test_sensor_and_bandset_pickle() -> None:
    import pickle

    s = pickle.loads(pickle.dumps(get_sensor("nikon_d5100")))
    np.testing.assert_array_equal(s.matrix_for(WL), get_sensor("nikon_d5100").matrix_for(WL))
    bs = pickle.loads(pickle.dumps(get_bandset("hyspecnet202")))
    np.testing.assert_array_equal(bs.file_index, get_bandset("hyspecnet202").file_index)
