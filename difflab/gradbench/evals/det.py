"""GradBench's ``det`` eval (cmpad's ``det_by_minor``): a determinant by expansion by minors.

    primal(A)   = det A, expanded along the first row, each minor expanded in turn
    gradient(A) = ∂ det A / ∂ A (the cofactors), row-major like A

The expansion of an ℓ×ℓ matrix along its rows 0, 1, ... meets the same minors many times:
the minor of rows r..ℓ-1 and a set S of ℓ - r columns is the same wherever it occurs. The
IR is a DAG, so each such minor is one value: level r holds the minors of every column set of
size ℓ - r (C(ℓ, ℓ - r) of them, one array), and

    D_r[S] = Σ_{idx} (-1)^idx A[r, S_idx] D_{r+1}[S minus S_idx]

is a gather of row r, a gather of level r + 1, a product and a sum: ℓ levels of a few array
nodes, O(ℓ 2^ℓ) multiplications. The recursion GradBench's tools run, and its manual C++,
visits the minors as a tree, O(ℓ!) multiplications — so difflab's times at ℓ = 11 are not
those of the same amount of work (the note in the report says so).

Workloads: A = rand(ℓ²) in turn from RandomState(31337), ℓ = 5 .. 11.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ...core.expr import Expr, constant, reshape, variable
from ...core.expr import sum as reduce_sum
from ..spec import JSON, Derivative, Eval, InputError, array, floats, integer

NAME = "det"
SEED = 31337      # np.random.seed(31337) once, then each workload in turn
WORKLOADS = [{"ell": ell} for ell in range(5, 12)]
# The minors take ell * 2^(ell - 1) multiplications (and as many index entries in the IR): a
# budget of 2^22 allows ell <= 18, 128 times the work of the eval's largest, ell = 11 (the
# reverse gradient at ell = 18 takes 6 s; each ell more doubles it and the memory)
DET_WORK = 2 ** 22
MAX_ELL = max(ell for ell in range(1, 64) if ell * 2 ** (ell - 1) <= DET_WORK)


def sizes(input: JSON) -> tuple:
    """(ℓ,), checked against the length of A."""
    ell = integer(input, "ell", 1, MAX_ELL, f" (difflab's bound: ell * 2^(ell - 1) "
                  f"multiplications within DET_WORK = {DET_WORK:,})")
    n = len(array(input, "A", 1))
    if n != ell * ell:
        raise InputError(f"A has {n} entries, but ell = {ell} needs {ell * ell}")
    return (ell,)


def point(input: JSON, sizes: tuple) -> dict:
    """{"A": float64 array (ℓ²,), row-major}."""
    return {"A": array(input, "A", 1)}


def minor_levels(ell: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For rows r = ℓ-2 down to 0: (columns, sub-minors, signs) as index arrays of shape
    (C(ℓ, ℓ-r), ℓ-r), (same) and (ℓ-r,): which entry of row r and which minor of level r+1
    each term of each minor takes."""
    below = {(c,): c for c in range(ell)}
    levels = []
    for r in range(ell - 2, -1, -1):
        size = ell - r
        subsets = list(combinations(range(ell), size))
        columns = np.array(subsets, dtype=np.int64)
        minors = np.array([[below[S[:i] + S[i + 1:]] for i in range(size)] for S in subsets],
                          dtype=np.int64)
        levels.append((columns, minors, (-1.0) ** np.arange(size)))
        below = {S: i for i, S in enumerate(subsets)}
    return levels


def objective(ell: int) -> Expr:
    """det of reshape(A, (ℓ, ℓ)) by expansion by minors, each minor one node of a level."""
    A = reshape(variable("A"), (ell, ell))
    minors = A[ell - 1]  # the 1×1 minors of the last row: its entries
    for r, (columns, subminors, signs) in zip(range(ell - 2, -1, -1), minor_levels(ell),
                                              strict=True):
        shape = columns.shape
        entries = reshape(A[r, columns.ravel().tolist()], shape)
        below = reshape(minors[subminors.ravel().tolist()], shape)
        minors = reduce_sum(entries * below * constant(signs), axis=1)
    return minors[0]


def derivative(sizes: tuple, method: str) -> Derivative:
    """The gradient with respect to A (flat, row-major)."""
    return Derivative("grad", objective(*sizes), ("A",))


def draw(rng: np.random.RandomState, params: dict) -> dict:
    """One workload's input as the eval draws it: A = rand(ℓ²), and ℓ."""
    return {"A": rng.rand(params["ell"] ** 2), "ell": params["ell"]}


EVAL = Eval(NAME, "primal", "gradient", sizes, point, objective, derivative,
            primal_output=lambda value, input: float(value),
            derivative_output=lambda result, input: floats(result["A"]))
