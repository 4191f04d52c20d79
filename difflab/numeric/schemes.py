"""Finite differences: derivatives from values of f alone.

Perturb one scalar input at a time and difference the results: one partial derivative per
input, each costing a few evaluations of the whole expression. That loop over inputs IS the
cost of the method (a gradient of n inputs costs about 2n evaluations of f), and the step h
trades truncation error (h^p for a scheme of order p) against rounding (eps |f| / h):

    forward    (f(x+h) - f(x)) / h                           O(h),   n + 1 evaluations
    backward   (f(x) - f(x-h)) / h                           O(h),   n + 1
    central    (f(x+h) - f(x-h)) / 2h                        O(h^2), 2n
    central4   (8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h    O(h^4), 4n
    richardson central differences at h, h/2, h/4 extrapolated to h -> 0 (Richardson's
               tableau), with an error estimate;             O(h^6), 6n (levels=3)
    complex    Im f(x + ih) / h with h = 1e-20 min(1, |x|): no subtraction, so no
               cancellation; exact to rounding, n evaluations in complex arithmetic, analytic
               f only.
    adaptive   central differences at h, h/2, h/4, ... (5 to 30 steps per input), Richardson's
               tableau over them, and per component the entry with the smallest error
               estimate (``adaptive``); about 16n evaluations, with an error estimate.

Balancing h^p against eps/h gives the step h = c * max(1, |x|) with c ~ eps^(1/(p+1)). The step
is rounded to a power of two and then to (x + h) - x, so x + h is exactly x plus the step the
formula divides by. A step given with ``step=`` is absolute (the same for every input); it must
be finite, positive and at most 2 max(1, |x|) (the adaptive scheme's own widest step) at every
input x: a wider one samples f far from the point.

The default scheme is ``adaptive``, chosen by measuring (tests/test_numeric_adaptive.py and the
benchmark's accuracy target repeat the measurements). A fixed step must guess the scale on
which f varies: central4's h = 1.9e-4 max(1, |x|) gets d/dx sin(1000 x) wrong by rho 6e-5,
and wide steps straddle kinks (on gradients of a small ReLU network at 40 random points,
richardson's 2.9e-3 was wrong beyond 1e-6 at 6 of them, central4 at 1). The adaptive scheme
finds the step per component, so it is right on both (rho < 1e-11 on sin(1000 x); within 1e-9 on
every smooth function of the scalar suite at 10 points each), at about four times central4's
cost. The fixed schemes stay as ``numeric:<scheme>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real

import numpy as np

from .adaptive import FIRST_STEP, MAX_SKIPS, MAX_STEPS, MIN_STEPS, adaptive_difference, first_step

EPS = float(np.finfo(np.float64).eps)
SCHEMES = ("forward", "backward", "central", "central4", "richardson", "complex", "adaptive")
DEFAULT_SCHEME = "adaptive"
NOT_ANALYTIC = ("abs", "relu", "max", "min", "reduce_max", "reduce_min")
COMPLEX_STEP = 1e-20
RICHARDSON_LEVELS = 3

# h = STEP_FACTOR[scheme] * max(1, |x|). Truncation C h^p against rounding eps |f| / h balances
# at h ~ eps^(1/(p+1)) when f's derivatives stay O(1). For analytic functions they grow like
# k!/r^k (r: the distance to the nearest singularity), so the higher the order the smaller the
# best constant; measured on eight functions at 24 points (exp, sin, log, atan, 1/(1+x^2),
# x^1.5, tanh, exp(x)/sqrt(sin^3 x + cos^3 x)), eps^(1/5)/4 for central4 gives a median
# relative error of 1e-13 and a worst of 7e-12, where eps^(1/5) gives 6e-13 and 2e-9.
# Richardson's largest step is h and its smallest h/4: eps^(1/7)/2 measured best (median 3e-14,
# worst 6e-13; 1e-2 is 30x worse at the worst point, 1e-3 4x).
STEP_FACTOR = {
    "forward": EPS ** (1 / 2),         # 1.5e-8
    "backward": EPS ** (1 / 2),
    "central": EPS ** (1 / 3),         # 6.1e-6
    "central4": EPS ** (1 / 5) / 4,    # 1.9e-4
    "richardson": EPS ** (1 / 7) / 2,  # 2.9e-3
    "complex": COMPLEX_STEP,           # absolute: no cancellation, so any tiny h works
    "adaptive": FIRST_STEP,            # the widest step; then halved, 5 to 30 times
}
# The complex step's floor: 2^-1064 (5e-321) keeps h / |x| under 1e-15 down to |x| = 5e-306
COMPLEX_FLOOR = 2.0 ** -1064


def complex_step(x: float) -> float:
    """The complex step at x: 1e-20 where |x| >= 1 or x = 0, else 1e-20 |x| (at least
    ``COMPLEX_FLOOR``). Its truncation error is (h/x)^2 relative at the scale of x, so a
    fixed 1e-20 at x = 1e-300 sampled sqrt far from x (7e9 for 5e149)."""
    if not math.isfinite(x) or x == 0.0 or abs(x) >= 1.0:
        return COMPLEX_STEP
    return max(COMPLEX_STEP * abs(x), COMPLEX_FLOOR)


# A step given by the user may be at most this times max(1, |x|): the adaptive scheme's own
# widest step. Beyond it the formula samples f far from the point.
MAX_STEP_FACTOR = FIRST_STEP
# Second differences: truncation h^2 against rounding eps/h^2 -> h ~ eps^(1/4).
HESSIAN_STEP_FACTOR = EPS ** (1 / 4)   # 1.2e-4

# Symmetric stencils: f' ~ sum_k w_k (f(x + k h) - f(x - k h)) / (denominator h). Pairing
# the symmetric values first subtracts nearly equal numbers exactly (Sterbenz).
SYMMETRIC = {"central": (((1, 1.0),), 2.0), "central4": (((1, 8.0), (2, -1.0)), 12.0)}


# ---- options -----------------------------------------------------------------------------
def check_scheme(scheme: str) -> str:
    """``scheme`` if known, else a ValueError listing the known schemes."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown finite-difference scheme {scheme!r}: known schemes are "
                         f"{', '.join(SCHEMES)}")
    return scheme


def check_step(step) -> float | None:
    """``step`` as a positive finite float (or None for the scheme's relative rule)."""
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, Real) or not math.isfinite(step) \
            or step <= 0:
        raise ValueError(f"step must be a positive finite number, got step={step!r}")
    return float(step)


def check_levels(levels) -> int:
    """Richardson's number of steps as an int in 1..10, else a ValueError naming it."""
    if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= 10:
        raise ValueError(f"levels must be an integer from 1 to 10, got levels={levels!r}")
    return levels


def evaluations(scheme: str, n: int, levels: int = RICHARDSON_LEVELS) -> int:
    """Evaluations of f one gradient or Jacobian costs with ``scheme`` for n scalar inputs
    (for ``adaptive``, which decides per input, the most it may take)."""
    per_input = {"forward": 1, "backward": 1, "central": 2, "central4": 4,
                 "richardson": 2 * levels, "complex": 1,
                 "adaptive": 2 * (MAX_SKIPS + MAX_STEPS)}[check_scheme(scheme)]
    return per_input * n + _shared(scheme, n)


def least_evaluations(scheme: str, n: int, levels: int = RICHARDSON_LEVELS) -> int:
    """The fewest evaluations ``scheme`` takes for n scalar inputs (all of them but for
    ``adaptive``: MIN_STEPS steps of two evaluations per input)."""
    if check_scheme(scheme) == "adaptive":
        return 2 * MIN_STEPS * n + _shared(scheme, n)
    return evaluations(scheme, n, levels)


def _shared(scheme: str, n: int) -> int:
    """Evaluations once per call: f(x) for the one-sided schemes; f(x) and the two rounding
    probes (``noise.rounding_noise``) for the adaptive scheme."""
    if not n:
        return 0
    return {"forward": 1, "backward": 1, "adaptive": 3}.get(scheme, 0)


_FORMULA = {"forward": "n + 1", "backward": "n + 1", "central": "2n", "central4": "4n",
            "complex": "n (complex arithmetic)",
            "adaptive": f"3 + 2sn, s = {MIN_STEPS}..{MAX_STEPS} steps per input "
                        f"(median 8 on the scalar suite)"}


def step_size(x: float, scheme: str = DEFAULT_SCHEME, step: float | None = None,
              factor: float | None = None) -> float:
    """The step for input value ``x``: c * max(1, |x|) as a power of two, then (x + h) - x.

    Args:
        x: the input's value.
        scheme: picks c from STEP_FACTOR (ignored when ``factor`` is given).
        step: an absolute step overriding the rule (still made exact against x).
        factor: c itself (the Hessian uses eps^(1/4)).
    Returns:
        h > 0 such that x + h is exactly representable and (x + h) - x == h.
    """
    if step is not None and math.isfinite(x) and step > MAX_STEP_FACTOR * max(1.0, abs(x)):
        raise ValueError(f"step={step!r} is too large at x={x!r}: a step may be at most "
                         f"{MAX_STEP_FACTOR:g} max(1, |x|) = "
                         f"{MAX_STEP_FACTOR * max(1.0, abs(x)):g} there (the step is absolute, "
                         f"the same for every input; a wider one samples f far from x)")
    if scheme == "complex" and factor is None:  # x + ih never rounds
        return step if step is not None else complex_step(x)
    if scheme == "adaptive" and factor is None:  # the widest step, as a power of two
        if not math.isfinite(x):
            return FIRST_STEP
        h = first_step(x, step)
        if (x + h) - x <= 0:
            raise ValueError(f"step={step!r} vanishes next to x={x!r} (x + step == x): use a "
                             f"larger step")
        return h
    if step is None:
        c = STEP_FACTOR[scheme] if factor is None else factor
        h = c * max(1.0, abs(x)) if math.isfinite(x) else c
        h = 2.0 ** round(math.log2(h))  # h/2, h/4 and 2h stay exact
    else:
        h = step
    if not math.isfinite(x):
        return h
    h_exact = (x + h) - x  # the classic trick: the step the arithmetic actually takes
    if h_exact <= 0:
        raise ValueError(f"step={h!r} vanishes next to x={x!r} (x + step == x): use a larger "
                         f"step")
    return h_exact


# ---- the difference formulas, for any f of one scalar ------------------------------------
def _richardson(f_at: Callable, x: float, h: float, levels: int):
    """Richardson's tableau on central differences at h, h/2, ...: (best value, error).

    The error estimate is the last correction |R[k][k] - R[k][k-1]| (it bounds the error of the
    previous, lower-order value) plus a bound on rounding carried through the same tableau.
    """
    table: list[list] = []
    noise: list[list] = []  # rounding bounds, combined as the tableau combines its values
    for i in range(levels):
        h_i = h / 2 ** i
        f_plus, f_minus = f_at(x + h_i), f_at(x - h_i)
        row = [(f_plus - f_minus) / (2.0 * h_i)]
        rounding = [EPS * np.maximum(np.abs(f_plus), np.abs(f_minus)) / h_i]
        for j in range(1, i + 1):
            # D = f' + a h^2 + b h^4 + ...: halving h divides the h^2j term by 4^j.
            row.append(row[j - 1] + (row[j - 1] - table[i - 1][j - 1]) / (4.0 ** j - 1.0))
            rounding.append(rounding[j - 1] + (rounding[j - 1] + noise[i - 1][j - 1])
                            / (4.0 ** j - 1.0))
        table.append(row)
        noise.append(rounding)
    best = table[-1][-1]
    correction = np.abs(best - table[-1][-2]) if levels > 1 else np.nan
    return best, correction + noise[-1][-1]


def difference(f_at: Callable, x: float, h: float, scheme: str, f0=None,
               levels: int = RICHARDSON_LEVELS):
    """One derivative by ``scheme``: (estimate, error estimate or None).

    Args:
        f_at: f as a function of the one perturbed input (may return an array).
        x: the input's value; h: the step (from ``step_size``).
        scheme: one of SCHEMES; f0: f(x), needed by forward and backward.
        levels: Richardson's number of step halvings.
    """
    if scheme == "adaptive":  # h is its widest step; it returns its error estimate
        value, error, _ = adaptive_difference(f_at, x, f_at(x) if f0 is None else f0, step=h)
        return value, error
    with np.errstate(all="ignore"):  # inf - inf at an overflow is nan, silently (IEEE)
        if scheme == "complex":
            return np.imag(f_at(complex(x, h))) / h, None
        if scheme == "richardson":
            return _richardson(f_at, x, h, levels)
        if scheme == "forward":
            return (f_at(x + h) - f0) / h, None
        if scheme == "backward":
            return (f0 - f_at(x - h)) / h, None
        pairs, denominator = SYMMETRIC[scheme]
        total = 0.0
        for k, w in pairs:
            total = total + w * (f_at(x + k * h) - f_at(x - k * h))
        return total / (denominator * h), None


def derivative(f: Callable, x: float, scheme: str = DEFAULT_SCHEME, step: float | None = None,
               levels: int = RICHARDSON_LEVELS) -> float:
    """f'(x) of a plain Python function of one float (complex: f must accept complex).

    Args:
        f: the function; x: where; scheme: one of SCHEMES; step: an absolute step.
    Returns:
        the estimate.
    """
    x, step, levels = float(x), check_step(step), check_levels(levels)
    h = step_size(x, check_scheme(scheme), step)
    value, _ = difference(f, x, h, scheme, f(x) if scheme in ("forward", "backward") else None,
                          levels)
    return value


def richardson(f: Callable, x: float, step: float | None = None,
               levels: int = RICHARDSON_LEVELS) -> tuple[float, float]:
    """f'(x) by Richardson extrapolation, with its error estimate: (value, error)."""
    x, step, levels = float(x), check_step(step), check_levels(levels)
    return _richardson(f, x, step_size(x, "richardson", step), levels)
