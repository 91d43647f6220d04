"""A lock-guarded name registry whose built-in entries are loaded on first use.

Band sets (:mod:`specrecon.spectral.bandsets`) and sensors
(:mod:`specrecon.spectral.sensors`) share this: built-ins are given as loader
functions, called once and cached; users may register their own entries.
Names are matched regardless of case, surrounding spaces and ``-`` / ``_`` / `` ``.

Examples
--------
>>> reg = LazyRegistry("widget", {"a": lambda: 1}, unknown_hint="pick a listed name")
>>> reg.get("A"), reg.names()
(1, ['a'])
>>> reg.register("b-2", 2), reg.get("B_2")
(2, 2)
>>> try:
...     reg.get("zz")
... except UnknownSensorError as err:
...     print(err)
expected a widget name, one of a, b_2; found 'zz'. To fix: pick a listed name
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from specrecon.errors import UnknownSensorError, format_message

T = TypeVar("T")


class LazyRegistry(Generic[T]):
    """Named entries: built-ins loaded lazily (once) plus registered ones.

    Parameters
    ----------
    kind : str
        What an entry is, for messages ("band-set", "sensor").
    builtins : mapping of str to callable
        Name -> loader returning the entry (names are normalised with :meth:`key`).
    unknown_hint : str
        The "what to do" part of the message for an unknown name.
    """

    def __init__(self, kind: str, builtins: Mapping[str, Callable[[], T]], *,
                 unknown_hint: str) -> None:
        self.kind = kind
        self.unknown_hint = unknown_hint
        self._builtins: dict[str, Callable[[], T]] = {self.key(k): v
                                                      for k, v in builtins.items()}
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Sorted names of the built-in and registered entries."""
        return sorted(set(self._builtins) | set(self._items))

    @staticmethod
    def key(name: Any) -> str:
        """Registry key of ``name``: lower case, ``-`` and spaces as ``_``."""
        return str(name).strip().lower().replace("-", "_").replace(" ", "_")

    def get(self, name: Any) -> T:
        """Entry called ``name`` (loading a built-in once).

        Raises :class:`~specrecon.errors.UnknownSensorError` for an unknown name,
        quoting it as given.
        """
        key = self.key(name)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                return hit
            loader = self._builtins.get(key)
            if loader is None:
                raise UnknownSensorError(format_message(
                    f"a {self.kind} name, one of {', '.join(self.names())}", repr(name),
                    self.unknown_hint))
            item = loader()
            self._items[key] = item
            return item

    def register(self, name: str, item: T, *, overwrite: bool = False) -> T:
        """Store ``item`` under ``name``; ValueError if taken (unless overwrite)."""
        key = self.key(name)
        with self._lock:
            if not overwrite and (key in self._items or key in self._builtins):
                raise ValueError(format_message(f"a new {self.kind} name",
                                                f"{key!r} already exists",
                                                "choose another name or pass overwrite=True"))
            self._items[key] = item
        return item
