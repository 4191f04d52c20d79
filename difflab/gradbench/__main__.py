"""``python -m difflab.gradbench --method M``: the same as ``difflab gradbench --method M``."""

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["gradbench", *sys.argv[1:]]))
