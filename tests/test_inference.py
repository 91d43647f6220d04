"""reconstruct(): chunking invariance, no seams, numpy == dask, coords/CRS, and bad input."""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pytest
import torch
import xarray as xr

import specrecon
from specrecon.cube import make_rgb
from specrecon.errors import (
    BandDimensionError,
    ConfigError,
    CoordinateError,
    DataScaleError,
    DeviceError,
    EmptyInputError,
    ModelMismatchError,
    SpatialDimensionError,
)
from specrecon.inference import reconstruct, select_rgb_variable

WL = np.arange(400, 701, 10.0)
KW = {"tile_size": 32, "overlap": 8, "device": "cpu", "wavelengths": WL}


@pytest.fixture(scope="module")
def tiny() -> torch.nn.Module:
    from specrecon.models import create_model

    torch.manual_seed(0)
    return create_model("hydra-tiny-31").eval()


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, tiny: torch.nn.Module) -> Path:
    from specrecon.models import ModelCard, save_model

    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    card = ModelCard.from_model(tiny, wavelengths=WL.tolist(), input_sensor="nikon_d5100",
                                tile_size=32, tile_overlap=8)
    save_model(tiny, path, card)
    return path


def _scene(ny: int = 96, nx: int = 160, smooth: bool = False) -> xr.DataArray:
    if smooth:
        yy, xx = np.meshgrid(np.linspace(0, 1, ny), np.linspace(0, 1, nx), indexing="ij")
        data = np.stack([0.2 + 0.6 * xx, 0.3 + 0.4 * yy, 0.5 + 0.3 * xx * yy]).astype("float32")
    else:
        data = np.random.default_rng(3).random((3, ny, nx), dtype="float32")
    return make_rgb(data, y=np.arange(ny) * -10.0, x=np.arange(nx) * 10.0)


def test_chunking_invariance_and_numpy_equals_dask(tiny: torch.nn.Module) -> None:
    rgb = _scene()
    ref = reconstruct(rgb, tiny, **KW).values               # numpy input, one chunk
    assert ref.shape == (31, 96, 160) and np.isfinite(ref).all()
    for chunks in [{"y": 40, "x": 40}, {"y": 50, "x": 100}, {"y": 96, "x": 160},
                   {"y": 16, "x": 24}]:                     # the last is merged automatically
        got = reconstruct(rgb.chunk(chunks), tiny, **KW)
        assert got.chunks[0] == (31,)                       # whole spectrum in one chunk
        np.testing.assert_allclose(got.values, ref, atol=1e-5, rtol=0)
    # the model is tile-dependent: inference on halves without the grid differs
    naive = torch.cat([tiny(torch.from_numpy(rgb.values[None, :, :, :80])),
                       tiny(torch.from_numpy(rgb.values[None, :, :, 80:]))], dim=3)
    assert np.abs(naive.detach().numpy()[0] - ref).max() > 1e-3


def test_output_chunks_are_capped_in_bytes(tiny: torch.nn.Module, monkeypatch) -> None:
    # a cube is bands / 3 times larger than its RGB: big input chunks would make
    # multi-GB cube chunks (3.4 GB for 202 bands at 2048 px); chunk_plan halves them
    import specrecon.graph as graph

    rgb = _scene()
    ref = reconstruct(rgb, tiny, **KW).values
    monkeypatch.setattr(graph, "CHUNK_MAX_BYTES", 31 * 48 * 48 * 4)
    got = reconstruct(rgb.chunk({"y": 96, "x": 160}), tiny, **KW)
    ych, xch = got.chunks[1], got.chunks[2]
    assert max(ych) * max(xch) * 31 * 4 <= graph.CHUNK_MAX_BYTES      # was 96 x 160
    assert len(set(ych[:-1])) <= 1 and len(set(xch[:-1])) <= 1         # still regular
    np.testing.assert_allclose(got.values, ref, atol=1e-5, rtol=0)     # and invariant


def test_no_seams_on_smooth_scene(tiny: torch.nn.Module) -> None:
    rgb = _scene(smooth=True).chunk({"y": 48, "x": 40})
    cube = reconstruct(rgb, tiny, **KW).values
    dx = np.abs(np.diff(cube, axis=2)).mean(axis=(0, 1))     # per column step
    borders = np.array([40, 80, 120]) - 1
    inner = np.setdiff1d(np.arange(dx.size), borders)
    assert dx[borders].max() <= dx[inner].max() * 1.0001
    dy = np.abs(np.diff(cube, axis=1)).mean(axis=(0, 2))
    assert dy[47] <= np.delete(dy, 47).max() * 1.0001


def test_output_coords_attrs_and_crs(saved: Path) -> None:
    pytest.importorskip("rioxarray")
    rgb = (_scene() * 255).astype("uint8").rio.write_crs("EPSG:32633")
    rgb.attrs["sensor"] = "nikon_d5100"
    cube = reconstruct(rgb.chunk({"y": 48, "x": 80}), saved, device="cpu")
    assert isinstance(cube.data, dask.array.Array)
    assert cube.dims == ("wavelength", "y", "x") and cube.dtype == np.float32
    assert cube.wavelength.attrs["standard_name"] == "radiation_wavelength"
    assert "fwhm" in cube.coords
    np.testing.assert_array_equal(cube.y.values, rgb.y.values)
    assert cube.rio.crs.to_epsg() == 32633 and cube.encoding["grid_mapping"] == "spatial_ref"
    assert cube.attrs["model"] == "hydra-tiny-31" and len(cube.attrs["model_sha256"]) == 64
    assert cube.attrs["model_sha256"] == saved.with_suffix(".json").read_text().split(
        '"sha256": "')[1][:64]
    assert cube.attrs["tile_size"] == [32, 32] and cube.attrs["specrecon_version"]
    # uint8 input was scaled by 1/255: same as float input
    ref = reconstruct((rgb.astype("float32") / 255).drop_attrs(), saved, device="cpu")
    np.testing.assert_allclose(cube.values, ref.values, atol=1e-5)


def test_nodata_and_nan_are_masked_through(tiny: torch.nn.Module) -> None:
    rgb = _scene()
    raw = (rgb * 1000).astype("uint16")
    raw.values[:, 10:20, 30:50] = 65535
    raw.attrs.update(_FillValue=65535, valid_max=1000)
    cube = reconstruct(raw.chunk({"y": 48, "x": 80}), tiny, **KW).values
    assert np.isnan(cube[:, 10:20, 30:50]).all()
    assert np.isfinite(np.delete(cube, np.s_[30:50], axis=2)).all()
    flt = rgb.copy()
    flt.values[1, 0, 0] = np.nan
    out = reconstruct(flt, tiny, **KW).values
    assert np.isnan(out[:, 0, 0]).all() and np.isfinite(out[:, 0, 1]).all()


def test_cf_scale_factor_and_whole_image(tiny: torch.nn.Module) -> None:
    rgb = _scene(40, 48)
    raw = (rgb * 10000).round().astype("int16")
    raw.attrs["scale_factor"] = 1e-4
    a = reconstruct(raw, tiny, **KW).values
    b = reconstruct(rgb, tiny, **KW).values
    np.testing.assert_allclose(a, b, atol=2e-3)
    rio_like = (rgb * 255).astype("uint8").assign_attrs(scale_factor=1.0, add_offset=0.0)
    np.testing.assert_allclose(reconstruct(rio_like, tiny, **KW).values, b, atol=0.05)
    whole = reconstruct(rgb.chunk({"y": 20}), tiny, whole_image=True, device="cpu",
                        wavelengths=WL)
    direct = tiny(torch.from_numpy(rgb.values[None])).detach().numpy()[0]
    np.testing.assert_allclose(whole.values, direct, atol=1e-5)


def test_other_dim_names_and_dataset_selection(tiny: torch.nn.Module) -> None:
    rgb = _scene(40, 48)
    other = rgb.rename(y="lat", x="lon", band="channel").transpose("lat", "lon", "channel")
    cube = reconstruct(other, tiny, **KW)
    assert cube.dims == ("wavelength", "lat", "lon")
    np.testing.assert_allclose(cube.values, reconstruct(rgb, tiny, **KW).values, atol=1e-6)
    ds = xr.Dataset({"img": rgb,
                     "mask": rgb.isel(band=0, drop=True).drop_vars("band_name", errors="ignore")})
    assert select_rgb_variable(ds).name == "img"
    planes = xr.Dataset({n: rgb.isel(band=i, drop=True).drop_vars("band_name", errors="ignore")
                         for i, n in enumerate(["red", "green", "blue"])})
    np.testing.assert_array_equal(select_rgb_variable(planes).values, rgb.values)
    with pytest.raises(BandDimensionError):
        select_rgb_variable(xr.Dataset({"a": rgb, "b": rgb}))


# ----------------------------------------------------------------------------- bad input
def test_bad_band_count(tiny: torch.nn.Module) -> None:
    rgba = xr.DataArray(np.zeros((4, 8, 8), "float32"), dims=("band", "y", "x"))
    with pytest.raises(BandDimensionError, match="3 bands"):
        reconstruct(rgba, tiny, **KW)


def test_missing_spatial_dims(tiny: torch.nn.Module) -> None:
    with pytest.raises(SpatialDimensionError, match="spatial"):
        reconstruct(xr.DataArray(np.zeros((3, 8, 8)), dims=("band", "a", "b")), tiny, **KW)
    with pytest.raises(SpatialDimensionError, match="time"):
        reconstruct(xr.DataArray(np.zeros((2, 3, 8, 8)), dims=("time", "band", "y", "x")),
                    tiny, **KW)


@pytest.mark.parametrize("coords", [[0, 1, 2, 3, 5, 4, 6, 7], [0, 1, 2, 2, 3, 4, 5, 6]])
def test_bad_coordinates(tiny: torch.nn.Module, coords: list[int]) -> None:
    rgb = _scene(8, 8).assign_coords(x=np.asarray(coords, float))
    with pytest.raises(CoordinateError):
        reconstruct(rgb, tiny, **KW)


def test_all_nan_input(tiny: torch.nn.Module) -> None:
    with pytest.raises(EmptyInputError, match="valid pixel"):
        reconstruct(make_rgb(np.full((3, 8, 8), np.nan, "float32")), tiny, **KW)
    with pytest.raises(EmptyInputError):
        reconstruct(make_rgb(np.zeros((3, 0, 8), "float32")), tiny, **KW)


def test_unknown_scale(tiny: torch.nn.Module) -> None:
    with pytest.raises(DataScaleError, match="int32"):
        reconstruct(make_rgb(np.ones((3, 8, 8), "int32")), tiny, **KW)
    with pytest.raises(DataScaleError, match="scale=1e-4 for reflectance x 10000"):
        reconstruct(make_rgb(np.ones((3, 8, 8), "uint16")), tiny, **KW)
    ok = reconstruct(make_rgb(np.full((3, 8, 8), 5000, "uint16")), tiny, scale=1e-4, **KW)
    assert ok.attrs["input_scale"] == 1e-4
    big = make_rgb(np.full((3, 8, 8), 200.0, "float32"))
    with pytest.raises(DataScaleError, match="scale="):
        reconstruct(big, tiny, **KW)
    with pytest.raises(DataScaleError):                   # dask: raised when computed
        reconstruct(big.chunk({"y": 4}), tiny, **KW).compute()
    ok = reconstruct(big, tiny, scale=1 / 255, **KW)      # explicit scale is trusted
    assert np.isfinite(ok.values).all()


def test_model_sensor_and_wavelength_mismatch(saved: Path, tiny: torch.nn.Module) -> None:
    rgb = _scene(40, 48)
    rgb.attrs["sensor"] = "sentinel2_msi_rgb"
    with pytest.raises(ModelMismatchError, match="nikon_d5100"):
        reconstruct(rgb, saved, device="cpu")
    with pytest.raises(ModelMismatchError, match="31 wavelengths"):
        reconstruct(_scene(40, 48), tiny, tile_size=32, device="cpu", wavelengths=WL[:20])
    with pytest.raises(ModelMismatchError, match="card"):
        reconstruct(_scene(40, 48), saved, device="cpu", wavelengths=WL + 5)


def test_bad_tiling_and_device(tiny: torch.nn.Module) -> None:
    with pytest.raises(ConfigError, match="overlap"):
        reconstruct(_scene(40, 48), tiny, tile_size=16, overlap=16, device="cpu",
                    wavelengths=WL)
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="cpu"):
            reconstruct(_scene(40, 48), tiny, device="cuda:0", wavelengths=WL)
    with pytest.raises(DeviceError, match="float16"):
        reconstruct(_scene(40, 48), tiny, device="cpu", dtype="float16", wavelengths=WL)


def test_model_without_card_uses_builtin_bandset_with_warning() -> None:
    net = torch.nn.Conv2d(3, 31, 1)
    with pytest.warns(UserWarning, match="arad31"):
        cube = reconstruct(_scene(16, 16), net, device="cpu", tile_size=16)
    np.testing.assert_array_equal(cube.wavelength.values, WL)
    with pytest.raises(ModelMismatchError, match="wavelengths="):
        reconstruct(_scene(16, 16), torch.nn.Conv2d(3, 7, 1), device="cpu")


def test_bfloat16_on_cpu_close_to_float32(tiny: torch.nn.Module) -> None:
    rgb = _scene(32, 32)
    a = reconstruct(rgb, tiny, **KW).values
    b = reconstruct(rgb, tiny, **{**KW, "dtype": "bfloat16"}).values
    assert np.abs(a - b).max() < 0.1 * (np.abs(a).max() + 1e-6) + 0.05


@pytest.mark.gpu
def test_cpu_and_cuda_agree(tiny: torch.nn.Module) -> None:
    rgb = _scene().chunk({"y": 48, "x": 80})
    cpu = reconstruct(rgb, tiny, **KW).values
    gpu = reconstruct(rgb, tiny, **{**KW, "device": "cuda"}).values
    np.testing.assert_allclose(gpu, cpu, atol=1e-4)
    half = reconstruct(rgb, tiny, **{**KW, "device": "cuda", "dtype": "float16"}).values
    assert np.nanmax(np.abs(half - cpu)) < 0.05 * np.nanmax(np.abs(cpu)) + 0.01


def test_top_level_lazy_api(tiny: torch.nn.Module) -> None:
    assert specrecon.reconstruct is reconstruct


def test_output_clipped_to_the_card_value_range(tmp_path: Path) -> None:
    from specrecon.models import ModelCard, create_model, save_model

    model = create_model("hydra-tiny-31")
    with torch.no_grad():                         # push the output far below zero
        model.teacher.head.bias.fill_(-5.0)
    path = tmp_path / "neg.safetensors"
    save_model(model, path, ModelCard.from_model(model, wavelengths=range(400, 701, 10)))
    rgb = np.random.default_rng(0).random((3, 40, 48), dtype="float32")
    raw = specrecon.reconstruct(rgb, str(path), clip=False).values
    clipped = specrecon.reconstruct(rgb, str(path)).values
    assert raw.min() < -0.5                       # the model really overshoots
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    np.testing.assert_array_equal(clipped, np.clip(raw, 0.0, 1.0))
    assert specrecon.reconstruct(rgb, str(path)).attrs["clipped_to"] == [0.0, 1.0]
