"""What the physical-consistency correction does to the shipped models, for its default.

Run (about 4 minutes on 2 cores)::

    OMP_NUM_THREADS=1 python benchmarks/physical_default.py --real \
        --out benchmarks/results/physical_default.md

* **synthetic**: each shipped model on its validation scenes (4 scenes of 128 px, the
  ``specrecon evaluate`` defaults; satellite MRAE with ``|truth| + 0.01``), tiled on the
  card's grid and whole image, with the correction off and on;
* ``--real``: the camera models on ``real-natural``, aligned MRAE, with the exposure
  fitted once over the whole set (what one output chunk does with ``physical=True`` on
  an uncalibrated model), fixed at the card's calibrated value (the default, pixel by
  pixel) and fitted per pixel;
* ``--calibrate-shipped``: first writes that calibrated exposure into the shipped camera
  models' cards (the computation ``specrecon train`` runs at export).

The default of :func:`specrecon.physical.resolve_physical` (on for satellite models, off
for camera models) is read off these tables and ``real_validation.md``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
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

    def run() -> dict[str, Any]:
        return evaluate_real(models, "real-natural", baselines=False, brightness=(0.9, 1.1))

    original_fit, original_pixel = physical._fit_factor, physical.pixel_rendering

    def per_pixel(rendered: Any, rgb: Any, fit: str, xp: Any) -> Any:
        return _per_pixel_factor(rendered, rgb, fit, xp) if fit == "scale" else original_fit(
            rendered, rgb, fit, xp)

    default = run()                                  # the cards' calibrated exposure
    physical.pixel_rendering = lambda card: None     # type: ignore[assignment]
    try:
        whole_set = run()                            # one exposure fitted over the set
        physical._fit_factor = per_pixel             # type: ignore[assignment]
        pixel = run()                                # fitted per pixel
    finally:
        physical._fit_factor = original_fit          # type: ignore[assignment]
        physical.pixel_rendering = original_pixel    # type: ignore[assignment]
    rows: dict[str, dict[str, Any]] = {}
    for label, res in (("calibrated", default), ("set", whole_set), ("pixel", pixel)):
        for r in res["rows"]:
            key = "off" if not r["physical"] else label
            rows.setdefault(r["method"], {})[key] = (r["overall"]["mrae_aligned"],
                                                     r["brightness"])
    lines = ["| model | off | on, exposure fitted over the set | on, calibrated exposure "
             "(default) | on, exposure per pixel | x0.9 / x1.1, calibrated |",
             "|---|---:|---:|---:|---:|---|"]
    for m, v in rows.items():
        b = v["calibrated"][1]
        lines.append(f"| {m} | {v['off'][0]:.4f} | {v['set'][0]:.4f} | "
                     f"{v['calibrated'][0]:.4f} | {v['pixel'][0]:.4f} | "
                     f"{100 * b['0.9']:+.1f} % / {100 * b['1.1']:+.1f} % |")
        print(lines[-1], flush=True)
    return lines


def calibrate_shipped() -> list[str]:
    """Write the calibrated exposure into the shipped camera models' cards.

    The same computation ``specrecon train`` runs at export
    (:func:`specrecon.training.export.exposure_calibration`), on the validation scenes of
    each card's own recipe.
    """
    import json
    from pathlib import Path

    from specrecon.models import load_model
    from specrecon.physical import EXPOSURE_METRIC
    from specrecon.training import TrainConfig
    from specrecon.training.data import load_data
    from specrecon.training.export import exposure_calibration

    weights = Path(__file__).resolve().parents[1] / "specrecon" / "weights"
    lines = ["| model | calibrated exposure k |", "|---|---:|"]
    for name in ("hydra-natural-31", "mstpp-natural-31"):
        model = load_model(name, device="cpu")
        cfg = TrainConfig.from_dict(model.card.training["recipe"])
        _, val = load_data(cfg.data)
        metric = exposure_calibration(model, val, model.card)
        path = weights / f"{name}.json"
        card = json.loads(path.read_text())
        card.setdefault("metrics", {}).update(metric)
        path.write_text(json.dumps(card, indent=2, allow_nan=False) + "\n")
        lines.append(f"| {name} | {metric[EXPOSURE_METRIC]:.4f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", action="store_true", help="also the real-natural exposure table")
    p.add_argument("--calibrate-shipped", action="store_true",
                   help="first write the calibrated exposure into the shipped camera models' "
                        "cards (specrecon/weights/*-natural-31.json), then measure")
    p.add_argument("--out", default=None,
                   help="write the markdown here (keeping the file's sections this run does "
                        "not write: hand-written readings, an earlier calibration)")
    a = p.parse_args()
    import torch

    t0 = time.perf_counter()
    calib = (["## Calibrated exposure of the camera models", "", *calibrate_shipped(), ""]
             if a.calibrate_shipped else [])
    out = ["# Physical consistency: off vs on for the shipped models", "",
           "Command: `OMP_NUM_THREADS=1 python benchmarks/physical_default.py"
           + (" --real" if a.real else "")
           + (" --calibrate-shipped" if a.calibrate_shipped else "") + "`", "", *calib,
           "## Synthetic validation scenes (4 x 128 px)", "", *synthetic_table()]
    if a.real:
        out += ["", "## real-natural (4151 measured reflectances), aligned MRAE", "",
                *real_table()]
    out += ["", f"Machine: {platform.machine()}, torch {torch.__version__}, "
                f"{time.perf_counter() - t0:.0f} s."]
    text = "\n".join(out) + "\n"
    if a.out:
        text += _kept_sections(Path(a.out), out)
        with open(a.out, "w") as fh:
            fh.write(text)
    print(text)


def _kept_sections(path: Path, generated: list[str]) -> str:
    """The ``## `` sections of an existing report that this run does not write.

    Hand-written readings and an earlier run's calibration table survive a rerun; they
    follow the generated sections.
    """
    if not path.is_file():
        return ""
    made = {line for line in generated if line.startswith("## ")}
    kept: list[str] = []
    keep = False
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            keep = line not in made
        if keep:
            kept.append(line)
    return ("\n" + "\n".join(kept) + "\n") if kept else ""


if __name__ == "__main__":
    main()
