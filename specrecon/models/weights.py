"""Weights I/O: safetensors tensors plus a JSON model card, hash-checked, never unpickled.

A saved model is two files:

- ``<path>.safetensors``: the ``state_dict`` (safetensors format: a JSON header and raw
  tensor bytes, so reading it can never execute code);
- ``<path>.json``: a :class:`ModelCard` that says how to rebuild the network
  (``architecture`` + ``config``), what it outputs (``bands``, ``wavelengths``, ``fwhm``,
  ``value_range``), how to tile it, how it was trained and evaluated, its licence and
  the ``sha256`` of the ``.safetensors`` file.

:func:`load_model` refuses pickle-based formats (``.pt``, ``.pth``, ``.pkl``, ``.ckpt``,
``.bin``, zip or pickle content under any name) with
:class:`~specrecon.errors.UnsafeWeightsError`, checks the hash
(:class:`~specrecon.errors.WeightsIntegrityError`) and checks that the card agrees with
the tensors (:class:`~specrecon.errors.ModelCardError`).

Examples
--------
>>> import tempfile, pathlib, torch
>>> from specrecon.models import create_model
>>> model = create_model("hydra-tiny-31")
>>> card = ModelCard.from_model(model, wavelengths=[400.0 + 10 * i for i in range(31)])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.safetensors"
>>> card = save_model(model, path, card)
>>> loaded = load_model(path)
>>> loaded.card.sha256 == card.sha256
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from specrecon._version import __version__
from specrecon.errors import (
    ConfigError,
    ModelCardError,
    UnknownModelError,
    UnsafeWeightsError,
    WeightsIntegrityError,
    format_message,
)
from specrecon.models.pretrained import list_pretrained, pretrained_path
from specrecon.models.registry import FAMILIES, build_model

__all__ = ["ModelCard", "save_model", "load_model", "read_card", "sha256_file", "UNSAFE_SUFFIXES"]

#: File suffixes of pickle-based formats that are never read.
UNSAFE_SUFFIXES = frozenset({".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".tar", ".zip"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _jsonable(value: Any) -> Any:
    """Normalise to what a JSON round trip gives (tuples -> lists)."""
    return json.loads(json.dumps(value))


@dataclass
class ModelCard:
    """Metadata of a set of weights (saved as JSON next to the ``.safetensors`` file).

    Parameters
    ----------
    name : str
        Model name (the shipped name for packaged weights).
    architecture : str
        Model family: ``"hydra"`` or ``"mst_plus_plus"``.
    config : dict
        ``dataclasses.asdict`` of the family's configuration.
    bands : int
        Output band count (equals ``config["bands"]``).
    input_sensor : str
        Name of the RGB sensor the model expects (see ``specrecon.spectral``).
    wavelengths : list of float
        Output band centres in nm, strictly increasing, ``bands`` values.
    fwhm : list of float or None
        Output band widths in nm (``bands`` values) if known.
    value_range : list of 2 float
        Reflectance range of the outputs (and of the ``[0, 1]`` RGB input scaling).
    tile_size, tile_overlap : int or None, int
        Tiling the model was trained for (``None``: whole image).
    training, metrics : dict
        Free-form training description and evaluation results.
    license : str
    sha256 : str
        Hex digest of the ``.safetensors`` file ("" until saved).
    specrecon_version : str

    Examples
    --------
    >>> card = ModelCard(name="m", architecture="hydra", config={"bands": 2, "latent": 1},
    ...                  bands=2, wavelengths=[500.0, 600.0])
    >>> ModelCard.from_json(card.to_json()) == card
    True
    """

    name: str
    architecture: str
    config: dict[str, Any]
    bands: int
    input_sensor: str = "unknown"
    wavelengths: list[float] = field(default_factory=list)
    fwhm: list[float] | None = None
    value_range: list[float] = field(default_factory=lambda: [0.0, 1.0])
    tile_size: int | None = None
    tile_overlap: int = 0
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    license: str = "MIT"
    sha256: str = ""
    specrecon_version: str = __version__

    def __post_init__(self) -> None:
        self.config = _jsonable(dict(self.config)) if isinstance(self.config, Mapping) \
            else self.config
        for name in ("wavelengths", "fwhm", "value_range"):
            value = getattr(self, name)
            if isinstance(value, (tuple, list, range)) or hasattr(value, "tolist"):
                setattr(self, name, [float(v) for v in list(value)])
        self.validate()

    # -- validation ---------------------------------------------------------------
    def validate(self) -> None:
        """Check every field; raise :class:`~specrecon.errors.ModelCardError` on the first problem.

        Examples
        --------
        >>> try:
        ...     ModelCard(name="m", architecture="hydra", config={"bands": 2, "latent": 1},
        ...               bands=2, wavelengths=[500.0])
        ... except ValueError as err:
        ...     "wavelengths" in str(err)
        True
        """
        def bad(expected: str, found: Any, todo: str = "fix the model card") -> None:
            raise ModelCardError(format_message(f"model card {expected}", repr(found), todo))

        if not isinstance(self.name, str) or not self.name:
            bad("'name' as a non-empty string", self.name)
        if self.architecture not in FAMILIES:
            bad(f"'architecture' in {sorted(FAMILIES)}", self.architecture)
        if not isinstance(self.config, dict):
            bad("'config' as a dict", type(self.config).__name__)
        if not isinstance(self.bands, int) or isinstance(self.bands, bool) or self.bands < 1:
            bad("'bands' as a positive int", self.bands)
        if self.config.get("bands") != self.bands:
            bad(f"config['bands'] equal to bands={self.bands}", self.config.get("bands"))
        try:
            from specrecon.models.registry import config_from_dict
            config_from_dict(self.architecture, self.config)
        except ConfigError as err:
            raise ModelCardError(format_message(
                f"a valid {self.architecture} config in the model card", str(err),
                "fix the card's 'config'")) from err
        wl = self.wavelengths
        if not isinstance(wl, list) or len(wl) != self.bands:
            bad(f"{self.bands} 'wavelengths' (one per band)",
                f"{len(wl) if isinstance(wl, list) else wl} values")
        if not all(math.isfinite(v) for v in wl) or any(b <= a for a, b in zip(wl, wl[1:])):
            bad("'wavelengths' finite and strictly increasing (nm)", wl[:5])
        if self.fwhm is not None and (len(self.fwhm) != self.bands
                                      or not all(math.isfinite(v) and v > 0 for v in self.fwhm)):
            bad(f"'fwhm' as None or {self.bands} positive values", f"{len(self.fwhm)} values")
        vr = self.value_range
        if not isinstance(vr, list) or len(vr) != 2 or not vr[0] < vr[1]:
            bad("'value_range' as [low, high] with low < high", vr)
        if self.tile_size is not None and (not isinstance(self.tile_size, int)
                                           or self.tile_size < 1):
            bad("'tile_size' as None or a positive int", self.tile_size)
        if not isinstance(self.tile_overlap, int) or self.tile_overlap < 0 or (
                self.tile_size is not None and self.tile_overlap >= self.tile_size):
            bad("'tile_overlap' as an int in [0, tile_size)", self.tile_overlap)
        for name in ("training", "metrics"):
            if not isinstance(getattr(self, name), dict):
                bad(f"'{name}' as a dict", getattr(self, name))
        for name in ("license", "input_sensor", "specrecon_version"):
            if not isinstance(getattr(self, name), str):
                bad(f"'{name}' as a string", getattr(self, name))
        if not isinstance(self.sha256, str) or (self.sha256 and not _HEX64.match(self.sha256)):
            bad("'sha256' as '' or 64 lowercase hex digits", self.sha256)
        try:
            json.dumps(dataclasses.asdict(self), allow_nan=False)
        except (TypeError, ValueError) as err:
            bad("JSON-serialisable fields", str(err))

    # -- construction / serialisation ------------------------------------------------
    @classmethod
    def from_model(cls, model: nn.Module, **fields_: Any) -> ModelCard:
        """A card for ``model`` (name, architecture, config and bands taken from it).

        Examples
        --------
        >>> from specrecon.models import create_model
        >>> m = create_model("hydra-tiny-31")
        >>> ModelCard.from_model(m, wavelengths=list(range(400, 710, 10))).bands
        31
        """
        base = {"name": getattr(model, "name", "model"), "architecture": model.family,
                "config": dataclasses.asdict(model.config), "bands": int(model.bands)}
        return cls(**{**base, **fields_})

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the card (JSON types)."""
        out: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        return out

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise to JSON text; also write it to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelCard:
        """Build and validate a card from a mapping; unknown or missing keys raise."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ModelCardError(format_message(f"model card fields {sorted(names)}",
                                                f"unknown {unknown}", "remove them"))
        try:
            return cls(**dict(values))
        except TypeError as err:
            raise ModelCardError(format_message("a complete model card", str(err),
                                                "add the missing fields")) from err

    @classmethod
    def from_json(cls, source: str | Path) -> ModelCard:
        """Read a card from JSON text or from a ``.json`` file path.

        Examples
        --------
        >>> c = ModelCard(name="m", architecture="hydra", config={"bands": 2, "latent": 1},
        ...               bands=2, wavelengths=[500.0, 600.0])
        >>> ModelCard.from_json(c.to_json()).name
        'm'
        """
        text = str(source)
        if isinstance(source, Path) or not text.lstrip().startswith("{"):
            path = Path(source)
            if not path.is_file():
                raise ModelCardError(format_message("a model card JSON file", f"no file {path}",
                                                    "save the model with save_model()"))
            text = path.read_text(encoding="utf-8")
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise ModelCardError(format_message("valid JSON in the model card", str(err),
                                                "repair or regenerate the card")) from err
        if not isinstance(values, dict):
            raise ModelCardError(format_message("a JSON object", type(values).__name__,
                                                "regenerate the card"))
        return cls.from_dict(values)


def _sort_metadata(path: str | Path) -> None:
    """Write the safetensors header's metadata in sorted key order, in place.

    safetensors writes its metadata map in hash order, which changes from process to
    process: the same tensors gave files with different sha256 (identical tensors,
    ``{"name", "architecture"}`` in either order). Sorted, a recipe retrained from its
    config reproduces the shipped file byte for byte. The header keeps its length, so
    the tensor offsets stay valid.
    """
    import json
    import struct

    with open(path, "r+b") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
        meta = header.pop("__metadata__", None)
        ordered = ({"__metadata__": dict(sorted(meta.items()))} if meta else {}) | header
        text = json.dumps(ordered, separators=(",", ":")).encode()
        if len(text) > n:   # pragma: no cover - the same entries never grow
            return
        fh.seek(8)
        fh.write(text + b" " * (n - len(text)))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file (streamed).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"")
    >>> sha256_file(p)[:8]
    'e3b0c442'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _refuse_unsafe_suffix(path: Path) -> None:
    if path.suffix.lower() in UNSAFE_SUFFIXES:
        raise UnsafeWeightsError(format_message(
            "a .safetensors weights file", f"{path.name} (a pickle-based format)",
            "convert it once in a trusted environment with safetensors.torch.save_file; "
            "specrecon never unpickles weights"))


def save_model(model: nn.Module, path: str | Path, card: ModelCard | None = None) -> ModelCard:
    """Write ``model``'s weights to ``path`` (.safetensors) and its card next to it (.json).

    Parameters
    ----------
    model : ReconstructionModel
    path : str or Path
        Must end in ``.safetensors``; the card goes to ``path.with_suffix(".json")``.
    card : ModelCard, optional
        Metadata. Its architecture/config/bands must match the model; an empty
        ``config`` is filled from the model. Without a card, ``model.card`` is used.

    Returns
    -------
    ModelCard
        The written card, with ``sha256`` of the weights file; also set as ``model.card``.

    Examples
    --------
    See the module docstring.
    """
    from safetensors.torch import save_file

    path = Path(path)
    _refuse_unsafe_suffix(path)
    if path.suffix != ".safetensors":
        raise ConfigError(format_message("a path ending in .safetensors", path.name,
                                         "use e.g. 'my-model.safetensors'"))
    card = card if card is not None else getattr(model, "card", None)
    if card is None:
        raise ModelCardError(format_message(
            "a ModelCard", "None", "build one with ModelCard.from_model(model, wavelengths=...)"))
    config = _jsonable(dataclasses.asdict(model.config))
    if not card.config:
        card = dataclasses.replace(card, config=config)
    if card.architecture != model.family or card.config != config or card.bands != model.bands:
        raise ModelCardError(format_message(
            f"a card for architecture {model.family!r} with the model's config",
            f"architecture {card.architecture!r}, config {card.config}",
            "build the card with ModelCard.from_model(model, ...)"))
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"name": card.name, "architecture": card.architecture})
    _sort_metadata(path)
    card = dataclasses.replace(card, sha256=sha256_file(path), specrecon_version=__version__)
    card.to_json(path.with_suffix(".json"))
    model.card = card
    return card


def _resolve(source: str | Path) -> Path:
    if isinstance(source, str) and source in list_pretrained():
        return pretrained_path(source)
    path = Path(source)
    if path.suffix.lower() == ".json":
        path = path.with_suffix(".safetensors")
    _refuse_unsafe_suffix(path)
    if path.is_file():
        return path
    if isinstance(source, str) and not path.suffix and len(path.parts) == 1:
        return pretrained_path(source)  # raises UnknownModelError with close matches
    raise UnknownModelError(format_message(
        "a shipped model name or an existing .safetensors file", f"no file {path}",
        f"check the path; shipped models: {list_pretrained() or 'none yet'}"))


def _sniff(data: bytes, path: Path) -> None:
    """Refuse pickle / zip content before anything else looks at the bytes."""
    if data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") or data[:4] in (
            b"PK\x03\x04", b"PK\x05\x06"):
        raise UnsafeWeightsError(format_message(
            "safetensors content", f"pickle/zip data in {path.name}",
            "only load safetensors files; specrecon never unpickles weights"))
    if len(data) < 8:
        raise WeightsIntegrityError(format_message("a safetensors file", f"{len(data)} bytes",
                                                   "re-download or re-save the weights"))
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8 or data[8:9] != b"{":
        raise UnsafeWeightsError(format_message(
            "a safetensors header (8-byte length + JSON)", f"unrecognised content in {path.name}",
            "save weights with specrecon.models.save_model"))


def _torch_device(device: str | torch.device) -> torch.device:
    from specrecon.device import resolve_device

    return torch.device(resolve_device(device))


def _torch_dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if str(dtype).lower() in ("float64", "fp64", "double"):
        return torch.float64
    from specrecon.device import torch_dtype

    return torch_dtype(dtype)


def read_card(source: str | Path) -> tuple[Path, ModelCard]:
    """The weights path and model card of a shipped name or ``.safetensors`` path, no tensors.

    Only the small JSON card is read: this is how :func:`specrecon.runtime.resolve_model`
    learns a model's bands, wavelengths, tiling and sha256 without loading it.

    Parameters
    ----------
    source : str or Path
        A shipped model name, a ``.safetensors`` path or its ``.json`` card.

    Returns
    -------
    tuple
        ``(path of the .safetensors file, ModelCard)``.

    Raises
    ------
    UnknownModelError, UnsafeWeightsError, ModelCardError

    Examples
    --------
    >>> path, card = read_card("hydra-satellite-202")          # doctest: +SKIP
    >>> card.bands                                              # doctest: +SKIP
    202
    """
    path = _resolve(source)
    return path, ModelCard.from_json(path.with_suffix(".json"))


def load_model(source: str | Path | nn.Module, *, device: str | torch.device = "cpu",
               dtype: torch.dtype | str | None = None, sha256: str | None = None) -> nn.Module:
    """Load a model from a shipped name or a ``.safetensors`` path (or pass a module through).

    Parameters
    ----------
    source : str, Path or torch.nn.Module
        A name from :func:`~specrecon.models.list_pretrained`, a path to a
        ``.safetensors`` file (or its ``.json`` card), or a module (returned as is).
    device : str or torch.device
    dtype : torch.dtype or str, optional
        Cast the parameters (e.g. ``torch.float16`` on GPU).
    sha256 : str, optional
        Expected hash; if given, must equal both the file's and the card's.

    Returns
    -------
    torch.nn.Module
        In eval mode, with ``.card`` set.

    Raises
    ------
    UnsafeWeightsError
        Pickle-based suffix or content (nothing is ever unpickled).
    WeightsIntegrityError
        The file's sha256 differs from the card's (or from ``sha256``).
    ModelCardError
        Missing/invalid card, or a card that does not describe the tensors.
    UnknownModelError
        Neither a shipped name nor an existing file.

    Examples
    --------
    >>> from specrecon.models import create_model
    >>> m = create_model("hydra-tiny-31")
    >>> load_model(m) is m
    True
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors

    if isinstance(source, nn.Module):
        return source
    if not isinstance(source, (str, Path)):
        raise UnknownModelError(format_message("a model name, path or torch.nn.Module",
                                               type(source).__name__, "pass one of those"))
    path = _resolve(source)
    data = path.read_bytes()
    _sniff(data, path)
    card = ModelCard.from_json(path.with_suffix(".json"))
    digest = hashlib.sha256(data).hexdigest()
    if not card.sha256:
        raise ModelCardError(format_message("a sha256 in the model card", "an empty value",
                                            "re-save the model with save_model()"))
    for what, expected in (("the model card", card.sha256), ("the caller", sha256)):
        if expected and digest != expected.lower():
            raise WeightsIntegrityError(format_message(
                f"sha256 {expected} (from {what})", f"{digest} for {path.name}",
                "the file is corrupted or was modified: re-download or re-save it"))
    try:
        tensors = load_safetensors(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise WeightsIntegrityError(format_message("a readable safetensors file", str(err),
                                                   "re-save the weights")) from err
    try:
        model = build_model(card.architecture, card.config, name=card.name)
    except ConfigError as err:
        raise ModelCardError(str(err)) from err
    expected_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found_shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected_shapes != found_shapes:
        missing = sorted(set(expected_shapes) - set(found_shapes))[:5]
        extra = sorted(set(found_shapes) - set(expected_shapes))[:5]
        wrong = [k for k in expected_shapes.keys() & found_shapes.keys()
                 if expected_shapes[k] != found_shapes[k]][:5]
        raise ModelCardError(format_message(
            f"tensors matching the card's {card.architecture} config",
            f"missing {missing}, unexpected {extra}, wrong shapes {wrong}",
            "the card does not describe these weights: use the card saved with them"))
    model.load_state_dict(tensors, strict=True)
    model = model.to(device=_torch_device(device), dtype=_torch_dtype(dtype))
    model.eval()
    model.card = card
    return model
