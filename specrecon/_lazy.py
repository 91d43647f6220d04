"""Lazy package exports: names resolved from their submodule on first access (PEP 562).

Keeps ``import specrecon`` (and ``specrecon.datasets`` / ``specrecon.training``) free of
torch, dask and friends until a function that needs them is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, namespace: dict[str, Any], names: Mapping[str, str],
                 submodules: Iterable[str] = ()) -> tuple[Callable[[str], Any],
                                                          Callable[[], list[str]]]:
    """Build a package's ``__getattr__`` and ``__dir__``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    namespace : dict
        The package's ``globals()``; resolved names are cached there.
    names : mapping
        Public name -> submodule (relative to ``package``) that defines it.
    submodules : iterable of str
        Submodules reachable as attributes (imported on first access).

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` to assign at module level.

    Examples
    --------
    >>> ns = {}
    >>> getattr_, dir_ = lazy_exports("specrecon", ns, {"format_message": "errors"})
    >>> getattr_("format_message").__name__, "format_message" in ns
    ('format_message', True)
    """
    subs = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
            namespace[name] = value
            return value
        if name in subs:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names) | subs)

    return __getattr__, __dir__
