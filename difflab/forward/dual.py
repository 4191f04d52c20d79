"""Dual numbers: forward mode on plain Python and NumPy code.

A ``Dual(value, x_dot)`` carries, next to a value ``x``, its tangent ``x_dot = dx/de`` along one
input direction; every operation applies the chain rule as it goes (``y = f(x)`` gets
``y_dot = f'(x) x_dot``) with the rules of ``rules.jvp_rules``. Plain Python and NumPy code
computes with it: operators, ufuncs through ``__array_ufunc__``, and ``np.sum``/``np.where``/...
through ``__array_function__``. ``derivatives.py`` seeds them (``derivative(f, x)``,
``jvp``, ``gradient``, ``grad_fn``); ``sin`` ... ``softplus``, ``max``, ``min`` here are the
grammar's functions on floats, arrays and Duals alike.

Perturbations are *tagged*: every ``derivative``/``jvp`` call takes a fresh, larger tag, and a
Dual's value may itself be a Dual of an older (smaller) tag. An operation works at the largest
tag among its operands and treats the others as constants at that level (the values below it
are Duals that dispatch again). So nested derivatives never confuse their perturbations
(ForwardDiff.jl's tags, JAX's trace levels):
``derivative(lambda x: x * derivative(lambda y: x + y, 1.0), 1.0) == 1.0``, not 2.

The rules are ``rules.jvp_rules``, the same table the plan sweep uses.
"""

from __future__ import annotations

import builtins
import itertools
import math
import operator
from collections.abc import Callable
from numbers import Real

import numpy as np

from ..core.expr import Expr
from ..core.ops import PRIMAL
from ..core.printer import summary
from .dual_arrays import ARRAY_HANDLERS
from .rules import jvp_rules
from .values import _ONE, _ZERO, _fit, _shape, _strip

# ---- Dual numbers -------------------------------------------------------------------------
_TAGS = itertools.count(1)  # tag 0: Duals made by hand; each derivative/jvp takes a new one
_new = object.__new__


class Dual:
    """A value with a tangent: ``Dual(value, x_dot=1, tag=0)``.

    ``value`` is a float, an array, or a Dual of a smaller tag (a nested derivative);
    ``x_dot`` has the value's shape. Arithmetic, NumPy ufuncs and ``np.sum``/``np.mean``/
    ``np.transpose``/``np.reshape``/``np.broadcast_to``/``np.where`` work on it; comparisons
    compare the values and return plain booleans. ``math.sin(d)`` or ``float(d)`` raise
    (the tangent would be lost): use ``np.sin`` or ``forward.sin``.
    """

    __slots__ = ("value", "x_dot", "tag")
    __hash__ = None  # == compares values

    def __init__(self, value, x_dot=None, tag: int = 0):
        value = _as_number(value)
        shape = _shape(value)
        if x_dot is None:
            x_dot = np.ones(shape) if shape else _ONE
        else:
            x_dot = _as_number(x_dot)
            if _shape(x_dot) != shape:
                try:
                    x_dot = np.broadcast_to(x_dot, shape)
                except ValueError:
                    raise ValueError(f"Dual: a tangent of shape {_shape(x_dot)} does not fit a "
                                     f"value of shape {shape}") from None
        self.value, self.x_dot, self.tag = value, x_dot, int(tag)

    def __repr__(self) -> str:
        return f"Dual({self.value!r}, x_dot={self.x_dot!r}, tag={self.tag})"

    # ---- arithmetic: operators go through the same lifting as ufuncs ---------------------
    def __add__(self, other): return _lift2("add", self, other, operator.add)
    def __radd__(self, other): return _lift2("add", other, self, operator.add)
    def __sub__(self, other): return _lift2("sub", self, other, operator.sub)
    def __rsub__(self, other): return _lift2("sub", other, self, operator.sub)
    def __mul__(self, other): return _lift2("mul", self, other, operator.mul)
    def __rmul__(self, other): return _lift2("mul", other, self, operator.mul)
    def __truediv__(self, other): return _lift2("div", self, other, operator.truediv)
    def __rtruediv__(self, other): return _lift2("div", other, self, operator.truediv)
    def __pow__(self, other): return _lift2("pow", self, other, operator.pow)
    def __rpow__(self, other): return _lift2("pow", other, self, operator.pow)
    def __matmul__(self, other): return _lift2("matmul", self, other, operator.matmul)
    def __rmatmul__(self, other): return _lift2("matmul", other, self, operator.matmul)
    def __neg__(self): return _lift1("neg", self, operator.neg)
    def __pos__(self): return self
    def __abs__(self): return _lift1("abs", self, np.abs)

    # comparisons look at the values only (masks for kinks and ties)
    def __eq__(self, other): return _strip(self) == _strip(other)
    def __ne__(self, other): return _strip(self) != _strip(other)
    def __lt__(self, other): return _strip(self) < _strip(other)
    def __le__(self, other): return _strip(self) <= _strip(other)
    def __gt__(self, other): return _strip(self) > _strip(other)
    def __ge__(self, other): return _strip(self) >= _strip(other)
    def __bool__(self): return bool(_strip(self))

    def __float__(self):
        raise TypeError("cannot convert a Dual to float (its tangent would be lost); use "
                        "NumPy or difflab.forward functions on it, or read .value")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("a Dual cannot become a NumPy array (its tangent would be lost); "
                        "in-place updates such as a[i] = d or a += d are not supported")

    # ---- array-like conveniences ---------------------------------------------------------
    shape = property(lambda self: _shape(self), doc="The value's shape.")
    ndim = property(lambda self: len(_shape(self)), doc="The value's number of axes.")
    size = property(lambda self: math.prod(_shape(self)), doc="The value's element count.")
    T = property(lambda self: np.transpose(self), doc="Transpose (reverses the axes).")

    def __len__(self) -> int:
        return len(_strip(self))

    def __getitem__(self, index):
        return _dual(self.value[index], self.x_dot[index], self.tag)

    def sum(self, axis=None, keepdims=False): return np.sum(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return np.mean(self, axis=axis, keepdims=keepdims)
    def reshape(self, *shape): return np.reshape(self, shape[0] if len(shape) == 1 else shape)
    def transpose(self, *axes): return np.transpose(self, axes or None)

    # ---- NumPy protocols -----------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            raise TypeError(f"{ufunc.__name__}: cannot write a Dual into an array (out=, +=); "
                            f"write x = x + y instead")
        if method != "__call__" or kwargs:
            return NotImplemented
        op = _UFUNC_OPS.get(ufunc)
        if op is not None:
            if len(inputs) == 1:
                return _lift1(op, inputs[0], ufunc)
            return _lift2(op, inputs[0], inputs[1], ufunc)
        if ufunc in _ON_VALUES:  # comparisons, sign, isnan...: piecewise constant
            return ufunc(*(_strip(v) for v in inputs))
        return NotImplemented

    def __array_function__(self, func, types, args, kwargs):
        handler = _ARRAY_FUNCTIONS.get(func)
        if handler is None:
            return NotImplemented
        return handler(*args, **kwargs)


def _dual(value, x_dot, tag: int) -> Dual:
    """A Dual without checks (the value and tangent are already consistent)."""
    d = _new(Dual)
    d.value, d.x_dot, d.tag = value, x_dot, tag
    return d


def _as_number(v):
    """A float64 scalar (np.float64: IEEE division, never ZeroDivisionError), array or Dual."""
    cls = v.__class__
    if cls is np.float64 or cls is Dual:
        return v
    if cls is np.ndarray:
        return v if v.dtype == np.float64 else v.astype(np.float64)
    if isinstance(v, bool) or v is None or isinstance(v, str | bytes):
        raise TypeError(f"expected a number, an array of numbers or a Dual, got {v!r}")
    if isinstance(v, Real):
        return np.float64(v)
    try:
        arr = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"expected a number, an array of numbers or a Dual, got "
                        f"{type(v).__name__}") from None
    return arr if arr.ndim else np.float64(arr)


def _lift1(op: str, x: Dual, primal: Callable) -> Dual:
    """op(x) for a Dual x: the primal on the value (which may be a Dual of a lower tag)."""
    v = x.value
    y = primal(v)
    return _dual(y, jvp_rules[op](v, y, x.x_dot), x.tag)


def _lift2(op: str, a, b, primal: Callable) -> Dual:
    """op(a, b) at the larger tag of the two; an operand of a lower tag (or none) is constant."""
    ta = a.tag if a.__class__ is Dual else -1
    tb = b.tag if b.__class__ is Dual else -1
    tag = ta if ta >= tb else tb
    av, a_dot = (a.value, a.x_dot) if ta == tag else (a, None)
    bv, b_dot = (b.value, b.x_dot) if tb == tag else (b, None)
    y = primal(av, bv)
    if y.__class__ is Expr:  # an operand was an expression: NumPy handed the op to the IR
        raise TypeError(f"cannot combine a Dual with an expression of the IR "
                        f"({summary(a if a.__class__ is Expr else b, 40)}): a Dual computes "
                        f"with numbers; differentiate an expression with dl.grad(expr, point, "
                        f"method='forward') instead")
    y_dot = jvp_rules[op](av, bv, y, a_dot, b_dot)
    if (a_dot is None or b_dot is None) and op in _PASS_THROUGH:
        y_dot = _fit(y_dot, _shape(y))  # x + c with c broadcast: spread x_dot to y's shape
    return _dual(y, y_dot, tag)


_PASS_THROUGH = frozenset(("add", "sub"))  # rules that may hand back an operand's tangent


_UFUNC_OPS = {
    np.negative: "neg", np.sin: "sin", np.cos: "cos", np.tan: "tan", np.arcsin: "asin",
    np.arccos: "acos", np.arctan: "atan", np.sinh: "sinh", np.cosh: "cosh", np.tanh: "tanh",
    np.exp: "exp", np.log: "log", np.log1p: "log1p", np.expm1: "expm1", np.sqrt: "sqrt",
    np.absolute: "abs", np.square: "square", np.add: "add", np.subtract: "sub",
    np.multiply: "mul", np.true_divide: "div", np.power: "pow", np.maximum: "max",
    np.minimum: "min", np.matmul: "matmul", np.logaddexp: "logaddexp",
}
_ON_VALUES = frozenset((np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
                        np.not_equal, np.sign, np.isnan, np.isinf, np.isfinite))


def _linear(func: Callable) -> Callable:
    """A NumPy function linear in its first argument: apply it to value and tangent alike."""
    def apply(x, *args, **kwargs):
        if x.__class__ is not Dual:
            return func(x, *args, **kwargs)
        return _dual(func(x.value, *args, **kwargs), func(x.x_dot, *args, **kwargs), x.tag)
    return apply


def _where(condition, *xy):
    """np.where(condition, x, y) with a plain (or Dual, read by value) condition."""
    c = _strip(condition)
    if not xy:
        return np.where(c)
    x, y = xy
    tag = builtins.max(x.tag if x.__class__ is Dual else -1, y.tag if y.__class__ is Dual else -1)
    xv, x_dot = (x.value, x.x_dot) if x.__class__ is Dual and x.tag == tag else (x, _ZERO)
    yv, y_dot = (y.value, y.x_dot) if y.__class__ is Dual and y.tag == tag else (y, _ZERO)
    value = _scalar(np.where(c, xv, yv))
    return _dual(value, _fit(_scalar(np.where(c, x_dot, y_dot)), _shape(value)), tag)


def _scalar(v):
    return v[()] if v.__class__ is np.ndarray and v.ndim == 0 else v


def _size(a, axis=None) -> int:
    shape = _shape(a)
    return math.prod(shape) if axis is None else shape[axis]


_ARRAY_FUNCTIONS = {
    **{f: _linear(f) for f in (np.sum, np.mean, np.transpose, np.reshape, np.broadcast_to,
                               np.swapaxes, np.moveaxis, np.squeeze, np.expand_dims,
                               np.ravel)},
    np.where: _where, np.shape: _shape, np.ndim: lambda a: len(_shape(a)), np.size: _size,
    np.zeros_like: lambda a, *args, **kw: np.zeros_like(_strip(a), *args, **kw),
    np.ones_like: lambda a, *args, **kw: np.ones_like(_strip(a), *args, **kw),
    **ARRAY_HANDLERS,
}


# ---- the grammar's functions on floats, arrays and Duals ----------------------------------
def _apply(op: str, x):
    return _lift1(op, x, _DUAL_PRIMAL[op]) if x.__class__ is Dual else PRIMAL[op](x)


def _apply2(op: str, a, b):
    if a.__class__ is Dual or b.__class__ is Dual:
        return _lift2(op, a, b, PRIMAL[op])
    return PRIMAL[op](a, b)


def sin(x): return _apply("sin", x)
def cos(x): return _apply("cos", x)
def tan(x): return _apply("tan", x)
def asin(x): return _apply("asin", x)
def acos(x): return _apply("acos", x)
def atan(x): return _apply("atan", x)
def sinh(x): return _apply("sinh", x)
def cosh(x): return _apply("cosh", x)
def tanh(x): return _apply("tanh", x)
def exp(x): return _apply("exp", x)
def log(x): return _apply("log", x)
def log1p(x): return _apply("log1p", x)
def expm1(x): return _apply("expm1", x)
def sqrt(x): return _apply("sqrt", x)
def abs(x): return _apply("abs", x)  # noqa: A001 - the grammar's name
def sigmoid(x): return _apply("sigmoid", x)
def relu(x): return _apply("relu", x)
def softplus(x): return _apply("softplus", x)
def sum(x): return _apply("sum", x)  # noqa: A001 - every axis
def mean(x): return _apply("mean", x)
def transpose(x): return _apply("transpose", x)
def max(a, b): return _apply2("max", a, b)  # noqa: A001 - elementwise


# PRIMAL's relu is np.maximum(x, 0), which on a Dual takes max's tie rule (1/2 at x = 0). A
# Dual's relu must take relu's own rule (0 at 0, as JAX), at every level of nesting: Hessians
# run the primal pass on Duals.
_DUAL_PRIMAL = {**PRIMAL, "relu": relu}
def min(a, b): return _apply2("min", a, b)  # noqa: A001 - elementwise
