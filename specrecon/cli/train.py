"""``specrecon train``: run a training recipe (HYDRA stages or the MST++ baseline).

Examples
--------
.. code-block:: console

    $ specrecon train --config configs/hydra-natural-31.yaml --out runs/natural
    $ specrecon train --config configs/hydra-natural-31.yaml --stage teacher --out runs/n
    $ specrecon train --config configs/hydra-natural-31.yaml --stage student --out runs/n
    $ specrecon train --config configs/hydra-natural-31.yaml --out runs/n --resume
    $ specrecon train --config configs/mstpp-natural-31.yaml --set baseline.steps=5
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

__all__ = ["register", "run"]

STAGE_CHOICES = ("all", "teacher", "student", "refine", "direct", "baseline", "prior", "mapping")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to ``subparsers``.

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers()
    >>> register(sub).prog.endswith("train")
    True
    """
    p = subparsers.add_parser(
        "train", help="train HYDRA (three stages or an ablation) or the MST++ baseline",
        description="Train a model from a recipe (configs/*.yaml). Writes checkpoints, "
                    "metrics.jsonl, loss_curve.png and <name>.safetensors + .json card "
                    "to --out.")
    p.add_argument("--config", required=True, help="recipe file (.yaml / .json)")
    p.add_argument("--stage", choices=STAGE_CHOICES, default="all",
                   help="run one stage only (a later HYDRA stage starts from the previous "
                        "stage's checkpoint in --out); default: the config's stages")
    p.add_argument("--out", default=None, help="run folder (default runs/<config name>)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from <out>/checkpoint.pt")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set teacher.steps=5 (repeatable; "
                        "stage1/stage2/stage3 are aliases of teacher/student/refine)")
    p.add_argument("--device", default=None, help="auto (default from config), cpu, cuda, cuda:1")
    p.add_argument("--weights", default=None,
                   help="where to write the .safetensors (default <out>/<name>.safetensors)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Handler of ``specrecon train``; returns the exit status."""
    from pathlib import Path

    from specrecon.training.config import TrainConfig

    cfg = TrainConfig.from_file(args.config).with_overrides(args.overrides)
    extra = []
    if args.device:
        extra.append(f"device={args.device}")
    if args.no_progress:
        extra.append("progress=false")
    cfg = cfg.with_overrides(extra)
    stages = None if args.stage == "all" else (args.stage,)
    out = Path(args.out) if args.out else Path("runs") / cfg.name
    command = "specrecon " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv and sys.argv[0].endswith("specrecon") else None

    from specrecon.training.export import run_config

    result = run_config(cfg, out_dir=out, stages=stages, resume=args.resume,
                        weights=args.weights, command=command or _reconstruct_command(args))
    done = ", ".join(f"{s} {n} steps in {result.wall_time_s.get(s, 0.0):.1f} s"
                     for s, n in result.steps.items())
    print(f"trained {cfg.model} ({cfg.name}): {done}")
    if result.metrics:
        print("validation: " + ", ".join(f"{k}={v:.4g}" for k, v in result.metrics.items()))
    for key in ("weights", "card", "log", "plot", "checkpoint"):
        if key in result.paths:
            print(f"{key:>10}: {result.paths[key]}")
    return 0


def _reconstruct_command(args: argparse.Namespace) -> str:
    parts = ["specrecon", "train", "--config", args.config]
    if args.stage != "all":
        parts += ["--stage", args.stage]
    if args.out:
        parts += ["--out", args.out]
    if args.resume:
        parts.append("--resume")
    for o in args.overrides:
        parts += ["--set", o]
    if args.device:
        parts += ["--device", args.device]
    if args.weights:
        parts += ["--weights", args.weights]
    return " ".join(shlex.quote(p) for p in parts)
