"""The documentation builds without warnings (as CI requires) and shows what it should:
notebooks with their figures, the gallery, one API page per public module, and links into
the documentation of xarray, dask, rioxarray, numpy and torch."""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
TUTORIALS = ROOT / "tutorials"

# A few entries of each project's objects.inv (name, role, page): the test build reads these
# from disk, since the network is not available to the test suite.
INVENTORIES = {
    "python": [("str", "py:class", "library/stdtypes.html#str"),
               ("pathlib.Path", "py:class", "library/pathlib.html#pathlib.Path")],
    "numpy": [("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html")],
    "xarray": [("xarray.DataArray", "py:class", "generated/xarray.DataArray.html"),
               ("xarray.Dataset", "py:class", "generated/xarray.Dataset.html")],
    "dask": [("dask.array.Array", "py:class", "generated/dask.array.Array.html")],
    "distributed": [("distributed.progress", "py:function", "api.html#distributed.progress")],
    "rioxarray": [("rioxarray.open_rasterio", "py:function",
                   "rioxarray.html#rioxarray.open_rasterio")],
    "torch": [("torch.Tensor", "py:class", "tensors.html#torch.Tensor"),
              ("torch.nn.Module", "py:class", "generated/torch.nn.Module.html")],
    "matplotlib": [("matplotlib.axes.Axes", "py:class",
                    "api/_as_gen/matplotlib.axes.Axes.html")],
}


def _write_inventory(path: Path, project: str, entries: list[tuple[str, str, str]]) -> None:
    """An ``objects.inv`` in Sphinx's version-2 format."""
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: 0\n"
              "# The remainder of this file is compressed using zlib.\n")
    body = "".join(f"{name} {role} 1 {uri} -\n" for name, role, uri in entries)
    path.write_bytes(header.encode() + zlib.compress(body.encode()))


def _notebooks() -> list[Path]:
    return sorted(TUTORIALS.glob("*.ipynb"))


def _public_modules() -> list[str]:
    import specrecon

    return sorted(set(specrecon._SUBMODULES) | {"accessor", "errors"})


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the HTML docs once, warnings as errors, with local intersphinx inventories."""
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    pytest.importorskip("furo")
    if not (DOCS / "conf.py").exists():
        pytest.skip("not running from a source checkout")
    tmp = tmp_path_factory.mktemp("docs")
    inventories = tmp / "inventories"
    inventories.mkdir()
    for project, entries in INVENTORIES.items():
        _write_inventory(inventories / f"{project}.inv", project, entries)
    env = {**os.environ, "SPECRECON_DOCS_INVENTORIES": str(inventories)}
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp / "doctrees"), str(DOCS), str(tmp / "html")],
        capture_output=True, text=True, env=env, check=False,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return tmp / "html"


@pytest.mark.slow
def test_docs_build_without_warnings(built_docs: Path) -> None:
    assert (built_docs / "index.html").exists()
    index = (built_docs / "index.html").read_text()
    assert "furo" in index                                   # the maintained theme


@pytest.mark.slow
def test_tutorials_are_rendered_with_their_figures(built_docs: Path) -> None:
    for nb in _notebooks():
        page = built_docs / "tutorials" / f"{nb.stem}.html"
        assert page.exists(), page
        images = re.findall(r'<img[^>]+src="\.\./(_images/[^"]+\.png)"', page.read_text())
        assert images, f"{page.name} shows no figure"
        assert all((built_docs / src).is_file() for src in images)


@pytest.mark.slow
def test_gallery_is_executed_into_figures(built_docs: Path) -> None:
    page = (built_docs / "gallery.html").read_text()
    images = re.findall(r'<img[^>]+src="(_images/[^"]+\.png)"', page)
    assert len(images) >= 6                   # spectra x2, bands x2, error maps x2
    for heading in ("Spectra at pixels", "Band images", "Error maps"):
        assert heading in page


@pytest.mark.slow
def test_one_api_page_per_public_module(built_docs: Path) -> None:
    for name in _public_modules():
        source = DOCS / "api" / f"{name}.md"
        assert source.exists(), f"add docs/api/{name}.md (automodule:: specrecon.{name})"
        assert f"automodule:: specrecon.{name}" in source.read_text()
        html = (built_docs / "api" / f"{name}.html").read_text()
        assert f'id="module-specrecon.{name}"' in html, name
    accessor = (built_docs / "api" / "accessor.html").read_text()
    assert "tile_size" in accessor and "whole_image" in accessor    # forwarded signature


@pytest.mark.slow
def test_links_into_other_projects_docs(built_docs: Path) -> None:
    conf = runpy.run_path(str(DOCS / "conf.py"))
    html = "\n".join(p.read_text() for p in built_docs.rglob("*.html"))
    for project in ("xarray", "dask", "rioxarray", "numpy", "torch"):
        site = conf["_INVENTORY_SITES"][project]
        linked = [uri for _, _, uri in INVENTORIES[project] if f'href="{site}{uri}' in html]
        assert linked, f"no link into the {project} docs"


def test_intersphinx_setting() -> None:
    conf = runpy.run_path(str(DOCS / "conf.py"))
    mapping = conf["_intersphinx_mapping"]
    online = mapping(None)
    for project in ("xarray", "dask", "rioxarray", "numpy", "torch"):
        url, location = online[project]
        assert url.startswith("https://") and url.endswith("/") and location is None
    assert mapping("off") == {}


def test_tutorials_choose_no_backend_and_store_figures() -> None:
    """Jupyter shows the figures: no notebook forces a backend, and the stored outputs (what
    the docs render) hold PNG figures from one clean top-to-bottom run."""
    notebooks = _notebooks()
    assert len(notebooks) >= 4
    for path in notebooks:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        for cell in code:
            source = "".join(cell["source"])
            assert "matplotlib.use(" not in source and "%matplotlib" not in source, path.name
            assert not any(o["output_type"] == "error" for o in cell["outputs"]), path.name
        assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), (
            f"{path.name}: outputs missing or stale; run python docs/execute_tutorials.py")
        pngs = [o for c in code for o in c["outputs"] if "image/png" in o.get("data", {})]
        assert pngs, f"{path.name} stores no figure"
