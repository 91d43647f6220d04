"""Tiled vs whole-image accuracy of the shipped models (issue 10's large-tile target).

Run (about 2 minutes on 2 cores)::

    OMP_NUM_THREADS=1 python benchmarks/tile_invariance.py --tile-sizes 64 128 \
        --out benchmarks/results/tile_invariance.md

Each model reconstructs the validation scenes of its own synthetic recipe (the card's
``training.recipe.data.kind``), ``--n`` scenes of ``--size`` px -- larger than the tile, so
that tiling matters -- once on the card's tile grid (what ``reconstruct`` does by default),
optionally on the extra ``--tile-sizes``, and once as a whole image; with each model's
defaults (physical consistency where it runs per pixel). MRAE uses the recipe's
``val_mrae_eps`` (``|truth| + eps`` denominators) where it sets one, else the NTIRE
definition. Target: card tile >= 128 px and tiled MRAE within 2 % of whole-image MRAE.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from typing import Any

SHIPPED = ("hydra-satellite-202", "mstpp-satellite-202", "hydra-natural-31", "mstpp-natural-31")
TARGET_TILE = 128
TARGET_GAP = 0.02


def measure(model: str, *, size: int, n: int, tile_sizes: list[int]) -> list[dict[str, Any]]:
    """Rows (protocol, tile, MRAE) of one model: card grid, extra tiles, whole image."""
    from specrecon.cli.evaluate import evaluate_models
    from specrecon.models import load_model

    card = load_model(model, device="cpu").card
    recipe = (card.training or {}).get("recipe", {})
    kind = recipe.get("data", {}).get("kind", "synthetic-natural")
    eps = recipe.get("val_mrae_eps")
    runs: list[tuple[str, int | None, dict[str, Any]]] = [("card grid", card.tile_size, {})]
    runs += [(f"{t} px", t, {"tile_size": t}) for t in tile_sizes if t != card.tile_size]
    runs.append(("whole image", None, {"whole_image": True}))
    rows = []
    for label, tile, kw in runs:
        (r,) = evaluate_models([model], kind, n=n, size=size, mrae_eps=eps, device="cpu", **kw)
        rows.append({"model": model, "data": kind, "protocol": label, "tile": tile,
                     "mrae": r["mrae"], "sam": r["sam"], "eps": eps})
        print(model, label, f"{r['mrae']:.4f}", flush=True)
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown rows: each tiled MRAE next to the model's whole-image MRAE."""
    lines = ["| model | tiles | MRAE | SAM | vs whole image | card tile >= 128 px and within 2 % |",
             "|---|---|---:|---:|---:|---|"]
    whole = {r["model"]: r["mrae"] for r in rows if r["tile"] is None}
    for r in rows:
        w = whole[r["model"]]
        gap = r["mrae"] / w - 1.0
        verdict = ""
        if r["protocol"] == "card grid":
            ok = r["tile"] is not None and r["tile"] >= TARGET_TILE and abs(gap) <= TARGET_GAP
            verdict = "met" if ok else "not met"
        tiles = "whole image" if r["tile"] is None else (
            f"{r['tile']} px" + (" (card)" if r["protocol"] == "card grid" else ""))
        change = "" if r["tile"] is None else f"{100 * gap:+.1f} %"
        lines.append(f"| {r['model']} | {tiles} | {r['mrae']:.4f} | {r['sam']:.4f} | "
                     f"{change} | {verdict} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(SHIPPED),
                   help="shipped names or .safetensors paths (default: the four shipped)")
    p.add_argument("--size", type=int, default=256, help="scene side in pixels (default 256)")
    p.add_argument("--n", type=int, default=4, help="validation scenes per model (default 4)")
    p.add_argument("--tile-sizes", type=int, nargs="*", default=[],
                   help="extra tile sides to score besides the card's")
    p.add_argument("--out", default=None, help="write the markdown here")
    a = p.parse_args(argv)
    import torch

    t0 = time.perf_counter()
    rows = [r for m in a.models for r in measure(m, size=a.size, n=a.n, tile_sizes=a.tile_sizes)]
    command = "OMP_NUM_THREADS=1 python benchmarks/tile_invariance.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    text = "\n".join([
        "# Tiled vs whole-image MRAE of the shipped models", "",
        f"Command: `{command.strip()}`", "",
        f"Validation split of each model's synthetic recipe, {a.n} scenes of {a.size} px, "
        "each model's defaults (physical consistency where it runs per pixel); overlap a "
        "quarter of the tile for the extra tile sizes, the card's for the card grid. "
        f"Target: card tile >= {TARGET_TILE} px, tiled MRAE within "
        f"{100 * TARGET_GAP:.0f} % of whole image.", "",
        *table(rows), "",
        f"Machine: {platform.machine()}, torch {torch.__version__}, "
        f"{time.perf_counter() - t0:.0f} s."]) + "\n"
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
