"""Train the small CCNet and MCGA baselines under a wall-clock cap and compare them with the
shipped HYDRA / MST++ weights on the held-out synthetic scenes.

Each recipe (``configs/ccnet-natural-31.yaml``, ``configs/mcga-natural-31.yaml`` by
default) is trained with its data and validation scenes and with ``--set`` overrides (e.g.
fewer steps so that the cosine schedule ends inside the cap); a run that reaches
``--minutes`` of wall time is stopped there and the model as it is at that step is
evaluated and exported (the table says so). Every model is then scored like
``benchmarks/results/shipped_models.md``: whole-image metrics on the ``validation`` split
and tiled metrics through ``specrecon evaluate``'s :func:`evaluate_models`.

Usage
-----
.. code-block:: console

    $ OMP_NUM_THREADS=1 python benchmarks/train_ccnet_mcga.py --minutes 8 \\
          --set ccnet-natural-31:baseline.steps=160 --set mcga-natural-31:mapping.steps=250 \\
          --weights-dir /tmp/weights --results benchmarks/results/baselines_ccnet_mcga.md
    $ python benchmarks/train_ccnet_mcga.py --quick      # smoke run, 3 steps per stage
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ("ccnet-natural-31", "mcga-natural-31")
REFERENCE = ("hydra-natural-31", "mstpp-natural-31")  # shipped weights, same data
QUICK = ["baseline.steps=3", "prior.steps=3", "mapping.steps=3", "data.n_train=2",
         "data.n_val=1", "eval_every=0", "checkpoint_every=0"]


class _TimeUp(Exception):
    pass


def train_capped(name: str, overrides: list[str], minutes: float, out_root: Path,
                 weights_dir: Path, command: str) -> dict[str, Any]:
    """Train one recipe, stopping at ``minutes`` of wall time; export and summarise it."""
    import torch

    from specrecon.models import create_model
    from specrecon.training import TrainConfig, load_data
    from specrecon.training.checkpoint import seed_everything
    from specrecon.training.config import MCGA_STAGES
    from specrecon.training.export import export_model
    from specrecon.training.stages import evaluate_model, train_baseline, validation_tensors

    cfg = TrainConfig.from_file(ROOT / "configs" / f"{name}.yaml").with_overrides(
        overrides + ["progress=false"])
    seed_everything(cfg.seed)
    model = create_model(cfg.model, **cfg.model_overrides)
    train, val = load_data(cfg.data)
    t0 = time.perf_counter()
    last: dict[str, Any] = {}

    def callback(rec: dict[str, Any]) -> None:
        last.update(stage=rec["stage"], step=rec["step"])
        if time.perf_counter() - t0 > minutes * 60:
            raise _TimeUp

    result = None
    try:
        if any(s in MCGA_STAGES for s in cfg.stages):
            from specrecon.training.mcga import train_mcga

            result = train_mcga(model, train, val, cfg, out_dir=out_root / name,
                                callback=callback)
        else:
            result = train_baseline(model, train, val, cfg, out_dir=out_root / name,
                                    callback=callback)
    except _TimeUp:
        pass
    wall = time.perf_counter() - t0
    if result is not None:
        metrics, steps = dict(result.metrics), dict(result.steps)
    else:  # stopped inside a stage: score the model as it is
        scenes = validation_tensors(val, cfg.data.sensor, cfg.val_max_scenes)
        metrics = evaluate_model(model, scenes, mrae_eps=cfg.val_mrae_eps)
        steps = {s: cfg.stage(s).steps for s in cfg.stages}
        steps[last["stage"]] = last["step"]
        steps = {s: n for s, n in steps.items()
                 if list(cfg.stages).index(s) <= list(cfg.stages).index(last["stage"])}
    path = weights_dir / f"{name}.safetensors"
    export_model(model, path, cfg, result, data=train, command=command,
                 extra_training={"stopped_at_wall_clock_cap": result is None,
                                 "wall_time_s_total": round(wall, 1)})
    return {"name": name, "model": cfg.model, "parameters": int(model.num_parameters()),
            "steps": steps, "planned": {s: cfg.stage(s).steps for s in cfg.stages},
            "samples": int(sum(n * cfg.stage(s).batch_size for s, n in steps.items())),
            "wall_time_s": round(wall, 1), "capped": result is None, "metrics": metrics,
            "weights": str(path), "threads": torch.get_num_threads()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", default=list(RECIPES))
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   help="NAME:KEY=VALUE (one recipe) or KEY=VALUE (every recipe)")
    p.add_argument("--minutes", type=float, default=8.0, help="wall-clock cap per run")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out-root", default=str(ROOT / "runs" / "baselines"))
    p.add_argument("--weights-dir", default=None, help="default <out-root>/weights")
    p.add_argument("--results", default=None, help="default <out-root>/baselines_ccnet_mcga.md")
    p.add_argument("--skip-train", action="store_true",
                   help="only evaluate weights already in --weights-dir (summaries from "
                        "<out-root>/summaries.json)")
    args = p.parse_args(argv)

    from specrecon.cli.evaluate import evaluate_models
    from specrecon.training.export import hardware_description

    out_root = Path(args.out_root)
    weights_dir = Path(args.weights_dir) if args.weights_dir else out_root / "weights"
    results = Path(args.results) if args.results else out_root / "baselines_ccnet_mcga.md"
    command = "python benchmarks/train_ccnet_mcga.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    store = out_root / "summaries.json"
    # earlier summaries in --out-root are kept (a recipe trained again replaces its row)
    rows: list[dict[str, Any]] = json.loads(store.read_text()) if store.exists() else []
    if not args.skip_train:
        rows = [r for r in rows if r["name"] not in args.only]
    if not args.skip_train:
        for name in args.only:
            ov = (QUICK if args.quick else []) + [
                o.split(":", 1)[1] if ":" in o.split("=", 1)[0] else o
                for o in args.overrides
                if ":" not in o.split("=", 1)[0] or o.startswith(name + ":")]
            print(f"== {name} ({ov})", flush=True)
            row = train_capped(name, ov, args.minutes, out_root, weights_dir, command.strip())
            print(json.dumps(row), flush=True)
            rows.append(row)
            out_root.mkdir(parents=True, exist_ok=True)
            store.write_text(json.dumps(rows, indent=1))
    n_val = 1 if args.quick else 4
    tiled = {}
    for name in [r["name"] for r in rows] + list(REFERENCE):
        src = next((r["weights"] for r in rows if r["name"] == name), name)
        ev = evaluate_models([src], "synthetic-natural", n=n_val, device="cpu")[0]
        whole = evaluate_models([src], "synthetic-natural", n=n_val, device="cpu",
                                whole_image=True)[0]
        tiled[name] = (ev, whole)
    hw = hardware_description()
    lines = [
        "# CCNet and MCGA vs HYDRA and MST++ on held-out synthetic natural scenes", "",
        ("**QUICK SMOKE RUN: numbers are meaningless.**\n" if args.quick else ""),
        f"Produced by `{command.strip()}` on {hw['cpu_count']} CPU cores ({hw['cpu']}), "
        f"torch {hw['torch']}, {rows[0]['threads'] if rows else '?'} thread(s) for training.",
        "",
        "| model | architecture | params | steps (planned) | samples | wall (s) | stopped by cap | "
        "MRAE | RMSE | PSNR (dB) | SAM (rad) | tiled MRAE |",
        "|---|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, (ev, whole) in tiled.items():
        r = next((r for r in rows if r["name"] == name), None)
        if r is not None:
            steps = " + ".join(f"{s} {n} ({r['planned'][s]})" for s, n in r["steps"].items())
            info = (f"{r['model']} | {r['parameters']:,} | {steps} | {r['samples']} | "
                    f"{r['wall_time_s']:.0f} | {'yes' if r['capped'] else 'no'}")
        else:
            info = "shipped weights | | see shipped_models.md | | | no"
        lines.append(f"| {name} | {info} | {whole['mrae']:.4f} | {whole['rmse']:.4f} | "
                     f"{whole['psnr']:.2f} | {whole['sam']:.4f} | {ev['mrae']:.4f} |")
    lines.append("")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("\n".join(lines))
    print(f"wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
