"""HYDRA, MST++, CCNet and MCGA side by side: same data, same budget, same validation.

For each band count the four families are trained by their recipes in ``configs/``
(``hydra-*``, ``mstpp-*``, ``ccnet-*``, ``mcga-*``: the same synthetic data and validation
scenes, the same RGB-stage steps x batch) and scored here on

- the recipe's held-out synthetic ``validation`` scenes, whole image and through
  ``reconstruct`` on each card's tile grid (:func:`specrecon.cli.evaluate.evaluate_models`);
- the real held-out set of that band count (``real-natural`` / ``real-satellite``,
  :func:`specrecon.validation.evaluate_real`), raw and with the physical-consistency
  correction, next to the root-polynomial and mean-spectrum baselines.

Parameters, training steps and wall time come from each model's card. Writes a Markdown
report with the command that reproduces it (and the raw numbers as JSON next to it).

Usage (the baselines' weights come from their recipes, e.g.
``OMP_NUM_THREADS=1 python -m specrecon train --config configs/ccnet-natural-31.yaml --out runs/ccnet-natural-31``;
HYDRA and MST++ are the shipped weights)::

    python benchmarks/compare_families.py \\
        --natural hydra-natural-31 mstpp-natural-31 runs/ccnet-natural-31/ccnet-natural-31.safetensors \\
                  runs/mcga-natural-31/mcga-natural-31.safetensors \\
        --satellite hydra-satellite-202 mstpp-satellite-202 \\
                  runs/ccnet-satellite-202/ccnet-satellite-202.safetensors \\
                  runs/mcga-satellite-202/mcga-satellite-202.safetensors \\
        --out benchmarks/results/families.md

Needs ``pip install specrecon[validation]`` for the real sets.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: data set, real held-out set and MRAE guard of each band count's recipes
SETS = {
    "natural": ("synthetic-natural", "real-natural", None),
    "satellite": ("synthetic-satellite", "real-satellite", 0.01),
}


def _card_summary(spec: str) -> dict[str, Any]:
    from specrecon.models import load_model

    model = load_model(spec)
    card = model.card
    training = card.training if card is not None else {}
    steps = training.get("steps", {})
    return {
        "name": card.name if card is not None else spec,
        "architecture": training.get("recipe", {}).get("model", model.name),
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": " + ".join(f"{s} {v['steps']} x {v['batch_size']} @ {v['patch_size']} px"
                            for s, v in steps.items()) or "?",
        "wall_s": training.get("wall_time_s", {}).get("total"),
        "tile": card.tile_size if card is not None else None,
    }


def compare(kind: str, models: list[str], n_real: int | None) -> dict[str, Any]:
    """Scores of ``models`` on the synthetic and real validation of ``kind``."""
    from specrecon.cli.evaluate import evaluate_models
    from specrecon.validation import evaluate_real

    data, real, eps = SETS[kind]
    rows = []
    for spec in models:
        whole = evaluate_models([spec], data, device="cpu", whole_image=True, mrae_eps=eps)[0]
        tiled = evaluate_models([spec], data, device="cpu", mrae_eps=eps)[0]
        rows.append({"spec": spec, **_card_summary(spec),
                     "synthetic": {k: whole[k] for k in ("mrae", "rmse", "psnr", "sam")},
                     "synthetic_tiled_mrae": tiled["mrae"]})
    res = evaluate_real(models, real, n=n_real, physical=True, brightness=(), baselines=True)
    return {"kind": kind, "rows": rows, "real": res}


def report(results: list[dict[str, Any]], command: str, seconds: float) -> str:
    """The Markdown report."""
    from specrecon.training.export import hardware_description

    hw = hardware_description()
    out = ["# HYDRA, MST++, CCNet and MCGA on the same data and budget", "",
           f"Command: `{command}`  ",
           f"Machine: {hw['cpu_count']} CPU cores ({hw['cpu']}), torch {hw['torch']}; "
           f"{seconds:.0f} s.", ""]
    for res in results:
        real = res["real"]
        key = real["headline"]
        by = {(r["method"], r["physical"]): r for r in real["rows"]}
        out += [f"## {res['kind']} ({real['set']}: {real['spectra']} spectra, headline "
                f"`{key}`)", "",
                "| model | architecture | params | training (steps x batch @ patch) | wall (s) | "
                "tile | synthetic MRAE | RMSE | PSNR (dB) | SAM | tiled MRAE | real "
                f"{key} | real + phys |",
                "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in res["rows"]:
            s = r["synthetic"]
            raw = by[(r["spec"], False)]["overall"][key]
            phys = by[(r["spec"], True)]["overall"][key]
            wall = f"{r['wall_s']:.0f}" if r["wall_s"] is not None else "?"
            out.append(f"| {r['name']} | {r['architecture']} | {r['parameters']:,} | "
                       f"{r['steps']} | {wall} | {r['tile']} | {s['mrae']:.4f} | "
                       f"{s['rmse']:.4f} | {s['psnr']:.2f} | {s['sam']:.4f} | "
                       f"{r['synthetic_tiled_mrae']:.4f} | {raw:.4f} | {phys:.4f} |")
        for base in ("root-poly-2", "root-poly-3", "mean-spectrum"):
            raw = by[(base, False)]["overall"][key]
            phys = by[(base, True)]["overall"][key] if (base, True) in by else raw
            out.append(f"| {base} (baseline) | | | fitted on the recipe's training library | "
                       f"| | | | | | | {raw:.4f} | {phys:.4f} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--natural", nargs="*", default=[], help="31-band models (names or paths)")
    p.add_argument("--satellite", nargs="*", default=[], help="202-band models")
    p.add_argument("--n-real", type=int, default=None,
                   help="stratified subset of the real sets (default: all spectra)")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "families.md"))
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    results = [compare(kind, models, args.n_real)
               for kind, models in (("natural", args.natural), ("satellite", args.satellite))
               if models]
    used = sys.argv[1:] if argv is None else argv
    command = "python benchmarks/compare_families.py " + shlex.join(used)
    text = report(results, command, time.perf_counter() - t0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str) + "\n",
                                        encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
