"""The fast teacher kernels compute the same function as the reference Conv1d teacher.

The reference implementation (``kernel="reference"``) is the oracle: outputs within 1e-5
(fp32) and gradients within 1e-4 relative, for random weights, band counts 31, 202, 204
and odd ones, several latent sizes and kernel sizes, with and without the linear
shortcut, through the inference path (no grad, reused buffers) and the differentiable
path, over several pixel chunks including a partial last one.
"""

from __future__ import annotations

import pytest
import torch

from specrecon.errors import ConfigError
from specrecon.models import teacher_kernels as tk
from specrecon.models.teacher import HydraTeacher

CASES = [
    # bands, latent, channels, kernel, shortcut[, activation (default gelu)]
    (202, 17, (1, 2, 2), 5, True, "relu"),     # hydra-fast-202's teacher
    (31, 6, (1, 4), 3, False, "silu"),
    (31, 6, (8, 16), 5, True),
    (31, 4, (4, 8), 5, False),
    (31, 8, (4, 8), 3, True),
    (202, 17, (4, 8, 8), 5, True),
    (202, 13, (2, 2, 2), 5, True),
    (202, 34, (4, 4), 7, False),
    (204, 17, (8, 16, 32), 5, True),
    (37, 5, (3, 5), 5, True),
    (33, 3, (4, 4, 4), 1, False),
    (2, 1, (2,), 3, True),
    (31, 6, (65,), 3, True),    # head on 65 channels: oneDNN conv, its bias not folded
]


def _teacher(bands: int, latent: int, channels: tuple[int, ...], k: int,
             shortcut: bool, activation: str = "gelu") -> HydraTeacher:
    torch.manual_seed(bands * 100 + latent)
    t = HydraTeacher(bands, latent, channels, kernel_size=k, activation=activation,
                     linear_shortcut=shortcut)
    with torch.no_grad():  # non-trivial biases so boundary terms are exercised
        for p in t.parameters():
            p.add_(0.1 * torch.randn_like(p))
    t.fast_chunk_elements = 1  # smallest chunk (64 px): several chunks per image
    return t


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"b{c[0]}-z{c[1]}-c{c[2]}-k{c[3]}-{c[4]}")
def test_outputs_match_reference_without_grad(case: tuple) -> None:
    t = _teacher(*case)
    bands, latent = case[0], case[1]
    cube = torch.rand(2, bands, 11, 13)           # 143 px per image: 3 chunks, last partial
    z = torch.randn(2, latent, 11, 13)
    spectra = torch.rand(150, bands)
    with torch.no_grad():
        assert (t.encode(cube) - t.encode(cube, kernel="reference")).abs().max() < 1e-5
        assert (t.decode(z) - t.decode(z, kernel="reference")).abs().max() < 1e-5
        assert (t.encode(spectra) - t.encode(spectra, kernel="reference")).abs().max() < 1e-5
        one = z[:1]
        assert (t.decode(one) - t.decode(one, kernel="reference")).abs().max() < 1e-5


@pytest.mark.parametrize("case", CASES[:10], ids=lambda c: f"b{c[0]}-z{c[1]}-c{c[2]}-k{c[3]}")
def test_gradients_match_reference(case: tuple) -> None:
    t = _teacher(*case)
    bands, latent = case[0], case[1]
    cube = torch.rand(1, bands, 9, 15)
    z = torch.randn(1, latent, 9, 15)
    weight = torch.randn(1, bands, 9, 15)

    def grads(kernel: str) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        t.zero_grad()
        zz = z.clone().requires_grad_(True)
        out = t.decode(zz, kernel=kernel)
        loss = (out * weight).sum() + t.encode(cube, kernel=kernel).pow(2).sum()
        loss.backward()
        assert zz.grad is not None
        return out.detach(), [p.grad.clone() for p in t.parameters()], zz.grad.clone()

    out_f, g_f, gz_f = grads("fast")
    out_r, g_r, gz_r = grads("reference")
    assert (out_f - out_r).abs().max() < 1e-5
    assert _rel(gz_f, gz_r) < 1e-4
    for (name, _), a, b in zip(t.named_parameters(), g_f, g_r):
        assert _rel(a, b) < 1e-4, name


def test_polyphase_equals_upsample_then_conv_for_all_lengths() -> None:
    torch.manual_seed(0)
    for k in (1, 3, 5, 7, 9):
        w, b = torch.randn(3, 2, k), torch.randn(3)
        for m in (1, 2, 5, 26):
            x = torch.randn(2, m, 4)
            for length in {2 * m, max(1, 2 * m - 1)}:
                up = x.repeat_interleave(2, dim=1)[:, :length]
                ref = tk.band_conv(up, w, b)
                assert torch.allclose(tk.upsample_conv(x, w, b, length), ref, atol=1e-5)


def test_kernel_choice_is_validated_and_default_is_fast() -> None:
    t = HydraTeacher(31, 6, (4,))
    assert t.kernel == "fast"
    with pytest.raises(ConfigError, match="teacher kernel"):
        t.decode(torch.zeros(1, 6), kernel="cuda-magic")


def test_fast_path_keeps_the_bands_first_layout_contiguous() -> None:
    t = HydraTeacher(202, 17, (2, 2, 2))
    with torch.no_grad():
        out = t.decode(torch.randn(3, 17, 4, 5))
    assert out.shape == (3, 202, 4, 5) and out.is_contiguous()


def test_fast_path_under_bf16_autocast_runs_in_float32() -> None:
    t = HydraTeacher(202, 17, (2, 2, 2), linear_shortcut=True)
    z = torch.randn(1, 17, 6, 7)
    with torch.no_grad():
        ref = t.decode(z, kernel="reference")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = t.decode(z.bfloat16())
            code = t.encode(ref.bfloat16())
    assert fast.dtype == torch.float32 and code.dtype == torch.float32
    # the only difference is the bf16 rounding of the input code
    assert (fast - t.decode(z.bfloat16().float(), kernel="reference")).abs().max() < 1e-5
    assert (fast - ref).abs().max() < 0.05


@pytest.mark.parametrize("pixels", [1, 63, 64, 100, 5184, 5185, 16384, 20000, 65536])
def test_inference_chunks_split_the_pixels_evenly(pixels: int) -> None:
    """Same number of chunks as the plain step, none above it, sizes a multiple of 64 and
    the last chunk short of the others by less than 64 px per chunk (a 128 px tile:
    4 x 4096, not 3 x 5184 + 832)."""
    step = 5184
    size = tk._balanced(step, pixels)
    assert size % 64 == 0 and size <= step
    chunks = -(-pixels // size)
    assert chunks == -(-pixels // step)
    assert pixels - (chunks - 1) * size > size - 64 * chunks or chunks == 1
    if pixels == 16384:
        assert size == 4096
