"""Jets: a value with k tangents at once, the numbers that forward-over-reverse runs on.

A ``Jet(value, dot)`` carries next to a plain value (a float64 scalar or array) the tangents
of k directions stacked along a leading axis: ``dot`` has the shape ``(k,) + value.shape``,
``dot[j] = d value / d t_j``. Every operation applies the chain rule to all k at once with
forward mode's rules (``forward.jvp_rules``, written for exactly this layout: they work on the
trailing axes, a direction axis in front). Seed the wrt variables of a reverse program with
Jets, run the forward pass and the unchanged backward sweep (``sweep.sweep``) on them, and
the gradient comes back as Jets whose tangents are H @ directions: a whole Hessian (k = n,
the identity) or a Hessian-vector product (k = 1) in one sweep.

What makes it one sweep and cheap: a quantity that depends on no direction is a plain value,
never a Jet with zero tangents (the output's seed 1.0, every cotangent that passes through
adds and constant factors), so most of the backward sweep is plain NumPy. Where operands of
different shapes broadcast, tangents are padded with unit axes after the direction axis, so
the direction axis never meets a value axis (as ``forward.sweep`` does).

Jets are not nested and carry no tags (forward's ``Dual`` does that): a Hessian needs one
level. The NumPy surface is what the reverse rules and the sweep use: operators, the ufuncs of
the op table, ``np.where``/``sum``/``mean``/``transpose``/``reshape``/``broadcast_to``/
``expand_dims`` and indexing. Anything else raises a TypeError naming the function
(``curvature.JET_OPS`` lists the ops whose rules are known to stay inside).
"""

from __future__ import annotations

import operator

import numpy as np

from ..core.ops import ELEMENTWISE_BINARY, PRIMAL
from ..forward.rules import jvp_rules

_ONE = np.float64(1.0)
_ELEMENTWISE = frozenset(ELEMENTWISE_BINARY)

_new = object.__new__


class Jet:
    """A value with k tangents: ``dot`` has shape (k,) + shape(value).

    The tangents may be held as ``_dot * scale`` (``scale`` of the value's shape, or None):
    multiplying by a plain factor, or any elementwise op with a plain operand (its tangent
    map is a factor per element), updates ``scale`` (one value's worth of numbers) instead of
    all k tangents; reading ``dot`` applies it once.
    """

    __slots__ = ("value", "_dot", "scale")
    __hash__ = None

    def __init__(self, value, dot):
        value = np.float64(value) if np.ndim(value) == 0 else np.asarray(value, np.float64)
        dot = np.asarray(dot, dtype=np.float64)
        if dot.shape[1:] != np.shape(value):
            raise ValueError(f"Jet: tangents of shape {dot.shape} do not fit a value of shape "
                             f"{np.shape(value)} (expected (k,) + {np.shape(value)})")
        self.value, self._dot, self.scale = value, dot, None

    @property
    def dot(self) -> np.ndarray:
        """The tangents, (k,) + shape(value)."""
        if self.scale is not None:
            self._dot, self.scale = self._dot * self.scale, None
        return self._dot

    def __repr__(self) -> str:
        return f"Jet({self.value!r}, dot={self.dot!r})"

    shape = property(lambda self: np.shape(self.value), doc="The value's shape.")
    ndim = property(lambda self: np.ndim(self.value), doc="The value's number of axes.")
    T = property(lambda self: _transpose(self), doc="Transpose of the value axes.")

    # arithmetic: the op table's names, so each takes its jvp rule
    def __add__(self, other): return _binary("add", self, other)
    def __radd__(self, other): return _binary("add", other, self)
    def __sub__(self, other): return _binary("sub", self, other)
    def __rsub__(self, other): return _binary("sub", other, self)
    def __mul__(self, other): return _binary("mul", self, other)
    def __rmul__(self, other): return _binary("mul", other, self)
    def __truediv__(self, other): return _binary("div", self, other)
    def __rtruediv__(self, other): return _binary("div", other, self)
    def __pow__(self, other): return _binary("pow", self, other)
    def __rpow__(self, other): return _binary("pow", other, self)
    def __matmul__(self, other): return _binary("matmul", self, other)
    def __rmatmul__(self, other): return _binary("matmul", other, self)
    def __neg__(self): return _scaled(-self.value, self, -1.0)
    def __pos__(self): return self

    # comparisons read the values (masks for kinks and ties)
    def __eq__(self, other): return self.value == _value(other)
    def __ne__(self, other): return self.value != _value(other)
    def __lt__(self, other): return self.value < _value(other)
    def __le__(self, other): return self.value <= _value(other)
    def __gt__(self, other): return self.value > _value(other)
    def __ge__(self, other): return self.value >= _value(other)

    def __float__(self):
        raise TypeError("cannot convert a Jet to float (its tangents would be lost)")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("a Jet cannot become a NumPy array (its tangents would be lost)")

    def __getitem__(self, index):
        # the index addresses the value's axes; the tangents' direction axis comes first
        lead = (slice(None),) + (index if isinstance(index, tuple) else (index,))
        return _jet(self.value[index], self.dot[lead])

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            return NotImplemented
        if ufunc in _ON_VALUES:
            return ufunc(*(_value(v) for v in inputs))
        op = _UFUNC_OPS.get(ufunc)
        if op is None:
            raise TypeError(f"{ufunc.__name__} is not supported on Jets")
        if len(inputs) == 1:
            return unary(op, inputs[0])
        return _binary(op, inputs[0], inputs[1])

    def __array_function__(self, func, types, args, kwargs):
        handler = _FUNCTIONS.get(func)
        if handler is None:
            raise TypeError(f"np.{func.__name__} is not supported on Jets")
        return handler(*args, **kwargs)


def _jet(value, dot) -> Jet:
    """A Jet without checks (value and dot already consistent)."""
    j = _new(Jet)
    j.value, j._dot, j.scale = value, dot, None
    return j


def _scaled(value, x: Jet, factor) -> Jet:
    """``value`` with x's tangents times ``factor`` (of the value's shape; None: 1), applied
    lazily."""
    j = _new(Jet)
    j.value, j._dot = value, x._dot
    j.scale = x.scale if factor is None else factor if x.scale is None else x.scale * factor
    return j


def jet(value, dot):
    """``value`` with tangents ``dot``, or ``value`` itself when ``dot`` is None (a quantity
    that depends on no direction stays a plain number)."""
    return value if dot is None else _jet(value, dot)


def _value(v):
    return v.value if v.__class__ is Jet else v


def unary(op: str, x):
    """Op ``op`` of the op table (one argument) applied to a Jet or a plain value."""
    if x.__class__ is not Jet:
        return PRIMAL[op](x)
    v = x.value
    y = PRIMAL[op](v)
    return _jet(y, jvp_rules[op](v, y, x.dot))


def binary(op: str, a, b):
    """Op ``op`` of the op table (two arguments) on Jets or plain values."""
    return _binary(op, a, b)


def _binary(op: str, a, b):
    if a.__class__ is Jet:
        av, a_dot = a.value, a._dot
    else:
        av, a_dot = a, None
    if b.__class__ is Jet:
        bv, b_dot = b.value, b._dot
    else:
        bv, b_dot = b, None
    y = _ARITHMETIC[op](av, bv)
    if a_dot is None and b_dot is None:
        return y
    if (a_dot is None or b_dot is None) and op in _ELEMENTWISE:
        x = a if b_dot is None else b
        if np.shape(y) == np.shape(x.value):  # the tangent map is a factor per element
            one = np.ones(np.shape(y)) if np.ndim(y) else _ONE
            factor = jvp_rules[op](av, bv, y, None if a_dot is None else one,
                                   None if b_dot is None else one)
            return _scaled(y, x, None if factor is one else factor)
    a_dot = None if a_dot is None else a.dot
    b_dot = None if b_dot is None else b.dot
    nd = np.ndim(y)
    if op != "matmul":  # elementwise: a narrower operand's tangents get unit axes after k
        if a_dot is not None and a_dot.ndim <= nd:
            a_dot = a_dot.reshape(a_dot.shape[:1] + (1,) * (nd + 1 - a_dot.ndim)
                                  + a_dot.shape[1:])
        if b_dot is not None and b_dot.ndim <= nd:
            b_dot = b_dot.reshape(b_dot.shape[:1] + (1,) * (nd + 1 - b_dot.ndim)
                                  + b_dot.shape[1:])
    y_dot = jvp_rules[op](av, bv, y, a_dot, b_dot)
    full = (y_dot.shape[0],) + np.shape(y)
    if y_dot.shape != full:  # x + c with c broadcast: spread the tangents to the full shape
        y_dot = np.broadcast_to(y_dot, full)
    return _jet(y, y_dot)


# ---- NumPy functions on Jets: the value axes shift by one in the tangents -----------------
def _axes(axis, nd: int) -> tuple:
    """``axis`` (None, an int or a tuple) as non-negative value axes."""
    if axis is None:
        return tuple(range(nd))
    axis = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % nd if nd else a for a in axis)


def _reduce(numpy_fn):
    def reduce(x, axis=None, keepdims=False, **kwargs):
        if x.__class__ is not Jet:
            return numpy_fn(x, axis=axis, keepdims=keepdims, **kwargs)
        axes = _axes(axis, x.value.ndim if hasattr(x.value, "ndim") else 0)
        value = numpy_fn(x.value, axis=axis, keepdims=keepdims)
        dot = numpy_fn(x.dot, axis=tuple(a + 1 for a in axes), keepdims=keepdims)
        return _jet(value, dot)
    return reduce


def _transpose(x, axes=None):
    if x.__class__ is not Jet:
        return np.transpose(x, axes)
    nd = np.ndim(x.value)
    order = tuple(range(nd - 1, -1, -1)) if axes is None else _axes(tuple(axes), nd)
    return _jet(np.transpose(x.value, order), np.transpose(x.dot, (0, *(a + 1 for a in order))))


def _reshape(x, shape, *args, **kwargs):
    if x.__class__ is not Jet:
        return np.reshape(x, shape, *args, **kwargs)
    value = np.reshape(x.value, shape)
    return _jet(value, np.reshape(x.dot, x.dot.shape[:1] + np.shape(value)))


def _broadcast_to(x, shape, **kwargs):
    if x.__class__ is not Jet:
        return np.broadcast_to(x, shape, **kwargs)
    shape = tuple(shape) if np.ndim(shape) else (int(shape),)
    lead = len(shape) - np.ndim(x.value)
    dot = x.dot.reshape(x.dot.shape[:1] + (1,) * lead + x.dot.shape[1:])
    return _jet(np.broadcast_to(x.value, shape), np.broadcast_to(dot, x.dot.shape[:1] + shape))


def _expand_dims(x, axis):
    if x.__class__ is not Jet:
        return np.expand_dims(x, axis)
    value = np.expand_dims(x.value, axis)
    axes = _axes(axis, value.ndim)
    return _jet(value, np.expand_dims(x.dot, tuple(a + 1 for a in axes)))


def _where(condition, x, y):
    """np.where(c, x, y): each branch's tangents through the mask (a select: a masked-out
    inf or nan tangent gives 0, never nan)."""
    c = _value(condition)
    xv, x_dot = (x.value, x.dot) if x.__class__ is Jet else (x, None)
    yv, y_dot = (y.value, y.dot) if y.__class__ is Jet else (y, None)
    value = np.where(c, xv, yv)
    if value.ndim == 0:
        value = value[()]
    if x_dot is None and y_dot is None:
        return value
    k = (x_dot if x_dot is not None else y_dot).shape[:1]
    nd = np.ndim(value)
    pad = lambda t: t.reshape(k + (1,) * (nd + 1 - t.ndim) + t.shape[1:])
    dot = np.where(c, 0.0 if x_dot is None else pad(x_dot), 0.0 if y_dot is None else pad(y_dot))
    return _jet(value, np.broadcast_to(dot, k + np.shape(value)))


_FUNCTIONS = {
    np.sum: _reduce(np.sum), np.mean: _reduce(np.mean), np.transpose: _transpose,
    np.reshape: _reshape, np.broadcast_to: _broadcast_to, np.expand_dims: _expand_dims,
    np.where: _where, np.shape: lambda x: np.shape(_value(x)),
    np.ndim: lambda x: np.ndim(_value(x)),
    np.zeros_like: lambda x, *a, **kw: np.zeros_like(_value(x), *a, **kw),
    np.ones_like: lambda x, *a, **kw: np.ones_like(_value(x), *a, **kw),
}

# ufunc -> the op whose primal it is and whose jvp rule it takes
_UFUNC_OPS = {
    np.negative: "neg", np.sin: "sin", np.cos: "cos", np.tan: "tan", np.arcsin: "asin",
    np.arccos: "acos", np.arctan: "atan", np.sinh: "sinh", np.cosh: "cosh", np.tanh: "tanh",
    np.exp: "exp", np.log: "log", np.log1p: "log1p", np.expm1: "expm1", np.sqrt: "sqrt",
    np.absolute: "abs", np.add: "add", np.subtract: "sub", np.multiply: "mul",
    np.true_divide: "div", np.power: "pow", np.maximum: "max", np.minimum: "min",
    np.matmul: "matmul", np.logaddexp: "logaddexp",
}
_ON_VALUES = frozenset((np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
                        np.not_equal, np.sign, np.isnan, np.isinf, np.isfinite))
# The primal of a binary op through Python's operators (NumPy scalars skip the ufunc
# dispatch); logaddexp is not an op of the table but softplus's and sigmoid's primal.
_ARITHMETIC = {**PRIMAL, "add": operator.add, "sub": operator.sub, "mul": operator.mul,
               "div": operator.truediv, "pow": operator.pow, "matmul": operator.matmul,
               "logaddexp": np.logaddexp}
