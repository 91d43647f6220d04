"""``python -m specrecon`` runs the command line."""

import sys

from specrecon.cli import main

sys.exit(main())
