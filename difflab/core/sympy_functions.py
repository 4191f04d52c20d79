"""The SymPy functions of the array ops, kept as written, each with JAX's derivative and a NumPy
and an mpmath implementation for ``lambdify`` (float64 code and the 50-digit truth).

- ``mask_lt mask_le mask_gt mask_ge mask_eq mask_ne``: a comparison as a 0/1 number (not a
  SymPy Boolean: masks add and multiply like the IR's float masks); derivative 0 everywhere,
  as JAX's (a mask is flat away from the tie and JAX takes it as flat at the tie too).
- ``select_if(c, a)`` = a where c != 0, else 0; ``select_unless(c, b)`` = b where c == 0,
  else 0: where's two halves (``where(c, a, b) = select_if(c, a) + select_unless(c, b)``, as
  plans compile it). The derivative selects the tangent, d select_if(c, a) = select_if(c, da),
  so the branch not taken contributes exactly 0 even where its own derivative is inf or nan
  (sqrt at 0, sin(x)/x at 0), as JAX's jvp of select; the condition has derivative 0.
- ``max_of(x1, ..., xn)`` and ``min_of``: a max/min reduction; d/dxi = [xi == max] / k for k
  tied maxima (JAX's rule: the ties split equally; a single max gets all of it).
- ``logsumexp(x1, ..., xn)`` = log(exp(x1) + ... + exp(xn)), exactly; d/dxi is the softmax,
  written exp(xi - m) / sum_j exp(xj - m) with ``max_shift`` m, the largest finite xj held
  constant (derivative 0), so neither the value (the NumPy implementation is shifted too)
  nor any derivative overflows: finite at x = [1000, 1001]. mpmath's exponent range is
  unbounded, so at 50 digits the value is exact there too.
"""

from __future__ import annotations

import functools
import operator

import mpmath
import numpy as np
import sympy
from sympy.core.logic import fuzzy_and

ZERO, ONE = sympy.S.Zero, sympy.S.One


def _mp_args(args, prec: int) -> list | None:
    """The arguments as mpmath numbers at ``prec`` bits, or None if one is not a number."""
    values = [a.evalf(mpmath.libmp.prec_to_dps(prec)) for a in args]
    if not all(v.is_Number for v in values):
        return None
    return [v._to_mpmath(prec) for v in values]


class _Evaluated(sympy.Function):
    """A function whose numeric value (``evalf``) is its mpmath implementation ``_mp``."""

    _mp = None

    def _eval_evalf(self, prec):
        values = _mp_args(self.args, prec)
        if values is None:
            return None
        with mpmath.workprec(prec):
            return sympy.Float(type(self)._mp(*values), precision=prec)


# ---- comparisons: 0/1 masks with derivative 0 ---------------------------------------------
class _Mask(_Evaluated):
    nargs = 2
    _compare = operator.lt
    _on_nan = ZERO  # IEEE: a comparison with nan is false (so != is true)

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            if a is sympy.nan or b is sympy.nan:
                return cls._on_nan
            return ONE if cls._compare(a, b) == sympy.true else ZERO

    def fdiff(self, argindex=1):
        return ZERO

    def _eval_is_extended_real(self):
        return True

    @classmethod
    def _mp(cls, a, b):
        return mpmath.mpf(1) if cls._compare(a, b) else mpmath.mpf(0)


def _eq(a, b):
    return sympy.Eq(a, b) if isinstance(a, sympy.Basic) else a == b


def _ne(a, b):
    return sympy.Ne(a, b) if isinstance(a, sympy.Basic) else a != b


class mask_lt(_Mask):  # noqa: N801 - lambdify prints the class name
    """1 where a < b, else 0."""

    _compare = operator.lt


class mask_le(_Mask):  # noqa: N801
    """1 where a <= b, else 0."""

    _compare = operator.le


class mask_gt(_Mask):  # noqa: N801
    """1 where a > b, else 0."""

    _compare = operator.gt


class mask_ge(_Mask):  # noqa: N801
    """1 where a >= b, else 0."""

    _compare = operator.ge


class mask_eq(_Mask):  # noqa: N801
    """1 where a == b, else 0."""

    _compare = staticmethod(_eq)


class mask_ne(_Mask):  # noqa: N801
    """1 where a != b, else 0."""

    _compare = staticmethod(_ne)
    _on_nan = ONE


# ---- where's halves -----------------------------------------------------------------------
class _Select(_Evaluated):
    nargs = 2
    _taken = True  # select_if keeps its branch where c != 0, select_unless where c == 0

    @classmethod
    def eval(cls, c, a):
        if a is ZERO:
            return ZERO
        if c.is_Number:  # (nan is not zero: truthy, as in NumPy)
            return a if (not c.is_zero) == cls._taken else ZERO

    def fdiff(self, argindex=1):
        return ZERO if argindex == 1 else self.func(self.args[0], ONE)

    def _eval_derivative(self, s):
        # d select(c, a) = select(c, da): the tangent itself is selected (see the module)
        c, a = self.args
        return self.func(c, a.diff(s))

    def _eval_is_extended_real(self):
        return self.args[1].is_extended_real

    @classmethod
    def _mp(cls, c, a):
        return a if (c != 0) == cls._taken else mpmath.mpf(0)


class select_if(_Select):  # noqa: N801
    """a where c != 0, else 0 (the taken half of where(c, a, b))."""

    _taken = True


class select_unless(_Select):  # noqa: N801
    """b where c == 0, else 0 (the other half of where(c, a, b))."""

    _taken = False


# ---- reductions of n scalars --------------------------------------------------------------
class _Extremum(_Evaluated):
    """max_of / min_of: the elements kept in order (SymPy's Max would sort and merge them)."""

    _sympy = sympy.Max

    @classmethod
    def eval(cls, *xs):
        if len(xs) == 1:
            return xs[0]
        if xs and all(x.is_Number for x in xs):
            return cls._sympy(*xs)

    def fdiff(self, argindex=1):
        # JAX: [x_i == the result] / (number of elements equal to it)
        return mask_eq(self.args[argindex - 1], self) * _tie_share(self)

    def _eval_is_extended_real(self):
        return fuzzy_and(a.is_extended_real for a in self.args)

    @classmethod
    def _mp(cls, *xs):
        best = xs[0]
        for x in xs[1:]:
            if mpmath.isnan(x) or (cls._sympy is sympy.Max and x > best) or \
                    (cls._sympy is sympy.Min and x < best):
                best = x
            if mpmath.isnan(best):
                break
        return best


@functools.lru_cache(maxsize=1024)
def _tie_share(node) -> sympy.Expr:
    """1 / (how many arguments of ``node`` equal its value): built once per reduction node, so
    the n partial derivatives share one count (n, not n^2, nodes)."""
    return 1 / sympy.Add(*[mask_eq(x, node) for x in node.args])


class max_of(_Extremum):  # noqa: N801
    """The max of the arguments (a max reduction); ties split the derivative equally."""

    _sympy = sympy.Max


class min_of(_Extremum):  # noqa: N801
    """The min of the arguments (a min reduction); ties split the derivative equally."""

    _sympy = sympy.Min


class max_shift(_Evaluated):  # noqa: N801
    """The largest finite argument (0 if none), held constant: derivative 0. exp(x - m) for
    this m never overflows, and softmax = exp(x - m) / sum(exp(x - m)) is exact for any m."""

    def fdiff(self, argindex=1):
        return ZERO

    def _eval_is_extended_real(self):
        return True

    @classmethod
    def _mp(cls, *xs):
        finite = [x for x in xs if mpmath.isfinite(x)]
        return max(finite) if finite else mpmath.mpf(0)


class minus(_Evaluated):  # noqa: N801
    """a - b, kept as one subtraction: inside a longer sum SymPy would merge and reorder the
    terms, and x - m - log(s) summed as (x - log(s)) - m loses every digit of x - m when x
    and m are ~1e300 (at 50 digits as in float64)."""

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            return a - b

    def fdiff(self, argindex=1):
        return ONE if argindex == 1 else -ONE

    def _eval_is_extended_real(self):
        return fuzzy_and(a.is_extended_real for a in self.args)

    @classmethod
    def _mp(cls, a, b):
        return a - b


@functools.lru_cache(maxsize=1024)
def shifted_exps(xs: tuple) -> tuple[sympy.Expr, tuple, sympy.Expr]:
    """(m, [exp(x_i - m)], sum_j exp(x_j - m)) for m = max_shift(xs): the parts of the
    softmax family, built once per line of elements (its n entries share the sum). The
    shifted exponentials are at most 1 and their sum at least 1 where the max is finite, so
    the float64 code neither overflows nor loses digits to a large logsumexp (x_i -
    logsumexp at x ~ 1e300 would keep none)."""
    m = max_shift(*xs)
    exps = tuple(sympy.exp(minus(x, m)) for x in xs)
    return m, exps, sympy.Add(*exps)


class logsumexp(_Evaluated):  # noqa: N801
    """log(exp(x1) + ... + exp(xn)); d/dxi = softmax_i = exp(xi - m) / sum exp(xj - m)."""

    @classmethod
    def eval(cls, *xs):
        if len(xs) == 1:
            return xs[0]

    def fdiff(self, argindex=1):
        _, exps, total = shifted_exps(self.args)
        return exps[argindex - 1] / total

    def _eval_is_extended_real(self):
        return fuzzy_and(a.is_extended_real for a in self.args)

    def _eval_rewrite_as_exp(self, *xs, **kwargs):
        return sympy.log(sympy.Add(*[sympy.exp(x) for x in xs]))

    @classmethod
    def _mp(cls, *xs):
        m = max_shift._mp(*xs)  # exact at any m; this one keeps exp in range
        return m + mpmath.log(mpmath.fsum(mpmath.exp(x - m) for x in xs))


# ---- NumPy implementations (float64) ------------------------------------------------------
def _np_mask(fn):
    def mask(a, b):
        return np.asarray(fn(a, b), dtype=np.float64)[()]
    return mask


def _np_select(taken: bool):
    def select(c, a):
        return np.where((np.asarray(c) != 0) == taken, a, 0.0)[()]
    return select


def _np_max_shift(*xs):
    # the largest finite element, 0 if none (as the primal's shift: see core/ops.py)
    x = np.asarray(np.broadcast_arrays(*xs), dtype=np.float64)
    m = np.max(np.where(np.isfinite(x), x, -np.inf), axis=0, initial=-np.inf)
    return np.where(np.isfinite(m), m, 0.0)[()]


def _np_logsumexp(*xs):
    # shifted by the largest finite element: never overflows
    x = np.asarray(np.broadcast_arrays(*xs), dtype=np.float64)
    m = _np_max_shift(*xs)
    with np.errstate(divide="ignore"):
        return (m + np.log(np.sum(np.exp(x - m), axis=0)))[()]


_MASKS = {"lt": mask_lt, "le": mask_le, "gt": mask_gt, "ge": mask_ge, "eq": mask_eq,
          "ne": mask_ne}
_NP_COMPARE = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
               "eq": np.equal, "ne": np.not_equal}
MASKS = tuple(_MASKS.values())
CLASSES = (*MASKS, select_if, select_unless, max_of, min_of, max_shift, minus, logsumexp)

NUMPY_FUNCTIONS = {
    **{cls.__name__: _np_mask(_NP_COMPARE[op]) for op, cls in _MASKS.items()},
    "select_if": _np_select(True), "select_unless": _np_select(False),
    "max_of": lambda *xs: functools.reduce(np.maximum, xs),  # nan propagates, as jnp.max
    "min_of": lambda *xs: functools.reduce(np.minimum, xs),
    "max_shift": _np_max_shift, "minus": np.subtract, "logsumexp": _np_logsumexp,
}
MPMATH_FUNCTIONS = {cls.__name__: cls._mp for cls in CLASSES}

# IR op -> SymPy function of scalars, for the elementwise ops (broadcast by the bridge)
SYMPY_MASKS = {**_MASKS, "select": select_if, "select_not": select_unless}
