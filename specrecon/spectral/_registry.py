"""A lock-guarded name registry whose built-in entries are loaded on first use.

Band sets (:mod:`specrecon.spectral.bandsets`) and sensors
(:mod:`specrecon.spectral.sensors`) share this: built-ins are given as loader
functions, called once and cached; users may register their own entries.
Callers normalise the names themselves (the two registries differ there).

Examples
--------
>>> reg = LazyRegistry("widget", {"a": lambda: 1}, unknown_hint="pick a listed name")
>>> reg.get("a", "A"), reg.names()
(1, ['a'])
>>> reg.register("b", 2)
2
>>> try:
...     reg.get("zz", "zz")
... except UnknownSensorError as err:
...     print(err)
expected a widget name, one of a, b; found 'zz'. To fix: pick a listed name
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
        Normalised name -> loader returning the entry.
    unknown_hint : str
        The "what to do" part of the message for an unknown name.
    """

    def __init__(self, kind: str, builtins: Mapping[str, Callable[[], T]], *,
                 unknown_hint: str) -> None:
        self.kind = kind
        self.unknown_hint = unknown_hint
        self._builtins: dict[str, Callable[[], T]] = dict(builtins)
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Sorted names of the built-in and registered entries."""
        return sorted(set(self._builtins) | set(self._items))

    def get(self, key: str, name: Any) -> T:
        """Entry under the normalised ``key`` (loading a built-in once).

        ``name`` is what the caller asked for, quoted in the error message.
        Raises :class:`~specrecon.errors.UnknownSensorError` for an unknown key.
        """
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

    def register(self, key: str, item: T, *, overwrite: bool = False) -> T:
        """Store ``item`` under the normalised ``key``; ValueError if taken (unless overwrite)."""
        with self._lock:
            if not overwrite and (key in self._items or key in self._builtins):
                raise ValueError(format_message(f"a new {self.kind} name",
                                                f"{key!r} already exists",
                                                "choose another name or pass overwrite=True"))
            self._items[key] = item
        return item
