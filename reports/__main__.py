"""``python -m reports`` runs the ``energy-report`` command line."""

import sys

from reports.cli import main

sys.exit(main())
