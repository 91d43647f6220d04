"""The ``specrecon`` command line.

Each subcommand lives in its own module under :mod:`specrecon.cli` and
exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int`` as the handler. Heavy imports happen inside handlers so
that ``specrecon --help`` is instant.

Examples
--------
.. code-block:: console

    $ specrecon --help
    $ specrecon models
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from specrecon._version import __version__
from specrecon.errors import SpecReconError

__all__ = ["main", "build_parser"]

# subcommand modules, in the order they appear in --help
SUBCOMMANDS: tuple[str, ...] = ("demo", "reconstruct", "models", "info", "train", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="specrecon",
        description="HYDRA spectral reconstruction: RGB imagery to hyperspectral cubes.",
    )
    parser.add_argument("--version", action="version", version=f"specrecon {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"specrecon.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"specrecon.cli.{name}":
                continue  # subcommand not part of this build
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status.

    specrecon errors are printed as one readable line (exit status 2) rather
    than a traceback; anything else propagates.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except SpecReconError as err:
        print(f"specrecon {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
