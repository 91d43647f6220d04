"""Spectral resampling of cubes from one band set to another.

Each target band is modelled as a Gaussian spectral response function (SRF)
with its centre and FWHM. Its value is the SRF-weighted mean of the source
bands: the Gaussian is integrated over each source band's interval (bounded by
the midpoints to its neighbours) and the weights of a target band are
normalised to sum to 1. When the source bands themselves have a width
(``source_fwhm``), the kernel is narrowed to ``sqrt(fwhm_t^2 - fwhm_s^2)`` so
that the source's own blur is not applied twice.

The operation is one matrix product over the band axis, so dask inputs stay
lazy and spatial chunks are preserved.

Examples
--------
>>> import numpy as np
>>> from specrecon.cube import make_cube
>>> cube = make_cube(np.ones((31, 2, 2), "float32"), np.arange(400, 701, 10.0))
>>> out = resample(cube, BandSet.from_arrays([450.0, 550.0, 650.0], 20.0))
>>> out.sizes["wavelength"], float(out.isel(x=0, y=0)[1])
(3, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from specrecon.cube import WAVELENGTH, check_wavelengths, make_cube
from specrecon.errors import (
    BandDimensionError,
    CoordinateError,
    ModelMismatchError,
    SpatialDimensionError,
    format_message,
)
from specrecon.spectral.bandsets import BandSet, get_bandset
from specrecon.spectral.sensors import _FWHM_TO_SIGMA, Sensor

__all__ = ["resample", "srf_matrix"]


# --------------------------------------------------------------------------- shared helpers

def _is_dask(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "dask"


def _split_input(cube: Any, wavelengths: Sequence[float] | np.ndarray | None,
                 what: str) -> tuple[Any, np.ndarray, xr.DataArray | None]:
    """Return (band-first array, wavelengths, the DataArray or None)."""
    if isinstance(cube, xr.DataArray):
        if WAVELENGTH not in cube.dims:
            raise BandDimensionError(format_message(
                f"a cube with a '{WAVELENGTH}' dimension for {what}", f"dims {cube.dims}",
                "build it with specrecon.cube.make_cube or rename the band dimension"))
        if cube.ndim != 3:
            raise SpatialDimensionError(format_message(
                f"a (wavelength, y, x) cube for {what}", f"dims {cube.dims}",
                "select a single image (e.g. .isel(time=0)) first"))
        da = cube.transpose(WAVELENGTH, ...)
        wl = check_wavelengths(da[WAVELENGTH].values)
        if wavelengths is not None and not np.allclose(np.asarray(wavelengths, float), wl):
            raise CoordinateError(format_message(
                "wavelengths= to match the cube's wavelength coordinate", "different values",
                "drop wavelengths= for xarray input (the coordinate is used)"))
        return da.data, wl, da
    if wavelengths is None:
        raise CoordinateError(format_message(
            f"wavelengths= (nm, one per band) for array input to {what}", "None",
            "pass wavelengths=..., or wrap the array with specrecon.cube.make_cube"))
    wl = check_wavelengths(wavelengths)
    data = cube if _is_dask(cube) else np.asarray(cube)
    if data.ndim != 3 or data.shape[0] != wl.size:
        raise BandDimensionError(format_message(
            f"a (bands={wl.size}, y, x) array for {what}", f"shape {data.shape}",
            "put the band axis first and pass one wavelength per band"))
    return data, wl, None


def _apply_matrix(matrix: np.ndarray, data: Any, dtype: str = "float32") -> Any:
    """``out[i, y, x] = sum_j matrix[i, j] * data[j, y, x]`` for numpy or dask data."""
    if _is_dask(data):
        import dask.array as dsa

        m = matrix.astype(np.result_type(data.dtype, np.float32), copy=False)
        out = dsa.tensordot(m, data, axes=([1], [0]))
        return out.astype(dtype)
    arr = np.asarray(data)
    work = np.float64 if arr.dtype == np.float64 else np.float32
    out = np.tensordot(matrix.astype(work), arr.astype(work, copy=False), axes=([1], [0]))
    return out.astype(dtype, copy=False)


def _carried_coords(da: xr.DataArray) -> dict[str, Any]:
    """Coordinates to keep when the band axis is replaced (spatial_ref, 2-D lat/lon...)."""
    spatial = [d for d in da.dims if d != WAVELENGTH]
    return {name: c.variable for name, c in da.coords.items()
            if WAVELENGTH not in c.dims and name not in spatial}


def _copy_grid_mapping(src: xr.DataArray, dst: xr.DataArray) -> xr.DataArray:
    gm = src.encoding.get("grid_mapping") or src.attrs.get("grid_mapping")
    if gm is not None:
        dst.encoding["grid_mapping"] = gm
    return dst


# --------------------------------------------------------------------------- resampling

def _bin_edges(wl: np.ndarray) -> np.ndarray:
    mid = 0.5 * (wl[1:] + wl[:-1])
    if wl.size == 1:
        return np.array([wl[0] - 0.5, wl[0] + 0.5])
    return np.concatenate([[wl[0] - (mid[0] - wl[0])], mid, [wl[-1] + (wl[-1] - mid[-1])]])


def srf_matrix(source_wavelengths: Sequence[float] | np.ndarray,
               target_wavelengths: Sequence[float] | np.ndarray,
               target_fwhm: Sequence[float] | np.ndarray | float, *,
               source_fwhm: Sequence[float] | np.ndarray | float | None = None) -> np.ndarray:
    """Weights that map source bands to Gaussian target bands.

    Parameters
    ----------
    source_wavelengths : array-like
        Source band centres (nm), strictly increasing.
    target_wavelengths : array-like
        Target band centres (nm).
    target_fwhm : array-like or float
        Target widths (nm).
    source_fwhm : array-like or float, optional
        Source widths (nm). When given, each target kernel is narrowed to
        ``sqrt(max(fwhm_t^2 - fwhm_s^2, 0))`` (Gaussians add in quadrature),
        using the source width nearest the target centre.

    Returns
    -------
    numpy.ndarray
        ``(n_target, n_source)`` float64, each row summing to 1 (rows of a
        target that overlaps no source band are all zero).

    Examples
    --------
    >>> w = srf_matrix(np.arange(400, 701, 10.0), [550.0], 30.0)
    >>> round(float(w.sum()), 6), int(np.argmax(w))
    (1.0, 15)
    """
    from scipy.special import erf

    src = check_wavelengths(source_wavelengths, what="source wavelengths")
    tgt = np.asarray(target_wavelengths, "float64").ravel()
    tfw = np.broadcast_to(np.asarray(target_fwhm, "float64"), tgt.shape).astype("float64")
    if source_fwhm is not None:
        sfw = np.broadcast_to(np.asarray(source_fwhm, "float64"), src.shape)
        nearest = np.abs(src[None, :] - tgt[:, None]).argmin(axis=1)
        tfw = np.sqrt(np.clip(tfw ** 2 - sfw[nearest] ** 2, 0.0, None))
    edges = _bin_edges(src)
    # a kernel narrower than ~1/10 of a source band degenerates to "take the band it falls in"
    sigma = np.maximum(tfw * _FWHM_TO_SIGMA, 1e-3)
    z = (edges[None, :] - tgt[:, None]) / (np.sqrt(2.0) * sigma[:, None])
    cdf = 0.5 * (1.0 + erf(z))
    w = np.diff(cdf, axis=1)
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(total > 1e-12, w / total, 0.0)
    return w


def _target_bands(target: Any) -> tuple[str, np.ndarray, np.ndarray, np.ndarray | None,
                                         np.ndarray | None]:
    """(name, centres, fwhm, good, explicit matrix rows order) for a resampling target."""
    if isinstance(target, Sensor):
        order = np.argsort(target.wavelengths)
        return target.name, target.wavelengths[order], target.fwhm[order], None, order
    bs = get_bandset(target) if not isinstance(target, BandSet) else target
    return bs.name, bs.wavelengths, bs.fwhm, bs.good, None


def resample(cube: Any, target: BandSet | Sensor | str, *,
             source_fwhm: Sequence[float] | np.ndarray | float | None = None,
             wavelengths: Sequence[float] | np.ndarray | None = None,
             outside: str = "raise", dtype: str = "float32") -> Any:
    """Resample a cube to another band set with Gaussian SRF weights.

    Parameters
    ----------
    cube : xarray.DataArray or numpy.ndarray or dask.array.Array
        A cube ``(wavelength, y, x)``; arrays need ``wavelengths=``.
    target : BandSet, Sensor or str
        Target bands: a :class:`BandSet`, a band-set name (``"arad31"``, ...), or
        a :class:`Sensor`, whose measured/Gaussian response curves are used
        instead of Gaussians (output bands sorted by channel centre).
    source_fwhm : array-like or float, optional
        Widths of the source bands (nm), see :func:`srf_matrix`. For xarray input
        the cube's ``fwhm`` coordinate is *not* used unless passed here, so that
        resampling to the cube's own band set stays close to the identity.
    wavelengths : array-like, optional
        Source band centres for array input.
    outside : {"raise", "nan"}
        What to do with target bands whose centre lies outside the source
        range: raise :class:`~specrecon.errors.ModelMismatchError`, or fill them
        with NaN.
    dtype : str
        Output dtype.

    Returns
    -------
    xarray.DataArray or array
        A cube on the target bands (coordinates from
        :func:`specrecon.cube.make_cube`; spatial coords, ``spatial_ref`` and
        attributes kept) or a ``(n_target, y, x)`` array. Dask stays lazy.

    Raises
    ------
    ModelMismatchError
        If target bands lie outside the source range and ``outside="raise"``.

    Examples
    --------
    >>> data = np.linspace(0, 1, 31)[:, None, None] * np.ones((31, 2, 2))
    >>> out = resample(data, "arad31", wavelengths=np.arange(400, 701, 10.0))
    >>> out.shape
    (31, 2, 2)
    """
    if outside not in ("raise", "nan"):
        raise ValueError(format_message('outside="raise" or "nan"', repr(outside),
                                        "pick one of the two"))
    data, src_wl, da = _split_input(cube, wavelengths, "resample")
    name, t_wl, t_fw, t_good, order = _target_bands(target)
    lo, hi = src_wl[0], src_wl[-1]
    tol = 1e-6
    bad = (t_wl < lo - tol) | (t_wl > hi + tol)
    if isinstance(target, Sensor):
        m = target.matrix_for(src_wl)[order]
        rs = m.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = np.where(rs > 0, m / rs, 0.0)
    else:
        matrix = srf_matrix(src_wl, t_wl, t_fw, source_fwhm=source_fwhm)
    if bad.any():
        if outside == "raise":
            shown = ", ".join(f"{w:g}" for w in t_wl[bad][:5])
            raise ModelMismatchError(format_message(
                f"target bands within the source range {lo:g}-{hi:g} nm",
                f"{int(bad.sum())} band(s) outside it ({shown}{'...' if bad.sum() > 5 else ''})",
                "choose a target inside the source range, or pass outside='nan' to flag them"))
        matrix = matrix.copy()
        matrix[bad] = np.nan
    out = _apply_matrix(matrix, data, dtype)
    if da is None:
        return out
    ydim, xdim = (d for d in da.dims if d != WAVELENGTH)
    res = make_cube(out, t_wl, t_fw, y=da[ydim].variable, x=da[xdim].variable,
                    dims=(ydim, xdim), good_band=t_good, attrs=dict(da.attrs),
                    extra_coords=_carried_coords(da), name=da.name or "reflectance")
    res.attrs["spectral_resampling"] = (f"Gaussian SRF to band set '{name}'"
                                        if not isinstance(target, Sensor)
                                        else f"sensor response '{name}'")
    return _copy_grid_mapping(da, res)
