"""Sphinx configuration for the specrecon documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors,
as in CI via tests/test_docs.py).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("MPLBACKEND", "Agg")

import specrecon  # noqa: E402

project = "specrecon"
author = "specrecon developers"
copyright = "2026, specrecon developers"
release = specrecon.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
root_doc = "index"

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes" as fields: no duplicates of autodoc'd attributes
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "myst.xref_missing"]
nitpicky = False

html_theme = "alabaster"
html_static_path: list[str] = []
html_title = f"specrecon {release}"
