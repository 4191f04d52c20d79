"""From derivative components to a NumPy function: CSE over all components, one lambdify.

The flat scalar inputs of the wrt variables become SymPy symbols (``input_symbols``); the
components are shared by common-subexpression elimination and compiled by one ``lambdify``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import sympy
from sympy.simplify.cse_main import tree_cse
from sympy.utilities.iterables import numbered_symbols

from ..core import sympy_bridge
from ..core.expr import Expr
from .budget import Clock, Shape
from .rules import graph, tree_ops


# ---- compiling a list of derivative components ------------------------------------------
def eliminate_common(exprs: Sequence) -> tuple[list, list]:
    """``sympy.cse`` without its ``opt_cse`` pass: (replacements, reduced expressions).

    opt_cse's matching of common arguments is superlinear (27 s on d l_24 of the logistic
    map against 0.2 s without) and gave more operations, not fewer; tree_cse alone shares
    every repeated node in time linear in the DAG.
    """
    return tree_cse(list(exprs), numbered_symbols("_c", real=True), opt_subs={}, order="none")


def lambdify_shared(args: Sequence, exprs: Sequence, modules: list,
                    shared: tuple[list, list] | None = None):
    """One function of ``args`` returning the list ``exprs``, common subexpressions computed
    once (``shared`` = the result of ``eliminate_common(exprs)``, computed if not given)."""
    replacements, reduced = shared if shared is not None else eliminate_common(exprs)
    # SymPy's complex infinity (x/0 = zoo*x) has no printer and no real value: undefined, nan.
    # After CSE the expressions are small trees, so checking and replacing is cheap.
    zoo = {sympy.zoo: sympy.nan}
    replacements = [(s, e.xreplace(zoo) if e.has(sympy.zoo) else e) for s, e in replacements]
    reduced = [e.xreplace(zoo) if e.has(sympy.zoo) else e for e in reduced]
    return sympy.lambdify(list(args), reduced, modules=modules,
                          cse=lambda _: (replacements, reduced))


def _compile(components: list, args: list, clock: Clock) -> tuple:
    """CSE over all components, then one lambdify to NumPy; returns (function, info)."""
    info = {"raw_ops": tree_ops(components), "raw_dag_ops": sum(
        1 for node in graph(components) if not node.is_Atom), "components": len(components)}
    clock.check("starting common-subexpression elimination")
    start = time.perf_counter()
    replacements, reduced = eliminate_common(components)
    info["cse_seconds"] = time.perf_counter() - start
    clock.check("eliminating common subexpressions")
    info["cse_ops"] = sum(tree_ops([rhs]) for _, rhs in replacements) + tree_ops(reduced)
    info["cse_temporaries"] = len(replacements)
    start = time.perf_counter()
    fn = lambdify_shared(args, components, [sympy_bridge.NUMPY_FUNCTIONS, "numpy"],
                         (replacements, reduced))
    info["lambdify_seconds"] = time.perf_counter() - start
    info["python_floats"] = arithmetic_only([rhs for _, rhs in replacements] + list(reduced))
    return fn, info


_ARITHMETIC = (sympy.Add, sympy.Mul, sympy.Symbol, sympy.Number)


def arithmetic_only(exprs: Sequence) -> bool:
    """True when the expressions use only + - * and numbers (no division by a variable, no
    powers, no functions). Python floats then compute exactly what NumPy float64 does, IEEE
    included (overflow gives inf, inf - inf nan, never an exception), ~3x faster per
    operation; a division or power could raise (1/0.0, 1e200**2) and needs NumPy scalars."""
    stack, seen = list(exprs), set()
    while stack:  # iterative: a derivative's tree can be deep
        e = stack.pop()
        if not isinstance(e, _ARITHMETIC):
            return False
        if e.args and e not in seen:
            seen.add(e)
            stack.extend(e.args)
    return True


def input_symbols(names: Sequence[str], shapes: Mapping[str, Shape]) -> dict:
    """Fresh real symbols ``_x0, _x1 ...`` per variable (object arrays of the variable's shape).

    Internal names keep the generated code clear of any clash between a variable's name and
    a NumPy/mpmath function the printer uses (a variable called ``sign`` or ``select``).
    """
    symbols, k = {}, 0
    for name in names:
        shape = tuple(shapes[name])
        block = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            block[index] = sympy.Symbol(f"_x{k}", real=True)
            k += 1
        symbols[name] = block
    return symbols


def flat_args(point: Mapping, names: Sequence[str]) -> list:
    """The point's scalars in the order of ``input_symbols``, as NumPy float64 (IEEE: 1/0 is
    inf, not a ZeroDivisionError as with Python floats)."""
    args: list = []
    for name in names:
        value = point[name]
        if np.ndim(value) == 0:
            args.append(np.float64(value))
        else:
            args.extend(np.asarray(value, dtype=np.float64).ravel())
    return args


def float_args(point: Mapping, names: Sequence[str]) -> list:
    """The point's scalars in the order of ``input_symbols``, as Python floats (for code that
    only adds, subtracts and multiplies: see ``arithmetic_only``)."""
    args: list = []
    for name in names:
        value = point[name]
        if value.__class__ is float:
            args.append(value)
        elif np.ndim(value) == 0:
            args.append(float(value))
        else:
            args.extend(np.asarray(value, dtype=np.float64).ravel().tolist())
    return args


def _check_names(expr: Expr, wrt: tuple, shapes: Mapping) -> None:
    known = set(expr.variables)  # a set: 100,000 names must not cost 100,000^2 comparisons
    for name in wrt:
        if name not in known:
            raise ValueError(f"cannot differentiate with respect to {name!r}: the expression "
                             f"depends only on {', '.join(expr.variables) or 'no variables'}")
    for name in expr.variables:
        if name not in shapes:
            raise ValueError(f"no shape given for variable {name!r}")
