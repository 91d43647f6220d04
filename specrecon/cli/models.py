"""``specrecon models``: shipped weights with their model cards, and registered architectures."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from specrecon.models import ModelCard

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand."""
    p = subparsers.add_parser(
        "models", help="list shipped models (with their cards) and registered architectures",
        description="List the shipped pretrained models with their model cards, and the "
                    "registered architecture configurations usable with create_model().")
    p.add_argument("name", nargs="?", help="show the full model card of one shipped model")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=run)


def _card_summary(card: ModelCard) -> dict[str, object]:
    wl = list(card.wavelengths)
    metrics = card.metrics or {}
    val = metrics.get("validation", metrics)
    return {
        "name": card.name,
        "architecture": card.architecture,
        "bands": card.bands,
        "range_nm": f"{wl[0]:.0f}-{wl[-1]:.0f}" if wl else "?",
        "input_sensor": card.input_sensor,
        "mrae": val.get("mrae") if isinstance(val, dict) else None,
        "psnr": val.get("psnr") if isinstance(val, dict) else None,
        "sha256": card.sha256[:12],
    }


def run(args: argparse.Namespace) -> int:
    """Print the shipped models and the registry."""
    from specrecon.models import (
        ModelCard,
        create_model,
        list_models,
        list_pretrained,
        pretrained_path,
    )
    from specrecon.models.registry import get_model_family

    if args.name:
        path = pretrained_path(args.name)  # raises UnknownModelError with suggestions
        print(path.with_suffix(".json").read_text())
        return 0
    cards = [ModelCard.from_json(pretrained_path(n).with_suffix(".json").read_text())
             for n in list_pretrained()]
    shipped = [_card_summary(c) for c in cards]
    registered = [{"name": n, "family": get_model_family(n),
                   "parameters": sum(p.numel() for p in create_model(n).parameters())}
                  for n in list_models()]
    if args.json:
        print(json.dumps({"shipped": shipped, "registered": registered}, indent=2))
        return 0
    print("Shipped models (load with specrecon.load_model(NAME) or reconstruct(model=NAME)):")
    if not shipped:
        print("  (none)")
    for s in shipped:
        metric = (f"  val MRAE {s['mrae']:.4f}  PSNR {s['psnr']:.2f} dB"
                  if isinstance(s["mrae"], float) and isinstance(s["psnr"], float) else "")
        print(f"  {s['name']:<24} {s['architecture']:<14} {s['bands']:>4} bands "
              f"{s['range_nm']:>10} nm  from {s['input_sensor']}{metric}  sha256 {s['sha256']}")
    print("\nRegistered architectures (untrained; specrecon.create_model(NAME)):")
    for r in registered:
        print(f"  {r['name']:<28} {r['family']:<14} {r['parameters'] / 1e6:6.2f} M parameters")
    return 0
