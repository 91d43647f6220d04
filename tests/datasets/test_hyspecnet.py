"""HySpecNet-11k loader on tiny GeoTIFF/npy patches written in the published layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from specrecon.datasets import HySpecNet11k, open_hyspecnet_patch
from specrecon.datasets.hyspecnet import HYSPECNET_DROPPED_BANDS
from specrecon.errors import DatasetFormatError

S = 6  # patch side (128 in the real data)
KEEP = [b for b in range(224) if b not in HYSPECNET_DROPPED_BANDS]
TRANSFORM = from_origin(500000.0, 5800000.0, 30.0, 30.0)


def product_data(seed: int = 0) -> np.ndarray:
    """int16 (224, S, S): value = 10 * band + pixel pattern, so every band is identifiable."""
    pattern = np.random.default_rng(seed).integers(0, 10, (S, S))
    data = (np.arange(224)[:, None, None] * 10 + pattern).astype("int16")
    data[:, 0, 0] = -32768  # EnMAP nodata
    data[5, 1, 1] = 12000  # above the clip range
    return data


def write_patch(root: Path, tile: int, patch: int, *, seed: int = 0, tif: bool = True,
                npy: bool = False) -> Path:
    name = f"tile_{tile:03d}-patch_{patch:02d}"
    folder = root / "patches" / f"tile_{tile:03d}" / name
    folder.mkdir(parents=True, exist_ok=True)
    data = product_data(seed)
    if tif:
        with rasterio.open(folder / f"{name}-SPECTRAL_IMAGE.TIF", "w", driver="GTiff",
                           height=S, width=S, count=224, dtype="int16", crs="EPSG:32633",
                           transform=TRANSFORM, nodata=-32768) as dst:
            dst.write(data)
    if npy:  # as published: 202 bands, clipped and normalised float32
        np.save(folder / f"{name}-DATA.npy",
                (np.clip(data[KEEP], 0, 10000) / 10000).astype("float32"))
    return folder


def product_wavelengths() -> np.ndarray:
    from specrecon.spectral import get_bandset

    enmap = get_bandset("enmap224")
    wl = np.empty(224)
    idx = enmap.file_index if enmap.file_index is not None else np.arange(224)
    wl[idx] = enmap.wavelengths
    return wl


def test_open_tif_drops_sorts_scales_and_keeps_georef(tmp_path):
    folder = write_patch(tmp_path, 1, 1)
    cube = open_hyspecnet_patch(folder / "tile_001-patch_01-SPECTRAL_IMAGE.TIF")
    assert cube.dims == ("wavelength", "y", "x") and cube.shape == (202, S, S)
    assert cube.dtype == np.float32
    wl = cube.wavelength.values
    assert np.all(np.diff(wl) > 0)
    # which product band ended up where: recover it from the encoded values
    raw = np.rint(cube.values[:, 2, 3] * 10000).astype(int)
    product_band = raw // 10
    assert sorted(product_band.tolist()) == KEEP
    np.testing.assert_allclose(wl, product_wavelengths()[product_band])
    # scaling and clipping
    data = product_data()
    b = product_band[7]
    np.testing.assert_allclose(cube.values[7], np.clip(data[b], 0, 10000) / 10000, rtol=1e-6)
    assert cube.values[:, 0, 0].max() == 0.0  # nodata clipped to 0
    k5 = int(np.flatnonzero(product_band == 5)[0])
    assert cube.values[k5, 1, 1] == 1.0
    assert 0.0 <= cube.values.min() and cube.values.max() <= 1.0
    # georeferencing round trip
    assert cube.rio.crs.to_epsg() == 32633
    assert cube.rio.transform() == TRANSFORM
    assert cube.x.values[0] == 500015.0 and cube.y.values[0] == 5799985.0
    assert "fwhm" in cube.coords and cube.attrs["patch"] == "tile_001-patch_01"


def test_npy_source_and_folder_path(tmp_path):
    folder = write_patch(tmp_path, 2, 3, npy=True, seed=4)
    from_tif = open_hyspecnet_patch(folder)
    from_npy = open_hyspecnet_patch(folder, source="npy")
    assert from_npy.attrs["source"].endswith("-DATA.npy")
    np.testing.assert_allclose(from_npy.values, from_tif.values, rtol=1e-6)
    assert from_npy.rio.crs.to_epsg() == 32633  # georef from the TIF next to it
    (folder / "tile_002-patch_03-SPECTRAL_IMAGE.TIF").unlink()
    only_npy = open_hyspecnet_patch(folder / "tile_002-patch_03-DATA.npy")
    np.testing.assert_allclose(only_npy.values, from_tif.values, rtol=1e-6)
    assert "spatial_ref" not in only_npy.coords
    with pytest.raises(DatasetFormatError, match="SPECTRAL_IMAGE.TIF"):
        open_hyspecnet_patch(folder, source="tif")


def test_lazy_chunks(tmp_path):
    folder = write_patch(tmp_path, 1, 1)
    cube = open_hyspecnet_patch(folder, chunks={"band": -1, "y": 3, "x": 3})
    assert cube.chunks is not None
    np.testing.assert_array_equal(cube.values, open_hyspecnet_patch(folder).values)


def test_wrong_band_count_and_missing(tmp_path):
    f = tmp_path / "x-SPECTRAL_IMAGE.TIF"
    with rasterio.open(f, "w", driver="GTiff", height=S, width=S, count=3, dtype="uint8",
                       crs="EPSG:4326", transform=TRANSFORM) as dst:
        dst.write(np.zeros((3, S, S), "uint8"))
    with pytest.raises(DatasetFormatError, match="224 bands.*found 3"):
        open_hyspecnet_patch(f)
    with pytest.raises(DatasetFormatError, match="neither"):
        open_hyspecnet_patch(tmp_path / "nothing-SPECTRAL_IMAGE.TIF")


def write_splits(root: Path, rows: dict[str, list[str]], difficulty: str = "hard") -> None:
    d = root / "splits" / difficulty
    d.mkdir(parents=True, exist_ok=True)
    for split, lines in rows.items():
        (d / f"{split}.csv").write_text("\n".join(lines) + "\n")


def rel(tile: int, patch: int) -> str:
    n = f"tile_{tile:03d}-patch_{patch:02d}"
    return f"tile_{tile:03d}/{n}/{n}-DATA.npy"


def test_dataset_reads_split_csv(tmp_path):
    for t, p in [(1, 1), (1, 2), (2, 1)]:
        write_patch(tmp_path, t, p, seed=t * 10 + p)
    write_splits(tmp_path, {"train": [rel(1, 1), rel(1, 2)], "val": [rel(2, 1)], "test": []})
    train = HySpecNet11k(tmp_path, "train")
    assert len(train) == 2
    assert train.patch_dirs[1].name == "tile_001-patch_02"
    cube = train[-1]
    assert cube.shape == (202, S, S) and cube.attrs["patch"] == "tile_001-patch_02"
    assert HySpecNet11k(tmp_path, "validation")[0].attrs["patch"] == "tile_002-patch_01"
    with pytest.raises(DatasetFormatError, match="no entries"):
        HySpecNet11k(tmp_path, "test")
    with pytest.raises(DatasetFormatError, match=r"splits/easy/train.csv.*found contents "
                                                 r"patches/, splits/"):
        HySpecNet11k(tmp_path, "train", difficulty="easy")
    with pytest.raises(DatasetFormatError, match="difficulty"):
        HySpecNet11k(tmp_path, "train", difficulty="medium")


def test_csv_paths_relative_to_root_and_bad_entries(tmp_path):
    write_patch(tmp_path, 1, 1)
    write_splits(tmp_path, {"train": ["path", "patches/" + rel(1, 1)],
                            "val": ["tile_009/tile_009-patch_01/tile_009-patch_01-DATA.npy"],
                            "test": [rel(1, 1), "garbage"]})
    assert len(HySpecNet11k(tmp_path, "train")) == 1  # header skipped, root-relative path
    with pytest.raises(DatasetFormatError, match="tile_009.*to be a patch folder"):
        HySpecNet11k(tmp_path, "val")
    with pytest.raises(DatasetFormatError, match="'garbage' on line 2"):
        HySpecNet11k(tmp_path, "test")
