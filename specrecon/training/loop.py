"""The optimisation loop shared by every stage, with logging, checkpoints and resume.

A stage is described by a :class:`StageSpec` (which parameters train, which
modules are frozen, the loss of a batch, the validation of the model); a
:class:`Run` owns what outlives a stage: the output folder, the JSON-lines log, the
checkpoint, the history and the best validation metrics.

Determinism and resuming
------------------------
At the start of a stage every RNG is seeded from ``(config.seed, stage)``; batches
are a pure function of the step (:mod:`specrecon.training.data`); the learning
rate is a pure function of the step (:func:`lr_at`). A checkpoint stores the
model, the optimizer, the step, all RNG states and the history, so continuing
from it replays exactly the steps an uninterrupted run would have taken (on the
same hardware and software).

Examples
--------
>>> lr_at(0, StageConfig(steps=10, lr=1.0, min_lr=0.0))
1.0
>>> round(lr_at(5, StageConfig(steps=10, lr=1.0, min_lr=0.0)), 3)
0.5
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from specrecon.device import autocast
from specrecon.errors import ConfigError, format_message
from specrecon.training.averaging import WeightAverage
from specrecon.training.checkpoint import (
    FORMAT,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from specrecon.training.config import STAGE_NAMES, StageConfig, TrainConfig
from specrecon.training.data import BatchSource

__all__ = ["StageSpec", "Run", "TrainResult", "lr_at", "resolve_device", "use_bf16",
           "loss_function", "write_loss_plot"]

Callback = Callable[[dict[str, Any]], None]


# --------------------------------------------------------------------------- small pieces

def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; explicit names are checked.

    A thin wrapper of :func:`specrecon.device.resolve_device` (the one device
    resolver of the package) returning a :class:`torch.device`.

    Raises
    ------
    DeviceError
        If the device is not available.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    from specrecon.device import resolve_device as _resolve

    return torch.device(_resolve(name))


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to train under bfloat16 autocast.

    ``"auto"``: on CUDA only; ``"bf16"`` (alias ``"bfloat16"``): on any device --
    on CPU through ``torch.autocast("cpu", dtype=torch.bfloat16)``; ``"fp32"``: never.
    ``"fp16"`` is refused (it would need loss scaling).

    Raises
    ------
    ConfigError
        For fp16 or an unknown name.

    Examples
    --------
    >>> use_bf16("bf16", torch.device("cpu")), use_bf16("auto", torch.device("cpu"))
    (True, False)
    """
    from specrecon.device import check_precision

    if precision == "auto":
        return device.type == "cuda"
    return check_precision(precision, device, training=True) == "bf16"


def lr_at(step: int, cfg: StageConfig) -> float:
    """Learning rate of ``step``: linear warm-up from ``lr/100``, then cosine or constant."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (0.01 + 0.99 * step / cfg.warmup_steps)
    if cfg.scheduler == "constant":
        return cfg.lr
    span = max(1, cfg.steps - cfg.warmup_steps)
    t = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * t))


def loss_function(name: str, huber_delta: float = 0.1,
                  eps: float = 1e-3) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss ``f(pred, target)`` named in a :class:`StageConfig`.

    ``"mrae"`` is :func:`specrecon.metrics.mrae` with ``zero_gt="epsilon"``:
    ``mean(|pred - target| / (|target| + eps))``; the ``eps`` guards zero
    reflectance, which the NTIRE definition leaves undefined.

    Examples
    --------
    >>> f = loss_function("mae")
    >>> float(f(torch.zeros(2), torch.ones(2)))
    1.0
    """
    if name == "huber":
        return lambda p, t: nn.functional.huber_loss(p, t, delta=huber_delta)
    if name == "mae":
        return nn.functional.l1_loss
    if name == "mse":
        return nn.functional.mse_loss
    if name == "mrae":
        from specrecon.metrics import mrae

        def mrae_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            loss: torch.Tensor = mrae(pred, target, zero_gt="epsilon", eps=eps, band_axis=0)
            return loss

        return mrae_loss
    raise ConfigError(format_message("a loss among huber, mae, mse, mrae", repr(name),
                                     "fix the stage's loss"))


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    return tuple(_to_device(b, device) for b in batch)


def write_loss_plot(history: Sequence[dict[str, Any]], path: str | Path) -> Path | None:
    """Plot training loss (and validation MRAE) per stage to a PNG.

    matplotlib is imported here, lazily, and only its object API is used (no
    pyplot, no global backend change).

    Returns
    -------
    Path or None
        ``path``, or ``None`` when there is nothing to plot.
    """
    train = [r for r in history if r.get("kind") == "train"]
    if not train:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    val = [r for r in history if r.get("kind") == "val" and "mrae" in r.get("metrics", {})]
    fig = Figure(figsize=(9, 3.6 if not val else 6.4))
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(2 if val else 1, 1, squeeze=False)[:, 0]
    stages = list(dict.fromkeys(r["stage"] for r in train))
    for s in stages:
        rs = [r for r in train if r["stage"] == s]
        axes[0].plot([r["global_step"] for r in rs], [r["loss"] for r in rs], marker=".",
                     label=f"{s} loss")
        vs = [r for r in val if r["stage"] == s]
        if vs:
            axes[1].plot([r["global_step"] for r in vs], [r["metrics"]["mrae"] for r in vs],
                         marker="o", label=f"{s} val MRAE")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("training loss")
    axes[0].legend(fontsize=8)
    if val:
        axes[1].set_yscale("log")
        axes[1].set_ylabel("validation MRAE")
        axes[1].legend(fontsize=8)
    axes[-1].set_xlabel("step (all stages)")
    fig.tight_layout()
    path = Path(path)
    canvas.print_png(str(path))
    return path


# --------------------------------------------------------------------------- results

@dataclass
class TrainResult:
    """What a training call returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model (on the training device).
    config : TrainConfig
        The configuration used.
    history : list of dict
        Every log record (``kind`` = ``"train"`` or ``"val"``), as in ``metrics.jsonl``.
    best : dict
        Best validation metrics (lowest MRAE) per stage.
    metrics : dict
        Validation metrics at the end of the last stage (empty without validation data).
    steps : dict
        Optimizer steps per completed stage.
    wall_time_s : dict
        Training seconds per stage (validation included).
    paths : dict
        ``out_dir``, ``checkpoint``, ``log``, ``plot``, ``config`` (when an output
        folder was given) and ``weights`` / ``card`` once exported.
    """

    model: nn.Module
    config: TrainConfig
    history: list[dict[str, Any]]
    best: dict[str, dict[str, float]]
    metrics: dict[str, float]
    steps: dict[str, int]
    wall_time_s: dict[str, float]
    paths: dict[str, Path] = field(default_factory=dict)


@dataclass
class StageSpec:
    """One stage, as the loop needs it.

    Attributes
    ----------
    name : str
        Stage name (``teacher``, ``student``, ``refine``, ``direct``, ``baseline``).
    params : list of Parameter
        Parameters the optimizer updates.
    frozen : list of Parameter
        Parameters held fixed (``requires_grad`` off during the stage).
    train_modules, eval_modules : list of Module
        Put in ``train()`` / ``eval()`` mode while training (a frozen teacher runs in
        eval mode so that no buffer or dropout state changes).
    loss : callable
        ``loss(batch) -> scalar tensor`` (under autocast when bf16 is on).
    validate : callable or None
        ``validate() -> dict`` of metrics (run under ``no_grad`` in eval mode).
    source : BatchSource
        The stage's batches.
    """

    name: str
    params: list[nn.Parameter]
    frozen: list[nn.Parameter]
    train_modules: list[nn.Module]
    eval_modules: list[nn.Module]
    loss: Callable[[Any], torch.Tensor]
    validate: Callable[[], dict[str, float]] | None
    source: BatchSource


# --------------------------------------------------------------------------- run

class Run:
    """State of one training run across stages: output files, checkpoint, history.

    Parameters
    ----------
    model : torch.nn.Module
        The model being trained (its ``state_dict`` is checkpointed).
    config : TrainConfig
        The configuration.
    out_dir : str, Path or None
        Output folder (checkpoint, ``metrics.jsonl``, ``loss_curve.png``,
        ``config.yaml``); ``None`` keeps everything in memory.
    resume : bool, str or Path
        ``True``: continue from ``out_dir/checkpoint.pt``; a path: continue from
        that checkpoint (e.g. ``out_dir/stage-teacher.pt``); ``False``: start anew.
    callback : callable, optional
        Called with every log record as it is produced (after the checkpoint of
        that step is written); raising from it stops the run there.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, out_dir: str | Path | None = None,
                 resume: bool | str | Path = False, callback: Callback | None = None) -> None:
        self.model = model
        self.config = config
        self.device = resolve_device(config.device)
        self.bf16 = use_bf16(config.precision, self.device)
        self.precision = "bf16" if self.bf16 else "fp32"
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.callback = callback
        self.completed: list[str] = []
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, dict[str, float]] = {}
        self.last_metrics: dict[str, float] = {}
        self.elapsed: dict[str, float] = {}
        self.steps: dict[str, int] = {}
        self.partial: dict[str, Any] | None = None
        self.model.to(self.device)
        if resume:
            path = (self.out_dir / "checkpoint.pt" if resume is True and self.out_dir is not None
                    else Path(resume) if not isinstance(resume, bool) else None)
            if path is None:
                raise ConfigError(format_message("an output folder to resume from", "out_dir=None",
                                                 "pass out_dir= (CLI: --out) with resume=True"))
            self._restore(load_checkpoint(path), path)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            config.to_file(self.out_dir / "config.yaml")
            with open(self.log_path, "w") as fh:  # rewrite: the history is the source of truth
                for rec in self.history:
                    fh.write(json.dumps(rec) + "\n")

    # ------------------------------------------------------------------ paths
    @property
    def log_path(self) -> Path:
        assert self.out_dir is not None
        return self.out_dir / "metrics.jsonl"

    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.out_dir is None else self.out_dir / "checkpoint.pt"

    def paths(self) -> dict[str, Path]:
        """The files this run writes."""
        if self.out_dir is None:
            return {}
        out = {"out_dir": self.out_dir, "checkpoint": self.out_dir / "checkpoint.pt",
               "log": self.log_path, "config": self.out_dir / "config.yaml"}
        if (self.out_dir / "loss_curve.png").exists():
            out["plot"] = self.out_dir / "loss_curve.png"
        return out

    # ------------------------------------------------------------------ checkpoint
    def _restore(self, ck: dict[str, Any], path: Path) -> None:
        try:
            self.model.load_state_dict(ck["model"])
        except RuntimeError as err:
            raise ConfigError(format_message(
                "a checkpoint of the same model architecture", f"{path} ({str(err)[:200]})",
                "resume with the config that wrote the checkpoint")) from None
        self.completed = list(ck.get("completed", []))
        self.history = list(ck.get("history", []))
        self.best = dict(ck.get("best", {}))
        self.elapsed = dict(ck.get("elapsed", {}))
        self.steps = dict(ck.get("steps", {}))
        self.last_metrics = dict(ck.get("last_metrics", {}))
        self.partial = ck.get("partial")

    def _payload(self, partial: dict[str, Any] | None) -> dict[str, Any]:
        return {"format": FORMAT, "model": self.model.state_dict(),
                "completed": list(self.completed), "partial": partial,
                "history": list(self.history), "best": dict(self.best),
                "elapsed": dict(self.elapsed), "steps": dict(self.steps),
                "last_metrics": dict(self.last_metrics), "config": self.config.to_dict()}

    def save(self, partial: dict[str, Any] | None = None, stage_done: str | None = None) -> None:
        """Write ``checkpoint.pt`` (and ``stage-<name>.pt`` when a stage finished)."""
        if self.out_dir is None:
            return
        payload = self._payload(partial)
        save_checkpoint(self.out_dir / "checkpoint.pt", payload)
        if stage_done is not None:
            save_checkpoint(self.out_dir / f"stage-{stage_done}.pt", payload)

    # ------------------------------------------------------------------ logging
    def _global_offset(self, stage: str) -> int:
        return sum(self.steps.get(s, 0) for s in self.completed if s != stage)

    def record(self, rec: dict[str, Any]) -> None:
        self.history.append(rec)
        if self.out_dir is not None:
            with open(self.log_path, "a") as fh:
                fh.write(json.dumps(rec) + "\n")

    # ------------------------------------------------------------------ evaluation
    def _validate(self, spec: StageSpec, step: int, offset: int) -> dict[str, float] | None:
        if spec.validate is None:
            return None
        modes = [(m, m.training) for m in (*spec.train_modules, *spec.eval_modules)]
        self.model.eval()
        with torch.no_grad(), autocast(self.device, self.precision):
            metrics = {k: float(v) for k, v in spec.validate().items()}
        for m, was in modes:
            m.train(was)
        rec = {"kind": "val", "stage": spec.name, "step": step, "global_step": offset + step,
               "metrics": metrics}
        self.record(rec)
        best = self.best.get(spec.name)
        if best is None or metrics.get("mrae", math.inf) < best.get("mrae", math.inf):
            self.best[spec.name] = {**metrics, "step": step}
        self.last_metrics = metrics
        return metrics

    # ------------------------------------------------------------------ the loop
    def run_stage(self, spec: StageSpec) -> None:
        """Train one stage to completion (continuing a checkpointed partial stage)."""
        cfg = self.config.stage(spec.name)
        if spec.name in self.completed:
            return
        stage_index = STAGE_NAMES.index(spec.name)
        frozen_flags = [(p, p.requires_grad) for p in spec.frozen]
        for p in spec.frozen:
            p.requires_grad_(False)
        for p in spec.params:
            p.requires_grad_(True)
        opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
        opt = opt_cls(spec.params, lr=cfg.lr, betas=tuple(cfg.betas),  # type: ignore[arg-type]
                      weight_decay=cfg.weight_decay)
        start = 0
        elapsed = 0.0
        carried_loss, n_loss = 0.0, 0
        average = WeightAverage(spec.params, cfg.ema_decay) if cfg.ema_decay else None
        if self.partial is not None and self.partial.get("stage") == spec.name:
            opt.load_state_dict(self.partial["optimizer"])
            if average is not None:
                state = self.partial.get("average")
                if state is None:
                    raise ConfigError(format_message(
                        f"a checkpoint written with {spec.name}.ema_decay set",
                        "a partial stage without averaged weights",
                        f"resume with the config that wrote the checkpoint (no "
                        f"{spec.name}.ema_decay), or start the stage anew"))
                average.load_state_dict(state)
            set_rng_state(self.partial["rng"])
            start = int(self.partial["step"])
            elapsed = float(self.partial.get("elapsed", 0.0))
            carried_loss, n_loss = float(self.partial["loss_sum"]), int(self.partial["loss_n"])
        else:
            seed_everything(self.config.seed * 100 + stage_index)
        self.partial = None
        offset = self._global_offset(spec.name)
        for m in spec.train_modules:
            m.train()
        for m in spec.eval_modules:
            m.eval()
        bar = None
        if self.config.progress and cfg.steps > start:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.steps, initial=start, desc=spec.name, unit="step",
                       dynamic_ncols=True, leave=True)
        c = self.config
        run_loss = torch.full((), carried_loss, device=self.device)
        t0 = time.perf_counter()
        try:
            for step in range(start, cfg.steps):
                lr = lr_at(step, cfg)
                for g in opt.param_groups:
                    g["lr"] = lr
                batch = _to_device(spec.source.batch(step), self.device)
                with autocast(self.device, self.precision):
                    loss = spec.loss(batch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(spec.params, cfg.grad_clip)
                opt.step()
                if average is not None:
                    average.update(spec.params)
                run_loss += loss.detach().float()
                n_loss += 1
                done = step + 1
                recs: list[dict[str, Any]] = []
                if (c.log_every and done % c.log_every == 0) or done == cfg.steps:
                    value = float(run_loss) / n_loss
                    run_loss.zero_()
                    n_loss = 0
                    rec = {"kind": "train", "stage": spec.name, "step": done,
                           "global_step": offset + done, "loss": value, "lr": lr,
                           "time_s": round(elapsed + time.perf_counter() - t0, 3)}
                    self.record(rec)
                    recs.append(rec)
                    if bar is not None:
                        bar.set_postfix(loss=f"{value:.4g}", lr=f"{lr:.2e}")
                if bar is not None:
                    bar.update(1)
                if c.eval_every and done % c.eval_every == 0 and done < cfg.steps:
                    v = self._validate(spec, done, offset)
                    if v is not None:
                        recs.append(self.history[-1])
                        if bar is not None:
                            bar.write(f"{spec.name} step {done}: "
                                      + ", ".join(f"val {k}={x:.4g}" for k, x in v.items()))
                if c.checkpoint_every and done % c.checkpoint_every == 0 and done < cfg.steps:
                    self.save(partial={"stage": spec.name, "step": done,
                                       "optimizer": opt.state_dict(), "rng": rng_state(),
                                       "loss_sum": float(run_loss), "loss_n": n_loss,
                                       "elapsed": elapsed + time.perf_counter() - t0,
                                       "average": (None if average is None
                                                   else average.state_dict())})
                if self.callback is not None:
                    for rec in recs or [{"kind": "step", "stage": spec.name, "step": done,
                                         "global_step": offset + done}]:
                        self.callback(rec)
        finally:
            if bar is not None:
                bar.close()
            for p, flag in frozen_flags:
                p.requires_grad_(flag)
        if average is not None:   # the stage hands on its averaged weights
            average.copy_to(spec.params)
        self._validate(spec, cfg.steps, offset)
        self.elapsed[spec.name] = round(elapsed + time.perf_counter() - t0, 3)
        self.steps[spec.name] = cfg.steps
        self.completed.append(spec.name)
        self.save(stage_done=spec.name)
        if self.out_dir is not None:
            write_loss_plot(self.history, self.out_dir / "loss_curve.png")

    def result(self) -> TrainResult:
        """The :class:`TrainResult` of what has run so far."""
        return TrainResult(model=self.model, config=self.config, history=list(self.history),
                           best=dict(self.best), metrics=dict(self.last_metrics),
                           steps=dict(self.steps), wall_time_s=dict(self.elapsed),
                           paths=self.paths())
