"""The fast student path computes the same function as the reference implementation."""

from __future__ import annotations

import pytest
import torch

from specrecon.errors import ConfigError
from specrecon.models.student import HydraStudent


@pytest.mark.parametrize("dim,heads,bias,expansion", [
    (4, (1, 1, 1, 1), False, 1.0),
    (8, (1, 2, 2, 4), False, 1.5),
    (8, (2, 2, 4, 8), True, 2.0),
    (12, (1, 2, 2, 4), False, 1.0),   # the shipped natural student (hydra-mid-31)
])
def test_fast_student_matches_reference(dim: int, heads: tuple, bias: bool,
                                        expansion: float) -> None:
    torch.manual_seed(dim)
    s = HydraStudent(latent=6, dim=dim, blocks=(1, 1, 2, 1), heads=heads, bias=bias,
                     expansion=expansion)
    with torch.no_grad():  # non-default temperatures and biases
        for p in s.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x = torch.rand(2, 3, 19, 13)
    with torch.no_grad():
        assert (s(x) - s(x, kernel="reference")).abs().max() < 1e-5
    w = torch.randn(2, 6, 19, 13)
    grads = {}
    for kernel in ("fast", "reference"):
        s.zero_grad()
        (s(x, kernel=kernel) * w).sum().backward()
        grads[kernel] = [p.grad.clone() for p in s.parameters()]
    for (name, _), a, b in zip(s.named_parameters(), grads["fast"], grads["reference"]):
        assert (a - b).abs().max() <= 1e-4 * b.abs().max().clamp_min(1e-8), name


def test_fast_student_output_is_standard_contiguous() -> None:
    s = HydraStudent(latent=17, dim=4, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1))
    with torch.no_grad():
        out = s(torch.rand(1, 3, 16, 16))
    assert out.is_contiguous() and out.shape == (1, 17, 16, 16)


def test_unknown_student_kernel_is_refused() -> None:
    s = HydraStudent(latent=6, dim=4, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1))
    with pytest.raises(ConfigError, match="student kernel"):
        s(torch.rand(1, 3, 8, 8), kernel="nope")


def test_training_runs_the_plain_operations_bit_for_bit() -> None:
    """With gradients the inference-only rewrites are skipped, so a training step computes
    exactly what it computed before them (the shipped weights retrain byte-identically);
    without gradients the rewrites give the same values within rounding."""
    import torch.nn.functional as F

    from specrecon.models.student import _down_fast, _nchw, _norm_pointwise, _pixels

    torch.manual_seed(0)
    s = HydraStudent(latent=6, dim=4, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1))
    attn = s.encoder[0][0].attn
    with torch.no_grad():
        attn.norm.weight.add_(torch.randn(4))
        attn.norm.bias.add_(torch.randn(4))
    x = torch.randn(2, 4, 8, 6).contiguous(memory_format=torch.channels_last)
    plain = _nchw(F.linear(
        F.layer_norm(_pixels(x), (4,), attn.norm.weight, attn.norm.bias, attn.norm.eps),
        attn.qkv[0].weight[:, :, 0, 0]))
    assert torch.equal(_norm_pointwise(x, attn.norm, attn.qkv[0]), plain)
    assert torch.equal(_down_fast(x, s.down[0]), s.down[0](x))
    with torch.no_grad():
        assert (_norm_pointwise(x, attn.norm, attn.qkv[0]) - plain).abs().max() < 1e-5
        assert (_down_fast(x, s.down[0]) - s.down[0](x)).abs().max() < 1e-5


def test_fast_path_follows_weight_changes() -> None:
    """The folded weights the inference path keeps are rebuilt after the parameters change
    in place (an optimiser step, ``load_state_dict``) or move: never a stale copy."""
    torch.manual_seed(3)
    s = HydraStudent(latent=6, dim=12, blocks=(1, 1, 1, 1), heads=(1, 2, 2, 4),
                     expansion=1.0)
    x = torch.rand(1, 3, 16, 16)
    with torch.inference_mode():
        before = s(x)
    other = HydraStudent(latent=6, dim=12, blocks=(1, 1, 1, 1), heads=(1, 2, 2, 4),
                         expansion=1.0)
    s.load_state_dict(other.state_dict())
    with torch.inference_mode():
        after = s(x)
        assert (after - before).abs().max() > 1e-3
        assert (after - other(x, kernel="reference")).abs().max() < 1e-5
    opt = torch.optim.SGD(s.parameters(), lr=0.1)
    s(x).square().mean().backward()  # training: gradients reach every parameter
    assert all(p.grad is not None for p in s.parameters())
    opt.step()
    with torch.no_grad():
        assert (s(x) - s(x, kernel="reference")).abs().max() < 1e-5
    s.double()
    with torch.no_grad():
        assert (s(x.double()) - s(x.double(), kernel="reference")).abs().max() < 1e-9


@pytest.mark.parametrize("dim", [1, 11])
def test_odd_student_width_is_refused_clearly(dim: int) -> None:
    """An odd width cannot be halved before the pixel unshuffle: refused at construction
    with what to change, not a matrix-shape error deep inside the first forward pass."""
    with pytest.raises(ConfigError, match="even dim"):
        HydraStudent(latent=6, dim=dim, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1))


def test_fast_path_under_bf16_autocast_then_float32() -> None:
    """Under CPU bf16 autocast the fast path runs (no in-place sum across dtypes) and stays
    close to the reference; what it keeps is in the parameters' dtype, so float32 inference
    afterwards is exact again; a bf16 round trip of the weights leaves nothing stale."""
    torch.manual_seed(5)
    s = HydraStudent(latent=6, dim=12, blocks=(1, 1, 1, 1), heads=(1, 2, 2, 4),
                     expansion=1.0)
    x = torch.rand(1, 3, 16, 16)
    with torch.inference_mode():
        ref = s(x, kernel="reference")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = s(x)
        assert low.dtype == torch.bfloat16
        assert (low.float() - ref).abs().max() < 0.1 * ref.abs().max()
        assert (s(x) - ref).abs().max() < 1e-5
    s.to(torch.bfloat16)
    with torch.inference_mode():
        s(x.bfloat16())
    s.to(torch.float32)
    with torch.inference_mode():
        assert (s(x) - s(x, kernel="reference")).abs().max() < 1e-5
