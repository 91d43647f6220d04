"""Global tile grid: placement, weights, halo arithmetic and chunk-independent blending."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from specrecon.errors import ConfigError
from specrecon.tiling import (
    AxisGrid,
    TileGrid,
    blend_region,
    chunk_bounds,
    halo_depth,
    merge_small_chunks,
    ramp,
)


@pytest.mark.parametrize("size,tile,overlap", [(96, 32, 8), (160, 32, 8), (100, 40, 0),
                                               (33, 32, 8), (31, 32, 8), (500, 64, 16)])
def test_axis_grid_covers_scene_with_full_tiles(size: int, tile: int, overlap: int) -> None:
    g = AxisGrid(size, tile, overlap)
    s = g.starts
    assert s[0] == 0
    assert s[-1] + g.length == size                  # last tile shifted to the border
    assert np.all(np.diff(s) > 0)
    assert np.all(np.diff(s) <= tile - overlap)       # no gaps
    cover = np.zeros(size, int)
    for k in range(g.n_tiles):
        cover[s[k]:s[k] + g.length] += 1
        w = g.window(k)
        assert w.shape == (g.length,) and np.all(w > 0) and np.all(w <= 1)
    assert cover.min() >= 1


def test_windows_flat_on_scene_border_and_ramped_inside() -> None:
    g = AxisGrid(96, 32, 8)
    first, last = g.window(0), g.window(g.n_tiles - 1)
    assert first[0] == 1.0 and first[-1] < 0.2
    assert last[-1] == 1.0 and last[0] < 0.2
    assert np.allclose(ramp(8) + ramp(8)[::-1], 1.0)  # raised cosine: partition of unity


def test_invalid_grid_parameters() -> None:
    with pytest.raises(ConfigError, match="overlap"):
        AxisGrid(96, 32, 32)
    with pytest.raises(ConfigError):
        AxisGrid(0, 32, 8)


def test_halo_region_contains_all_needed_tiles() -> None:
    g = AxisGrid(160, 32, 8)
    for a, b in [(0, 10), (30, 50), (100, 160), (159, 160)]:
        r0, r1 = g.region_for(a, b)
        for k in g.tiles_for(a, b):
            assert r0 <= g.starts[k] and g.starts[k] + 32 <= r1
        # any tile not listed does not touch [a, b)
        others = np.setdiff1d(np.arange(g.n_tiles), g.tiles_for(a, b))
        for k in others:
            assert g.starts[k] + 32 <= a or g.starts[k] >= b
    assert halo_depth(g, (64, 64, 32)) <= 31


def test_merge_small_chunks_and_bounds() -> None:
    assert merge_small_chunks((10,) * 5, 100) == (50,)
    assert sum(merge_small_chunks((7, 3, 30, 1), 8)) == 41
    assert min(merge_small_chunks((7, 3, 30, 1), 8)) >= 8
    assert chunk_bounds((2, 3)).tolist() == [0, 2, 5]


def _nonlocal_predict(tiles: np.ndarray) -> np.ndarray:
    """A tile-dependent model: every pixel gets its value plus the tile mean (like attention)."""
    mean = tiles.mean(axis=(2, 3), keepdims=True)
    out = np.concatenate([tiles + mean, tiles * mean], axis=1)
    return out.astype("float32")


def _blend_chunked(img: np.ndarray, grid: TileGrid, cy: tuple, cx: tuple) -> np.ndarray:
    ny, nx = img.shape[1:]
    res = np.empty((6, ny, nx), "float32")
    ey, ex = chunk_bounds(cy), chunk_bounds(cx)
    for y0, y1 in itertools.pairwise(ey):
        for x0, x1 in itertools.pairwise(ex):
            ry0, ry1, rx0, rx1 = grid.halo(int(y0), int(y1), int(x0), int(x1))
            res[:, y0:y1, x0:x1] = blend_region(img[:, ry0:ry1, rx0:rx1], (ry0, rx0),
                                                (int(y0), int(y1), int(x0), int(x1)), grid,
                                                _nonlocal_predict, bands=6, batch_size=3)
    return res


def test_blending_independent_of_chunking() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((3, 96, 160), dtype="float32")
    grid = TileGrid((96, 160), 32, 8)
    whole = _blend_chunked(img, grid, (96,), (160,))
    for cy, cx in [((50, 46), (70, 90)), ((20,) * 4 + (16,), (33, 33, 94)), ((1, 95), (159, 1))]:
        np.testing.assert_array_equal(_blend_chunked(img, grid, cy, cx), whole)
    # a non-local model really does depend on the tile, so the test above is not vacuous
    naive = np.concatenate([_nonlocal_predict(img[None, :, :, :80])[0],
                            _nonlocal_predict(img[None, :, :, 80:])[0]], axis=2)
    assert not np.allclose(naive, whole)


def test_blend_skips_invalid_tiles_and_masks() -> None:
    img = np.ones((3, 64, 64), "float32")
    valid = np.ones((64, 64), bool)
    valid[:, :20] = False
    calls: list[int] = []
    grid = TileGrid((64, 64), 16, 4)
    res = blend_region(img, (0, 0), (0, 64, 0, 64), grid, lambda t: t[:, :2] * 3, bands=2,
                       valid=valid, on_tiles=calls.append)
    assert np.isnan(res[:, :, :20]).all()
    assert np.allclose(res[:, :, 20:], 3.0)
    assert sum(calls) < grid.n_tiles              # fully invalid tiles were skipped


def test_blend_rejects_short_input() -> None:
    grid = TileGrid((64, 64), 16, 4)
    with pytest.raises(ValueError, match="halo"):
        blend_region(np.ones((3, 20, 64), "float32"), (10, 0), (10, 30, 0, 64), grid,
                     lambda t: t, bands=3)
