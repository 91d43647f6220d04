"""MCGA's two training stages as library functions (same loop, checkpoints and logs as HYDRA).

==================  ==========================================  ===============  ==============
function            trains                                      loss             frozen
==================  ==========================================  ===============  ==============
train_mcga_prior    stage 1: multi-scale VQ-VAE on cubes (about  MRAE + codebook  GANet (unused)
                    half the input bands masked), codebooks      + commitment
                    initialised from encoder features
train_mcga_mapping  stage 2: GANet RGB -> cube through the       MRAE             MoC, stage-1
                    frozen Mixture of Codebooks                                   encoder
train_mcga          ``config.stages`` among ``prior``, ``mapping`` (both by default)
==================  ==========================================  ===============  ==============

Stage settings come from ``config.prior`` and ``config.mapping``
(:class:`~specrecon.training.config.TrainConfig`); with ``out_dir`` a run writes
``checkpoint.pt``, ``stage-prior.pt`` / ``stage-mapping.pt``, ``metrics.jsonl``,
``loss_curve.png`` and ``config.yaml``, and ``resume=True`` continues an interrupted run
exactly (the band masks are drawn from torch's RNG, whose state is checkpointed).
Validation of the prior stage scores the VQ-VAE's auto-encoding of the validation cubes
(the upper bound of stage 2), that of the mapping stage the RGB reconstruction.

Test-time adaptation: :func:`mcga_test_time_adapt` (=
:func:`specrecon.models.mcga.tta_adapt`) adapts a deep copy.

Examples
--------
>>> import numpy as np
>>> from specrecon.models import create_model
>>> from specrecon.training import TrainConfig, train_mcga
>>> cube = np.random.default_rng(0).random((31, 32, 32), dtype="float32") * 0.5 + 0.1
>>> pairs = [(cube[[25, 15, 5]], cube)]
>>> cfg = TrainConfig.from_dict({"stages": ["prior", "mapping"], "progress": False,
...     "prior": {"steps": 2, "patch_size": 16}, "mapping": {"steps": 2, "patch_size": 16}})
>>> result = train_mcga(create_model("mcga-tiny-31"), pairs, pairs, cfg)
>>> result.steps
{'prior': 2, 'mapping': 2}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from specrecon.errors import ModelMismatchError, format_message
from specrecon.models.mcga import MCGA, tta_adapt
from specrecon.training.config import MCGA_STAGES, TrainConfig
from specrecon.training.data import split_pair, stage_source
from specrecon.training.loop import Callback, Run, StageSpec, TrainResult, loss_function

__all__ = ["train_mcga_prior", "train_mcga_mapping", "train_mcga", "mcga_test_time_adapt",
           "mask_bands"]

#: test-time adaptation on a deep copy (see :func:`specrecon.models.mcga.tta_adapt`)
mcga_test_time_adapt = tta_adapt


def _require_mcga(model: nn.Module, what: str) -> None:
    if not isinstance(model, MCGA):
        raise ModelMismatchError(format_message(
            f"an MCGA model for {what}", type(model).__name__,
            "create one with create_model('mcga-small-31')"))


def mask_bands(cube: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero ``round(ratio * bands)`` randomly chosen bands of every sample (torch's RNG).

    Examples
    --------
    >>> x = torch.ones(2, 10, 3, 3)
    >>> [int((mask_bands(x, 0.5)[i].sum((1, 2)) == 0).sum()) for i in range(2)]
    [5, 5]
    """
    n, b = cube.shape[:2]
    k = int(round(ratio * b))
    if k == 0:
        return cube
    order = torch.rand(n, b, device=cube.device).argsort(1)
    keep = torch.ones(n, b, device=cube.device, dtype=cube.dtype)
    keep.scatter_(1, order[:, :k], 0.0)
    return cube * keep[:, :, None, None]


class _AutoEncoder(nn.Module):
    """``forward(cube) = model.autoencode(cube)[0]`` (validation of the prior stage)."""

    def __init__(self, model: MCGA) -> None:
        super().__init__()
        self.model = model

    def forward(self, cube: torch.Tensor) -> torch.Tensor:
        return self.model.autoencode(cube)[0]


def _validator(model: nn.Module, val: Any, config: TrainConfig, prior: bool) -> Any:
    from specrecon.training.stages import evaluate_model, validation_tensors

    if val is None or len(val) == 0:
        return None
    scenes = validation_tensors(val, config.data.sensor, config.val_max_scenes)
    if prior:
        wrapper = _AutoEncoder(model)  # type: ignore[arg-type]
        return lambda: evaluate_model(wrapper, scenes, target="teacher",
                                      mrae_eps=config.val_mrae_eps)
    return lambda: evaluate_model(model, scenes, target="model", mrae_eps=config.val_mrae_eps)


class _CubesOnly(Sequence):
    """Pairs whose missing RGB is a zero placeholder: the prior stage reads cubes only."""

    def __init__(self, pairs: Sequence[Any]) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: Any) -> Any:
        rgb, cube = split_pair(self.pairs[i])
        if rgb is None:
            shape = tuple(cube.shape[-2:])
            rgb = np.zeros((3, *shape), dtype="float32")
        return rgb, cube


def _source(data: Any, name: str, config: TrainConfig) -> Any:
    if (name == "prior" and isinstance(data, Sequence) and not config.data.simulate
            and not isinstance(data, (str, bytes))):
        data = _CubesOnly(data)
    return stage_source(data, name, config)


def _cube(batch: Any) -> torch.Tensor:
    return batch if isinstance(batch, torch.Tensor) else batch[1]


def _prior_spec(model: MCGA, data: Any, val: Any, config: TrainConfig) -> StageSpec:
    cfg = config.prior
    lossf = loss_function(cfg.loss, cfg.huber_delta, cfg.mrae_eps)
    params = model.prior_parameters()
    ids = {id(p) for p in params}
    ratio = model.config.mask_ratio

    def loss(batch: Any) -> torch.Tensor:
        cube = _cube(batch).float()
        pred, vq = model.autoencode(mask_bands(cube, ratio))
        return lossf(pred.float(), cube) + vq

    return StageSpec(name="prior", params=params,
                     frozen=[p for p in model.parameters() if id(p) not in ids],
                     train_modules=[model], eval_modules=[], loss=loss,
                     validate=_validator(model, val, config, prior=True),
                     source=_source(data, "prior", config))


def _mapping_spec(model: MCGA, data: Any, val: Any, config: TrainConfig) -> StageSpec:
    cfg = config.mapping
    lossf = loss_function(cfg.loss, cfg.huber_delta, cfg.mrae_eps)
    params = model.mapping_parameters()
    ids = {id(p) for p in params}

    def loss(batch: Any) -> torch.Tensor:
        rgb, cube = batch
        return lossf(model(rgb).float(), cube.float())

    return StageSpec(name="mapping", params=params,
                     frozen=[p for p in model.parameters() if id(p) not in ids],
                     train_modules=[model], eval_modules=[], loss=loss,
                     validate=_validator(model, val, config, prior=False),
                     source=_source(data, "mapping", config))


def _run(model: nn.Module, stages: Sequence[str], data: Any, val: Any,
         config: TrainConfig | None, out_dir: str | Path | None, resume: bool | str | Path,
         callback: Callback | None) -> TrainResult:
    _require_mcga(model, "MCGA training")
    assert isinstance(model, MCGA)
    config = (config or TrainConfig(stages=MCGA_STAGES)).validate()
    run = Run(model, config, out_dir=out_dir, resume=resume, callback=callback)
    for name in stages:
        if name in run.completed:
            continue
        if name == "prior":
            spec = _prior_spec(model, data, val, config)
            fresh = run.partial is None or run.partial.get("stage") != "prior"
            if fresh and config.prior.steps > 0:
                gen = torch.Generator().manual_seed(config.seed)
                cube = _cube(spec.source.batch(0)).float().to(run.device)
                model.init_codebooks(cube, gen)
        else:
            spec = _mapping_spec(model, data, val, config)
        run.run_stage(spec)
    return run.result()


def train_mcga_prior(model: nn.Module, data: Any, config: TrainConfig | None = None, *,
                     val: Any = None, out_dir: str | Path | None = None,
                     resume: bool | str | Path = False,
                     callback: Callback | None = None) -> TrainResult:
    """Stage 1: the multi-scale VQ-VAE prior (Mixture of Codebooks) on cubes.

    Trains :meth:`~specrecon.models.mcga.MCGA.prior_parameters` (encoder, codebooks,
    quantization and reconstruction convolutions) with ``config.prior``: loss =
    ``config.prior.loss`` between the reconstruction of a band-masked cube and the cube,
    plus the VQ embedding and commitment terms. The codebooks are first set to encoder
    features of the stage's first batch (seeded by ``config.seed``).

    Parameters
    ----------
    model : MCGA
        E.g. ``create_model("mcga-small-31")``; GANet is left unchanged.
    data : sequence of (rgb, cube) pairs / Scenes, Dataset or DataLoader
        Training data (only the cubes are used).
    config : TrainConfig, optional
        Uses ``config.prior`` and the run settings.
    val : sequence of pairs, optional
        Validation scenes (metrics of the auto-encoding).
    out_dir, resume, callback
        See :class:`~specrecon.training.loop.Run`.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import numpy as np
    >>> from specrecon.models import create_model
    >>> cube = np.random.default_rng(0).random((31, 16, 16), dtype="float32") + 0.1
    >>> cfg = TrainConfig.from_dict({"prior": {"steps": 2, "patch_size": 8}, "progress": False})
    >>> train_mcga_prior(create_model("mcga-tiny-31"), [(None, cube)], cfg).steps
    {'prior': 2}
    """
    return _run(model, ("prior",), data, val, config, out_dir, resume, callback)


def train_mcga_mapping(model: nn.Module, data: Any, config: TrainConfig | None = None, *,
                       val: Any = None, out_dir: str | Path | None = None,
                       resume: bool | str | Path = False,
                       callback: Callback | None = None) -> TrainResult:
    """Stage 2: GANet (RGB -> cube) querying the frozen Mixture of Codebooks.

    Trains :meth:`~specrecon.models.mcga.MCGA.mapping_parameters` (GANet and the
    reconstruction convolutions) with ``config.mapping``; the codebooks and the stage-1
    encoder stay bit-identical.

    Parameters
    ----------
    model : MCGA
        A model after :func:`train_mcga_prior`.
    data, config, val, out_dir, resume, callback
        As in :func:`train_mcga_prior` (``config.mapping``; items are aligned
        ``(rgb, cube)`` patches).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import numpy as np
    >>> from specrecon.models import create_model
    >>> cube = np.random.default_rng(0).random((31, 16, 16), dtype="float32") + 0.1
    >>> cfg = TrainConfig.from_dict({"mapping": {"steps": 2, "patch_size": 16},
    ...                              "progress": False})
    >>> train_mcga_mapping(create_model("mcga-tiny-31"), [(cube[:3], cube)], cfg).steps
    {'mapping': 2}
    """
    return _run(model, ("mapping",), data, val, config, out_dir, resume, callback)


def train_mcga(model: nn.Module, train: Any, val: Any = None, config: TrainConfig | None = None,
               *, out_dir: str | Path | None = None, resume: bool | str | Path = False,
               callback: Callback | None = None) -> TrainResult:
    """Run MCGA's stages: the MCGA stages listed in ``config.stages``, else prior + mapping.

    Parameters
    ----------
    model : MCGA
        Normally untrained, from :func:`~specrecon.models.create_model`.
    train, val, out_dir, resume, callback
        As in :func:`~specrecon.training.train_hydra`.
    config : TrainConfig, optional
        ``stages: [prior, mapping]`` (or one of them) with ``prior`` / ``mapping`` sections.

    Returns
    -------
    TrainResult
    """
    config = config or TrainConfig(stages=MCGA_STAGES)
    stages = [s for s in config.stages if s in MCGA_STAGES] or list(MCGA_STAGES)
    if list(config.stages) != stages:
        config = TrainConfig.from_dict({**config.to_dict(), "stages": stages})
    return _run(model, stages, train, val, config, out_dir, resume, callback)
