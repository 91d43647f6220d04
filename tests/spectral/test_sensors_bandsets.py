"""Sensors and band sets: curves, matrices, registries and shipped tables."""

from __future__ import annotations

import numpy as np
import pytest

from specrecon.errors import UnknownSensorError
from specrecon.spectral import (
    HYSPECNET_DROP,
    BandSet,
    Sensor,
    get_bandset,
    get_sensor,
    list_bandsets,
    list_sensors,
    register_sensor,
)

ARAD_WL = np.arange(400.0, 701.0, 10.0)
BUILTIN_SENSORS = ["nikon_d5100", "sigma_sdmerill", "canon_eos_5d_mark_ii", "cie1931",
                   "sentinel2_msi_rgb", "landsat8_oli_rgb", "landsat9_oli_rgb"]


def test_builtins_listed() -> None:
    assert set(BUILTIN_SENSORS) <= set(list_sensors())
    assert {"arad31", "enmap224", "hyspecnet202", "emit285"} <= set(list_bandsets())


@pytest.mark.parametrize("name", BUILTIN_SENSORS)
def test_sensor_curves_sane(name: str) -> None:
    s = get_sensor(name)
    assert s.response.shape == (3, s.grid.size)
    assert s.response.min() >= 0
    assert s.response.max() == pytest.approx(1.0)
    assert np.all(np.diff(s.grid) > 0)
    # red (or X) peaks at longer wavelengths than green, green than blue
    peaks = s.grid[np.argmax(s.response, axis=1)]
    assert peaks[0] > peaks[1] > peaks[2]
    assert s.wavelengths[0] > s.wavelengths[1] > s.wavelengths[2]
    assert s.kind in ("measured", "gaussian") and s.source


def test_sensor_cached_and_name_insensitive() -> None:
    assert get_sensor("Nikon-D5100") is get_sensor("nikon_d5100")


def test_gaussian_satellite_published_numbers() -> None:
    s2 = get_sensor("sentinel2_msi_rgb")
    assert s2.kind == "gaussian"
    np.testing.assert_allclose(s2.wavelengths, [664.6, 559.8, 492.4])
    np.testing.assert_allclose(s2.fwhm, [31.0, 36.0, 66.0])
    # half maximum at centre +- FWHM/2
    half = np.interp(664.6 + 15.5, s2.grid, s2.response[0])
    assert half == pytest.approx(0.5, abs=0.01)
    l8 = get_sensor("landsat8_oli_rgb")
    np.testing.assert_allclose(l8.wavelengths, [654.6, 561.4, 482.0])


def test_matrix_for_arad_grid() -> None:
    s = get_sensor("nikon_d5100")
    m = s.matrix_for(ARAD_WL)
    assert m.shape == (3, 31)
    assert m.min() >= 0
    # linear resampling: on a grid point the value equals the tabulated response
    i = int(np.flatnonzero(s.grid == 550.0)[0])
    np.testing.assert_allclose(m[:, 15], s.response[:, i])
    # zero outside the sensor's grid
    outside = s.matrix_for(np.array([300.0, 900.0]))
    assert np.all(outside == 0)


def test_matrix_for_sigma_zero_beyond_680() -> None:
    m = get_sensor("sigma_sdmerill").matrix_for(ARAD_WL)
    assert np.all(m[:, ARAD_WL > 680] == 0)
    assert np.all(m[:, ARAD_WL <= 680].sum(axis=0) > 0)


def test_unknown_sensor_lists_names() -> None:
    with pytest.raises(UnknownSensorError, match="nikon_d5100"):
        get_sensor("basler_ace2")
    with pytest.raises(KeyError):
        get_bandset("aviris")


def test_register_custom_sensor() -> None:
    s = Sensor.gaussian("test_cam_xyz", [620.0, 540.0, 460.0], [40.0, 40.0, 40.0])
    register_sensor(s, overwrite=True)
    assert get_sensor("test_cam_xyz") is s
    with pytest.raises(ValueError):
        register_sensor(s)
    with pytest.raises(ValueError):
        register_sensor(Sensor.gaussian("nikon_d5100", [600.0], [10.0]))


def test_sensor_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        Sensor(name="bad", band_names=("r",), wavelengths=np.array([600.0]),
               fwhm=np.array([10.0]), grid=np.array([400.0, 500.0]),
               response=np.ones((1, 3)))


def test_bandset_sizes_and_monotonic() -> None:
    sizes = {"arad31": 31, "enmap224": 224, "hyspecnet202": 202, "emit285": 285}
    for name, n in sizes.items():
        bs = get_bandset(name)
        assert bs.size == n, name
        assert np.all(np.diff(bs.wavelengths) > 0), name
        assert bs.fwhm.shape == (n,) and np.all(bs.fwhm > 0)
        coords = bs.coords()
        assert coords["wavelength"].size == n


def test_arad31_values() -> None:
    bs = get_bandset("arad31")
    np.testing.assert_array_equal(bs.wavelengths, ARAD_WL)
    assert np.all(bs.fwhm == 10.0)


def test_enmap_table_native_order_and_detectors() -> None:
    bs = get_bandset("enmap224")
    native = bs.wavelengths[np.argsort(bs.file_index)]
    # product order: VNIR (91, 418-993 nm) then SWIR (133, 902-2445 nm)
    assert native[0] == pytest.approx(418.416) and native[90] == pytest.approx(993.338)
    assert native[91] == pytest.approx(901.961) and native[-1] == pytest.approx(2445.3)
    assert np.all(np.diff(native[:91]) > 0) and np.all(np.diff(native[91:]) > 0)
    # HySpecNet RGB thumbnail bands 43/28/10 (1-based) are near 635/550/464 nm
    np.testing.assert_allclose(native[[42, 27, 9]], [634.9, 550.5, 463.6], atol=0.5)
    # file_index reorders a product array into sorted band order
    product = np.arange(224)[:, None, None] * 1.0
    np.testing.assert_array_equal(product[bs.file_index, 0, 0], bs.file_index)
    assert np.allclose(native[bs.file_index], bs.wavelengths)


def test_hyspecnet202_drops_indices() -> None:
    full = get_bandset("enmap224")
    hs = get_bandset("hyspecnet202")
    native_full = full.wavelengths[np.argsort(full.file_index)]
    native_hs = hs.wavelengths[np.argsort(hs.file_index)]
    assert len(HYSPECNET_DROP) == 22
    expected = np.delete(native_full, list(HYSPECNET_DROP))
    np.testing.assert_array_equal(native_hs, expected)
    dropped = native_full[list(HYSPECNET_DROP)]
    # the dropped bands are the 1400 nm and 1900 nm water-vapour regions
    assert np.all(((dropped > 1280) & (dropped < 1530)) | ((dropped > 1730) & (dropped < 1980)))


def test_emit285_good_bands() -> None:
    bs = get_bandset("emit285")
    assert bs.good is not None and bs.good.dtype == bool
    bad = bs.wavelengths[~bs.good]
    assert 20 < bad.size < 60
    assert np.all(((bad >= 1320) & (bad <= 1450)) | ((bad >= 1770) & (bad <= 1960)))
    assert bs.wavelengths[0] == pytest.approx(381.0) and bs.wavelengths[-1] == pytest.approx(2493.0)
    assert np.diff(bs.wavelengths).mean() == pytest.approx(7.44, abs=0.05)
    assert "good_band" in bs.coords()


def test_bandset_from_arrays() -> None:
    bs = BandSet.from_arrays([500.0, 510.0, 530.0])
    np.testing.assert_allclose(bs.fwhm, [10.0, 15.0, 20.0])
    assert bs.name == "custom"
    with pytest.raises(ValueError):
        BandSet.from_arrays([500.0, 490.0])



def test_registered_bandset_found_by_its_own_name() -> None:
    from specrecon.spectral import BandSet, get_bandset, register_bandset

    bs = register_bandset(BandSet.from_arrays([500, 600], name="My-Set two"), overwrite=True)
    assert get_bandset("My-Set two") is bs
    assert get_bandset("my_set_two") is bs


def test_loading_measured_sensors_leaves_numpy_print_options_alone() -> None:
    import subprocess
    import sys

    code = ("import numpy as np; before = np.get_printoptions(); "
            "from specrecon.spectral import get_sensor; get_sensor('nikon_d5100'); "
            "from specrecon.datasets.synthetic import natural_library; natural_library(); "
            "import colour; assert 'colour' in __import__('sys').modules; "
            "print(np.get_printoptions() == before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
