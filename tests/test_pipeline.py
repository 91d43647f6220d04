"""The pipeline keeps the model busy: no recomputed tiles, one model load per process,
device checks where the model runs."""

from __future__ import annotations

import itertools
from pathlib import Path

import dask
import numpy as np
import pytest
import torch

from specrecon import runtime
from specrecon.cube import make_rgb
from specrecon.inference import reconstruct
from specrecon.io import open_cube, to_zarr
from specrecon.tiling import TileGrid, chunk_bounds

WL = np.arange(400, 701, 10.0)


class CountingNet(torch.nn.Module):
    """A 1x1 convolution that counts the tiles it is run on."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 31, 1)
        self.tiles = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.tiles += int(x.shape[0])
        return self.conv(x)


def _expected_tiles(grid: TileGrid, ychunks: tuple[int, ...], xchunks: tuple[int, ...]) -> int:
    """Tiles run when every output chunk runs the global tiles that touch it."""
    n = 0
    for (y0, y1), (x0, x1) in itertools.product(itertools.pairwise(chunk_bounds(ychunks)),
                                                itertools.pairwise(chunk_bounds(xchunks))):
        n += grid.y.tiles_for(y0, y1).size * grid.x.tiles_for(x0, x1).size
    return n


@pytest.mark.parametrize("chunks", [{"y": 20, "x": 40}, {"y": 170, "x": 40}])
def test_to_zarr_runs_exactly_the_tiles_that_compute_runs(tmp_path: Path,
                                                          chunks: dict[str, int]) -> None:
    net = CountingNet()
    rng = np.random.default_rng(0)
    rgb = make_rgb(rng.random((3, 170, 40), dtype="float32")).chunk(chunks)
    cube = reconstruct(rgb, net, tile_size=32, overlap=8, device="cpu", wavelengths=WL)
    net.tiles = 0                       # a module without card is probed once for its bands
    grid = TileGrid((170, 40), 32, 8)
    ych, xch = cube.chunks[1], cube.chunks[2]
    assert len(set(ych[:-1])) <= 1 and ych[-1] <= ych[0]          # regular: zarr-ready
    expected = _expected_tiles(grid, ych, xch)
    if len(ych) == 1:
        assert expected == grid.n_tiles
    with dask.config.set(scheduler="threads", num_workers=2):
        ref = cube.values
        assert net.tiles == expected
        net.tiles = 0
        to_zarr(cube, tmp_path / "c.zarr", rows_per_step=1)
    assert net.tiles == expected                                   # no tile recomputed
    np.testing.assert_array_equal(open_cube(tmp_path / "c.zarr").values, ref)


class BatchRecorder(CountingNet):
    """A :class:`CountingNet` that records the tiles of each forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(int(x.shape[0]))
        return super().forward(x)


def test_default_batch_is_counted_in_output_values(monkeypatch) -> None:
    # a pass's activations grow with bands x pixels: the default batch keeps their
    # product near graph.BATCH_VOXELS, so large tiles run fewer per pass
    import specrecon.graph as graph

    rgb = make_rgb(np.random.default_rng(1).random((3, 80, 80), dtype="float32"))
    kw = {"tile_size": 32, "overlap": 8, "device": "cpu", "wavelengths": WL}
    net = BatchRecorder()
    ref = reconstruct(rgb, net, batch_size=1, **kw).values
    monkeypatch.setattr(graph, "BATCH_VOXELS", 3 * 32 * 32 * 31 + 5)
    cube = reconstruct(rgb, net, **kw)
    net.batches.clear()                 # a module without card is probed once for its bands
    got = cube.values
    assert max(net.batches) == 3 and sum(net.batches) == TileGrid((80, 80), 32, 8).n_tiles
    np.testing.assert_allclose(got, ref, atol=1e-6, rtol=0)   # the batch changes no value
    net.batches.clear()
    reconstruct(rgb, net, batch_size=5, **kw).compute()      # an explicit batch wins
    assert max(net.batches) == 5


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from specrecon.models import ModelCard, create_model, save_model

    m = create_model("hydra-tiny-31")
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_model(m, path, ModelCard.from_model(m, wavelengths=WL.tolist(), tile_size=32,
                                             tile_overlap=8))
    return path


def _rgb() -> object:
    data = np.random.default_rng(5).random((3, 64, 96), dtype="float32")
    return make_rgb(data).chunk({"y": 32, "x": 48})


def test_reconstruct_reads_the_card_without_loading_and_loads_once(weights: Path) -> None:
    runtime.clear_cache()
    cube = reconstruct(_rgb(), weights, device="cpu")
    assert runtime.cache_info()["loads"] == {}                     # building the graph: no load
    assert cube.attrs["model"] == "hydra-tiny-31" and len(cube.attrs["model_sha256"]) == 64
    with dask.config.set(scheduler="threads", num_workers=2):
        cube.compute()
        reconstruct(_rgb(), str(weights), device="cpu").compute()
    assert list(runtime.cache_info()["loads"].values()) == [1]
    # the preload plugin uses the same cache key as the tasks
    runtime.clear_cache()
    runtime.PreloadModel(weights, device="cpu").setup(worker=None)
    with dask.config.set(scheduler="threads", num_workers=2):
        cube.compute()
    assert list(runtime.cache_info()["loads"].values()) == [1]


def _loads_per_worker(client: object) -> list[int]:
    def loads() -> int:
        from specrecon import runtime as rt

        return sum(rt.cache_info()["loads"].values())

    return list(client.run(loads).values())  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("preload", [False, True])
def test_each_worker_process_loads_the_model_once(weights: Path, preload: bool) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, worker_dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        if preload:
            client.register_plugin(runtime.PreloadModel(weights, device="cpu"))
        cube = reconstruct(_rgb(), weights, device="cpu")
        cube.compute()
        cube.compute()
        loads = _loads_per_worker(client)
    assert all(n <= 1 for n in loads) and sum(loads) >= 1
    if preload:
        assert loads == [1, 1]


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cpu_client_builds_a_cuda_graph_and_the_worker_reports(weights: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from specrecon.errors import DeviceError

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None, worker_dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        cube = reconstruct(_rgb(), weights, device="cuda")        # no DeviceError on the client
        assert cube.shape == (31, 64, 96)
        worker = next(iter(client.scheduler_info()["workers"]))
        with pytest.raises(DeviceError, match="worker") as info:
            cube.compute()
        assert worker in str(info.value)
    # without a client the check happens up front
    with pytest.raises(DeviceError):
        reconstruct(_rgb(), weights, device="cuda")
