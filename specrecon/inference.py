"""RGB DataArray -> lazy hyperspectral cube: validation, dask graph, coordinates.

:func:`reconstruct` is the xarray-level entry point (layer 2). It validates the
input, decides how raw values become reflectance in [0, 1], builds a dask
graph over the global tile grid of :mod:`specrecon.tiling`, runs the model
through :mod:`specrecon.runtime` and wraps the result with
:func:`specrecon.cube.make_cube`.

Graph
-----
``dask.array.overlap.overlap`` gives every input chunk a halo of ``d`` pixels
(boundary ``"none"``: nothing is padded at the scene border), where ``d`` is
the largest reach of the global tiles beyond any chunk
(:func:`specrecon.tiling.halo_depth`, at most ``tile - 1``). ``map_blocks``
with explicit output chunks and ``meta`` then runs one task per output chunk:
scale and mask the raw block, run exactly the global tiles that touch the
chunk, blend them and trim to the chunk inside the block function. The band
axis of the input becomes the ``wavelength`` axis of the output, whole in one
chunk.

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

import sys
import threading
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from specrecon.errors import (
    BandDimensionError,
    ChunkingError,
    CoordinateError,
    DataScaleError,
    EmptyInputError,
    ModelMismatchError,
    SpatialDimensionError,
    format_message,
)

__all__ = [
    "DEFAULT_TILE_SIZE",
    "FLOAT_RANGE",
    "detect_dims",
    "input_scaling",
    "reconstruct",
    "select_rgb_variable",
]

#: Tile size when neither the call nor the model card gives one.
DEFAULT_TILE_SIZE = 128
#: Float input (after scaling) outside this range is taken as "unknown scale".
FLOAT_RANGE = (-0.5, 2.0)
#: Spatial chunk size used to wrap numpy-backed input.
NUMPY_CHUNK = 2048

_BAND_NAMES = ("band", "bands", "channel", "channels", "rgb", "c", "color", "colour")
_SPATIAL_PAIRS = (("y", "x"), ("latitude", "longitude"), ("lat", "lon"), ("rows", "cols"),
                  ("row", "col"), ("height", "width"))


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
        ``(row_dim, col_dim)``; default: ``y/x``, ``lat/lon``, ``latitude/longitude``,
        ``rows/cols``, ``row/col`` or ``height/width``.

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
    if spatial_dims is not None:
        sp = tuple(spatial_dims)
        if len(sp) != 2 or any(d not in dims for d in sp):
            raise SpatialDimensionError(format_message(
                f"two spatial dims {sp} present in the array", f"dims {tuple(dims)}",
                "pass spatial_dims=(row_dim, col_dim) naming existing dims"))
    else:
        found = [p for p in _SPATIAL_PAIRS if p[0] in dims and p[1] in dims]
        if not found:
            raise SpatialDimensionError(format_message(
                "spatial dims named y/x, lat/lon, latitude/longitude or rows/cols",
                f"dims {tuple(dims)}", "pass spatial_dims=(row_dim, col_dim)"))
        sp = found[0]
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
        Explicit multiplier.

    Returns
    -------
    tuple
        ``(mul, add, check_range)``.

    Raises
    ------
    DataScaleError
        For integer types of unknown scale, or boolean data.

    Examples
    --------
    >>> input_scaling(xr.DataArray(np.zeros(2, "uint8")))
    (0.00392156862745098, 0.0, False)
    >>> input_scaling(xr.DataArray(np.zeros(2, "int16"), attrs={"scale_factor": 1e-4}))
    (0.0001, 0.0, True)
    """
    if scale is not None:
        return float(scale), 0.0, False
    attrs = da.attrs
    sf, ao = float(attrs.get("scale_factor", 1.0)), float(attrs.get("add_offset", 0.0))
    if (sf, ao) != (1.0, 0.0):  # rioxarray writes an identity scale_factor=1 on every read
        return sf, ao, True
    dt = np.dtype(da.dtype)
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
        return out.assign_coords(band=[1, 2, 3], band_name=("band", [str(n) for n in planes]))
    raise BandDimensionError(format_message(
        "exactly one RGB variable (a dim of size 3) in the Dataset",
        f"{len(cands)} candidates {cands} among {list(ds.data_vars)}",
        "pass variable=<name>"))


# ----------------------------------------------------------------------------- block function
_bars: dict[str, Any] = {}
_bars_lock = threading.Lock()


def _progress(token: str, total: int, n: int) -> None:
    with _bars_lock:
        bar = _bars.get(token)
        if bar is None:
            from tqdm.auto import tqdm

            bar = _bars[token] = tqdm(total=total, desc="reconstruct", unit="tile")
        bar.update(n)
        if bar.n >= total:
            bar.close()
            _bars.pop(token, None)


@dataclass(frozen=True)
class _Block:
    """Picklable per-chunk task: raw halo block -> blended cube chunk."""

    spec: Any
    shape: tuple[int, int]
    tile: tuple[int, int]
    overlap: tuple[int, int]
    ybounds: tuple[int, ...]
    xbounds: tuple[int, ...]
    depth: tuple[int, int]
    mul: float
    add: float
    nodata: float | None
    check_range: bool
    bands: int
    batch_size: int
    progress_token: str | None

    def __call__(self, block: np.ndarray, block_id: tuple[int, int, int] = (0, 0, 0)
                 ) -> np.ndarray:
        from specrecon import runtime
        from specrecon.tiling import TileGrid, blend_region

        _, i, j = block_id
        y0, y1 = self.ybounds[i], self.ybounds[i + 1]
        x0, x1 = self.xbounds[j], self.xbounds[j + 1]
        oy, ox = max(0, y0 - self.depth[0]), max(0, x0 - self.depth[1])
        raw = np.asarray(block)
        if raw.dtype.kind == "f":
            valid = np.isfinite(raw).all(axis=0)
        else:
            valid = np.ones(raw.shape[1:], bool)
        if self.nodata is not None and not np.isnan(self.nodata):
            valid &= ~(raw == self.nodata).any(axis=0)
        img = raw.astype("float32")
        if self.mul != 1.0 or self.add != 0.0:
            img = img * np.float32(self.mul) + np.float32(self.add)
        if self.check_range and valid.any():
            vals = img[:, valid]
            lo, hi = float(vals.min()), float(vals.max())
            if lo < FLOAT_RANGE[0] or hi > FLOAT_RANGE[1]:
                raise _range_error(lo, hi)
        img[:, ~valid] = 0.0
        grid = TileGrid(self.shape, self.tile, self.overlap)
        on_tiles = None
        if self.progress_token is not None:
            token, total = self.progress_token, grid.n_tiles

            def on_tiles(n: int) -> None:
                _progress(token, total, n)

        return blend_region(img, (oy, ox), (y0, y1, x0, x1), grid,
                            lambda t: runtime.predict(self.spec, t, bands=self.bands),
                            bands=self.bands, batch_size=self.batch_size, valid=valid,
                            on_tiles=on_tiles)


# ----------------------------------------------------------------------------- metadata
def _model_metadata(spec: Any) -> tuple[Any, int, Any]:
    from specrecon import runtime

    model = runtime.get_model(spec)
    card = getattr(model, "card", None)
    bands = getattr(model, "bands", None)
    if bands is None:
        probe = runtime.predict(spec, np.zeros((1, 3, 16, 16), "float32"))
        bands = probe.shape[1]
    return model, int(bands), card


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


def _fit_chunks(grid: Any, chunks: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    from specrecon.tiling import halo_depth, merge_small_chunks

    for _ in range(4):
        depth = halo_depth(grid, chunks)
        if len(chunks) == 1 or min(chunks) >= depth:
            return chunks, (depth if len(chunks) > 1 else 0)
        chunks = merge_small_chunks(chunks, depth)
    merged = merge_small_chunks(chunks, grid.length)
    return merged, (halo_depth(grid, merged) if len(merged) > 1 else 0)


# ----------------------------------------------------------------------------- public
def reconstruct(da: xr.DataArray | np.ndarray, model: Any = "default", *,
                band_dim: Hashable | None = None,
                spatial_dims: Sequence[Hashable] | None = None,
                scale: float | None = None, nodata: float | None = None,
                tile_size: int | tuple[int, int] | None = None,
                overlap: int | tuple[int, int] | None = None, whole_image: bool = False,
                device: str = "auto", dtype: str = "float32", batch_size: int = 8,
                wavelengths: Sequence[float] | np.ndarray | None = None,
                progress: bool = False, clip: bool = True) -> xr.DataArray:
    """Reconstruct a hyperspectral cube from an RGB image, lazily and chunk by chunk.

    The result does not depend on the chunking: tiles sit on a global grid
    anchored at the scene origin and are blended with fixed feathered
    weights (see :mod:`specrecon.tiling`). Chunks smaller than the tile halo
    are **merged automatically** (output chunks then follow the merged
    input chunks); chunks of about 1024-2048 pixels suit most GPUs.

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
        Multiplier from raw values to [0, 1] reflectance (see :func:`input_scaling`).
    nodata : float, optional
        Raw value marking missing pixels; default from ``_FillValue`` /
        ``nodata`` / ``missing_value`` attributes or ``da.rio.nodata``. NaN is
        always missing. Missing pixels are filled with 0 before the model and
        are NaN in the output.
    tile_size, overlap : int or pair of int, optional
        Global tile grid; default from the model card, else 128 and a quarter of it.
    whole_image : bool
        Run the model once on the whole image (no tiling), for protocol-exact
        evaluation; the image is gathered into a single chunk.
    device : str
        ``"auto"`` (CUDA where the computing process has one, else CPU),
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    dtype : {"float32", "float16", "bfloat16"}
        Precision of the forward pass (autocast); output is float32.
    batch_size : int
        Tiles per forward pass.
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

    Returns
    -------
    xarray.DataArray
        Lazy float32 cube ``(wavelength, y, x)`` with ``wavelength``/``fwhm``
        coordinates, the input's spatial coordinates and ``spatial_ref``, and
        attributes naming the model, its sha256, the specrecon version and the
        tiling.

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
    import dask.array as dsa

    from specrecon import runtime
    from specrecon._version import __version__
    from specrecon.cube import make_cube, make_rgb
    from specrecon.tiling import TileGrid, chunk_bounds

    if isinstance(da, np.ndarray):
        da = make_rgb(da)
    if not isinstance(da, xr.DataArray):
        raise TypeError(format_message("an xarray.DataArray (or a (3, H, W) numpy array)",
                                       type(da).__name__,
                                       "for a Dataset use ds.hsr.reconstruct(variable=...)"))
    bd, ydim, xdim = detect_dims(da, band_dim, spatial_dims)
    extra = [d for d in da.dims if d not in (bd, ydim, xdim)]
    for d in extra:
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
    ny, nx = int(da.sizes[ydim]), int(da.sizes[xdim])
    if ny == 0 or nx == 0:
        raise EmptyInputError(format_message("a non-empty image", f"shape {dict(da.sizes)}",
                                             "check the selection that produced it"))
    _check_coords(da, (ydim, xdim))

    mul, add, check_range = input_scaling(da, scale)
    nd = _nodata_value(da, nodata)
    arr = da.transpose(bd, ydim, xdim).data
    if not isinstance(arr, dsa.Array):
        raw = np.asarray(arr)
        valid = (np.isfinite(raw).all(axis=0) if raw.dtype.kind == "f"
                 else np.ones(raw.shape[1:], bool))
        if nd is not None and not np.isnan(nd):
            valid &= ~(raw == nd).any(axis=0)
        if not valid.any():
            raise EmptyInputError(format_message(
                "at least one valid pixel", "only NaN / nodata pixels",
                "check the nodata value and the scene selection"))
        if check_range:
            vals = raw[:, valid].astype("float64") * mul + add
            lo, hi = float(vals.min()), float(vals.max())
            if lo < FLOAT_RANGE[0] or hi > FLOAT_RANGE[1]:
                raise _range_error(lo, hi)
        arr = dsa.from_array(raw, chunks=(3, NUMPY_CHUNK, NUMPY_CHUNK))

    # model: resolve the device here to fail early, except when a cluster will compute
    if not _has_client():
        runtime.resolve_device(device)
    spec = runtime.model_spec(model, device=device, dtype=dtype)
    loaded, bands, card = _model_metadata(spec)
    if card is not None and spec.sha256 is None and getattr(card, "sha256", None):
        spec = runtime.ModelSpec(spec.source, card.sha256, spec.device, spec.dtype)
    sensor = da.attrs.get("sensor")
    card_sensor = getattr(card, "input_sensor", None)
    if (sensor and card_sensor and str(card_sensor).lower() not in ("unknown", "any", "")
            and str(sensor).lower() != str(card_sensor).lower()):
        raise ModelMismatchError(format_message(
            f"RGB from the model's input sensor {card_sensor!r}", f"da.attrs['sensor'] = "
            f"{sensor!r}", "use a model trained for this sensor, or drop the attribute if "
            "you know the RGB is equivalent"))
    wl, fw = _output_wavelengths(bands, card, wavelengths)

    if whole_image:
        tile, ov = (ny, nx), (0, 0)
    else:
        t = tile_size if tile_size is not None else (getattr(card, "tile_size", None)
                                                      or DEFAULT_TILE_SIZE)
        ty, tx = (t, t) if np.ndim(t) == 0 else tuple(t)
        if overlap is not None:
            o = overlap
        elif tile_size is None and getattr(card, "tile_size", None):
            o = card.tile_overlap
        else:
            o = min(ty, tx) // 4
        ov = (o, o) if np.ndim(o) == 0 else tuple(o)
        tile = (int(ty), int(tx))
    grid = TileGrid((ny, nx), tile, (int(ov[0]), int(ov[1])))
    grid.y, grid.x  # noqa: B018 - validates tile/overlap now (ConfigError)

    arr = arr.rechunk({0: -1})
    if whole_image:
        arr = arr.rechunk({1: -1, 2: -1})
    ych, dy = _fit_chunks(grid.y, tuple(arr.chunks[1]))
    xch, dx = _fit_chunks(grid.x, tuple(arr.chunks[2]))
    if (ych, xch) != tuple(arr.chunks[1:]):
        arr = arr.rechunk((3, ych, xch))
    if min(ych) < dy or min(xch) < dx:  # pragma: no cover - _fit_chunks guarantees this
        raise ChunkingError(format_message(f"chunks of at least {dy}x{dx} pixels",
                                           f"chunks {min(ych)}x{min(xch)}", "rechunk larger"))
    if dy or dx:
        from dask.array.overlap import overlap as dask_overlap

        padded = dask_overlap(arr, depth={0: 0, 1: dy, 2: dx},
                              boundary={0: "none", 1: "none", 2: "none"})
    else:
        padded = arr
    token = dask.base.tokenize(arr.name, spec, grid.shape, tile, ov, mul, add, nd, bands,
                               batch_size, check_range)
    fn = _Block(spec=spec, shape=(ny, nx), tile=tile, overlap=(int(ov[0]), int(ov[1])),
                ybounds=tuple(int(v) for v in chunk_bounds(ych)),
                xbounds=tuple(int(v) for v in chunk_bounds(xch)), depth=(dy, dx),
                mul=mul, add=add, nodata=nd, check_range=check_range, bands=bands,
                batch_size=int(batch_size), progress_token=token if progress else None)
    out = dsa.map_blocks(fn, padded, chunks=((bands,), ych, xch), dtype="float32",
                         meta=np.empty((0, 0, 0), dtype="float32"),
                         name=f"hsr-reconstruct-{token}")

    value_range = getattr(card, "value_range", None) if clip else None
    if value_range is not None:
        out = dsa.clip(out, float(value_range[0]), float(value_range[1]))  # NaN stays NaN

    keep = {}
    for name, c in da.coords.items():
        if name in (ydim, xdim) or bd in c.dims:
            continue
        if set(c.dims) <= {ydim, xdim}:
            keep[name] = c.variable
    sha = getattr(card, "sha256", None) or (spec.source.split(":", 1)[1]
                                            if spec.source.startswith("module:") else "")
    attrs = {
        "long_name": "reconstructed spectral reflectance",
        "units": "1",
        "model": getattr(card, "name", None) or getattr(loaded, "name", None)
        or type(loaded).__name__,
        "model_sha256": sha,
        "model_input_sensor": str(card_sensor or "unknown"),
        "specrecon_version": __version__,
        "tiling": "whole_image" if whole_image else "global_grid_raised_cosine",
        "tile_size": list(tile),
        "tile_overlap": [int(ov[0]), int(ov[1])],
        "input_scale": mul,
        "input_offset": add,
    }
    if value_range is not None:
        attrs["clipped_to"] = [float(value_range[0]), float(value_range[1])]
    cube = make_cube(out, wl, fw, y=da[ydim].variable, x=da[xdim].variable,
                     dims=(str(ydim), str(xdim)), attrs=attrs, extra_coords=keep)
    gm = da.encoding.get("grid_mapping") or da.attrs.get("grid_mapping")
    if gm is None and "spatial_ref" in cube.coords:
        gm = "spatial_ref"
    if gm is not None and gm in cube.coords:
        cube.encoding["grid_mapping"] = gm
    return cube


def _has_client() -> bool:
    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import default_client

        default_client()
        return True
    except ValueError:
        return False
