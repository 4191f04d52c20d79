"""Cross-method fuzzing: random expressions (``generate``) at random points, every method
checked against the 50-digit truth or JAX (``cross_check``); ``python -m difflab.fuzz``.
"""

from .cli import main
from .cross_check import (
    FUZZ_METHODS,
    Case,
    Disagreement,
    Stats,
    check,
    fuzz,
    inside,
    random_round,
    reference,
    shrink,
    skip_reason,
)
from .generate import generate, generate_arrays, random_point

__all__ = [
    "FUZZ_METHODS", "Case", "Disagreement", "Stats", "check", "fuzz", "inside", "main",
    "random_round", "reference", "shrink", "skip_reason", "generate", "generate_arrays",
    "random_point",
]
