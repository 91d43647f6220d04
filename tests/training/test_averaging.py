"""Averaged weights (``ema_decay``): the update rule, a stage ending on the average, resume."""

from __future__ import annotations

import pytest
import torch

from specrecon.errors import ConfigError
from specrecon.models import create_model
from specrecon.training import TrainConfig, train_hydra
from specrecon.training.averaging import WeightAverage


def test_update_rule_matches_a_written_out_average() -> None:
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(5))
    avg = WeightAverage([p], decay=0.9)
    expected = p.detach().clone()
    for n in range(1, 100):
        with torch.no_grad():
            p.add_(torch.randn(5))
        avg.update([p])
        d = min(0.9, (1 + n) / (10 + n))
        expected = d * expected + (1 - d) * p.detach()
    target = torch.empty(5)
    avg.copy_to([target])
    torch.testing.assert_close(target, expected)
    assert avg.current_decay() == 0.9       # the warm-up reached the configured decay


def test_invalid_decay_and_foreign_state_are_refused() -> None:
    p = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ConfigError, match=r"decay in \(0, 1\)"):
        WeightAverage([p], decay=1.0)
    other = WeightAverage([torch.nn.Parameter(torch.zeros(4))], decay=0.5)
    with pytest.raises(ConfigError, match="same parameters"):
        WeightAverage([p], decay=0.5).load_state_dict(other.state_dict())


def _cfg(ema: float | None) -> TrainConfig:
    return TrainConfig.from_dict({
        "model": "hydra-tiny-31", "progress": False, "device": "cpu", "seed": 3,
        "log_every": 1, "eval_every": 0, "checkpoint_every": 2,
        "data": {"patches_per_item": 2},
        "teacher": {"steps": 3, "patch_size": 8, "batch_size": 3},
        "student": {"steps": 3, "patch_size": 16, "batch_size": 3},
        "refine": {"steps": 6, "patch_size": 16, "batch_size": 3, "ema_decay": ema}})


def test_refine_stage_ends_on_the_average_of_its_steps(scenes) -> None:
    """Every step's live weights are read in the callback and averaged by hand."""
    torch.manual_seed(0)
    model = create_model("hydra-tiny-31")
    names = [n for n, _ in model.named_parameters()]
    start: dict[str, torch.Tensor] = {}      # the weights the refinement begins with
    expected: dict[str, torch.Tensor] = {}   # their average, updated step by step
    count = 0

    def follow(rec: dict) -> None:
        nonlocal count
        if rec["kind"] != "train":
            return
        live = {n: p.detach().clone() for n, p in model.named_parameters()}
        if rec["stage"] == "student" and rec["step"] == 3:   # the student stage's last step
            start.update(live)
            expected.update(live)
        elif rec["stage"] == "refine":
            count += 1
            d = min(0.8, (1 + count) / (10 + count))
            for n in names:
                expected[n] = d * expected[n] + (1 - d) * live[n]

    result = train_hydra(model, scenes, None, _cfg(0.8), callback=follow)
    assert count == 6
    final = dict(result.model.named_parameters())
    moved = 0
    for n in names:
        torch.testing.assert_close(final[n].detach(), expected[n], rtol=1e-5, atol=1e-6)
        moved += int(not torch.equal(final[n].detach(), start[n]))
    assert moved > 0   # the refinement trained something, and the average shows it

    torch.manual_seed(0)
    plain = train_hydra(create_model("hydra-tiny-31"), scenes, None, _cfg(None))
    assert any(not torch.equal(a, b) for a, b in
               zip(plain.model.parameters(), result.model.parameters()))


class Stop(Exception):
    pass


def stop(rec: dict) -> None:
    """Interrupt a run after the third step of its refinement."""
    if rec["stage"] == "refine" and rec["kind"] == "train" and rec["step"] == 3:
        raise Stop


def test_resume_inside_an_averaged_stage_reproduces_the_run(tmp_path, scenes) -> None:
    torch.manual_seed(0)
    ref = train_hydra(create_model("hydra-tiny-31"), scenes, None, _cfg(0.8),
                      out_dir=tmp_path / "ref")
    torch.manual_seed(0)
    with pytest.raises(Stop):
        train_hydra(create_model("hydra-tiny-31"), scenes, None, _cfg(0.8),
                    out_dir=tmp_path / "cut", callback=stop)
    torch.manual_seed(99)
    resumed = train_hydra(create_model("hydra-tiny-31"), scenes, None, _cfg(0.8),
                          out_dir=tmp_path / "cut", resume=True)
    a, b = ref.model.state_dict(), resumed.model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_with_averaging_switched_on_midway_is_refused(tmp_path, scenes) -> None:
    with pytest.raises(Stop):
        train_hydra(create_model("hydra-tiny-31"), scenes, None, _cfg(None),
                    out_dir=tmp_path, callback=stop)
    with pytest.raises(ConfigError, match="ema_decay"):
        train_hydra(create_model("hydra-tiny-31"), scenes, None, _cfg(0.8),
                    out_dir=tmp_path, resume=True)
