"""Cross-method fuzzing: random expressions, every method against one reference.

Each round draws variables of random shapes (``()``, ``(3,)``, ``(2, 3)`` ...), a random
domain-safe expression over them (``random_expr.generate_arrays``: broadcasting, matmul, sum,
mean, transpose, shared subexpressions) and a point — or, one round in four, an expression
with every op unguarded (log, sqrt, tan, x ** y ... of anything) and a point at least
``DOMAIN_MARGIN`` inside every op's domain. One point in four lies on a grid of round numbers
(0, +-0.5, +-1), which puts relu and abs exactly on their kinks and max and min on ties,
where every exact method must do what JAX does. Then it asks every method for

    grad      of the expression (summed to a scalar when it is an array),
    jacobian  of the expression itself when it is an array,
    hessian   of the scalar, when it has few inputs,

and compares each with the reference: the 50-digit truth (``difflab.truth``) when every
variable is a scalar, JAX when some are arrays (JAX itself is then checked against the truth
on one case in ``JAX_TRUTH_EVERY``). A method passes when every component's rho is within
``difflab.lab.accuracy.tolerance(method, kind)``; one that fails against JAX is asked again
against the truth (with a larger budget), and passes if it agrees with that: JAX's rounding,
not the method's error. Finite differences are not asked near a kink
(``kink_distance`` below ``KINK_GAP``): there they straddle it and are wrong by design. A
method (or the reference) that refuses with its budget ("too slow for symbolic", "too large
for jax": what the lab records as "unsupported") is counted as a skip, not a disagreement.

A disagreement is shrunk to the smallest subexpression that still disagrees and printed as a
reproducer: the expression's text, the point, and both values. ``python -m difflab.fuzz
--seconds 600`` (``make fuzz``) runs until the time is up.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import api
from ..core import expr as ir
from ..core.evaluate import bind, clean_point, evaluate, run
from ..core.expr import Expr
from ..core.plan import compile_plan
from ..core.printer import to_text
from ..lab.accuracy import all_finite, compare_gradients, tolerance
from ..lab.execute import classify
from .generate import (
    domain_margin,
    generate_arrays,
    kink_distance,
    random_array_point,
    random_shapes,
)

FUZZ_METHODS: tuple[str, ...] = api.METHODS + ("numeric:complex",)
NOT_ANALYTIC = ("abs", "relu", "max", "min", "reduce_max", "reduce_min")
DOMAIN_MARGIN = 0.1     # unguarded rounds: points this far inside every op's domain
KINK_GAP = 1e-2          # finite differences (steps up to ~1e-3 |x|) stay this far from a kink
MAX_HESSIAN_INPUTS = 6   # scalar inputs; the numeric Hessian costs 2n^2 evaluations
JAX_TRUTH_EVERY = 5      # array rounds: check JAX itself against the truth this often


@dataclass
class Case:
    """One question: the ``kind`` of derivative of ``expr`` at ``point``."""

    expr: Expr
    point: dict
    kind: str = "grad"

    @property
    def scalar_inputs(self) -> bool:
        return all(np.ndim(v) == 0 for v in self.point.values())

    def n_inputs(self) -> int:
        return int(sum(np.size(v) for v in self.point.values()))


@dataclass
class Disagreement:
    """A method whose answer differs from the reference beyond its tolerance (or raised)."""

    case: Case
    method: str
    reference: str
    outcome: str          # wrong, nan, error
    max_rho: float
    tol: float
    got: object
    want: object
    message: str = ""

    def report(self) -> str:
        """The reproducer: expression text, point, the method's and the reference's values."""
        text, point = to_text(self.case.expr), _json_point(self.case.point)
        return "\n".join([
            f"DISAGREEMENT: {self.method} {self.case.kind} vs {self.reference}: {self.outcome}, "
            f"max rho {self.max_rho:.3g} > tolerance {self.tol:g}  {self.message}",
            f"  expression: {text}",
            f"  point:      {point}",
            f"  {self.method}: {_show(self.got)}",
            f"  {self.reference}: {_show(self.want)}",
            f"  reproduce:  dl.{self.case.kind}({text!r}, {point}, method={self.method!r})"])


@dataclass
class Stats:
    """What a fuzzing run checked and found."""

    expressions: int = 0
    cases: int = 0
    method_cases: int = 0
    skipped: dict = field(default_factory=dict)   # reason -> count
    disagreements: list = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items())) or "none"
        return (f"fuzz: {self.expressions} expressions, {self.cases} cases, "
                f"{self.method_cases} method-cases checked in {self.seconds:.0f} s; "
                f"{len(self.disagreements)} disagreements (skipped: {skipped})")


def _json_point(point: dict) -> str:
    return json.dumps({k: np.asarray(v).tolist() if np.ndim(v) else float(v)
                       for k, v in point.items()})


def _show(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=17, separator=", ").replace("\n", "")
    return repr(value)


def _derivative(kind: str, case: Case, method: str) -> dict:
    fn = {"grad": api.grad, "jacobian": api.jacobian, "hessian": api.hessian}[kind]
    return fn(case.expr, case.point, method=method)


def reference(case: Case, use_truth: bool | None = None) -> tuple[str, dict]:
    """(name, value) of the reference: the 50-digit truth for scalar inputs, else JAX."""
    if use_truth is None:
        use_truth = case.scalar_inputs
    if use_truth:
        from .. import truth  # (SymPy: imported when first asked; difflab.lab.families imports
        #                        the generator, and every lab process need not load SymPy)
        return "truth", getattr(truth, {"grad": "gradient"}.get(case.kind, case.kind))(
            case.expr, case.point)
    return "jax", _derivative(case.kind, case, "jax")


def skip_reason(case: Case, method: str, near_kink: bool, f_finite: bool = True) -> str | None:
    """Why ``method`` is not asked about ``case`` (None: it is). Finite differences are not
    asked near a kink, nor where f itself is not finite (a mean over an empty axis is nan
    whatever the input: differences of nan are nan, see docs/edge_cases.md)."""
    base, _, scheme = method.partition(":")
    if base == "numeric" and near_kink:
        return "numeric near a kink"
    if base == "numeric" and not f_finite:
        return "numeric where f is not finite"
    if scheme == "complex":
        if case.kind == "hessian":
            return "no complex-step Hessian"
        if any(n.op in NOT_ANALYTIC for n in ir.toposort(case.expr)):
            return "complex step on a non-analytic op"
    return None


def check(case: Case, methods: Sequence[str] = FUZZ_METHODS, ref: tuple | None = None,
          stats: Stats | None = None) -> list[Disagreement]:
    """Every method on ``case`` against the reference.

    Args:
        case: the question.
        methods: method names (the reference's own method is not compared with itself).
        ref: a precomputed (name, value) reference, else ``reference(case)``.
        stats: counts method-cases and skips, if given.
    Returns:
        the disagreements (empty when every method agrees).
    """
    stats = stats if stats is not None else Stats()
    try:
        ref_name, want = ref if ref is not None else reference(case)
    except Exception as err:  # noqa: BLE001 - a reference over its budget is a skip
        truth = sys.modules.get("difflab.truth")  # (imported when first asked: not here)
        if truth is not None and isinstance(err, truth.NoTruth):
            _skip(stats, "no 50-digit truth")
            return []
        if classify(err, "prepare") != "unsupported":
            raise
        _skip(stats, "reference over its budget")
        return []
    if not all_finite(want):  # outside the domain after all: nothing to agree on
        _skip(stats, "reference not finite")
        return []
    truth = None  # made when a method disagrees with JAX (``_truth_of``)
    near_kink = kink_distance(case.expr, case.point) < KINK_GAP
    f_finite = bool(np.all(np.isfinite(evaluate(case.expr, case.point))))
    found = []
    for method in methods:
        if method == ref_name:
            continue
        reason = skip_reason(case, method, near_kink, f_finite)
        if reason:
            _skip(stats, reason)
            continue
        stats.method_cases += 1
        tol = tolerance(method, case.kind)
        try:
            got = _derivative(case.kind, case, method)
        except Exception as err:  # noqa: BLE001 - any other exception on valid input is a finding
            if classify(err, "prepare") == "unsupported":  # "too slow for symbolic": the
                _skip(stats, f"{method} over its budget")   # design's refusal, as in the lab
                continue
            found.append(Disagreement(case, method, ref_name, "error", float("inf"), tol,
                                      None, want, f"{type(err).__name__}: {err}"))
            continue
        verdict = compare_gradients(got, want, tol)
        if verdict["outcome"] != "ok" and ref_name == "jax":
            truth = _truth_of(case, truth)
            if truth is not None and compare_gradients(got, truth[1], tol)["outcome"] == "ok":
                _skip(stats, "jax off the truth, the method on it")  # (JAX's rounding)
                continue
        if verdict["outcome"] != "ok":
            found.append(Disagreement(case, method, ref_name, verdict["outcome"],
                                      verdict["max_rho"], tol, got, want, verdict["message"]))
    return found


ARBITER_TREE, ARBITER_SECONDS = 400_000, 60.0  # its budget (3.5 s on that case's 119,000)


def _truth_of(case: Case, known: tuple | None) -> tuple | None:
    """The 50-digit truth of an array case, arbitrating a method that disagrees with JAX (once
    per case; None over its budget). JAX can be off by its rounding where terms cancel: the
    Hessian of sum(softmax(u, axis)), 0, was 1.8e-9 from JAX, 1e-12 or less from the others."""
    if known is not None:
        return known
    from .. import truth
    fn = getattr(truth, {"grad": "gradient"}.get(case.kind, case.kind))
    try:  # (a larger tree than the reference's own budget: this is rare, and it decides)
        return "truth", fn(case.expr, case.point, max_tree=ARBITER_TREE,
                           time_budget=ARBITER_SECONDS)
    except Exception:  # noqa: BLE001 - no truth in budget: the disagreement stands
        return None


def shrink(found: Disagreement) -> Disagreement:
    """The smallest subexpression of the case that still makes the method disagree."""
    case = found.case
    nodes = [n for n in ir.toposort(case.expr) if n.args]
    nodes.sort(key=lambda n: len(ir.toposort(n)))
    for node in nodes:
        if node is case.expr or len(ir.toposort(node)) >= len(ir.toposort(case.expr)):
            break
        point = {k: case.point[k] for k in node.variables}
        if not point:
            continue
        shape = np.shape(evaluate(node, point))
        if case.kind in ("grad", "hessian") and shape != ():
            node = ir.sum(node)
        if case.kind == "jacobian" and shape == ():
            continue
        sub = Case(node, point, case.kind)
        try:
            ref = reference(sub, use_truth=found.reference == "truth")
            again = check(sub, [found.method], ref=ref)
        except Exception:  # noqa: BLE001 - the reference itself fails on this piece: skip it
            continue
        if again:
            return again[0]
    return found


GRID = (-1.0, -0.5, 0.0, 0.5, 1.0)  # exact kinks (relu(0), max ties) and round numbers


def inside(expr: Expr, point: dict, margin: float = DOMAIN_MARGIN) -> bool:
    """True when every intermediate value of ``expr`` at ``point`` is finite and every op's
    argument is at least ``margin`` inside its domain (``random_expr.domain_margin``)."""
    plan = compile_plan(expr)
    values = run(plan, bind(plan, clean_point(plan, point)))
    return all(bool(np.all(np.isfinite(v))) for s, v in enumerate(values)  # (not the Params)
               if plan.ops[s] != "const" or not hasattr(v, "kind")) and \
        domain_margin(expr, point) >= margin


def random_round(seed, size: int | None = None) -> list[Case]:
    """The cases of one fuzzing round (reproducible for ``seed``): one expression, its grad,
    its Jacobian when it is array-valued, its Hessian when it has few inputs.

    Three kinds of round: arrays of random shapes (domain-safe), scalars (domain-safe), and
    scalars or arrays with every op unguarded, at a point ``inside`` every op's domain (tried
    up to ten times; else no case). Points are uniform, or one in four from ``GRID``.
    """
    rng = np.random.default_rng(seed)
    n_vars = int(rng.integers(1, 4))
    mode = ("arrays", "scalars", "raw")[int(rng.choice(3, p=(0.5, 0.25, 0.25)))]
    arrays = mode == "arrays" or (mode == "raw" and rng.random() < 0.5)
    shapes = random_shapes(rng, ("x", "v", "M")[:n_vars]) if arrays else \
        {n: () for n in ("x", "y", "z")[:n_vars]}

    def choose(what, options):
        return options[int(rng.integers(len(options)))]

    size = size if size is not None else int(rng.integers(1, 13))
    expr, shape = generate_arrays(choose, shapes, size, domain_safe=mode != "raw")
    shapes = {n: shapes[n] for n in expr.variables}
    if not shapes:  # a constant expression: nothing to differentiate
        return []
    for _ in range(10):
        if rng.random() < 0.25:
            point = {n: rng.choice(GRID, size=s) if s else float(rng.choice(GRID))
                     for n, s in shapes.items()}
        else:
            point = random_array_point(rng, shapes)
        if mode != "raw" or inside(expr, point):
            break
    else:
        return []
    root = expr if shape == () else (ir.sum(expr) if rng.random() < 0.5 else ir.mean(expr))
    cases = [Case(root, point, "grad")]
    if shape != ():
        cases.append(Case(expr, point, "jacobian"))
    if cases[0].n_inputs() <= MAX_HESSIAN_INPUTS and rng.random() < 0.5:
        cases.append(Case(root, point, "hessian"))
    return cases


def fuzz(seconds: float | None = 600.0, max_rounds: int | None = None, seed: int = 0,
         methods: Sequence[str] = FUZZ_METHODS, log: Callable[[str], None] | None = print,
         progress_every: float = 60.0) -> Stats:
    """Fuzz until ``seconds`` pass or ``max_rounds`` rounds are done.

    Args:
        seconds: wall-clock budget (None: no limit).
        max_rounds: number of expressions (None: no limit).
        seed: round ``i`` uses the seed (seed, i), so a run is reproducible.
        methods: the methods to check.
        log: where to print progress and disagreements (None: silent).
        progress_every: seconds between progress lines.
    Returns:
        the ``Stats``: counts and the (shrunk) disagreements.
    """
    stats, start = Stats(), time.perf_counter()
    last = start
    i = 0
    while (max_rounds is None or i < max_rounds) and \
            (seconds is None or time.perf_counter() - start < seconds):
        cases = random_round((seed, i))
        i += 1
        if cases:
            stats.expressions += 1
        else:  # a constant expression, or no point inside the domain
            _skip(stats, "round without a case")
        for case in cases:
            stats.cases += 1
            jax_truth = not case.scalar_inputs and i % JAX_TRUTH_EVERY == 0
            found = check(case, methods, stats=stats)
            if jax_truth:
                found += _jax_against_truth(case, stats)
            for d in found:
                d = shrink(d)
                stats.disagreements.append(d)
                if log:
                    log(d.report())
        now = time.perf_counter()
        if log and now - last >= progress_every:
            last = now
            stats.seconds = now - start
            log(stats.summary())
    stats.seconds = time.perf_counter() - start
    return stats


def _jax_against_truth(case: Case, stats: Stats) -> list[Disagreement]:
    """JAX (the arrays' reference) checked against the 50-digit truth on an array case."""
    from ..truth import NoTruth, TruthTooLarge
    try:
        ref = reference(case, use_truth=True)
    except TruthTooLarge:
        _skip(stats, "reference over its budget")
        return []
    except NoTruth:  # SymPy leaves a derivative unevaluated: JAX stands unchecked here
        _skip(stats, "no 50-digit truth")
        return []
    return check(case, ["jax"], ref=ref, stats=stats)


def _skip(stats: Stats, reason: str) -> None:
    stats.skipped[reason] = stats.skipped.get(reason, 0) + 1
