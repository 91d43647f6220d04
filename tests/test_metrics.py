"""Tests for specrecon.metrics: NTIRE definitions on numpy, torch and xarray (dask)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from specrecon.cube import make_cube
from specrecon.errors import (
    BandDimensionError,
    ConfigError,
    CoordinateError,
    DataScaleError,
    ModelMismatchError,
    SpatialDimensionError,
)
from specrecon.metrics import evaluate, mrae, ntire_crop, psnr, rmse, sam

WL4 = [450.0, 500.0, 550.0, 600.0]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture()
def tiny() -> tuple[np.ndarray, np.ndarray]:
    """2 bands, 1 row, 2 pixels: truth spectra (0.5, 0.2) and (0.25, 0.4)."""
    truth = np.array([[[0.5, 0.25]], [[0.2, 0.4]]])
    pred = np.array([[[0.6, 0.25]], [[0.1, 0.2]]])
    return pred, truth


@pytest.fixture()
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.05, 1.0, (4, 6, 5)).astype("float32")
    pred = (truth + rng.normal(0, 0.05, truth.shape)).astype("float32")
    return pred, truth


# --------------------------------------------------------------------------- hand values
def test_hand_computed_values(tiny: tuple[np.ndarray, np.ndarray]) -> None:
    pred, truth = tiny
    # |errors|: band0 (0.1, 0), band1 (0.1, 0.2); relative: 0.1/0.5, 0, 0.1/0.2, 0.2/0.4
    assert mrae(pred, truth) == pytest.approx((0.2 + 0.0 + 0.5 + 0.5) / 4)
    mse = (0.01 + 0.0 + 0.01 + 0.04) / 4
    assert rmse(pred, truth) == pytest.approx(math.sqrt(mse))
    assert psnr(pred, truth) == pytest.approx(10 * math.log10(1.0 / mse))
    assert psnr(pred, truth, peak=2.0) == pytest.approx(10 * math.log10(4.0 / mse))
    # pixel 0: truth (0.5, 0.2), pred (0.6, 0.1); pixel 1: truth (0.25, 0.4), pred (0.25, 0.2)
    a0 = math.acos((0.5 * 0.6 + 0.2 * 0.1) / (math.hypot(0.5, 0.2) * math.hypot(0.6, 0.1)))
    a1 = math.acos((0.25 * 0.25 + 0.4 * 0.2) / (math.hypot(0.25, 0.4) * math.hypot(0.25, 0.2)))
    assert sam(pred, truth) == pytest.approx((a0 + a1) / 2)
    assert isinstance(mrae(pred, truth), float)


def test_reduction_axes_per_band_and_per_pixel(tiny: tuple[np.ndarray, np.ndarray]) -> None:
    pred, truth = tiny
    np.testing.assert_allclose(mrae(pred, truth, axis=(-2, -1)), [0.1, 0.5])  # per band
    np.testing.assert_allclose(rmse(pred, truth, axis=(1, 2)),
                               [math.sqrt(0.005), math.sqrt(0.025)])
    np.testing.assert_allclose(psnr(pred, truth, axis=0),
                               [[10 * math.log10(1 / 0.01), 10 * math.log10(1 / 0.02)]])
    per_pixel = sam(pred, truth, axis=())  # band axis always reduced, nothing else
    assert per_pixel.shape == (1, 2)
    assert per_pixel.mean() == pytest.approx(sam(pred, truth))


def test_band_axis_last(tiny: tuple[np.ndarray, np.ndarray]) -> None:
    pred, truth = tiny
    hwc_p, hwc_t = np.moveaxis(pred, 0, -1), np.moveaxis(truth, 0, -1)
    assert sam(hwc_p, hwc_t, band_axis=-1) == pytest.approx(sam(pred, truth))
    assert sam(hwc_p, hwc_t, band_axis=-1) != pytest.approx(sam(hwc_p, hwc_t))


def test_psnr_clip_and_perfect_match() -> None:
    truth = np.array([[[0.0, 1.0]], [[0.5, 0.5]]])
    pred = np.array([[[-0.3, 1.4]], [[0.5, 0.5]]])
    assert psnr(pred, truth, clip=(0, 1)) == math.inf  # clamped onto the truth
    assert psnr(pred, truth) == pytest.approx(10 * math.log10(1 / ((0.09 + 0.16) / 4)))
    assert psnr(truth, truth) == math.inf
    with pytest.raises(ConfigError, match="clip"):
        psnr(pred, truth, clip=(1, 0))


# --------------------------------------------------------------------------- zero truth
def test_zero_gt_modes() -> None:
    truth = np.array([[[0.0, 0.5]], [[0.25, 0.0]]])
    pred = np.array([[[0.1, 0.6]], [[0.2, 0.0]]])
    with pytest.raises(DataScaleError, match=r"2 zero value\(s\)") as info:
        mrae(pred, truth)
    assert "ignore" in str(info.value) and "epsilon" in str(info.value)
    assert isinstance(info.value, ValueError)
    # ignore: only (0.6 vs 0.5) and (0.2 vs 0.25) count
    assert mrae(pred, truth, zero_gt="ignore") == pytest.approx((0.2 + 0.2) / 2)
    eps = 0.1
    expected = (0.1 / eps + 0.1 / 0.6 + 0.05 / 0.35 + 0.0 / eps) / 4
    assert mrae(pred, truth, zero_gt="epsilon", eps=eps) == pytest.approx(expected)
    with pytest.raises(ConfigError, match="zero_gt"):
        mrae(pred, truth, zero_gt="skip")  # type: ignore[arg-type]


def test_zero_gt_ignore_all_zero_band_is_nan() -> None:
    truth = np.array([[[0.0, 0.0]], [[0.5, 0.5]]])
    per_band = mrae(truth + 0.1, truth, zero_gt="ignore", axis=(1, 2))
    assert np.isnan(per_band[0]) and per_band[1] == pytest.approx(0.2)


# --------------------------------------------------------------------------- SAM
def test_sam_identical_orthogonal_and_zero_norm() -> None:
    truth = np.array([[[1.0, 0.3]], [[0.0, 0.7]]])
    assert sam(truth, truth) == pytest.approx(0.0, abs=1e-7)
    assert sam(2.5 * truth, truth) == pytest.approx(0.0, abs=1e-7)  # scale invariant
    pred = np.array([[[0.0, -0.7]], [[1.0, 0.3]]])  # orthogonal per pixel
    assert sam(pred, truth) == pytest.approx(math.pi / 2)
    assert sam(-truth, truth) == pytest.approx(math.pi)  # cosine -1 (clipped, no NaN)
    # a zero-norm pixel has no angle: it is left out of the mean
    pred0 = np.array([[[0.0, 0.3]], [[0.0, 0.7]]])
    assert sam(pred0, truth) == pytest.approx(0.0, abs=1e-7)
    assert np.isnan(sam(np.zeros_like(truth), truth))


# --------------------------------------------------------------------------- memory layout
@pytest.mark.parametrize("func", [mrae, rmse, psnr, sam])
def test_numpy_non_contiguous_inputs(func, pair) -> None:  # type: ignore[no-untyped-def]
    pred, truth = pair
    ref = func(pred, truth)
    # (H, W, C) storage viewed as (C, H, W): the layout of the famous PSNR bug
    p_view = np.ascontiguousarray(np.moveaxis(pred, 0, -1)).transpose(2, 0, 1)
    t_view = np.asfortranarray(truth)
    assert not p_view.flags.c_contiguous and not t_view.flags.c_contiguous
    assert func(p_view, t_view) == pytest.approx(ref, rel=1e-12)
    big_p = np.repeat(pred, 2, axis=-1)  # step slice [..., ::2] gives pred back
    big_t = np.repeat(truth, 2, axis=-1)
    assert func(big_p[..., ::2], big_t[..., ::2]) == pytest.approx(ref, rel=1e-12)
    # what the bug did: flatten the memory buffer instead of the logical array
    if func is psnr:
        wrong = func(np.ravel(p_view, order="K").reshape(p_view.shape), truth)
        assert wrong != pytest.approx(ref, rel=1e-3)


@pytest.mark.parametrize("func", [mrae, rmse, psnr, sam])
def test_torch_non_contiguous_inputs(func, pair) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    pred, truth = pair
    ref = func(torch.from_numpy(pred)[None], torch.from_numpy(truth)[None])
    p_nhwc = torch.from_numpy(np.ascontiguousarray(np.moveaxis(pred, 0, -1)))[None]
    p_view = p_nhwc.permute(0, 3, 1, 2)
    t_view = torch.from_numpy(np.ascontiguousarray(truth.transpose(0, 2, 1)))[None]
    t_view = t_view.transpose(-1, -2)
    assert not p_view.is_contiguous() and not t_view.is_contiguous()
    out = func(p_view, t_view)
    assert torch.is_tensor(out) and out.dtype == torch.float32
    assert float(out) == pytest.approx(float(ref), rel=1e-5)
    assert float(out) == pytest.approx(func(pred, truth), rel=1e-4)  # same as numpy float64


# --------------------------------------------------------------------------- torch gradients
def test_torch_gradients_flow(pair) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    pred, truth = pair
    t = torch.from_numpy(truth)
    for func in (mrae, rmse, psnr, sam):
        p = torch.from_numpy(pred).clone().requires_grad_(True)
        value = func(p, t)
        value.backward()
        assert p.grad is not None and torch.isfinite(p.grad).all(), func.__name__
        assert p.grad.abs().sum() > 0, func.__name__
    # analytic RMSE gradient: (p - t) / (N * rmse)
    p = torch.from_numpy(pred).double().requires_grad_(True)
    td = t.double()
    value = rmse(p, td)
    value.backward()
    expected = (p.detach() - td) / (p.numel() * value.detach())
    torch.testing.assert_close(p.grad, expected)


def test_torch_gradients_safe_at_singular_points() -> None:
    torch = pytest.importorskip("torch")
    truth = torch.tensor([[[0.0, 0.5]], [[0.25, 0.4]]])
    p = truth.clone().requires_grad_(True)
    sam(p, truth).backward()  # cosine exactly 1: arccos' is infinite there
    assert torch.isfinite(p.grad).all()
    p = (truth + 0.1).requires_grad_(True)
    mrae(p, truth, zero_gt="ignore").backward()  # division by a zero truth must not leak NaN
    assert torch.isfinite(p.grad).all() and p.grad[0, 0, 0] == 0
    with pytest.raises(DataScaleError, match="1 zero"):
        mrae(p, truth)


def test_torch_mixed_with_numpy_truth(pair) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    pred, truth = pair
    out = mrae(torch.from_numpy(pred), truth)
    assert torch.is_tensor(out) and float(out) == pytest.approx(mrae(pred, truth), rel=1e-5)


# --------------------------------------------------------------------------- NaN handling
def test_nan_skipna_defaults(pair) -> None:  # type: ignore[no-untyped-def]
    pred, truth = pair
    pred = pred.astype("float64")
    pred_nan = pred.copy()
    pred_nan[:, 0, 0] = np.nan  # one nodata pixel (all bands)
    assert np.isnan(mrae(pred_nan, truth))  # arrays: NaN propagates by default
    assert np.isnan(sam(pred_nan, truth))
    keep = np.ones(pred.shape[1:], bool)
    keep[0, 0] = False
    expected = np.mean(np.abs(pred - truth)[:, keep] / truth[:, keep])
    assert mrae(pred_nan, truth, skipna=True) == pytest.approx(expected)
    cp, ct = make_cube(pred_nan, WL4), make_cube(truth, WL4)
    assert float(mrae(cp, ct)) == pytest.approx(expected)  # xarray: skipped by default
    assert np.isnan(float(mrae(cp, ct, skipna=False)))
    sam_expected = sam(pred[:, keep][:, None], truth[:, keep][:, None])
    assert float(sam(cp, ct)) == pytest.approx(sam_expected)
    rm = np.sqrt(np.mean((pred - truth)[:, keep] ** 2))
    assert float(rmse(cp, ct)) == pytest.approx(rm)


# --------------------------------------------------------------------------- xarray / dask
def test_xarray_dims_and_attrs(pair) -> None:  # type: ignore[no-untyped-def]
    pred, truth = pair
    cp, ct = make_cube(pred, WL4), make_cube(truth, WL4)
    per_band = mrae(cp, ct, dim=("y", "x"))
    assert per_band.dims == ("wavelength",) and per_band.name == "mrae"
    np.testing.assert_allclose(per_band.wavelength, WL4)
    np.testing.assert_allclose(per_band, mrae(pred, truth, axis=(1, 2)), rtol=1e-12)
    per_pixel_sam = sam(cp, ct, dim="wavelength")
    assert per_pixel_sam.dims == ("y", "x") and per_pixel_sam.attrs["units"] == "rad"
    assert float(psnr(cp, ct)) == pytest.approx(psnr(pred, truth))
    with pytest.raises(TypeError, match="dim="):
        mrae(cp, ct, axis=0)
    with pytest.raises(BandDimensionError, match="band_dim"):
        mrae(cp, ct, band_dim="band")


def test_dask_stays_lazy_and_matches_numpy(pair) -> None:  # type: ignore[no-untyped-def]
    dask = pytest.importorskip("dask")
    pred, truth = pair
    cp = make_cube(pred, WL4).chunk({"y": 3, "x": 2})
    ct = make_cube(truth, WL4).chunk({"y": 2})
    ds = evaluate(cp, ct)
    for name in ("mrae", "rmse", "psnr", "sam"):
        assert dask.is_dask_collection(ds[name]), name
    per_band = mrae(cp, ct, dim=["y", "x"])
    assert per_band.chunks is not None
    computed = ds.compute()
    for name, func in (("mrae", mrae), ("rmse", rmse), ("psnr", psnr), ("sam", sam)):
        assert float(computed[name]) == pytest.approx(func(pred, truth), rel=1e-12), name
    np.testing.assert_allclose(per_band.compute(), mrae(pred, truth, axis=(1, 2)), rtol=1e-12)


def test_dask_zero_gt_raises_at_compute_time(pair) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("dask")
    pred, truth = pair
    truth = truth.copy()
    truth[1, 2, 3] = truth[0, 0, 0] = 0.0
    cp, ct = make_cube(pred, WL4).chunk({"y": 3}), make_cube(truth, WL4).chunk({"y": 3})
    lazy = mrae(cp, ct)  # building the graph must not raise (nothing computed)
    assert lazy.chunks is not None
    with pytest.raises(DataScaleError, match=r"2 zero value\(s\)"):
        lazy.compute()
    ignored = mrae(cp, ct, zero_gt="ignore").compute()
    assert float(ignored) == pytest.approx(mrae(pred, truth, zero_gt="ignore"), rel=1e-12)


# --------------------------------------------------------------------------- evaluate
def test_evaluate_numpy_and_torch_dict(pair) -> None:  # type: ignore[no-untyped-def]
    pred, truth = pair
    out = evaluate(pred, truth)
    assert list(out) == ["mrae", "rmse", "psnr", "sam"]
    assert all(isinstance(v, float) for v in out.values())
    assert out["sam"] == pytest.approx(sam(pred, truth))
    torch = pytest.importorskip("torch")
    tout = evaluate(torch.from_numpy(pred).requires_grad_(True), torch.from_numpy(truth), "psnr")
    assert set(tout) == {"psnr"} and isinstance(tout["psnr"], float)
    assert tout["psnr"] == pytest.approx(out["psnr"], rel=1e-5)


def test_evaluate_options_and_errors(pair) -> None:  # type: ignore[no-untyped-def]
    pred, truth = pair
    truth0 = truth.copy()
    truth0[0, 0, 0] = 0
    out = evaluate(pred, truth0, zero_gt="ignore", clip=(0, 1), metrics=("mrae", "psnr"))
    assert out["mrae"] == pytest.approx(mrae(pred, truth0, zero_gt="ignore"))
    assert out["psnr"] == pytest.approx(psnr(pred, truth0, clip=(0, 1)))
    with pytest.raises(ConfigError, match="ssim"):
        evaluate(pred, truth, metrics=["ssim"])
    with pytest.raises(TypeError, match="zero_gtt"):
        evaluate(pred, truth, zero_gtt="ignore")
    with pytest.raises(BandDimensionError, match="4 and 3"):
        evaluate(pred, truth[:3])
    with pytest.raises(SpatialDimensionError, match="shape"):
        evaluate(pred, truth[:, :5])


def test_evaluate_xarray_alignment(pair) -> None:  # type: ignore[no-untyped-def]
    pred, truth = pair
    cp, ct = make_cube(pred, WL4), make_cube(truth, WL4)
    ds = evaluate(cp, ct)
    assert isinstance(ds, xr.Dataset) and ds.psnr.attrs["units"] == "dB"
    assert "definition" in ds.mrae.attrs
    # bands in another order are matched by wavelength, not by position
    shuffled = ct.isel(wavelength=[2, 0, 3, 1]).assign_coords(
        wavelength=np.array(WL4)[[2, 0, 3, 1]])
    assert float(evaluate(cp, shuffled).mrae) == pytest.approx(float(ds.mrae))
    assert float(evaluate(cp, ct.isel(wavelength=[2, 0, 3, 1]).assign_coords(
        wavelength=WL4)).mrae) != pytest.approx(float(ds.mrae))
    # transposed dims are matched by name
    assert float(evaluate(cp, ct.transpose("x", "wavelength", "y")).sam) == pytest.approx(
        float(ds.sam))
    other = make_cube(truth, [450.0, 500.0, 550.0, 610.0])
    with pytest.raises(ModelMismatchError, match="610"):
        evaluate(cp, other)
    with pytest.raises(BandDimensionError, match="4 and 3"):
        evaluate(cp, ct.isel(wavelength=slice(0, 3)))
    with pytest.raises(SpatialDimensionError, match="'x'"):
        evaluate(cp, ct.isel(x=slice(0, 4)))
    with pytest.raises(CoordinateError, match="assign_coords"):
        evaluate(cp, ct.assign_coords(x=ct.x + 1))
    with pytest.raises(TypeError, match="DataArrays"):
        evaluate(cp, truth)


def test_evaluate_crop_and_ntire_crop() -> None:
    rng = np.random.default_rng(2)
    truth = rng.uniform(0.1, 1, (2, 482, 512)).astype("float32")
    pred = truth.copy()
    pred[:, :128] += 0.5  # errors only in the border that NTIRE does not score
    assert ntire_crop(truth).shape == (2, 226, 256)
    np.testing.assert_array_equal(ntire_crop(truth), truth[:, 128:-128, 128:-128])
    assert evaluate(pred, truth, crop=128)["rmse"] == 0.0
    assert evaluate(pred, truth)["rmse"] > 0.1
    ds = evaluate(make_cube(pred, [500.0, 600.0]), make_cube(truth, [500.0, 600.0]), crop=128)
    assert float(ds.rmse) == 0.0 and ds.attrs["crop_border"] == 128
    # named dims for xarray, any pair of axes for arrays
    da = xr.DataArray(np.zeros((300, 2, 400)), dims=("row", "wavelength", "col"))
    assert ntire_crop(da, dims=("row", "col")).sizes == {"row": 44, "wavelength": 2, "col": 144}
    assert ntire_crop(np.zeros((300, 2, 400)), axes=(0, 2)).shape == (44, 2, 144)
    assert ntire_crop(truth, border=0) is truth
    with pytest.raises(SpatialDimensionError, match="256"):
        ntire_crop(np.zeros((2, 256, 300)))
    with pytest.raises(ConfigError):
        ntire_crop(truth, border=-1)


def test_ntire_crop_torch() -> None:
    torch = pytest.importorskip("torch")
    x = torch.arange(2 * 6 * 7, dtype=torch.float32).reshape(1, 2, 6, 7)
    out = ntire_crop(x, border=2)
    assert out.shape == (1, 2, 2, 3)
    assert torch.equal(out, x[..., 2:-2, 2:-2])


def test_import_does_not_load_torch_or_dask() -> None:
    code = ("import sys, specrecon.metrics; "
            "print([m for m in ('torch', 'dask') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("options", [{"zero_gt": "ignore"}, {"zero_gt": "epsilon", "eps": 0.01},
                                     {"zero_gt": "ignore", "skipna": True},
                                     {"zero_gt": "epsilon", "peak": 0.8, "clip": (0.0, 0.8)}])
def test_large_inputs_are_evaluated_in_blocks_with_the_same_result(monkeypatch,
                                                                   options: dict) -> None:
    # large in-memory inputs go chunk by chunk (small temporaries): same numbers
    import specrecon.metrics as m

    rng = np.random.default_rng(7)
    truth = rng.uniform(0.0, 1.0, (6, 40, 30))
    truth[:, 3, 4] = 0.0
    pred = truth + rng.normal(0.0, 0.05, truth.shape)
    if options.get("skipna"):
        pred[2, 10, 10] = np.nan
    cube_p, cube_t = make_cube(pred, np.arange(6.0) * 50 + 400), make_cube(
        truth, np.arange(6.0) * 50 + 400)
    whole_np = evaluate(pred, truth, **options)
    whole_xr = evaluate(cube_p, cube_t, **options)
    monkeypatch.setattr(m, "_LARGE_ELEMENTS", 100)
    monkeypatch.setattr(m, "_BLOCK_ELEMENTS", 6 * 30 * 7)          # 6 blocks of rows
    rows: list[int] = []
    block_rows = m._block_rows
    monkeypatch.setattr(m, "_block_rows", lambda *a: rows.append(block_rows(*a)) or rows[-1])
    blocked_np = evaluate(pred, truth, **options)
    blocked_xr = evaluate(cube_p, cube_t, **options)
    assert rows == [7, 7]                                          # both went by blocks
    assert blocked_xr.mrae.chunks is None                          # computed, not lazy
    for name in ("mrae", "rmse", "psnr", "sam"):
        assert math.isclose(blocked_np[name], whole_np[name], rel_tol=1e-9), name
        assert math.isclose(float(blocked_xr[name]), float(whole_xr[name]), rel_tol=1e-9), name
    if options.get("skipna"):
        assert all(math.isfinite(v) for v in blocked_np.values())
