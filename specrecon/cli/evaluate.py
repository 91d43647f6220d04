"""``specrecon evaluate``: score models on a data set and print a metrics table.

``--data`` names the scenes: ``synthetic-natural`` / ``synthetic-satellite``
(generated; ``--split validation`` and ``--seed 0`` are the held-out scenes the
shipped models report), ``arad1k:ROOT`` or ``hyspecnet:ROOT``; or the *real*
held-out measured spectra ``real-natural`` / ``real-satellite``
(:mod:`specrecon.validation`: pixelwise protocol, each spectrum a uniform patch
in a mosaic, with root-polynomial and mean-spectrum baselines, the
physical-consistency option and the brightness check; ``--n`` picks a stratified
subset). RGB for cube-only
data (HySpecNet-11k) is simulated with the model card's input sensor.

Inference goes through :func:`specrecon.inference.reconstruct`: tiled on the
model's tile grid by default, or once on the whole image with ``--whole-image``.
``--ntire`` is the NTIRE 2022 protocol: whole-image inference, predictions clipped
to [0, 1] (as in the MST++ evaluation code) and scoring on the centre crop
``[128:-128, 128:-128]``.

Examples
--------
.. code-block:: console

    $ specrecon evaluate --model hydra-natural-31 --model mstpp-natural-31 \\
          --data synthetic-natural --n 8
    $ specrecon evaluate --model weights/x.safetensors --data arad1k:/data/ARAD_1K --ntire
    $ specrecon evaluate --model hydra-satellite-202 --model mstpp-satellite-202 \\
          --data real-satellite --per-class
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["evaluate_models", "format_real_table", "format_table", "register", "run"]

METRIC_ORDER = ("mrae", "rmse", "psnr", "sam")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand to ``subparsers``.

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers()
    >>> register(sub).prog.endswith("evaluate")
    True
    """
    p = subparsers.add_parser(
        "evaluate", help="score models (MRAE / RMSE / PSNR / SAM) on a data set",
        description="Reconstruct every scene of a data set and print the mean metrics.")
    p.add_argument("--model", action="append", required=True, metavar="NAME_OR_PATH",
                   help="shipped model name or .safetensors path (repeat to compare models)")
    p.add_argument("--data", required=True,
                   help="synthetic-natural, synthetic-satellite, arad1k:ROOT, hyspecnet:ROOT, "
                        "or the real held-out spectra real-natural / real-satellite")
    p.add_argument("--split", default="validation",
                   help="train, validation (val/valid) or test (default validation)")
    p.add_argument("--n", type=int, default=None,
                   help="number of scenes (synthetic default 4; real data default all)")
    p.add_argument("--size", type=int, default=128, help="synthetic scene side in pixels")
    p.add_argument("--seed", type=int, default=0, help="synthetic data-set seed")
    p.add_argument("--ntire", action="store_true",
                   help="NTIRE protocol: whole image, clip to [0, 1], crop [128:-128, 128:-128]")
    p.add_argument("--whole-image", action="store_true", help="no tiling")
    p.add_argument("--tile-size", type=int, default=None, metavar="PX",
                   help="tile side in pixels, overlap a quarter of it (default: the model "
                        "card's tile grid); real sets too")
    p.add_argument("--mrae-eps", type=float, default=None,
                   help="MRAE denominators |truth| + EPS (default: NTIRE definition, exact "
                        "zeros left out); the satellite models report EPS=0.01")
    p.add_argument("--illuminant", default=None,
                   help="synthetic-natural only: illuminant name(s), comma-separated, e.g. "
                        "D50,D55,D65,D75 (default: those the model was trained under, per "
                        "its card; else any real illuminant)")
    p.add_argument("--physical", action=argparse.BooleanOptionalAction, default=None,
                   help="physical-consistency correction. Scenes: force it on / off (default: "
                        "each model's default: on where it runs per pixel, i.e. satellite "
                        "models and camera models with a calibrated exposure). Real sets: "
                        "--no-physical leaves out the rows with it")
    real = p.add_argument_group("real held-out sets (real-natural, real-satellite)")
    real.add_argument("--no-baselines", action="store_true",
                      help="leave out the root-polynomial and mean-spectrum baselines")
    real.add_argument("--brightness", default="0.9,1.1",
                      help="input scale factors of the brightness check, comma-separated "
                           "('' to skip; default 0.9,1.1)")
    real.add_argument("--oracle", action="store_true",
                      help="add a root-polynomial fitted on half of the held-out set itself "
                           "(a reference, not a competitor)")
    real.add_argument("--mlp", action="store_true",
                      help="add a small exposure-invariant pixelwise MLP fitted on the "
                           "baselines' training spectra (a stronger reference; 20-100 s)")
    real.add_argument("--per-class", action="store_true",
                      help="also print the headline metric per class")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)
    return p


def _parse_data(spec: str) -> tuple[str, str | None]:
    from specrecon.errors import ConfigError, format_message

    kind, _, root = spec.partition(":")
    if kind in ("synthetic-natural", "synthetic-satellite") and not root:
        return kind, None
    if kind in ("arad1k", "hyspecnet") and root:
        return kind, root
    raise ConfigError(format_message(
        "--data as synthetic-natural, synthetic-satellite, arad1k:ROOT, hyspecnet:ROOT, "
        "real-natural or real-satellite",
        repr(spec), "name a data set (real data sets need :ROOT)"))


def _trained_illuminant(card: Any, kind: str) -> Any:
    """The illuminant(s) a model's synthetic-natural training data used (from its card)."""
    if card is None or kind != "synthetic-natural":
        return None
    data = (card.training or {}).get("recipe", {}).get("data", {})
    return data.get("illuminant") if data.get("kind") == kind else None


def evaluate_models(models: list[str], data: str, *, split: str = "validation",
                    n: int | None = None, size: int = 128, seed: int = 0, ntire: bool = False,
                    whole_image: bool = False, device: str = "auto",
                    mrae_eps: float | None = None,
                    illuminant: str | list[str] | None = None,
                    physical: bool | None = None,
                    tile_size: int | None = None) -> list[dict[str, Any]]:
    """Mean metrics of each model over the scenes of ``data``.

    Parameters
    ----------
    models : list of str
        Shipped names or ``.safetensors`` paths.
    data : str
        Data specification (see the module docstring).
    split, n, size, seed
        Which scenes (see ``specrecon evaluate --help``).
    ntire : bool
        NTIRE 2022 protocol (whole image, clip, crop 128).
    whole_image : bool
        Whole-image instead of tiled inference.
    device : str
        Inference device.
    mrae_eps : float, optional
        MRAE denominators ``|truth| + mrae_eps`` (default: exact zeros left out).
    illuminant : str or list of str, optional
        Illuminant(s) of synthetic natural scenes (default: those of the model's own
        synthetic training data when its card records them, else any real illuminant).
    physical : bool, optional
        Physical-consistency correction (default: each model's default, see
        :func:`specrecon.physical.resolve_physical`).
    tile_size : int, optional
        Tile side in pixels, overlap a quarter of it (default: the card's grid).

    Returns
    -------
    list of dict
        One row per model: ``model``, ``data``, ``split``, ``scenes``, ``protocol`` and
        the four metrics.
    """
    import numpy as np

    from specrecon.errors import ModelMismatchError, format_message
    from specrecon.inference import reconstruct
    from specrecon.metrics import evaluate
    from specrecon.models import load_model
    from specrecon.training.data import open_split, split_pair

    kind, root = _parse_data(data)
    synthetic = root is None
    count = n if n is not None else (4 if synthetic else 0)
    rows = []
    for name in models:
        model = load_model(name, device="cpu")
        card = getattr(model, "card", None)
        sensor = card.input_sensor if card is not None and card.input_sensor != "unknown" else None
        scenes = open_split(kind, split, root=root, n=count, size=size, seed=seed, sensor=sensor,
                            illuminant=illuminant if illuminant is not None
                            else _trained_illuminant(card, kind))
        totals: dict[str, float] = {}
        corrected, tile = False, None
        for i in range(len(scenes)):
            rgb, cube = split_pair(scenes[i])
            cube = cube.transpose("wavelength", ...)
            if cube.sizes["wavelength"] != model.bands:
                raise ModelMismatchError(format_message(
                    f"cubes with the model's {model.bands} bands", f"{cube.sizes['wavelength']}",
                    "evaluate a model trained for this data set"))
            if rgb is None:
                from specrecon.spectral import simulate_rgb

                rgb = simulate_rgb(cube, sensor or "sentinel2_msi_rgb", seed=i)
            kw: dict[str, Any] = {}
            if card is None:
                kw["wavelengths"] = np.asarray(cube.wavelength.values)
            pred = reconstruct(rgb, model=model, whole_image=whole_image or ntire,
                               device=device, physical=physical, tile_size=tile_size, **kw)
            corrected = bool(pred.attrs.get("physical_consistency"))
            tile = pred.attrs["tile_size"]
            pred = pred.compute()
            if ntire:
                pred = pred.clip(0.0, 1.0)
            zkw: dict[str, Any] = ({"zero_gt": "ignore"} if mrae_eps is None
                                   else {"zero_gt": "epsilon", "eps": mrae_eps})
            res = evaluate(pred, cube, crop=128 if ntire else None, **zkw).compute()
            for k in METRIC_ORDER:
                totals[k] = totals.get(k, 0.0) + float(res[k])
        m = max(1, len(scenes))
        protocol = "ntire (whole image, clip [0,1], crop 128)" if ntire else (
            "whole image" if whole_image else
            "tiled" + (f" {tile[0]} px" if tile is not None and tile_size is not None else ""))
        if mrae_eps is not None:
            protocol += f", MRAE eps {mrae_eps:g}"
        if corrected:
            protocol += ", physical consistency"
        rows.append({"model": name, "data": data, "split": split, "scenes": len(scenes),
                     "protocol": protocol, **{k: v / m for k, v in totals.items()}})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Render metric rows as an aligned text table.

    Examples
    --------
    >>> print(format_table([{"model": "m", "data": "d", "split": "validation", "scenes": 2,
    ...                      "protocol": "tiled", "mrae": 0.1, "rmse": 0.02, "psnr": 33.0,
    ...                      "sam": 0.05}]))   # doctest: +NORMALIZE_WHITESPACE
    model  data  split       scenes  protocol  MRAE    RMSE    PSNR   SAM
    m      d     validation  2       tiled     0.1000  0.0200  33.00  0.0500
    """
    head = ["model", "data", "split", "scenes", "protocol", "MRAE", "RMSE", "PSNR", "SAM"]
    body = [[str(r["model"]), str(r["data"]), str(r["split"]), str(r["scenes"]),
             str(r["protocol"]), f"{r['mrae']:.4f}", f"{r['rmse']:.4f}", f"{r['psnr']:.2f}",
             f"{r['sam']:.4f}"] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head, *body]]
    return "\n".join(lines)


_REAL_COLUMNS = (("MRAE", "mrae"), ("MRAE-aligned", "mrae_aligned"), ("MRAE-eps", "mrae_eps"),
                 ("RMSE", "rmse"), ("SAM", "sam"))


def format_real_table(result: dict[str, Any], per_class: bool = False) -> str:
    """Render an :func:`specrecon.validation.evaluate_real` result as text tables.

    Examples
    --------
    >>> m = {"mrae": 0.2, "mrae_aligned": 0.1, "mrae_eps": 0.15, "rmse": 0.05, "sam": 0.1}
    >>> res = {"set": "real-natural", "spectra": 2, "headline": "mrae_aligned",
    ...        "protocol": "p", "rows": [{"method": "m", "kind": "model", "physical": False,
    ...        "overall": m, "per_class": {"a": m}, "scale": 1.5, "brightness": {"0.9": 0.01}}]}
    >>> print(format_real_table(res))   # doctest: +NORMALIZE_WHITESPACE
    real-natural: 2 spectra; headline metric mrae_aligned
    p
    method  kind   physical  MRAE    MRAE-aligned  MRAE-eps  RMSE    SAM     scale   bright x0.9
    m       model  no        0.2000  0.1000        0.1500    0.0500  0.1000  1.5000  +1.0%
    """
    factors = sorted({f for r in result["rows"] for f in r["brightness"]}, key=float)
    key = result["headline"]
    clipped = any("overall_clipped" in r for r in result["rows"])
    head = ["method", "kind", "physical", *(c for c, _ in _REAL_COLUMNS), "scale",
            *(f"bright x{f}" for f in factors), *([f"{key} clipped"] if clipped else [])]
    body = []
    for r in result["rows"]:
        body.append([r["method"], r["kind"], "yes" if r["physical"] else "no",
                     *(f"{r['overall'][k]:.4f}" for _, k in _REAL_COLUMNS), f"{r['scale']:.4f}",
                     *(f"{100 * r['brightness'][f]:+.1f}%" if f in r["brightness"] else ""
                       for f in factors),
                     *([f"{r['overall_clipped'][key]:.4f}" if "overall_clipped" in r else ""]
                       if clipped else [])])
    lines = [(f"{result['set']}: {result['spectra']} spectra; headline metric "
              f"{result['headline']}"), result["protocol"], _align([head, *body])]
    if per_class:
        classes = sorted({c for r in result["rows"] for c in r["per_class"]})
        head = ["method", "physical", *classes]
        body = [[r["method"], "yes" if r["physical"] else "no",
                 *(f"{r['per_class'][c][result['headline']]:.4f}" for c in classes)]
                for r in result["rows"]]
        lines += ["", f"per class ({result['headline']}):", _align([head, *body])]
    return "\n".join(lines)


def _align(table: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(*table)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
                     for line in table)


def _run_real(args: argparse.Namespace) -> int:
    from specrecon.validation import evaluate_real

    factors = tuple(float(f) for f in args.brightness.split(",") if f.strip())
    illuminant = args.illuminant.split(",")[0] if args.illuminant else "D65"
    result = evaluate_real(args.model, args.data, illuminant=illuminant, n=args.n,
                           seed=args.seed, physical=args.physical is not False, brightness=factors,
                           baselines=not args.no_baselines, oracle=args.oracle,
                           device=args.device, tile_size=args.tile_size, mlp=args.mlp)
    print(json.dumps(result, indent=2) if args.json
          else format_real_table(result, per_class=args.per_class))
    return 0


def run(args: argparse.Namespace) -> int:
    """Handler of ``specrecon evaluate``; returns the exit status."""
    if args.data in ("real-natural", "real-satellite"):
        return _run_real(args)
    rows = evaluate_models(args.model, args.data, split=args.split, n=args.n, size=args.size,
                           seed=args.seed, ntire=args.ntire, whole_image=args.whole_image,
                           device=args.device, mrae_eps=args.mrae_eps,
                           illuminant=args.illuminant.split(",") if args.illuminant else None,
                           physical=args.physical, tile_size=args.tile_size)
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0
