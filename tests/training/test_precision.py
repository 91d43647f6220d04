"""Training precision and losses: one device/precision vocabulary, losses from metrics."""

from __future__ import annotations

import pytest
import torch

from specrecon.errors import ConfigError
from specrecon.training.config import TrainConfig
from specrecon.training.data import BatchSource
from specrecon.training.loop import Run, StageSpec, loss_function, use_bf16


class _Fixed(BatchSource):
    def batch(self, step: int) -> torch.Tensor:
        return torch.rand(2, 3, 4, 4)


def _run_one_step(precision: str) -> list[tuple[bool, torch.dtype, torch.dtype]]:
    net = torch.nn.Conv2d(3, 3, 1)
    seen: list[tuple[bool, torch.dtype, torch.dtype]] = []

    def loss(batch: torch.Tensor) -> torch.Tensor:
        out = net(batch)
        seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"),
                     out.dtype))
        return out.float().square().mean()

    cfg = TrainConfig(model="hydra-tiny-31", stages=("baseline",), device="cpu",
                      precision=precision, progress=False, log_every=1, eval_every=0,
                      checkpoint_every=0)
    cfg.baseline.steps = 1
    run = Run(net, cfg)
    spec = StageSpec("baseline", list(net.parameters()), [], [net], [], loss, None, _Fixed())
    run.run_stage(spec)
    return seen


def test_bf16_training_on_cpu_really_autocasts() -> None:
    (enabled, dtype, out_dtype), = _run_one_step("bf16")
    assert enabled and dtype == torch.bfloat16 and out_dtype == torch.bfloat16
    (enabled, _, out_dtype), = _run_one_step("fp32")
    assert not enabled and out_dtype == torch.float32


def test_precision_vocabulary_and_fp16_training_refused() -> None:
    cpu = torch.device("cpu")
    assert use_bf16("bfloat16", cpu) and use_bf16("bf16", cpu)
    assert not use_bf16("auto", cpu) and not use_bf16("float32", cpu)
    with pytest.raises(ConfigError, match="bf16"):
        use_bf16("fp16", cpu)


def test_mrae_loss_is_metrics_mrae_with_identical_numerics() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 31, 8, 8, generator=g)
    target[0, 0, 0, 0] = 0.0                              # eps guards zero reflectance
    pred = (target + 0.1 * torch.randn(2, 31, 8, 8, generator=g)).requires_grad_(True)
    eps = 1e-3
    new = loss_function("mrae", eps=eps)(pred, target)
    (g_new,) = torch.autograd.grad(new, pred)
    old = ((pred - target).abs() / (target.abs() + eps)).mean()   # the former inline formula
    (g_old,) = torch.autograd.grad(old, pred)
    assert torch.equal(new, old) and torch.equal(g_new, g_old)
