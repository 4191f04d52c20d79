"""``python -m difflab.fuzz``: cross-method fuzzing (``make fuzz``)."""

import sys

from . import main

sys.exit(main())
