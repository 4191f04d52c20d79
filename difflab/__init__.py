"""difflab: one expression IR, differentiated four ways (symbolic, numeric, forward, reverse),
with JAX as the reference, and a lab that measures how accurate and how fast each way is.

    >>> import difflab as dl
    >>> f = dl.parse("sin(x) * exp(y) + x**2")
    >>> dl.evaluate(f, {"x": 1.0, "y": 0.0})
    1.8414709848078965
"""

from .api import METHODS, grad, hessian, hvp, jacobian, jvp, prepared, vjp
from .check import GradientMismatch, check_grad
from .core.arrays import (
    add_n,
    clip,
    concatenate,
    equal,
    greater,
    greater_equal,
    less,
    less_equal,
    log_softmax,
    logsumexp,
    not_equal,
    outer,
    softmax,
    stack,
    where,
)
from .core.evaluate import PointError
from .core.expr import (
    Expr,
    abs,
    acos,
    asin,
    atan,
    constant,
    cos,
    cosh,
    exp,
    expm1,
    log,
    log1p,
    max,
    mean,
    min,
    prod,
    relu,
    reshape,
    sigmoid,
    sin,
    sinh,
    softplus,
    sqrt,
    square,
    sum,
    tan,
    tanh,
    transpose,
    variable,
    variables,
)
from .core.metrics import Size, size
from .core.parser import ParseError, parse
from .core.printer import to_text
from .draw.picture import draw
from .method_table import methods, register_method
from .tracer import evaluate, trace

__version__ = "0.1.0"


def to_sympy(expr, shapes=None):
    """``expr`` in SymPy (see ``difflab.sympy_bridge.to_sympy``); arrays become symbols
    ``name_i_j`` (a ValueError if that is another variable's name). An expression up to 2,000
    operations deep is built with room for SymPy's recursion (``core/sympy_deep.py``), a
    deeper one is a ValueError. SymPy is imported on first use, not with difflab."""
    from .core.sympy_bridge import to_sympy as _to_sympy

    return _to_sympy(expr, shapes)


def from_sympy(sym):
    """A SymPy scalar expression as IR (see ``difflab.core.sympy_import.from_sympy``). SymPy
    objects only: a string is a TypeError (``sympify`` would run it as code; ``parse`` reads
    text)."""
    from .core.sympy_import import from_sympy as _from_sympy

    return _from_sympy(sym)


def compare(expr, point, methods=None, wrt=None):
    """The gradient by every method side by side with the truth, as a pandas DataFrame.

    Args:
        expr: a scalar-valued expression, its text, or a Python function (``dl.trace``).
        point: every variable -> float or array.
        methods: methods to run: a list of names or one name (default: all of ``METHODS``;
            ``dl.methods()`` adds the registered ones); an empty list is a ValueError.
        wrt: variables (default: all).
    Returns:
        one row per method (the 50-digit truth first): derivatives, max rho and relative
        error against the truth, median time per call, preparation time, status.
    """
    from .lab.compare import compare as _compare  # pandas and the lab load on first use

    return _compare(expr, point, methods=methods, wrt=wrt)

__all__ = [
    "METHODS", "compare", "grad", "jacobian", "hessian", "jvp", "vjp", "hvp", "prepared",
    "check_grad", "trace", "GradientMismatch", "methods", "register_method",
    "Expr", "ParseError", "PointError", "Size",
    "parse", "to_text", "evaluate", "variable", "variables", "constant", "size",
    "to_sympy", "from_sympy",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log",
    "log1p", "expm1", "sqrt", "abs", "sigmoid", "relu", "softplus", "sum", "mean", "max", "min",
    "transpose", "prod", "logsumexp", "softmax", "log_softmax", "where", "concatenate", "stack",
    "reshape", "square", "clip", "outer", "add_n", "equal", "not_equal", "less", "less_equal",
    "greater", "greater_equal", "draw",
]
