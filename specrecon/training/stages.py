"""The HYDRA training stages, their ablations and the MST++ baseline as library functions.

==============  ==========================================  =======  ==========================
function        trains                                      loss     frozen
==============  ==========================================  =======  ==========================
train_teacher   teacher (encoder + decoder) on spectra      Huber    student (unused)
train_student   student -> ``teacher.encode(cube)``         MAE      the whole teacher
refine          student + teacher decoder, RGB -> cube      MSE      teacher encoder
train_direct    student + decoder from scratch ("student    MSE      teacher encoder
                only" ablation, no teacher stages)
train_baseline  a whole non-HYDRA model (MST++, CCNet)      MRAE     nothing
train_hydra     the ``config.stages`` in order (default     per      per stage
                three-stage; ``("teacher", "refine")`` is   stage
                the paper's "stage 1+3" ablation,
                ``("direct",)`` "student only")
==============  ==========================================  =======  ==========================

Every function takes the model, training data (a sequence of ``(rgb, cube)``
pairs or Scenes, a torch ``Dataset`` or a ``DataLoader``; see
:mod:`specrecon.training.data`) and a :class:`~specrecon.training.config.TrainConfig`,
and returns a :class:`~specrecon.training.loop.TrainResult`. With ``out_dir`` the run
writes ``checkpoint.pt`` every ``config.checkpoint_every`` steps, ``stage-<name>.pt``
at each stage end, ``metrics.jsonl``, ``loss_curve.png`` and ``config.yaml``, and
``resume=True`` continues an interrupted run exactly.

Validation (when ``val`` scenes are given) runs whole-image inference on each
scene at every ``config.eval_every`` steps and at the end of each stage and reports
MRAE / RMSE / PSNR / SAM averaged over scenes (teacher stage: of the teacher's
auto-encoding, the upper bound of the later stages; student stage: of the full
model, plus ``latent_mae``).

Examples
--------
>>> import numpy as np
>>> from specrecon.models import create_model
>>> from specrecon.training import TrainConfig, train_hydra
>>> cube = np.random.default_rng(0).random((31, 32, 32), dtype="float32") * 0.5 + 0.1
>>> pairs = [(cube[[25, 15, 5]], cube)]
>>> cfg = TrainConfig.from_dict({"model": "hydra-tiny-31", "progress": False,
...     "teacher": {"steps": 2, "patch_size": 8}, "student": {"steps": 2, "patch_size": 16},
...     "refine": {"steps": 2, "patch_size": 16}})
>>> result = train_hydra(create_model("hydra-tiny-31"), pairs, pairs, cfg)
>>> sorted(result.steps), sorted(result.metrics)
(['refine', 'student', 'teacher'], ['mrae', 'psnr', 'rmse', 'sam'])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from specrecon.errors import ConfigError, ModelMismatchError, format_message
from specrecon.training.config import TrainConfig
from specrecon.training.data import split_pair, stage_source, to_tensor
from specrecon.training.loop import Callback, Run, StageSpec, TrainResult, loss_function

__all__ = [
    "train_teacher",
    "train_student",
    "refine",
    "train_direct",
    "train_hydra",
    "train_baseline",
    "decoder_parameters",
    "evaluate_model",
    "validation_tensors",
]


# --------------------------------------------------------------------------- helpers

def _is_hydra(model: nn.Module) -> bool:
    return all(hasattr(model, a) for a in ("teacher", "student", "forward_latent"))


def _require_hydra(model: nn.Module, what: str) -> None:
    if not _is_hydra(model):
        raise ModelMismatchError(format_message(
            f"a HYDRA model (with .teacher and .student) for {what}",
            type(model).__name__, "create one with create_model('hydra-small-31'), or use "
            "train_baseline for other models"))


def _teacher_of(model: nn.Module) -> nn.Module:
    return model.teacher if hasattr(model, "teacher") else model  # type: ignore[return-value]


def decoder_parameters(teacher: nn.Module) -> list[nn.Parameter]:
    """The teacher parameters that :meth:`decode` uses, found by autograd.

    A latent code is pushed through ``teacher.decode`` and the parameters that
    receive a gradient are the decoder's; everything else of the teacher is the
    encoder. This needs no knowledge of the teacher's attribute names and uses no
    random numbers.

    Examples
    --------
    >>> from specrecon.models import create_model
    >>> t = create_model("hydra-tiny-31").teacher
    >>> 0 < len(decoder_parameters(t)) < len(list(t.parameters()))
    True
    """
    params = [p for p in teacher.parameters()]
    device = params[0].device
    bands = int(teacher.bands)
    with torch.enable_grad():
        probe = torch.linspace(0.1, 0.9, bands, device=device).repeat(2, 1)
        z = teacher.encode(probe).detach().requires_grad_(True)
        out = teacher.decode(z)
        grads = torch.autograd.grad(out.sum(), params, allow_unused=True)
    return [p for p, g in zip(params, grads) if g is not None]


def validation_tensors(val: Any, sensor: str | None = None,
                       max_scenes: int | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Whole-image ``(rgb (1,3,H,W), cube (1,B,H,W))`` CPU tensors from validation scenes.

    Parameters
    ----------
    val : sequence of pairs / Scenes, or a Dataset of ``(rgb, cube)`` items
        Validation data.
    sensor : str, optional
        Simulate RGB with this sensor where a scene has none (e.g. HySpecNet cubes).
    max_scenes : int, optional
        Use the first ``max_scenes`` only.
    """
    out = []
    n = len(val)
    if max_scenes is not None:
        n = min(n, max_scenes)
    for i in range(n):
        rgb, cube = split_pair(val[i])
        if hasattr(cube, "dims") and "wavelength" in cube.dims:
            cube_w = cube
            cube = cube.transpose("wavelength", ...)
        else:
            cube_w = None
        if rgb is None:
            if sensor is None or cube_w is None:
                raise ConfigError(format_message(
                    f"an RGB image for validation scene {i}", "none",
                    "set data.sensor so RGB can be simulated from the cube"))
            from specrecon.spectral import simulate_rgb

            rgb = simulate_rgb(cube_w, sensor, seed=i)
        if hasattr(rgb, "dims") and "band" in rgb.dims:
            rgb = rgb.transpose("band", ...)
        r, c = to_tensor(rgb), to_tensor(cube)
        if r.ndim == 3:
            r, c = r[None], c[None]
        out.append((r, c))
    return out


def evaluate_model(model: nn.Module, scenes: Sequence[tuple[torch.Tensor, torch.Tensor]], *,
                   target: str = "model", crop: int | None = None,
                   clip: tuple[float, float] | None = None,
                   mrae_eps: float | None = None) -> dict[str, float]:
    """Mean MRAE / RMSE / PSNR / SAM over scenes, whole-image inference.

    Parameters
    ----------
    model : torch.nn.Module
        A reconstruction model (or HYDRA / teacher for ``target="teacher"``).
    scenes : sequence of (rgb, cube) tensors
        As returned by :func:`validation_tensors`.
    target : {"model", "teacher", "student"}
        ``"teacher"`` scores the teacher's auto-encoding of the cubes;
        ``"student"`` also reports ``latent_mae`` against ``teacher.encode(cube)``.
    crop : int, optional
        Border cut before scoring (128 = NTIRE protocol).
    clip : (float, float), optional
        Clip predictions to this range first (``(0, 1)`` as in the MST++ evaluation).
    mrae_eps : float, optional
        MRAE denominators ``|truth| + mrae_eps`` instead of leaving exact zeros out.

    Returns
    -------
    dict
        Metric name -> mean over scenes.

    Examples
    --------
    >>> import torch
    >>> from specrecon.models import create_model
    >>> m = create_model("hydra-tiny-31")
    >>> scenes = [(torch.rand(1, 3, 16, 16), torch.rand(1, 31, 16, 16) + 0.1)]
    >>> sorted(evaluate_model(m, scenes))
    ['mrae', 'psnr', 'rmse', 'sam']
    """
    from specrecon.metrics import evaluate

    if not scenes:
        return {}
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    totals: dict[str, float] = {}
    with torch.no_grad():
        for rgb, cube in scenes:
            rgb, cube = rgb.to(device), cube.to(device)
            if target == "teacher":
                pred = _teacher_of(model)(cube)
            else:
                pred = model(rgb)
            pred = pred.float()
            if clip is not None:
                pred = pred.clamp(*clip)
            zkw: dict[str, Any] = ({"zero_gt": "ignore"} if mrae_eps is None
                                   else {"zero_gt": "epsilon", "eps": mrae_eps})
            res = evaluate(pred, cube, crop=crop, **zkw)
            if target == "student":
                lat = (model.forward_latent(rgb).float() - model.encode(cube).float()).abs().mean()
                res["latent_mae"] = float(lat)
            for k, v in res.items():
                totals[k] = totals.get(k, 0.0) + float(v)
    model.train(was)
    return {k: v / len(scenes) for k, v in totals.items()}


def _validator(model: nn.Module, val: Any, config: TrainConfig, target: str) -> Any:
    if val is None or len(val) == 0:
        return None
    scenes = validation_tensors(val, config.data.sensor, config.val_max_scenes)
    return lambda: evaluate_model(model, scenes, target=target, mrae_eps=config.val_mrae_eps)


def _cube_of(batch: Any) -> torch.Tensor:
    if isinstance(batch, torch.Tensor):
        return batch  # spectra (N, bands) or cubes (N, bands, h, w)
    return batch[1]


# --------------------------------------------------------------------------- stage specs

def _teacher_spec(model: nn.Module, data: Any, val: Any, config: TrainConfig) -> StageSpec:
    teacher = _teacher_of(model)
    cfg = config.teacher
    lossf = loss_function(cfg.loss, cfg.huber_delta, cfg.mrae_eps)
    t_ids = {id(p) for p in teacher.parameters()}

    def loss(batch: Any) -> torch.Tensor:
        cube = _cube_of(batch)
        return lossf(teacher(cube).float(), cube.float())

    return StageSpec(name="teacher", params=list(teacher.parameters()),
                     frozen=[p for p in model.parameters() if id(p) not in t_ids],
                     train_modules=[teacher], eval_modules=[], loss=loss,
                     validate=_validator(model, val, config, "teacher"),
                     source=stage_source(data, "teacher", config))


def _student_spec(model: nn.Module, data: Any, val: Any, config: TrainConfig) -> StageSpec:
    _require_hydra(model, "stage 2 (student)")
    cfg = config.student
    lossf = loss_function(cfg.loss, cfg.huber_delta, cfg.mrae_eps)
    teacher = model.teacher

    def loss(batch: Any) -> torch.Tensor:
        rgb, cube = batch
        if cfg.target == "spectrum":   # through the frozen decoder, in the metric's space
            return lossf(teacher.decode(model.forward_latent(rgb)).float(), cube.float())
        with torch.no_grad(), torch.autocast(cube.device.type, enabled=False):
            target = teacher.encode(cube.float())
        return lossf(model.forward_latent(rgb).float(), target)

    return StageSpec(name="student", params=list(model.student.parameters()),
                     frozen=list(teacher.parameters()), train_modules=[model.student],
                     eval_modules=[teacher], loss=loss,
                     validate=_validator(model, val, config, "student"),
                     source=stage_source(data, "student", config))


def _end_to_end_spec(name: str, model: nn.Module, data: Any, val: Any,
                     config: TrainConfig) -> StageSpec:
    _require_hydra(model, f"stage {name!r}")
    cfg = config.stage(name)
    lossf = loss_function(cfg.loss, cfg.huber_delta, cfg.mrae_eps)
    dec = decoder_parameters(model.teacher)
    dec_ids = {id(p) for p in dec}
    enc = [p for p in model.teacher.parameters() if id(p) not in dec_ids]

    def loss(batch: Any) -> torch.Tensor:
        rgb, cube = batch
        return lossf(model(rgb).float(), cube.float())

    return StageSpec(name=name, params=list(model.student.parameters()) + dec, frozen=enc,
                     train_modules=[model.student, model.teacher], eval_modules=[], loss=loss,
                     validate=_validator(model, val, config, "model"),
                     source=stage_source(data, name, config))


def _baseline_spec(model: nn.Module, data: Any, val: Any, config: TrainConfig) -> StageSpec:
    cfg = config.baseline
    lossf = loss_function(cfg.loss, cfg.huber_delta, cfg.mrae_eps)
    aux = getattr(model, "auxiliary_loss", None)  # a model's own extra term (CCNet eq. 16)

    def loss(batch: Any) -> torch.Tensor:
        rgb, cube = batch
        pred = model(rgb).float()
        value = lossf(pred, cube.float())
        return value + aux(pred, cube.float()) if aux is not None else value

    return StageSpec(name="baseline", params=list(model.parameters()), frozen=[],
                     train_modules=[model], eval_modules=[], loss=loss,
                     validate=_validator(model, val, config, "model"),
                     source=stage_source(data, "baseline", config))


def _spec(name: str, model: nn.Module, data: Any, val: Any, config: TrainConfig) -> StageSpec:
    if name == "teacher":
        return _teacher_spec(model, data, val, config)
    if name == "student":
        return _student_spec(model, data, val, config)
    if name in ("refine", "direct"):
        return _end_to_end_spec(name, model, data, val, config)
    return _baseline_spec(model, data, val, config)


def _run(model: nn.Module, stages: Sequence[str], data: Any, val: Any, config: TrainConfig | None,
         out_dir: str | Path | None, resume: bool | str | Path,
         callback: Callback | None) -> TrainResult:
    config = (config or TrainConfig()).validate()
    run = Run(model, config, out_dir=out_dir, resume=resume, callback=callback)
    for name in stages:
        if name in run.completed:
            continue
        run.run_stage(_spec(name, model, data, val, config))
    return run.result()


# --------------------------------------------------------------------------- public API

def train_teacher(teacher_or_hydra: nn.Module, data: Any, config: TrainConfig | None = None, *,
                  val: Any = None, out_dir: str | Path | None = None,
                  resume: bool | str | Path = False,
                  callback: Callback | None = None) -> TrainResult:
    """Stage 1: train the teacher autoencoder on spectra (Huber loss by default).

    Parameters
    ----------
    teacher_or_hydra : torch.nn.Module
        A :class:`~specrecon.models.Hydra` (its ``.teacher`` is trained, the student is
        untouched) or a bare :class:`~specrecon.models.HydraTeacher`.
    data : sequence of (rgb, cube) pairs / Scenes, Dataset or DataLoader
        Training data; from pairs, each step draws ``batch_size`` items of
        ``patch_size**2`` random pixel spectra.
    config : TrainConfig, optional
        Uses ``config.teacher`` and the run settings.
    val : sequence of pairs, optional
        Validation scenes (metrics of the auto-encoding).
    out_dir, resume, callback
        See :class:`~specrecon.training.loop.Run`.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from specrecon.models import create_model
    >>> import numpy as np
    >>> cube = np.random.default_rng(0).random((31, 16, 16), dtype="float32")
    >>> cfg = TrainConfig.from_dict({"teacher": {"steps": 3, "patch_size": 8}, "progress": False})
    >>> train_teacher(create_model("hydra-tiny-31"), [(None, cube)], cfg).steps
    {'teacher': 3}
    """
    return _run(teacher_or_hydra, ("teacher",), data, val, config, out_dir, resume, callback)


def train_student(hydra: nn.Module, data: Any, config: TrainConfig | None = None, *,
                  val: Any = None, out_dir: str | Path | None = None,
                  resume: bool | str | Path = False,
                  callback: Callback | None = None) -> TrainResult:
    """Stage 2: train the student to the frozen teacher's latent (MAE by default).

    Targets are ``hydra.teacher.encode(cube)`` computed without gradients, in
    fp32, with the teacher in eval mode and its parameters frozen: the whole
    teacher is left bit-identical.

    Parameters
    ----------
    hydra : Hydra
        A HYDRA model whose teacher is trained (stage 1).
    data, config, val, out_dir, resume, callback
        As in :func:`train_teacher` (``config.student`` is used; items are aligned
        ``(rgb, cube)`` patches).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from specrecon.models import create_model
    >>> import numpy as np
    >>> cube = np.random.default_rng(0).random((31, 16, 16), dtype="float32")
    >>> cfg = TrainConfig.from_dict({"student": {"steps": 2, "patch_size": 16}, "progress": False})
    >>> train_student(create_model("hydra-tiny-31"), [(cube[:3], cube)], cfg).steps
    {'student': 2}
    """
    return _run(hydra, ("student",), data, val, config, out_dir, resume, callback)


def refine(hydra: nn.Module, data: Any, config: TrainConfig | None = None, *,
           val: Any = None, out_dir: str | Path | None = None,
           resume: bool | str | Path = False, callback: Callback | None = None) -> TrainResult:
    """Stage 3: train student + teacher decoder end to end against the cube (MSE by default).

    The teacher encoder is frozen and never run, so it stays bit-identical;
    the decoder parameters are found with :func:`decoder_parameters`.

    Parameters
    ----------
    hydra : Hydra
        A HYDRA model (after stages 1-2, or stage 1 only for the "stage 1+3" ablation).
    data, config, val, out_dir, resume, callback
        As in :func:`train_student` (``config.refine`` is used).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from specrecon.models import create_model
    >>> import numpy as np
    >>> cube = np.random.default_rng(0).random((31, 16, 16), dtype="float32")
    >>> cfg = TrainConfig.from_dict({"refine": {"steps": 2, "patch_size": 16}, "progress": False})
    >>> refine(create_model("hydra-tiny-31"), [(cube[:3], cube)], cfg).steps
    {'refine': 2}
    """
    return _run(hydra, ("refine",), data, val, config, out_dir, resume, callback)


def train_direct(hydra: nn.Module, data: Any, config: TrainConfig | None = None, *,
                 val: Any = None, out_dir: str | Path | None = None,
                 resume: bool | str | Path = False,
                 callback: Callback | None = None) -> TrainResult:
    """The "student only" ablation: student + decoder regressed end to end from scratch.

    Same parameters and loss as :func:`refine` but without stages 1-2 (pass an
    untrained model); uses ``config.direct``.

    Examples
    --------
    >>> from specrecon.models import create_model
    >>> import numpy as np
    >>> cube = np.random.default_rng(0).random((31, 16, 16), dtype="float32")
    >>> cfg = TrainConfig.from_dict({"direct": {"steps": 2, "patch_size": 16}, "progress": False})
    >>> train_direct(create_model("hydra-tiny-31"), [(cube[:3], cube)], cfg).steps
    {'direct': 2}
    """
    return _run(hydra, ("direct",), data, val, config, out_dir, resume, callback)


def train_hydra(model: nn.Module, train: Any, val: Any = None, config: TrainConfig | None = None,
                *, out_dir: str | Path | None = None, resume: bool | str | Path = False,
                callback: Callback | None = None) -> TrainResult:
    """Run ``config.stages`` on a HYDRA model (default: the paper's three stages).

    Parameters
    ----------
    model : Hydra
        A HYDRA model (normally untrained, from :func:`~specrecon.models.create_model`).
    train : sequence of pairs / Scenes, Dataset or DataLoader
        Training data.
    val : sequence of pairs / Scenes, optional
        Held-out validation scenes.
    config : TrainConfig, optional
        ``stages``: ``("teacher", "student", "refine")`` (three-stage),
        ``("teacher", "refine")`` (stage 1+3 ablation) or ``("direct",)`` (student only).
    out_dir : str or Path, optional
        Output folder for checkpoints, ``metrics.jsonl``, ``loss_curve.png``.
    resume : bool, str or Path
        Continue from ``out_dir/checkpoint.pt`` (``True``) or a given checkpoint:
        finished stages are skipped, an unfinished one continues at its step.
    callback : callable, optional
        Receives every log record.

    Returns
    -------
    TrainResult

    Raises
    ------
    ConfigError
        If ``config.stages`` contains ``"baseline"`` (use :func:`train_baseline`).
    ModelMismatchError
        If ``model`` is not a HYDRA model.

    Examples
    --------
    >>> from specrecon.models import create_model
    >>> cfg = TrainConfig(model="hydra-tiny-31", stages=("teacher", "refine"))
    >>> train_hydra(create_model("hydra-tiny-31"), scenes, val_scenes, cfg)  # doctest: +SKIP
    """
    config = (config or TrainConfig()).validate()
    if "baseline" in config.stages:
        raise ConfigError(format_message("HYDRA stages (teacher, student, refine, direct)",
                                         "'baseline'", "use train_baseline for the MST++ baseline"))
    _require_hydra(model, "train_hydra")
    return _run(model, config.stages, train, val, config, out_dir, resume, callback)


def train_baseline(model: nn.Module, train: Any, val: Any = None,
                   config: TrainConfig | None = None, *, out_dir: str | Path | None = None,
                   resume: bool | str | Path = False,
                   callback: Callback | None = None) -> TrainResult:
    """Train a baseline (MST++, CCNet) end to end with the MST++ recipe defaults.

    ``config.baseline`` defaults follow MST++: MRAE loss, Adam (lr 4e-4, betas
    0.9/0.999) with a cosine schedule to 1e-6, rot90/flip augmentation. A model with an
    ``auxiliary_loss(pred, cube)`` method (CCNet's spectral-difference term) has it
    added to the configured loss.

    Parameters
    ----------
    model : torch.nn.Module
        Any RGB -> cube model, e.g. ``create_model("mst-plus-plus-small-31")``.
    train, val, config, out_dir, resume, callback
        As in :func:`train_hydra`.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from specrecon.models import create_model
    >>> import numpy as np
    >>> cube = np.random.default_rng(0).random((31, 16, 16), dtype="float32") + 0.1
    >>> cfg = TrainConfig.from_dict({"stages": ["baseline"], "progress": False,
    ...                              "baseline": {"steps": 2, "patch_size": 16}})
    >>> train_baseline(create_model("mst-plus-plus-tiny-31"), [(cube[:3], cube)], None, cfg).steps
    {'baseline': 2}
    """
    return _run(model, ("baseline",), train, val, config, out_dir, resume, callback)

