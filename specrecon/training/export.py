"""Turn a finished run into shipped weights: safetensors + a complete model card.

:func:`make_card` collects what a user of the weights needs to know (architecture,
input sensor, output wavelengths, tiling near the training patch size, the data,
steps, wall time and hardware of the training, validation metrics, licence, the
command that produced it); :func:`export_model` writes both files with
:func:`specrecon.models.save_model`. :func:`run_config` is the one-call path used by
``specrecon train``: config -> data -> model -> stages -> weights.

Examples
--------
>>> from specrecon.training import TrainConfig
>>> res = run_config(TrainConfig.from_file("configs/hydra-natural-31.yaml"),
...                  out_dir="runs/hydra-natural-31")   # doctest: +SKIP
>>> res.paths["weights"].name                           # doctest: +SKIP
'hydra-natural-31.safetensors'
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from specrecon.errors import ConfigError, ModelCardError, format_message
from specrecon.training.config import HYDRA_STAGES, MCGA_STAGES, TrainConfig
from specrecon.training.data import load_data, split_pair
from specrecon.training.loop import TrainResult

__all__ = ["make_card", "export_model", "exposure_calibration", "run_config", "hardware_description",
           "DEFAULT_SENSORS"]

#: RGB sensor of the synthetic data kinds (what their scenes are rendered with by default)
DEFAULT_SENSORS: dict[str, str] = {"synthetic-natural": "nikon_d5100",
                                   "synthetic-satellite": "sentinel2_msi_rgb"}


def hardware_description(device: torch.device | str | None = None) -> dict[str, Any]:
    """The machine a run used: device, CPU, thread count, library versions.

    Examples
    --------
    >>> sorted(hardware_description("cpu"))[:3]
    ['cpu', 'cpu_count', 'device']
    """
    dev = torch.device(device) if device is not None else torch.device("cpu")
    out: dict[str, Any] = {
        "device": str(dev),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if dev.type == "cuda" and torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(dev)
    return out


def _wavelengths_of(data: Any) -> tuple[list[float] | None, list[float] | None, str | None]:
    """Band centres, widths and RGB sensor name of the first scene of ``data``, if known."""
    try:
        rgb, cube = split_pair(data[0])
    except Exception:  # noqa: BLE001 - datasets without scenes (DataLoader, tensors)
        return None, None, None
    wl = fw = None
    coords = getattr(cube, "coords", None)
    if coords is not None and "wavelength" in coords:
        wl = [float(v) for v in np.asarray(coords["wavelength"].values)]
        if "fwhm" in coords:
            fw = [float(v) for v in np.asarray(coords["fwhm"].values)]
    sensor = getattr(rgb, "attrs", {}).get("sensor") if rgb is not None else None
    return wl, fw, sensor


def make_card(model: nn.Module, config: TrainConfig, result: TrainResult | None = None, *,
              name: str | None = None, data: Any = None,
              wavelengths: Sequence[float] | None = None, fwhm: Sequence[float] | None = None,
              input_sensor: str | None = None, command: str | None = None,
              extra_training: dict[str, Any] | None = None,
              extra_metrics: dict[str, Any] | None = None) -> Any:
    """Build the :class:`~specrecon.models.ModelCard` of a trained model.

    Parameters
    ----------
    model : torch.nn.Module
        The trained model.
    config : TrainConfig
        Its recipe (copied into ``training["recipe"]``).
    result : TrainResult, optional
        Steps, wall time and validation metrics of the run.
    name : str, optional
        Card name (default ``config.name``).
    data : sequence of scenes, optional
        Training data: band centres / widths and the RGB sensor are read from its
        first scene when not given.
    wavelengths, fwhm : sequence of float, optional
        Output band centres / widths in nm.
    input_sensor : str, optional
        RGB sensor (default: from the data, ``config.data.sensor``, or the synthetic default).
    command : str, optional
        The command line that produced the run (default: ``sys.argv``).
    extra_training, extra_metrics : dict, optional
        Merged into ``training`` / ``metrics`` (e.g. the baseline's metrics).

    Returns
    -------
    ModelCard

    Raises
    ------
    ModelCardError
        If the output wavelengths cannot be determined.
    """
    from specrecon.models import ModelCard

    wl_d, fw_d, sensor_d = _wavelengths_of(data) if data is not None else (None, None, None)
    wl = list(wavelengths) if wavelengths is not None else wl_d
    fw = list(fwhm) if fwhm is not None else (fw_d if wavelengths is None else None)
    if wl is None:
        raise ModelCardError(format_message(
            f"{model.bands} output wavelengths", "none (data without a wavelength coordinate)",
            "pass wavelengths= (nm) to make_card / export_model"))
    sensor = (input_sensor or sensor_d or config.data.sensor
              or DEFAULT_SENSORS.get(config.data.kind, "unknown"))
    stages = list(result.steps) if result is not None else list(config.stages)
    last = stages[-1] if stages else config.stages[-1]
    tile, overlap = config.card_tiling(last)
    c = config
    training: dict[str, Any] = {
        "recipe": c.to_dict(),
        "stages": stages,
        "data": {"kind": c.data.kind, "root": c.data.root, "n_train": c.data.n_train,
                 "n_val": c.data.n_val, "size": c.data.size, "seed": c.data.seed,
                 "split": c.data.split, "val_split": c.data.val_split,
                 "synthetic": c.data.kind.startswith("synthetic-"),
                 "patches_per_item": c.data.patches_per_item, "augment": c.data.augment,
                 "brightness_range": c.data.brightness_range,
                 "simulate_per_patch": c.data.simulate},
        "command": command if command is not None else " ".join(sys.argv),
    }
    metrics: dict[str, Any] = {}
    if result is not None:
        per_stage = {s: {"steps": n, "batch_size": c.stage(s).batch_size,
                         "patch_size": c.stage(s).patch_size, "loss": c.stage(s).loss,
                         "lr": c.stage(s).lr} for s, n in result.steps.items()}
        training.update({
            "steps": per_stage,
            "samples": int(sum(v["steps"] * v["batch_size"] for v in per_stage.values())),
            "wall_time_s": {**result.wall_time_s,
                            "total": round(sum(result.wall_time_s.values()), 1)},
            "hardware": hardware_description(next(model.parameters()).device),
        })
        if result.metrics:
            n_val = c.data.n_val
            metrics = {"validation": dict(result.metrics),
                       "validation_protocol": (
                           f"mean over {n_val} held-out '{c.data.val_split}' scenes of "
                           f"{c.data.kind} ({c.data.size}x{c.data.size} px), whole-image "
                           "inference, no crop, " + (
                               "MRAE without zero-reflectance entries" if c.val_mrae_eps is None
                               else f"MRAE denominators |truth| + {c.val_mrae_eps:g}")),
                       "best_per_stage": {k: dict(v) for k, v in result.best.items()}}
    training.update(extra_training or {})
    metrics.update(extra_metrics or {})
    return ModelCard.from_model(model, wavelengths=wl, fwhm=fw, name=name or c.name,
                                input_sensor=sensor, tile_size=tile,
                                tile_overlap=overlap, training=training,
                                metrics=metrics, license=c.license)

def exposure_calibration(model: nn.Module, scenes: Sequence[Any], card: Any) -> dict[str, Any]:
    """Card metric with a camera model's calibrated exposure, or ``{}`` where none applies.

    For a model whose input is auto-exposed camera RGB (the card's rendering fits an
    exposure scale) the least-squares exposure between each validation scene's RGB and
    the rendering of the model's raw whole-image output
    (:func:`specrecon.physical.fit_exposure`). With it in the card, ``reconstruct``
    applies the physical-consistency correction pixel by pixel, by default
    (:func:`specrecon.physical.resolve_physical`).

    Parameters
    ----------
    model : torch.nn.Module
        The trained model.
    scenes : sequence
        Validation scenes or ``(rgb, cube)`` pairs with their RGB.
    card : ModelCard
        The model's card (sensor, training data).

    Returns
    -------
    dict
        ``{"physical_exposure": k}`` or ``{}`` (satellite cards, unknown sensors, no
        scene RGB).
    """
    from specrecon.errors import ModelMismatchError
    from specrecon.physical import EXPOSURE_METRIC, fit_exposure, input_rendering

    try:
        rendering = input_rendering(card)
    except ModelMismatchError:
        return {}
    if rendering.fit != "scale" or len(scenes) == 0:
        return {}
    rgbs, preds = [], []
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for item in scenes:
                rgb, _ = split_pair(item)
                if rgb is None:              # RGB simulated per patch: no scene RGB to fit
                    return {}
                x = torch.from_numpy(np.asarray(rgb, dtype="float32"))[None].to(device)
                preds.append(model(x)[0].float().cpu().numpy())
                rgbs.append(np.asarray(rgb, dtype="float64"))
    finally:
        model.train(was_training)
    return {EXPOSURE_METRIC: round(fit_exposure(rgbs, preds, rendering.matrix), 6)}


def export_model(model: nn.Module, path: str | Path, config: TrainConfig,
                 result: TrainResult | None = None, **card_kw: Any) -> Any:
    """Write ``path`` (.safetensors) and its card (.json) for a trained model.

    Parameters
    ----------
    model : torch.nn.Module
        The trained model (moved to CPU for writing; left where it was).
    path : str or Path
        Destination ending in ``.safetensors``.
    config, result, **card_kw
        See :func:`make_card`.

    Returns
    -------
    ModelCard
        The written card (with ``sha256``).
    """
    from specrecon.models import save_model

    card = make_card(model, config, result, **card_kw)
    device = next(model.parameters()).device
    model.to("cpu")
    try:
        return save_model(model, Path(path), card)
    finally:
        model.to(device)


def run_config(config: TrainConfig, *, out_dir: str | Path, stages: Sequence[str] | None = None,
               resume: bool = False, weights: str | Path | None = None,
               command: str | None = None, callback: Any = None) -> TrainResult:
    """Train what a config describes and export the weights: the ``specrecon train`` path.

    Parameters
    ----------
    config : TrainConfig
        The recipe (model, data, stages).
    out_dir : str or Path
        Run folder: checkpoints, ``metrics.jsonl``, ``loss_curve.png``, ``config.yaml``
        and ``<config.name>.safetensors`` + ``.json``.
    stages : sequence of str, optional
        Run only these stages (default ``config.stages``). A later HYDRA stage run on
        its own starts from the ``stage-<previous>.pt`` checkpoint in ``out_dir``.
    resume : bool
        Continue from ``out_dir/checkpoint.pt``.
    weights : str or Path, optional
        Where to write the weights (default ``out_dir/<name>.safetensors``).
    command : str, optional
        Recorded in the model card.
    callback : callable, optional
        Receives every log record.

    Returns
    -------
    TrainResult
        ``paths`` includes ``weights`` and ``card``.

    Raises
    ------
    ConfigError
        If a stage needs an earlier stage that has not been run in ``out_dir``.
    """
    from specrecon.models import create_model
    from specrecon.training.checkpoint import seed_everything
    from specrecon.training.stages import train_baseline, train_hydra

    out_dir = Path(out_dir)
    stages = tuple(stages) if stages is not None else tuple(config.stages)
    run_cfg = TrainConfig.from_dict({**config.to_dict(), "stages": list(stages)})
    init: bool | Path = bool(resume)
    if not resume and stages and stages[0] in ("student", "refine", "mapping"):
        seq = MCGA_STAGES if stages[0] in MCGA_STAGES else HYDRA_STAGES
        earlier = [s for s in seq[:seq.index(stages[0])]]
        found = [out_dir / f"stage-{s}.pt" for s in reversed(earlier)
                 if (out_dir / f"stage-{s}.pt").exists()]
        if not found:
            raise ConfigError(format_message(
                f"a finished {seq[0]} stage in {out_dir} before running {stages[0]!r}",
                f"no stage-{seq[0]}.pt", f"run --stage {seq[0]} with --out {out_dir} first"))
        init = found[0]
    seed_everything(config.seed)
    model = create_model(config.model, **config.model_overrides)
    t0 = time.perf_counter()
    train, val = load_data(config.data)
    data_s = time.perf_counter() - t0
    if any(s in MCGA_STAGES for s in stages):
        from specrecon.training.mcga import train_mcga

        result = train_mcga(model, train, val, run_cfg, out_dir=out_dir, resume=init,
                            callback=callback)
    elif "baseline" in stages:
        result = train_baseline(model, train, val, run_cfg, out_dir=out_dir, resume=init,
                                callback=callback)
    else:
        result = train_hydra(model, train, val, run_cfg, out_dir=out_dir, resume=init,
                             callback=callback)
    path = Path(weights) if weights is not None else out_dir / f"{config.name}.safetensors"
    draft = make_card(result.model, config, result, data=train, command=command)
    card = export_model(result.model, path, config, result, data=train, command=command,
                        extra_training={"data_generation_s": round(data_s, 1)},
                        extra_metrics=exposure_calibration(result.model, val, draft))
    result.paths.update({"weights": path, "card": path.with_suffix(".json")})
    result.card = card  # type: ignore[attr-defined]
    return result
