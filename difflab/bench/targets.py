"""The benchmark's results: timed rows, and the targets of the speed issue with their verdicts.

A ``Row`` is one contender's timing in one case (median and spread of interleaved samples). A
``Target`` is one promise of the issue: what was measured, the goal, and whether it holds
(None when it could not be measured, e.g. a peer is not installed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# The targets, in order: key -> (what, goal). The cases fill in the measurements.
TARGETS = {
    "1a": ("MLP loss (256, 784-128-10, tanh): reverse / hand-written NumPy backward",
           "<= 1.25x"),
    "1b": ("10-node scalar expression: dl.grad(method='reverse') per call", "< 50 us"),
    "2a": ("micrograd MLP (16-32-32-1, 8 samples): difflab build + dl.grad / micrograd",
           "<= 0.5x"),
    "2b": ("micrograd MLP: JAX without jit / difflab (build + gradient)", ">= 20x"),
    "3": ("10,000 points in one call: one-point call / per-point cost of the batch",
          ">= 100x"),
    "4a": ("Rosenbrock n = 100: forward (one multi-direction pass) / reverse", "<= 3x"),
    "4b": ("n = 1: forward is the fastest of all methods", "fastest"),
    "5": ("MLP: tracemalloc peak of the reverse tape / of the forward pass", "<= 3x"),
    "6a": ("logistic map l_13: symbolic preparation (diff + shared program), cold", "< 2 s"),
    "6b": ("logistic map l_13: symbolic gradient / reverse (tape) gradient per call",
           "<= 1x"),
    "6c": ("Euler, 1,000 steps (depth 3,000): symbolic preparation, cold; gradient = reverse's",
           "< 30 s, rho <= 1e-12"),
    "6d": ("Rosenbrock with Python's sum(), n = 1,000: symbolic preparation, cold; = reverse's",
           "< 30 s, rho <= 1e-12"),
    "7a": ("adaptive numeric on the scalar suite and sin(1000x): worst rho vs 50-digit truth",
           "<= 1e-9"),
    "7b": ("adaptive numeric vs numdifftools' defaults: suite functions where it is worse",
           "0"),
    "R1": ("Jacobian R^8 -> R^1024, tanh(A x + b): reverse (one sweep) / jax.jit(jax.jacrev)",
           "<= 3x"),
    "R2": ("Hessian of Rosenbrock n = 128, 128 scalar variables: reverse (forward over "
           "reverse, one sweep) / jax.jit(jax.hessian)", "<= 3x"),
    "R3": ("Hessian of Rosenbrock n = 128, x one array: reverse / jax.jit(jax.hessian)",
           "<= 3x"),
}


@dataclass
class Row:
    """One contender's time in one case: seconds per call (median, IQR of the samples)."""

    case: str
    contender: str
    median: float
    iqr: float
    samples: int
    extra: dict = field(default_factory=dict)  # ratio to f, per-node cost, nodes, agrees ...

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Target:
    """One target: the measured figure (as a number and as shown), the goal, the verdict."""

    key: str
    measured: float | None
    shown: str
    holds: bool | None
    note: str = ""

    @property
    def what(self) -> str:
        return TARGETS[self.key][0]

    @property
    def goal(self) -> str:
        return TARGETS[self.key][1]

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "NO", None: "n/a"}[self.holds]

    def to_dict(self) -> dict:
        return {**asdict(self), "what": self.what, "goal": self.goal, "verdict": self.verdict}


def unmeasured(key: str, why: str) -> Target:
    """A target that could not be measured (a peer unavailable, a failure), and why."""
    return Target(key, None, "-", None, why)


def table(targets: list[Target]) -> str:
    """The targets as a fixed-width text table (target, measured, goal, holds), every key of
    ``TARGETS`` in order; a key no case reported is listed as not measured."""
    by_key = {t.key: t for t in targets}
    rows = [by_key.get(key, unmeasured(key, "not run")) for key in TARGETS]
    head = ("target", "measured", "goal", "holds")
    cells = [(f"{t.key} {t.what}", t.shown, t.goal, t.verdict) for t in rows]
    widths = [max(len(head[i]), *(len(c[i]) for c in cells)) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*head), line.format(*("-" * w for w in widths))]
    out += [line.format(*c) for c in cells]
    notes = [f"  {t.key}: {t.note}" for t in rows if t.note]
    return "\n".join(out + (["notes:"] + notes if notes else []))


def ratio_text(x: float) -> str:
    return "-" if x != x else f"{x:.2f}x"


def time_text(seconds: float) -> str:
    """Seconds with a readable unit (ns, us, ms, s)."""
    if seconds != seconds:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
