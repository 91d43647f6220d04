"""specrecon: HYDRA spectral reconstruction from RGB imagery, xarray-native.

Importing the package is cheap: it registers the ``.hsr`` xarray accessor and
exposes the public API lazily, so ``torch``, ``dask`` and friends are imported
only when a function that needs them is first used.

Examples
--------
>>> import specrecon
>>> "hydra-tiny-31" in specrecon.list_models()   # doctest: +SKIP
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from specrecon import accessor as _accessor  # noqa: F401  (registers .hsr)
from specrecon import errors
from specrecon._version import __version__

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # models and weights
    "create_model": "specrecon.models",
    "list_models": "specrecon.models",
    "register_model": "specrecon.models",
    "load_model": "specrecon.models",
    "save_model": "specrecon.models",
    "list_pretrained": "specrecon.models",
    # inference
    "reconstruct": "specrecon.inference",
    # spectral layer
    "Sensor": "specrecon.spectral",
    "BandSet": "specrecon.spectral",
    "get_sensor": "specrecon.spectral",
    "list_sensors": "specrecon.spectral",
    "get_bandset": "specrecon.spectral",
    "list_bandsets": "specrecon.spectral",
    "simulate_rgb": "specrecon.spectral",
    "project": "specrecon.spectral",
    "resample": "specrecon.spectral",
    # metrics
    "mrae": "specrecon.metrics",
    "rmse": "specrecon.metrics",
    "psnr": "specrecon.metrics",
    "sam": "specrecon.metrics",
    "evaluate": "specrecon.metrics",
    "ntire_crop": "specrecon.metrics",
    # output
    "to_zarr": "specrecon.io",
    "to_netcdf": "specrecon.io",
    "open_cube": "specrecon.io",
}

_SUBMODULES = {"models", "metrics", "spectral", "datasets", "training", "io", "tiling",
               "runtime", "cli", "inference", "cube", "plot"}

__all__ = ["__version__", "errors", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"specrecon.{name}")
    raise AttributeError(f"module 'specrecon' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from specrecon.inference import reconstruct  # noqa: F401
    from specrecon.io import open_cube, to_netcdf, to_zarr  # noqa: F401
    from specrecon.metrics import evaluate, mrae, ntire_crop, psnr, rmse, sam  # noqa: F401
    from specrecon.models import (  # noqa: F401
        create_model,
        list_models,
        list_pretrained,
        load_model,
        register_model,
        save_model,
    )
    from specrecon.spectral import (  # noqa: F401
        BandSet,
        Sensor,
        get_bandset,
        get_sensor,
        list_bandsets,
        list_sensors,
        project,
        resample,
        simulate_rgb,
    )
