"""Networks of specrecon: HYDRA (teacher + student) and the MST++ baseline.

Public API
----------
- :func:`create_model`, :func:`list_models`, :func:`register_model`,
  :func:`get_model_config`: the registry of named configurations;
- :class:`Hydra`, :class:`HydraTeacher`, :class:`HydraStudent`, :class:`MSTPlusPlus`,
  the :class:`CCNet` and :class:`MCGA` baselines and their configuration dataclasses;
- :func:`save_model`, :func:`load_model`, :class:`ModelCard`: safetensors weights with a
  JSON model card (sha256-checked, never unpickled);
- :func:`list_pretrained`: weights shipped in ``specrecon/weights``;
- :data:`DEFAULT_MODEL`: name of the shipped satellite model.

Every model has ``.bands``, ``.config``, ``.family``, ``.name`` and ``.card`` and maps
RGB ``(N, 3, H, W)`` in [0, 1] to ``(N, bands, H, W)`` for any ``H, W``.

Examples
--------
>>> import torch
>>> from specrecon.models import create_model
>>> model = create_model("hydra-tiny-31")
>>> model(torch.rand(1, 3, 20, 24)).shape
torch.Size([1, 31, 20, 24])
"""

from __future__ import annotations

from specrecon.models.ccnet import CCNet, CCNetConfig
from specrecon.models.hydra import Hydra, HydraConfig
from specrecon.models.layers import ReconstructionModel
from specrecon.models.mcga import MCGA, MCGAConfig
from specrecon.models.mst_plus_plus import MSTPlusPlus, MSTPlusPlusConfig
from specrecon.models.pretrained import list_pretrained, pretrained_path
from specrecon.models.registry import (
    build_model,
    create_model,
    get_model_config,
    get_model_family,
    list_models,
    register_model,
)
from specrecon.models.student import HydraStudent
from specrecon.models.teacher import HydraTeacher
from specrecon.models.weights import ModelCard, load_model, save_model

#: Name of the shipped satellite (EnMAP-like, 202-band) model used by default.
DEFAULT_MODEL = "hydra-satellite-202"

__all__ = [
    "CCNet",
    "CCNetConfig",
    "DEFAULT_MODEL",
    "Hydra",
    "HydraConfig",
    "HydraStudent",
    "HydraTeacher",
    "MCGA",
    "MCGAConfig",
    "MSTPlusPlus",
    "MSTPlusPlusConfig",
    "ModelCard",
    "ReconstructionModel",
    "build_model",
    "create_model",
    "get_model_config",
    "get_model_family",
    "list_models",
    "list_pretrained",
    "load_model",
    "pretrained_path",
    "register_model",
    "save_model",
]
