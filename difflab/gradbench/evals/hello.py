"""GradBench's ``hello`` eval: ``square(x) = x²`` and ``double(x)``, its derivative 2x.

The input is a bare number (no ``min_runs``/``min_seconds``: one run). ``double`` is the
method's gradient of x², not 2·x written out: hello checks that the protocol and the method
are wired up.
"""

from __future__ import annotations

import math
import sys

from ...core.expr import Expr, variable
from ..spec import JSON, Derivative, Eval, InputError, kind_of, shown

NAME = "hello"


def sizes(input: JSON) -> tuple:
    """No sizes: the input is one number."""
    return ()


def point(input: JSON, sizes: tuple) -> dict:
    """{"x": the number}; anything but a finite number (of a float64) is an InputError."""
    if isinstance(input, bool) or not isinstance(input, int | float):
        raise InputError(f"hello takes a number, got {kind_of(input)}: {shown(input)}")
    if isinstance(input, int) and abs(input) > sys.float_info.max:
        raise InputError(f"hello takes a number a float64 can hold, got {shown(input)}")
    if not math.isfinite(input):
        raise InputError(f"hello takes a finite number, got {input!r}")
    return {"x": float(input)}


def objective() -> Expr:
    """x²."""
    x = variable("x")
    return x * x


def derivative(sizes: tuple, method: str) -> Derivative:
    """d/dx x², by the method."""
    return Derivative("grad", objective(), ("x",))


EVAL = Eval(NAME, "square", "double", sizes, point, objective, derivative,
            primal_output=lambda value, input: float(value),
            derivative_output=lambda result, input: float(result["x"]), runs=False)
