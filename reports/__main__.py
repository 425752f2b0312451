"""``python -m neurosim.reports`` runs the ``energy-report`` command line."""

import sys

from neurosim.reports.cli import main

sys.exit(main())
