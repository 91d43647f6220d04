"""Per-process model cache, devices, precision, and the picklable ModelSpec."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from specrecon import runtime
from specrecon.errors import ConfigError, DeviceError, ModelMismatchError
from specrecon.runtime import ModelSpec, get_model, model_spec, predict, resolve_device


def test_spec_is_small_picklable_and_caches_one_model() -> None:
    net = torch.nn.Conv2d(3, 4, 1)
    spec = model_spec(net, device="cpu")
    assert spec.source.startswith("module:") and len(pickle.dumps(spec)) < 500
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert get_model(spec) is get_model(spec)
    # same weights -> same token; different weights -> different token
    twin = torch.nn.Conv2d(3, 4, 1)
    twin.load_state_dict(net.state_dict())
    assert model_spec(twin, device="cpu").source == spec.source
    assert model_spec(torch.nn.Conv2d(3, 4, 1), device="cpu").source != spec.source


def test_predict_shapes_and_threads_share_the_model() -> None:
    net = torch.nn.Conv2d(3, 6, 3, padding=1)
    spec = model_spec(net, device="cpu")
    tiles = np.random.default_rng(0).random((5, 3, 8, 8), dtype="float32")
    ref = net(torch.from_numpy(tiles)).detach().numpy()
    outs: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: outs.append(predict(spec, tiles, bands=6)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outs) == 4
    for o in outs:
        np.testing.assert_allclose(o, ref, atol=1e-6)
    with pytest.raises(ModelMismatchError, match="shape"):
        predict(spec, tiles, bands=7)


def test_devices_and_dtypes() -> None:
    assert resolve_device("auto") in runtime.available_devices()
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(DeviceError, match="cuda:99"):
        resolve_device("cuda:99")
    with pytest.raises(DeviceError):
        resolve_device("tpu")
    spec = model_spec(torch.nn.Conv2d(3, 2, 1), device="cpu", dtype="float16")
    with pytest.raises(DeviceError, match="bfloat16"):
        get_model(spec)
    with pytest.raises(ConfigError):
        get_model(ModelSpec(spec.source, None, "cpu", "int8"))
    bf = predict(model_spec(torch.nn.Conv2d(3, 2, 1), device="cpu", dtype="bfloat16"),
                 np.ones((1, 3, 4, 4), "float32"))
    assert bf.dtype == np.float32


def test_module_unknown_in_another_process_is_a_clear_error() -> None:
    with pytest.raises(ModelMismatchError, match="safetensors"):
        get_model(ModelSpec("module:" + "0" * 64, None, "cpu", "float32"))


def test_weights_by_path_are_hash_checked(tmp_path: Path) -> None:
    from specrecon.errors import WeightsIntegrityError
    from specrecon.models import ModelCard, create_model, save_model

    m = create_model("mst-plus-plus-tiny-31")
    card = save_model(m, tmp_path / "m.safetensors",
                      ModelCard.from_model(m, wavelengths=list(range(400, 701, 10))))
    spec = model_spec(tmp_path / "m.safetensors", device="cpu")
    assert get_model(spec).card.sha256 == card.sha256
    with pytest.raises(WeightsIntegrityError):
        get_model(ModelSpec(spec.source, "f" * 64, "cpu", "float32"))


def test_preload_plugin_loads_into_cache() -> None:
    from distributed.diagnostics.plugin import WorkerPlugin

    spec = model_spec(torch.nn.Conv2d(3, 2, 1), device="cpu")
    plugin = runtime.PreloadModel(spec)
    assert isinstance(plugin, WorkerPlugin)
    runtime.clear_cache()
    with pytest.raises(ModelMismatchError):   # clear_cache forgot the in-memory module
        plugin.setup(worker=None)


def test_preload_plugin_accepts_a_weights_path(tmp_path: Path) -> None:
    from specrecon.models import ModelCard, create_model, save_model

    model = create_model("hydra-tiny-31")
    path = tmp_path / "m.safetensors"
    save_model(model, path, ModelCard.from_model(model, wavelengths=np.arange(400.0, 701.0, 10.0)))
    plugin = runtime.PreloadModel(str(path), device="cpu")
    assert plugin.spec == model_spec(str(path), device="cpu")   # same cache key as reconstruct
    runtime.clear_cache()
    plugin.setup(worker=None)
    assert get_model(plugin.spec) is get_model(model_spec(str(path), device="cpu"))


@pytest.mark.gpu
def test_cuda_model_cache() -> None:
    spec = model_spec(torch.nn.Conv2d(3, 2, 1), device="cuda")
    assert next(get_model(spec).parameters()).is_cuda
