"""Hydra composition, student, MST++ pieces."""

from __future__ import annotations

import pytest
import torch

from specrecon.models import Hydra, HydraStudent, create_model
from specrecon.models.mst_plus_plus import SpectralMSA
from specrecon.models.student import DGDFN, MDTA


def test_hydra_is_teacher_decode_of_student() -> None:
    m = create_model("hydra-tiny-202").eval()
    assert isinstance(m, Hydra)
    rgb = torch.rand(2, 3, 11, 13)
    with torch.no_grad():
        z = m.forward_latent(rgb)
        assert z.shape == (2, 17, 11, 13)
        assert torch.allclose(m(rgb), m.decode(z), atol=1e-6)
        cube = torch.rand(2, 202, 11, 13)
        assert m.encode(cube).shape == (2, 17, 11, 13)
        assert torch.allclose(m.encode(cube), m.teacher.encode(cube))


def test_training_stage_parameter_groups() -> None:
    m = create_model("hydra-tiny-31")
    enc = {id(p) for p in m.teacher.encoder_parameters()}
    dec = {id(p) for p in m.teacher.decoder_parameters()}
    assert enc and dec and not enc & dec
    assert enc | dec == {id(p) for p in m.teacher.parameters()}
    # stage 3: only the decoder (and student) receive gradients through forward(rgb)
    m(torch.rand(1, 3, 8, 8)).mean().backward()
    assert all(p.grad is None for p in m.teacher.encoder_parameters())
    assert all(p.grad is not None for p in m.teacher.decoder_parameters())


def test_student_output_has_long_residual() -> None:
    s = HydraStudent(latent=6, dim=4, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1))
    with torch.no_grad():
        s.out_conv.weight.zero_()
        s.out_conv.bias.zero_()
        rgb = torch.rand(1, 3, 8, 8)
        expected = s.skip_proj(s.embed(rgb))
        assert torch.allclose(s(rgb), expected, atol=1e-6)


def test_mdta_is_channel_attention() -> None:
    """Transposed attention: cost does not grow with pixels^2 and output is permutation
    equivariant over pixels apart from the depth-wise conv (1x1 inputs have no neighbours)."""
    mdta = MDTA(8, 2).eval()
    x = torch.rand(1, 8, 1, 40)
    with torch.no_grad():
        for conv in (mdta.qkv[1],):
            conv.weight.zero_()
            conv.weight[:, :, 1, 1] = 1.0  # depth-wise conv -> identity
        perm = torch.randperm(40)
        y = mdta(x)
        y_perm = mdta(x[..., perm])
    assert torch.allclose(y[..., perm], y_perm, atol=1e-5)


def test_dgdfn_dual_gate_is_symmetric() -> None:
    f = DGDFN(4, 1.0)
    x = torch.rand(1, 4, 5, 5)
    with torch.no_grad():
        out = f(x)
        w = f.gates[0].weight.clone()
        hidden = w.shape[0] // 2
        f.gates[0].weight.copy_(torch.cat([w[hidden:], w[:hidden]]))
        dw = f.gates[1].weight.clone()
        f.gates[1].weight.copy_(torch.cat([dw[hidden:], dw[:hidden]]))
        swapped = f(x)
    assert torch.allclose(out, swapped, atol=1e-6)


def test_spectral_msa_shapes_and_heads() -> None:
    msa = SpectralMSA(16, 8)
    assert msa.heads == 2
    assert msa(torch.rand(2, 16, 6, 7)).shape == (2, 16, 6, 7)


def test_mst_plus_plus_paper_scale_params() -> None:
    n = sum(p.numel() for p in create_model("mst-plus-plus-31").parameters())
    assert n == pytest.approx(1.62e6, rel=0.05)  # published: 1.62 M


def test_small_configs_are_small_and_comparable() -> None:
    for bands in (31, 202):
        h = create_model(f"hydra-small-{bands}")
        m = create_model(f"mst-plus-plus-small-{bands}")
        nh = sum(p.numel() for p in h.parameters())
        nm = sum(p.numel() for p in m.parameters())
        assert nh < 500_000 and nm < 500_000
