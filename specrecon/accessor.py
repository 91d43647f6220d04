"""The ``.hsr`` xarray accessor: a thin shim over specrecon's functions.

Importing :mod:`specrecon` registers ``DataArray.hsr`` and ``Dataset.hsr``.
Every method forwards to a plain function (see the "See Also" of each) and
imports it only when called, so ``import specrecon`` stays light.

Examples
--------
>>> import specrecon, rioxarray                       # doctest: +SKIP
>>> rgb = rioxarray.open_rasterio("scene.tif", chunks={"x": 2048, "y": 2048})  # doctest: +SKIP
>>> cube = rgb.hsr.reconstruct(model="hydra-satellite-202")  # doctest: +SKIP
>>> cube.hsr.to_zarr("scene_cube.zarr")               # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import xarray as xr

__all__ = ["HsrDataArrayAccessor", "HsrDatasetAccessor"]


@xr.register_dataarray_accessor("hsr")
class HsrDataArrayAccessor:
    """Spectral reconstruction methods on a DataArray (RGB image or cube)."""

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    # --- RGB -> cube ---------------------------------------------------------
    def reconstruct(self, model: Any = "default", **kwargs: Any) -> xr.DataArray:
        """Reconstruct a hyperspectral cube; see :func:`specrecon.reconstruct`."""
        from specrecon.inference import reconstruct

        return reconstruct(self._obj, model=model, **kwargs)

    # --- cube -> RGB ---------------------------------------------------------
    def to_rgb(self, sensor: Any = "sentinel2_msi_rgb", **kwargs: Any) -> xr.DataArray:
        """Noise-free RGB projection of a cube; see :func:`specrecon.project`."""
        from specrecon.spectral import project

        return project(self._obj, sensor, **kwargs)

    def simulate_rgb(self, sensor: Any = "nikon_d5100", **kwargs: Any) -> xr.DataArray:
        """Camera simulation (NTIRE pipeline); see :func:`specrecon.simulate_rgb`."""
        from specrecon.spectral import simulate_rgb

        return simulate_rgb(self._obj, sensor, **kwargs)

    def resample(self, target: Any, **kwargs: Any) -> xr.DataArray:
        """SRF-weighted resampling to another band set; see :func:`specrecon.resample`."""
        from specrecon.spectral import resample

        return resample(self._obj, target, **kwargs)

    # --- evaluation ----------------------------------------------------------
    def evaluate(self, truth: xr.DataArray, **kwargs: Any) -> xr.Dataset:
        """Metrics of this prediction against ``truth``; see :func:`specrecon.evaluate`."""
        from specrecon.metrics import evaluate

        return evaluate(self._obj, truth, **kwargs)

    # --- output --------------------------------------------------------------
    def to_zarr(self, path: Any, **kwargs: Any) -> Any:
        """Write a georeferenced, CF-compliant zarr store; see :func:`specrecon.to_zarr`."""
        from specrecon.io import to_zarr

        return to_zarr(self._obj, path, **kwargs)

    def to_netcdf(self, path: Any, **kwargs: Any) -> Any:
        """Write a georeferenced, CF-compliant NetCDF file; see :func:`specrecon.to_netcdf`."""
        from specrecon.io import to_netcdf

        return to_netcdf(self._obj, path, **kwargs)

    # --- plots ---------------------------------------------------------------
    def plot_spectra(self, points: Any, **kwargs: Any) -> Any:
        """Plot spectra at pixel positions; see :func:`specrecon.plot.plot_spectra`."""
        from specrecon.plot import plot_spectra

        return plot_spectra(self._obj, points, **kwargs)

    def plot_bands(self, wavelengths: Any = None, **kwargs: Any) -> Any:
        """Preview a few bands as images; see :func:`specrecon.plot.plot_bands`."""
        from specrecon.plot import plot_bands

        return plot_bands(self._obj, wavelengths, **kwargs)


@xr.register_dataset_accessor("hsr")
class HsrDatasetAccessor:
    """Spectral reconstruction methods on a Dataset."""

    def __init__(self, obj: xr.Dataset) -> None:
        self._obj = obj

    def reconstruct(self, variable: str | None = None, model: Any = "default",
                    **kwargs: Any) -> xr.DataArray:
        """Reconstruct the RGB variable of the Dataset; see :func:`specrecon.reconstruct`.

        Parameters
        ----------
        variable : str, optional
            Name of the RGB variable. Default: the only variable with a
            dimension of size 3.
        """
        from specrecon.inference import reconstruct, select_rgb_variable

        return reconstruct(select_rgb_variable(self._obj, variable), model=model, **kwargs)

    def to_zarr(self, path: Any, **kwargs: Any) -> Any:
        """Write the Dataset georeferenced to zarr; see :func:`specrecon.to_zarr`."""
        from specrecon.io import to_zarr

        return to_zarr(self._obj, path, **kwargs)

    def to_netcdf(self, path: Any, **kwargs: Any) -> Any:
        """Write the Dataset georeferenced to NetCDF; see :func:`specrecon.to_netcdf`."""
        from specrecon.io import to_netcdf

        return to_netcdf(self._obj, path, **kwargs)
