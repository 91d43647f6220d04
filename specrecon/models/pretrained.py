"""Weights shipped inside the package (``specrecon/weights/<name>.safetensors`` + ``.json``).

A shipped model is a pair of files in the package's ``weights`` folder: the tensors
(``<name>.safetensors``) and the model card (``<name>.json``). :func:`list_pretrained`
lists the cards; :func:`~specrecon.models.load_model` loads one by name and checks its
sha256.

Examples
--------
>>> isinstance(list_pretrained(), list)
True
"""

from __future__ import annotations

import difflib
from pathlib import Path

from specrecon.errors import UnknownModelError, format_message

__all__ = ["WEIGHTS_DIR", "list_pretrained", "pretrained_path"]

#: Folder of the shipped weights (package data).
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def list_pretrained() -> list[str]:
    """Names of the shipped models (sorted), i.e. the stems of ``specrecon/weights/*.json``.

    Examples
    --------
    >>> all(isinstance(n, str) for n in list_pretrained())
    True
    """
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.json"))


def pretrained_path(name: str) -> Path:
    """Path of the shipped ``.safetensors`` file for ``name``.

    Raises
    ------
    UnknownModelError
        If no such shipped model exists (the message lists close matches).

    Examples
    --------
    >>> try:
    ...     pretrained_path("no-such-model")
    ... except KeyError as err:
    ...     "shipped" in str(err)
    True
    """
    names = list_pretrained()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
        hint = (f"did you mean {', '.join(close)}?" if close else
                f"shipped models are {names or 'none yet'}; pass a path to a .safetensors "
                "file, or use create_model(name) for an untrained registered architecture")
        raise UnknownModelError(format_message("the name of a shipped model or a weights path",
                                               repr(name), hint))
    return WEIGHTS_DIR / f"{name}.safetensors"
