"""``import difflab.numpy as dnp``: NumPy's names with NumPy's meaning, over the IR.

Write a loss as you would with NumPy, and difflab differentiates it every way::

    import difflab as dl
    import difflab.numpy as dnp

    def loss(W, b, X, y):                        # y one-hot
        z = X @ W + b
        return dnp.mean(dnp.logsumexp(z, axis=1) - dnp.sum(z * y, axis=1))

    dl.grad(loss, point, method="forward")       # traced once per shapes (dl.trace)

Every function takes expressions, Python numbers, NumPy arrays and lists alike and returns an
expression (``dnp.exp(1.0)`` is a node; ``dl.evaluate`` gives its value). The names:

- elementwise: exp exp2 expm1 log log2 log10 log1p sqrt square reciprocal sin cos tan arcsin
  arccos arctan (asin acos atan) sinh cosh tanh abs absolute fabs sign negative positive,
  add subtract multiply divide power maximum minimum hypot logaddexp, and the extras sigmoid
  relu softplus;
- comparisons and masks (0/1, derivative 0): less less_equal greater greater_equal equal
  not_equal logical_and logical_or logical_not isnan isinf isfinite; where clip;
- reductions (``axis=`` int or tuple, ``keepdims=``; the second positional argument is the
  axis, as in NumPy): sum mean prod max min amax amin ptp var std, and logsumexp softmax
  log_softmax (SciPy's and jax.nn's);
- shapes and joins: reshape ravel transpose swapaxes moveaxis expand_dims squeeze
  concatenate stack hstack vstack take diff diagonal trace, shape ndim size;
- products: matmul dot vdot outer, linalg.norm;
- constants: zeros ones full zeros_like ones_like full_like eye identity arange linspace
  array asarray, pi e inf nan euler_gamma newaxis.

Functions marked in their docstring as needing a shape (squeeze, hstack, diagonal, var with
ddof ...) get it from a constant, or inside a function traced at a point.
"""

from . import linalg
from .constructors import (
    arange,
    eye,
    full,
    full_like,
    identity,
    linspace,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from .elementwise import (
    abs,
    absolute,
    acos,
    add,
    arccos,
    arcsin,
    arctan,
    array,
    asarray,
    asin,
    atan,
    clip,
    cos,
    cosh,
    divide,
    e,
    equal,
    euler_gamma,
    exp,
    exp2,
    expm1,
    fabs,
    float_power,
    greater,
    greater_equal,
    hypot,
    inf,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    nan,
    negative,
    newaxis,
    not_equal,
    pi,
    positive,
    power,
    reciprocal,
    relu,
    sigmoid,
    sign,
    sin,
    sinh,
    softplus,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    true_divide,
    where,
)
from .linalg import dot, matmul, outer, vdot
from .reductions import (
    amax,
    amin,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    prod,
    ptp,
    softmax,
    std,
    sum,
    var,
)
from .shaping import (
    concatenate,
    diagonal,
    diff,
    expand_dims,
    hstack,
    moveaxis,
    ndim,
    ravel,
    reshape,
    shape,
    size,
    squeeze,
    stack,
    swapaxes,
    take,
    trace,
    transpose,
    vstack,
)

__all__ = [
    "abs", "absolute", "acos", "add", "amax", "amin", "arange", "arccos", "arcsin", "arctan",
    "array", "asarray", "asin", "atan", "clip", "concatenate", "cos", "cosh", "diagonal", "diff",
    "divide", "dot", "e", "equal", "euler_gamma", "exp", "exp2", "expand_dims", "expm1", "eye",
    "fabs", "float_power", "full", "full_like", "greater", "greater_equal", "hstack", "hypot",
    "identity", "inf", "isfinite", "isinf", "isnan", "less", "less_equal", "linalg", "linspace",
    "log", "log10", "log1p", "log2", "log_softmax", "logaddexp", "logical_and", "logical_not",
    "logical_or", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "moveaxis",
    "multiply", "nan", "ndim", "negative", "newaxis", "not_equal", "ones", "ones_like", "outer",
    "pi", "positive", "power", "prod", "ptp", "ravel", "reciprocal", "relu", "reshape", "shape",
    "sigmoid", "sign", "sin", "sinh", "size", "softmax", "softplus", "sqrt", "square", "squeeze",
    "stack", "std", "subtract", "sum", "swapaxes", "take", "tan", "tanh", "trace", "transpose",
    "true_divide", "var", "vdot", "vstack", "where", "zeros", "zeros_like",
]
