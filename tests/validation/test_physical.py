"""Physical consistency: exact re-rendering, minimum-norm correction, card renderings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from specrecon.errors import ConfigError, ModelMismatchError
from specrecon.physical import (
    consistency_correct,
    consistency_correct_block,
    correction_operator,
    input_rendering,
    training_render_params,
)

WL31 = np.arange(400.0, 701.0, 10.0)


def _nikon_matrix() -> np.ndarray:
    from specrecon.spectral import get_sensor

    return np.asarray(get_sensor("nikon_d5100").matrix_for(WL31))


def _random_case(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = _nikon_matrix()
    cube = rng.uniform(0.05, 0.9, (31, 5, 6))
    rgb = rng.uniform(0.05, 0.9, (3, 5, 6)) * a.sum(1)[:, None, None]
    return a, cube, rgb


def test_corrected_cube_rerenders_exactly() -> None:
    a, cube, rgb = _random_case()
    out = consistency_correct(cube, rgb, a)
    assert np.abs(np.einsum("cb,bhw->chw", a, out) - rgb).max() < 1e-9
    assert np.abs(out - cube).max() > 1e-3          # it really changed something


def test_correction_is_minimum_norm_and_in_the_row_space() -> None:
    a, cube, rgb = _random_case(1)
    delta = (consistency_correct(cube, rgb, a) - cube).reshape(31, -1)
    row_proj = a.T @ np.linalg.solve(a @ a.T, a)     # projector onto the row space of A
    assert np.abs(delta - row_proj @ delta).max() < 1e-10
    # any other correction reaching the same RGB adds a null-space component: longer
    null = np.eye(31) - row_proj
    other = delta + null @ np.random.default_rng(2).normal(size=delta.shape)
    assert np.allclose(a @ other, a @ delta)
    assert (np.linalg.norm(other, axis=0) > np.linalg.norm(delta, axis=0)).all()


def test_scale_fit_keeps_a_consistent_cube_and_reaches_the_rgb() -> None:
    a, cube, _ = _random_case(3)
    exposed = 2.5 * np.einsum("cb,bhw->chw", a, cube)
    assert np.allclose(consistency_correct(cube, exposed, a, fit="scale"), cube)
    # without the fit the brightness would be forced to the RGB's
    assert not np.allclose(consistency_correct(cube, exposed, a, fit="none"), cube)
    _, _, rgb = _random_case(4)
    out = consistency_correct(cube, rgb, a, fit="scale")
    ratio = rgb / np.einsum("cb,bhw->chw", a, out)   # one common exposure factor
    assert np.ptp(ratio) < 1e-9


def test_gains_fit_gives_one_factor_per_channel() -> None:
    a, cube, rgb = _random_case(5)
    out = consistency_correct(cube, rgb, a, fit="gains")
    ratio = (rgb / np.einsum("cb,bhw->chw", a, out)).reshape(3, -1)
    assert np.ptp(ratio, axis=1).max() < 1e-9
    assert np.ptp(ratio[:, 0]) > 1e-3


def test_torch_matches_numpy_keeps_dtype_and_gradients() -> None:
    a, cube, rgb = _random_case(6)
    ref = consistency_correct(cube, rgb, a, fit="scale")
    t = torch.tensor(cube[None], dtype=torch.float64, requires_grad=True)
    out = consistency_correct(t, torch.tensor(rgb[None]), a, fit="scale")
    assert out.dtype == torch.float64 and out.shape == t.shape
    assert np.abs(out.detach().numpy()[0] - ref).max() < 1e-10
    out.sum().backward()
    assert t.grad is not None and torch.isfinite(t.grad).all()
    f32 = consistency_correct(t.detach().float(), torch.tensor(rgb[None]).float(), a)
    assert f32.dtype == torch.float32
    rerender = torch.einsum("cb,nbhw->nchw", torch.tensor(a).float(), f32)
    assert float((rerender - torch.tensor(rgb[None]).float()).abs().max()) < 1e-5


def test_nan_pixels_are_left_unchanged() -> None:
    a, cube, rgb = _random_case(7)
    rgb[:, 0, 0] = np.nan
    out = consistency_correct(cube, rgb, a)
    np.testing.assert_array_equal(out[:, 0, 0], cube[:, 0, 0])
    assert np.isfinite(out).all()


def test_bad_inputs_are_refused() -> None:
    a, cube, rgb = _random_case()
    with pytest.raises(ConfigError, match="fit"):
        consistency_correct(cube, rgb, a, fit="exposure")  # type: ignore[arg-type]
    with pytest.raises(ModelMismatchError, match="channels"):
        consistency_correct(cube[:20], rgb, a)
    with pytest.raises(ModelMismatchError, match="singular"):
        correction_operator(np.vstack([a[0], a[0], a[1]]))


def test_card_renderings_match_the_training_rendering() -> None:
    from specrecon.models import load_model
    from specrecon.validation.protocol import render_spectra

    rng = np.random.default_rng(8)
    sat = load_model("hydra-satellite-202").card
    r = input_rendering(sat)
    assert r.fit == "none" and training_render_params(sat)["exposure"] is None
    spectra = rng.uniform(0.02, 0.6, (40, 202))
    np.testing.assert_allclose(render_spectra(sat, spectra), spectra @ r.matrix.T, atol=1e-6)

    nat = load_model("hydra-natural-31").card
    r = input_rendering(nat)
    assert r.fit == "scale"
    spectra = rng.uniform(0.02, 0.9, (400, 31))
    rendered = render_spectra(nat, spectra)            # gains, auto-exposure, 8 bits
    linear = spectra @ r.matrix.T
    k = 0.18 / linear.mean()                           # the auto-exposure of the set
    assert np.abs(rendered - k * linear).max() <= 0.5 / 255 + 1e-6


def test_block_function_with_a_shipped_card_rerenders_its_input() -> None:
    from specrecon.models import load_model

    card = load_model("hydra-natural-31").card
    r = input_rendering(card)
    rng = np.random.default_rng(9)
    cube = rng.uniform(0.05, 0.8, (31, 6, 7)).astype("float32")
    rgb = rng.uniform(0.05, 0.6, (3, 6, 7)).astype("float32")
    out = consistency_correct_block(rgb, cube, card)
    ratio = rgb / np.einsum("cb,bhw->chw", r.matrix, out)
    assert np.ptp(ratio) < 1e-5 * ratio.mean()          # float32 in, float32 arithmetic
    assert out.dtype == np.float32
    tout = consistency_correct_block(torch.from_numpy(rgb), torch.from_numpy(cube), card)
    assert isinstance(tout, torch.Tensor) and tout.dtype == torch.float32
    assert np.abs(tout.numpy() - out).max() < 1e-5


def test_numpy_correction_in_place_and_in_float32() -> None:
    from specrecon.models import load_model

    card = load_model("hydra-satellite-202").card
    rng = np.random.default_rng(4)
    cube = rng.uniform(0.0, 0.6, (202, 9, 70_000 // 9 + 5)).astype("float32")  # > one column block
    rgb = rng.uniform(0.02, 0.5, (3, *cube.shape[1:])).astype("float32")
    rgb[:, 0, 0] = np.nan                                       # left unchanged
    ref = consistency_correct_block(rgb.astype("float64"), cube.astype("float64"), card)
    work = cube.copy()
    out = consistency_correct_block(rgb, work, card, inplace=True)
    assert out.dtype == np.float32 and np.shares_memory(out, work)
    np.testing.assert_allclose(out, ref, atol=2e-6, rtol=0)
    np.testing.assert_array_equal(out[:, 0, 0], cube[:, 0, 0])
    copy = consistency_correct_block(rgb, cube, card)            # default: a new array
    assert not np.shares_memory(copy, cube)
    np.testing.assert_allclose(copy, ref, atol=2e-6, rtol=0)
