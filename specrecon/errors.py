"""Exceptions raised by specrecon.

Every exception derives from :class:`SpecReconError`, and each subclass also
inherits the builtin a caller would naturally catch (``ValueError``,
``OSError``, ...), so ``except ValueError`` keeps working for code that does
not know about specrecon.

Messages follow one rule: say what was expected, what was found, and what to
do about it. Use :func:`format_message` to build them consistently.

Examples
--------
>>> from specrecon.errors import BandDimensionError, SpecReconError
>>> try:
...     raise BandDimensionError(
...         format_message("an RGB array with 3 bands", "4 bands", "select 3 bands first"))
... except ValueError as err:
...     isinstance(err, SpecReconError)
True
"""

from __future__ import annotations

__all__ = [
    "SpecReconError",
    "BandDimensionError",
    "SpatialDimensionError",
    "CoordinateError",
    "ChunkingError",
    "ResumeMismatchError",
    "EmptyInputError",
    "DataScaleError",
    "ModelMismatchError",
    "UnknownModelError",
    "UnknownSensorError",
    "WeightsIntegrityError",
    "UnsafeWeightsError",
    "ModelCardError",
    "DatasetFormatError",
    "OutputExistsError",
    "ConfigError",
    "DeviceError",
    "format_message",
]


def format_message(expected: str, found: str, todo: str) -> str:
    """Build an error message in the project's three-part style.

    Parameters
    ----------
    expected : str
        What the code needed.
    found : str
        What it got instead.
    todo : str
        What the user should do about it.

    Returns
    -------
    str
        ``"expected <expected>; found <found>. <todo>"``.

    Examples
    --------
    >>> format_message("3 bands", "4", "select the RGB bands")
    'expected 3 bands; found 4. To fix: select the RGB bands'
    """
    return f"expected {expected}; found {found}. To fix: {todo}"


class SpecReconError(Exception):
    """Root of every error specrecon raises on purpose."""


class BandDimensionError(SpecReconError, ValueError):
    """The band/channel dimension is missing or has the wrong size."""


class SpatialDimensionError(SpecReconError, ValueError):
    """Spatial dimensions (y/x) are missing, ambiguous or too small."""


class CoordinateError(SpecReconError, ValueError):
    """Coordinates are non-monotonic, duplicated or otherwise unusable."""


class ChunkingError(SpecReconError, ValueError):
    """The dask chunking cannot be used (e.g. chunks smaller than the halo)."""


class ResumeMismatchError(ChunkingError):
    """A resumed write would not continue the same cube (another input, model, chunking...).

    A subclass of :class:`ChunkingError` because a different chunking is one of the
    mismatches it reports.
    """


class EmptyInputError(SpecReconError, ValueError):
    """The input holds no valid data (empty, or all NaN / nodata)."""


class DataScaleError(SpecReconError, ValueError):
    """The value range of the input is unknown or inconsistent with the model."""


class ModelMismatchError(SpecReconError, ValueError):
    """Model, sensor, band set or weights do not fit together."""


class UnknownModelError(SpecReconError, KeyError):
    """A model name is not registered and is not a path to weights."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownSensorError(SpecReconError, KeyError):
    """A sensor or band-set name is not known."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class WeightsIntegrityError(SpecReconError, OSError):
    """Weights on disk do not match their recorded sha256 or model card."""


class UnsafeWeightsError(SpecReconError, OSError):
    """Refused to read a weights file that would need unpickling."""


class ModelCardError(SpecReconError, ValueError):
    """A model card is missing fields or disagrees with its tensors."""


class DatasetFormatError(SpecReconError, OSError):
    """A dataset on disk is not laid out or encoded as expected."""


class OutputExistsError(SpecReconError, FileExistsError):
    """The output file or store exists and the call did not ask to overwrite or resume it."""


class ConfigError(SpecReconError, ValueError):
    """A configuration (training, model) has invalid or unknown fields."""


class DeviceError(SpecReconError, RuntimeError):
    """The requested compute device is not available."""
