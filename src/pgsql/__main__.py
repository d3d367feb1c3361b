"""``python -m pgsql``: the same as the ``pgsql`` console command."""

import sys

from pgsql.cli import main

sys.exit(main())
