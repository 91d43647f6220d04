"""MCGA: every registered configuration runs forward/backward (both stages' passes) at any
size; quantization returns codebook vectors; test-time adaptation works on a copy and
never touches the given model; save/load and tiled inference work."""

from __future__ import annotations

import pytest
import torch

from specrecon.models import ModelCard, create_model, list_models, load_model, save_model
from specrecon.models.mcga import (
    MCGA,
    GrayscaleAttention,
    MCGAConfig,
    mixture_of_codebooks,
    tta_adapt,
)

NAMES = list_models("mcga")


def test_every_size_and_band_count_is_registered() -> None:
    for size in ("tiny", "small"):
        for bands in (31, 202):
            assert f"mcga-{size}-{bands}" in NAMES
    assert {"mcga-31", "mcga-202"} <= set(NAMES)


@pytest.mark.parametrize("name", [n for n in NAMES if "tiny" in n or "small" in n])
def test_forward_backward_of_both_stages(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name)
    rgb = torch.rand(2, 3, 13, 22)
    out = model(rgb)
    assert out.shape == (2, model.bands, 13, 22) and torch.isfinite(out).all()
    (out - 0.5).abs().mean().backward()
    trained = {id(p) for p in model.mapping_parameters()}
    for k, p in model.named_parameters():
        if id(p) in trained:
            assert p.grad is not None and torch.isfinite(p.grad).all(), k
    model.zero_grad(set_to_none=True)
    cube = torch.rand(2, model.bands, 9, 14)
    rec, vq = model.autoencode(cube)
    assert rec.shape == cube.shape
    (rec.mean() + vq).backward()
    for p in model.prior_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()
    assert model.codebooks.grad.abs().sum() > 0


@pytest.mark.parametrize("name", [n for n in NAMES if "tiny" not in n and "small" not in n])
def test_paper_scale_forward(name: str) -> None:
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 8, 9))
    assert out.shape == (1, model.bands, 8, 9)
    # the paper reports 0.76 M (31 bands) / 0.80 M (202 bands) parameters
    assert 0.6e6 < model.num_parameters() < 0.95e6


def test_quantization_returns_codebook_vectors() -> None:
    torch.manual_seed(0)
    model = create_model("mcga-tiny-31").eval()
    with torch.no_grad():
        feats, vq = model.quantize_cube(torch.rand(1, 31, 8, 8))
    for i, q in enumerate(feats):
        rows = q.permute(0, 2, 3, 1).reshape(-1, q.shape[1])
        d = torch.cdist(rows, model.codebooks[i], compute_mode="donot_use_mm_for_euclid_dist")
        assert d.min(1).values.max() < 1e-5          # every vector is a code of its scale
    assert feats[0].shape[-1] == 8 // model.config.scales[0]
    assert vq > 0


def test_codebooks_initialised_from_encoder_features() -> None:
    torch.manual_seed(0)
    model = create_model("mcga-tiny-31")
    cube = torch.rand(2, 31, 8, 8)
    model.init_codebooks(cube, torch.Generator().manual_seed(0))
    with torch.no_grad():
        feats = model.encode(cube)
        coarse = torch.nn.functional.avg_pool2d(feats, model.config.scales[0])
    rows = coarse.permute(0, 2, 3, 1).reshape(-1, coarse.shape[1])
    d = torch.cdist(model.codebooks[0].detach(), rows)
    assert d.min(1).values.max() < 0.05 * rows.norm(dim=1).mean()


def test_grayscale_attention_ranges() -> None:
    ga = GrayscaleAttention(6, log_max=5.0)
    x = torch.randn(3, 6, 4, 4) * 3
    g, lg = ga.gamma(x), ga.log(x)
    assert ((g > 0) & (g <= 1)).all() and ((lg >= 0) & (lg <= 1)).all()


def test_tta_adapts_a_copy_and_leaves_the_model_untouched() -> None:
    torch.manual_seed(0)
    model = create_model("mcga-tiny-31").eval()
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    rgb = torch.rand(1, 3, 16, 16) * 0.9   # a darker input: a brightness shift
    with torch.no_grad():
        out_before = model(rgb)
        _, ent0 = model.forward_with_entropy(rgb)
    adapted = tta_adapt(model, rgb, steps=20, lr=5e-2)
    after = model.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), k
    assert all(p.requires_grad for p in model.parameters())
    with torch.no_grad():
        assert torch.equal(model(rgb), out_before)
        _, ent1 = adapted.forward_with_entropy(rgb)
    assert ent1 < ent0                               # the adaptation lowered the entropy
    ga = {id(p) for p in adapted.ga_parameters()}
    changed = {k for k, v in adapted.state_dict().items() if not torch.equal(v, before[k])}
    ga_names = {k for k, p in adapted.named_parameters() if id(p) in ga}
    assert changed and changed <= ga_names           # only GA parameters moved


def test_mixture_of_codebooks_concatenates() -> None:
    a = create_model("mcga-tiny-31")
    b = create_model("mcga-tiny-202")
    moc = mixture_of_codebooks([a, b])
    assert moc.bands == 31 and moc.config.codebook_size == 2 * a.config.codebook_size
    assert torch.equal(moc.codebooks[:, : a.config.codebook_size], a.codebooks.detach())
    assert moc(torch.rand(1, 3, 8, 8)).shape == (1, 31, 8, 8)


def test_bad_config_is_refused() -> None:
    from specrecon.errors import ConfigError

    with pytest.raises(ConfigError, match="scales"):
        MCGAConfig(bands=31, scales=(4, 1), levels=1)


def test_save_load_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    model = create_model("mcga-tiny-202").eval()
    wl = [400.0 + 10 * i for i in range(202)]
    save_model(model, tmp_path / "m.safetensors", ModelCard.from_model(model, wavelengths=wl))
    loaded = load_model(tmp_path / "m.safetensors")
    assert isinstance(loaded, MCGA) and loaded.family == "mcga"
    rgb = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert torch.equal(model(rgb), loaded(rgb))
