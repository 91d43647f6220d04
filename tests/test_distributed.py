"""Multi-process execution: distributed LocalCluster and the processes scheduler."""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pytest
import torch

from specrecon.cube import make_rgb
from specrecon.inference import reconstruct

WL = np.arange(400, 701, 10.0)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from specrecon.models import ModelCard, create_model, save_model

    torch.manual_seed(0)
    m = create_model("hydra-tiny-31")
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_model(m, path, ModelCard.from_model(m, wavelengths=WL.tolist(), tile_size=32,
                                             tile_overlap=8))
    return path


def _rgb() -> xr.DataArray:  # noqa: F821
    data = np.random.default_rng(5).random((3, 64, 96), dtype="float32")
    return make_rgb(data).chunk({"y": 32, "x": 48})


@pytest.mark.slow
def test_local_cluster_two_processes_equals_threaded(weights: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from specrecon.io import open_cube, to_zarr
    from specrecon.runtime import PreloadModel, model_spec

    with dask.config.set(scheduler="threads"):
        ref = reconstruct(_rgb(), weights, device="cpu").values
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, worker_dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        client.register_plugin(PreloadModel(model_spec(weights, device="cpu")))
        cube = reconstruct(_rgb(), weights, device="cpu")
        got = cube.compute().values
        # the model went to the workers by spec, not inside the graph
        assert all(v for v in client.run(lambda: bool(__import__(
            "specrecon.runtime", fromlist=["_cache"])._cache)).values())
        to_zarr(cube, tmp_path / "c.zarr", progress=False)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    np.testing.assert_allclose(open_cube(tmp_path / "c.zarr").values, ref, atol=1e-5)


def test_processes_scheduler_equals_threaded(weights: Path) -> None:
    cube = reconstruct(_rgb(), weights, device="cpu")
    with dask.config.set(scheduler="threads"):
        ref = cube.values
    with dask.config.set(scheduler="processes", num_workers=2):
        got = cube.values
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_compute_steps_with_a_client_records_steps_and_raises_the_workers_error() -> None:
    distributed = pytest.importorskip("distributed")
    from specrecon.io import compute_steps

    def boom(_: int) -> int:
        raise RuntimeError("step failed on the worker")

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        done: list[int] = []
        compute_steps({0: dask.delayed(sum)([1, 2]), 1: dask.delayed(max)([3, 4])}, done.append)
        assert sorted(done) == [0, 1]
        done.clear()
        first = dask.delayed(sum)([1, 2])
        with pytest.raises(RuntimeError, match="failed on the worker"):
            compute_steps({0: first, 1: dask.delayed(boom)(first)}, done.append)
        assert done == [0]            # step 1 needs step 0: recorded first; step 1 never
