"""Which primal values a backward sweep reads *smoothly*: what forward over reverse must carry
tangents for.

Forward over reverse (a Hessian-vector product H v) runs the gradient's program on Duals: the
tangent of each gradient entry is a row of H times v. A rule's result depends on the primals
it reads; its tangent only on those it reads through a differentiable expression. Reading a
primal through a comparison (max/min's ``x == y`` mask, a comparison's 0) or for its shape
only (sum, index, transpose) contributes no tangent: the mask is piecewise constant, so its
derivative is 0 almost everywhere (JAX's convention too). A slot whose value is read only so
needs no tangent, nor do the slots only it needs: the forward pass can compute them plainly.

``SMOOTH_READS[op](need)`` names the operands a step of ``op`` reads smoothly, given which
cotangents it makes (``need``, a pair for a binary step, None for a unary one): "a" the
first argument, "b" the second (an array op's Param: never), "y" the result. An op not in the
table is taken to read all three (always correct, never cheaper).
"""

from __future__ import annotations

from ..core.ops import COMPARISONS
from .program import Program

_ALL = ("a", "b", "y")
_NONE = lambda need: ()


def _bilinear(need) -> tuple[str, ...]:
    # y = a * b or a @ b: a's cotangent reads b, b's reads a
    return (("b",) if need[0] else ()) + (("a",) if need[1] else ())


SMOOTH_READS = {
    "neg": _NONE, "add": _NONE, "sub": _NONE,          # y_bar passes on: nothing read
    "mul": _bilinear, "matmul": _bilinear,
    "exp": lambda need: ("y",),                        # y_bar * e^x, e^x recorded as y
    "square": lambda need: ("a",),                     # 2 x y_bar
    # shapes and ranks only: broadcast, scatter, transpose, reshape back
    "sum": _NONE, "mean": _NONE, "reduce_sum": _NONE, "reduce_mean": _NONE, "index": _NONE,
    "transpose": _NONE, "reshape": _NONE, "permute": _NONE,
    # the cotangent goes where x == y: a mask, piecewise constant
    "max": _NONE, "min": _NONE, "reduce_max": _NONE, "reduce_min": _NONE,
    **{op: _NONE for op in COMPARISONS},
}


def tangent_slots(program: Program) -> frozenset[int]:
    """The slots whose tangents forward over reverse needs: those the backward program reads
    smoothly, and (backward through the forward pass) every slot they are computed from.

    Args:
        program: a compiled reverse program.
    Returns:
        the set of slot indices (variables included).
    """
    plan = program.plan
    wanted = [False] * plan.size
    for _rule, s, i, j, need, *_ in program.backward:
        op = plan.ops[s]
        reads = SMOOTH_READS[op](need) if op in SMOOTH_READS else _ALL
        for name, slot in (("a", i), ("b", j), ("y", s)):
            if name in reads and slot >= 0:
                wanted[slot] = True
    for s in range(plan.size - 1, -1, -1):  # a wanted value needs its arguments' tangents
        if wanted[s]:
            for a in plan.args[s]:
                wanted[a] = True
    return frozenset(s for s, w in enumerate(wanted) if w)
