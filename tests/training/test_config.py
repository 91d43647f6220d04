"""TrainConfig: file round trips, strict keys, overrides, validation; the shipped recipes load."""

from __future__ import annotations

from pathlib import Path

import pytest

from specrecon.errors import ConfigError
from specrecon.training import TrainConfig

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("**/*.yaml"))


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip(tmp_path, suffix) -> None:
    cfg = TrainConfig.from_dict({
        "name": "x", "model": "hydra-tiny-31", "stages": ["teacher", "refine"], "seed": 7,
        "teacher": {"steps": 11, "lr": 3e-3}, "refine": {"grad_clip": 1.0, "betas": [0.8, 0.9]},
        "data": {"kind": "synthetic-satellite", "n_train": 3, "sensor": "sentinel2_msi_rgb"}})
    back = TrainConfig.from_file(cfg.to_file(tmp_path / f"c{suffix}"))
    assert back == cfg
    assert back.stages == ("teacher", "refine")
    assert back.teacher.loss == "huber"          # a partial section keeps the stage's defaults
    assert back.refine.grad_clip == 1.0 and back.refine.betas == [0.8, 0.9]


@pytest.mark.parametrize("raw,key", [
    ({"stepz": 1}, "'stepz'"),
    ({"teacher": {"step": 1}}, "'step'"),
    ({"data": {"kindd": "x"}}, "'kindd'"),
])
def test_unknown_keys_name_the_valid_ones(raw, key) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict(raw)
    msg = str(info.value)
    assert key in msg
    assert "steps" in msg or "kind" in msg or "model" in msg


def test_unknown_key_in_file(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model: hydra-tiny-31\nrefine:\n  lr: 1e-4\n  patchsize: 32\n")
    with pytest.raises(ConfigError, match="'patchsize'.*To fix"):
        TrainConfig.from_file(path)


@pytest.mark.parametrize("raw,match", [
    ({"stages": ["student", "teacher"]}, "order"),
    ({"stages": ["direct", "refine"]}, "only stage"),
    ({"stages": ["teacher", "distill"]}, "distill"),
    ({"teacher": {"loss": "l3"}}, "teacher.loss"),
    ({"student": {"steps": "many"}}, "integer"),
    ({"data": {"kind": "arad1k"}}, "data.root"),
    ({"precision": "fp8"}, "precision"),
    ({"data": {"brightness_range": [1.3, 0.7]}}, "brightness_range"),
    ({"tile_overlap": "wide"}, "tile_overlap"),
    ({"tile_size": 32, "tile_overlap": 32}, r"tile_overlap as an integer in \[0, 32\)"),
    ({"refine": {"ema_decay": 1.0}}, r"refine.ema_decay in \(0, 1\)"),
    ({"student": {"ema_decay": 0.0}}, r"student.ema_decay in \(0, 1\)"),
    ({"student": {"target": "cube"}}, "student.target"),
    ({"refine": {"target": "spectrum"}}, "only the student stage"),
])
def test_invalid_values(raw, match) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_dict(raw)


def test_overrides_and_aliases() -> None:
    cfg = TrainConfig().with_overrides(["stage1.steps=5", "stage3.lr=1e-5", "data.n_val=0",
                                        "stages=[direct]", "model_overrides={latent: 4}"])
    assert cfg.teacher.steps == 5 and cfg.refine.lr == 1e-5 and cfg.data.n_val == 0
    assert cfg.stages == ("direct",) and cfg.model_overrides == {"latent": 4}
    assert TrainConfig().with_overrides(
        ["data.brightness_range=[0.7, 1.3]"]).data.brightness_range == [0.7, 1.3]
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        cfg.with_overrides(["teacher.steps"])
    with pytest.raises(ConfigError, match="'refine.nope'"):
        cfg.with_overrides(["refine.nope=1"])


def test_overrides_may_add_keys_to_free_form_sections_only() -> None:
    cfg = TrainConfig().with_overrides(["model_overrides.teacher_activation=relu",
                                        "model_overrides.latent=4", "data.options.residuals=0.5"])
    assert cfg.model_overrides == {"teacher_activation": "relu", "latent": 4}
    assert cfg.data.options == {"residuals": 0.5}
    with pytest.raises(ConfigError, match="'data.nope'"):
        cfg.with_overrides(["data.nope=1"])


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_recipes_load(path) -> None:
    cfg = TrainConfig.from_file(path)
    assert cfg.name == path.stem
    assert cfg.data.kind.startswith("synthetic-") and cfg.data.n_val > 0


def test_four_shipped_recipes_exist() -> None:
    assert {p.stem for p in CONFIGS} >= {"hydra-natural-31", "hydra-satellite-202",
                                         "mstpp-natural-31", "mstpp-satellite-202"}


def test_data_illuminant_reaches_synthetic_scenes() -> None:
    from specrecon.training import load_data
    from specrecon.training.config import DataConfig

    train, val = load_data(DataConfig(kind="synthetic-natural", n_train=3, n_val=1, size=16,
                                       illuminant=["A"]))
    assert {s.cube.attrs["illuminant"] for s in [*train, *val]} == {"A"}


def test_tile_overlap_checked_before_it_is_used() -> None:
    # built in Python (no from_dict coercion): a clear error, not int()'s ValueError
    with pytest.raises(ConfigError, match=r"tile_overlap as an integer in \[0, 64\)"):
        TrainConfig(stages=("teacher", "student"), tile_overlap="wide").validate()  # type: ignore[arg-type]
    assert TrainConfig(stages=("teacher", "student"), tile_overlap=8).validate().card_tiling() == (64, 8)
