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
