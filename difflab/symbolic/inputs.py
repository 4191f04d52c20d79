"""The flat scalar inputs of a symbolic program: one SymPy symbol per scalar of every variable,
and a point's values in the same order.

An array variable of shape (2, 3) is six symbols ``_x0 .. _x5`` (C order); the compiled
program takes the values of all of them as one list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy

from ..core.expr import Expr

Shape = tuple[int, ...]


def input_symbols(names: Sequence[str], shapes: Mapping[str, Shape]) -> dict:
    """Fresh real symbols ``_x0, _x1 ...`` per variable (object arrays of the variable's shape).

    Internal names keep the generated code clear of any clash between a variable's name and
    a NumPy/mpmath function the printer uses (a variable called ``sign`` or ``select``).

    Args:
        names: the variables, in the order of the flat inputs.
        shapes: every variable's shape.
    Returns:
        {name: object array of SymPy symbols of that shape}.
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
    inf, not a ZeroDivisionError as with Python floats).

    Args:
        point: {name: float or array}.
        names: the variables, in the order of the flat inputs.
    Returns:
        a list of np.float64.
    """
    args: list = []
    for name in names:
        value = point[name]
        if np.ndim(value) == 0:
            args.append(np.float64(value))
        else:
            args.extend(np.asarray(value, dtype=np.float64).ravel())
    return args


def float_args(point: Mapping, names: Sequence[str]) -> list:
    """The point's scalars in the order of ``input_symbols``, as Python floats (for a program
    that only adds and multiplies: see ``codegen``).

    Args:
        point: {name: float or array}.
        names: the variables, in the order of the flat inputs.
    Returns:
        a list of Python floats.
    """
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


def check_names(expr: Expr, wrt: tuple, shapes: Mapping) -> None:
    """Refuse a ``wrt`` name the expression does not have, or a variable without a shape."""
    known = set(expr.variables)  # a set: 100,000 names must not cost 100,000^2 comparisons
    for name in wrt:
        if name not in known:
            raise ValueError(f"cannot differentiate with respect to {name!r}: the expression "
                             f"depends only on {', '.join(expr.variables) or 'no variables'}")
    for name in expr.variables:
        if name not in shapes:
            raise ValueError(f"no shape given for variable {name!r}")
