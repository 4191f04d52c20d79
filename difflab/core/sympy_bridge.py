"""The bridge between the IR and SymPy: ``to_sympy`` and ``from_sympy``.

Arrays become NumPy object arrays of scalar SymPy symbols named after their variable and
index (``W_0_1``), so broadcasting, ``@`` and reductions work elementwise exactly as in NumPy;
a name that is also another variable's (a variable ``W_0_1`` beside the array ``W``) is refused
with a ValueError naming both, since SymPy would merge them into one symbol.
Some ops are defined here, with their derivative, their 50-digit evaluation (by rewriting)
and a NumPy/mpmath implementation for ``lambdify``: ``sigmoid``, ``softplus`` and ``relu``
(whose derivative is ``Heaviside(x, 0)``, so d relu(0) = 0 as in JAX) have no SymPy function;
``abs``, ``max`` and ``min`` have one that SymPy rewrites, which changes derivatives at kinks:
``Abs(x)**2`` becomes ``x**2`` and ``Min(Min(a, b), a)`` becomes ``Min(a, b)``. Here they are
``fabs`` (d = sign, 0 at 0) and the binary ``max2``/``min2`` (d = 1 where the argument wins, 1/2
at a tie, by comparisons), kept as written, so every kink differentiates as JAX does. All are
real for real arguments.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping

import numpy as np
import sympy
from sympy.codegen.cfunctions import expm1 as sp_expm1
from sympy.codegen.cfunctions import log1p as sp_log1p
from sympy.core.basic import Basic
from sympy.core.logic import fuzzy_and
from sympy.functions.elementary.piecewise import ExprCondPair

from . import sympy_functions as fns
from .expr import Expr, toposort
from .ops import OPS, PRIMAL
from .params import Param
from .parser import as_expression
from .sympy_arrays import SYMPY_ARRAY
from .sympy_deep import deep_call, depth_of

Shape = tuple[int, ...]


class _RealFunction(sympy.Function):
    """A function that is real where its arguments are. Without saying so, SymPy takes
    abs(u ** softplus(y)) apart into re() and im() of softplus, whose derivatives it cannot
    print (symbolic failed on such gradients)."""

    def _eval_is_extended_real(self):
        return fuzzy_and(a.is_extended_real for a in self.args)


class sigmoid(_RealFunction):  # noqa: N801 - SymPy prints the class name
    """1 / (1 + exp(-x)); d sigmoid = sigmoid (1 - sigmoid)."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sympy.exp(-x))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.exp)._eval_evalf(prec)


class softplus(_RealFunction):  # noqa: N801
    """log(1 + exp(x)); d softplus = sigmoid."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sympy.log(1 + sympy.exp(x))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.exp)._eval_evalf(prec)


class relu(_RealFunction):  # noqa: N801
    """max(x, 0); d relu = Heaviside(x, 0) (0 at the kink, as JAX)."""

    def fdiff(self, argindex=1):
        return sympy.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sympy.Max(x, 0)

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sympy.Max(x, 0)

    def _eval_evalf(self, prec):
        return sympy.Max(self.args[0], 0)._eval_evalf(prec)


class fabs(_RealFunction):  # noqa: N801
    """|x| of a real x, kept as written; d|x| = sign(x) (0 at 0, as JAX). SymPy's Abs would
    rewrite Abs(x)**2 as x**2 (smooth: second derivative 2 at 0), where JAX differentiates
    |x| |x| at 0 through sign(0) = 0; and Abs of an expression SymPy cannot prove real
    differentiates through re() and im()."""

    def fdiff(self, argindex=1):
        return sympy.sign(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sympy.Abs(x)

    def _eval_evalf(self, prec):
        return sympy.Abs(self.args[0])._eval_evalf(prec)


class _Binary(_RealFunction):
    """max or min of exactly two arguments, kept as written. JAX splits every binary tie
    1/2 : 1/2, so min(min(a, b), a) at a = b gives 3/4 to a and 1/4 to b; SymPy's Min would
    first flatten it to Min(a, b) (1/2 : 1/2)."""

    nargs = 2
    _sympy = sympy.Max

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            return cls._sympy(a, b)

    def _eval_evalf(self, prec):
        return self._sympy(*self.args)._eval_evalf(prec)


def piecewise(*pairs) -> sympy.Piecewise:
    """``sympy.Piecewise(*pairs)`` as given, nothing evaluated. SymPy's constructor scans each
    condition with ``has`` (for a nested Piecewise): a walk over the condition's *tree*,
    exponential in the depth of a DAG (a chain of 20 max took minutes).

    Args:
        pairs: (expression, condition) pairs, SymPy objects; the last condition ``sympy.true``.
    Returns:
        the Piecewise.
    """
    return Basic.__new__(sympy.Piecewise, *(Basic.__new__(ExprCondPair, e, c)
                                            for e, c in pairs))


def _share(a, b, wins):
    """JAX's balanced rule for the argument ``a`` of max or min against ``b``: 1 where ``a``
    wins, 1/2 at a tie, else 0 (jnp.maximum's JVP: a == result, halved if b == result too).
    Comparisons, not Heaviside(a - b): at a = b = inf, a - b is nan where JAX sees a tie, and
    where either is nan JAX gives 0 (nan == result is false)."""
    return piecewise((sympy.S.One, wins(a, b)), (sympy.S.Half, sympy.Eq(a, b)),
                     (sympy.S.Zero, sympy.true))


class max2(_Binary):  # noqa: N801
    """max(a, b); d/da = 1 where a > b, 1/2 at a tie (as jnp.maximum), else 0."""

    def fdiff(self, argindex=1):
        a, b = self.args if argindex == 1 else self.args[::-1]
        return _share(a, b, sympy.Gt)


class min2(_Binary):  # noqa: N801
    """min(a, b); d/da = 1 where a < b, 1/2 at a tie (as jnp.minimum), else 0."""

    _sympy = sympy.Min

    def fdiff(self, argindex=1):
        a, b = self.args if argindex == 1 else self.args[::-1]
        return _share(a, b, sympy.Lt)


def _heaviside_np(x, h0=0.5):
    return np.heaviside(x, h0)


def _heaviside_mp(x, h0=0.5):
    import mpmath

    return mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else mpmath.mpf(h0))


# Implementations for lambdify: numpy (fast, float64) and mpmath (high precision).
NUMPY_FUNCTIONS = {"sigmoid": PRIMAL["sigmoid"], "softplus": PRIMAL["softplus"],
                   "relu": PRIMAL["relu"], "Heaviside": _heaviside_np,
                   "max2": PRIMAL["max"], "min2": PRIMAL["min"], "fabs": PRIMAL["abs"],
                   **fns.NUMPY_FUNCTIONS}


def _mp(name):
    import mpmath

    return {
        "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
        "softplus": lambda x: mpmath.log1p(mpmath.exp(x)) if x < 0
        else x + mpmath.log1p(mpmath.exp(-x)),
        "relu": lambda x: x if x > 0 else mpmath.mpf(0),
        "Heaviside": _heaviside_mp,
        "max2": lambda a, b: a if a >= b else b,
        "min2": lambda a, b: a if a <= b else b,
        "fabs": mpmath.fabs,
    }[name]


def mpmath_functions() -> dict:
    """Implementations of the custom functions for ``lambdify(..., modules="mpmath")``."""
    return {**{name: _mp(name) for name in ("sigmoid", "softplus", "relu", "Heaviside",
                                            "max2", "min2", "fabs")}, **fns.MPMATH_FUNCTIONS}


# op -> SymPy function over scalars. Elementwise ops broadcast through np.frompyfunc.
SYMPY_UNARY = {
    "neg": operator.neg, "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
    "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan, "sinh": sympy.sinh,
    "cosh": sympy.cosh, "tanh": sympy.tanh, "exp": sympy.exp, "log": sympy.log,
    "log1p": sp_log1p, "expm1": sp_expm1, "sqrt": sympy.sqrt, "abs": fabs,
    "sigmoid": sigmoid, "relu": relu, "softplus": softplus,
}
SYMPY_BINARY = {  # SymPy's constructors, not operators: nan + x through nan.__add__ is nan
    "add": lambda a, b: sympy.Add(a, b), "sub": lambda a, b: sympy.Add(a, -b),
    "mul": lambda a, b: sympy.Mul(a, b), "div": lambda a, b: sympy.Mul(a, sympy.Pow(b, -1)),
    "pow": sympy.Pow, "max": max2, "min": min2,
}
_UFUNC = {op: np.frompyfunc(f, 1, 1) for op, f in SYMPY_UNARY.items()}
_UFUNC.update({op: np.frompyfunc(f, 2, 1) for op, f in SYMPY_BINARY.items()})
# square; comparisons (0/1 masks) and where's halves, elementwise too (see sympy_functions).
# The other array ops (indexing, axis reductions, the softmax family, where, reshaping,
# joining) are sympy_arrays.SYMPY_ARRAY.
SYMPY_UNARY["square"] = lambda x: sympy.Pow(x, 2)
_UFUNC["square"] = np.frompyfunc(SYMPY_UNARY["square"], 1, 1)
SYMPY_MASKS = fns.SYMPY_MASKS
_UFUNC.update({op: np.frompyfunc(f, 2, 1) for op, f in SYMPY_MASKS.items()})


def symbol_array(name: str, shape: Shape) -> np.ndarray:
    """The SymPy symbols standing for variable ``name`` of ``shape`` (an object array).

    A scalar is the symbol ``name``; an array element is ``name_i_j``. All are real. (Such a
    name can be another variable's: ``to_sympy_arrays`` refuses the expression then.)
    """
    if shape == ():
        return np.array(sympy.Symbol(name, real=True), dtype=object)
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = sympy.Symbol(name + "_" + "_".join(map(str, index)), real=True)
    return out


def sympy_number(value: float) -> sympy.Expr:
    """A float as an exact SymPy number (integers stay integers, pi and e stay symbolic)."""
    if value == float(np.pi):
        return sympy.pi
    if value == float(np.e):
        return sympy.E
    if np.isfinite(value) and value == int(value) and abs(value) < 2**53:
        return sympy.Integer(int(value))
    if not np.isfinite(value):
        return {np.inf: sympy.oo, -np.inf: -sympy.oo}.get(value, sympy.nan)
    return sympy.Float(value, 17)


def to_sympy_arrays(expr: Expr, shapes: Mapping[str, Shape] | None = None,
                    symbols: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """``expr`` as an object array of SymPy expressions (0-d for a scalar).

    Args:
        expr: the expression.
        shapes: variable name -> shape (default: every variable is a scalar).
        symbols: variable name -> object array of symbols (default: ``symbol_array``).
    Returns:
        an object ndarray whose elements are SymPy expressions.
    """
    shapes = dict(shapes or {})
    named: dict[str, tuple] = {}  # symbol name -> (variable, index): one name, one symbol
    # Keyed by the structural fingerprint: an equal subgraph built twice becomes ONE SymPy
    # node (two equal copies of a deep SymPy chain compare recursively, in exponential time).
    values: dict[tuple, np.ndarray] = {}
    for node in toposort(expr):
        if node.key in values:
            continue
        op, args = node.op, [values[a.key] for a in node.args]
        if op == "var":
            if symbols is not None and node.attr in symbols:
                out = symbols[node.attr]
            else:
                out = symbol_array(node.attr, tuple(shapes.get(node.attr, ())))
                _claim(named, node.attr, out)
        elif op == "const" and isinstance(node.attr, Param):  # read from the node by its user
            out = None
        elif op == "const":
            out = np.vectorize(sympy_number, otypes=[object])(np.asarray(node.attr))
        elif op in SYMPY_ARRAY:  # a constant parameter (an index, axes, a shape) as itself
            args = [a.attr if isinstance(a.attr, Param) else v
                    for a, v in zip(node.args, args, strict=True)]
            # the op table's shape rule names a bad index, axis or shape
            OPS[op].shape(*[a if isinstance(a, Param) else np.shape(a) for a in args])
            out = SYMPY_ARRAY[op](*args)
        elif op in _UFUNC:
            try:
                out = _UFUNC[op](*args)
            except ValueError:
                a, b = (np.shape(x) for x in args)
                raise ValueError(f"{op}: shapes {a} and {b} do not broadcast together") from None
        elif op == "matmul":
            a, b = args
            if a.ndim == 0 or b.ndim == 0 or a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
                raise ValueError(f"matmul: {a.shape} @ {b.shape}")
            out = np.matmul(a, b)
        elif op in ("sum", "mean"):
            (a,) = args
            total = sympy.Add(*a.ravel())
            out = total if op == "sum" else total / max(a.size, 1)
        elif op == "transpose":
            out = np.transpose(args[0])
        else:
            raise NotImplementedError(f"no SymPy mapping for op {op!r}")
        values[node.key] = np.asarray(out, dtype=object) if not isinstance(out, np.ndarray) \
            else out
    return values[expr.key]


def _claim(named: dict[str, tuple], name: str, symbols: np.ndarray) -> None:
    """Record the names of variable ``name``'s symbols; a ValueError naming both variables if
    one is already another's (variable ``x_0`` and element 0 of an array ``x`` would merge
    into one SymPy symbol, and the expression would be another one)."""
    def what(variable: str, index: tuple) -> str:
        return f"element {variable}[{', '.join(map(str, index))}] of array variable " \
            f"{variable!r}" if index else f"variable {variable!r}"

    for index in np.ndindex(*symbols.shape):
        symbol = symbols[index].name
        if symbol in named:
            raise ValueError(f"to_sympy: {what(*named[symbol])} and {what(name, index)} would "
                             f"both be the SymPy symbol {symbol!r} (an array's elements are "
                             f"named name_i_j); rename one of the variables")
        named[symbol] = (name, index)


def to_sympy(expr: Expr, shapes: Mapping[str, Shape] | None = None):
    """``expr`` in SymPy: a scalar expression, or a ``sympy.Array`` for an array result.

    Args:
        expr: the expression (or its grammar text).
        shapes: variable name -> shape; arrays become symbols ``name_i_j`` (default: scalars).
    Returns:
        a SymPy expression (scalar result) or an immutable ``sympy.Array`` of that shape.
    Raises:
        ValueError: two variables' symbols would have one name (``x_0`` and ``x[0]``), or the
            expression is deeper than SymPy's evaluation can build (``sympy_deep``; deep
            ones are built with room for SymPy's recursion).
    """
    expr = as_expression(expr, "to_sympy")
    out = deep_call(lambda: to_sympy_arrays(expr, shapes), depth_of(expr), "to_sympy")
    if out.ndim == 0:
        return out[()]
    return sympy.Array(out.tolist(), out.shape)


# ---- SymPy -> IR ------------------------------------------------------------------------
