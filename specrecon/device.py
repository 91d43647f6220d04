"""Devices and numeric precision: one vocabulary and one resolver for the whole package.

Inference (:mod:`specrecon.runtime`), weight loading (:mod:`specrecon.models.weights`)
and training (:mod:`specrecon.training.loop`) all go through this module, so a
device string or a precision name means the same thing everywhere.

Devices
    ``"auto"`` (CUDA if *this process* sees one, else CPU), ``"cpu"``, ``"cuda"``
    (the first GPU), ``"cuda:N"`` and ``"mps"``. :func:`resolve_device` turns them
    into a concrete device and raises :class:`~specrecon.errors.DeviceError`,
    listing what exists, when the device is not there. With a ``distributed``
    cluster this runs on the workers, never on the client.

CPU threads
    A dask threaded scheduler runs one forward pass per thread, side by side; torch
    would give each of them all the cores (2 dask threads x 2 torch threads on 2
    cores made the demo 2x slower). :func:`task_threads` decides the intra-op threads
    of a CPU forward pass in a dask worker thread (cores // dask threads) and
    :func:`cpu_threads` applies it for the pass.

Precision
    ``"fp32"``, ``"bf16"``, ``"fp16"``. Aliases (``"float32"``, ``"bfloat16"``,
    ``"float16"``, ``"half"``, torch dtypes ...) are normalised by
    :func:`normalize_precision`, the only place that knows them. Half precision
    runs the forward pass under :func:`torch.autocast` on the device's own type
    (:func:`autocast`); outputs and trained weights stay float32. On CPU ``bf16``
    works (CPU autocast) and ``fp16`` is refused.

Examples
--------
>>> normalize_precision("bfloat16"), normalize_precision("float32")
('bf16', 'fp32')
>>> resolve_device("cpu")
'cpu'
>>> with autocast("cpu", "bf16"):
...     import torch
...     torch.is_autocast_enabled("cpu")
True
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from specrecon.errors import ConfigError, DeviceError, format_message

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "PRECISIONS",
    "Precision",
    "autocast",
    "available_devices",
    "check_precision",
    "cpu_threads",
    "device_type",
    "task_threads",
    "normalize_precision",
    "resolve_device",
    "torch_dtype",
]

Precision = Literal["fp32", "bf16", "fp16"]
#: The canonical precision names, in the order the CLI lists them.
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16", "fp16")
_ALIASES: dict[str, Precision] = {
    "fp32": "fp32", "float32": "fp32", "float": "fp32", "single": "fp32", "32": "fp32",
    "bf16": "bf16", "bfloat16": "bf16",
    "fp16": "fp16", "float16": "fp16", "half": "fp16", "16": "fp16",
}


def normalize_precision(precision: object) -> Precision:
    """The canonical name (``"fp32"``, ``"bf16"``, ``"fp16"``) of a precision.

    Parameters
    ----------
    precision : str or torch.dtype
        Any alias: ``"float32"``, ``"bfloat16"``, ``"float16"``, ``"half"``,
        ``torch.bfloat16`` ... (case-insensitive).

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        For an unknown name or a non-floating dtype.

    Examples
    --------
    >>> import torch
    >>> normalize_precision(torch.float16), normalize_precision("BF16")
    ('fp16', 'bf16')
    """
    name = str(precision).lower().removeprefix("torch.")
    if name in _ALIASES:
        return _ALIASES[name]
    raise ConfigError(format_message(
        f"a precision among {list(PRECISIONS)} (or float32/bfloat16/float16)",
        repr(precision), "use 'fp32' (or 'bf16' / 'fp16' for half precision)"))


def torch_dtype(precision: object) -> torch.dtype:
    """The :class:`torch.dtype` of a precision name or alias.

    Examples
    --------
    >>> torch_dtype("bf16")
    torch.bfloat16
    """
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16,
            "fp16": torch.float16}[normalize_precision(precision)]


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
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devs.append("mps")
    return devs


def resolve_device(device: object = "auto") -> str:
    """Turn ``"auto"`` / ``"cuda"`` into a concrete device of this process and check it.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``.

    Returns
    -------
    str
        ``"cpu"``, ``"cuda:N"`` or ``"mps"``.

    Raises
    ------
    DeviceError
        If the device is not available in this process (the message names
        the process when it is a ``distributed`` worker).

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
    if dev == "mps":
        if "mps" not in available_devices():
            raise DeviceError(format_message(f"an available MPS device{_where()}",
                                             f"devices {available_devices()}",
                                             "use device='auto' or 'cpu'"))
        return "mps"
    if dev == "cuda" or dev.startswith("cuda:"):
        try:
            idx = 0 if dev == "cuda" else int(dev.split(":", 1)[1])
        except ValueError:
            idx = -1
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not 0 <= idx < n:
            raise DeviceError(format_message(
                f"an available CUDA device ({str(device)!r}){_where()}",
                f"devices {available_devices()}",
                "use device='auto' or 'cpu', or a cuda:N that exists (on a cluster: start "
                "the workers on GPU nodes, e.g. with dask-cuda)"))
        return f"cuda:{idx}"
    raise DeviceError(format_message("device 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'",
                                     repr(device), f"pick one of {available_devices()} or 'auto'"))


def _where() -> str:
    """`` on worker <address>`` inside a distributed worker, else ``""``."""
    try:
        from distributed import get_worker

        return f" on dask worker {get_worker().address}"
    except (ImportError, ValueError):
        return ""


def device_type(device: object) -> str:
    """``"cpu"``, ``"cuda"`` or ``"mps"``: the device type torch's autocast expects.

    Examples
    --------
    >>> device_type("cuda:1"), device_type("cpu")
    ('cuda', 'cpu')
    """
    return str(device).split(":", 1)[0].lower()


def check_precision(precision: object, device: object, *, training: bool = False) -> Precision:
    """Normalise ``precision`` and check that it can run on ``device``.

    Parameters
    ----------
    precision : str or torch.dtype
        Any alias accepted by :func:`normalize_precision`.
    device : str or torch.device
        A resolved device.
    training : bool
        Training refuses ``fp16`` (it would need loss scaling; use ``bf16``).

    Returns
    -------
    str
        The canonical precision.

    Raises
    ------
    DeviceError
        ``fp16`` on CPU.
    ConfigError
        ``fp16`` for training, or an unknown name.

    Examples
    --------
    >>> check_precision("bfloat16", "cpu")
    'bf16'
    """
    p = normalize_precision(precision)
    if p == "fp16" and training:
        raise ConfigError(format_message("precision fp32 or bf16 for training",
                                         "fp16 (needs loss scaling)", "use precision: bf16"))
    if p == "fp16" and device_type(device) == "cpu":
        raise DeviceError(format_message("a CUDA device for precision fp16 (float16)",
                                         "device 'cpu'", "use 'bf16' (bfloat16) or 'fp32' on CPU"))
    return p


@contextlib.contextmanager
def autocast(device: object, precision: object) -> Iterator[None]:
    """Autocast context for ``precision`` on the type of ``device`` (a no-op for fp32).

    Examples
    --------
    >>> import torch
    >>> with autocast("cpu", "fp32"):
    ...     torch.is_autocast_enabled("cpu")
    False
    """
    p = normalize_precision(precision)
    if p == "fp32":
        yield
        return
    import torch

    with torch.autocast(device_type=device_type(device), dtype=torch_dtype(p)):
        yield


def task_threads() -> int | None:
    """torch intra-op threads for a CPU forward pass in the calling thread.

    ``None`` (leave torch's setting) in the main thread -- numpy input, the
    synchronous scheduler, a plain script -- and in ``distributed`` workers, whose
    nanny already limits each process (``OMP_NUM_THREADS=1``). In any other thread
    (the worker threads of dask's threaded scheduler) the cores are shared by the
    scheduler's threads: ``cores // num_workers``, at least 1 (and at most torch's
    own setting, see :func:`cpu_threads`).

    Returns
    -------
    int or None

    Examples
    --------
    >>> task_threads() is None          # the main thread keeps torch's own setting
    True
    """
    if threading.current_thread() is threading.main_thread():
        return None
    if threading.current_thread().name.startswith("Dask-") or _in_distributed_worker():
        return None                     # distributed's executor threads
    import dask
    from dask.system import CPU_COUNT

    workers = int(dask.config.get("num_workers", None) or CPU_COUNT)
    return max(1, int(CPU_COUNT) // max(1, workers))


def _in_distributed_worker() -> bool:
    import sys

    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run the block with at most ``n`` torch intra-op threads (``None``: unchanged).

    torch's thread count is OpenMP's, which each thread holds for itself: the calling
    thread's setting is lowered for the block (never raised: ``OMP_NUM_THREADS=1``
    stays 1) and put back afterwards; other threads keep theirs.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with cpu_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    want = max(1, min(int(n), before))
    if want != before:
        torch.set_num_threads(want)
    try:
        yield
    finally:
        if want != before:
            torch.set_num_threads(before)
