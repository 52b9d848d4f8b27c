"""``python3 -m lptrig``: see lptrig.cli."""

import sys

from .cli import main

sys.exit(main())
