"""`python -m fullcycle` runs the command line."""

import sys

from fullcycle.cli import main

sys.exit(main())
