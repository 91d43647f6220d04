"""Package-level behaviour: light import, lazy API, errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

import specrecon
from specrecon import errors


def test_import_is_light() -> None:
    code = ("import sys, specrecon; heavy = [m for m in ('torch', 'dask', 'zarr', 'rioxarray', "
            "'colour', 'prosail', 'matplotlib') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_version_matches_pyproject() -> None:
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")

    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("not running from a source checkout")
    version = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert specrecon.__version__ == version


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute"):
        specrecon.not_a_thing  # noqa: B018


@pytest.mark.parametrize("cls,builtin", [
    (errors.BandDimensionError, ValueError),
    (errors.WeightsIntegrityError, OSError),
    (errors.UnsafeWeightsError, OSError),
    (errors.UnknownModelError, KeyError),
    (errors.DeviceError, RuntimeError),
    (errors.ChunkingError, ValueError),
])
def test_errors_inherit_builtins(cls: type, builtin: type) -> None:
    err = cls(errors.format_message("a", "b", "c"))
    assert isinstance(err, errors.SpecReconError)
    assert isinstance(err, builtin)
    assert str(err) == "expected a; found b. To fix: c"
