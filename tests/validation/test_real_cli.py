"""``specrecon evaluate --data real-*`` and ``benchmarks/real_validation.py`` (plumbing only)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(importlib.util.find_spec("luxpy") is None,
                                reason="luxpy (held-out natural spectra) is not installed")


def _saved_tiny(tmp_path: Path) -> Path:
    import torch

    from specrecon.models import ModelCard, create_model, save_model

    torch.manual_seed(0)
    model = create_model("hydra-tiny-31")
    card = ModelCard.from_model(
        model, wavelengths=np.arange(400.0, 701.0, 10.0).tolist(), fwhm=[10.0] * 31,
        input_sensor="nikon_d5100", tile_size=32, tile_overlap=8,
        training={"recipe": {"data": {"kind": "synthetic-natural", "illuminant": "D65"}}})
    path = tmp_path / "tiny.safetensors"
    save_model(model, path, card)
    return path


def test_cli_real_natural_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from specrecon.cli import main

    path = str(_saved_tiny(tmp_path))
    assert main(["evaluate", "--model", path, "--data", "real-natural", "--n", "40",
                 "--brightness", "1.1", "--json", "--device", "cpu"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["set"] == "real-natural" and res["headline"] == "mrae_aligned"
    methods = {(r["method"], r["physical"]) for r in res["rows"]}
    assert {(m, p) for m in ("root-poly-2", "root-poly-3", "mean-spectrum")
            for p in (False, True)} <= methods
    assert all(set(r["brightness"]) == {"1.1"} for r in res["rows"] if not r["physical"])
    assert main(["evaluate", "--model", path, "--data", "real-natural", "--n", "40",
                 "--no-physical", "--no-baselines", "--per-class", "--brightness", "",
                 "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "MRAE-aligned" in text and "per class (mrae_aligned)" in text
    assert "root-poly" not in text and "tm30" in text


def test_cli_real_tile_size_reaches_the_mosaic(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    """``--tile-size`` runs the mosaic on that grid instead of the card's (32 px)."""
    from specrecon.cli import main

    path = str(_saved_tiny(tmp_path))
    scores = {}
    for extra in ([], ["--tile-size", "16"]):
        assert main(["evaluate", "--model", path, "--data", "real-natural", "--n", "40",
                     "--no-physical", "--no-baselines", "--brightness", "", "--json",
                     "--device", "cpu", *extra]) == 0
        res = json.loads(capsys.readouterr().out)
        assert ("tiles of 16 px" in res["protocol"]) == bool(extra)
        assert [r["method"] for r in res["rows"]] == [path]
        scores[bool(extra)] = res["rows"][0]["overall"]["mrae_aligned"]
    assert scores[True] != pytest.approx(scores[False], rel=1e-6)


def test_cli_real_mlp_adds_the_pixel_mlp_row(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from specrecon.cli import main

    path = str(_saved_tiny(tmp_path))
    assert main(["evaluate", "--model", path, "--data", "real-natural", "--n", "40",
                 "--no-physical", "--no-baselines", "--mlp", "--brightness", "", "--json",
                 "--device", "cpu"]) == 0
    res = json.loads(capsys.readouterr().out)
    rows = {r["method"]: r for r in res["rows"]}
    assert set(rows) == {path, "pixel-mlp"} and rows["pixel-mlp"]["kind"] == "baseline"
    assert 0.0 < rows["pixel-mlp"]["overall"]["mrae_aligned"] < 1.0


def test_benchmark_script_writes_report_with_command(tmp_path: Path) -> None:
    out = tmp_path / "rv.md"
    cmd = [sys.executable, str(REPO / "benchmarks" / "real_validation.py"), "--sets",
           "real-natural", "--n", "40", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=REPO,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text()
    assert "Command: `OMP_NUM_THREADS=1 python benchmarks/real_validation.py --sets" in text
    assert "hydra-natural-31" in text and "mstpp-natural-31" in text and "Targets:" in text
    results = json.loads(out.with_suffix(".json").read_text())
    assert results[0]["set"] == "real-natural" and results[0]["spectra"] >= 40
