"""Spectral layer: sensors, band sets, camera simulation and spectral resampling.

Only numpy and xarray are imported here; colour-science, dask and Pillow are
imported inside the functions that need them.

Examples
--------
>>> import numpy as np
>>> from specrecon.spectral import get_bandset, project
>>> from specrecon.cube import make_cube
>>> bs = get_bandset("arad31")
>>> cube = make_cube(np.full((bs.size, 2, 2), 0.5, "float32"), bs.wavelengths, bs.fwhm)
>>> project(cube, "sentinel2_msi_rgb").dims
('band', 'y', 'x')
"""

from __future__ import annotations

from specrecon.spectral.bandsets import (
    EMIT_WATER_VAPOUR_NM,
    HYSPECNET_DROP,
    BandSet,
    get_bandset,
    list_bandsets,
    register_bandset,
)
from specrecon.spectral.resample import resample, srf_matrix
from specrecon.spectral.sensors import (
    Sensor,
    gaussian_curve,
    get_sensor,
    list_sensors,
    register_sensor,
)
from specrecon.spectral.simulate import NTIRE_GAINS, project, projection_matrix, simulate_rgb

__all__ = [
    "Sensor",
    "BandSet",
    "get_sensor",
    "list_sensors",
    "register_sensor",
    "gaussian_curve",
    "get_bandset",
    "list_bandsets",
    "register_bandset",
    "HYSPECNET_DROP",
    "EMIT_WATER_VAPOUR_NM",
    "project",
    "projection_matrix",
    "simulate_rgb",
    "NTIRE_GAINS",
    "resample",
    "srf_matrix",
]
