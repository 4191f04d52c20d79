"""GradBench's evals in difflab's IR, one module per eval (``EVALS``: name -> ``spec.Eval``).

Each module writes the eval's functions from its README in GradBench (evals/<name>/README.md)
with difflab's builders, and draws the eval's workloads (``WORKLOADS``, ``draw``) from the
eval's own description: the same sizes, seeds and formulas.
"""

from __future__ import annotations

from . import ba, det, gmm, hello, ht, kmeans, llsq, lse, lstm, ode

MODULES = (hello, lse, llsq, gmm, kmeans, ode, det, lstm, ba, ht)
EVALS = {module.NAME: module.EVAL for module in MODULES}

__all__ = ["EVALS", "MODULES"]
