"""Registry: names, overrides, errors, every registered config's forward/backward, and the
behaviour every family shares (batch independence, chunk-invariant tiling)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from specrecon.errors import ConfigError, UnknownModelError
from specrecon.models import (
    Hydra,
    HydraConfig,
    MSTPlusPlus,
    create_model,
    get_model_config,
    list_models,
    register_model,
)

EXPECTED = {
    "hydra-tiny-31", "hydra-tiny-202", "hydra-small-31", "hydra-small-202", "hydra-31",
    "hydra-202", "hydra-204", "mst-plus-plus-tiny-31", "mst-plus-plus-small-31",
    "mst-plus-plus-small-202", "mst-plus-plus-31", "mst-plus-plus-202",
}


def test_named_configs_registered() -> None:
    assert EXPECTED <= set(list_models())
    assert list_models() == sorted(list_models())
    assert get_model_config("hydra-31").latent == 6
    assert get_model_config("hydra-202").latent == 17
    assert get_model_config("hydra-204").bands == 204
    assert set(list_models("mst_plus_plus")) & set(list_models("hydra")) == set()


@pytest.mark.parametrize("name", sorted(EXPECTED | set(list_models())))
def test_forward_backward_every_config(name: str) -> None:
    model = create_model(name)
    # 20 x 24 is not a multiple of 8: exercises the internal padding and crop
    rgb = torch.rand(1, 3, 20, 24, requires_grad=True)
    out = model(rgb)
    assert out.shape == (1, model.bands, 20, 24)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    assert rgb.grad is not None and rgb.grad.abs().sum() > 0
    if model.family == "hydra":  # forward(rgb) = teacher.decode(student(rgb))
        used = [*model.student.parameters(), *model.teacher.decoder_parameters()]
        cube = torch.rand(2, model.bands, 3, 5)
        model.teacher(cube).square().mean().backward()  # stage 1 path reaches the encoder
        assert all(p.grad is not None for p in model.teacher.encoder_parameters())
    elif model.family == "mcga":  # forward(rgb) runs GANet; the stage-1 encoder is unused
        used = model.mapping_parameters()
    else:
        used = list(model.parameters())
    grads = [p.grad for p in used]
    assert all(g is not None for g in grads)
    assert sum(bool(g.abs().sum() > 0) for g in grads) > 0.9 * len(grads)
    assert model.name == name and model.card is None
    assert model.family in ("hydra", "mst_plus_plus", "ccnet", "mcga")
    json.dumps(dataclasses.asdict(model.config))  # JSON-serialisable
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.config.bands = 3  # type: ignore[misc]


@pytest.mark.parametrize("name", ["hydra-tiny-31", "mst-plus-plus-tiny-31"])
@pytest.mark.parametrize("hw", [(1, 1), (7, 5), (16, 16), (3, 33)])
def test_any_spatial_size(name: str, hw: tuple[int, int]) -> None:
    model = create_model(name).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, *hw)).shape == (2, 31, *hw)


@pytest.mark.parametrize("name", ["hydra-tiny-31", "ccnet-tiny-31", "mcga-tiny-31"])
def test_images_of_a_batch_are_independent(name: str) -> None:
    """Padding and per-image attention statistics never mix the images of a batch."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    a, b = torch.rand(1, 3, 13, 9), torch.rand(1, 3, 13, 9)
    with torch.no_grad():
        both = model(torch.cat([a, b]))
        assert torch.allclose(both[1:], model(b), atol=1e-5)
    with torch.no_grad():
        assert model(torch.rand(2, 3, 1, 1)).shape == (2, 31, 1, 1)


@pytest.mark.parametrize("name", ["ccnet-tiny-31", "mcga-tiny-31"])
def test_tiled_reconstruction_does_not_depend_on_chunks(name: str) -> None:
    from specrecon.cube import make_rgb
    from specrecon.inference import reconstruct

    torch.manual_seed(0)
    model = create_model(name).eval()
    data = np.random.default_rng(0).random((3, 40, 56), dtype="float32")
    rgb = make_rgb(data, y=np.arange(40) * -10.0, x=np.arange(56) * 10.0)
    wl = np.arange(400, 701, 10.0)
    ref = reconstruct(rgb, model, tile_size=32, overlap=8, device="cpu", wavelengths=wl)
    got = reconstruct(rgb.chunk({"y": 24, "x": 24}), model, tile_size=32, overlap=8,
                      device="cpu", wavelengths=wl)
    assert ref.shape == (31, 40, 56) and np.isfinite(ref.values).all()
    np.testing.assert_allclose(got.values, ref.values, atol=1e-5, rtol=0)


def test_overrides() -> None:
    m = create_model("hydra-tiny-31", latent=4, bands=40)
    assert isinstance(m, Hydra) and m.bands == 40 and m.config.latent == 4
    assert m(torch.rand(1, 3, 8, 8)).shape == (1, 40, 8, 8)
    assert get_model_config("hydra-tiny-31").latent == 6  # registry untouched
    m2 = create_model("mst-plus-plus-tiny-31", bands=224)
    assert isinstance(m2, MSTPlusPlus) and m2(torch.rand(1, 3, 8, 8)).shape[1] == 224


def test_unknown_override_is_config_error() -> None:
    with pytest.raises(ConfigError, match="not_a_field"):
        create_model("hydra-tiny-31", not_a_field=3)
    with pytest.raises(ConfigError):
        create_model("hydra-tiny-31", student_heads=(3, 3, 3, 3))  # 3 does not divide 4


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(UnknownModelError) as info:
        create_model("hydra-tiny31")
    msg = str(info.value)
    assert "hydra-tiny-31" in msg and "expected" in msg and "To fix" in msg
    assert isinstance(info.value, KeyError)


def test_register_model() -> None:
    register_model("test-hydra-custom", "hydra",
                   {"bands": 12, "latent": 3, "teacher_channels": [2], "student_dim": 4,
                    "student_heads": [1, 1, 1, 1], "student_blocks": [1, 1, 1, 1]},
                   overwrite=True)
    cfg = get_model_config("test-hydra-custom")
    assert isinstance(cfg, HydraConfig) and cfg.teacher_channels == (2,)
    assert create_model("test-hydra-custom")(torch.rand(1, 3, 4, 4)).shape == (1, 12, 4, 4)
    with pytest.raises(ConfigError, match="already registered"):
        register_model("test-hydra-custom", "hydra", cfg)
    with pytest.raises(ConfigError):
        register_model("x", "not-a-family", cfg)


def test_wrong_input_shape_error() -> None:
    from specrecon.errors import BandDimensionError

    model = create_model("hydra-tiny-31")
    with pytest.raises(BandDimensionError, match=r"\(N, 3, H, W\)"):
        model(torch.rand(1, 4, 8, 8))
    with pytest.raises(BandDimensionError):
        model(torch.rand(3, 8, 8))


def test_import_specrecon_does_not_import_torch_models() -> None:
    import subprocess
    import sys

    code = "import sys, specrecon; print('specrecon.models' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
