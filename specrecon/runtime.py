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

Model identity: :func:`resolve_model` is the one place that turns what the
user passed (``"default"``, a name, a path, a module) into a :class:`ModelSpec`
and reads the model card -- the small JSON file, never the tensors. It pins
the card's sha256 into the spec, so every process loads the same bytes. The
cache key (:func:`cache_key`: source, resolved device, precision) is the same
for the caller, the tasks and :class:`PreloadModel`, so each process loads a
model exactly once (:func:`cache_info` counts the loads).

Devices and precision follow :mod:`specrecon.device`: ``"auto"`` is resolved
**in the process that runs the task** (CUDA if that process sees one, else
CPU), and with a ``distributed`` client even an explicit ``"cuda"`` is checked
on the workers, so a CPU-only client (Jupyter on a login node) drives GPU
workers; an unavailable device raises :class:`~specrecon.errors.DeviceError`
naming the worker. ``"fp32"`` (default), ``"bf16"`` and ``"fp16"`` (aliases
``"float32"``, ``"bfloat16"``, ``"float16"``) run the forward pass under
:func:`torch.autocast` on the device's own type; outputs are always float32.

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
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specrecon.device import (  # noqa: F401  (resolve_device, available_devices: re-exported)
    PRECISIONS,
    autocast,
    available_devices,
    check_precision,
    cpu_threads,
    device_type,
    normalize_precision,
    resolve_device,
    task_threads,
)
from specrecon.errors import ConfigError, ModelMismatchError, format_message

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

    from specrecon.models.weights import ModelCard

__all__ = [
    "DTYPES",
    "ModelSpec",
    "PreloadModel",
    "ResolvedModel",
    "active_client",
    "cache_info",
    "cache_key",
    "clear_cache",
    "get_model",
    "model_spec",
    "predict",
    "resolve_model",
    "WORKER_ENVIRON",
    "worker_config",
]

#: Precision names accepted by :class:`ModelSpec` (canonical; aliases are normalised).
DTYPES = PRECISIONS
_CACHE_SIZE = 4

_cache: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
_modules: dict[str, Any] = {}
_cache_lock = threading.Lock()
_device_locks: dict[str, threading.Lock] = {}
_loads: Counter[tuple[str, str, str]] = Counter()


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
        Precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (or an alias, see
        :func:`specrecon.device.normalize_precision`).
    """

    source: str
    sha256: str | None
    device: str = "auto"
    dtype: str = "fp32"


@dataclass(frozen=True)
class ResolvedModel:
    """A model identified once: its spec (with the sha256 pinned) and its card.

    Parameters
    ----------
    spec : ModelSpec
        What tasks carry.
    card : ModelCard or None
        The model card (None for in-memory modules without one).
    bands : int
        Output bands.
    name : str
        Model name for the output attributes.
    sha256 : str
        Hash of the weights ("" when unknown), or of the state dict of an in-memory module.
    """

    spec: ModelSpec
    card: ModelCard | None
    bands: int
    name: str
    sha256: str


def active_client() -> Any:
    """The current ``distributed`` client, or None (the one client detector of the package).

    Never imports ``distributed``: without it imported there is no client.

    Examples
    --------
    >>> active_client() is None
    True
    """
    import sys

    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import default_client

        return default_client()
    except ValueError:
        return None


def _state_hash(module: nn.Module) -> str:
    import torch

    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        t = v.detach().to("cpu").contiguous()
        h.update(str(t.dtype).encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def model_spec(model: Any, *, device: str = "auto", dtype: str = "fp32") -> ModelSpec:
    """Build a :class:`ModelSpec` for a name, path, module or existing spec.

    In-memory modules are registered in this process's cache. Nothing is
    loaded for names and paths; see :func:`get_model`. Prefer
    :func:`resolve_model`, which also pins the weights' sha256.

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
    precision = normalize_precision(dtype)
    if isinstance(model, ModelSpec):
        return ModelSpec(model.source, model.sha256, device, precision)
    try:
        import torch

        is_module = isinstance(model, torch.nn.Module)
    except ImportError:  # pragma: no cover
        is_module = False
    if is_module:
        card = getattr(model, "card", None)
        token = f"module:{_state_hash(model)}"
        with _cache_lock:
            if _modules.get(token) is not model:   # another object with the same weights:
                for key in [k for k in _cache if k[0] == token]:   # run this one from now on
                    del _cache[key]
            _modules[token] = model
        return ModelSpec(token, getattr(card, "sha256", None) or None, device, precision)
    if isinstance(model, Path) or (isinstance(model, str) and (
            model.endswith((".safetensors", ".json")) or "/" in model or "\\" in model)):
        path = Path(model).expanduser().resolve()
        if path.suffix.lower() == ".json":
            path = path.with_suffix(".safetensors")
        return ModelSpec(str(path), None, device, precision)
    if isinstance(model, str):
        if model == "default":
            from specrecon.models import DEFAULT_MODEL

            model = DEFAULT_MODEL
        return ModelSpec(model, None, device, precision)
    raise ConfigError(format_message("a model name, .safetensors path or torch.nn.Module",
                                     type(model).__name__, "pass one of those"))


def resolve_model(model: Any, *, device: str = "auto", dtype: str = "fp32",
                  check_device: bool | None = None) -> ResolvedModel:
    """Identify a model once: spec with pinned sha256, card, bands -- no tensors loaded.

    Parameters
    ----------
    model : str, path, torch.nn.Module or ModelSpec
        As in :func:`specrecon.reconstruct`.
    device, dtype : str
        See :class:`ModelSpec`.
    check_device : bool, optional
        Check here that the device exists and supports the precision. Default:
        only when no ``distributed`` client is active (with a client the
        workers check, so a CPU-only client can drive GPU workers).

    Returns
    -------
    ResolvedModel

    Raises
    ------
    DeviceError, ConfigError
        Unknown or unavailable device / precision (when checked here).
    UnknownModelError, ModelCardError
        Unknown name or missing card.

    Examples
    --------
    >>> import torch
    >>> r = resolve_model(torch.nn.Conv2d(3, 5, 1), device="cpu")
    >>> r.bands, r.spec.dtype
    (5, 'fp32')
    """
    spec = model_spec(model, device=device, dtype=dtype)
    if check_device is None:
        check_device = active_client() is None
    if check_device:
        check_precision(spec.dtype, resolve_device(spec.device))
    if spec.source.startswith("module:"):
        module = _modules.get(spec.source)
        card = getattr(module, "card", None)
        bands = getattr(card, "bands", None) or getattr(module, "bands", None)
        if bands is None:      # a plain module: run it once on a small probe
            bands = predict(spec, np.zeros((1, 3, 16, 16), "float32")).shape[1]
        name = (getattr(card, "name", None) or getattr(module, "name", None)
                or type(module).__name__)
        sha = getattr(card, "sha256", None) or spec.source.split(":", 1)[1]
        return ResolvedModel(spec, card, int(bands), str(name), str(sha))
    from specrecon.models.weights import read_card

    _, card = read_card(spec.source)
    if spec.sha256 and card.sha256 and spec.sha256.lower() != card.sha256.lower():
        from specrecon.errors import WeightsIntegrityError

        raise WeightsIntegrityError(format_message(
            f"weights with sha256 {spec.sha256}", f"a card with sha256 {card.sha256}",
            "use the weights the spec was made for"))
    pinned = ModelSpec(spec.source, spec.sha256 or card.sha256 or None, spec.device, spec.dtype)
    return ResolvedModel(pinned, card, int(card.bands), card.name, card.sha256)


def cache_key(spec: ModelSpec) -> tuple[str, str, str]:
    """The key under which this process caches the model of ``spec``.

    ``(source, resolved device, canonical precision)``: the sha256 is *checked*
    on load and on every cache hit, but is not part of the key, so a spec with
    and without a pinned hash find the same model.

    Examples
    --------
    >>> cache_key(ModelSpec("m", None, "cpu", "float32"))
    ('m', 'cpu', 'fp32')
    """
    return spec.source, resolve_device(spec.device), normalize_precision(spec.dtype)


def cache_info() -> dict[str, Any]:
    """What the model cache of this process holds and how often it loaded each model.

    Returns
    -------
    dict
        ``{"loads": {key: n}, "cached": [key, ...]}`` with keys from :func:`cache_key`.

    Examples
    --------
    >>> sorted(cache_info())
    ['cached', 'loads']
    """
    with _cache_lock:
        return {"loads": dict(_loads), "cached": list(_cache)}


def get_model(spec: ModelSpec) -> Any:
    """The model for ``spec`` in this process (loaded on first use, then cached).

    Raises
    ------
    DeviceError
        If the spec's device does not exist in this process.
    ModelMismatchError
        If an in-memory module is requested in a process that does not hold it.
    WeightsIntegrityError
        If the weights do not have the spec's sha256.
    """
    key = cache_key(spec)
    device, precision = key[1], key[2]
    check_precision(precision, device)
    with _cache_lock:
        model = _cache.get(key)
        card_sha = getattr(getattr(model, "card", None), "sha256", None)
        if model is not None and not (spec.sha256 and card_sha
                                      and card_sha.lower() != spec.sha256.lower()):
            _cache.move_to_end(key)
            return model
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
        _loads[key] += 1
        _cache[key] = model
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        _device_locks.setdefault(device, threading.Lock())
    return model


def clear_cache() -> None:
    """Forget every cached model, in-memory module and load count of this process."""
    with _cache_lock:
        _cache.clear()
        _modules.clear()
        _loads.clear()


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
    _, device, precision = cache_key(spec)
    kind = device_type(device)
    x = torch.from_numpy(np.ascontiguousarray(tiles, dtype=np.float32))
    lock = _device_locks.setdefault(device, threading.Lock()) if kind == "cuda" else None
    if lock is not None:
        lock.acquire()
    threads = task_threads() if kind == "cpu" else None
    try:
        with torch.inference_mode(), autocast(device, precision), cpu_threads(threads):
            y = model(x.to(device, non_blocking=kind == "cuda"))
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
    return np.asarray(out, dtype=np.float32)


#: Environment variables for ``distributed`` worker processes that run models.
#: The nanny sets ``MALLOC_TRIM_THRESHOLD_`` for its workers, which also switches off
#: glibc's dynamic mmap threshold: every tensor over 128 KiB is then a fresh ``mmap``
#: whose pages fault in on each use, and model inference ran 2x slower (measured in
#: ``benchmarks/pipeline_throughput.py``). Restoring the mmap threshold's usual upper
#: value (32 MiB) keeps those tensors on the heap.
WORKER_ENVIRON: dict[str, int] = {"MALLOC_MMAP_THRESHOLD_": 32 * 2**20}


def worker_config() -> dict[str, Any]:
    """dask config that starts ``distributed`` workers with :data:`WORKER_ENVIRON`.

    Use it around ``LocalCluster(...)`` (or set it before ``dask worker`` starts;
    for workers started from a shell, export the variables instead).

    Returns
    -------
    dict
        ``{"distributed.nanny.pre-spawn-environ": {...}}`` for :func:`dask.config.set`.

    Examples
    --------
    >>> import dask
    >>> with dask.config.set(worker_config()):                       # doctest: +SKIP
    ...     cluster = LocalCluster(n_workers=2, threads_per_worker=1)
    >>> worker_config()["distributed.nanny.pre-spawn-environ"]["MALLOC_MMAP_THRESHOLD_"]
    33554432
    """
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.update(WORKER_ENVIRON)
    return {"distributed.nanny.pre-spawn-environ": env}


try:  # distributed is a dependency, but keep runtime importable without it
    from distributed.diagnostics.plugin import WorkerPlugin as _PluginBase
except ImportError:  # pragma: no cover
    _PluginBase = object


class PreloadModel(_PluginBase):
    """``distributed`` worker plugin that loads a model when each worker starts.

    Without it every worker loads the model lazily on its first task, which
    is equally correct; preloading moves the load time out of the first tasks.
    Either way each worker process loads the model once: the plugin and the
    tasks share :func:`cache_key`.

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

    def __init__(self, model: Any, *, device: str = "auto", dtype: str = "fp32") -> None:
        self.spec = model if isinstance(model, ModelSpec) else model_spec(model, device=device,
                                                                          dtype=dtype)

    def setup(self, worker: Any) -> None:
        """Load the model into the worker process's cache."""
        get_model(self.spec)
