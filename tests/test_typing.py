"""Static checks in CI: mypy (strict on the inference / I/O core) and ruff's rule sets.

Both are configured in ``pyproject.toml`` (``[tool.mypy]``, ``[tool.ruff.lint]``) and
installed with the ``test`` extra; a missing tool skips its test.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_mypy_passes_on_the_typed_core() -> None:
    out = _run("mypy")
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff not installed")
def test_ruff_passes_on_the_package() -> None:
    out = _run("ruff", "check", "specrecon")
    assert out.returncode == 0, out.stdout + out.stderr
