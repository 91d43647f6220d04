"""Interrupted + resumed runs end with exactly the weights of an uninterrupted run."""

from __future__ import annotations

import json

import pytest
import torch

from specrecon.models import create_model
from specrecon.training import TrainConfig, load_checkpoint, train_hydra


class Interrupt(Exception):
    pass


def _cfg() -> TrainConfig:
    return TrainConfig.from_dict({
        "model": "hydra-tiny-31", "progress": False, "device": "cpu", "seed": 3,
        "log_every": 1, "eval_every": 3, "checkpoint_every": 2,
        "data": {"patches_per_item": 2},   # 4 scenes x 2 = 8 items: epochs wrap within a stage
        "teacher": {"steps": 5, "patch_size": 8, "batch_size": 3},
        "student": {"steps": 7, "patch_size": 16, "batch_size": 3},
        "refine": {"steps": 4, "patch_size": 16, "batch_size": 3, "warmup_steps": 2}})


def _stop_at(stage: str, step: int):
    def callback(rec: dict) -> None:
        if rec["stage"] == stage and rec["step"] == step and rec["kind"] == "train":
            raise Interrupt
    return callback


@pytest.mark.parametrize("stage,step", [("teacher", 3), ("student", 5), ("refine", 1)])
def test_resume_reproduces_uninterrupted_run(tmp_path, scenes, val_scenes, stage, step) -> None:
    torch.manual_seed(0)
    ref = train_hydra(create_model("hydra-tiny-31"), scenes, val_scenes, _cfg(),
                      out_dir=tmp_path / "ref")

    torch.manual_seed(0)
    out = tmp_path / "cut"
    with pytest.raises(Interrupt):
        train_hydra(create_model("hydra-tiny-31"), scenes, val_scenes, _cfg(), out_dir=out,
                    callback=_stop_at(stage, step))
    ck = load_checkpoint(out / "checkpoint.pt")
    assert ck["partial"] is None or ck["partial"]["stage"] == stage

    torch.manual_seed(1234)  # a different initialisation: everything must come from the checkpoint
    resumed = train_hydra(create_model("hydra-tiny-31"), scenes, val_scenes, _cfg(), out_dir=out,
                          resume=True)
    a, b = ref.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k

    def losses(hist):
        return [(r["stage"], r["step"], r["loss"]) for r in hist if r["kind"] == "train"]

    assert losses(resumed.history) == losses(ref.history)
    assert resumed.metrics == ref.metrics
    # the log on disk is the history, without duplicates from the interrupted part
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert losses(lines) == losses(ref.history)
    assert (out / "loss_curve.png").stat().st_size > 1000


def test_resume_without_checkpoint_is_a_config_error(tmp_path, scenes) -> None:
    from specrecon.errors import ConfigError

    with pytest.raises(ConfigError, match="checkpoint"):
        train_hydra(create_model("hydra-tiny-31"), scenes, None, _cfg(), out_dir=tmp_path,
                    resume=True)


def test_resume_with_other_architecture_is_refused(tmp_path, scenes) -> None:
    from specrecon.errors import ConfigError

    cfg = _cfg().with_overrides(["student.steps=0", "refine.steps=0"])
    train_hydra(create_model("hydra-tiny-31"), scenes, None, cfg, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="same model architecture"):
        train_hydra(create_model("hydra-tiny-31", latent=4), scenes, None, cfg, out_dir=tmp_path,
                    resume=True)
