"""ENVI reader/writer and LIB-HSI on hand-written headers and binaries."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from specrecon.cube import make_cube
from specrecon.datasets import LIBHSI, open_envi, read_envi_header, write_envi
from specrecon.errors import DatasetFormatError

B, L, S = 4, 5, 6  # bands, lines, samples
VALUES = (np.arange(B * L * S).reshape(B, L, S) * 7 % 251).astype("int16")


def write_raw(folder: Path, name: str, interleave: str, *, dtype: str = "<i2", code: int = 2,
              byte_order: int = 0, offset: int = 0, extra: str = "", ext: str = ".img",
              data: np.ndarray = VALUES) -> Path:
    """Write binary + header by hand, independently of write_envi."""
    disk = {"bsq": data, "bil": data.transpose(1, 0, 2), "bip": data.transpose(1, 2, 0)}[interleave]
    with open(folder / f"{name}{ext}", "wb") as fh:
        fh.write(b"\0" * offset)
        fh.write(np.ascontiguousarray(disk).astype(dtype).tobytes())
    hdr = folder / f"{name}.hdr"
    hdr.write_text(
        "ENVI\ndescription = {test\n  cube}\n"
        f"samples = {S}\nlines   = {L}\nbands = {data.shape[0]}\nheader offset = {offset}\n"
        f"file type = ENVI Standard\ndata type = {code}\ninterleave = {interleave}\n"
        f"byte order = {byte_order}\n"
        "wavelength units = Micrometers\n"
        "wavelength = {\n 0.45, 0.55,\n 0.65, 0.75}\nfwhm = {0.01, 0.01, 0.02, 0.02}\n"
        + extra)
    return hdr


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("dtype,code,order", [("<i2", 2, 0), (">i2", 2, 1), (">f4", 4, 1),
                                              ("<u2", 12, 0), (">f8", 5, 1)])
def test_interleaves_and_byte_orders(tmp_path, interleave, dtype, code, order):
    hdr = write_raw(tmp_path, "c", interleave, dtype=dtype, code=code, byte_order=order,
                    offset=16)
    cube = open_envi(hdr)
    assert cube.dims == ("wavelength", "y", "x") and cube.shape == (B, L, S)
    assert cube.dtype == np.float32
    np.testing.assert_array_equal(cube.values, VALUES.astype("float32"))
    np.testing.assert_allclose(cube.wavelength.values, [450, 550, 650, 750])
    np.testing.assert_allclose(cube.fwhm.values, [10, 10, 20, 20])
    assert cube.attrs["description"] == "test cube"
    # lazy variants agree
    raw = open_envi(tmp_path / "c.img", scale=False)
    assert raw.dtype == np.dtype(dtype)  # the memory map keeps the stored type
    np.testing.assert_array_equal(np.asarray(raw.values, "float32"), VALUES)
    lazy = open_envi(hdr, chunks={"y": 2})
    assert lazy.chunks is not None and lazy.chunks[1] == (2, 2, 1)
    np.testing.assert_array_equal(lazy.values, VALUES.astype("float32"))


def test_scale_ignore_bbl_and_sorting(tmp_path):
    data = VALUES.copy()
    data[1, 0, 0] = -9999
    hdr = write_raw(tmp_path, "s", "bil", data=data,
                    extra="reflectance scale factor = 10000\ndata ignore value = -9999\n"
                          "bbl = {1, 0, 1, 1}\n")
    # put the wavelengths out of order in the header: bands must come back sorted
    text = hdr.read_text().replace("0.45, 0.55,\n 0.65, 0.75", "0.55, 0.45,\n 0.65, 0.75")
    hdr.write_text(text.replace("wavelength units = Micrometers\n", ""))  # unknown units: guess
    cube = open_envi(hdr)
    np.testing.assert_allclose(cube.wavelength.values, [450, 550, 650, 750])
    assert np.isnan(cube.values[0, 0, 0])  # file band 1 (0.45 um) holds the ignore value
    np.testing.assert_allclose(cube.values[1], data[0] / 10000, rtol=1e-6)
    assert cube.good_band.values.tolist() == [False, True, True, True]
    raw = open_envi(hdr, scale=False)
    assert raw.attrs["reflectance_scale_factor"] == 10000
    assert raw.attrs["data_ignore_value"] == -9999
    lazy = open_envi(hdr, chunks="auto")
    np.testing.assert_array_equal(np.isnan(lazy.values), np.isnan(cube.values))
    assert pickle.loads(pickle.dumps(lazy)).values[1, 2, 3] == cube.values[1, 2, 3]


def test_map_info_utm(tmp_path):
    hdr = write_raw(tmp_path, "m", "bsq", extra=(
        "map info = {UTM, 2.000, 1.000, 500060.0, 5800000.0, 30.0, 30.0, 33, North, WGS-84, "
        "units=Meters}\n"))
    cube = open_envi(hdr)
    assert cube.rio.crs.to_epsg() == 32633
    t = cube.rio.transform()
    assert (t.c, t.f, t.a, t.e) == (500030.0, 5800000.0, 30.0, -30.0)
    assert cube.x.values[0] == 500045.0 and cube.y.values[0] == 5799985.0


def test_write_envi_round_trip_with_crs(tmp_path):
    import rioxarray  # noqa: F401

    rng = np.random.default_rng(0)
    cube = make_cube(rng.random((3, 4, 5), dtype="float32"), [500.0, 600.0, 700.0],
                     [9.0, 9.5, 10.0], good_band=[True, False, True],
                     y=5800000 - 15 - 30 * np.arange(4.0), x=400015 + 30 * np.arange(5.0))
    cube = cube.rio.write_crs("EPSG:32733").rio.write_transform()
    for il in ("bsq", "bil", "bip"):
        hdr = write_envi(cube, tmp_path / f"r_{il}.hdr", interleave=il, byte_order=1)
        assert (tmp_path / f"r_{il}.img").stat().st_size == 3 * 4 * 5 * 4
        back = open_envi(hdr)
        np.testing.assert_array_equal(back.values, cube.values)
        np.testing.assert_allclose(back.fwhm.values, [9.0, 9.5, 10.0])
        assert back.good_band.values.tolist() == [True, False, True]
        assert back.rio.crs.to_epsg() == 32733
        np.testing.assert_allclose(back.x.values, cube.x.values)
        np.testing.assert_allclose(back.y.values, cube.y.values)
    h = read_envi_header(tmp_path / "r_bip.hdr")
    assert h["interleave"] == "bip" and h["byte order"] == 1 and h["data type"] == 4
    assert h["map info"][:1] == ["UTM"] and h["map info"][8] == "South"
    ints = write_envi(np.arange(24, dtype="uint16").reshape(2, 3, 4), tmp_path / "u",
                      wavelengths=[1.0e3, 1.1e3])
    np.testing.assert_array_equal(open_envi(ints, scale=False).values,
                                  np.arange(24).reshape(2, 3, 4))
    with pytest.raises(DatasetFormatError, match="ENVI code"):
        write_envi(np.zeros((1, 2, 2), bool), tmp_path / "b", wavelengths=[500])


def test_errors(tmp_path):
    hdr = write_raw(tmp_path, "e", "bsq")
    (tmp_path / "e.img").write_bytes(b"\0" * 10)
    with pytest.raises(DatasetFormatError, match=r"expected 240 bytes.*found 10 bytes"):
        open_envi(hdr)
    hdr.write_text(hdr.read_text().replace("data type = 2", "data type = 7"))
    with pytest.raises(DatasetFormatError, match="data type code.*found 7"):
        open_envi(hdr)
    (tmp_path / "x.hdr").write_text("not a header")
    (tmp_path / "x.img").write_bytes(b"")
    with pytest.raises(DatasetFormatError, match="starting with the word 'ENVI'"):
        open_envi(tmp_path / "x.img")
    (tmp_path / "x.hdr").write_text("ENVI\nsamples = 2\nlines = 2\n")
    with pytest.raises(DatasetFormatError, match="'bands'"):
        open_envi(tmp_path / "x.hdr")
    (tmp_path / "x.hdr").write_text("ENVI\nsamples = 2\nlines = 1\nbands = 1\ndata type = 1\n")
    (tmp_path / "x.img").write_bytes(b"\1\2")
    with pytest.raises(DatasetFormatError, match="wavelength"):
        open_envi(tmp_path / "x.hdr")
    assert open_envi(tmp_path / "x.hdr", wavelengths=[550.0]).values.tolist() == [[[1.0, 2.0]]]
    with pytest.raises(DatasetFormatError, match="binary next to"):
        open_envi(tmp_path / "nothing.hdr")
    (tmp_path / "y.hdr").write_text("ENVI\nwavelength = {1, 2\n")
    with pytest.raises(DatasetFormatError, match="closing"):
        read_envi_header(tmp_path / "y.hdr")


def make_libhsi(root: Path, split: str, names: list[str], rgb: bool = True) -> None:
    cubes, rgbs = root / split / "reflectance_cubes", root / split / "rgb"
    cubes.mkdir(parents=True)
    rgbs.mkdir(parents=True)
    for i, name in enumerate(names):
        write_raw(cubes, name, "bil", dtype="<f4", code=4, ext=".dat",
                  data=VALUES.astype("float32") / 300 + i)
        if rgb:
            Image.fromarray(np.full((L, S, 3), 10 * i, np.uint8)).save(rgbs / f"{name}.png")


def test_libhsi(tmp_path):
    make_libhsi(tmp_path, "train", ["b_scene", "a_scene"])
    make_libhsi(tmp_path, "validation", ["v"], rgb=False)
    ds = LIBHSI(tmp_path, "train")
    assert len(ds) == 2 and ds.names == ["a_scene", "b_scene"]
    rgb, cube = ds[1]
    assert cube.attrs["scene"] == "b_scene" and cube.shape == (B, L, S)
    np.testing.assert_allclose(cube.values, VALUES / 300 + 0, rtol=1e-6)
    np.testing.assert_allclose(rgb.values, 0.0)
    np.testing.assert_allclose(ds[0][0].values, 10 / 255, rtol=1e-6)
    with pytest.raises(DatasetFormatError, match="rgb/v.png.*require_rgb=False"):
        LIBHSI(tmp_path, "val")
    rgb, cube = LIBHSI(tmp_path, "val", require_rgb=False)[0]
    assert rgb is None and cube.shape == (B, L, S)
    with pytest.raises(DatasetFormatError, match=r"test/reflectance_cubes/.*found train/, "
                                                 r"validation/"):
        LIBHSI(tmp_path, "test")
