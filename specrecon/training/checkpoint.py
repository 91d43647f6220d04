"""Resumable checkpoints: model, optimizer, schedule position, RNG states, history.

A checkpoint is a plain dict written with :func:`torch.save` and read back with
``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts only,
so loading one never unpickles arbitrary objects. Writes go to a temporary file
that is renamed into place, so an interruption during a write leaves the previous
checkpoint intact.

Layout of the dict::

    format      "specrecon-train-checkpoint/1"
    model       model.state_dict()
    completed   stages finished so far, in order
    partial     None, or {"stage", "step", "optimizer", "rng"} of an unfinished stage
    history     list of log records (JSON-able dicts)
    best        {stage: best validation metrics}
    elapsed     {stage: training seconds}
    config      TrainConfig.to_dict() of the run that wrote it

Examples
--------
>>> import torch, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ck.pt"
>>> _ = save_checkpoint(path, {"format": FORMAT, "model": {"w": torch.ones(2)}})
>>> load_checkpoint(path)["model"]["w"].tolist()
[1.0, 1.0]
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from specrecon.errors import ConfigError, format_message

__all__ = ["FORMAT", "save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state",
           "seed_everything"]

FORMAT = "specrecon-train-checkpoint/1"


def seed_everything(seed: int) -> None:
    """Seed Python ``random``, numpy's global generator and torch (CPU and CUDA).

    Examples
    --------
    >>> seed_everything(3); a = torch.rand(1)
    >>> seed_everything(3); bool((a == torch.rand(1)).all())
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every global RNG state as ``weights_only``-loadable values."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype("int64")),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]),
                  "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states captured by :func:`rng_state`."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype("uint32"), n["pos"],
                         n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Atomically write ``payload`` to ``path`` (temporary file + rename).

    Parameters
    ----------
    path : str or Path
        Destination (``.pt``).
    payload : dict
        See the module docstring.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only``, on CPU).

    Raises
    ------
    ConfigError
        If the file does not exist or is not a specrecon training checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(format_message("an existing training checkpoint", str(path),
                                         "run without --resume, or point --out at the run folder"))
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConfigError(format_message(f"a checkpoint in format {FORMAT}", str(path),
                                         "resume from a checkpoint written by specrecon train"))
    return payload
