"""Run the tutorial notebooks top to bottom and store their outputs (figures included).

The docs render the notebooks with the outputs stored in them (``nb_execution_mode =
"off"`` in ``docs/conf.py``), so that the documentation build inside the test suite stays
fast; the test suite itself still executes every notebook (nbmake). Rerun this after
changing a tutorial or anything its outputs depend on, and commit the notebooks::

    python docs/execute_tutorials.py                   # all of tutorials/*.ipynb
    python docs/execute_tutorials.py tutorials/01_quickstart.ipynb

Figures are stored as ``image/png`` because the kernel runs with Jupyter's default inline
backend: ``MPLBACKEND`` is removed from the kernel's environment here (CI sets it to
``Agg``, which draws nothing into a notebook).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"


def execute(path: Path, timeout: int = 900) -> float:
    """Execute one notebook in its folder, write it back with outputs; return seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: tutorials/*.ipynb)")
    args = parser.parse_args(argv)
    os.environ.pop("MPLBACKEND", None)          # the kernel inherits this environment
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for path in args.notebooks or sorted(TUTORIALS.glob("*.ipynb")):
        print(f"{path.name}: {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
