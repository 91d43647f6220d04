"""ARAD-1K loaders on tiny files written in the published formats."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image

from specrecon.datasets import ARAD1K, open_arad_cube, open_arad_rgb
from specrecon.errors import DatasetFormatError

H, W = 12, 10  # small stand-in for 482 x 512


def write_v73(path: Path, cube_yxb: np.ndarray, *, bands: bool = True,
              norm: float | None = 4095.0) -> None:
    """Write like MATLAB ``save -v7.3``: 512-byte header, column-major (transposed) data."""
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("cube", data=cube_yxb.T.astype("float32"))  # (band, x, y)
        if bands:
            f.create_dataset("bands", data=np.arange(400.0, 701.0, 10.0)[:, None].T)  # (1, 31)
        if norm is not None:
            f.create_dataset("norm_factor", data=np.array([[norm]]))
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan 1 2022 HDF5 schema")


def scene(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((H, W, 31), dtype="float32")  # MATLAB order


def write_jpeg(path: Path, seed: int) -> np.ndarray:
    # smooth colour ramps survive JPEG well; the seed shifts them per scene
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack([20 * yy + seed % 7, 25 * xx, 200 - 10 * yy], axis=-1).astype(np.uint8)
    Image.fromarray(img).save(path, quality=95, subsampling=0)
    return img


def test_open_v73_transposes_and_reads_metadata(tmp_path):
    data = scene(0)
    write_v73(tmp_path / "ARAD_1K_0001.mat", data)
    with h5py.File(tmp_path / "ARAD_1K_0001.mat") as f:
        assert f["cube"].shape == (31, W, H)  # stored transposed, as published
    cube = open_arad_cube(tmp_path / "ARAD_1K_0001.mat")
    assert cube.dims == ("wavelength", "y", "x")
    assert cube.shape == (31, H, W)
    assert cube.dtype == np.float32
    np.testing.assert_array_equal(cube.values, np.moveaxis(data, -1, 0))
    np.testing.assert_array_equal(cube.wavelength.values, np.arange(400, 701, 10.0))
    assert cube.attrs["norm_factor"] == 4095.0
    assert cube.attrs["mat_version"] == "7.3"
    assert cube.wavelength.attrs["units"] == "nm"


def test_open_v73_without_bands_uses_default_grid(tmp_path):
    write_v73(tmp_path / "a.mat", scene(1), bands=False, norm=None)
    cube = open_arad_cube(tmp_path / "a.mat")
    np.testing.assert_array_equal(cube.wavelength.values, np.arange(400, 701, 10.0))
    assert np.isnan(cube.attrs["norm_factor"])


def test_open_v5_mat_via_scipy(tmp_path):
    data = scene(2)
    scipy.io.savemat(tmp_path / "v5.mat", {"cube": data, "bands": np.arange(400, 701, 10.0),
                                           "norm_factor": 2.0})
    cube = open_arad_cube(tmp_path / "v5.mat")
    assert cube.attrs["mat_version"] == "5"
    np.testing.assert_array_equal(cube.values, np.moveaxis(data, -1, 0))


def test_bad_mat_files(tmp_path):
    (tmp_path / "junk.mat").write_bytes(b"<html>not found</html>")
    with pytest.raises(DatasetFormatError, match="v7.3"):
        open_arad_cube(tmp_path / "junk.mat")
    with h5py.File(tmp_path / "nocube.mat", "w") as f:
        f["rad"] = np.zeros((31, 2, 2))
    with pytest.raises(DatasetFormatError, match=r"'cube'.*\['rad'\]"):
        open_arad_cube(tmp_path / "nocube.mat")
    with pytest.raises(DatasetFormatError, match="no file"):
        open_arad_cube(tmp_path / "missing.mat")
    with h5py.File(tmp_path / "wrongbands.mat", "w") as f:
        f["cube"] = np.zeros((31, 3, 2), "float32")
        f["bands"] = np.arange(30.0) * 10 + 400
    with pytest.raises(DatasetFormatError, match="one 'bands' entry per cube band"):
        open_arad_cube(tmp_path / "wrongbands.mat")


def test_open_rgb(tmp_path):
    img = write_jpeg(tmp_path / "x.jpg", 0)
    rgb = open_arad_rgb(tmp_path / "x.jpg")
    assert rgb.dims == ("band", "y", "x") and rgb.shape == (3, H, W)
    assert rgb.dtype == np.float32
    assert list(rgb.band_name.values) == ["red", "green", "blue"]
    # JPEG is lossy: compare loosely, but the channel order must be right
    ref = np.moveaxis(img, -1, 0) / 255.0
    assert np.abs(rgb.values - ref).max() < 0.05
    assert 0.0 <= rgb.values.min() and rgb.values.max() <= 1.0
    red = np.zeros((H, W, 3), np.uint8)
    red[..., 0] = 255
    Image.fromarray(red).save(tmp_path / "red.png")
    r = open_arad_rgb(tmp_path / "red.png").values
    assert r[0].min() == 1.0 and r[1:].max() == 0.0
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    with pytest.raises(DatasetFormatError, match="Pillow"):
        open_arad_rgb(tmp_path / "bad.jpg")


def make_tree(root: Path, ids: dict[str, list[int]]) -> None:
    folders = {"train": ("Train_Spectral", "Train_RGB"), "valid": ("Valid_Spectral", "Valid_RGB"),
               "test": (None, "Test_RGB")}
    for split, id_list in ids.items():
        spec, rgb = folders[split]
        (root / rgb).mkdir(parents=True, exist_ok=True)
        if spec:
            (root / spec).mkdir(parents=True, exist_ok=True)
        for i in id_list:
            write_jpeg(root / rgb / f"ARAD_1K_{i:04d}.jpg", i)
            if spec:
                write_v73(root / spec / f"ARAD_1K_{i:04d}.mat", scene(i))


def test_dataset_split_by_id_lazy_pairs(tmp_path):
    # valid folder also holds a stray training id, which must be ignored
    make_tree(tmp_path, {"train": [1, 2], "valid": list(range(901, 951)), "test": [951, 952]})
    (tmp_path / "Valid_RGB" / "readme.txt").write_text("x")
    write_v73(tmp_path / "Valid_Spectral" / "ARAD_1K_0003.mat", scene(3))
    write_jpeg(tmp_path / "Valid_RGB" / "ARAD_1K_0003.jpg", 3)
    valid = ARAD1K(tmp_path, "valid")
    assert len(valid) == 50 and valid.ids[0] == 901 and valid.ids[-1] == 950
    rgb, cube = valid[-1]
    assert cube.attrs["scene"] == "ARAD_1K_0950"
    np.testing.assert_array_equal(cube.values, np.moveaxis(scene(950), -1, 0))
    assert rgb.shape == (3, H, W)
    with pytest.raises(IndexError):
        valid[50]
    assert len(valid[:3]) == 3

    train = ARAD1K(tmp_path, "train", strict=False)
    assert train.ids == [1, 2]
    test = ARAD1K(tmp_path, "test", strict=False)
    assert test.ids == [951, 952]
    rgb, cube = test[0]
    assert cube is None and rgb.attrs["scene"] == "ARAD_1K_0951"


def test_strict_reports_missing_files(tmp_path):
    make_tree(tmp_path, {"train": [1, 2]})
    with pytest.raises(DatasetFormatError, match=r"900 train scenes.*898 RGB file\(s\) missing, "
                                                 r"e\.g\. ARAD_1K_0003.*strict=False"):
        ARAD1K(tmp_path, "train")


def test_missing_folders_are_named(tmp_path):
    (tmp_path / "spectral").mkdir()
    with pytest.raises(DatasetFormatError, match=r"Train_Spectral/, Train_RGB/.*found spectral/"):
        ARAD1K(tmp_path, "train")
    with pytest.raises(DatasetFormatError, match="split in"):
        ARAD1K(tmp_path, "validation")
    with pytest.raises(DatasetFormatError, match="no folder"):
        ARAD1K(tmp_path / "nope")


def test_case_insensitive_folders_and_no_ids_in_range(tmp_path):
    (tmp_path / "Train_spectral").mkdir()
    (tmp_path / "train_rgb").mkdir()
    write_v73(tmp_path / "Train_spectral" / "ARAD_1K_0901.mat", scene(0))
    write_jpeg(tmp_path / "train_rgb" / "ARAD_1K_0901.jpg", 0)
    with pytest.raises(DatasetFormatError, match="none with an id in that range"):
        ARAD1K(tmp_path, "train", strict=False)
    write_v73(tmp_path / "Train_spectral" / "ARAD_1K_0005.mat", scene(5))
    write_jpeg(tmp_path / "train_rgb" / "ARAD_1K_0005.jpg", 5)
    assert ARAD1K(tmp_path, "train", strict=False).ids == [5]


def test_feeds_paired_patch_dataset(tmp_path):
    pytest.importorskip("torch")
    from specrecon.datasets import PairedPatchDataset

    make_tree(tmp_path, {"train": [1, 2]})
    ds = PairedPatchDataset(ARAD1K(tmp_path, "train", strict=False), patch_size=8,
                            patches_per_item=2)
    rgb, cube = ds[3]
    assert rgb.shape == (3, 8, 8) and cube.shape == (31, 8, 8)
