"""Silent data problems of issue 11: each reproduced first, then refused or fixed.

1. resume continues the same cube only (fingerprint), also on finished stores;
2. incomplete outputs never read as complete (zarr write plan, NetCDF temp file);
3. nodata follows GDAL's mask semantics (a pixel is missing only when every band is);
4. the GeoTransform is right for every supported spatial dim naming;
5. ``scale`` multiplies, must be positive and finite; complex input is refused;
6. one overwrite policy and clear errors for bad output paths and options.
"""

from __future__ import annotations

import os
from pathlib import Path

import dask
import numpy as np
import pytest
import torch
import xarray as xr

import specrecon  # noqa: F401  (registers .hsr)
from specrecon.cube import make_cube, make_rgb
from specrecon.errors import (
    DataScaleError,
    DatasetFormatError,
    ResumeMismatchError,
    SpecReconError,
)
from specrecon.inference import reconstruct
from specrecon.io import WRITE_PLAN_ATTR, open_cube, to_netcdf, to_zarr

WL = np.arange(400, 701, 10.0)


def _weights(path: Path, seed: int) -> Path:
    from specrecon.models import ModelCard, create_model, save_model

    torch.manual_seed(seed)
    m = create_model("hydra-tiny-31")
    save_model(m, path, ModelCard.from_model(m, wavelengths=WL.tolist(), tile_size=32,
                                             tile_overlap=8))
    return path


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("w")
    return _weights(d / "a.safetensors", 0), _weights(d / "b.safetensors", 1)


def _rgb(seed: int = 3, ny: int = 64, nx: int = 48) -> xr.DataArray:
    data = np.random.default_rng(seed).random((3, ny, nx), dtype="float32")
    return make_rgb(data).chunk({"y": 16, "x": 48})


def _interrupt(store: Path, done: list[int]) -> None:
    """Make a finished store look like a write killed after the steps in ``done``."""
    import zarr

    group = zarr.open_group(str(store), mode="r+", use_consolidated=False)
    plan = dict(group.attrs[WRITE_PLAN_ATTR])
    plan.update(done=done, complete=False)
    group.attrs[WRITE_PLAN_ATTR] = plan


# ----------------------------------------------------------------------------- 1. resume
def test_resume_refuses_another_model_or_scene(tmp_path: Path,
                                               two_models: tuple[Path, Path]) -> None:
    a, b = two_models
    store = tmp_path / "c.zarr"
    with dask.config.set(scheduler="synchronous"):
        to_zarr(reconstruct(_rgb(), a, device="cpu"), store, rows_per_step=1)
        _interrupt(store, [0, 1])
        with pytest.raises(ResumeMismatchError, match="model_sha256"):
            to_zarr(reconstruct(_rgb(), b, device="cpu"), store, resume=True, rows_per_step=1)
        with pytest.raises(ResumeMismatchError, match="input"):
            to_zarr(reconstruct(_rgb(seed=4), a, device="cpu"), store, resume=True,
                    rows_per_step=1)
        with pytest.raises(ResumeMismatchError, match="input_scale"):
            to_zarr(reconstruct(_rgb(), a, device="cpu", scale=0.5), store, resume=True,
                    rows_per_step=1)
        with pytest.raises(ResumeMismatchError, match="tile"):
            to_zarr(reconstruct(_rgb(), a, device="cpu", tile_size=24), store, resume=True,
                    rows_per_step=1)
        # the same cube resumes fine, and the store then reads as complete
        to_zarr(reconstruct(_rgb(), a, device="cpu"), store, resume=True, rows_per_step=1)
        assert open_cube(store).attrs["model_sha256"] == reconstruct(_rgb(), a).attrs[
            "model_sha256"]
        # a finished store refuses a resume with another model instead of saying "wrote"
        with pytest.raises(ResumeMismatchError, match="model_sha256"):
            to_zarr(reconstruct(_rgb(), b, device="cpu"), store, resume=True)
        to_zarr(reconstruct(_rgb(), a, device="cpu"), store, resume=True)   # same: no-op


def test_resume_error_says_what_to_do(tmp_path: Path, two_models: tuple[Path, Path]) -> None:
    a, b = two_models
    store = tmp_path / "c.zarr"
    to_zarr(reconstruct(_rgb(), a, device="cpu"), store)
    _interrupt(store, [0])
    with pytest.raises(ResumeMismatchError) as info:
        to_zarr(reconstruct(_rgb(), b, device="cpu"), store, resume=True)
    msg = str(info.value)
    assert str(store) in msg and "mode='w'" in msg and "To fix" in msg


# ----------------------------------------------------------------------------- 2. incomplete
def test_incomplete_zarr_store_is_refused_by_open_cube_and_flagged_by_info(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from specrecon.cli import main

    cube = make_cube(np.ones((31, 12, 10), "float32"), WL).chunk({"y": 4})
    store = to_zarr(cube, tmp_path / "c.zarr", rows_per_step=1)
    _interrupt(store, [0])
    with pytest.raises(DatasetFormatError, match="incomplete"):
        open_cube(store)
    with pytest.warns(UserWarning, match="incomplete"):
        part = open_cube(store, allow_incomplete=True)
    assert part.shape == (31, 12, 10)
    assert main(["info", str(store)]) == 0
    captured = capsys.readouterr()
    assert "INCOMPLETE" in captured.out and "1 of 3" in captured.out
    assert "resume" in captured.err


class _Boom:
    def __call__(self, block: np.ndarray, block_id: tuple[int, ...] = (0, 0, 0)) -> np.ndarray:
        if block_id[1] == 1:
            raise RuntimeError("simulated crash")
        return block


def test_killed_netcdf_write_leaves_no_file(tmp_path: Path) -> None:
    base = make_cube(np.ones((31, 12, 10), "float32"), WL).chunk({"y": 4})
    bad = base.copy(data=base.data.map_blocks(_Boom(), dtype="float32"))
    path = tmp_path / "c.nc"
    with dask.config.set(scheduler="synchronous"), pytest.raises(RuntimeError, match="crash"):
        to_netcdf(bad, path)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []            # no temporary file left behind either
    to_netcdf(base, path)
    assert [p.name for p in tmp_path.iterdir()] == ["c.nc"]
    np.testing.assert_array_equal(open_cube(path).values, base.values)


# ----------------------------------------------------------------------------- 3. nodata
def test_nodata_masks_a_pixel_only_when_every_band_is_nodata() -> None:
    net = torch.nn.Conv2d(3, 31, 1)
    rng = np.random.default_rng(0)
    data = rng.integers(1, 256, (3, 16, 16)).astype("uint8")
    data[0, 2, 3] = 0          # red is 0 (a valid dark value): the pixel stays valid
    data[:, 5, 6] = 0          # every band is nodata: the pixel is missing
    rgb = make_rgb(data)
    rgb.attrs["_FillValue"] = 0
    for arr in (rgb, rgb.chunk({"y": 8})):
        out = reconstruct(arr, net, device="cpu", tile_size=16, wavelengths=WL).values
        assert np.isfinite(out[:, 2, 3]).all()
        assert np.isnan(out[:, 5, 6]).all()
        assert int(np.isnan(out[0]).sum()) == 1


# ----------------------------------------------------------------------------- 4. transform
@pytest.mark.parametrize("dims", [("y", "x"), ("lat", "lon"), ("latitude", "longitude"),
                                  ("rows", "cols"), ("row", "col"), ("height", "width")])
@pytest.mark.parametrize("fmt", ["zarr", "nc"])
def test_geotransform_for_every_dim_naming(tmp_path: Path, dims: tuple[str, str],
                                           fmt: str) -> None:
    pytest.importorskip("rioxarray")
    ydim, xdim = dims
    y = 50.0 - 0.1 * (np.arange(6) + 0.5)
    x = 10.0 + 0.1 * (np.arange(8) + 0.5)
    cube = make_cube(np.ones((31, 6, 8), "float32"), WL, y=y, x=x, dims=dims)
    cube = cube.rio.set_spatial_dims(x_dim=xdim, y_dim=ydim).rio.write_crs("EPSG:4326")
    path = (to_zarr if fmt == "zarr" else to_netcdf)(cube, tmp_path / f"c.{fmt}")
    with xr.open_dataset(path, decode_coords="all", engine="zarr" if fmt == "zarr" else None) \
            as ds:
        gt = [float(v) for v in ds["spatial_ref"].attrs["GeoTransform"].split()]
    np.testing.assert_allclose(gt, [10.0, 0.1, 0.0, 50.0, 0.0, -0.1], atol=1e-9)
    opened = open_cube(path)
    np.testing.assert_allclose(tuple(opened.rio.transform())[:6],
                               (0.1, 0.0, 10.0, 0.0, -0.1, 50.0), atol=1e-9)


# ----------------------------------------------------------------------------- 5. scale
def test_scale_must_be_positive_and_finite_and_complex_is_refused() -> None:
    net = torch.nn.Conv2d(3, 31, 1)
    rgb = make_rgb(np.full((3, 8, 8), 5000, "uint16"))
    for bad in (0.0, -1e-4, float("nan"), float("inf")):
        with pytest.raises(DataScaleError, match="scale"):
            reconstruct(rgb, net, device="cpu", scale=bad, wavelengths=WL)
    cplx = make_rgb(np.full((3, 8, 8), 0.5 + 0.1j, "complex64"))
    with pytest.raises(DataScaleError, match="complex"):
        reconstruct(cplx, net, device="cpu", wavelengths=WL)


def test_cli_scale_help_says_it_multiplies(capsys: pytest.CaptureFixture[str]) -> None:
    from specrecon.cli import main

    with pytest.raises(SystemExit):
        main(["reconstruct", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "multiply" in text and "1e-4" in text and "divide" not in text


# ----------------------------------------------------------------------------- 6. policy/errors
@pytest.mark.parametrize("option", ["--chunks", "--batch-size"])
def test_cli_refuses_zero_chunks(tmp_path: Path, option: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from specrecon.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["reconstruct", str(tmp_path / "in.tif"), str(tmp_path / "o.zarr"), option, "0"])
    assert exc.value.code == 2
    assert option in capsys.readouterr().err


def test_one_overwrite_policy_for_zarr_and_netcdf(tmp_path: Path) -> None:
    cube = make_cube(np.ones((31, 4, 5), "float32"), WL)
    for writer, name in ((to_zarr, "c.zarr"), (to_netcdf, "c.nc")):
        path = writer(cube, tmp_path / name)
        with pytest.raises(FileExistsError) as info:
            writer(cube * 2, path)
        msg = str(info.value)
        assert str(path) in msg and "mode='w'" in msg
        assert isinstance(info.value, SpecReconError)
        writer(cube * 2, path, mode="w")
        np.testing.assert_array_equal(open_cube(path).values, 2.0)
    with pytest.raises(FileExistsError, match="resume=True"):
        to_zarr(cube, tmp_path / "c.zarr")


def test_output_suffix_and_missing_or_unwritable_paths(tmp_path: Path) -> None:
    cube = make_cube(np.ones((31, 4, 5), "float32"), WL)
    with pytest.raises(DatasetFormatError, match=r"\.nc"):
        to_netcdf(cube, tmp_path / "c.zarr")
    with pytest.raises(DatasetFormatError, match=r"\.zarr"):
        to_zarr(cube, tmp_path / "c.nc")
    for writer, name in ((to_zarr, "c.zarr"), (to_netcdf, "c.nc")):
        with pytest.raises(DatasetFormatError, match="does not exist"):
            writer(cube, tmp_path / "no" / "such" / name)
    with pytest.raises(DatasetFormatError, match="no such"):
        open_cube(tmp_path / "missing.zarr")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return          # root ignores directory permissions
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        for writer, name in ((to_zarr, "c.zarr"), (to_netcdf, "c.nc")):
            with pytest.raises(DatasetFormatError, match="writ"):
                writer(cube, ro / name)
    finally:
        ro.chmod(0o700)


def test_batch_size_below_one_is_refused() -> None:
    from specrecon.errors import ConfigError

    with pytest.raises(ConfigError, match="batch_size"):
        reconstruct(make_rgb(np.zeros((3, 8, 8), "float32")), torch.nn.Conv2d(3, 31, 1),
                    device="cpu", wavelengths=WL, batch_size=0)


def test_cli_resume_on_a_finished_store(tmp_path: Path, two_models: tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("rioxarray")
    from specrecon.cli import main

    tif = tmp_path / "rgb.tif"
    (_rgb().compute() * 255).round().astype("uint8").rio.to_raster(tif)
    out = tmp_path / "c.zarr"
    base = ["reconstruct", str(tif), str(out), "--chunks", "32", "--no-progress"]
    assert main([*base, "--model", str(two_models[0])]) == 0
    capsys.readouterr()
    assert main([*base, "--model", str(two_models[1]), "--resume"]) == 2
    assert "model_sha256" in capsys.readouterr().err
    assert main([*base, "--model", str(two_models[0]), "--resume"]) == 0
    assert "already complete" in capsys.readouterr().out
