"""Dataset loaders: ARAD-1K, HySpecNet-11k, ENVI / LIB-HSI, and PyTorch patch datasets.

Every loader returns cubes and RGB images built with :func:`specrecon.cube.make_cube`
and :func:`specrecon.cube.make_rgb`. Importing this package is cheap: the
submodules (and with them ``h5py``, ``rioxarray``, ``torch``) are imported on
first use of a name that needs them.

======================================  =========================================
name                                    module
======================================  =========================================
``open_arad_cube``, ``open_arad_rgb``,  :mod:`specrecon.datasets.arad`
``ARAD1K``
``open_hyspecnet_patch``,               :mod:`specrecon.datasets.hyspecnet`
``HySpecNet11k``
``open_envi``, ``write_envi``,          :mod:`specrecon.datasets.envi`
``read_envi_header``, ``LIBHSI``
``PairedPatchDataset``,                 :mod:`specrecon.datasets.patches` (torch)
``CubeSpectraDataset``
``synthetic``                           :mod:`specrecon.datasets.synthetic`
======================================  =========================================

Examples
--------
>>> import specrecon.datasets as ds
>>> "PairedPatchDataset" in dir(ds)
True
>>> ds.ARAD1K("/data/ARAD_1K", split="train")   # doctest: +SKIP
ARAD1K(split='train', 900 items)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from specrecon._lazy import lazy_exports

# public name -> submodule that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "open_arad_cube": "arad",
    "open_arad_rgb": "arad",
    "ARAD1K": "arad",
    "ARAD_SPLITS": "arad",
    "open_hyspecnet_patch": "hyspecnet",
    "HySpecNet11k": "hyspecnet",
    "HYSPECNET_DROPPED_BANDS": "hyspecnet",
    "open_envi": "envi",
    "write_envi": "envi",
    "read_envi_header": "envi",
    "LIBHSI": "envi",
    "PairedPatchDataset": "patches",
    "CubeSpectraDataset": "patches",
}

_SUBMODULES = {"arad", "hyspecnet", "envi", "patches", "synthetic"}

__all__ = [
    "ARAD1K",
    "ARAD_SPLITS",
    "HYSPECNET_DROPPED_BANDS",
    "LIBHSI",
    "CubeSpectraDataset",
    "HySpecNet11k",
    "PairedPatchDataset",
    "open_arad_cube",
    "open_arad_rgb",
    "open_envi",
    "open_hyspecnet_patch",
    "read_envi_header",
    "synthetic",
    "write_envi",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY, _SUBMODULES)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from specrecon.datasets import synthetic
    from specrecon.datasets.arad import ARAD1K, ARAD_SPLITS, open_arad_cube, open_arad_rgb
    from specrecon.datasets.envi import LIBHSI, open_envi, read_envi_header, write_envi
    from specrecon.datasets.hyspecnet import (
        HYSPECNET_DROPPED_BANDS,
        HySpecNet11k,
        open_hyspecnet_patch,
    )
    from specrecon.datasets.patches import CubeSpectraDataset, PairedPatchDataset
