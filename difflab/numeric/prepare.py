"""Finite differences' side of the one protocol (``prepare``, ``prepare_jacobian``,
``prepare_hessian``) and the one-shot ``grad`` and ``grad_with_error``.

Every preparation first checks numeric's budget (``budget``: evaluations x plan size).

f is evaluated at perturbed points of the plan (``_Perturbed``: the primal pass re-run from the
perturbed input's first use only), one input at a time, with the formula of ``schemes``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..core.evaluate import bind, clean_point, run_value
from ..core.expr import Expr
from ..core.plan import Plan, compile_plan
from ..core.shapes import infer_shapes
from ..protocol import Prepared, shaped
from .adaptive import adaptive_difference
from .budget import check_budget, check_max_work, plan_size
from .complex_step import non_analytic_op, run_complex
from .noise import rounding_noise
from .schemes import (
    _FORMULA,
    COMPLEX_STEP,
    DEFAULT_SCHEME,
    HESSIAN_STEP_FACTOR,
    MAX_STEPS,
    MIN_STEPS,
    RICHARDSON_LEVELS,
    STEP_FACTOR,
    check_levels,
    check_scheme,
    check_step,
    difference,
    evaluations,
    least_evaluations,
    step_size,
)


# ---- f at perturbed points of the plan ---------------------------------------------------
class _Perturbed:
    """f at a bound point with a few scalar components replaced, counting evaluations."""

    def __init__(self, plan: Plan, point: Mapping, wrt: Sequence[str], complex_step: bool):
        self.plan, self.complex_step, self.count = plan, complex_step, 0
        self.values = bind(plan, point)
        for name in wrt:  # private copies: components are written in place and restored
            slot = plan.var_slots[name]
            if isinstance(self.values[slot], np.ndarray):
                self.values[slot] = np.array(self.values[slot], dtype=np.float64)

    def __call__(self, changes: Sequence[tuple[int, int | None, float | complex]]):
        """f with component ``index`` of slot ``slot`` set to ``t`` for each change."""
        values, saved = self.values, []
        for slot, index, t in changes:
            old = values[slot]
            if index is None:
                saved.append((slot, None, old))
                values[slot] = t
            elif isinstance(t, complex):
                saved.append((slot, None, old))
                values[slot] = old.astype(np.complex128)
                values[slot].flat[index] = t
            else:
                saved.append((slot, index, old.flat[index]))
                old.flat[index] = t
        if self.complex_step:
            out = np.array(run_complex(self.plan, values)[self.plan.out])
        else:  # (a copy: the output may alias an input)
            out = np.array(run_value(self.plan, values))
        for slot, index, old in reversed(saved):
            if index is None:
                values[slot] = old
            else:
                values[slot].flat[index] = old
        self.count += 1
        return out

    def noise(self, f0) -> np.ndarray:
        """f's rounding error at the bound point, measured (two evaluations, counted)."""
        self.count += 2
        return rounding_noise(self.plan, self.values, f0)

    def components(self, wrt: Sequence[str]):
        """(name, slot, flat index or None, value) for every scalar input of ``wrt``."""
        for name in wrt:
            slot = self.plan.var_slots[name]
            value = self.values[slot]
            if isinstance(value, np.ndarray):
                for index, x in enumerate(value.flat):
                    yield name, slot, index, float(x)
            else:
                yield name, slot, None, value


# ---- the protocol ------------------------------------------------------------------------
def _checked(expr: Expr, wrt, shapes: Mapping) -> tuple[Plan, tuple, tuple[int, ...]]:
    plan = compile_plan(expr)
    wrt = tuple(wrt)
    for name in wrt:
        if name not in plan.var_slots:
            raise ValueError(f"cannot differentiate with respect to {name!r}: the expression "
                             f"depends only on {', '.join(plan.variables) or 'no variables'}")
    return plan, wrt, infer_shapes(plan, shapes)[plan.out]


def _resolve(plan: Plan, wrt: tuple, scheme: str, fallback: str | None) -> tuple[str, dict]:
    """The scheme actually used: complex step refuses non-analytic ops, or falls back."""
    check_scheme(scheme)
    if fallback is not None:
        check_scheme(fallback)
        if fallback == "complex":
            raise ValueError("fallback='complex' is no fallback: pick a real scheme")
    if scheme != "complex":
        return scheme, {}
    op = non_analytic_op(plan, wrt)
    if op is None:
        return scheme, {}
    if fallback is None:
        raise ValueError(f"complex step cannot differentiate {op}: not analytic (abs, relu, "
                         f"max and min have kinks); use another scheme or fallback='central'")
    return fallback, {"fallback": f"complex step refused ({op} is not analytic): used "
                                  f"{fallback}"}


def _step_at(name: str, index, x: float, scheme: str, step, factor=None) -> float:
    """``step_size`` with the input named in its message."""
    try:
        return step_size(x, scheme, step, factor)
    except ValueError as err:
        where = name if index is None else f"{name} (flat index {index})"
        raise ValueError(f"numeric, input {where}: {err}") from None


def _prepare_columns(expr, wrt, shapes, scheme, step, fallback, levels, max_work, scalar_only):
    plan, wrt, out_shape = _checked(expr, wrt, shapes)
    if scalar_only and out_shape != ():
        raise ValueError(f"the gradient needs a scalar expression; this one is not scalar: "
                         f"its shape is {out_shape} (use prepare_jacobian)")
    step, levels, max_work = check_step(step), check_levels(levels), check_max_work(max_work)
    used, note = _resolve(plan, wrt, scheme, fallback)
    n = sum(math.prod(shapes[name]) for name in wrt)
    least = least_evaluations(used, n, levels)
    per_input = f"at least {2 * MIN_STEPS} per input" if used == "adaptive" \
        else f"{_FORMULA.get(used, f'{2 * levels}n')} for n = {n:,} inputs"
    size = plan_size(plan, shapes)
    check_budget("Jacobian" if not scalar_only else "gradient", least, size, max_work,
                 per_input)
    if step is None:
        step_rule = f"{COMPLEX_STEP:g} * min(1, |x|)" if used == "complex" else \
            f"{STEP_FACTOR[used]:.3g} * max(1, |x|)"
    else:
        step_rule = step
    if used == "adaptive":
        step_rule = f"{step_rule}, halved {MIN_STEPS} to {MAX_STEPS} times"
    info = {"method": "numeric", "scheme": used, "inputs": n, "step": step_rule,
            "evaluations": evaluations(used, n, levels),
            "evaluations_formula": _FORMULA.get(used, f"{2 * levels}n ({levels} levels)"),
            "plan_size": size, "max_work": max_work, **note}
    if used == "adaptive":
        info["evaluations_least"] = least

    def columns(point: Mapping) -> dict:
        f = _Perturbed(plan, point, wrt, used == "complex")
        f0 = f(()) if used in ("forward", "backward", "adaptive") and n else None
        noise = f.noise(f0) if used == "adaptive" and n else None
        result = {name: np.zeros(out_shape + tuple(shapes[name])) for name in wrt}
        errors = {name: np.zeros_like(result[name]) for name in wrt} \
            if used in ("richardson", "adaptive") else None
        for name, slot, index, x in f.components(wrt):
            h = _step_at(name, index, x, used, step)
            f_at = lambda t, s=slot, i=index: f(((s, i, t),))
            if used == "adaptive":
                value, error, _ = adaptive_difference(f_at, x, f0, noise, step=h)
            else:
                value, error = difference(f_at, x, h, used, f0, levels)
            at = (...,) if index is None else (...,) + np.unravel_index(index, shapes[name])
            result[name][at] = value
            if errors is not None:
                errors[name][at] = error
        info["evaluations_last_call"] = f.count
        if errors is not None:
            info["error_estimate"] = {k: shaped(v, np.shape(v)) for k, v in errors.items()}
        return result

    return columns, info, out_shape


def prepare(expr: Expr, wrt: Sequence[str], shapes: Mapping, scheme: str = DEFAULT_SCHEME,
            step: float | None = None, fallback: str | None = None,
            levels: int = RICHARDSON_LEVELS, max_work: float | None = None) -> Prepared:
    """The gradient of a scalar expression by finite differences.

    Args:
        expr: the expression; wrt: names to differentiate by; shapes: every variable's shape.
        scheme: one of SCHEMES (default adaptive); step: an absolute step overriding the
            relative rule (for adaptive: its widest step), at most 2 max(1, |x|) at each x.
        fallback: for scheme="complex", the real scheme to use when the expression has a
            non-analytic op (abs, relu, max, min); None refuses with a ValueError.
        levels: Richardson's number of steps (h, h/2, ...).
        max_work: the budget, evaluations x plan size (default ``budget.MAX_WORK``).
    Returns:
        a Prepared giving {name: float or array of the variable's shape}; its info holds the
        scheme, the evaluation count per call and its formula, the last call's count and
        (adaptive, richardson) the last call's error estimate, {name: like the gradient}.
    Raises:
        NumericTooLarge: evaluations x plan size beyond ``max_work``.
    """
    columns, info, _ = _prepare_columns(expr, wrt, shapes, scheme, step, fallback, levels,
                                        max_work, True)
    return Prepared(lambda point: {k: shaped(v, v.shape) for k, v in columns(point).items()},
                    info)


def prepare_jacobian(expr: Expr, wrt: Sequence[str], shapes: Mapping,
                     scheme: str = DEFAULT_SCHEME, step: float | None = None,
                     fallback: str | None = None, levels: int = RICHARDSON_LEVELS,
                     max_work: float | None = None) -> Prepared:
    """The Jacobian by finite differences, one column per scalar input.

    Args: as ``prepare``; the expression may have any shape.
    Returns:
        a Prepared giving {name: array of shape output shape + variable's shape}.
    """
    columns, info, _ = _prepare_columns(expr, wrt, shapes, scheme, step, fallback, levels,
                                        max_work, False)
    return Prepared(columns, info)


def prepare_hessian(expr: Expr, wrt: Sequence[str], shapes: Mapping, scheme: str = "central",
                    step: float | None = None, max_work: float | None = None) -> Prepared:
    """The Hessian of a scalar expression by second central differences.

    H_ii = (f(x + h e_i) - 2 f(x) + f(x - h e_i)) / h^2 and, for i != j,
    H_ij = (f(++) - f(+-) - f(-+) + f(--)) / (4 h_i h_j): error O(h^2) + eps |f| / h^2, so
    h = eps^(1/4) * max(1, |x|). Costs 2n^2 + 1 evaluations for n scalar inputs.

    Args:
        expr, wrt, shapes: as ``prepare``; scheme: only "central" (second differences);
        step: an absolute step overriding the rule; max_work: as ``prepare``.
    Returns:
        a Prepared giving {a: {b: array of shape shape(a) + shape(b)}}.
    """
    if scheme != "central":
        raise ValueError(f"the numeric Hessian uses second central differences only: "
                         f"scheme={scheme!r} is not supported (use 'central')")
    plan, wrt, out_shape = _checked(expr, wrt, shapes)
    if out_shape != ():
        raise ValueError(f"the Hessian needs a scalar expression; this one is not scalar: "
                         f"its shape is {out_shape}")
    step, max_work = check_step(step), check_max_work(max_work)
    n = sum(math.prod(shapes[name]) for name in wrt)
    size = plan_size(plan, shapes)
    check_budget("Hessian", 2 * n * n + 1, size, max_work, f"2n^2 + 1 for n = {n:,} inputs")
    info = {"method": "numeric", "scheme": "central (second differences)", "inputs": n,
            "evaluations": 2 * n * n + 1, "evaluations_formula": "2n^2 + 1",
            "step": step if step is not None else f"{HESSIAN_STEP_FACTOR:.3g} * max(1, |x|)"}

    def hessian(point: Mapping) -> dict:
        f = _Perturbed(plan, point, wrt, False)
        f0 = float(f(()))
        inputs = [(slot, index, x, _step_at(name, index, x, "central", step,
                                            HESSIAN_STEP_FACTOR))
                  for name, slot, index, x in f.components(wrt)]
        flat = np.zeros((n, n))
        for i, (slot_i, index_i, x_i, h_i) in enumerate(inputs):
            plus = f(((slot_i, index_i, x_i + h_i),))
            minus = f(((slot_i, index_i, x_i - h_i),))
            flat[i, i] = ((plus - f0) + (minus - f0)) / (h_i * h_i)
            for j in range(i):
                slot_j, index_j, x_j, h_j = inputs[j]
                f_ss = [f(((slot_i, index_i, x_i + s_i * h_i), (slot_j, index_j, x_j + s_j * h_j)))
                        for s_i, s_j in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
                flat[i, j] = flat[j, i] = ((f_ss[0] - f_ss[1]) - (f_ss[2] - f_ss[3])) \
                    / (4.0 * h_i * h_j)
        info["evaluations_last_call"] = f.count
        result, start = {}, 0
        offsets = {}
        for name in wrt:
            offsets[name] = (start, start + math.prod(shapes[name]))
            start = offsets[name][1]
        for a in wrt:
            result[a] = {}
            for b in wrt:
                block = flat[offsets[a][0]:offsets[a][1], offsets[b][0]:offsets[b][1]]
                result[a][b] = shaped(block, tuple(shapes[a]) + tuple(shapes[b]))
        return result

    return Prepared(hessian, info)


# ---- one-shot ----------------------------------------------------------------------------
def _one_shot(expr: Expr, point: Mapping, wrt) -> tuple[dict, tuple, dict]:
    """A validated point, the names to differentiate by and the shapes, for one-shot calls."""
    if not isinstance(expr, Expr):
        raise TypeError(f"expected an expression, got {type(expr).__name__}")
    plan = compile_plan(expr)
    clean = clean_point(plan, point)
    names = plan.variables if wrt is None else (wrt,) if isinstance(wrt, str) else tuple(wrt)
    return clean, names, {name: np.shape(v) for name, v in clean.items()}


def grad(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None,
         scheme: str = DEFAULT_SCHEME, step: float | None = None, **options) -> dict:
    """The gradient of a scalar expression at ``point`` by finite differences.

    Args:
        expr: the expression; point: every variable -> float or array.
        wrt: names to differentiate by (default: all); scheme: one of SCHEMES;
        step: an absolute step; options: ``fallback``, ``levels``, ``max_work`` (see
        ``prepare``).
    Returns:
        {name: float or array of the variable's shape}.
    """
    from .. import api  # validation and the preparation cache live there, for every method

    return api.grad(expr, point, method="numeric", wrt=wrt, scheme=scheme, step=step, **options)


def grad_with_error(expr: Expr, point: Mapping, wrt: Sequence[str] | None = None,
                    step: float | None = None, levels: int = RICHARDSON_LEVELS,
                    scheme: str = DEFAULT_SCHEME) -> tuple:
    """The gradient with its error estimate: ({name: value}, {name: error}).

    Args: as ``grad``; scheme: "adaptive" (default) or "richardson", the schemes that
    estimate their error.
    """
    if scheme not in ("adaptive", "richardson"):
        raise ValueError(f"grad_with_error needs a scheme with an error estimate (adaptive or "
                         f"richardson), got scheme={scheme!r}")
    clean, names, shapes = _one_shot(expr, point, wrt)
    prepared = prepare(expr, names, shapes, scheme=scheme, step=step, levels=levels)
    return prepared(clean), prepared.info["error_estimate"]
