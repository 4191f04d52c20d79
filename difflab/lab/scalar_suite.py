"""The scalar suite: 42 functions of 1-6 variables, each with a textbook point and a domain.

Each case is a formula (grammar text, parsed once per build) with a reference point — the
point an experiment uses at seed 0, e.g. Squire–Trapp at x = 1.5 — and a box per variable
from which other seeds draw points. Boxes keep every function finite and stay clear of its
kinks and poles, so the derivative is defined everywhere they reach. The cases cover: smooth
compositions, rational functions, a zero derivative, huge and tiny magnitudes, kinks, the
sigmoid/softplus/log1p/expm1 family, inverse trig and hyperbolic functions, cancellation
(where float64 itself loses digits), and functions of up to six variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..core.expr import Expr
from ..core.parser import parse
from ..core.printer import to_text
from .families import build_logistic_map

Box = tuple[float, float]


@dataclass(frozen=True)
class ScalarCase:
    """One function of the suite."""

    name: str
    formula: str | Callable[[], Expr]   # grammar text, or a builder for what text can't say
    at: dict[str, float]                # the reference point (seed 0)
    domain: dict[str, Box]              # per variable: the box other seeds draw from
    summary: str                        # what the case is for

    def build(self) -> Expr:
        return parse(self.formula) if isinstance(self.formula, str) else self.formula()

    def sample(self, rng: np.random.Generator, params: dict) -> dict:
        """Each variable uniform in its box (sorted names, so a seed gives one point)."""
        return {n: float(rng.uniform(*self.domain[n])) for n in sorted(self.domain)}

    def reference(self, params: dict) -> dict:
        return dict(self.at)

    @property
    def description(self) -> str:
        text = self.formula if isinstance(self.formula, str) else to_text(self.formula())
        at = ", ".join(f"{n}={v:g}" for n, v in self.at.items())
        return f"{self.summary}: {text} (reference point {at})"


def _case(name: str, formula, at: dict, domain, summary: str) -> ScalarCase:
    """A case; ``domain`` is one box for every variable or a dict of boxes."""
    if not isinstance(domain, dict):
        domain = {n: domain for n in at}
    return ScalarCase(name, formula, dict(at), dict(domain), summary)


W = (-2.0, 2.0)  # the default box

SCALAR_CASES: tuple[ScalarCase, ...] = (
    # -- the two classics of the finite-difference literature
    _case("squire_trapp", "exp(x) / sqrt(sin(x)**3 + cos(x)**3)", {"x": 1.5}, (-0.5, 2.2),
          "Squire & Trapp (1998), the complex-step test function"),
    _case("logistic4", partial(build_logistic_map, 4), {"x": 0.2}, (0.05, 0.95),
          "logistic map l_4, l_1 = x, l_{k+1} = 4 l_k (1 - l_k)"),
    # -- zero derivatives
    _case("stationary_cubic", "x**3 - 3*x", {"x": 1.0}, W, "derivative 0 at x = 1"),
    _case("double_root", "(x - 1)**2 * exp(x)", {"x": 1.0}, W, "double root, derivative 0"),
    _case("pythagoras", "sin(x)**2 + cos(x)**2", {"x": 0.7}, (-3.0, 3.0),
          "constant 1: the derivative is 0 everywhere, rounding decides what a method returns"),
    # -- magnitudes
    _case("exp_large", "exp(50*x)", {"x": 1.0}, (0.5, 1.5), "huge value, ~5e21"),
    _case("quadratic_tiny", "1e-8 * x**2", {"x": 0.7}, W, "tiny value, ~5e-9"),
    _case("gaussian_tail", "exp(-30 * x**2)", {"x": 1.0}, (-1.2, 1.2), "tiny tail, ~1e-13"),
    _case("rational_huge", "1e10 / (1 + x**2)", {"x": 0.5}, (-3.0, 3.0), "scaled by 1e10"),
    _case("sqrt_small", "sqrt(x)", {"x": 1e-10}, (1e-12, 1e-8), "steep near 0, derivative 5e4"),
    # -- kinks, away from the tie
    _case("relu_product", "relu(x - 0.3) * x", {"x": 0.7}, (0.5, 2.0), "relu, active side"),
    _case("abs_sine", "abs(sin(x))", {"x": -1.2}, (-2.5, -0.5), "abs of a negative value"),
    _case("max_pair", "max(x*y, x + y)", {"x": 1.5, "y": 0.5},
          {"x": (1.0, 2.0), "y": (0.2, 0.8)}, "max, second argument wins (never a tie)"),
    _case("min_trig", "min(sin(x), cos(y))", {"x": 0.3, "y": 1.1},
          {"x": (0.0, 0.3), "y": (0.9, 1.1)}, "min, first argument wins (never a tie)"),
    # -- sigmoid, softplus, log1p, expm1
    _case("sigmoid_mix", "sigmoid(3*x - y) * y", {"x": 0.4, "y": -0.2}, W, "sigmoid"),
    _case("sigmoid_saturated", "sigmoid(x)", {"x": 30.0}, (25.0, 35.0),
          "saturated sigmoid: s (1 - s) ~ 1e-13 loses digits in 1 - s"),
    _case("softplus_steep", "softplus(40*x)", {"x": 1.0}, (-1.0, 1.0), "steep softplus"),
    _case("softplus_cancel", "softplus(x) - x", {"x": 20.0}, (10.0, 30.0),
          "cancellation: log(1 + e^-x) ~ 2e-9 computed as a difference of ~20"),
    _case("log1p_tiny", "log1p(x**2)", {"x": 1e-5}, (1e-6, 1e-3), "log1p of a tiny argument"),
    _case("expm1_ratio", "expm1(x) / x", {"x": 1e-3}, (1e-4, 1e-2),
          "(e^x - 1)/x near 0: the derivative cancels"),
    _case("cos_cancel", "(1 - cos(x)) / x**2", {"x": 1e-3}, (1e-3, 1e-1),
          "cancellation in 1 - cos x near 0"),
    # -- inverse trig and hyperbolic
    _case("asin_acos", "asin(x) * acos(x)", {"x": 0.3}, (-0.9, 0.9), "inverse sine and cosine"),
    _case("atan_ratio", "atan(y / x)", {"x": 1.2, "y": 0.7}, {"x": (0.5, 2.0), "y": W},
          "the angle of (x, y)"),
    _case("asinh_log", "log(x + sqrt(x**2 + 1))", {"x": 0.8}, (-3.0, 3.0), "asinh via log"),
    _case("atanh_log", "0.5 * log((1 + x) / (1 - x))", {"x": 0.6}, (-0.9, 0.9),
          "atanh via log"),
    _case("hyperbolic", "sinh(x) * cosh(y) - tanh(x * y)", {"x": 0.5, "y": -0.8}, W,
          "hyperbolic functions"),
    _case("tan_steep", "tan(x)", {"x": 1.5}, (1.4, 1.55), "tan near its pole, derivative ~200"),
    # -- rational functions
    _case("rational_cubic", "(x**2 - 2*x + 3) / (x**3 + 1)", {"x": 0.5}, (-0.5, 3.0),
          "rational, pole at -1 outside the box"),
    _case("runge", "1 / (1 + 25 * x**2)", {"x": 0.3}, (-1.0, 1.0), "Runge's function"),
    _case("rational_3", "(x*y + z) / (x**2 + y**2 + 1)", {"x": 0.5, "y": -1.0, "z": 2.0}, W,
          "rational in three variables"),
    _case("poly_deg7", "x**7 - 3*x**5 + 2*x**3 - x", {"x": 1.1}, (-1.5, 1.5), "polynomial"),
    # -- transcendental compositions and powers
    _case("sin_exp_cos", "sin(exp(cos(x)))", {"x": 0.9}, (-3.0, 3.0), "three-deep composition"),
    _case("exp_sin_log", "exp(sin(x)) * log(1 + x**2)", {"x": 1.3}, (-3.0, 3.0),
          "product of compositions"),
    _case("sin_inverse", "sin(1 / x)", {"x": 0.05}, (0.04, 0.2),
          "fast oscillation, derivative ~160"),
    _case("log_log", "log(log(x))", {"x": 3.0}, (1.5, 10.0), "nested logarithms"),
    _case("self_power", "x**x", {"x": 1.7}, (0.2, 3.0), "variable base and exponent"),
    _case("power_pair", "x**y", {"x": 1.3, "y": 2.5}, {"x": (0.5, 2.0), "y": (-2.0, 3.0)},
          "power with both arguments varying"),
    _case("gaussian2", "exp(-(x**2 + y**2) / 2)", {"x": 0.3, "y": -0.4}, W, "2-D Gaussian"),
    _case("norm3", "sqrt(x**2 + y**2 + z**2)", {"x": 1.0, "y": 2.0, "z": 2.0}, (0.5, 2.0),
          "Euclidean norm"),
    # -- more variables
    _case("four_var", "x*y*z*w + sin(x + y) - cos(z * w)",
          {"w": 0.8, "x": 0.5, "y": -1.0, "z": 1.5}, W, "four variables"),
    _case("five_var", "log(1 + u**2 + v**2) + exp(-w) * sin(x) + y**3 / (1 + w**2)",
          {"u": 0.3, "v": -0.7, "w": 0.5, "x": 1.1, "y": -0.4}, W, "five variables"),
    _case("six_var", "sin(u * v) + exp(w / (1 + x**2)) + y * z * tanh(u + z)",
          {"u": 0.5, "v": -0.3, "w": 0.8, "x": 1.2, "y": -1.1, "z": 0.4}, W, "six variables"),
)
