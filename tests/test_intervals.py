"""Intervals: the order-statistics interval of a median (against the binomial by hand and by
simulation), the bootstrap over repeats, and numbers printed to the digits their interval
supports."""

from __future__ import annotations

import math

import numpy as np
import pytest

from difflab.lab.intervals import (
    Interval,
    bootstrap,
    coverage,
    fmt,
    median_interval,
    order_ranks,
    round_to_interval,
    timing_interval,
)


def test_coverage_is_the_binomial_tail_by_hand():
    # n = 6, [min, max]: the median escapes only if all six fall on one side: 2 / 2^6
    assert coverage(6, 1) == 1 - 2 / 64
    assert coverage(5, 1) == 1 - 2 / 32                     # 93.75%: no 95% interval at 5
    # n = 9, [x(2), x(8)]: escapes if at most one of nine is below (or above): 2 (1 + 9) / 512
    assert coverage(9, 2) == pytest.approx(1 - 2 * 10 / 512, abs=1e-15)
    assert order_ranks(5) == (1, 0.9375)
    assert order_ranks(6) == (1, 0.96875)
    assert order_ranks(9)[0] == 2 and order_ranks(20)[0] == 6
    with pytest.raises(ValueError, match="k <= "):
        coverage(6, 4)


def test_the_interval_covers_the_median_as_often_as_it_says():
    rng = np.random.default_rng(7)
    for n in (6, 9):
        samples = rng.lognormal(0.0, 0.5, size=(4000, n))   # skewed, like timings; median 1
        hits = [median_interval(s).lo <= 1.0 <= median_interval(s).hi for s in samples]
        assert abs(np.mean(hits) - order_ranks(n)[1]) < 0.015, n


def test_median_interval_by_hand():
    iv = median_interval([5.0, 1.0, 4.0, 2.0, 3.0, 6.0])
    assert (iv.value, iv.lo, iv.hi, iv.n) == (3.5, 1.0, 6.0, 6)
    iv = median_interval([float(v) for v in range(1, 10)])   # nine: x(2) .. x(8)
    assert (iv.value, iv.lo, iv.hi) == (5.0, 2.0, 8.0)
    one = median_interval([2.5, float("nan")])
    assert (one.value, one.lo, one.hi, one.n) == (2.5, 2.5, 2.5, 1) and math.isnan(one.coverage)
    assert math.isnan(median_interval([]).value)


def test_a_time_interval_spans_at_least_the_drift_between_runs():
    steady = timing_interval([100.0, 100.5, 99.8, 100.2, 100.1, 99.9])   # ±0.35% by itself
    assert steady.value == pytest.approx(100.05)
    assert steady.lo == pytest.approx(100.05 * 0.95) and steady.hi == pytest.approx(100.05 * 1.05)
    noisy = timing_interval([100.0, 130.0, 90.0, 100.0, 105.0, 101.0])  # wider than the floor
    assert (noisy.lo, noisy.hi) == (90.0, 130.0)
    assert timing_interval([3.0]).lo == 3.0                              # one run: no interval


def test_bootstrap_of_a_ratio_and_of_an_undefined_figure():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 0.05, 6), rng.normal(2.0, 0.05, 6)
    iv = bootstrap(lambda med: med[1] / med[0], [a, b])
    assert iv.value == pytest.approx(np.median(b) / np.median(a))
    assert iv.lo < iv.value < iv.hi and 1.7 < iv.lo and iv.hi < 2.3 and iv.how == "bootstrap"
    assert bootstrap(lambda med: med[1] / med[0], [a, b]) == iv          # seeded: the same
    steady = bootstrap(lambda med: med[0], [[4.0] * 6])
    assert (steady.value, steady.lo, steady.hi) == (4.0, 4.0, 4.0)
    never = bootstrap(lambda med: None, [a, b])                           # e.g. no crossing
    assert math.isnan(never.value) and never.coverage == 0.0


def test_printed_to_the_digits_the_interval_supports():
    assert fmt(1.6344, 1.55, 1.71) == "1.63 (1.55–1.71)"
    assert fmt(17.9, 11.6, 30.2) == "18 (12–30)"
    assert fmt(10226.0, 9800.0, 10500.0) == "10200 (9800–10500)"
    assert fmt(0.9700, 0.6, 1.5) == "1.0 (0.6–1.5)"                      # not 1/1.03093
    assert fmt(3.43, 3.38, 3.51, "×") == "3.43 (3.38–3.51)×"
    assert fmt(1.84e-4, 1.70e-4, 2.00e-4) == "1.84e-04 (1.70e-04–2.00e-04)"
    assert fmt(0.0, -0.02, 0.03) == "0.00 (-0.02 to 0.03)"
    assert fmt(2.0, 2.0, 2.0) == "2"                                      # no interval
    assert round_to_interval(0.9700123, 0.6, 1.5) == "1.0"
    assert str(Interval(3.4321, 3.3, 3.6)) == "3.43 (3.30–3.60)"
    assert fmt(float("nan"), 0, 1) == "n/a"
