"""Running models inside dask tasks: per-process cache, device choice, GPU guard, batching.

A model never travels through the dask graph. Tasks carry a :class:`ModelSpec`
(a few strings: where the weights are, their sha256, device, dtype) and call
:func:`get_model`, which loads the weights once per process and keeps them in
a cache. That works the same for the threaded scheduler (one process, many
threads: one shared model, a lock around each GPU), the processes scheduler
and ``distributed`` workers (each worker process loads lazily on its first
task, or eagerly with the :class:`PreloadModel` worker plugin).

Models given as Python objects (an ``nn.Module`` built in the session) are
registered in the cache of *this* process under ``"module:<sha256 of the
state dict>"``; they work with the threaded and synchronous schedulers. For
multi-process schedulers save them first (``specrecon.models.save_model``) and
pass the ``.safetensors`` path: the error says so.

Devices: ``"auto"`` is resolved **in the process that runs the task** (CUDA if
that process sees one, else CPU), so a CPU-only client can drive GPU workers.
``"cpu"``, ``"cuda"``, ``"cuda:N"`` are explicit; an unavailable one raises
:class:`~specrecon.errors.DeviceError` listing what exists.

Precision: ``"float32"`` (default); ``"float16"`` / ``"bfloat16"`` run the
forward pass under :func:`torch.autocast`. On CPU ``"bfloat16"`` is allowed
(autocast CPU) and ``"float16"`` is refused (CPU autocast has no fp16 path
worth using). Outputs are always float32.

Examples
--------
>>> import numpy as np, torch
>>> from specrecon.runtime import model_spec, predict
>>> net = torch.nn.Conv2d(3, 5, 1)
>>> spec = model_spec(net, device="cpu")
>>> predict(spec, np.zeros((2, 3, 8, 8), "float32")).shape
(2, 5, 8, 8)
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specrecon.errors import ConfigError, DeviceError, ModelMismatchError, format_message

__all__ = [
    "DTYPES",
    "ModelSpec",
    "PreloadModel",
    "available_devices",
    "clear_cache",
    "get_model",
    "model_spec",
    "predict",
    "resolve_device",
]

DTYPES = ("float32", "float16", "bfloat16")
_CACHE_SIZE = 4

_cache: OrderedDict[tuple[str, str | None, str, str], Any] = OrderedDict()
_modules: dict[str, Any] = {}
_cache_lock = threading.Lock()
_device_locks: dict[str, threading.Lock] = {}


@dataclass(frozen=True)
class ModelSpec:
    """What a task needs to find its model: small, hashable, picklable.

    Parameters
    ----------
    source : str
        A shipped model name, an absolute ``.safetensors`` path, or
        ``"module:<sha256>"`` for an in-memory module of this process.
    sha256 : str or None
        Expected hash of the weights (checked on load).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    dtype : str
        One of :data:`DTYPES`.
    """

    source: str
    sha256: str | None
    device: str = "auto"
    dtype: str = "float32"


def available_devices() -> list[str]:
    """Devices this process can use, e.g. ``["cpu", "cuda:0"]``.

    Examples
    --------
    >>> "cpu" in available_devices()
    True
    """
    import torch

    devs = ["cpu"]
    if torch.cuda.is_available():
        devs += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return devs


def resolve_device(device: str = "auto") -> str:
    """Turn ``"auto"`` / ``"cuda"`` into a concrete device string and check it exists.

    Parameters
    ----------
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.

    Returns
    -------
    str
        ``"cpu"`` or ``"cuda:N"``.

    Raises
    ------
    DeviceError
        If the device is not available here.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    import torch

    dev = str(device).lower()
    if dev == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if dev == "cpu":
        return "cpu"
    if dev == "cuda" or dev.startswith("cuda:"):
        idx = 0 if dev == "cuda" else dev.split(":", 1)[1]
        try:
            idx = int(idx)
        except ValueError:
            idx = -1
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not 0 <= idx < n:
            raise DeviceError(format_message(
                f"an available CUDA device ({device!r})",
                f"devices {available_devices()}",
                "use device='auto' or 'cpu', or a cuda:N that exists"))
        return f"cuda:{idx}"
    raise DeviceError(format_message("device 'auto', 'cpu', 'cuda' or 'cuda:N'", repr(device),
                                     f"pick one of {available_devices()} or 'auto'"))


def _check_dtype(dtype: str, device: str) -> None:
    if dtype not in DTYPES:
        raise ConfigError(format_message(f"dtype in {DTYPES}", repr(dtype),
                                         "use 'float32' (or half precision on a GPU)"))
    if dtype == "float16" and device == "cpu":
        raise DeviceError(format_message("a CUDA device for dtype='float16'", "device 'cpu'",
                                         "use dtype='bfloat16' or 'float32' on CPU"))


def _state_hash(module: Any) -> str:
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        t = v.detach().to("cpu").contiguous()
        h.update(str(t.dtype).encode())
        h.update(t.view(-1).view(__import__("torch").uint8).numpy().tobytes()
                 if t.numel() else b"")
    return h.hexdigest()


def model_spec(model: Any, *, device: str = "auto", dtype: str = "float32") -> ModelSpec:
    """Build a :class:`ModelSpec` for a name, path, module or existing spec.

    In-memory modules are registered in this process's cache. Nothing is
    loaded for names and paths; see :func:`get_model`.

    Parameters
    ----------
    model : str, path, torch.nn.Module or ModelSpec
        ``"default"`` means :data:`specrecon.models.DEFAULT_MODEL`.
    device, dtype : str
        See :class:`ModelSpec`.

    Returns
    -------
    ModelSpec

    Examples
    --------
    >>> model_spec("weights/my.safetensors", device="cpu").source.endswith("my.safetensors")
    True
    """
    if isinstance(model, ModelSpec):
        return ModelSpec(model.source, model.sha256, device, dtype)
    try:
        import torch

        is_module = isinstance(model, torch.nn.Module)
    except ImportError:  # pragma: no cover
        is_module = False
    if is_module:
        card = getattr(model, "card", None)
        token = f"module:{_state_hash(model)}"
        with _cache_lock:
            _modules[token] = model
        return ModelSpec(token, getattr(card, "sha256", None) or None, device, dtype)
    if isinstance(model, Path) or (isinstance(model, str) and (
            model.endswith((".safetensors", ".json")) or "/" in model or "\\" in model)):
        return ModelSpec(str(Path(model).expanduser().resolve()), None, device, dtype)
    if isinstance(model, str):
        if model == "default":
            from specrecon.models import DEFAULT_MODEL

            model = DEFAULT_MODEL
        return ModelSpec(model, None, device, dtype)
    raise ConfigError(format_message("a model name, .safetensors path or torch.nn.Module",
                                     type(model).__name__, "pass one of those"))


def get_model(spec: ModelSpec) -> Any:
    """The model for ``spec`` in this process (loaded on first use, then cached).

    Raises
    ------
    DeviceError
        If the spec's device does not exist in this process.
    ModelMismatchError
        If an in-memory module is requested in a process that does not hold it.
    """
    device = resolve_device(spec.device)
    _check_dtype(spec.dtype, device.split(":")[0])
    key = (spec.source, spec.sha256, device, spec.dtype)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        if spec.source.startswith("module:"):
            module = _modules.get(spec.source)
            if module is None:
                raise ModelMismatchError(format_message(
                    "the in-memory model in this process", "a worker process without it",
                    "save the model (specrecon.models.save_model) and pass the .safetensors "
                    "path, or use the threaded scheduler"))
            params = list(module.parameters())
            on_device = (not params or str(params[0].device) == device
                         or (device == "cpu" and params[0].device.type == "cpu"))
            if not on_device:
                import copy

                module = copy.deepcopy(module).to(device)
            model = module.eval()
        else:
            from specrecon.models import load_model

            model = load_model(spec.source, device=device, sha256=spec.sha256)
        _cache[key] = model
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    _device_locks.setdefault(device, threading.Lock())
    return model


def clear_cache() -> None:
    """Forget every cached model and in-memory module of this process."""
    with _cache_lock:
        _cache.clear()
        _modules.clear()


def predict(spec: ModelSpec, tiles: np.ndarray, *, bands: int | None = None) -> np.ndarray:
    """Run the model of ``spec`` on one batch of tiles.

    Parameters
    ----------
    spec : ModelSpec
        Which model, device and precision.
    tiles : numpy.ndarray
        ``(n, 3, h, w)`` float32 RGB in [0, 1].
    bands : int, optional
        Expected number of output bands (checked).

    Returns
    -------
    numpy.ndarray
        ``(n, bands, h, w)`` float32.

    Raises
    ------
    ModelMismatchError
        If the model returns another shape.
    """
    import torch

    model = get_model(spec)
    device = resolve_device(spec.device)
    kind = device.split(":")[0]
    x = torch.from_numpy(np.ascontiguousarray(tiles, dtype=np.float32))
    lock = _device_locks.setdefault(device, threading.Lock()) if kind == "cuda" else None
    if lock is not None:
        lock.acquire()
    try:
        with torch.inference_mode():
            x = x.to(device, non_blocking=kind == "cuda")
            if spec.dtype == "float32":
                y = model(x)
            else:
                with torch.autocast(device_type=kind, dtype=getattr(torch, spec.dtype)):
                    y = model(x)
            out = y.float().cpu().numpy()
    finally:
        if lock is not None:
            lock.release()
    n, _, h, w = tiles.shape
    if out.ndim != 4 or out.shape[0] != n or out.shape[2:] != (h, w) or (
            bands is not None and out.shape[1] != bands):
        raise ModelMismatchError(format_message(
            f"model output of shape ({n}, {bands or 'bands'}, {h}, {w})",
            f"shape {tuple(out.shape)}",
            "use a model that maps (N, 3, H, W) RGB to (N, bands, H, W) for any H, W"))
    return out


try:  # distributed is a dependency, but keep runtime importable without it
    from distributed.diagnostics.plugin import WorkerPlugin as _PluginBase
except ImportError:  # pragma: no cover
    _PluginBase = object  # type: ignore[assignment,misc]


class PreloadModel(_PluginBase):  # type: ignore[misc,valid-type]
    """``distributed`` worker plugin that loads a model when each worker starts.

    Without it every worker loads the model lazily on its first task, which
    is equally correct; preloading moves the load time out of the first tasks.

    Parameters
    ----------
    model : str, path or ModelSpec
        The model to load: a shipped name, a weights path or a :class:`ModelSpec`
        (see :func:`model_spec`; in-memory modules cannot be preloaded in other
        processes). Use the same ``device`` and ``dtype`` as the reconstruction so
        that its tasks find the preloaded model in the cache.
    device, dtype : str
        As in :func:`specrecon.reconstruct` (ignored when ``model`` is a spec).

    Examples
    --------
    >>> from distributed import Client                                  # doctest: +SKIP
    >>> client = Client()                                               # doctest: +SKIP
    >>> client.register_plugin(PreloadModel("hydra-satellite-202"))     # doctest: +SKIP
    """

    name = "specrecon-preload-model"

    def __init__(self, model: Any, *, device: str = "auto", dtype: str = "float32") -> None:
        self.spec = model if isinstance(model, ModelSpec) else model_spec(model, device=device,
                                                                          dtype=dtype)

    def setup(self, worker: Any) -> None:
        """Load the model into the worker process's cache."""
        get_model(self.spec)
