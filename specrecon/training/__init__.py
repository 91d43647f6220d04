"""HYDRA training: the three stages, their ablations, the MST++ baseline, configs and export.

Importing this package is cheap (no torch): names are resolved on first use.

=========================  ===================================================
name                       purpose
=========================  ===================================================
``TrainConfig``            recipe: per-stage settings, data, seed, device...
``train_hydra``            run ``config.stages`` (three-stage by default)
``train_teacher``          stage 1: teacher autoencoder, Huber
``train_student``          stage 2: student -> frozen teacher latent, MAE
``refine``                 stage 3: student + teacher decoder end to end, MSE
``train_direct``           "student only" ablation (direct regression)
``train_baseline``         MST++ / CCNet (MRAE, Adam + cosine)
``train_mcga``             MCGA: ``train_mcga_prior`` (VQ-VAE) then ``train_mcga_mapping``
``mcga_test_time_adapt``   MCGA's entropy-based test-time adaptation (on a copy)
``TrainResult``            model, history, best metrics, paths
``evaluate_model``         whole-image metrics over validation scenes
``load_data``              train / validation scenes named by a config
``export_model``           safetensors weights + model card of a trained run
=========================  ===================================================

Examples
--------
>>> from specrecon.training import TrainConfig
>>> TrainConfig(stages=("teacher", "refine")).stages
('teacher', 'refine')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from specrecon._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "TrainConfig": "config",
    "StageConfig": "config",
    "DataConfig": "config",
    "HYDRA_STAGES": "config",
    "MCGA_STAGES": "config",
    "STAGE_NAMES": "config",
    "train_hydra": "stages",
    "train_teacher": "stages",
    "train_student": "stages",
    "refine": "stages",
    "train_direct": "stages",
    "train_baseline": "stages",
    "decoder_parameters": "stages",
    "evaluate_model": "stages",
    "validation_tensors": "stages",
    "train_mcga": "mcga",
    "train_mcga_prior": "mcga",
    "train_mcga_mapping": "mcga",
    "mcga_test_time_adapt": "mcga",
    "TrainResult": "loop",
    "resolve_device": "loop",
    "load_data": "data",
    "load_checkpoint": "checkpoint",
    "seed_everything": "checkpoint",
    "export_model": "export",
    "exposure_calibration": "export",
    "make_card": "export",
    "run_config": "export",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)


if TYPE_CHECKING:  # pragma: no cover - lazy re-exports (see _LAZY) for type checkers
    from specrecon.training.checkpoint import load_checkpoint, seed_everything  # noqa: F401
    from specrecon.training.config import (  # noqa: F401
        HYDRA_STAGES,
        MCGA_STAGES,
        STAGE_NAMES,
        DataConfig,
        StageConfig,
        TrainConfig,
    )
    from specrecon.training.data import load_data  # noqa: F401
    from specrecon.training.export import export_model, make_card, run_config  # noqa: F401
    from specrecon.training.loop import TrainResult, resolve_device  # noqa: F401
    from specrecon.training.mcga import (  # noqa: F401
        mcga_test_time_adapt,
        train_mcga,
        train_mcga_mapping,
        train_mcga_prior,
    )
    from specrecon.training.stages import (  # noqa: F401
        decoder_parameters,
        evaluate_model,
        refine,
        train_baseline,
        train_direct,
        train_hydra,
        train_student,
        train_teacher,
        validation_tensors,
    )
