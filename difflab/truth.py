"""The reference ("truth"): SymPy derivatives evaluated by mpmath at 50 digits, then rounded.

Independent of ``symbolic``'s own chain rule: the derivative here is plain ``sympy.diff`` of
the expression (SymPy's rules for sums, products, powers and, per function, ``fdiff``). The
result is evaluated with ``lambdify(modules=mpmath)`` under ``mpmath.workdps(dps)``, the
inputs converted exactly from float64 (``mpmath.mpf(float)``), and each component rounded
once to float64 — so truth is the correctly rounded value, up to the 50-digit working error.

Outside a function's domain mpmath raises (1/0) or goes complex (log(-1), sqrt(-1)); the
result is then what IEEE float64 gives: a complex value becomes nan, and a component whose
mpmath evaluation raises is evaluated in NumPy float64 instead (1/0 -> inf, 0/0 -> nan).
Kinks follow JAX: d relu(0) = 0, d abs(0) = 0, d max at a tie 1/2, x ** y at x = 0 (see
``real_pow``); sign and Heaviside
differentiate to 0 (SymPy's DiracDelta is dropped), so Hessians at kinks are finite. Every
value is real, so |u| is ``real_abs`` with d|u| = sign(u) (SymPy's Abs, unsure that log(x) is
real, would differentiate through re/im).

``sympy.diff`` walks the expression tree, so the budget counts the scalar tree (times the
inputs differentiated by); bigger problems take JAX as their reference.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import mpmath
import numpy as np
import sympy
from sympy.simplify.cse_main import tree_cse
from sympy.utilities.iterables import numbered_symbols

from .core import sympy_bridge
from .core.evaluate import clean_point
from .core.expr import Expr
from .core.plan import compile_plan
from .core.shapes import infer_shapes, point_shapes
from .protocol import shaped
from .symbolic import (
    Clock,
    SymbolicTooLarge,
    check_budget,
    check_count,
    flat_args,
    input_symbols,
    layout,
)

DPS = 50
MAX_TREE = 50_000      # scalar tree nodes x inputs: sympy.diff took 7 s on 24,571 (l_12)
MAX_DEPTH = 150        # sympy.diff recurses over depth (a chain of 100 sin differentiates, of
#                        150 overflows; SymPy's evaluated constructors overflow near 500). It
#                        stays: symbolic's iterative chain rule would lift it, but then the
#                        truth would share the derivative code it is the reference for.
TIME_BUDGET = 60.0     # seconds for sympy.diff and CSE
_ERRORS = (ArithmeticError, ValueError, TypeError)  # what mpmath raises outside a domain

__all__ = ["TruthTooLarge", "NoTruth", "value", "gradient", "jacobian", "hessian", "DPS"]


class TruthTooLarge(SymbolicTooLarge):
    """The expression is too big for the 50-digit reference (use JAX as the reference)."""


class NoTruth(ValueError):
    """SymPy cannot give this derivative at 50 digits (a comparison with a complex value, a
    derivative it leaves unevaluated)."""


class real_abs(sympy.Function):  # noqa: N801 - lambdify prints the class name
    """|u| of a real u: d|u| = sign(u). SymPy's Abs, unsure that log(x) is real, would
    differentiate through re/im and atan2 and leave Derivative(sign(...)) unevaluated."""

    def fdiff(self, argindex=1):
        return real_sign(self.args[0])


class real_sign(sympy.Function):  # noqa: N801
    """sign(u) of a real u; flat away from 0, and JAX takes its derivative as 0 everywhere."""

    def fdiff(self, argindex=1):
        return sympy.S.Zero


class real_pow(sympy.Function):  # noqa: N801
    """x ** y with a varying exponent, differentiated as JAX does: d/dx = y * x ** (y - 1)
    and d/dy = log(x) * x ** y with log 0 taken as 0. SymPy's own rule, x ** y * y / x and
    log(x) * x ** y, is 0/0 or -inf * 0 at x = 0, where x ** 2 or x ** 1 are perfectly
    smooth: the truth would be nan where every method (and JAX) gives 0 or 1."""

    def fdiff(self, argindex=1):
        x, y = self.args
        if argindex == 1:
            return y * real_pow(x, y - 1)
        return log_or_zero(x) * self


class log_or_zero(sympy.Function):  # noqa: N801
    """log(x), and 0 at x = 0: the factor of d/dy x ** y (0 ** y is flat in y for y > 0)."""

    def fdiff(self, argindex=1):
        return 1 / self.args[0]


def _mp_log_or_zero(x):
    return mpmath.mpf(0) if x == 0 else mpmath.log(x)


def _np_log_or_zero(x):
    return np.log(np.where(x == 0, 1.0, x))


MPMATH_FUNCTIONS = {"real_abs": mpmath.fabs, "real_sign": mpmath.sign,
                    "real_pow": mpmath.power, "log_or_zero": _mp_log_or_zero}
NUMPY_FUNCTIONS = {"real_abs": np.abs, "real_sign": np.sign, "real_pow": np.power,
                   "log_or_zero": _np_log_or_zero}


def _varying_pow(e) -> bool:
    return e.is_Pow and not e.exp.is_Number


def _real(expr):
    """|u| as ``real_abs`` and x ** y (y not a number) as ``real_pow``: see their docstrings."""
    if expr.has(sympy.Abs):
        expr = expr.replace(sympy.Abs, real_abs)
    if expr.has(sympy.Pow):
        expr = expr.replace(_varying_pow, lambda e: real_pow(e.base, e.exp))
    return expr


def lambdify_shared(args: Sequence, exprs: Sequence, modules: list):
    """One function of ``args`` returning the list ``exprs``, common subexpressions computed
    once: SymPy's ``tree_cse`` without ``opt_cse`` (whose matching of common arguments is
    superlinear: 27 s on d l_24 of the logistic map against 0.2 s without), then lambdify."""
    replacements, reduced = tree_cse(list(exprs), numbered_symbols("_c", real=True),
                                     opt_subs={}, order="none")
    # SymPy's complex infinity (x/0 = zoo*x) has no printer and no real value: undefined, nan.
    zoo = {sympy.zoo: sympy.nan}
    replacements = [(s, e.xreplace(zoo) if e.has(sympy.zoo) else e) for s, e in replacements]
    reduced = [e.xreplace(zoo) if e.has(sympy.zoo) else e for e in reduced]
    return sympy.lambdify(list(args), reduced, modules=modules,
                          cse=lambda _: (replacements, reduced))


_MPMATH = [MPMATH_FUNCTIONS, sympy_bridge.mpmath_functions(), "mpmath"]
_NUMPY = [NUMPY_FUNCTIONS, sympy_bridge.NUMPY_FUNCTIONS, "numpy"]


class _Program:
    """Components sharing their common subexpressions, evaluated by mpmath (IEEE-guarded)."""

    def __init__(self, components: list, args: list):
        self.components, self.args = components, args
        self.fn = lambdify_shared(args, components, _MPMATH)
        self._single: dict[int, tuple] = {}

    def _component(self, i: int) -> tuple:
        """Component ``i`` alone, for mpmath and for NumPy (built on first need)."""
        if i not in self._single:
            alone = [self.components[i]]
            self._single[i] = tuple(lambdify_shared(self.args, alone, modules)
                                    for modules in (_MPMATH, _NUMPY))
        return self._single[i]

    def __call__(self, floats: list, dps: int) -> np.ndarray:
        with mpmath.workdps(dps):
            exact = [mpmath.mpf(float(v)) for v in floats]  # exact: a float64 is a binary mpf
            try:
                return np.array([_rounded(v) for v in self.fn(*exact)], dtype=np.float64)
            except _ERRORS:
                pass
            out = np.empty(len(self.components))
            for i in range(len(self.components)):
                mp_fn, np_fn = self._component(i)
                try:
                    out[i] = _rounded(mp_fn(*exact)[0])
                except _ERRORS:  # as IEEE float64 would have it: inf, nan
                    with np.errstate(all="ignore"):
                        out[i] = _rounded(np_fn(*floats)[0])
        return out


def _rounded(v) -> float:
    """An mpmath (or NumPy) result rounded to float64; complex (outside the domain: mpc,
    SymPy's I printed as 1j, a complex NumPy value) is nan, never its real part."""
    if isinstance(v, mpmath.mpc | complex) or np.iscomplexobj(v):
        return float("nan")
    return float(v)


def _no_dirac(expr):
    # JAX differentiates sign and the relu/max kinks as flat: DiracDelta -> 0.
    if expr.has(sympy.DiracDelta):
        return expr.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
    return expr


@functools.lru_cache(maxsize=128)
def _prepare(kind: str, expr: Expr, wrt: tuple, shape_key: tuple, max_tree: int,
             max_depth: int, time_budget: float) -> tuple:
    """(program, variable names, unpack) for one kind of result; cached per (expr, wrt,
    shapes)."""
    shapes = dict(shape_key)
    n_inputs = sum(int(np.prod(shapes[name], dtype=int)) for name in wrt)
    inputs_cost = {"value": 1, "gradient": n_inputs, "jacobian": n_inputs,
                   "hessian": n_inputs * (n_inputs + 1)}[kind]
    size = check_budget(expr, shapes, max_nodes=max_tree, max_depth=max_depth, what="truth",
                        tree=True, inputs=inputs_cost, option="max_tree", error=TruthTooLarge)
    plan = compile_plan(expr)
    out_shape = infer_shapes(plan, shapes)[plan.out]
    if kind in ("gradient", "hessian") and out_shape != ():
        raise ValueError(f"the {kind} needs a scalar expression; this one has shape "
                         f"{out_shape}")
    names = expr.variables
    symbols = input_symbols(names, shapes)
    args = [s for name in names for s in symbols[name].ravel()]
    clock = Clock(time_budget, "truth", TruthTooLarge)
    try:
        outputs = [_real(o) for o in sympy_bridge.to_sympy_arrays(expr, shapes, symbols).ravel()]
        if kind == "value":
            components = outputs

            def unpack(flat):
                return shaped(flat, out_shape)
        else:
            inputs = [x for name in wrt for x in symbols[name].ravel()]
            matrix = _derivatives(kind, outputs, inputs, clock)
            components, unpack = layout(kind, matrix, wrt, shapes, out_shape)
            left = next((c for c in components if c.has(sympy.Derivative)), None)
            if left is not None:  # e.g. d2 |where(x >= a, x, acos(x))|: Abs of a Piecewise
                raise NoTruth(f"truth: SymPy leaves a derivative unevaluated "
                              f"({str(left.atoms(sympy.Derivative).pop())[:120]}), so there is "
                              f"no 50-digit value")
        program = _Program(components, args)
    except RecursionError:
        raise TruthTooLarge(f"too deep for truth: SymPy's recursion overflowed at depth "
                            f"{size.depth} (limit {max_depth})") from None
    except (SymbolicTooLarge, NoTruth):  # the time budget, or said above: as it is
        raise
    except (TypeError, ValueError) as err:  # e.g. max(x, sqrt(-1)): x > I has no truth value
        raise NoTruth(f"truth: SymPy cannot differentiate this expression at 50 digits "
                         f"({type(err).__name__}: {str(err)[:120]})") from None
    return program, names, unpack


def _derivatives(kind: str, outputs: list, inputs: list, clock: Clock) -> list:
    """``sympy.diff``: [i][j] = d outputs[i] / d inputs[j], or for a Hessian of the single
    output d2 f / d inputs[i] d inputs[j] (computed for i <= j and mirrored)."""

    def d(expr, free_symbols, x):
        clock.check("differentiating")
        return _no_dirac(sympy.diff(expr, x)) if x in free_symbols else sympy.S.Zero

    rows = [[d(o, o.free_symbols, x) for x in inputs] for o in outputs]
    if kind != "hessian":
        return rows
    first = rows[0]
    second = [[sympy.S.Zero] * len(inputs) for _ in inputs]
    for i, g in enumerate(first):
        free = g.free_symbols
        for j in range(i, len(inputs)):
            second[i][j] = second[j][i] = d(g, free, inputs[j])
    return second


def _run(kind: str, expr: Expr, point: Mapping, wrt, dps: int, max_tree: int,
         max_depth: int, time_budget: float):
    if not isinstance(expr, Expr):
        raise TypeError(f"truth: expected an expression, got {type(expr).__name__}")
    check_count(expr, max_tree, "truth", "max_tree", TruthTooLarge)
    plan = compile_plan(expr)
    clean = clean_point(plan, point)
    wrt = expr.variables if wrt is None else ((wrt,) if isinstance(wrt, str) else tuple(wrt))
    for name in wrt:
        if name not in clean:
            raise ValueError(f"cannot differentiate with respect to {name!r}: the expression "
                             f"depends only on {', '.join(expr.variables) or 'no variables'}")
    shape_key = tuple(sorted(point_shapes(clean).items()))
    program, names, unpack = _prepare(kind, expr, wrt, shape_key, int(max_tree),
                                      int(max_depth), float(time_budget))
    return unpack(program(flat_args(clean, names), dps))


def value(expr: Expr, point: Mapping, dps: int = DPS, *, max_tree: int = MAX_TREE,
          max_depth: int = MAX_DEPTH, time_budget: float = TIME_BUDGET):
    """The value of ``expr`` at ``point``, computed at ``dps`` digits and rounded to float64.

    Args:
        expr: the expression.
        point: maps every variable to a float or an array.
        dps: working precision in decimal digits.
        max_tree, max_depth, time_budget: the budget (scalar tree nodes, depth, seconds).
    Returns:
        a float for a scalar expression, else a float64 array of its shape.
    Raises:
        TruthTooLarge: beyond the budget (a ValueError).
    """
    return _run("value", expr, point, (), dps, max_tree, max_depth, time_budget)


def gradient(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None, dps: int = DPS, *,
             max_tree: int = MAX_TREE, max_depth: int = MAX_DEPTH,
             time_budget: float = TIME_BUDGET) -> dict:
    """The gradient of a scalar ``expr`` at ``point``, at ``dps`` digits, rounded to float64.

    Args:
        expr: a scalar-valued expression.
        point: maps every variable to a float or an array.
        wrt: the variables to differentiate by (default: all).
        dps, max_tree, max_depth, time_budget: as ``value``.
    Returns:
        {name: float or array of that variable's shape}.
    """
    return _run("gradient", expr, point, wrt, dps, max_tree, max_depth, time_budget)


def jacobian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None, dps: int = DPS, *,
             max_tree: int = MAX_TREE, max_depth: int = MAX_DEPTH,
             time_budget: float = TIME_BUDGET) -> dict:
    """The Jacobian of ``expr``: {name: array of shape out_shape + shape(name)}.

    Arguments as ``gradient``.
    """
    return _run("jacobian", expr, point, wrt, dps, max_tree, max_depth, time_budget)


def hessian(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None, dps: int = DPS, *,
            max_tree: int = MAX_TREE, max_depth: int = MAX_DEPTH,
            time_budget: float = TIME_BUDGET) -> dict:
    """The Hessian of a scalar ``expr``: {a: {b: array of shape(a) + shape(b)}}.

    Arguments as ``gradient``.
    """
    return _run("hessian", expr, point, wrt, dps, max_tree, max_depth, time_budget)
