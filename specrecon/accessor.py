"""The ``.hsr`` xarray accessor: a thin shim over specrecon's functions.

Importing :mod:`specrecon` registers ``DataArray.hsr`` and ``Dataset.hsr``.
Every method forwards to a plain function with the object as its first
argument (``cube.hsr.to_zarr(path)`` is ``specrecon.to_zarr(cube, path)``).
The function is imported only when the method is first looked up, so
``import specrecon`` stays light, and the method carries the function's
own signature and documentation (less the data argument), so ``help()``,
IPython's ``?`` and tab completion show every parameter.

Examples
--------
>>> import inspect
>>> import xarray as xr
>>> import specrecon
>>> sig = inspect.signature(xr.DataArray([0.0]).hsr.to_zarr)
>>> list(sig.parameters)[:3]
['path', 'mode', 'region']

The usual flow on a GeoTIFF (needs a scene on disk):

>>> import rioxarray                       # doctest: +SKIP
>>> rgb = rioxarray.open_rasterio("scene.tif", chunks={"x": 2048, "y": 2048})  # doctest: +SKIP
>>> cube = rgb.hsr.reconstruct(model="hydra-satellite-202")  # doctest: +SKIP
>>> cube.hsr.to_zarr("scene_cube.zarr")               # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from collections.abc import Callable, Mapping
from typing import Any

import xarray as xr

__all__ = ["HsrDataArrayAccessor", "HsrDatasetAccessor"]

_HEADER = re.compile(r"^(?P<title>[A-Z][A-Za-z ]*)\n-{3,}$", re.MULTILINE)


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _sections(doc: str) -> list[tuple[str, str]]:
    """Split a numpydoc docstring into ``(title, body)`` pairs (title "" for the intro)."""
    parts: list[tuple[str, str]] = []
    start, title = 0, ""
    for match in _HEADER.finditer(doc):
        parts.append((title, doc[start:match.start()]))
        title, start = match.group("title"), match.end()
    parts.append((title, doc[start:]))
    return parts


def _parameter_entries(body: str) -> list[tuple[list[str], str]]:
    """The entries of a Parameters section: ``(names, text)`` with the text as written."""
    entries: list[tuple[list[str], str]] = []
    for line in body.strip("\n").splitlines(keepends=True):
        if line.strip() and not line[0].isspace():
            names = [n.strip() for n in line.split(" : ")[0].split(",")]
            entries.append((names, line))
        elif entries:
            names, text = entries[-1]
            entries[-1] = (names, text + line)
    return [(names, text.rstrip("\n") + "\n") for names, text in entries]


def _forwarded_doc(target: Callable[..., Any], where: str, method: str, drop: str,
                   extra: Callable[..., Any] | None, defaults: Mapping[str, Any]) -> str:
    """The target's docstring for the accessor method.

    The data argument ``drop`` leaves the Parameters section, the parameters of
    ``extra`` (a preparation step, e.g. picking a Dataset variable) join it, and a
    sentence after the summary says what the method calls (``where``, the public
    name of the target) and which ``defaults`` differ from the function's.
    """
    doc = inspect.cleandoc(target.__doc__ or "")
    given = "``obj``"
    extra_names = list(inspect.signature(extra).parameters)[1:] if extra is not None else []
    if extra is not None:
        given = f"``{extra.__name__}(obj, {', '.join(extra_names)})``"
    note = (f"Accessor form of :func:`{where}`: ``obj.hsr.{method}(...)`` calls it with"
            f" {given} as ``{drop}``.")
    if defaults:
        changed = ", ".join(f"``{k}={v!r}``" for k, v in defaults.items())
        note += f" Defaults here: {changed}."
    if not doc:
        return note
    intro, *rest = _sections(doc)
    summary, _, details = intro[1].partition("\n\n")
    out = [summary.rstrip() + "\n\n" + note + "\n\n" + details.strip("\n")]
    extra_doc = dict(_sections(inspect.cleandoc(extra.__doc__ or ""))) if extra else {}
    added = [(n, t) for n, t in _parameter_entries(extra_doc.get("Parameters", ""))
             if set(n) & set(extra_names)]
    for title, body in rest:
        if title == "Parameters":
            kept = []
            for names, text in _parameter_entries(body):
                if drop in names:
                    if len(names) == 1:
                        continue
                    _, sep, tail = text.partition(" : ")
                    text = ", ".join(n for n in names if n != drop) + sep + tail
                kept.append(text)
            body = "\n" + "".join(t for _, t in added) + "".join(kept) + "\n"
        out.append(f"{title}\n{'-' * len(title)}{body.rstrip()}\n")
    return "\n\n".join(part.strip("\n") for part in out if part.strip()) + "\n"


class _Forward:
    """A method that forwards to a package function, imported when first looked up.

    Parameters
    ----------
    target : str
        ``"module:function"``; the object is passed as its first argument.
    defaults : mapping, optional
        Defaults that differ from the function's (or that it lacks).
    prepare : str, optional
        ``"module:function"`` applied to the object first; its parameters after
        the first become leading parameters of the method (e.g. which Dataset
        variable to reconstruct).
    """

    def __init__(self, target: str, *, defaults: Mapping[str, Any] | None = None,
                 prepare: str | None = None) -> None:
        self.target = target
        self.defaults = dict(defaults or {})
        self.prepare = prepare
        self.name = target.partition(":")[2]
        self.owner = "hsr"
        self._built: tuple[tuple[Any, ...], Callable[..., Any]] | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.owner = name, owner.__name__

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        method = self.build()
        return method if instance is None else types.MethodType(method, instance)

    def build(self) -> Callable[..., Any]:
        """The forwarding function (first argument: the accessor), signature and doc set."""
        target = _resolve(self.target)
        prepare = _resolve(self.prepare) if self.prepare else None
        key = (target, prepare)
        if self._built is not None and self._built[0] == key:
            return self._built[1]

        target_sig = inspect.signature(target)
        data, *rest = target_sig.parameters.values()
        lead = list(inspect.signature(prepare).parameters.values())[1:] if prepare else []
        rest = [p.replace(default=self.defaults[p.name]) if p.name in self.defaults else p
                for p in rest]
        public = inspect.Signature(lead + rest, return_annotation=target_sig.return_annotation)
        lead_names = [p.name for p in lead]
        defaults = self.defaults

        def method(accessor: Any, /, *args: Any, **kwargs: Any) -> Any:
            bound = public.bind(*args, **kwargs)
            obj = accessor._obj
            if prepare is not None:
                obj = prepare(obj, **{n: bound.arguments.pop(n) for n in lead_names
                                      if n in bound.arguments})
            call = inspect.BoundArguments(target_sig, {data.name: obj, **bound.arguments})
            for name, value in defaults.items():
                call.arguments.setdefault(name, value)
            return _resolve(self.target)(*call.args, **call.kwargs)

        method.__name__ = self.name
        method.__qualname__ = f"{self.owner}.{self.name}"
        method.__module__ = __name__
        method.__doc__ = _forwarded_doc(target, self.target.replace(":", "."), self.name,
                                        data.name, prepare, defaults)
        self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        method.__signature__ = public.replace(  # type: ignore[attr-defined]
            parameters=[self_param, *public.parameters.values()])
        self._built = (key, method)
        return method


@xr.register_dataarray_accessor("hsr")
class HsrDataArrayAccessor:
    """Spectral reconstruction methods on a DataArray (RGB image or cube).

    Each method forwards to the function named in its first lines, with this
    DataArray as the first argument.
    """

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    # RGB -> cube
    reconstruct = _Forward("specrecon.inference:reconstruct")
    # cube -> RGB / other band sets
    to_rgb = _Forward("specrecon.spectral:project", defaults={"sensor": "sentinel2_msi_rgb"})
    simulate_rgb = _Forward("specrecon.spectral:simulate_rgb")
    resample = _Forward("specrecon.spectral:resample")
    # evaluation
    evaluate = _Forward("specrecon.metrics:evaluate")
    # output
    to_zarr = _Forward("specrecon.io:to_zarr")
    to_netcdf = _Forward("specrecon.io:to_netcdf")
    # plots
    plot_spectra = _Forward("specrecon.plot:plot_spectra")
    plot_bands = _Forward("specrecon.plot:plot_bands")
    plot_error = _Forward("specrecon.plot:plot_error")


@xr.register_dataset_accessor("hsr")
class HsrDatasetAccessor:
    """Spectral reconstruction methods on a Dataset.

    ``reconstruct`` first picks the RGB variable (see
    :func:`specrecon.inference.select_rgb_variable`); the writers take the
    whole Dataset.
    """

    def __init__(self, obj: xr.Dataset) -> None:
        self._obj = obj

    reconstruct = _Forward("specrecon.inference:reconstruct",
                           prepare="specrecon.inference:select_rgb_variable")
    to_zarr = _Forward("specrecon.io:to_zarr")
    to_netcdf = _Forward("specrecon.io:to_netcdf")
