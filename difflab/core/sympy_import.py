"""SymPy -> IR: ``from_sympy`` reads a scalar SymPy expression back into the IR (symbols become
variables of the same name), walking the SymPy DAG with an explicit stack. It takes SymPy
objects only: it never calls ``sympify``, which would run a string as Python code.
"""

from __future__ import annotations

import math

import numpy as np
import sympy
from sympy.codegen.cfunctions import expm1 as sp_expm1
from sympy.codegen.cfunctions import log1p as sp_log1p

from . import sympy_functions as fns
from .arrays import BUILDERS, stack
from .expr import Expr, constant, variable
from .ops import OPS
from .reals import FLOAT_MAX
from .sympy_bridge import fabs, max2, min2, relu, sigmoid, softplus

_FROM_FUNCTION = {
    sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.asin: "asin",
    sympy.acos: "acos", sympy.atan: "atan", sympy.sinh: "sinh", sympy.cosh: "cosh",
    sympy.tanh: "tanh", sympy.exp: "exp", sympy.log: "log", sp_log1p: "log1p",
    sp_expm1: "expm1", sympy.Abs: "abs", fabs: "abs", sigmoid: "sigmoid", relu: "relu",
    softplus: "softplus", fns.mask_lt: "lt", fns.mask_le: "le", fns.mask_gt: "gt",
    fns.mask_ge: "ge", fns.mask_eq: "eq", fns.mask_ne: "ne", fns.select_if: "select",
    fns.select_unless: "select_not", fns.minus: "sub",
}
# n-ary reductions of scalars -> the IR's reduction of the stacked scalars (ties as JAX's).
# The softmax's constant shift becomes the max itself: the shifted softmax does not depend on
# it, so its derivative terms cancel (to rounding).
_FROM_REDUCTION = {fns.max_of: "reduce_max", fns.min_of: "reduce_min",
                   fns.logsumexp: "logsumexp", fns.max_shift: "reduce_max"}


def from_sympy(sym) -> Expr:
    """A SymPy scalar expression as IR (symbols become variables of the same name).

    Only SymPy objects are taken: ``sympy.sympify`` would run a string as Python code, so text
    is refused here (``dl.parse`` reads the grammar without evaluating anything).

    Args:
        sym: a SymPy expression (``sympy.Basic``).
    Returns:
        the expression's IR.
    Raises:
        TypeError: ``sym`` is not a SymPy object (a string says to use ``dl.parse``).
        ValueError: the expression uses something the grammar cannot say (naming it), or a
            number beyond float64.
    """
    if isinstance(sym, sympy.NDimArray | sympy.MatrixBase | np.ndarray):
        raise ValueError(f"from_sympy takes a scalar SymPy expression, not an array of shape "
                         f"{tuple(sym.shape)}; convert its elements one by one")
    if not isinstance(sym, sympy.Basic):
        hint = ("; to read text use dl.parse (SymPy's sympify would run it as Python code)"
                if isinstance(sym, str | bytes) else "")
        raise TypeError(f"from_sympy needs a SymPy expression, got {type(sym).__name__}{hint}")
    done: dict = {}
    stack: list[tuple[object, bool]] = [(sym, False)]
    while stack:
        node, ready = stack.pop()
        if node in done:
            continue
        if not ready and node.args and not node.is_Number:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in done)
            continue
        done[node] = _from_node(node, [done[a] for a in node.args] if node.args else [])
    return done[sym]


def _fold(op: str, items: list[Expr]) -> Expr:
    out = items[0]
    for item in items[1:]:
        out = BUILDERS[op](out, item)
    return out


def _from_node(node, args: list[Expr]) -> Expr:
    if node.is_Symbol:
        return variable(node.name)
    if node is sympy.pi:
        return constant(np.pi)
    if node is sympy.E:
        return constant(np.e)
    if node.is_Number:
        try:
            value = float(node)
        except (OverflowError, ValueError):  # an Integer beyond Python's 4,300 digits
            value = math.inf
        if math.isinf(value) and node.is_finite:  # SymPy would round it to inf
            try:
                shown = str(sympy.Float(node, 4))
            except ValueError:
                shown = f"(an {type(node).__name__} of more than 4,300 digits)"
            raise ValueError(f"SymPy's number {shown} is too large for float64 ({FLOAT_MAX})")
        return constant(value)
    if node.is_Add:
        return _fold("add", args)
    if node.is_Mul:
        if node.args[0] == -1 and len(args) > 1:
            return BUILDERS["neg"](_fold("mul", args[1:]))
        return _fold("mul", args)
    if node.is_Pow:
        base, expo = node.args
        if expo == -1:
            return BUILDERS["div"](constant(1.0), args[0])
        if expo == sympy.Rational(1, 2):
            return BUILDERS["sqrt"](args[0])
        if expo == -sympy.Rational(1, 2):
            return BUILDERS["div"](constant(1.0), BUILDERS["sqrt"](args[0]))
        return BUILDERS["pow"](*args)
    if isinstance(node, sympy.Max | sympy.Min | max2 | min2):
        return _fold("max" if isinstance(node, sympy.Max | max2) else "min", args)
    op = _FROM_FUNCTION.get(node.func)
    if op is not None and len(args) == OPS[op].arity:
        return BUILDERS[op](*args)
    if node.func in _FROM_REDUCTION:
        return BUILDERS[_FROM_REDUCTION[node.func]](stack(args))
    raise ValueError(f"cannot express SymPy's {node.func.__name__} in difflab's grammar")
