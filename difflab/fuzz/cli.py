"""``python -m difflab.fuzz --seconds 600`` (``make fuzz``): the fuzzer's command line."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from .cross_check import FUZZ_METHODS, fuzz


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m difflab.fuzz --seconds 600``: exit status 1 when anything disagrees."""
    parser = argparse.ArgumentParser(
        prog="python -m difflab.fuzz",
        description="cross-method fuzzing: every method against one reference")
    parser.add_argument("--seconds", type=float, default=600.0, help="time budget (600)")
    parser.add_argument("--rounds", type=int, default=None, help="stop after this many")
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock")
    parser.add_argument("--methods", nargs="+", default=list(FUZZ_METHODS))
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    print(f"fuzz: seed {seed}, {args.seconds:g} s, methods {', '.join(args.methods)}",
          flush=True)
    stats = fuzz(args.seconds, args.rounds, seed, args.methods,
                 log=lambda s: print(s, flush=True))
    print(stats.summary(), flush=True)
    return 1 if stats.disagreements else 0

