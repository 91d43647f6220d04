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

from typing import TYPE_CHECKING

from specrecon import accessor as _accessor  # noqa: F401  (registers .hsr)
from specrecon import errors
from specrecon._lazy import lazy_exports
from specrecon._version import __version__

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # models and weights
    "create_model": "models",
    "list_models": "models",
    "register_model": "models",
    "load_model": "models",
    "save_model": "models",
    "list_pretrained": "models",
    # inference
    "reconstruct": "inference",
    # spectral layer
    "Sensor": "spectral",
    "BandSet": "spectral",
    "get_sensor": "spectral",
    "list_sensors": "spectral",
    "get_bandset": "spectral",
    "list_bandsets": "spectral",
    "simulate_rgb": "spectral",
    "project": "spectral",
    "resample": "spectral",
    # metrics
    "mrae": "metrics",
    "rmse": "metrics",
    "psnr": "metrics",
    "sam": "metrics",
    "evaluate": "metrics",
    "ntire_crop": "metrics",
    # output
    "to_zarr": "io",
    "to_netcdf": "io",
    "open_cube": "io",
}

_SUBMODULES = {"models", "metrics", "spectral", "datasets", "training", "io", "tiling",
               "runtime", "cli", "inference", "cube", "plot", "device", "graph"}

__all__ = ["__version__", "errors", *sorted(_LAZY)]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY, _SUBMODULES)


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
