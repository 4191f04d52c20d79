"""SymPy's own recursion over a deep expression: room for it, or a clear refusal.

The bridge builds SymPy nodes bottom-up, arguments first, with no recursion of its own. But
SymPy evaluates each new node by asking questions of its argument (``sin(u)`` asks
``u.is_zero``, which asks ``u.is_number`` of every node below): a 1,000-deep chain of ``sin``
needs ~3,000 Python frames, beyond the default limit of 1,000 (``RecursionError`` from SymPy's
``expr.py``). ``deep_call`` runs such a build in a thread of its own with a stack large enough
for a raised recursion limit (the main thread's 8 MB stack would overflow, killing the
process, before the raised limit stopped it), and restores the limit after.

The time SymPy takes grows faster than the square of the depth (a 1,000-deep ``sin`` chain
builds in ~5 s, one of ``log(u*u + 1)`` 3,000 operations deep in ~200 s), so expressions deeper
than ``MAX_DEPTH`` operations are refused with a ValueError naming the depth and the limit.
The symbolic method has no such limit: it builds unevaluated, where nothing recurses.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from sympy.core.parameters import global_parameters

from .expr import Expr, toposort

SHALLOW = 150          # operations deep that SymPy evaluates within the default limit
MAX_DEPTH = 2_000      # operations deep to_sympy builds (SymPy's time: minutes beyond)
FRAMES_PER_LEVEL = 16  # Python frames allowed per operation (SymPy took 3 to 3.4 measured)
STACK_PER_FRAME = 4096  # bytes of thread stack per allowed frame (0.6 to 0.9 KB measured)
MAX_STACK = 512 * 2**20
_LOCK = threading.Lock()  # one deep build at a time: the recursion limit is per process


def depth_of(expr: Expr) -> int:
    """The longest chain of operations from a leaf to ``expr`` (a leaf: 0), without recursion."""
    depth: dict = {}
    for node in toposort(expr):
        depth[node.key] = 1 + max((depth[a.key] for a in node.args), default=-1)
    return depth[expr.key]


def deep_call(fn: Callable, depth: int, what: str):
    """``fn()``, with room for SymPy to recurse over an expression ``depth`` operations deep.

    Args:
        fn: the build (no arguments).
        depth: the expression's depth (``depth_of``).
        what: the caller, for the messages (``to_sympy``).
    Raises:
        ValueError: deeper than ``MAX_DEPTH``, or SymPy recursed beyond the room given (both
            name the depth).
    """
    if depth <= SHALLOW or not global_parameters.evaluate:  # unevaluated: nothing recurses
        return fn()
    if depth > MAX_DEPTH:
        raise ValueError(f"{what}: the expression is {depth:,} operations deep; SymPy evaluates "
                         f"an expression by recursing over its depth, in time that grows faster "
                         f"than its square, so {what} builds at most {MAX_DEPTH:,} levels (the "
                         f"symbolic method differentiates deeper ones: method='symbolic')")
    frames = FRAMES_PER_LEVEL * depth + 2_000
    settings = {k: getattr(global_parameters, k) for k in ("evaluate", "distribute",
                                                           "exp_is_pow")}
    outcome: dict = {}

    def work() -> None:
        for key, value in settings.items():  # SymPy's settings are per thread: the caller's
            setattr(global_parameters, key, value)
        try:
            outcome["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = err

    with _LOCK:
        limit = sys.getrecursionlimit()
        thread = threading.Thread(target=work, name=f"difflab {what}", daemon=True)
        try:
            sys.setrecursionlimit(max(limit, frames))
            stack = threading.stack_size(min(frames * STACK_PER_FRAME + 32 * 2**20,
                                             MAX_STACK))
            try:
                thread.start()  # (the stack size applies to threads started from now)
            finally:
                threading.stack_size(stack)
            thread.join()
        finally:
            sys.setrecursionlimit(limit)
    error = outcome.get("error")
    if isinstance(error, RecursionError):
        raise ValueError(f"{what}: SymPy recursed too deep evaluating this expression, "
                         f"{depth:,} operations deep") from None
    if error is not None:
        raise error
    return outcome["value"]
