"""Reconstruction metrics (NTIRE 2022 definitions) for numpy, torch and xarray.

Four metrics compare a reconstructed cube ``pred`` with the ground truth
``truth`` (argument order is always *prediction first*, MRAE divides by
``truth``):

- :func:`mrae` -- mean relative absolute error, ``mean(|truth - pred| / truth)``;
- :func:`rmse` -- root mean squared error, ``sqrt(mean((truth - pred)^2))``;
- :func:`psnr` -- peak signal-to-noise ratio, ``10 log10(peak^2 / MSE)`` in dB;
- :func:`sam` -- spectral angle mapper, mean per-pixel angle in radians.

Every function accepts

- numpy arrays (and array-likes): computed in float64, returns a Python
  ``float`` for a full reduction, otherwise a ``numpy.ndarray``;
- torch tensors: computed in the tensor's dtype on its device, returns a
  tensor that keeps the autograd graph, so the functions work as training
  losses and metrics;
- :class:`xarray.DataArray`: computed in float64, returns a DataArray; a
  dask-backed input gives a lazy result (nothing is computed here).

For arrays the spectral axis is ``band_axis`` (default ``-3``, i.e.
``(..., bands, H, W)``) and ``axis`` picks the axes to average over (default
all). For DataArrays ``band_dim`` names the spectral dimension (default
``"wavelength"``) and ``dim`` the dimensions to average over (default all).
Inputs are compared element by element, never reshaped, so results do not
depend on memory layout (transposed views, step slices, permuted tensors).

:func:`ntire_crop` cuts the NTIRE scoring window (``[128:-128, 128:-128]``),
and :func:`evaluate` runs several metrics at once after checking that the two
inputs describe the same bands and pixels. See ``docs/metrics.md`` for the
formulas and the NaN, zero and clipping conventions.

Examples
--------
>>> import numpy as np
>>> truth = np.full((2, 1, 2), 0.5)
>>> pred = truth + 0.05
>>> round(mrae(pred, truth), 6), round(rmse(pred, truth), 6)
(0.1, 0.05)
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from specrecon.errors import (
    BandDimensionError,
    ConfigError,
    CoordinateError,
    DataScaleError,
    ModelMismatchError,
    SpatialDimensionError,
    format_message,
)

__all__ = ["mrae", "rmse", "psnr", "sam", "ntire_crop", "evaluate", "METRICS", "NTIRE_BORDER"]

#: Border (pixels) cut from each side of an image by the NTIRE 2022 protocol.
NTIRE_BORDER = 128

ZeroGT = Literal["raise", "epsilon", "ignore"]
_ZERO_GT_MODES = ("raise", "epsilon", "ignore")

# attributes written on xarray results; also the documentation of each metric
_ATTRS: dict[str, dict[str, str]] = {
    "mrae": {"long_name": "mean relative absolute error", "units": "1",
             "definition": "mean(|truth - pred| / |truth|) over the reduced entries (NTIRE 2022)"},
    "rmse": {"long_name": "root mean squared error", "units": "same as the data",
             "definition": "sqrt(mean((truth - pred)^2)) over the reduced entries (NTIRE 2022)"},
    "psnr": {"long_name": "peak signal-to-noise ratio", "units": "dB",
             "definition": "10 log10(peak^2 / mean((truth - pred)^2)) (NTIRE 2022)"},
    "sam": {"long_name": "spectral angle mapper", "units": "rad",
            "definition": "mean over pixels of arccos(<pred, truth> / (|pred| |truth|)), "
                          "cosine clipped to [-1, 1]"},
}


# --------------------------------------------------------------------------- backends
def _torch_module() -> Any:
    """The torch module if it is already imported, else ``None`` (never imports it)."""
    return sys.modules.get("torch")


def _is_tensor(x: Any) -> bool:
    torch = _torch_module()
    return torch is not None and isinstance(x, torch.Tensor)


def _kind(x: Any) -> str:
    if isinstance(x, xr.DataArray):
        return "xarray"
    if isinstance(x, xr.Dataset):
        raise TypeError(format_message("a DataArray", "a Dataset",
                                       "select the cube variable first, e.g. ds['reflectance']"))
    if _is_tensor(x):
        return "torch"
    return "numpy"


def _norm_axes(axes: int | Sequence[int], ndim: int, what: str,
               error: type[Exception] = BandDimensionError) -> tuple[int, ...]:
    """Normalise (possibly negative) axes to sorted non-negative ints."""
    seq = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    out = []
    for a in seq:
        a = int(a)
        if not -ndim <= a < ndim:
            raise error(format_message(f"{what} within the {ndim} axes of the input",
                                       f"axis {a}", f"pass an axis in [-{ndim}, {ndim - 1}]"))
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(format_message(f"distinct {what}", f"{seq}", "list each axis once"))
    return tuple(sorted(out))


class _ArrayOps:
    """Operations on numpy arrays; ``red`` is a tuple of axes or ``None`` (all)."""

    def __init__(self, band: int) -> None:
        self.band = band

    where = staticmethod(np.where)
    isnan = staticmethod(np.isnan)
    abs = staticmethod(np.abs)
    sqrt = staticmethod(np.sqrt)

    @staticmethod
    def sum(a: Any, red: Any) -> Any:
        return a.sum(axis=red)

    @staticmethod
    def mean(a: Any, red: Any) -> Any:
        return a.mean(axis=red)

    def band_sum(self, a: Any) -> Any:
        return a.sum(axis=self.band)

    def drop_band(self, red: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if red is None:
            return None
        return tuple(a - (a > self.band) for a in red if a != self.band)

    @staticmethod
    def clip(a: Any, lo: float, hi: float) -> Any:
        return np.clip(a, lo, hi)

    @staticmethod
    def arccos_clipped(cos: Any) -> Any:
        return np.arccos(np.clip(cos, -1.0, 1.0))

    @staticmethod
    def log10(a: Any) -> Any:
        with np.errstate(divide="ignore"):
            return np.log10(a)

    @staticmethod
    def divide(a: Any, b: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b

    @staticmethod
    def nan_like(a: Any) -> Any:
        return np.nan


class _TorchOps(_ArrayOps):
    """Operations on torch tensors (differentiable, device-preserving)."""

    def __init__(self, band: int) -> None:
        super().__init__(band)
        self.torch = _torch_module()

    def where(self, c: Any, a: Any, b: Any) -> Any:  # type: ignore[override]
        return self.torch.where(c, a, b)

    def isnan(self, a: Any) -> Any:  # type: ignore[override]
        return self.torch.isnan(a)

    def abs(self, a: Any) -> Any:  # type: ignore[override]
        return self.torch.abs(a)

    def sqrt(self, a: Any) -> Any:  # type: ignore[override]
        return self.torch.sqrt(a)

    @staticmethod
    def sum(a: Any, red: Any) -> Any:
        return a.sum() if red is None else a.sum(dim=red)

    @staticmethod
    def mean(a: Any, red: Any) -> Any:
        return a.mean() if red is None else a.mean(dim=red)

    def band_sum(self, a: Any) -> Any:
        return a.sum(dim=self.band)

    def clip(self, a: Any, lo: float, hi: float) -> Any:  # type: ignore[override]
        return self.torch.clamp(a, lo, hi)

    def arccos_clipped(self, cos: Any) -> Any:  # type: ignore[override]
        c = self.torch.clamp(cos, -1.0, 1.0)
        # arccos' is infinite at +-1 (identical or opposite spectra): keep the value but stop
        # the gradient there, so a perfect pixel contributes 0 instead of inf/NaN to backward.
        c = self.torch.where(c.abs() < 1, c, c.detach())
        return self.torch.arccos(c)

    def log10(self, a: Any) -> Any:  # type: ignore[override]
        return self.torch.log10(a)

    @staticmethod
    def divide(a: Any, b: Any) -> Any:
        return a / b

    @staticmethod
    def nan_like(a: Any) -> Any:
        return float("nan")


class _XarrayOps(_ArrayOps):
    """Operations on DataArrays (lazy for dask); ``red`` is a list of dims or ``None``."""

    def __init__(self, band: Hashable) -> None:  # type: ignore[override]
        self.band = band  # type: ignore[assignment]

    @staticmethod
    def where(c: Any, a: Any, b: Any) -> Any:  # type: ignore[override]
        return xr.where(c, a, b)

    @staticmethod
    def sum(a: Any, red: Any) -> Any:
        return a.sum(dim=red, skipna=False)

    @staticmethod
    def mean(a: Any, red: Any) -> Any:
        return a.mean(dim=red, skipna=False)

    def band_sum(self, a: Any) -> Any:
        return a.sum(dim=self.band, skipna=False)

    def drop_band(self, red: Any) -> Any:  # type: ignore[override]
        if red is None:
            return None
        return [d for d in red if d != self.band]

    @staticmethod
    def clip(a: Any, lo: float, hi: float) -> Any:
        return a.clip(lo, hi)

    @staticmethod
    def arccos_clipped(cos: Any) -> Any:
        return np.arccos(cos.clip(-1.0, 1.0))

    @staticmethod
    def log10(a: Any) -> Any:
        with np.errstate(divide="ignore"):
            return np.log10(a)


# --------------------------------------------------------------------------- preparation
class _Prepared:
    """Both inputs in a common kind/dtype, the ops to use and the reduction spec."""

    def __init__(self, kind: str, pred: Any, truth: Any, ops: _ArrayOps, red: Any,
                 skipna: bool) -> None:
        self.kind, self.pred, self.truth, self.ops, self.red, self.skipna = (
            kind, pred, truth, ops, red, skipna)


def _shape_error(pshape: tuple[int, ...], tshape: tuple[int, ...], band: int) -> Exception:
    if len(pshape) == len(tshape) and pshape[band] != tshape[band]:
        return BandDimensionError(format_message(
            f"the same number of bands in prediction and truth (axis {band})",
            f"{pshape[band]} and {tshape[band]}",
            "reconstruct with a model for the truth's band set, or resample one of them"))
    return SpatialDimensionError(format_message(
        "prediction and truth of the same shape", f"{pshape} and {tshape}",
        "crop/pad them to the same pixels (arrays are compared element by element)"))


def _align_xarray(pred: xr.DataArray, truth: xr.DataArray,
                  band_dim: Hashable) -> tuple[xr.DataArray, xr.DataArray]:
    """Match ``truth`` to ``pred`` by coordinates; raise a clear error if impossible."""
    for name, da in (("prediction", pred), ("truth", truth)):
        if band_dim not in da.dims:
            raise BandDimensionError(format_message(
                f"a spectral dimension {band_dim!r} in the {name}", f"dims {da.dims}",
                "pass band_dim= with the name of the spectral dimension"))
    if set(pred.dims) != set(truth.dims):
        raise SpatialDimensionError(format_message(
            "prediction and truth with the same dimension names", f"{pred.dims} and {truth.dims}",
            "rename the dimensions (da.rename(...)) so that they match"))
    npb, ntb = pred.sizes[band_dim], truth.sizes[band_dim]
    if npb != ntb:
        raise BandDimensionError(format_message(
            f"the same number of {band_dim!r} entries in prediction and truth",
            f"{npb} and {ntb}",
            "select the common bands, or resample one cube to the other's bands"))
    if band_dim in pred.coords and band_dim in truth.coords:
        pw = np.asarray(pred[band_dim].values)
        tw = np.asarray(truth[band_dim].values)
        if not np.array_equal(pw, tw):
            numeric = pw.dtype.kind in "fiu" and tw.dtype.kind in "fiu"
            order_p, order_t = np.argsort(pw), np.argsort(tw)
            same = (np.allclose(pw[order_p], tw[order_t], rtol=0, atol=1e-6) if numeric
                    else np.array_equal(pw[order_p], tw[order_t]))
            if not same:
                only_p = [v for v in pw if not np.any(np.isclose(tw, v, rtol=0, atol=1e-6))] \
                    if numeric else sorted(set(pw.tolist()) - set(tw.tolist()))
                only_t = [v for v in tw if not np.any(np.isclose(pw, v, rtol=0, atol=1e-6))] \
                    if numeric else sorted(set(tw.tolist()) - set(pw.tolist()))
                raise ModelMismatchError(format_message(
                    f"the same {band_dim} coordinates in prediction and truth",
                    f"values only in the prediction {list(np.asarray(only_p)[:5])} and only in the "
                    f"truth {list(np.asarray(only_t)[:5])}",
                    "reconstruct for the truth's bands or resample (specrecon.resample) one cube "
                    "onto the other's wavelengths"))
            # same bands in another order: match truth to pred by label, not by position
            take = np.empty_like(order_p)
            take[order_p] = order_t
            truth = truth.isel({band_dim: take})
        truth = truth.assign_coords({band_dim: pred[band_dim].variable})
    # spatial and other dims: same sizes, then identical coordinate labels
    truth = truth.transpose(*pred.dims)
    for d in pred.dims:
        if d != band_dim and pred.sizes[d] != truth.sizes[d]:
            raise SpatialDimensionError(format_message(
                f"the same size along {d!r} in prediction and truth",
                f"{pred.sizes[d]} and {truth.sizes[d]}",
                "crop both to the same window (e.g. specrecon.metrics.ntire_crop on both)"))
    try:
        pred, truth = xr.align(pred, truth, join="exact")
    except ValueError as err:
        raise CoordinateError(format_message(
            "identical coordinate labels on the prediction and the truth",
            f"labels that differ ({err})",
            "if both cover the same pixels, copy the labels: "
            "pred.assign_coords(y=truth.y, x=truth.x)")
        ) from err
    return pred, truth


def _prepare(pred: Any, truth: Any, *, skipna: bool | None, axis: Any, band_axis: int,
             dim: Any, band_dim: Hashable, func: str) -> _Prepared:
    kp, kt = _kind(pred), _kind(truth)
    if "xarray" in (kp, kt):
        if kp != kt:
            raise TypeError(format_message(
                f"{func}: both inputs as DataArrays (compared by coordinates)",
                f"a {kp} prediction and a {kt} truth",
                "wrap the array with specrecon.cube.make_cube, or pass .data of the DataArray"))
        if axis is not None:
            raise TypeError(format_message(f"{func}: dim= for DataArrays", "axis=",
                                           "name the dimensions to reduce with dim=('y', 'x')"))
        pred, truth = _align_xarray(pred, truth, band_dim)
        if pred.dtype != np.float64:
            pred = pred.astype(np.float64)
        if truth.dtype != np.float64:
            truth = truth.astype(np.float64)
        if dim is None:
            red = None
        else:
            red = [dim] if isinstance(dim, str) or not isinstance(dim, Sequence) else list(dim)
            missing = [d for d in red if d not in pred.dims]
            if missing:
                raise SpatialDimensionError(format_message(
                    f"dims to reduce among {pred.dims}", f"{missing}", "fix the dim= argument"))
        return _Prepared("xarray", pred, truth, _XarrayOps(band_dim), red,
                         True if skipna is None else bool(skipna))
    if dim is not None:
        raise TypeError(format_message(f"{func}: axis= for numpy arrays and torch tensors", "dim=",
                                       "pass axis indices, or wrap the inputs as DataArrays"))
    if "torch" in (kp, kt):
        torch = _torch_module()
        ref = pred if kp == "torch" else truth
        dtype = ref.dtype if ref.is_floating_point() else torch.get_default_dtype()
        pred = pred if kp == "torch" else torch.as_tensor(pred, dtype=dtype, device=ref.device)
        truth = truth if kt == "torch" else torch.as_tensor(truth, dtype=dtype, device=ref.device)
        if not pred.is_floating_point():
            pred = pred.to(dtype)
        if not truth.is_floating_point():
            truth = truth.to(dtype)
        ops_cls: type[_ArrayOps] = _TorchOps
        kind = "torch"
    else:
        pred = np.asarray(pred, dtype=np.float64)
        truth = np.asarray(truth, dtype=np.float64)
        ops_cls = _ArrayOps
        kind = "numpy"
    pshape, tshape = tuple(pred.shape), tuple(truth.shape)
    ndim = len(pshape)
    if ndim == 0:
        raise BandDimensionError(format_message("arrays with a band axis", "0-d inputs",
                                                "pass (..., bands, H, W) arrays"))
    band = _norm_axes(band_axis, ndim, "band_axis")[0]
    if pshape != tshape:
        raise _shape_error(pshape, tshape, band)
    red = None if axis is None else _norm_axes(axis, ndim, "axis")
    return _Prepared(kind, pred, truth, ops_cls(band), red,
                     False if skipna is None else bool(skipna))


def _masked_mean(ops: _ArrayOps, values: Any, mask: Any, red: Any) -> Any:
    """Mean of ``values`` over ``red`` counting only entries where ``mask`` is true."""
    if red is not None and len(red) == 0:  # nothing to reduce: masked entries become NaN
        return values if mask is None else ops.where(mask, values, ops.nan_like(values))
    if mask is None:
        return ops.mean(values, red)
    return ops.divide(ops.sum(ops.where(mask, values, 0.0), red), ops.sum(mask, red))


def _valid_pair(p: _Prepared) -> tuple[Any, Any, Any]:
    """Apply ``skipna``: NaN entries (in either input) are set to a harmless value and masked."""
    ops, pred, truth = p.ops, p.pred, p.truth
    if not p.skipna:
        return pred, truth, None
    valid = ~(ops.isnan(pred) | ops.isnan(truth))
    if p.kind == "numpy" and bool(valid.all()):
        return pred, truth, None     # nothing to skip: no masked copies of the two inputs
    return ops.where(valid, pred, 1.0), ops.where(valid, truth, 1.0), valid


def _finish(p: _Prepared, result: Any, name: str) -> Any:
    if p.kind == "xarray":
        result = result.rename(name)
        result.attrs = dict(_ATTRS[name])
        return result
    if p.kind == "numpy":
        result = np.asarray(result, dtype=np.float64)
        return float(result) if result.ndim == 0 else result
    return result


def _zero_gt_message(n: int | str) -> str:
    return format_message(
        "a ground truth without zeros (MRAE divides by it)",
        f"{n} zero value(s) in the truth among the compared entries",
        'pass zero_gt="ignore" to leave those entries out, zero_gt="epsilon" (with eps=...) to '
        "add eps to the denominator, or mask the truth before comparing")


def _raise_if_zeros(block: Any, count: Any) -> Any:
    """dask block function: fail at compute time when the truth held zeros."""
    n = int(np.asarray(count))
    if n:
        raise DataScaleError(_zero_gt_message(n))
    return block


def _check_options(zero_gt: str, eps: float) -> None:
    if zero_gt not in _ZERO_GT_MODES:
        raise ConfigError(format_message(f"zero_gt in {_ZERO_GT_MODES}", repr(zero_gt),
                                         "pick one of the listed modes"))
    if not eps > 0:
        raise ConfigError(format_message("eps > 0", repr(eps), "pass a small positive eps"))


# --------------------------------------------------------------------------- metrics
def mrae(pred: Any, truth: Any, *, zero_gt: ZeroGT = "raise", eps: float = 1e-6,
         skipna: bool | None = None, axis: int | Sequence[int] | None = None,
         band_axis: int = -3, dim: Hashable | Sequence[Hashable] | None = None,
         band_dim: Hashable = "wavelength") -> Any:
    """Mean relative absolute error, ``mean(|truth - pred| / |truth|)``.

    The NTIRE 2022 definition: averaged over all pixels and bands (or over
    ``axis``/``dim``), with no epsilon. The denominator is ``|truth|``, equal
    to ``truth`` for reflectances (>= 0) and still a magnitude if noise makes
    some negative.

    Parameters
    ----------
    pred : numpy.ndarray, torch.Tensor or xarray.DataArray
        Reconstruction.
    truth : same kind as ``pred`` (numpy and torch may be mixed)
        Ground truth; same shape (arrays) or same dims/coordinates (DataArrays).
    zero_gt : {"raise", "epsilon", "ignore"}, default "raise"
        What to do where ``truth == 0`` (the ratio is undefined there):
        ``"raise"`` raises :class:`~specrecon.errors.DataScaleError` naming how
        many zeros there are (for dask inputs the error is raised when the lazy
        result is computed; for torch it costs one device synchronisation);
        ``"ignore"`` leaves those entries out of the mean; ``"epsilon"`` uses
        ``|truth| + eps`` as the denominator everywhere.
    eps : float, default 1e-6
        The epsilon of ``zero_gt="epsilon"``.
    skipna : bool, optional
        Leave out entries where either input is NaN (nodata). Default: True for
        DataArrays (xarray's convention), False for arrays/tensors (NaN propagates,
        so a NaN loss is noticed).
    axis : int or sequence of int, optional
        Arrays only: axes to average over (default all -> a scalar).
    band_axis : int, default -3
        Arrays only: the spectral axis, ``(..., bands, H, W)`` by default.
    dim : str or sequence of str, optional
        DataArrays only: dims to average over (default all).
    band_dim : str, default "wavelength"
        DataArrays only: the spectral dimension.

    Returns
    -------
    float, numpy.ndarray, torch.Tensor or xarray.DataArray
        ``float`` for a fully reduced numpy input; a tensor (keeps the graph)
        for torch; a DataArray named ``"mrae"`` (lazy if dask-backed) for xarray.

    Raises
    ------
    DataScaleError
        ``zero_gt="raise"`` and the truth contains zeros.
    BandDimensionError, SpatialDimensionError, ModelMismatchError, CoordinateError
        The inputs do not describe the same bands and pixels.

    Examples
    --------
    Two bands, one row of two pixels; truth 0.5 and 0.25, errors 0.05 and 0.05:

    >>> import numpy as np
    >>> truth = np.array([[[0.5, 0.25]], [[0.5, 0.25]]])
    >>> pred = truth + 0.05
    >>> round(mrae(pred, truth), 6)          # (0.1 + 0.2 + 0.1 + 0.2) / 4
    0.15
    >>> np.round(mrae(pred, truth, axis=(-2, -1)), 6)     # per band
    array([0.15, 0.15])
    >>> truth[0, 0, 0] = 0.0
    >>> round(mrae(pred, truth, zero_gt="ignore"), 6)   # (0.2 + 0.1 + 0.2) / 3
    0.166667
    """
    _check_options(zero_gt, eps)
    p = _prepare(pred, truth, skipna=skipna, axis=axis, band_axis=band_axis, dim=dim,
                 band_dim=band_dim, func="mrae")
    ops = p.ops
    pr, gt, mask = _valid_pair(p)
    denom = ops.abs(gt)
    zero_count = None
    if zero_gt == "epsilon":
        denom = denom + eps
    else:
        zero = gt == 0
        if zero_gt == "ignore":
            mask = ~zero if mask is None else (mask & ~zero)
        else:
            zero_count = zero.sum()
        denom = ops.where(zero, 1.0, denom)  # safe division (and safe gradients)
    lazy = p.kind == "xarray" and zero_count is not None and zero_count.chunks is not None
    if zero_count is not None and not lazy:
        n = int(zero_count)  # numpy / in-memory xarray / torch (one sync)
        if n:
            raise DataScaleError(_zero_gt_message(n))
    ratio = ops.abs(pr - gt) / denom
    result = _masked_mean(ops, ratio, mask, p.red)
    if zero_count is not None and lazy:
        import dask.array as dsa

        data = result.data if hasattr(result.data, "dask") else dsa.asarray(result.data)
        guarded = dsa.map_blocks(_raise_if_zeros, data, dsa.asarray(zero_count.data),
                                 dtype=data.dtype, meta=np.empty((0,) * data.ndim, data.dtype))
        result = result.copy(data=guarded)
    return _finish(p, result, "mrae")


def _mse(p: _Prepared, clip: tuple[float, float] | None) -> Any:
    ops = p.ops
    pr, gt, mask = _valid_pair(p)
    if clip is not None:
        lo, hi = clip
        pr, gt = ops.clip(pr, lo, hi), ops.clip(gt, lo, hi)
    diff = pr - gt
    return _masked_mean(ops, diff * diff, mask, p.red)


def rmse(pred: Any, truth: Any, *, skipna: bool | None = None,
         axis: int | Sequence[int] | None = None, band_axis: int = -3,
         dim: Hashable | Sequence[Hashable] | None = None,
         band_dim: Hashable = "wavelength") -> Any:
    """Root mean squared error, ``sqrt(mean((truth - pred)^2))``.

    The mean runs over all pixels and bands (or ``axis``/``dim``) before the
    square root, as in NTIRE 2022. Units are those of the data.

    Parameters
    ----------
    pred, truth : numpy.ndarray, torch.Tensor or xarray.DataArray
        Reconstruction and ground truth (see :func:`mrae`).
    skipna, axis, band_axis, dim, band_dim
        As in :func:`mrae`.

    Returns
    -------
    float, numpy.ndarray, torch.Tensor or xarray.DataArray
        As in :func:`mrae`; the DataArray is named ``"rmse"``.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((2, 1, 2))
    >>> pred = np.array([[[0.1, 0.3]], [[0.1, 0.1]]])
    >>> round(rmse(pred, truth), 6)          # sqrt((0.01 + 0.09 + 0.01 + 0.01) / 4)
    0.173205
    """
    p = _prepare(pred, truth, skipna=skipna, axis=axis, band_axis=band_axis, dim=dim,
                 band_dim=band_dim, func="rmse")
    return _finish(p, p.ops.sqrt(_mse(p, None)), "rmse")


def psnr(pred: Any, truth: Any, *, peak: float = 1.0, clip: tuple[float, float] | None = None,
         skipna: bool | None = None, axis: int | Sequence[int] | None = None,
         band_axis: int = -3, dim: Hashable | Sequence[Hashable] | None = None,
         band_dim: Hashable = "wavelength") -> Any:
    """Peak signal-to-noise ratio in dB, ``10 log10(peak^2 / MSE)``.

    The MSE is taken over all pixels and bands (or ``axis``/``dim``, e.g. the
    spatial axes for a per-band or per-image PSNR). A perfect match gives
    ``inf``.

    Parameters
    ----------
    pred, truth : numpy.ndarray, torch.Tensor or xarray.DataArray
        Reconstruction and ground truth (see :func:`mrae`).
    peak : float, default 1.0
        The data range (1.0 for reflectance in [0, 1]).
    clip : (float, float), optional
        Clip *both* inputs to this range before the MSE. ``clip=(0, 1)``
        reproduces MST++'s evaluation code, which clamps to [0, 1] (it can only
        raise the PSNR of a reconstruction that over- or undershoots).
    skipna, axis, band_axis, dim, band_dim
        As in :func:`mrae`.

    Returns
    -------
    float, numpy.ndarray, torch.Tensor or xarray.DataArray
        As in :func:`mrae`; the DataArray is named ``"psnr"`` (units dB).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((2, 1, 2))
    >>> pred = np.full((2, 1, 2), 0.1)      # MSE = 0.01
    >>> round(psnr(pred, truth), 6)
    20.0
    >>> round(psnr(pred, truth, peak=2.0), 4)   # 10 log10(4 / 0.01)
    26.0206
    >>> psnr(pred - 0.2, truth, clip=(0, 1))    # clamped to 0: perfect match
    inf
    """
    if not peak > 0:
        raise ConfigError(format_message("peak > 0", repr(peak), "pass the data range, e.g. 1.0"))
    if clip is not None and (len(clip) != 2 or not clip[0] < clip[1]):
        raise ConfigError(format_message("clip=(low, high) with low < high", repr(clip),
                                         "pass e.g. clip=(0, 1), or None"))
    p = _prepare(pred, truth, skipna=skipna, axis=axis, band_axis=band_axis, dim=dim,
                 band_dim=band_dim, func="psnr")
    mse = _mse(p, clip)
    result = 10.0 * p.ops.log10(p.ops.divide(float(peak) ** 2, mse))
    return _finish(p, result, "psnr")


def sam(pred: Any, truth: Any, *, skipna: bool | None = None,
        axis: int | Sequence[int] | None = None, band_axis: int = -3,
        dim: Hashable | Sequence[Hashable] | None = None,
        band_dim: Hashable = "wavelength") -> Any:
    """Spectral angle mapper: mean per-pixel spectral angle in radians.

    For each pixel, ``arccos(<pred, truth> / (|pred| |truth|))`` over the band
    axis, with the cosine clipped to [-1, 1]; the angles are then averaged
    over the remaining axes (``axis``/``dim`` pick them; the band axis is always
    reduced). Pixels where either spectrum has zero norm have no angle and are
    left out of the mean (NaN if nothing is left). Identical spectra give 0,
    orthogonal ones ``pi/2``. Torch: the gradient at a cosine of exactly
    +-1 is set to 0 (arccos' is infinite there).

    Parameters
    ----------
    pred, truth : numpy.ndarray, torch.Tensor or xarray.DataArray
        Reconstruction and ground truth (see :func:`mrae`).
    skipna : bool, optional
        Leave out pixels with a NaN in any band of either input; defaults as in
        :func:`mrae`.
    axis, band_axis, dim, band_dim
        As in :func:`mrae`; ``axis``/``dim`` may include the band axis (ignored).

    Returns
    -------
    float, numpy.ndarray, torch.Tensor or xarray.DataArray
        As in :func:`mrae`; the DataArray is named ``"sam"`` (units rad).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[[1.0, 1.0]], [[0.0, 1.0]]])   # spectra (1, 0) and (1, 1)
    >>> pred = np.array([[[0.0, 2.0]], [[1.0, 2.0]]])    # spectra (0, 1) and (2, 2)
    >>> round(sam(pred, truth), 6)                        # (pi/2 + 0) / 2
    0.785398
    """
    p = _prepare(pred, truth, skipna=skipna, axis=axis, band_axis=band_axis, dim=dim,
                 band_dim=band_dim, func="sam")
    ops = p.ops
    pr, gt = p.pred, p.truth
    pix_valid = None
    if p.skipna:
        bad = ops.isnan(pr) | ops.isnan(gt)
        pix_valid = ~(ops.band_sum(bad) > 0)
        pr, gt = ops.where(bad, 0.0, pr), ops.where(bad, 0.0, gt)
    dot = ops.band_sum(pr * gt)
    nn = ops.band_sum(pr * pr) * ops.band_sum(gt * gt)
    nonzero = ~(nn == 0)  # NaN norms stay "valid" so that NaN propagates when skipna=False
    mask = nonzero if pix_valid is None else (nonzero & pix_valid)
    cos = dot / ops.sqrt(ops.where(nonzero, nn, 1.0))
    angle = ops.arccos_clipped(cos)
    return _finish(p, _masked_mean(ops, angle, mask, ops.drop_band(p.red)), "sam")


#: Metric name -> function, in the order :func:`evaluate` reports them by default.
METRICS: dict[str, Callable[..., Any]] = {"mrae": mrae, "rmse": rmse, "psnr": psnr, "sam": sam}


# --------------------------------------------------------------------------- crop + evaluate
def ntire_crop(x: Any, border: int = NTIRE_BORDER, *, dims: tuple[Hashable, Hashable] | None = None,
               axes: tuple[int, int] = (-2, -1)) -> Any:
    """Cut ``border`` pixels from each side of the two spatial axes.

    NTIRE 2022 scores the centre ``[128:-128, 128:-128]`` of each 482x512
    image, i.e. a 226x256 window. The result is a view/lazy selection (no copy).

    Parameters
    ----------
    x : numpy.ndarray, torch.Tensor or xarray.DataArray
        Image or cube.
    border : int, default 128
        Pixels removed at each end of both spatial axes (0 returns ``x`` as is).
    dims : (str, str), optional
        DataArrays: the spatial dims; default ``("y", "x")`` when present, else
        the last two dims.
    axes : (int, int), default (-2, -1)
        Arrays/tensors: the spatial axes.

    Returns
    -------
    same type as ``x``

    Raises
    ------
    SpatialDimensionError
        If an axis is not longer than ``2 * border``.

    Examples
    --------
    >>> import numpy as np
    >>> ntire_crop(np.zeros((31, 482, 512))).shape
    (31, 226, 256)
    >>> ntire_crop(np.arange(25).reshape(5, 5), border=2)
    array([[12]])
    """
    if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 0:
        raise ConfigError(format_message(
            "border as an int >= 0", repr(border),
            f"pass the pixels to cut per side ({NTIRE_BORDER} for NTIRE)"))
    border = int(border)
    if isinstance(x, xr.DataArray):
        if dims is None:
            dims = ("y", "x") if {"y", "x"} <= set(x.dims) else tuple(x.dims[-2:])  # type: ignore
        if len(dims) != 2 or any(d not in x.dims for d in dims):
            raise SpatialDimensionError(format_message(
                f"two spatial dims among {x.dims}", f"{dims}",
                "pass dims=('y', 'x') with the names"))
        sizes = {d: x.sizes[d] for d in dims}
        spatial = dict(sizes)
    else:
        if not hasattr(x, "shape") or not hasattr(x, "ndim"):
            x = np.asarray(x)
        ax = _norm_axes(axes, x.ndim, "axes", SpatialDimensionError)
        if len(ax) != 2:
            raise SpatialDimensionError(format_message("two spatial axes", f"{axes}",
                                                       "pass axes=(-2, -1)"))
        spatial = {a: int(x.shape[a]) for a in ax}
    too_small = {k: n for k, n in spatial.items() if n <= 2 * border}
    if too_small:
        raise SpatialDimensionError(format_message(
            f"spatial sizes larger than 2 * border = {2 * border}", f"{too_small}",
            "use a smaller border (NTIRE's 128 is meant for 482x512 images) or crop=None"))
    if border == 0:
        return x
    if isinstance(x, xr.DataArray):
        return x.isel({d: slice(border, n - border) for d, n in spatial.items()})
    index: list[Any] = [slice(None)] * x.ndim
    for a, n in spatial.items():
        index[a] = slice(border, n - border)
    return x[tuple(index)]


def _option_names() -> dict[str, set[str]]:
    names = {}
    for name, func in METRICS.items():
        params = inspect.signature(func).parameters
        names[name] = {k for k, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY}
    return names


def _to_report_value(value: Any) -> Any:
    if _is_tensor(value):
        value = value.detach().cpu()
        return float(value) if value.ndim == 0 else value.numpy()
    return value


#: In-memory inputs larger than this (elements) are evaluated in blocks of about
#: :data:`_BLOCK_ELEMENTS`: the element-wise steps make float64 temporaries of the
#: inputs' size (about seven of them: 13 GB for a 202-band 1024^2 cube), each paid in
#: fresh memory.
_LARGE_ELEMENTS = 2**22
_BLOCK_ELEMENTS = 2**20


def _is_large(pred: Any, truth: Any) -> bool:
    return (int(np.prod(np.shape(pred))) > _LARGE_ELEMENTS
            and tuple(np.shape(pred)) == tuple(np.shape(truth)))


def _block_rows(shape: Sequence[int], axis: int) -> int:
    per_row = int(np.prod(shape)) // max(1, int(shape[axis]))
    return max(1, _BLOCK_ELEMENTS // max(1, per_row))


def _evaluate_numpy_in_blocks(pred: np.ndarray, truth: np.ndarray, names: list[str],
                              options: dict[str, Any]) -> dict[str, Any]:
    """:func:`evaluate` of large arrays, fully reduced: the DataArray path over dask blocks.

    Same definitions and options as for arrays (``skipna`` defaults to False, NaN
    propagates); blocks along the first non-band axis.
    """
    import dask.array as dsa

    ndim = pred.ndim
    band = _norm_axes(options.get("band_axis", -3), ndim, "band_axis")[0]
    dims = [f"axis_{i}" for i in range(ndim)]
    dims[band] = "band"
    split = next(i for i in range(ndim) if i != band)
    rows = _block_rows(pred.shape, split)
    chunks = tuple(rows if i == split else -1 for i in range(ndim))
    p = xr.DataArray(dsa.from_array(pred, chunks=chunks), dims=dims)
    t = xr.DataArray(dsa.from_array(truth, chunks=chunks), dims=dims)
    opts = {k: v for k, v in options.items() if k != "band_axis"}
    opts["band_dim"] = "band"
    opts.setdefault("skipna", False)
    ds = evaluate(p, t, names, **opts).compute()
    return {name: float(ds[name]) for name in names}


def evaluate(pred: Any, truth: Any, metrics: str | Sequence[str] = ("mrae", "rmse", "psnr", "sam"),
             *, dims: Any = None, crop: int | None = None, **options: Any) -> Any:
    """Compute several metrics of ``pred`` against ``truth`` in one call.

    Checks first that both inputs describe the same bands and pixels: for
    DataArrays they are matched by coordinates (a different band order is
    re-aligned by wavelength; different wavelengths, sizes or pixel labels are
    errors), for arrays by shape.

    Parameters
    ----------
    pred, truth : numpy.ndarray, torch.Tensor or xarray.DataArray
        Reconstruction and ground truth.
    metrics : str or sequence of str, default all four
        Names among ``"mrae"``, ``"rmse"``, ``"psnr"``, ``"sam"``.
    dims : optional
        What to reduce over: ``dim`` for DataArrays, ``axis`` for arrays
        (default: everything).
    crop : int, optional
        Border to cut from both inputs first with :func:`ntire_crop`
        (``crop=128`` is the NTIRE 2022 protocol).
    **options
        Passed to the metrics that accept them: ``zero_gt``, ``eps`` (mrae),
        ``peak``, ``clip`` (psnr), ``skipna``, ``band_dim``, ``band_axis`` (all).

    Returns
    -------
    xarray.Dataset or dict
        DataArrays: a Dataset with one variable per metric (attrs
        ``long_name``, ``units``, ``definition``; lazy for dask inputs).
        Arrays/tensors: ``{name: float}`` (numpy arrays if ``dims`` leaves
        axes unreduced); tensors are detached.

    Raises
    ------
    BandDimensionError, ModelMismatchError, SpatialDimensionError, CoordinateError
        The inputs do not match (band count, wavelengths, spatial size/labels).
    ConfigError
        Unknown metric name.
    TypeError
        Unknown option.

    Examples
    --------
    >>> import numpy as np
    >>> from specrecon.cube import make_cube
    >>> truth = make_cube(np.full((3, 2, 2), 0.5, "float32"), [450.0, 550.0, 650.0])
    >>> pred = truth + 0.05
    >>> ds = evaluate(pred, truth)
    >>> sorted(ds.data_vars), round(float(ds.mrae), 6), ds.psnr.attrs["units"]
    (['mrae', 'psnr', 'rmse', 'sam'], 0.1, 'dB')
    >>> out = evaluate(pred.values, truth.values, metrics=["rmse"])
    >>> round(out["rmse"], 6)
    0.05
    """
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ConfigError(format_message(f"metric names among {list(METRICS)}",
                                         f"{unknown or 'none'}", "fix the metrics= argument"))
    accepted = _option_names()
    all_options = set().union(*accepted.values()) - {"axis", "dim"}
    bad = sorted(set(options) - all_options)
    if bad:
        raise TypeError(format_message(f"options among {sorted(all_options)}", f"{bad}",
                                       "use dims= for the reduction and check the spelling"))
    kind = _kind(pred)
    if (kind == "numpy" and dims is None and crop is None and isinstance(pred, np.ndarray)
            and isinstance(truth, np.ndarray) and _is_large(pred, truth)):
        return _evaluate_numpy_in_blocks(pred, truth, names, options)
    eager = False
    if kind == "xarray":
        band_dim = options.get("band_dim", "wavelength")
        if _kind(truth) != "xarray":
            raise TypeError(format_message("both inputs as DataArrays", f"a {_kind(truth)} truth",
                                           "wrap it with specrecon.cube.make_cube"))
        pred, truth = _align_xarray(pred, truth, band_dim)
        if crop is not None:
            spatial = [d for d in pred.dims if d != band_dim]
            sdims = ("y", "x") if {"y", "x"} <= set(spatial) else tuple(spatial[-2:])
            pred, truth = ntire_crop(pred, crop, dims=sdims), ntire_crop(truth, crop, dims=sdims)
        red_kw = {"dim": dims}
        if dims is None and pred.chunks is None and _is_large(pred, truth):
            # in memory and reduced to scalars: chunk by chunk, so that each element-wise
            # step's temporaries stay small (whole-cube float64 temporaries otherwise)
            spatial = next(d for d in pred.dims if d != band_dim)
            rows = _block_rows(pred.shape, pred.dims.index(spatial))
            pred, truth = pred.chunk({spatial: rows}), truth.chunk({spatial: rows})
            eager = True
    else:
        if crop is not None:
            ndim = len(np.shape(pred)) if not _is_tensor(pred) else pred.ndim
            band = _norm_axes(options.get("band_axis", -3), ndim, "band_axis")[0]
            spatial_axes = [a for a in range(ndim) if a != band][-2:]
            if tuple(np.shape(pred)) != tuple(np.shape(truth)):
                raise _shape_error(tuple(np.shape(pred)), tuple(np.shape(truth)), band)
            pred = ntire_crop(pred, crop, axes=tuple(spatial_axes))  # type: ignore[arg-type]
            truth = ntire_crop(truth, crop, axes=tuple(spatial_axes))  # type: ignore[arg-type]
        red_kw = {"axis": dims}
    results: dict[str, Any] = {}
    for name in names:
        kwargs = {k: v for k, v in options.items() if k in accepted[name]}
        results[name] = METRICS[name](pred, truth, **kwargs, **red_kw)
    if kind != "xarray":
        return {k: _to_report_value(v) for k, v in results.items()}
    ds = xr.Dataset(results)
    if eager:
        ds = ds.compute()
    ds.attrs = {"title": "spectral reconstruction metrics",
                "crop_border": 0 if crop is None else int(crop),
                "band_dim": str(options.get("band_dim", "wavelength")),
                "skipna": int(bool(options.get("skipna", True))),
                "conventions": "NTIRE 2022 definitions; see specrecon docs/metrics.md"}
    return ds
