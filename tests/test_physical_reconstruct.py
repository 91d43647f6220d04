"""reconstruct(physical=True): the cube re-renders to its input RGB through the card's sensor."""

from __future__ import annotations

import numpy as np
import pytest

from specrecon import reconstruct
from specrecon.datasets.synthetic import satellite_scene
from specrecon.errors import ConfigError
from specrecon.models import create_model, load_model
from specrecon.physical import input_rendering


def test_physical_cube_rerenders_to_the_input_rgb() -> None:
    scene = satellite_scene(48, 40, seed=3)
    card = load_model("hydra-satellite-202").card
    plain = reconstruct(scene.rgb, "hydra-satellite-202", clip=False, physical=False).compute()
    fixed = reconstruct(scene.rgb, "hydra-satellite-202", clip=False, physical=True).compute()
    m = input_rendering(card).matrix                      # (3, bands) on the card's grid
    rgb = scene.rgb.values.astype("float64")
    err_plain = np.abs(np.einsum("cb,bhw->chw", m, plain.values) - rgb).max()
    err_fixed = np.abs(np.einsum("cb,bhw->chw", m, fixed.values) - rgb).max()
    assert err_fixed < 1e-4 < err_plain
    assert fixed.attrs["physical_consistency"] == 1 and plain.attrs["physical_consistency"] == 0
    # the correction lies in the row space of the sensor matrix (minimum norm)
    diff = (fixed.values - plain.values).reshape(m.shape[1], -1)
    coef, *_ = np.linalg.lstsq(m.T, diff, rcond=None)
    assert np.abs(m.T @ coef - diff).max() < 1e-4


def test_physical_needs_a_card() -> None:
    net = create_model("hydra-tiny-202").eval()
    scene = satellite_scene(16, 16, seed=1)
    with pytest.raises(ConfigError, match="physical"):
        reconstruct(scene.rgb, net, physical=True, wavelengths=np.arange(202.0) + 400)


def test_default_is_on_where_the_correction_runs_per_pixel() -> None:
    import dataclasses

    from specrecon.physical import EXPOSURE_METRIC, resolve_physical

    scene = satellite_scene(40, 40, seed=5)
    sat = reconstruct(scene.rgb, "hydra-satellite-202", clip=False)
    assert sat.attrs["physical_consistency"] == 1              # satellite: nothing to fit
    m = input_rendering(load_model("hydra-satellite-202").card).matrix
    err = np.abs(np.einsum("cb,bhw->chw", m, sat.values) - scene.rgb.values).max()
    assert err < 1e-4                                     # re-renders to its input
    # a camera model with a calibrated exposure in its card: on, re-rendering to the
    # input through k * A
    card = load_model("hydra-natural-31").card
    k = card.metrics[EXPOSURE_METRIC]
    rgb = np.random.default_rng(2).uniform(0.05, 0.6, (3, 40, 40)).astype("float32")
    nat = reconstruct(rgb, "hydra-natural-31", clip=False)
    assert nat.attrs["physical_consistency"] == 1
    a = input_rendering(card).matrix
    assert np.abs(k * np.einsum("cb,bhw->chw", a, nat.values) - rgb).max() < 1e-4
    # without the calibration a camera card needs a block fit: off by default
    bare = dataclasses.replace(card, metrics={})
    assert not resolve_physical(None, bare) and resolve_physical(True, bare)
    assert reconstruct(rgb, "hydra-natural-31",
                       physical=False).attrs["physical_consistency"] == 0


def test_default_correction_does_not_depend_on_the_chunking() -> None:
    # the satellite correction is pixel by pixel, so the chunk-invariance of the
    # tiled reconstruction survives it
    scene = satellite_scene(72, 64, seed=7)
    ref = reconstruct(scene.rgb, "hydra-satellite-202").values
    for chunks in ({"y": 32, "x": 32}, {"y": 40, "x": 64}):
        got = reconstruct(scene.rgb.chunk(chunks), "hydra-satellite-202")
        assert got.attrs["physical_consistency"] == 1
        np.testing.assert_allclose(got.values, ref, atol=1e-5, rtol=0)


def test_physical_option_is_checked() -> None:
    scene = satellite_scene(16, 16, seed=1)
    with pytest.raises(ConfigError, match="physical=True, False or None"):
        reconstruct(scene.rgb, "hydra-satellite-202", physical="yes")  # type: ignore[arg-type]
    net = create_model("hydra-tiny-202").eval()
    out = reconstruct(scene.rgb, net, wavelengths=np.arange(202.0) + 400)   # no card: off
    assert out.attrs["physical_consistency"] == 0


def test_per_tile_correction_equals_the_block_correction() -> None:
    # the oracle: blend the raw tiles, then correct the block; the graph corrects each
    # batch of tiles instead (linear operations commute; the exposure-free case only)
    from specrecon.graph import reconstruct_block
    from specrecon.physical import consistency_correct_block
    from specrecon.runtime import resolve_model
    from specrecon.tiling import TileGrid

    resolved = resolve_model("hydra-satellite-202", device="cpu")
    scene = satellite_scene(56, 48, seed=11)
    image = scene.rgb.values.astype("float32")
    valid = np.ones(image.shape[1:], bool)
    grid = TileGrid(image.shape[1:], 32, 8)
    region = (8, 40, 0, 48)
    raw = reconstruct_block(image, valid, (0, 0), region, grid, resolved.spec,
                            bands=resolved.bands)
    oracle = consistency_correct_block(image[:, 8:40], raw.astype("float64"), resolved.card)
    fast = reconstruct_block(image, valid, (0, 0), region, grid, resolved.spec,
                             bands=resolved.bands, tile_card=resolved.card)
    np.testing.assert_allclose(fast, oracle, atol=2e-5, rtol=0)
    assert np.abs(fast - raw).max() > 1e-3                      # the correction did something


def test_default_correction_with_missing_pixels() -> None:
    # missing pixels enter the model as 0 and leave as NaN; their neighbours are still
    # corrected to their own RGB
    scene = satellite_scene(48, 48, seed=9)
    rgb = scene.rgb.copy()
    rgb.values[:, 10:20, 5:30] = np.nan
    out = reconstruct(rgb, "hydra-satellite-202", clip=False).values
    assert np.isnan(out[:, 10:20, 5:30]).all()
    ok = ~np.isnan(rgb.values).any(axis=0)
    assert np.isfinite(out[:, ok]).all()
    m = input_rendering(load_model("hydra-satellite-202").card).matrix
    err = np.abs(np.einsum("cb,bn->cn", m, out[:, ok]) - rgb.values[:, ok]).max()
    assert err < 1e-4
