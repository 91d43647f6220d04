"""The .hsr accessor forwards to the functions (end to end on a tiny georeferenced scene)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import xarray as xr

import specrecon  # noqa: F401
from specrecon.cube import make_rgb
from specrecon.inference import reconstruct
from specrecon.io import open_cube

WL = np.arange(400, 701, 10.0)


@pytest.fixture(scope="module")
def scene() -> tuple[xr.DataArray, torch.nn.Module]:
    pytest.importorskip("rioxarray")
    from specrecon.models import create_model

    torch.manual_seed(1)
    model = create_model("mst-plus-plus-tiny-31").eval()
    data = np.random.default_rng(2).random((3, 48, 64), dtype="float32")
    rgb = make_rgb(data, y=4_000_000.0 - 10 * np.arange(48), x=500_000.0 + 10 * np.arange(64))
    return rgb.rio.write_crs("EPSG:32633").chunk({"y": 24, "x": 32}), model


def test_dataarray_reconstruct_matches_function(scene: tuple) -> None:
    rgb, model = scene
    kw = {"tile_size": 32, "overlap": 8, "device": "cpu", "wavelengths": WL}
    a = rgb.hsr.reconstruct(model=model, **kw)
    b = reconstruct(rgb, model, **kw)
    xr.testing.assert_identical(a.compute(), b.compute())
    ds = xr.Dataset({"image": rgb})
    c = ds.hsr.reconstruct(model=model, **kw)
    np.testing.assert_allclose(c.values, b.values, atol=1e-6)


def test_cube_methods(scene: tuple, tmp_path: Path) -> None:
    rgb, model = scene
    cube = rgb.hsr.reconstruct(model=model, tile_size=32, overlap=8, device="cpu",
                               wavelengths=WL)
    z = cube.hsr.to_zarr(tmp_path / "c.zarr")
    n = cube.hsr.to_netcdf(tmp_path / "c.nc")
    for path in (z, n):
        back = open_cube(path)
        assert back.rio.crs.to_epsg() == 32633
        np.testing.assert_allclose(back.values, cube.values, atol=1e-6)
    ds_path = cube.to_dataset(name="refl").hsr.to_zarr(tmp_path / "d.zarr")
    assert open_cube(ds_path).rio.crs.to_epsg() == 32633
    rgb_back = cube.hsr.to_rgb("sentinel2_msi_rgb")
    assert rgb_back.sizes.get("y") == 48 and 3 in rgb_back.shape
    scores = cube.hsr.evaluate(cube)
    assert float(scores["rmse"]) == 0.0
    fig = cube.hsr.plot_spectra([(0, 0)], pixels=True)
    assert len(fig.axes[0].lines) == 1
    fig = cube.hsr.plot_bands([500, 600], ncols=2)
    assert len(fig.axes) == 2
