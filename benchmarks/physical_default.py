"""What the physical-consistency correction does to the shipped models, for its default.

Run (about 4 minutes on 2 cores)::

    OMP_NUM_THREADS=1 python benchmarks/physical_default.py --real \
        --out benchmarks/results/physical_default.md

* **synthetic**: each shipped model on its validation scenes (4 scenes of 128 px, the
  ``specrecon evaluate`` defaults; satellite MRAE with ``|truth| + 0.01``), tiled on the
  card's grid and whole image, with the correction off and on;
* ``--real``: the camera models on ``real-natural`` with the exposure fitted once over
  the whole set (how ``specrecon.validation`` scores, and what one output chunk does) and
  fitted per pixel (the chunk-invariant alternative), aligned MRAE.

The default of :func:`specrecon.physical.resolve_physical` (on for satellite models, off
for camera models) is read off these tables and ``real_validation.md``.
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any

SYNTHETIC = (("hydra-satellite-202", "synthetic-satellite", 0.01),
             ("mstpp-satellite-202", "synthetic-satellite", 0.01),
             ("hydra-natural-31", "synthetic-natural", None),
             ("mstpp-natural-31", "synthetic-natural", None))


def _per_pixel_factor(rendered: Any, rgb: Any, fit: str, xp: Any) -> Any:
    """Exposure fitted per pixel (least squares over the 3 channels)."""
    ok = ~(xp.isnan(rgb) | xp.isnan(rendered))
    r = xp.where(ok, rendered, 0.0 * rendered)
    c = xp.where(ok, rgb, 0.0 * rendered)
    num = (r * c).sum(-1, keepdims=True)
    den = (r * r).sum(-1, keepdims=True)
    f = num / xp.where(den > 0, den, 1.0 + 0.0 * den)
    return xp.where(f > 0, f, 1.0 + 0.0 * f)


def synthetic_table() -> list[str]:
    from specrecon.cli.evaluate import evaluate_models

    lines = ["| model | protocol | MRAE off | MRAE on | RMSE off | RMSE on | SAM off | SAM on |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for model, data, eps in SYNTHETIC:
        for whole in (False, True):
            off, on = (evaluate_models([model], data, whole_image=whole, mrae_eps=eps,
                                       device="cpu", physical=p)[0] for p in (False, True))
            lines.append(f"| {model} | {'whole image' if whole else 'tiled'} | "
                         f"{off['mrae']:.4f} | {on['mrae']:.4f} | {off['rmse']:.4f} | "
                         f"{on['rmse']:.4f} | {off['sam']:.4f} | {on['sam']:.4f} |")
            print(lines[-1], flush=True)
    return lines


def real_table() -> list[str]:
    import specrecon.physical as physical
    from specrecon.validation import evaluate_real

    models = ["hydra-natural-31", "mstpp-natural-31"]
    rows: dict[str, dict[str, float]] = {}
    block = evaluate_real(models, "real-natural", baselines=False, brightness=())
    original = physical._fit_factor

    def patched(rendered: Any, rgb: Any, fit: str, xp: Any) -> Any:
        return _per_pixel_factor(rendered, rgb, fit, xp) if fit == "scale" else original(
            rendered, rgb, fit, xp)

    physical._fit_factor = patched  # type: ignore[assignment]
    try:
        pixel = evaluate_real(models, "real-natural", baselines=False, brightness=())
    finally:
        physical._fit_factor = original  # type: ignore[assignment]
    for label, res in (("block", block), ("pixel", pixel)):
        for r in res["rows"]:
            key = "off" if not r["physical"] else label
            rows.setdefault(r["method"], {})[key] = r["overall"]["mrae_aligned"]
    lines = ["| model | off | on, one exposure for the set | on, exposure per pixel |",
             "|---|---:|---:|---:|"]
    for m, v in rows.items():
        lines.append(f"| {m} | {v['off']:.4f} | {v['block']:.4f} | {v['pixel']:.4f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", action="store_true", help="also the real-natural exposure table")
    p.add_argument("--out", default=None, help="write the markdown here")
    a = p.parse_args()
    import torch

    t0 = time.perf_counter()
    out = ["# Physical consistency: off vs on for the shipped models", "",
           "Command: `OMP_NUM_THREADS=1 python benchmarks/physical_default.py"
           + (" --real" if a.real else "") + "`", "",
           "## Synthetic validation scenes (4 x 128 px)", "", *synthetic_table()]
    if a.real:
        out += ["", "## real-natural (4151 measured reflectances), aligned MRAE", "",
                *real_table()]
    out += ["", f"Machine: {platform.machine()}, torch {torch.__version__}, "
                f"{time.perf_counter() - t0:.0f} s."]
    text = "\n".join(out) + "\n"
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
