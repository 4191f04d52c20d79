"""The adaptive scheme: many steps, Richardson's tableau over them, the estimate with the
smallest error estimate (numdifftools' approach), and that error estimate.

No single step suits every function: h ~ 1e-4 is fine for sin(x) and hopeless for sin(1000 x),
whose derivatives grow like 1000^k. So each input is differenced at a geometric sequence of
steps, widest first,

    h_k = h_0 / e^k,   h_0 = 2 max(1, |x|) rounded down to a power of two,
    D_k = (f(x + h_k) - f(x - h_k)) / (2 h_k) = f' + a_1 h_k^2 + a_2 h_k^4 + ...

(dividing by the spacing actually taken, (x + h_k) - (x - h_k)), and Richardson's tableau
removes the h^2, h^4, ... terms of neighbouring differences (r = e, the ratio of the steps):

    T[k][0] = D_k,   T[k][j] = T[k][j-1] + (T[k][j-1] - T[k-1][j-1]) / (r^(2j) - 1),  j <= ORDER.

Each entry T[k][j] gets an error estimate from its neighbours of the same order,

    E[k][j] = max(|T[k][j] - T[k-1][j]| / (r^(2j+2) - 1),  the correction T[k][j+1] would apply
                  |T[k+1][j] - T[k][j]|)                  the next, more accurate step's verdict
              + rounding of T[k][j] (eps |f| / h_k carried through the tableau),

and each component keeps the entry with the smallest E. While the step is too wide for f (it
straddles a kink, a pole or many periods) neighbouring entries disagree and E is large; while
it is too narrow, rounding makes them disagree; in between they agree to many digits. The
forward term matters: an entry is trusted only if the next step confirms it (where f vanishes
at the widest steps, exp(-30 x^2) say, the first few differences agree on 0).

Why e and not 2: with an integer ratio a period p of f that is close to h_0 / 2^m makes every
wider step a near multiple of p, so f(x +- h_k) repeats f(x +- eps_k) with eps_k shrinking
geometrically, and the tableau converges, confidently, to a wrong limit (sin(100 x): 100/16 =
6.25 ~ 2 pi; with ratio 2 the estimate was wrong at 12 of 20 random points, and at 47 of 330
points of sin(a x) for 31 frequencies a from 10 to 1e6; numdifftools' ratio-2 steps share
this). An irrational ratio never lines up with a period over several steps: 2 of 330.

The sequence stops once the rounding of the plain difference at the current step,
``noise / h_k``, exceeds the best error estimate found: narrower steps can only be noisier.
``noise`` is how far f itself is from its exact value. Values of f alone cannot tell (where
f = softplus(x) - x cancels to 2e-9 out of 20, f is known to 4e-15 only, and very narrow
steps see a staircase of equal values whose differences "agree" on 0), so ``rounding_noise``
measures it: f re-evaluated with every operation's result off by one eps (two sign
patterns); the change is about the rounding error that the computation amplifies (the
cancellation above, the 1000 of sin(1000 x)). That noise decides when to stop and is added
to the reported error estimate; the choice among entries uses eps |f| / h, which is the
better guess when the measured noise is pessimistic.

Cost: 2 evaluations per step. At least MIN_STEPS steps, at most MAX_STEPS once f is finite
(and up to MAX_SKIPS steps 16x apart before, while f(x +- h) is not finite: sqrt(x) at
x = 1e-10 needs h < 1e-10). Measured on the 42 functions of the scalar suite and sin(1000 x)
at 10 points each (660 components): median 7 steps (14 evaluations) per component, mean 7.6,
90% at most 11, the largest 30 (where f(x) = f'(x) = 0 nothing is noisy enough to stop); plus
f(x) and the two noise probes, once per call. numdifftools' default takes 15 steps (30
evaluations) per component. A gradient's components run in Python floats, a Jacobian's
columns as arrays over the outputs (``_Tableau``): the same steps, the same choices.

Limits: an error estimate is an estimate. It bounded the actual error at 659 of those 660
components (the other: 2.5e-14 against 2.4e-14). A kink closer to x than ~1e-7 max(1, |x|),
or a period below ~1e-12 max(1, |x|), is beyond the narrowest steps: the differences then
converge to the one-sided or aliased value and the estimate does not see it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import mul

import numpy as np

EPS = float(np.finfo(np.float64).eps)
_SQRT_EPS = math.sqrt(EPS)
RATIO = math.e      # h_{k+1} = h_k / RATIO: irrational, so no period of f aliases (see above)
ORDER = 6           # Richardson levels: T[k][6] is exact for polynomials of degree 13
MIN_STEPS = 5
MAX_STEPS = 30      # finite steps: a span of 2^30 ~ 1e9 below the first
SKIP = 16.0         # the ratio while f(x +- h) is not finite
MAX_SKIPS = 12
FIRST_STEP = 2.0    # h_0 = 2^floor(log2(FIRST_STEP * max(1, |x|)))
REFUTE = 10.0       # a narrower estimate this many error estimates away overrules a wider one

_J = np.arange(ORDER + 1)
_C = (RATIO ** (2.0 * (_J + 1)) - 1.0)[:, None]   # r^(2j+2) - 1: T[k][j+1]'s divisor


def _weights() -> np.ndarray:
    """W[j, l]: the weight of D_{k-l} in T[k][j], from the recurrence run on unit impulses."""
    w = np.zeros((ORDER + 1, ORDER + 1))
    for lag in range(ORDER + 1):
        d = [1.0 if r == ORDER - lag else 0.0 for r in range(ORDER + 1)]  # rows k-ORDER .. k
        prev: list = []
        for r in range(ORDER + 1):
            row = [d[r]]
            for j in range(1, r + 1):
                row.append(row[j - 1] + (row[j - 1] - prev[j - 1]) / _C[j - 1, 0])
            prev = row
        w[:, lag] = prev
    return w


_W = _weights()              # T row = _W @ (D_k, D_{k-1}, ...)
_ABS_W = np.abs(_W)          # rounding bounds combine with |weights|
_USES = (_W != 0).astype(float)


def first_step(x: float, step: float | None = None) -> float:
    """The widest step h_0: ``step`` (if given) or 2 max(1, |x|), down to a power of two."""
    widest = FIRST_STEP * max(1.0, abs(x)) if step is None else step
    return 2.0 ** math.floor(math.log2(min(widest, 2.0 ** 1023)))  # (finite near 1e308)


class _Tableau:
    """The last ORDER + 1 differences of every component and the rows they make.

    Rows are (ORDER + 1, m) arrays: entry [j, i] is T[k][j] of component i. A difference that
    is not finite (f outside its domain at x +- h) spoils exactly the entries that use it.
    """

    def __init__(self, m: int):
        self.d = np.zeros((ORDER + 1, m))            # D_k, D_{k-1}, ... (0 where not finite)
        self.bad = np.zeros((ORDER + 1, m))          # 1 where that D was not finite
        self.noise = np.zeros((ORDER + 1, 2 * m))    # its rounding: eps |f| / h, measured / h
        self.steps = 0
        self.rows: list = []  # (T, noise, spread of T[k] - T[k-1]) of the last two steps

    def push(self, d: np.ndarray, low: np.ndarray, measured: np.ndarray) -> None:
        """Add D_k (with its two rounding bounds) and compute row k."""
        m = d.shape[0]
        finite = np.isfinite(d)
        for window, new in ((self.d, np.where(finite, d, 0.0)), (self.bad, ~finite),
                            (self.noise, np.concatenate([low, measured]))):
            window[1:] = window[:-1]
            window[0] = new
        self.steps += 1
        valid = (_J < self.steps)[:, None] & ~(_USES @ self.bad > 0)
        t = np.where(valid, _W @ self.d, np.nan)
        noise = _ABS_W @ self.noise
        delta = np.abs(t - self.rows[-1][0]) if self.rows else np.full_like(t, np.nan)
        self.rows = self.rows[-1:] + [(t, (noise[:, :m], noise[:, m:]), delta)]

    def judge(self, best: _Best) -> None:
        """Error estimates for row k-1, now that row k confirms or refutes it."""
        (t, noise, delta), forward = self.rows[-2], self.rows[-1][2]
        backward = delta / _C  # T[k-1][j] - T[k-2][j], scaled: the correction T[.][j+1] makes
        # where T[k-2][j] does not exist (the column's first entry) the row's own last
        # correction |T[k-1][j] - T[k-1][j-1]| stands in
        own = np.empty_like(t)
        own[0] = np.inf
        own[1:] = np.abs(t[1:] - t[:-1])
        spread = np.maximum(forward, np.where(np.isnan(backward), own, backward))
        best.offer(t, spread + noise[0], spread + noise[1])


class _Best:
    """Per component the entry with the smallest error estimate so far."""

    def __init__(self, m: int):
        self.value = np.full(m, np.nan)
        self.pick = np.full(m, np.inf)     # the estimate the choice minimises
        self.error = np.full(m, np.inf)    # the estimate reported (with the measured noise)
        self._cols = np.arange(m)
        self.newest = np.full(m, np.nan)

    def offer(self, values, pick, error) -> None:
        """Entries (ORDER + 1, m) of one step: keep the best of them where its ``pick``
        beats the best so far, or where it overrules that (``_apart``)."""
        pick = np.where(np.isfinite(pick) & np.isfinite(values), pick, np.inf)
        j = np.argmin(pick, axis=0)
        candidate = pick[j, self._cols]
        value = values[j, self._cols]
        self.newest = value                # this step's own best entry (see _apart)
        better = (candidate < self.pick) | _apart(value, self.value, candidate + self.pick)
        self.value = np.where(better, values[j, self._cols], self.value)
        self.error = np.where(better, error[j, self._cols], self.error)
        self.pick = np.where(better, candidate, self.pick)


def _apart(a, b, error):
    """``a`` and ``b`` (floats or arrays) differ by more than REFUTE times ``error`` and by
    more than sqrt(eps) on the rho scale (nan anywhere: not apart).

    Two uses. A narrower step's estimate overrules the best one when they are apart beyond
    both their error estimates: f is not smooth over the wider steps. (Where the widest steps
    cross a kink, f(x + h) and f(x - h) can be equal, max(x / (x^2 + 0.5)) at x = [-0.92,
    0.89, 0.80] say: their differences agree on exactly 0 with an error estimate of ~1e-16,
    better than any honest one, until the steps are inside the kink.) And the sequence of
    steps goes on while the newest step's estimate is apart from the best beyond the best's
    error estimate, unsure as it still is, until a narrower one settles it (or MAX_STEPS)."""
    gap = abs(a - b)
    return (gap > REFUTE * error) & (gap > _SQRT_EPS * np.maximum(1.0, np.maximum(abs(a),
                                                                                 abs(b))))


def adaptive_difference(f_at: Callable, x: float, f0, noise=0.0, step: float | None = None):
    """f'(x) by the adaptive scheme: (value, error estimate, evaluations of f).

    Args:
        f_at: f as a function of the one input (a float or an array of any fixed shape).
        x: the input's value; f0: f(x).
        noise: the absolute rounding error of f near x (``rounding_noise``), f0's shape or
            a scalar; 0 when unknown (then eps |f| stands in).
        step: the widest step h_0 (default 2 max(1, |x|) as a power of two).
    Returns:
        value and error estimate with f0's shape (floats for a scalar f), and the count.
    """
    f0 = np.asarray(f0, dtype=np.float64)
    shape, m = f0.shape, max(1, f0.size)
    if f0.size == 0:  # an empty output: nothing to differentiate, no evaluation needed
        return np.zeros(shape), np.zeros(shape), 0
    if not math.isfinite(x):
        nan = np.full(shape, np.nan)
        return (float(nan), np.inf, 0) if shape == () else (nan, np.full(shape, np.inf), 0)
    if shape == ():  # a gradient's component: the same steps in Python floats, 5x faster
        return _scalar_difference(f_at, x, float(f0), float(np.nan_to_num(noise)),
                                  first_step(x, step))
    f0, noise = f0.reshape(m), np.broadcast_to(np.asarray(noise, float), shape).reshape(m)
    best = _Best(m)
    h, count, skips = first_step(x, step), 0, 0
    table = _Tableau(m)
    with np.errstate(all="ignore"):
        noise = np.where(np.isnan(noise), 0.0, noise)  # (a probe that failed says nothing)
        ignore = ~np.isfinite(f0)  # components that are not finite at x: nothing to wait for
        while table.steps < MAX_STEPS:
            x_plus, x_minus = x + h, x - h  # (exact while h >= ulp(x); else rounded:
            if x_plus == x or x_minus == x:  # the quotient divides by the spacing taken)
                break
            f_plus = np.asarray(f_at(x_plus), dtype=np.float64).reshape(m)
            f_minus = np.asarray(f_at(x_minus), dtype=np.float64).reshape(m)
            count += 2
            d = (f_plus - f_minus) / (x_plus - x_minus)
            if not table.steps and not np.isfinite(d).any():  # nothing finite yet: move fast
                skips += 1
                if skips > MAX_SKIPS:
                    break
                h /= SKIP
                continue
            size = np.maximum(np.maximum(np.abs(f_plus), np.abs(f_minus)), np.abs(f0))
            measured = np.maximum(EPS * size, noise) / h
            table.push(d, EPS * size / h, measured)  # eps |f| / h: the last rounding of f
            if table.steps >= 2:
                table.judge(best)
            unsettled = _apart(best.newest, best.value, best.pick)
            if table.steps >= MIN_STEPS and np.all(((measured >= best.pick) & ~unsettled)
                                                   | ignore):
                break  # narrower steps are noisier than the best estimate already is
            h /= RATIO
    return _out(best.value, best.error, shape) + (count,)


def _out(value: np.ndarray, error: np.ndarray, shape: tuple) -> tuple:
    return value.reshape(shape), error.reshape(shape)


_W_ROWS = [[float(w) for w in row[:j + 1]] for j, row in enumerate(_W)]
_ABS_W_ROWS = [[abs(w) for w in row] for row in _W_ROWS]
_C_LIST = [float(c) for c in _C[:, 0]]


def _scalar_difference(f_at: Callable, x: float, f0: float, noise: float, h: float) -> tuple:
    """``adaptive_difference`` for a scalar f, step for step the same, in Python floats."""
    inf = math.inf
    noise = noise if math.isfinite(noise) else (0.0 if noise != noise else inf)
    with np.errstate(all="ignore"):  # (f may be NumPy code stepping out of its domain)
        return _scalar_steps(f_at, x, f0, noise, h)


def _scalar_steps(f_at: Callable, x: float, f0: float, noise: float, h: float) -> tuple:
    nan, inf = math.nan, math.inf
    best_value, best_pick, best_error = nan, inf, inf
    row_value = nan     # the newest judged step's own best entry
    d_win: list = []    # D_k, D_{k-1}, ... (newest first)
    low_win: list = []    # their rounding: eps |f| / h ...
    measured_win: list = []  # ... and the measured noise / h
    prev_t = prev_delta = prev_noise = None
    count = skips = steps = 0
    finite_f0 = math.isfinite(f0)
    while steps < MAX_STEPS:
        x_plus, x_minus = x + h, x - h
        if x_plus == x or x_minus == x:
            break
        f_plus, f_minus = float(f_at(x_plus)), float(f_at(x_minus))
        count += 2
        try:
            d = (f_plus - f_minus) / (x_plus - x_minus)
        except (OverflowError, ZeroDivisionError):
            d = nan
        if not steps and not math.isfinite(d):
            skips += 1
            if skips > MAX_SKIPS:
                break
            h /= SKIP
            continue
        steps += 1
        size = max(abs(f_plus), abs(f_minus), abs(f0))
        if size != size:  # (max() is order-dependent with nan; the vector path is not)
            size = nan
        measured = max(EPS * size, noise) / h if size == size else nan
        d_win = [d] + d_win[:ORDER]
        low_win = [EPS * size / h] + low_win[:ORDER]
        measured_win = [measured] + measured_win[:ORDER]
        bad = next((lag for lag, v in enumerate(d_win) if not math.isfinite(v)), ORDER + 1)
        width = min(steps, ORDER + 1, bad)
        t = [sum(map(mul, _W_ROWS[j], d_win)) for j in range(width)]
        t += [nan] * (ORDER + 1 - width)
        t_noise = [(sum(map(mul, w, low_win)), sum(map(mul, w, measured_win)))
                   for w in _ABS_W_ROWS]
        delta = [abs(a - b) for a, b in zip(t, prev_t, strict=True)] if prev_t \
            else [nan] * (ORDER + 1)
        if prev_t is not None:  # judge row k-1 (see _Tableau.judge)
            row_value, row_pick, row_error = nan, inf, inf
            for j in range(ORDER + 1):
                forward = delta[j]
                backward = prev_delta[j] / _C_LIST[j]
                if backward != backward:
                    backward = abs(prev_t[j] - prev_t[j - 1]) if j else inf
                if forward != forward or backward != backward:
                    continue
                spread = max(forward, backward)
                pick = spread + prev_noise[j][0]
                if math.isfinite(pick) and math.isfinite(prev_t[j]) and pick < row_pick:
                    row_value, row_pick = prev_t[j], pick
                    row_error = spread + prev_noise[j][1]
            if row_pick < best_pick or _apart(row_value, best_value, row_pick + best_pick):
                best_value, best_pick, best_error = row_value, row_pick, row_error
        prev_t, prev_delta, prev_noise = t, delta, t_noise
        if steps >= MIN_STEPS and (measured >= best_pick or not finite_f0) and \
                not _apart(row_value, best_value, best_pick):
            break
        h /= RATIO
    return best_value, best_error, count
