"""RGB DataArray -> lazy hyperspectral cube: a short orchestrator over named steps.

:func:`reconstruct` is the xarray-level entry point (layer 2). It runs five
steps, each with one owner:

1. **input preparation** -- :func:`prepare_input`: dims (:func:`detect_dims`,
   built on :func:`specrecon.cube.find_spatial_dims`), coordinates, scaling
   (:func:`input_scaling`) and the nodata mask, captured in an
   :class:`InputPreparation` whose :meth:`~InputPreparation.apply` is the one
   function that turns raw values into model input, both up front (numpy input)
   and inside every dask task;
2. **model resolution** -- :func:`specrecon.runtime.resolve_model` reads the
   model card (never the tensors) and pins the weights' sha256;
3. **tile grid** -- :func:`tile_grid`, from the call or the model card;
4. **graph** -- :mod:`specrecon.graph`: regular chunks decided once and one task
   per output chunk;
5. **output assembly** -- coordinates, CRS and attributes with
   :func:`specrecon.cube.make_cube`.

Examples
--------
>>> import numpy as np, torch, specrecon
>>> from specrecon.cube import make_rgb
>>> rgb = make_rgb(np.random.default_rng(0).random((3, 64, 64), dtype="float32"))
>>> net = torch.nn.Conv2d(3, 31, 1)
>>> cube = specrecon.reconstruct(rgb, net, tile_size=32, overlap=8, device="cpu")
>>> cube.dims, cube.shape
(('wavelength', 'y', 'x'), (31, 64, 64))
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from specrecon.cube import spatial_dims as _spatial_dims
from specrecon.errors import (
    BandDimensionError,
    CoordinateError,
    DataScaleError,
    EmptyInputError,
    ModelMismatchError,
    SpatialDimensionError,
    format_message,
)

if TYPE_CHECKING:  # pragma: no cover
    import dask.array as dsa

    from specrecon.models.weights import ModelCard
    from specrecon.runtime import ResolvedModel
    from specrecon.tiling import TileGrid

__all__ = [
    "DEFAULT_TILE_SIZE",
    "FLOAT_RANGE",
    "InputPreparation",
    "PreparedInput",
    "detect_dims",
    "input_scaling",
    "prepare_input",
    "reconstruct",
    "select_rgb_variable",
    "tile_grid",
]

#: Tile size when neither the call nor the model card gives one.
DEFAULT_TILE_SIZE = 128
#: Float input (after scaling) outside this range is taken as "unknown scale".
FLOAT_RANGE = (-0.5, 2.0)
#: Spatial chunk size used to wrap numpy-backed input.
NUMPY_CHUNK = 2048

_BAND_NAMES = ("band", "bands", "channel", "channels", "rgb", "c", "color", "colour")


# ----------------------------------------------------------------------------- validation
def detect_dims(da: xr.DataArray, band_dim: Hashable | None = None,
                spatial_dims: Sequence[Hashable] | None = None) -> tuple[Hashable, Hashable,
                                                                          Hashable]:
    """Find the band dim and the (row, column) spatial dims of an RGB DataArray.

    Parameters
    ----------
    da : xarray.DataArray
        The image.
    band_dim : hashable, optional
        Name of the band dim; default: one named like ``band``/``channel``,
        else the only other dim.
    spatial_dims : pair of hashable, optional
        ``(row_dim, col_dim)``; default: the first pair of
        :data:`specrecon.cube.SPATIAL_DIM_PAIRS` present (``y/x``, ``latitude/longitude``,
        ``lat/lon``, ``rows/cols``, ``row/col``, ``height/width``).

    Returns
    -------
    tuple
        ``(band_dim, row_dim, col_dim)``.

    Raises
    ------
    SpatialDimensionError, BandDimensionError

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((4, 5, 3)), dims=("lat", "lon", "channel"))
    >>> detect_dims(da)
    ('channel', 'lat', 'lon')
    """
    dims = list(da.dims)
    sp = _spatial_dims(da, spatial_dims)
    rest = [d for d in dims if d not in sp]
    if band_dim is not None:
        if band_dim not in rest:
            raise BandDimensionError(format_message(
                f"band dim {band_dim!r} among the non-spatial dims", f"{tuple(rest)}",
                "pass band_dim= naming the colour dim"))
        bd = band_dim
    else:
        named = [d for d in rest if str(d).lower() in _BAND_NAMES]
        if len(named) == 1:
            bd = named[0]
        elif len(rest) == 1:
            bd = rest[0]
        else:
            threes = [d for d in rest if da.sizes[d] == 3]
            if len(threes) != 1:
                raise BandDimensionError(format_message(
                    "one band dim of size 3 besides the spatial dims",
                    f"dims {dict(da.sizes)}" if rest else "no band dim",
                    "pass band_dim= (and select a single time/scene with .isel)"))
            bd = threes[0]
    return bd, sp[0], sp[1]


def _check_coords(da: xr.DataArray, dims: Sequence[Hashable]) -> None:
    for d in dims:
        if d not in da.indexes:
            continue
        idx = da.indexes[d]
        if idx.size < 2:
            continue
        vals = np.asarray(idx)
        if not idx.is_unique:
            n = int(idx.size - idx.nunique())
            raise CoordinateError(format_message(
                f"unique {d!r} coordinates", f"{n} duplicated value(s)",
                f"drop duplicates: da.drop_duplicates({str(d)!r})"))
        if not (idx.is_monotonic_increasing or idx.is_monotonic_decreasing):
            raise CoordinateError(format_message(
                f"monotonic {d!r} coordinates (neighbouring pixels side by side)",
                f"unsorted values starting {vals[:4].tolist()}",
                f"sort the image: da.sortby({str(d)!r})"))


def _nodata_value(da: xr.DataArray, nodata: float | None) -> float | None:
    if nodata is not None:
        return float(nodata)
    for key in ("_FillValue", "nodata", "missing_value"):
        v = da.attrs.get(key)
        if v is not None and np.ndim(v) == 0:
            return float(v)
    if "rioxarray" in sys.modules:  # never import rioxarray just for this
        try:
            v = da.rio.nodata
        except Exception:  # noqa: BLE001 - rioxarray cannot tell
            v = None
        if v is not None and np.ndim(v) == 0:
            return float(v)
    return None


def input_scaling(da: xr.DataArray, scale: float | None = None) -> tuple[float, float, bool]:
    """How raw values map to reflectance in [0, 1]: ``value * mul + add``.

    Order of precedence:

    1. ``scale`` given: ``mul = scale``, ``add = 0`` (trusted, no range check);
    2. CF ``scale_factor`` / ``add_offset`` in ``da.attrs`` (undecoded data; the identity
       ``1, 0`` that ``rioxarray.open_rasterio`` always records is ignored);
    3. integer data: ``valid_max`` or ``valid_range`` attrs give the full
       scale; else ``uint8 -> 1/255``; any other integer type raises. uint16 in
       particular has no safe default: 16-bit camera images use the full range
       (``scale=1/65535``) while Sentinel-2 / Landsat surface reflectance products
       store reflectance x 10000 (``scale=1e-4``, plus their product offsets), and
       guessing wrong would silently darken or brighten the cube 6.5-fold;
    4. float data: assumed in [0, 1] (range-checked against :data:`FLOAT_RANGE`).

    Parameters
    ----------
    da : xarray.DataArray
        Raw image.
    scale : float, optional
        Explicit multiplier (reflectance = raw value x ``scale``), finite and > 0.

    Returns
    -------
    tuple
        ``(mul, add, check_range)``.

    Raises
    ------
    DataScaleError
        For integer types of unknown scale, boolean or complex data, or a
        ``scale`` that is not a finite positive number.

    Examples
    --------
    >>> input_scaling(xr.DataArray(np.zeros(2, "uint8")))
    (0.00392156862745098, 0.0, False)
    >>> input_scaling(xr.DataArray(np.zeros(2, "int16"), attrs={"scale_factor": 1e-4}))
    (0.0001, 0.0, True)
    """
    dt = np.dtype(da.dtype)
    if dt.kind == "c":
        raise DataScaleError(format_message(
            "real-valued RGB values", f"{dt.name} data (the imaginary part would be dropped)",
            "pass the real part (da.real) or the magnitude (abs(da)) explicitly"))
    if scale is not None:
        try:
            mul = float(scale)
        except (TypeError, ValueError):
            mul = math.nan
        if not (math.isfinite(mul) and mul > 0):
            raise DataScaleError(format_message(
                "scale= a finite number > 0 (reflectance = raw value x scale)", repr(scale),
                "pass e.g. scale=1e-4 for reflectance x 10000 or scale=1/255 for 8-bit"))
        return mul, 0.0, False
    attrs = da.attrs
    sf, ao = float(attrs.get("scale_factor", 1.0)), float(attrs.get("add_offset", 0.0))
    if (sf, ao) != (1.0, 0.0):  # rioxarray writes an identity scale_factor=1 on every read
        return sf, ao, True
    if dt.kind == "b":
        raise DataScaleError(format_message("numeric RGB values", "boolean data",
                                            "convert to an image first"))
    if dt.kind in "iu":
        vmax = attrs.get("valid_max")
        if vmax is None and attrs.get("valid_range") is not None:
            vmax = np.asarray(attrs["valid_range"]).ravel()[-1]
        if vmax is not None and float(vmax) > 0:
            return 1.0 / float(vmax), 0.0, False
        if dt == np.uint8:
            return 1.0 / 255.0, 0.0, False
        if dt == np.uint16:
            raise DataScaleError(format_message(
                "uint8 data, or integer data with scale_factor/valid_max attributes",
                "uint16 data without them (its scale is ambiguous)",
                "pass scale=1e-4 for reflectance x 10000 (Sentinel-2 / Landsat L2 style; "
                "subtract any product offset first) or scale=1/65535 for full-range "
                "16-bit images (CLI: --scale)"))
        raise DataScaleError(format_message(
            "uint8 data, or integer data with scale_factor/valid_max attributes",
            f"{dt.name} data without them",
            "pass scale= (e.g. scale=1e-4 for reflectance x 10000)"))
    return 1.0, 0.0, True


def _range_error(lo: float, hi: float) -> DataScaleError:
    return DataScaleError(format_message(
        f"reflectance roughly in [0, 1] (accepted {list(FLOAT_RANGE)})",
        f"values in [{lo:.4g}, {hi:.4g}]",
        "pass scale= (e.g. 1/255, 1/10000) or set CF scale_factor/add_offset attributes"))


def select_rgb_variable(ds: xr.Dataset, variable: Hashable | None = None) -> xr.DataArray:
    """The RGB DataArray of a Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Dataset holding the image.
    variable : hashable, optional
        Name of the RGB variable. Default: the only data variable with a dim
        of size 3; or, if the Dataset holds exactly three 2-D variables (one
        per band, as ``open_rasterio(band_as_variable=True)`` gives), those
        stacked along a new ``band`` dim.

    Returns
    -------
    xarray.DataArray

    Raises
    ------
    BandDimensionError
        If no unique RGB variable can be found.

    Examples
    --------
    >>> ds = xr.Dataset({"rgb": (("band", "y", "x"), np.zeros((3, 2, 2))),
    ...                  "mask": (("y", "x"), np.zeros((2, 2)))})
    >>> select_rgb_variable(ds).name
    'rgb'
    """
    if variable is not None:
        if variable not in ds.data_vars:
            raise BandDimensionError(format_message(
                f"a data variable named {variable!r}", f"variables {list(ds.data_vars)}",
                "pass one of those names"))
        return ds[variable]
    cands = [n for n, v in ds.data_vars.items() if v.ndim >= 3 and 3 in v.shape]
    if len(cands) == 1:
        return ds[cands[0]]
    planes = [n for n, v in ds.data_vars.items() if v.ndim == 2]
    if not cands and len(planes) == 3 and len({ds[n].dims for n in planes}) == 1:
        out = xr.concat([ds[n] for n in planes], dim="band", coords="minimal",
                        compat="override", join="exact")
        rgb: xr.DataArray = out.assign_coords(band=[1, 2, 3],
                                              band_name=("band", [str(n) for n in planes]))
        return rgb
    raise BandDimensionError(format_message(
        "exactly one RGB variable (a dim of size 3) in the Dataset",
        f"{len(cands)} candidates {cands} among {list(ds.data_vars)}",
        "pass variable=<name>"))


# ----------------------------------------------------------------------------- 1. input
@dataclass(frozen=True)
class InputPreparation:
    """How raw RGB values become model input: validity mask, scaling, range check.

    The one function (:meth:`apply`) used both on numpy input up front and inside
    every dask task, so the two paths cannot disagree.

    Parameters
    ----------
    mul, add : float
        ``reflectance = raw * mul + add`` (see :func:`input_scaling`).
    nodata : float or None
        Raw nodata value; a pixel is invalid when **every** band equals it
        (GDAL's mask semantics). Non-finite values in any band are always invalid.
    check_range : bool
        Refuse reflectance outside :data:`FLOAT_RANGE` (unknown scale).

    Examples
    --------
    >>> prep = InputPreparation(1 / 255, 0.0, 0.0, False)
    >>> raw = np.array([[[0, 255]], [[0, 0]], [[0, 0]]], "uint8")   # (3, 1, 2)
    >>> img, valid = prep.apply(raw)
    >>> valid.tolist(), img[0].tolist()
    ([[False, True]], [[0.0, 1.0]])
    """

    mul: float
    add: float
    nodata: float | None
    check_range: bool

    def validity(self, raw: np.ndarray) -> np.ndarray:
        """``(H, W)`` bool: finite in every band and not nodata in every band."""
        valid = (np.isfinite(raw).all(axis=0) if raw.dtype.kind == "f"
                 else np.ones(raw.shape[1:], bool))
        if self.nodata is not None and not np.isnan(self.nodata):
            valid &= ~(raw == self.nodata).all(axis=0)
        return valid

    def apply(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw ``(3, H, W)`` block -> ``(float32 reflectance with invalid pixels 0, valid)``.

        Raises
        ------
        DataScaleError
            When ``check_range`` and valid values fall outside :data:`FLOAT_RANGE`.
        """
        raw = np.asarray(raw)
        valid = self.validity(raw)
        img = raw.astype("float32")
        if self.mul != 1.0 or self.add != 0.0:
            img = img * np.float32(self.mul) + np.float32(self.add)
        if self.check_range and valid.any():
            vals = img[:, valid]
            lo, hi = float(vals.min()), float(vals.max())
            if lo < FLOAT_RANGE[0] or hi > FLOAT_RANGE[1]:
                raise _range_error(lo, hi)
        img[:, ~valid] = 0.0
        return img, valid


@dataclass(frozen=True)
class PreparedInput:
    """The validated input of :func:`reconstruct`.

    Parameters
    ----------
    da : xarray.DataArray
        The RGB image with extra length-1 dims dropped.
    dims : tuple
        ``(band_dim, row_dim, col_dim)``.
    data : dask.array.Array
        Raw ``(3, rows, cols)`` values (numpy input wrapped lazily).
    prep : InputPreparation
        Masking and scaling, applied per block.
    token : str
        Identity of the input data (its dask name), recorded for resume checks.
    """

    da: xr.DataArray
    dims: tuple[Hashable, Hashable, Hashable]
    data: dsa.Array
    prep: InputPreparation
    token: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return int(self.data.shape[1]), int(self.data.shape[2])


def prepare_input(da: xr.DataArray | np.ndarray, *, band_dim: Hashable | None = None,
                  spatial_dims: Sequence[Hashable] | None = None, scale: float | None = None,
                  nodata: float | None = None) -> PreparedInput:
    """Step 1 of :func:`reconstruct`: validate dims and coordinates, decide scaling and masking.

    Numpy-backed input is checked completely here (an all-nodata image or an
    unknown float scale raises now); dask-backed input is checked per block
    when computed, by the same :meth:`InputPreparation.apply`.

    Parameters
    ----------
    da : xarray.DataArray or numpy.ndarray
        RGB image (a bare ``(3, H, W)`` array is wrapped with :func:`specrecon.cube.make_rgb`).
    band_dim, spatial_dims, scale, nodata
        As in :func:`reconstruct`.

    Returns
    -------
    PreparedInput

    Raises
    ------
    BandDimensionError, SpatialDimensionError, CoordinateError, EmptyInputError, DataScaleError

    Examples
    --------
    >>> from specrecon.cube import make_rgb
    >>> p = prepare_input(make_rgb(np.full((3, 4, 5), 128, "uint8")))
    >>> p.dims, p.shape, round(p.prep.mul * 255, 6)
    (('band', 'y', 'x'), (4, 5), 1.0)
    """

    from specrecon.cube import make_rgb

    if isinstance(da, np.ndarray):
        da = make_rgb(da)
    if not isinstance(da, xr.DataArray):
        raise TypeError(format_message("an xarray.DataArray (or a (3, H, W) numpy array)",
                                       type(da).__name__,
                                       "for a Dataset use ds.hsr.reconstruct(variable=...)"))
    return _prepare_array(da, band_dim, spatial_dims, scale, nodata)


def _prepare_array(da: xr.DataArray, band_dim: Hashable | None,
                   spatial_dims: Sequence[Hashable] | None, scale: float | None,
                   nodata: float | None) -> PreparedInput:
    import dask.array as dsa

    bd, ydim, xdim = detect_dims(da, band_dim, spatial_dims)
    for d in [d for d in da.dims if d not in (bd, ydim, xdim)]:
        if da.sizes[d] != 1:
            raise SpatialDimensionError(format_message(
                f"only a band dim and two spatial dims ({bd!r}, {ydim!r}, {xdim!r})",
                f"extra dim {d!r} of size {da.sizes[d]}",
                f"reconstruct one at a time: da.isel({d}=0)"))
        da = da.isel({d: 0})
    if da.sizes[bd] != 3:
        raise BandDimensionError(format_message(
            f"3 bands (red, green, blue) along {bd!r}", f"{da.sizes[bd]}",
            f"select the RGB bands, e.g. da.isel({bd}=[2, 1, 0]) for B, G, R order"))
    if da.sizes[ydim] == 0 or da.sizes[xdim] == 0:
        raise EmptyInputError(format_message("a non-empty image", f"shape {dict(da.sizes)}",
                                             "check the selection that produced it"))
    _check_coords(da, (ydim, xdim))
    mul, add, check_range = input_scaling(da, scale)
    prep = InputPreparation(mul, add, _nodata_value(da, nodata), check_range)
    arr = da.transpose(bd, ydim, xdim).data
    if not isinstance(arr, dsa.Array):
        raw = np.asarray(arr)
        _, valid = prep.apply(raw)               # raises on an unknown float scale
        if not valid.any():
            raise EmptyInputError(format_message(
                "at least one valid pixel", "only NaN / nodata pixels",
                "check the nodata value and the scene selection"))
        arr = dsa.from_array(raw, chunks=(3, NUMPY_CHUNK, NUMPY_CHUNK))
    return PreparedInput(da, (bd, ydim, xdim), arr, prep, str(arr.name))


# ----------------------------------------------------------------------------- 2. model
def _check_sensor(da: xr.DataArray, card: ModelCard | None) -> None:
    sensor = da.attrs.get("sensor")
    card_sensor = getattr(card, "input_sensor", None)
    if (sensor and card_sensor and str(card_sensor).lower() not in ("unknown", "any", "")
            and str(sensor).lower() != str(card_sensor).lower()):
        raise ModelMismatchError(format_message(
            f"RGB from the model's input sensor {card_sensor!r}", f"da.attrs['sensor'] = "
            f"{sensor!r}", "use a model trained for this sensor, or drop the attribute if "
            "you know the RGB is equivalent"))


def _output_wavelengths(bands: int, card: Any, wavelengths: Any) -> tuple[np.ndarray,
                                                                           np.ndarray | None]:
    card_wl = list(getattr(card, "wavelengths", None) or []) if card is not None else []
    card_fw = getattr(card, "fwhm", None) if card is not None else None
    if wavelengths is not None:
        wl = np.asarray(wavelengths, dtype="float64").ravel()
        if wl.size != bands:
            raise ModelMismatchError(format_message(
                f"{bands} wavelengths (the model's output bands)", f"{wl.size}",
                "pass one wavelength per output band, or a model for this band set"))
        if card_wl and not np.allclose(wl, np.asarray(card_wl), atol=0.5):
            raise ModelMismatchError(format_message(
                f"the model card's wavelengths ({card_wl[0]:g}..{card_wl[-1]:g} nm)",
                f"wavelengths {wl[0]:g}..{wl[-1]:g} nm",
                "omit wavelengths= (the card is used) or resample the cube afterwards "
                "with specrecon.resample"))
        fw = np.asarray(card_fw, "float64") if card_wl and card_fw else None
        return wl, fw
    if card_wl:
        if len(card_wl) != bands:
            raise ModelMismatchError(format_message(
                f"{bands} wavelengths in the model card", f"{len(card_wl)}",
                "fix the card (save_model with the right wavelengths)"))
        return np.asarray(card_wl, "float64"), (np.asarray(card_fw, "float64")
                                                 if card_fw else None)
    from specrecon.spectral import get_bandset, list_bandsets

    for name in list_bandsets():
        bs = get_bandset(name)
        if len(bs.wavelengths) == bands:
            warnings.warn(f"the model has no card with wavelengths; labelling its {bands} bands "
                          f"with the built-in band set {name!r}. Pass wavelengths= to be explicit.",
                          UserWarning, stacklevel=3)
            return np.asarray(bs.wavelengths, "float64"), np.asarray(bs.fwhm, "float64")
    raise ModelMismatchError(format_message(
        "wavelengths from the model card or wavelengths=",
        f"a model with {bands} bands, no card and no built-in band set of that size",
        "pass wavelengths=[...] (nm)"))


# ----------------------------------------------------------------------------- 3. tile grid
def tile_grid(shape: tuple[int, int], card: ModelCard | None = None, *,
              tile_size: int | tuple[int, int] | None = None,
              overlap: int | tuple[int, int] | None = None,
              whole_image: bool = False) -> TileGrid:
    """Step 3 of :func:`reconstruct`: the global tile grid of a scene.

    Tile size from the call, else the model card, else :data:`DEFAULT_TILE_SIZE`;
    overlap from the call, else the card (when its tile size is used), else a
    quarter of the tile. ``whole_image`` gives one tile covering the scene.

    Raises
    ------
    ConfigError
        Invalid tile size / overlap.

    Examples
    --------
    >>> g = tile_grid((100, 80), tile_size=32)
    >>> g.tile_shape, g.y.overlap
    ((32, 32), 8)
    """
    from specrecon.tiling import TileGrid

    if whole_image:
        grid = TileGrid(shape, shape, (0, 0))
    else:
        card_tile = getattr(card, "tile_size", None)
        t = tile_size if tile_size is not None else (card_tile or DEFAULT_TILE_SIZE)
        ty, tx = (t, t) if isinstance(t, (int, np.integer)) else tuple(t)
        if overlap is not None:
            o: Any = overlap
        elif tile_size is None and card_tile:
            o = getattr(card, "tile_overlap", 0)
        else:
            o = min(int(ty), int(tx)) // 4
        oy, ox = (o, o) if isinstance(o, (int, np.integer)) else tuple(o)
        grid = TileGrid(shape, (int(ty), int(tx)), (int(oy), int(ox)))
    grid.y, grid.x  # noqa: B018 - validates tile/overlap now (ConfigError)
    return grid


# ----------------------------------------------------------------------------- 5. output
def _assemble_output(inp: PreparedInput, model: ResolvedModel, grid: TileGrid,
                     data: dsa.Array, spectrum: tuple[np.ndarray, np.ndarray | None], *,
                     whole_image: bool,
                     value_range: tuple[float, float] | None) -> xr.DataArray:
    from specrecon._version import __version__
    from specrecon.cube import make_cube

    da, (bd, ydim, xdim) = inp.da, inp.dims
    wl, fw = spectrum
    keep = {str(name): c.variable for name, c in da.coords.items()
            if name not in (ydim, xdim) and bd not in c.dims and set(c.dims) <= {ydim, xdim}}
    attrs: dict[str, Any] = {
        "long_name": "reconstructed spectral reflectance",
        "units": "1",
        "model": model.name,
        "model_sha256": model.sha256,
        "model_input_sensor": str(getattr(model.card, "input_sensor", None) or "unknown"),
        "specrecon_version": __version__,
        "tiling": "whole_image" if whole_image else "global_grid_raised_cosine",
        "tile_size": [grid.y.tile, grid.x.tile],
        "tile_overlap": [grid.y.overlap, grid.x.overlap],
        "input_scale": inp.prep.mul,
        "input_offset": inp.prep.add,
        "input_token": inp.token,
    }
    if da.encoding.get("source"):
        attrs["input_source"] = str(da.encoding["source"])
    if value_range is not None:
        attrs["clipped_to"] = [float(value_range[0]), float(value_range[1])]
    cube = make_cube(data, wl, fw, y=da[ydim].variable, x=da[xdim].variable,
                     dims=(str(ydim), str(xdim)), attrs=attrs, extra_coords=keep)
    gm = da.encoding.get("grid_mapping") or da.attrs.get("grid_mapping")
    if gm is None and "spatial_ref" in cube.coords:
        gm = "spatial_ref"
    if gm is not None and gm in cube.coords:
        cube.encoding["grid_mapping"] = gm
    return cube


# ----------------------------------------------------------------------------- public
def reconstruct(da: xr.DataArray | np.ndarray, model: Any = "default", *,
                band_dim: Hashable | None = None,
                spatial_dims: Sequence[Hashable] | None = None,
                scale: float | None = None, nodata: float | None = None,
                tile_size: int | tuple[int, int] | None = None,
                overlap: int | tuple[int, int] | None = None, whole_image: bool = False,
                device: str = "auto", dtype: str = "fp32", batch_size: int | None = None,
                wavelengths: Sequence[float] | np.ndarray | None = None,
                progress: bool = False, clip: bool = True,
                physical: bool | None = None) -> xr.DataArray:
    """Reconstruct a hyperspectral cube from an RGB image, lazily and chunk by chunk.

    The result does not depend on the chunking: tiles sit on a global grid
    anchored at the scene origin and are blended with fixed feathered
    weights (see :mod:`specrecon.tiling`). The output gets **regular chunks**
    decided once (:func:`specrecon.graph.chunk_plan`): the input's chunk size,
    raised to the tile size when smaller and halved while a cube chunk would exceed
    1 GiB (:data:`specrecon.graph.CHUNK_MAX_BYTES`; a 202-band chunk of 2048^2 px is
    3.4 GB), so the cube streams to zarr without rechunking.

    Parameters
    ----------
    da : xarray.DataArray or numpy.ndarray
        RGB image with a band dim of size 3 (red, green, blue) and two
        spatial dims; numpy or dask backed; any numeric dtype. A bare
        ``(3, H, W)`` numpy array is wrapped with :func:`specrecon.cube.make_rgb`.
    model : str, path, torch.nn.Module or ModelSpec
        Shipped model name (``"default"``: :data:`specrecon.models.DEFAULT_MODEL`),
        ``.safetensors`` path, or a module (threaded scheduler only).
    band_dim, spatial_dims : optional
        Override dim detection (see :func:`detect_dims`).
    scale : float, optional
        Multiplier from raw values to [0, 1] reflectance: ``reflectance = raw x scale``
        (e.g. ``1e-4`` for reflectance x 10000); finite and > 0. Default: from the
        dtype and CF attributes (see :func:`input_scaling`).
    nodata : float, optional
        Raw value marking missing pixels; default from ``_FillValue`` /
        ``nodata`` / ``missing_value`` attributes or ``da.rio.nodata``. As in
        GDAL's nodata mask, a pixel is missing only when **every** band equals
        it (a single dark band is a valid value). NaN / inf in any band always
        make the pixel missing. Missing pixels are filled with 0 before the model
        and are NaN in the output.
    tile_size, overlap : int or pair of int, optional
        Global tile grid; default from the model card, else 128 and a quarter of it.
    whole_image : bool
        Run the model once on the whole image (no tiling), for protocol-exact
        evaluation; the image is gathered into a single chunk.
    device : str
        ``"auto"`` (CUDA where the computing process has one, else CPU),
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``. Checked here, or with a
        ``distributed`` client on the workers (a CPU-only client can drive GPU
        workers).
    dtype : {"fp32", "bf16", "fp16"}
        Precision of the forward pass (autocast on the device's type; aliases
        ``"float32"``, ``"bfloat16"``, ``"float16"``); output is float32.
    batch_size : int, optional
        Tiles per forward pass. Default: as many as keep one pass at about 4 M output
        values (:func:`specrecon.graph.tiles_per_forward`; at most 8): 8 for the shipped
        natural models, 1 for a 202-band model on 128 px tiles.
    wavelengths : array-like, optional
        Band centres (nm) of the model's output, for models without a card.
    progress : bool
        Show a tqdm bar of tiles as they run in this process (threaded or
        synchronous schedulers). For cluster progress use
        :func:`distributed.progress` or ``to_zarr(..., progress=True)``.
    clip : bool
        Clip the output to the model card's ``value_range`` (reflectance [0, 1] for
        the shipped models): a network can overshoot into physically impossible
        values, e.g. small negative reflectance over dark water. Models without a
        card are never clipped. The applied range is recorded in
        ``attrs["clipped_to"]``; ``clip=False`` returns the raw network output.
    physical : bool, optional
        Physical consistency: correct every reconstructed spectrum by the minimum-norm
        change that makes it re-render exactly to its input RGB through the card's input
        sensor (:mod:`specrecon.physical`), before clipping. Default (None): **on wherever
        it runs pixel by pixel**, so the cube stays chunk-invariant -- satellite models
        (reflectance input; shipped satellite HYDRA, real held-out MRAE-eps 0.196 ->
        0.184) and camera models whose card holds a calibrated exposure (shipped natural
        HYDRA, aligned MRAE 0.1295 -> 0.1201); off for other camera models, for which
        ``True`` fits the exposure per output chunk (the result then depends slightly on
        the chunking). The rule is :func:`specrecon.physical.resolve_physical`; needs a
        model card; recorded in ``attrs["physical_consistency"]``.

    Returns
    -------
    xarray.DataArray
        Lazy float32 cube ``(wavelength, y, x)`` with ``wavelength``/``fwhm``
        coordinates, the input's spatial coordinates and ``spatial_ref``, and
        attributes naming the model, its sha256, the specrecon version, the
        tiling, the input scaling and the input's identity (``input_token``,
        checked by ``to_zarr(..., resume=True)``).

    Raises
    ------
    BandDimensionError, SpatialDimensionError, CoordinateError, EmptyInputError,
    DataScaleError, ModelMismatchError, DeviceError, ConfigError
        See ``docs/bad-input.md``.

    Examples
    --------
    >>> import rioxarray, specrecon                                     # doctest: +SKIP
    >>> rgb = rioxarray.open_rasterio("scene.tif", chunks={"x": 2048, "y": 2048})  # doctest: +SKIP
    >>> cube = specrecon.reconstruct(rgb, "hydra-satellite-202")        # doctest: +SKIP
    >>> cube.hsr.to_zarr("scene_cube.zarr", progress=True)              # doctest: +SKIP
    """
    import dask

    from specrecon import runtime
    from specrecon.graph import BlockStep, build_cube_graph, chunk_plan, tiles_per_forward
    from specrecon.physical import resolve_physical

    inp = prepare_input(da, band_dim=band_dim, spatial_dims=spatial_dims, scale=scale,
                        nodata=nodata)
    resolved = runtime.resolve_model(model, device=device, dtype=dtype)
    _check_sensor(inp.da, resolved.card)
    wl, fw = _output_wavelengths(resolved.bands, resolved.card, wavelengths)
    grid = tile_grid(inp.shape, resolved.card, tile_size=tile_size, overlap=overlap,
                     whole_image=whole_image)
    batch = tiles_per_forward((grid.y.length, grid.x.length), resolved.bands, batch_size)
    physical = resolve_physical(physical, resolved.card)
    card_range = getattr(resolved.card, "value_range", None) if clip else None
    value_range = (float(card_range[0]), float(card_range[1])) if card_range else None
    chunks = chunk_plan(grid, inp.data.chunks[1:], bands=resolved.bands)
    token = dask.base.tokenize(inp.token, resolved.spec, grid.shape, grid.tile, grid.overlap,
                               inp.prep, resolved.bands, batch, value_range, chunks,
                               bool(physical))
    step = BlockStep(prep=inp.prep, model=resolved.spec, shape=inp.shape,
                     tile=(grid.y.tile, grid.x.tile), overlap=(grid.y.overlap, grid.x.overlap),
                     bands=resolved.bands, batch_size=batch, value_range=value_range,
                     progress_token=token if progress else None,
                     physical_card=resolved.card if physical else None)
    data = build_cube_graph(inp.data, step, chunks, name=f"hsr-reconstruct-{token}")
    out = _assemble_output(inp, resolved, grid, data, (wl, fw), whole_image=whole_image,
                           value_range=value_range)
    out.attrs["physical_consistency"] = int(bool(physical))
    return out
