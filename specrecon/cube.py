"""The data model shared by every layer: how cubes and RGB images look in xarray.

A *cube* is a :class:`xarray.DataArray` with dims ``("wavelength", y, x)``:

- ``wavelength``: float64 band centres in nm, attributes
  ``standard_name="radiation_wavelength"``, ``long_name``, ``units="nm"``;
- ``fwhm``: a non-index coordinate along ``wavelength`` (nm);
- optional ``good_band`` (bool) along ``wavelength``;
- spatial coordinates and a scalar ``spatial_ref`` (rioxarray/CF grid mapping)
  carried over unchanged when the cube comes from georeferenced input.

An *RGB image* is a DataArray with dims ``("band", y, x)``, ``band = [1, 2, 3]``
(the rioxarray convention) and a ``band_name`` coordinate ``["red", "green", "blue"]``.

Everything that builds such objects (loaders, synthetic scenes, simulation,
reconstruction) goes through :func:`make_cube` / :func:`make_rgb` so that the
conventions live in one place.

Examples
--------
>>> import numpy as np
>>> cube = make_cube(np.zeros((31, 4, 5), "float32"), np.arange(400, 701, 10.0))
>>> cube.dims, cube.wavelength.attrs["units"]
(('wavelength', 'y', 'x'), 'nm')
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from specrecon.errors import (
    BandDimensionError,
    CoordinateError,
    SpatialDimensionError,
    format_message,
)

__all__ = [
    "WAVELENGTH",
    "WAVELENGTH_ATTRS",
    "RGB_BAND_NAMES",
    "wavelength_coords",
    "make_cube",
    "make_rgb",
    "check_wavelengths",
    "SPATIAL_DIM_PAIRS",
    "find_spatial_dims",
    "spatial_dims",
]

WAVELENGTH = "wavelength"
WAVELENGTH_ATTRS: dict[str, str] = {
    "standard_name": "radiation_wavelength",
    "long_name": "band centre wavelength",
    "units": "nm",
}
FWHM_ATTRS: dict[str, str] = {"long_name": "band full width at half maximum", "units": "nm"}
RGB_BAND_NAMES: tuple[str, str, str] = ("red", "green", "blue")
#: Recognised ``(row, column)`` spatial dim names, in order of preference. Inference,
#: the writers and the CLI all ask :func:`find_spatial_dims`, the one owner of this rule.
SPATIAL_DIM_PAIRS: tuple[tuple[str, str], ...] = (
    ("y", "x"), ("latitude", "longitude"), ("lat", "lon"), ("rows", "cols"), ("row", "col"),
    ("height", "width"))


def find_spatial_dims(dims: Iterable[Hashable],
                      spatial_dims: Sequence[Hashable] | None = None
                      ) -> tuple[Hashable, Hashable] | None:
    """The ``(row_dim, col_dim)`` among ``dims``, or None when no known pair is there.

    Parameters
    ----------
    dims : iterable of hashable
        Dim names (e.g. ``da.dims``).
    spatial_dims : pair of hashable, optional
        An explicit choice; returned when both names are in ``dims``.

    Returns
    -------
    tuple or None
        The first pair of :data:`SPATIAL_DIM_PAIRS` present (or ``spatial_dims``).

    Examples
    --------
    >>> find_spatial_dims(("band", "lat", "lon"))
    ('lat', 'lon')
    >>> find_spatial_dims(("a", "b")) is None
    True
    """
    names = list(dims)
    if spatial_dims is not None:
        pair = tuple(spatial_dims)
        if len(pair) == 2 and all(d in names for d in pair):
            return pair[0], pair[1]
        return None
    for ydim, xdim in SPATIAL_DIM_PAIRS:
        if ydim in names and xdim in names:
            return ydim, xdim
    return None


def spatial_dims(obj: xr.DataArray | xr.Dataset,
                 spatial_dims: Sequence[Hashable] | None = None) -> tuple[Hashable, Hashable]:
    """Like :func:`find_spatial_dims` for an xarray object, raising when none is found.

    Raises
    ------
    SpatialDimensionError
        No recognised pair (or ``spatial_dims`` names dims that are not there).

    Examples
    --------
    >>> spatial_dims(xr.DataArray(np.zeros((2, 3)), dims=("rows", "cols")))
    ('rows', 'cols')
    """
    found = find_spatial_dims(obj.dims, spatial_dims)
    if found is not None:
        return found
    dims = tuple(obj.dims)
    if spatial_dims is not None:
        raise SpatialDimensionError(format_message(
            f"two spatial dims {tuple(spatial_dims)} present in the array", f"dims {dims}",
            "pass spatial_dims=(row_dim, col_dim) naming existing dims"))
    names = ", ".join(f"{a}/{b}" for a, b in SPATIAL_DIM_PAIRS)
    raise SpatialDimensionError(format_message(
        f"spatial dims named {names}", f"dims {dims}",
        "rename them (da.rename(...)) or pass spatial_dims=(row_dim, col_dim)"))


def check_wavelengths(wavelengths: Sequence[float] | np.ndarray, *,
                      what: str = "wavelengths") -> np.ndarray:
    """Validate band centres: 1-D, finite, strictly increasing, in nm.

    Parameters
    ----------
    wavelengths : array-like
        Band centres in nanometres.
    what : str, optional
        Name used in the error message.

    Returns
    -------
    numpy.ndarray
        The centres as float64.

    Raises
    ------
    CoordinateError
        If they are not 1-D, not finite, not strictly increasing, or look like
        micrometres (all below 30).
    """
    wl = np.asarray(wavelengths, dtype="float64")
    if wl.ndim != 1 or wl.size == 0:
        raise CoordinateError(format_message(f"{what} as a non-empty 1-D array",
                                             f"shape {wl.shape}", "pass one centre per band"))
    if not np.all(np.isfinite(wl)):
        raise CoordinateError(format_message(f"finite {what}", "NaN or inf values",
                                             "drop or fill the bad band centres"))
    if wl.size > 1 and not np.all(np.diff(wl) > 0):
        dup = wl.size - np.unique(wl).size
        found = f"{dup} duplicated value(s)" if dup else "values that are not increasing"
        raise CoordinateError(format_message(
            f"strictly increasing {what}", found,
            "sort the bands (cube.sortby('wavelength')) and drop duplicates"))
    if wl.max() < 30:
        raise CoordinateError(format_message(f"{what} in nanometres", f"a maximum of {wl.max():g}",
                                             "multiply micrometre values by 1000"))
    return wl


def wavelength_coords(wavelengths: Sequence[float] | np.ndarray,
                      fwhm: Sequence[float] | np.ndarray | None = None,
                      good_band: Sequence[bool] | np.ndarray | None = None) -> dict[str, Any]:
    """Coordinates for the ``wavelength`` dimension with CF attributes.

    Parameters
    ----------
    wavelengths : array-like
        Band centres in nm (strictly increasing).
    fwhm : array-like, optional
        Full widths at half maximum in nm. Defaults to the centre spacing
        (``numpy.gradient``), the usual assumption for contiguous band sets.
    good_band : array-like of bool, optional
        Good-band flags (EMIT convention).

    Returns
    -------
    dict
        Mapping suitable for ``DataArray(coords=...)``.
    """
    wl = check_wavelengths(wavelengths)
    if fwhm is None:
        fw = np.gradient(wl) if wl.size > 1 else np.array([10.0])
    else:
        fw = np.asarray(fwhm, dtype="float64")
        if fw.shape != wl.shape:
            raise CoordinateError(format_message(f"one fwhm per band ({wl.size})", f"{fw.size}",
                                                 "pass fwhm with the same length as wavelengths"))
    coords: dict[str, Any] = {
        WAVELENGTH: xr.Variable(WAVELENGTH, wl, attrs=dict(WAVELENGTH_ATTRS)),
        "fwhm": xr.Variable(WAVELENGTH, fw, attrs=dict(FWHM_ATTRS)),
    }
    if good_band is not None:
        gb = np.asarray(good_band, dtype=bool)
        coords["good_band"] = xr.Variable(WAVELENGTH, gb, attrs={"long_name": "good band flag"})
    return coords


def _spatial(data_shape: tuple[int, ...], y: Any, x: Any,
             dims: tuple[str, str]) -> dict[str, Any]:
    coords: dict[str, Any] = {}
    ny, nx = data_shape[-2:]
    coords[dims[0]] = np.arange(ny, dtype="float64") if y is None else y
    coords[dims[1]] = np.arange(nx, dtype="float64") if x is None else x
    return coords


def make_cube(data: Any, wavelengths: Sequence[float] | np.ndarray,
              fwhm: Sequence[float] | np.ndarray | None = None, *,
              y: Any = None, x: Any = None, dims: tuple[str, str] = ("y", "x"),
              good_band: Sequence[bool] | np.ndarray | None = None,
              attrs: Mapping[str, Any] | None = None,
              extra_coords: Mapping[str, Any] | None = None,
              name: str = "reflectance") -> xr.DataArray:
    """Wrap a ``(bands, y, x)`` numpy or dask array as a cube DataArray.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array
        Values with the band axis first.
    wavelengths, fwhm, good_band
        See :func:`wavelength_coords`.
    y, x : array-like or xarray.Variable, optional
        Spatial coordinates (default: pixel indices).
    dims : tuple of str
        Names of the spatial dims.
    attrs : mapping, optional
        Attributes of the DataArray.
    extra_coords : mapping, optional
        More coordinates, e.g. ``{"spatial_ref": ...}``.
    name : str
        Variable name.

    Returns
    -------
    xarray.DataArray
        The cube.

    Raises
    ------
    BandDimensionError
        If the first axis does not have one entry per wavelength.
    """
    wl_coords = wavelength_coords(wavelengths, fwhm, good_band)
    nb = wl_coords[WAVELENGTH].size
    if getattr(data, "ndim", 0) != 3 or data.shape[0] != nb:
        raise BandDimensionError(format_message(
            f"a (bands={nb}, {dims[0]}, {dims[1]}) array", f"shape {getattr(data, 'shape', None)}",
            "put the band axis first and pass one wavelength per band"))
    coords = {**wl_coords, **_spatial(data.shape, y, x, dims), **dict(extra_coords or {})}
    return xr.DataArray(data, dims=(WAVELENGTH, *dims), coords=coords, name=name,
                        attrs=dict(attrs or {}))


def make_rgb(data: Any, *, y: Any = None, x: Any = None, dims: tuple[str, str] = ("y", "x"),
             band_wavelengths: Sequence[float] | None = None,
             attrs: Mapping[str, Any] | None = None,
             extra_coords: Mapping[str, Any] | None = None,
             name: str = "rgb") -> xr.DataArray:
    """Wrap a ``(3, y, x)`` array as an RGB DataArray (rioxarray band convention).

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array
        Red, green and blue planes, band axis first.
    y, x, dims, attrs, extra_coords, name
        As in :func:`make_cube`.
    band_wavelengths : sequence of float, optional
        Nominal centre wavelength of each channel (nm), stored as a
        ``band_wavelength`` coordinate.

    Returns
    -------
    xarray.DataArray
        Dims ``("band", y, x)`` with ``band = [1, 2, 3]`` and ``band_name``.
    """
    if getattr(data, "ndim", 0) != 3 or data.shape[0] != 3:
        raise BandDimensionError(format_message(
            "a (3, y, x) RGB array", f"shape {getattr(data, 'shape', None)}",
            "put the three colour planes first"))
    coords: dict[str, Any] = {
        "band": np.array([1, 2, 3]),
        "band_name": ("band", list(RGB_BAND_NAMES)),
        **_spatial(data.shape, y, x, dims),
    }
    if band_wavelengths is not None:
        coords["band_wavelength"] = ("band", np.asarray(band_wavelengths, "float64"),
                                     {"units": "nm"})
    coords.update(dict(extra_coords or {}))
    return xr.DataArray(data, dims=("band", *dims), coords=coords, name=name,
                        attrs=dict(attrs or {}))
