"""``specrecon train`` / ``specrecon evaluate`` end to end on a tiny recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specrecon.cli import main

TINY = """
name: tiny-natural
model: hydra-tiny-31
seed: 0
device: cpu
progress: false
data: {kind: synthetic-natural, n_train: 2, n_val: 1, size: 32, seed: 0, sensor: nikon_d5100,
       patches_per_item: 2}
teacher: {steps: 2, batch_size: 2, patch_size: 8}
student: {steps: 2, batch_size: 2, patch_size: 16}
refine: {steps: 2, batch_size: 2, patch_size: 16}
eval_every: 0
checkpoint_every: 1
log_every: 1
"""


@pytest.fixture()
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_train_writes_weights_card_log_and_plot(tmp_path, recipe, capsys) -> None:
    from specrecon.models import load_model

    out = tmp_path / "run"
    assert main(["train", "--config", str(recipe), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "validation: mrae=" in printed
    weights = out / "tiny-natural.safetensors"
    model = load_model(weights)                      # checks the sha256 against the card
    card = model.card
    assert card.name == "tiny-natural" and card.bands == 31
    assert card.input_sensor == "nikon_d5100"
    assert card.wavelengths[0] == 400.0 and card.wavelengths[-1] == 700.0
    assert card.tile_size == 16 and card.tile_overlap == 4
    assert set(card.metrics["validation"]) == {"mrae", "rmse", "psnr", "sam"}
    # a camera model gets its exposure calibrated at export: physical consistency per
    # pixel, on by default
    assert 0.0 < card.metrics["physical_exposure"] < 100.0
    assert card.training["steps"]["student"]["steps"] == 2
    assert card.training["wall_time_s"]["total"] > 0
    assert "train --config" in card.training["command"]
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in records if r["kind"] == "train"] == \
        ["teacher"] * 2 + ["student"] * 2 + ["refine"] * 2
    assert [r["stage"] for r in records if r["kind"] == "val"] == ["teacher", "student", "refine"]
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "config.yaml").exists()

    assert main(["evaluate", "--model", str(weights), "--data", "synthetic-natural",
                 "--n", "1", "--size", "32", "--whole-image", "--no-physical"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[-4:] == ["MRAE", "RMSE", "PSNR", "SAM"]
    row = table[1].split()
    assert row[0] == str(weights) and row[3] == "1"
    # whole-image evaluation of the validation scene = the validation metric of training
    assert float(row[-4]) == pytest.approx(card.metrics["validation"]["mrae"], rel=1e-3)
    assert main(["evaluate", "--model", str(weights), "--data", "synthetic-natural",
                 "--n", "1", "--size", "32", "--whole-image"]) == 0
    assert "physical consistency" in capsys.readouterr().out     # the model's default
    # --tile-size: one tile as large as the scene is the whole-image result; a smaller
    # tile is another protocol (named in the table)
    scores = {}
    for tile in ("32", "16"):
        assert main(["evaluate", "--model", str(weights), "--data", "synthetic-natural",
                     "--n", "1", "--size", "32", "--tile-size", tile, "--no-physical",
                     "--json"]) == 0
        (res,) = json.loads(capsys.readouterr().out)
        assert res["protocol"] == f"tiled {tile} px"
        scores[tile] = res["mrae"]
    assert scores["32"] == pytest.approx(float(row[-4]), rel=1e-5)
    assert scores["16"] != pytest.approx(float(row[-4]), rel=1e-5)


def test_stage_by_stage_and_errors(tmp_path, recipe, capsys) -> None:
    out = tmp_path / "run"
    # a later stage without the earlier one is a one-line error (exit status 2)
    assert main(["train", "--config", str(recipe), "--stage", "student", "--out", str(out)]) == 2
    assert "run --stage teacher" in capsys.readouterr().err
    assert main(["train", "--config", str(recipe), "--stage", "teacher", "--out", str(out)]) == 0
    assert main(["train", "--config", str(recipe), "--stage", "student", "--out", str(out),
                 "--set", "student.steps=3"]) == 0
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    stages = [r["stage"] for r in records if r["kind"] == "train"]
    assert stages == ["teacher"] * 2 + ["student"] * 3
    # an unknown override key names the valid ones
    assert main(["train", "--config", str(recipe), "--set", "teacher.stepz=1",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'teacher.stepz'" in err and "steps" in err


def test_evaluate_rejects_bad_data_spec(capsys) -> None:
    assert main(["evaluate", "--model", "x", "--data", "arad1k"]) == 2
    assert "arad1k:ROOT" in capsys.readouterr().err


def test_evaluate_defaults_to_the_illuminants_a_model_was_trained_under() -> None:
    from specrecon.cli.evaluate import _trained_illuminant
    from specrecon.models import load_model

    card = load_model("hydra-natural-31").card
    assert _trained_illuminant(card, "synthetic-natural") == ["D50", "D55", "D65", "D75"]
    assert _trained_illuminant(card, "synthetic-satellite") is None
    assert _trained_illuminant(None, "synthetic-natural") is None


def test_tile_size_sets_the_card_tiling_not_the_training(tmp_path, recipe, capsys) -> None:
    from specrecon.models import load_model

    runs = {}
    for name, extra in (("default", []), ("tiled", ["--set", "tile_size=24"]),
                        ("overlap", ["--set", "tile_size=24", "--set", "tile_overlap=5"])):
        out = tmp_path / name
        assert main(["train", "--config", str(recipe), "--out", str(out), *extra]) == 0
        runs[name] = load_model(out / "tiny-natural.safetensors")
    assert (runs["default"].card.tile_size, runs["default"].card.tile_overlap) == (16, 4)
    assert (runs["tiled"].card.tile_size, runs["tiled"].card.tile_overlap) == (24, 6)
    assert runs["tiled"].card.training["recipe"]["tile_size"] == 24
    assert (runs["overlap"].card.tile_size, runs["overlap"].card.tile_overlap) == (24, 5)
    # the same weights: the tile size is an inference setting
    a, b = runs["default"].state_dict(), runs["tiled"].state_dict()
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
    capsys.readouterr()
    assert main(["train", "--config", str(recipe), "--set", "tile_size=0",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "tile_size" in capsys.readouterr().err
    assert main(["train", "--config", str(recipe), "--set", "tile_overlap=16",   # >= tile 16
                 "--out", str(tmp_path / "bad2")]) == 2
    assert "tile_overlap" in capsys.readouterr().err
    assert main(["train", "--config", str(recipe), "--set", "tile_overlap=wide",  # not a number
                 "--out", str(tmp_path / "bad3")]) == 2
    assert "tile_overlap" in capsys.readouterr().err
