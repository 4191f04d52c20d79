"""Numeric's budget: evaluations of f times the work of one evaluation.

Finite differences cost one or more evaluations of the whole expression per scalar input, so a
gradient with respect to 10^7 entries, or 100,000 scalar variables, is 10^7 to 10^12 times the
work of f: minutes to days. Before anything is evaluated, ``check_budget`` multiplies

    evaluations (the fewest the scheme takes; ``schemes.least_evaluations``)
    x plan size  (scalar operations of one evaluation: per slot of the plan its elements, a
                  matmul m k n, a reduction its input's elements; at least 1 per slot)

and refuses a product beyond ``MAX_WORK`` with a ``NumericTooLarge`` naming both numbers and
the option ``max_work=`` that raises the budget. On this machine an evaluation runs about 1e9
array elements or 2.5e6 scalar slots a second, so the default 1e10 is ~10 s of array work
(scalar-heavy plans are slower per operation: a budget of work, not a timer).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real

from ..core.ops import REDUCTIONS
from ..core.plan import Plan
from ..core.shapes import infer_shapes

MAX_WORK = 1e10


class NumericTooLarge(ValueError):
    """The finite differences asked for would exceed numeric's budget of work."""


def check_max_work(max_work) -> float:
    """``max_work`` as a positive number (None: the default ``MAX_WORK``)."""
    if max_work is None:
        return MAX_WORK
    if isinstance(max_work, bool) or not isinstance(max_work, Real) or not max_work > 0:
        raise ValueError(f"max_work must be a positive number (scalar operations), got "
                         f"max_work={max_work!r}")
    return float(max_work)


def plan_size(plan: Plan, shapes: Mapping[str, Sequence[int]]) -> int:
    """Scalar operations of one evaluation of the plan at these variable shapes.

    Args:
        plan: the compiled expression; shapes: every variable's shape.
    Returns:
        the sum over non-leaf slots of their elements (a matmul m k n, a reduction the
        elements it reads), each slot at least 1.
    """
    slot_shapes = infer_shapes(plan, shapes)
    if all(s == () for s in slot_shapes):  # scalars everywhere: one operation per slot
        return sum(1 for a in plan.args if a)
    total = 0
    for slot, op in enumerate(plan.ops):
        a = plan.args[slot]
        if not a:
            continue
        if op == "matmul":
            inner = slot_shapes[a[0]][-1]
            work = math.prod(slot_shapes[slot]) * inner
        elif op in REDUCTIONS:
            work = math.prod(slot_shapes[a[0]])
        else:
            work = math.prod(slot_shapes[slot])
        total += max(1, work)
    return total


def check_budget(what: str, evaluations: int, size: int, max_work: float,
                 per_input: str) -> int:
    """Refuse ``evaluations`` x ``size`` beyond ``max_work``; returns the product.

    Args:
        what: "gradient", "Jacobian" or "Hessian" (for the message).
        evaluations: the fewest evaluations of f one call takes; size: ``plan_size``.
        max_work: the budget; per_input: how the count arises (e.g. "10 per input").
    Raises:
        NumericTooLarge: the product exceeds the budget (the message gives both numbers
            and the option that raises it).
    """
    work = evaluations * size
    if work > max_work:
        raise NumericTooLarge(
            f"numeric {what} too large: {evaluations:,} evaluations of f ({per_input}) x "
            f"{size:,} scalar operations each = {work:.3g} operations, beyond numeric's "
            f"budget of {max_work:.3g} (max_work); pass max_work={_above(work)} to run it "
            f"anyway, or use method='reverse' or 'forward'")
    return work


def _above(work: float) -> str:
    """A round number at or above ``work``, for the message."""
    return f"{10.0 ** math.ceil(math.log10(work)):.0e}"
