"""The speed benchmark (``make bench``): difflab's engines next to the engines people know.

    from difflab.bench import run
    result = run({"repeats": 5})      # prints the target table, writes reports/bench/
    print(result["table"])

Cases (one per target of the speed issue): an MLP loss by reverse mode against a hand-written
NumPy backward pass, HIPS autograd and JAX (``cases_array``); the per-call cost of a 10-node
gradient; 10,000 points in one call; micrograd's scalar MLP against micrograd and JAX without
jit, forward against reverse mode, symbolic preparation and evaluation (``cases_scalar``); the
adaptive finite differences against the truth and numdifftools (``cases_numeric``).
Timing is interleaved (``timer``); peers come from the optional ``bench`` extra (``peers``).
"""

from .run import DEFAULTS, main, run
from .targets import TARGETS, Row, Target, table

__all__ = ["DEFAULTS", "TARGETS", "Row", "Target", "main", "run", "table"]
