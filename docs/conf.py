"""Sphinx configuration for the specrecon documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors,
as in CI via tests/test_docs.py).

Links to other projects' documentation (intersphinx) need their ``objects.inv``
inventories, which Sphinx downloads at build time. ``SPECRECON_DOCS_INVENTORIES`` decides
where they come from:

* unset: downloaded from each project's site (the published build; needs the network);
* ``off``: no cross-project links (an offline build: Sphinx warns when it cannot reach an
  inventory, and with ``-W`` that warning fails the build);
* a folder: ``<folder>/<project>.inv`` files read from disk, projects without a file left
  out (how the test suite builds the docs, with inventories it writes itself).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("MPLBACKEND", "Agg")

import specrecon

project = "specrecon"
author = "specrecon developers"
copyright = "2026, specrecon developers"
release = specrecon.__version__
version = release

extensions = [
    "myst_nb",  # MyST markdown (it includes myst-parser) and Jupyter notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
root_doc = "index"

# --- notebooks (myst-nb) ------------------------------------------------------------------
# tutorials/ is linked into the docs as docs/tutorials. The notebooks are rendered with the
# outputs stored in them (refresh with `python docs/execute_tutorials.py`); the test suite
# executes them separately (nbmake). Pages that opt in (the gallery) run at build time.
nb_execution_mode = "off"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_merge_streams = True
nb_output_stderr = "remove"  # progress bars and worker shutdown chatter on stderr

# --- links into other projects' documentation (intersphinx) -------------------------------
_INVENTORY_SITES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "xarray": "https://docs.xarray.dev/en/stable/",
    "dask": "https://docs.dask.org/en/stable/",
    "distributed": "https://distributed.dask.org/en/stable/",
    "rioxarray": "https://corteva.github.io/rioxarray/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "matplotlib": "https://matplotlib.org/stable/",
}


def _intersphinx_mapping(setting: str | None) -> dict[str, tuple[str, str | None]]:
    if setting is None:
        return {name: (url, None) for name, url in _INVENTORY_SITES.items()}
    if setting.strip().lower() == "off":
        return {}
    folder = os.path.abspath(setting)
    return {name: (url, os.path.join(folder, f"{name}.inv"))
            for name, url in _INVENTORY_SITES.items()
            if os.path.isfile(os.path.join(folder, f"{name}.inv"))}


intersphinx_mapping = _intersphinx_mapping(os.environ.get("SPECRECON_DOCS_INVENTORIES"))
intersphinx_timeout = 10

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

html_theme = "furo"
html_static_path: list[str] = []
html_title = f"specrecon {release}"
