"""Quick looks at cubes: spectra at points and band previews (matplotlib, imported lazily).

Examples
--------
>>> fig = plot_spectra(cube, [(10, 20), (40, 5)], truth=truth)      # doctest: +SKIP
>>> fig = plot_bands(cube, [450, 550, 650], ncols=3)                # doctest: +SKIP
>>> fig = plot_error(cube, truth, metric="mrae")                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from specrecon.errors import CoordinateError, SpatialDimensionError, format_message

__all__ = ["plot_bands", "plot_error", "plot_spectra"]


def _spatial(cube: xr.DataArray) -> tuple[str, str]:
    rest = [str(d) for d in cube.dims if d != "wavelength"]
    if "wavelength" not in cube.dims or len(rest) != 2:
        raise SpatialDimensionError(format_message(
            "a cube with dims (wavelength, y, x)", f"dims {cube.dims}",
            "build it with specrecon.cube.make_cube or specrecon.reconstruct"))
    return rest[0], rest[1]


def _spectrum(cube: xr.DataArray, point: Any, ydim: str, xdim: str, pixels: bool) -> np.ndarray:
    py, px = point
    if pixels:
        return np.asarray(cube.isel({ydim: int(py), xdim: int(px)}).values)
    return np.asarray(cube.sel({ydim: py, xdim: px}, method="nearest").values)


def plot_spectra(cube: xr.DataArray, points: Sequence[tuple[Any, Any]], *,
                 truth: xr.DataArray | None = None, ax: Any = None,
                 pixels: bool | None = None) -> Any:
    """Plot reconstructed (and optionally true) spectra at a few points.

    Parameters
    ----------
    cube : xarray.DataArray
        Cube ``(wavelength, y, x)``.
    points : sequence of (y, x)
        Coordinate labels (nearest pixel) or, with ``pixels=True``, integer
        pixel indices. Default: indices when every value is an int and the
        cube has no spatial coordinates, labels otherwise.
    truth : xarray.DataArray, optional
        Reference cube on the same grid, drawn dashed in the same colour.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (a new figure otherwise).
    pixels : bool, optional
        Interpret ``points`` as pixel indices.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; ``fig.axes[0]`` holds one line per point (plus one per
        truth spectrum).

    Examples
    --------
    >>> import numpy as np
    >>> from specrecon.cube import make_cube
    >>> cube = make_cube(np.random.rand(31, 4, 4), np.arange(400, 701, 10.0))
    >>> fig = plot_spectra(cube, [(0, 0), (3, 3)], pixels=True)
    >>> len(fig.axes[0].lines)
    2
    """
    import matplotlib.pyplot as plt

    ydim, xdim = _spatial(cube)
    if not points:
        raise CoordinateError(format_message("at least one (y, x) point", "none",
                                             "pass points=[(y, x), ...]"))
    if pixels is None:
        all_int = all(isinstance(v, (int, np.integer)) for p in points for v in p)
        pixels = all_int and ydim not in cube.coords and xdim not in cube.coords
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    wl = np.asarray(cube["wavelength"].values)
    for k, point in enumerate(points):
        color = f"C{k % 10}"
        ax.plot(wl, _spectrum(cube, point, ydim, xdim, pixels), color=color,
                label=f"reconstructed {tuple(point)}")
        if truth is not None:
            ty, tx = _spatial(truth)
            ax.plot(np.asarray(truth["wavelength"].values),
                    _spectrum(truth, point, ty, tx, pixels), color=color, linestyle="--",
                    label=f"truth {tuple(point)}")
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel(str(cube.attrs.get("long_name", cube.name or "reflectance")))
    ax.legend(fontsize="small")
    return fig


def plot_bands(cube: xr.DataArray, wavelengths: Sequence[float] | None = None, *,
               ncols: int = 4, cmap: str = "viridis", robust: bool = True) -> Any:
    """Preview some bands of a cube as images.

    Parameters
    ----------
    cube : xarray.DataArray
        Cube ``(wavelength, y, x)``.
    wavelengths : sequence of float, optional
        Band centres to show (nearest band). Default: up to 8 evenly spaced.
    ncols : int
        Panels per row.
    cmap : str
        Colour map.
    robust : bool
        Scale colours to the 2nd-98th percentiles of each band.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per band, titled with its wavelength.

    Examples
    --------
    >>> import numpy as np
    >>> from specrecon.cube import make_cube
    >>> cube = make_cube(np.random.rand(31, 4, 4), np.arange(400, 701, 10.0))
    >>> fig = plot_bands(cube, [450, 550], ncols=2)
    >>> [a.get_title() for a in fig.axes[:2]]
    ['450 nm', '550 nm']
    """
    import matplotlib.pyplot as plt

    ydim, xdim = _spatial(cube)
    if wavelengths is None:
        idx = np.unique(np.linspace(0, cube.sizes["wavelength"] - 1,
                                    min(8, cube.sizes["wavelength"])).round().astype(int))
        sel = cube.isel(wavelength=idx)
    else:
        sel = cube.sel(wavelength=list(wavelengths), method="nearest")
    n = sel.sizes["wavelength"]
    ncols = max(1, min(int(ncols), n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 3 * nrows), squeeze=False)
    values = np.asarray(sel.transpose("wavelength", ydim, xdim).values)
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            ax.set_visible(False)
            continue
        img = values[k]
        finite = img[np.isfinite(img)]
        lo, hi = ((np.percentile(finite, 2), np.percentile(finite, 98))
                  if robust and finite.size else (None, None))
        ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(f"{float(sel['wavelength'][k]):g} nm")
        ax.set_axis_off()
    return fig


def plot_error(cube: xr.DataArray, truth: xr.DataArray, *, metric: str = "mrae",
               ax: Any = None, cmap: str = "magma", robust: bool = True,
               **options: Any) -> Any:
    """Map a per-pixel error (computed over the bands) of a cube against the truth.

    Parameters
    ----------
    cube : xarray.DataArray
        Reconstructed cube ``(wavelength, y, x)``.
    truth : xarray.DataArray
        Reference cube on the same bands and grid.
    metric : {"mrae", "rmse", "sam", "psnr"}
        Metric from :mod:`specrecon.metrics`, reduced over ``wavelength`` only.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (a new figure otherwise).
    cmap : str
        Colour map.
    robust : bool
        Scale colours to the 2nd-98th percentiles of the map, so a few extreme
        pixels (e.g. MRAE over near-black water) do not wash out the rest.
    **options
        Passed to the metric, e.g. ``zero_gt="epsilon", eps=0.01`` for MRAE on
        scenes with (near-)zero reflectance.

    Returns
    -------
    matplotlib.figure.Figure
        One image with a colour bar; the title gives the metric and its scene mean.

    Examples
    --------
    >>> import numpy as np
    >>> from specrecon.cube import make_cube
    >>> wl = np.arange(400, 701, 10.0)
    >>> truth = make_cube(np.full((31, 4, 5), 0.5), wl)
    >>> fig = plot_error(truth + 0.05, truth, metric="mrae")
    >>> fig.axes[0].get_title()
    'MRAE per pixel (mean 0.1)'
    >>> fig.axes[0].images[0].get_array().shape
    (4, 5)
    """
    import matplotlib.pyplot as plt

    from specrecon import metrics

    ydim, xdim = _spatial(cube)
    _spatial(truth)
    functions = {"mrae": metrics.mrae, "rmse": metrics.rmse, "sam": metrics.sam,
                 "psnr": metrics.psnr}
    if metric not in functions:
        raise ValueError(format_message(f"metric in {sorted(functions)}", repr(metric),
                                        "pick one of those names"))
    error = functions[metric](cube, truth, dim="wavelength", **options)
    values = np.asarray(error.transpose(ydim, xdim).values, dtype="float64")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4))
    else:
        fig = ax.figure
    finite = values[np.isfinite(values)]
    lo, hi = ((np.percentile(finite, 2), np.percentile(finite, 98))
              if robust and finite.size else (None, None))
    image = ax.imshow(values, cmap=cmap, vmin=lo, vmax=hi)
    fig.colorbar(image, ax=ax, shrink=0.85)
    mean = float(np.nanmean(values)) if finite.size else float("nan")
    ax.set_title(f"{metric.upper()} per pixel (mean {mean:.3g})")
    ax.set_axis_off()
    return fig
