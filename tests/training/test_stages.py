"""Each training stage runs on CPU, lowers its loss, and freezes exactly what it should."""

from __future__ import annotations

import pytest
import torch

from specrecon.models import create_model
from specrecon.training import (
    TrainConfig,
    decoder_parameters,
    refine,
    train_baseline,
    train_direct,
    train_hydra,
    train_student,
    train_teacher,
)


def _cfg(**sections: dict) -> TrainConfig:
    base = {"model": "hydra-tiny-31", "progress": False, "log_every": 5, "eval_every": 0,
            "checkpoint_every": 0, "device": "cpu",
            "data": {"patches_per_item": 4, "augment": True}}
    return TrainConfig.from_dict({**base, **sections})


def _losses(result, stage: str) -> list[float]:
    return [r["loss"] for r in result.history if r["kind"] == "train" and r["stage"] == stage]


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("stage,fn,model_name,steps,lr", [
    ("teacher", train_teacher, "hydra-tiny-31", 40, 1e-2),
    ("student", train_student, "hydra-tiny-31", 40, 5e-3),
    ("refine", refine, "hydra-tiny-31", 40, 5e-3),
    ("direct", train_direct, "hydra-tiny-31", 40, 5e-3),
])
def test_stage_loss_drops(scenes, stage, fn, model_name, steps, lr) -> None:
    torch.manual_seed(0)
    model = create_model(model_name)
    cfg = _cfg(**{stage: {"steps": steps, "lr": lr, "batch_size": 4, "patch_size": 16,
                          "scheduler": "constant"}})
    result = fn(model, scenes, cfg)
    losses = _losses(result, stage)
    assert len(losses) == steps // 5
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.6 * losses[0], losses


def test_baseline_loss_drops(scenes, val_scenes) -> None:
    model = create_model("mst-plus-plus-tiny-31")
    cfg = _cfg(model="mst-plus-plus-tiny-31", stages=["baseline"],
               baseline={"steps": 40, "lr": 4e-3, "batch_size": 4, "patch_size": 16})
    result = train_baseline(model, scenes, val_scenes, cfg)
    losses = _losses(result, "baseline")
    assert losses[-1] < 0.6 * losses[0], losses
    assert set(result.metrics) == {"mrae", "rmse", "psnr", "sam"}
    assert result.best["baseline"]["mrae"] == pytest.approx(result.metrics["mrae"])


@pytest.mark.parametrize("target", ["latent", "spectrum"])
def test_student_stage_leaves_teacher_untouched(scenes, target) -> None:
    model = create_model("hydra-tiny-31")
    teacher0, student0 = _snapshot(model.teacher), _snapshot(model.student)
    train_student(model, scenes, _cfg(student={"steps": 6, "lr": 1e-2, "batch_size": 2,
                                               "patch_size": 16, "target": target}))
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, teacher0[k]), k
    changed = [k for k, v in model.student.state_dict().items() if not torch.equal(v, student0[k])]
    assert changed
    assert all(p.requires_grad for p in model.parameters())  # freezing is undone afterwards


@pytest.mark.parametrize("target", ["latent", "spectrum"])
def test_student_loss_compares_in_the_chosen_space(scenes, target) -> None:
    from specrecon.training.stages import _student_spec

    torch.manual_seed(0)
    model = create_model("hydra-tiny-31")
    cfg = _cfg(student={"target": target, "loss": "mrae", "mrae_eps": 0.01})
    spec = _student_spec(model, scenes, None, cfg)
    rgb, cube = torch.rand(2, 3, 16, 16), torch.rand(2, 31, 16, 16)
    with torch.no_grad():
        truth = cube if target == "spectrum" else model.teacher.encode(cube)
        pred = model.forward_latent(rgb)
        if target == "spectrum":
            pred = model.teacher.decode(pred)
        expected = ((pred - truth).abs() / (truth.abs() + 0.01)).mean()
    got = spec.loss((rgb, cube))
    assert got.requires_grad
    torch.testing.assert_close(got.detach(), expected, rtol=1e-5, atol=1e-6)


def test_refine_freezes_encoder_and_trains_decoder(scenes) -> None:
    model = create_model("hydra-tiny-31")
    dec_ids = {id(p) for p in decoder_parameters(model.teacher)}
    names = dict(model.teacher.named_parameters())
    enc_names = [n for n, p in names.items() if id(p) not in dec_ids]
    dec_names = [n for n, p in names.items() if id(p) in dec_ids]
    assert enc_names and dec_names
    before = _snapshot(model.teacher)
    refine(model, scenes, _cfg(refine={"steps": 6, "lr": 1e-2, "batch_size": 2, "patch_size": 16}))
    after = model.teacher.state_dict()
    for n in enc_names:
        assert torch.equal(after[n], before[n]), f"encoder parameter {n} changed"
    assert any(not torch.equal(after[n], before[n]) for n in dec_names)


def test_ablation_stage1_plus_3(scenes, val_scenes) -> None:
    cfg = _cfg(stages=["teacher", "refine"], eval_every=0,
               teacher={"steps": 4, "patch_size": 8, "batch_size": 2},
               refine={"steps": 4, "patch_size": 16, "batch_size": 2})
    result = train_hydra(create_model("hydra-tiny-31"), scenes, val_scenes, cfg)
    assert list(result.steps) == ["teacher", "refine"]
    assert "student" not in {r["stage"] for r in result.history}
    # the teacher stage validates the auto-encoding, the refine stage the full model
    val = [r for r in result.history if r["kind"] == "val"]
    assert [r["stage"] for r in val] == ["teacher", "refine"]


def test_train_hydra_rejects_baseline_and_non_hydra(scenes) -> None:
    from specrecon.errors import ConfigError, ModelMismatchError

    with pytest.raises(ConfigError, match="train_baseline"):
        train_hydra(create_model("hydra-tiny-31"), scenes, None, _cfg(stages=["baseline"]))
    with pytest.raises(ModelMismatchError, match="HYDRA"):
        train_hydra(create_model("mst-plus-plus-tiny-31"), scenes, None, _cfg())
