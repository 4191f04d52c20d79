"""difflab as a GradBench tool (github.com/gradbench/gradbench), and GradBench's evals in
difflab's IR.

    difflab gradbench --method reverse          # or: python -m difflab.gradbench --method M

speaks GradBench's protocol on standard input and output (``protocol``, ``tool``), so that
GradBench's own evals measure difflab's methods beside JAX, PyTorch and the hand-written C++.
``evals`` holds one module per eval (the functions as IR, the input and output formats, the
workloads); ``compute`` prepares an eval's functions with a method; ``newton`` is k-means'
J ⊘ (H·1); ``published`` holds GradBench's published ratios, to compare against.

This package is imported lightly: the evals need only difflab's core; the tool imports the
API on first use.
"""

from .evals import EVALS

__all__ = ["EVALS"]
