"""The two-stage graph (every tile once, spills to the neighbours) against the reference blend."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from specrecon.cube import make_rgb
from specrecon.graph import chunk_plan
from specrecon.inference import reconstruct
from specrecon.tiling import TileGrid, blend_region

WL = np.arange(400, 701, 10.0)


class TileMeanNet(torch.nn.Module):
    """Depends on the whole tile (like attention): a pixel plus its tile's mean, 31 bands."""

    def __init__(self) -> None:
        super().__init__()
        self.tiles = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.tiles += int(x.shape[0])
        mean = x.mean(dim=(2, 3), keepdim=True)
        y = torch.cat([x + mean, x * mean], dim=1)
        return y.repeat(1, 6, 1, 1)[:, :31]


def _reference(img: np.ndarray, grid: TileGrid) -> np.ndarray:
    net = TileMeanNet()

    def predict(t: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(t)).numpy()

    ny, nx = img.shape[1:]
    return blend_region(img, (0, 0), (0, ny, 0, nx), grid, predict, bands=31)


@pytest.mark.parametrize("chunks", [{"y": 200, "x": 200}, {"y": 40, "x": 56}, {"y": 7, "x": 90},
                                    {"y": (60, 30, 75), "x": (20, 100, 28)}])
@pytest.mark.parametrize("tile", [(32, 8), (48, 20)])
def test_each_tile_once_and_equal_to_the_reference_blend(chunks: dict, tile: tuple) -> None:
    img = np.random.default_rng(3).random((3, 165, 148), dtype="float32")
    grid = TileGrid(img.shape[1:], *tile)
    ref = _reference(img, grid)
    net = TileMeanNet()
    cube = reconstruct(make_rgb(img).chunk(chunks), net, tile_size=tile[0], overlap=tile[1],
                       device="cpu", wavelengths=WL, clip=False)
    net.tiles = 0                        # a module without card is probed once for its bands
    got = cube.values
    assert net.tiles == grid.n_tiles     # no tile runs twice, whatever the chunking
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-6)
    # the tiles matter: the same model blended on another grid gives other values
    other = _reference(img, TileGrid(img.shape[1:], tile[0] + 8, tile[1]))
    assert np.abs(ref - other).max() > 1e-3


def test_missing_pixels_are_nan_and_do_not_leak() -> None:
    img = np.random.default_rng(4).random((3, 96, 96), dtype="float32")
    img[:, 30:50, 40:60] = np.nan
    cube = reconstruct(make_rgb(img).chunk({"y": 48, "x": 48}), TileMeanNet(), tile_size=32,
                       overlap=8, device="cpu", wavelengths=WL, clip=False).values
    assert np.isnan(cube[:, 30:50, 40:60]).all()
    assert np.isfinite(cube[:, :30]).all() and np.isfinite(cube[:, 50:]).all()


def test_chunk_borders_sit_on_tile_starts() -> None:
    # so that a chunk's tiles reach into the next chunk by only the overlap
    grid = TileGrid((4096, 4096), 128, 32)
    ych, xch = chunk_plan(grid, ((512,), (512,)), bands=202)
    assert ych[0] == 480 and ych[0] % grid.y.stride == 0 and len(set(ych[:-1])) == 1
    for b in np.cumsum(ych)[:-1]:
        assert b in grid.y.starts
        assert grid.y.reach(int(b) - ych[0], int(b)) - int(b) <= grid.y.overlap
