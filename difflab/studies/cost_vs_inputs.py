"""Cost against the number of inputs: what one gradient costs, in evaluations of f.

f(x_0 .. x_{n-1}) = sum_i sin(x_i) exp(x_i / n) + log1p(x_i^2) over n SCALAR variables, so
every method sees n inputs, and f itself costs ~9n operations. The theory (Griewank & Walther,
"Evaluating Derivatives", ch. 4): reverse mode computes the whole gradient for a constant
multiple of f's cost, OPS(grad f) <= omega OPS(f) with omega about 3 to 5 ("the cheap gradient
principle"), whatever n; forward mode needs one tangent per input direction and finite
differences several evaluations of f per input, so their cost is ~n times f's.

Measured here, per n: each method's gradient time (the lab's cells), the time of f by the
fastest evaluator in the library, and noise-free operation counts from the IR. The fastest f
is the tape's forward pass (``reverse.Program.record``: Python operators on NumPy floats, node
by node) or, on big shallow graphs, the level schedule reverse mode sweeps them with
(``levels.Schedule.evaluate``: one NumPy call per group of same-op slots of one level),
whichever is quicker; the plan evaluator ``evaluate.run`` calls a ufunc per node and is
several times slower on scalars. The operation counts:

    f          the non-leaf slots of the plan (one operation each)
    reverse    forward pass (the slots the sweep reads) + backward sweep (one vector-Jacobian
               product per tape entry) of ``reverse.compile_program``; the level schedule
               runs the same operations, grouped
    forward    the primal pass + one tangent operation per direction and per operation that
               depends on an input: ``ops(f) + n * active``
    numeric    evaluations of f per gradient x ops(f): the adaptive scheme's count at the
               point (it chooses its steps per input: 3 + 2sn, s = 5..30; central4 was 4n)
    symbolic   the operations of the generated straight-line code after CSE (``info.cse_ops``)

JAX is timed against its own jitted f (XLA fuses the program: no operation count).

The truth is the hand-written gradient d/dx_i = exp(x_i/n) (cos x_i + sin(x_i)/n)
+ 2 x_i / (1 + x_i^2) (the ``problems`` hook below), so no JAX or SymPy reference has to be
compiled at n = 1000.

Repeats: the whole sweep runs ``repeats`` times over (every size, every method, f before and
after), so each gradient time, each f and each ratio t(grad)/t(f) — taken repeat by repeat,
the two measured in the same pass — is a median over the repeats with its interval, and the
slopes are bootstrapped over them (``cost_vs_inputs_report``).

This module measures (the problem hook, the cells, f's timings and the baseline rows) and
assembles the report section; the rows are read back into the table, the figure and the
findings by ``cost_vs_inputs_report``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from .. import numeric, reverse
from ..core.evaluate import bind, clean_point, run_value
from ..core.metrics import size
from ..core.plan import compile_plan
from ..lab import Cell, Run, Settings, Worker, run_sweep
from ..lab import problems as registry
from ..lab.executors import preload_for
from ..lab.hand_truth import HandTruth
from ..lab.repeats import repeats_of
from ..lab.timing import measure

# reading the rows back (tables, findings) is cost_vs_inputs_report's, the figure
# cost_vs_inputs_figure's; their public names stay importable from here
from .cost_vs_inputs_figure import figure as figure
from .cost_vs_inputs_report import BOUND as BOUND
from .cost_vs_inputs_report import METHODS as METHODS
from .cost_vs_inputs_report import baselines as baselines
from .cost_vs_inputs_report import display_table as display_table
from .cost_vs_inputs_report import findings as findings
from .cost_vs_inputs_report import measured as measured
from .cost_vs_inputs_report import method_order as method_order
from .cost_vs_inputs_report import op_counts as op_counts
from .cost_vs_inputs_report import slope as slope
from .cost_vs_inputs_report import summary as summary
from .cost_vs_inputs_report import table as table

NAME = "cost_vs_inputs"
TITLE = "Cost of a gradient against the number of inputs"
QUESTION = ("How does the cost of one gradient grow with the number of inputs n, for each "
            "method — and does reverse mode stay a constant multiple of f?")

HOOK = f"difflab.studies.{NAME}:get_problem"


# ---- the problem, with a hand-written truth -----------------------------------------------
def hand_gradient(point: dict, n: int) -> dict:
    """d/dx_i of sum_i sin(x_i) exp(x_i/n) + log1p(x_i^2), written out by hand.

    Args:
        point: {"x0": float, ...}.
        n: the number of variables (the 1/n inside exp).
    Returns:
        {"x<i>": float}.
    """
    out = {}
    for name, x in point.items():
        e = np.exp(x / n)
        out[name] = float(e * (np.cos(x) + np.sin(x) / n) + 2.0 * x / (1.0 + x * x))
    return out


def get_problem(name: str):
    """The ``Settings.problems`` hook: the registry, with sum_nonlinear's truth by hand."""
    problem = registry.get_problem(name)
    if name != "sum_nonlinear":
        return problem
    return HandTruth(problem, "grad",
                              lambda inst: hand_gradient(inst.point, inst.params["n"]))


# ---- running --------------------------------------------------------------------------------
def cells(config: dict) -> list[Cell]:
    """Every (n, method) with n <= the method's cap, sizes increasing (the runner skips a
    method's larger sizes once it hits the time limit)."""
    caps = config.get("max_n", {})
    return [Cell(NAME, config["problem"], {"n": n}, method, "grad", config.get("seed", 0))
            for n in config["sizes"] for method in config["methods"]
            if n <= caps.get(method, n)]


def baseline_cell(config: dict, n: int, rep: int = 0) -> Cell:
    """The id of the custom row holding f's time and the operation counts at n (repeat
    ``rep``)."""
    return Cell(NAME, config["problem"], {"n": n}, "baseline", "grad", config.get("seed", 0),
                rep)


def _setup(config: dict, n: int):
    inst = get_problem(config["problem"]).instance({"n": n}, config.get("seed", 0))
    plan = compile_plan(inst.expr)
    point = clean_point(plan, inst.point)
    shapes = {name: np.shape(v) for name, v in point.items()}
    return inst.expr, plan, point, shapes, tuple(inst.wrt)


def f_timings(config: dict, n: int, settings: Settings,
              with_plan: bool = True) -> dict[str, float | None]:
    """The fastest batch of f (s per call) by three evaluators: the tape's forward pass, the
    level schedule's forward pass (None where reverse mode does not use one), the plan (None
    unless ``with_plan``: it is only compared once, not used in any ratio)."""
    expr, plan, point, shapes, wrt = _setup(config, n)
    program = reverse.compile_program(expr, wrt, shapes)
    levels = level_schedule(plan, shapes)
    # f is cheap: twice the samples, so its fastest batch is a steady estimate
    timing = dict(min_time=settings.min_time, samples=2 * settings.samples,
                  max_time=settings.max_time)
    with np.errstate(all="ignore"):
        return {"tape": measure(lambda: program.record(point), **timing).min,
                "levels": measure(lambda: levels.evaluate(point), **timing).min
                if levels is not None else None,
                "plan": measure(lambda: run_value(plan, bind(plan, point)), **timing).min
                if with_plan else None}


def baseline_row(config: dict, n: int, times: list[dict], rep: int = 0) -> dict:
    """The row of size n (repeat ``rep``): f's time (the fastest of ``times``, each from
    ``f_timings``) and the noise-free operation counts of each method."""
    best = {k: min((t[k] for t in times if t[k] is not None), default=None)
            for k in ("tape", "levels", "plan")}
    fastest = "levels" if best["levels"] is not None and best["levels"] < best["tape"] \
        else "tape"
    return {**baseline_cell(config, n, rep).key(), "outcome": "ok",
            "f_min": best[fastest], "f_evaluator": fastest, "f_tape_min": best["tape"],
            "f_levels_min": best["levels"], "f_plan_min": best["plan"],
            **op_count_fields(config, n)}


_counts: dict = {}   # (problem, n, seed, numeric counted) -> the operation counts


def op_count_fields(config: dict, n: int) -> dict:
    """The noise-free operation counts at n (the same in every repeat: computed once).

    Finite differences are counted by running the adaptive scheme once at the point (it
    chooses its steps per input), only up to numeric's cap: beyond it no numeric cell runs,
    and one adaptive gradient at n = 1000 costs minutes.
    """
    counted = "numeric" in config["methods"] and \
        n <= config.get("max_n", {}).get("numeric", n)
    key = (config["problem"], n, config.get("seed", 0), counted)
    if key in _counts:
        return _counts[key]
    expr, plan, point, shapes, wrt = _setup(config, n)
    program = reverse.compile_program(expr, wrt, shapes)
    f_ops = size(expr).ops
    # active: the operations that depend on an input (and reach f), each pushing one tangent
    # per direction in forward mode
    active = sum(1 for slot, needed in enumerate(program.needed)
                 if needed and plan.args[slot])
    evaluations = None
    if counted:
        prepared = numeric.prepare(expr, wrt, shapes)
        prepared(point)  # (the adaptive scheme counts its evaluations as it goes)
        evaluations = prepared.info.get("evaluations_last_call", prepared.info["evaluations"])
    _counts[key] = {"f_ops": f_ops, "n_inputs": len(wrt),
                    "ops_reverse": len(program.live_forward) + len(program.backward),
                    "ops_forward": f_ops + len(wrt) * active,
                    "ops_numeric": evaluations * f_ops if evaluations else None,
                    "numeric_evaluations": evaluations}
    return _counts[key]


def level_schedule(plan, shapes: dict):
    """The plan's level schedule (``difflab.levels``: one NumPy call per group of same-op
    slots of one level, what reverse mode sweeps big shallow scalar graphs with), or None
    where there is none (small or deep graphs, array slots, or no such module)."""
    try:
        from ..core.levels import schedule
    except ImportError:
        return None
    from ..core.shapes import infer_shapes

    return schedule(plan, infer_shapes(plan, shapes))


def run(config: dict, run: Run, settings: Settings) -> None:
    """Repeat by repeat, size by size: f timed, that size's cells, f timed again, the
    baseline row.

    A ratio t(grad)/t(f) is only as good as the conditions the two times share: on a shared
    machine the load drifts, so f is measured right before and right after the cells of its
    size, in the same process (``isolate`` False), and the faster of the two is kept; the
    whole sweep is repeated ``repeats`` times, pass after pass.
    """
    settings = dataclasses.replace(
        settings, problems=HOOK, time_limit=config.get("time_limit", 30.0),
        min_time=config.get("min_time", 0.01), samples=config.get("samples", 3),
        max_time=config.get("max_time", 0.1))
    isolate = config.get("isolate", False)
    worker = Worker(preload_for(cells(config), settings)) if isolate else None
    try:
        for rep in range(repeats_of(config)):
            for n in config["sizes"]:
                todo = [c.repeat(rep) for c in cells(config) if c.params["n"] == n]
                done = baseline_cell(config, n, rep).cell_id in run.done
                before = [] if done else [f_timings(config, n, settings, rep == 0)]
                run_sweep(todo, run, settings, isolate=isolate, worker=worker, timing=True)
                if not done:
                    after = f_timings(config, n, settings, rep == 0)
                    run.append(baseline_row(config, n, before + [after], rep))
    finally:
        if worker is not None:
            worker.stop()


# ---- the section ---------------------------------------------------------------------------
def section(df: pd.DataFrame, config: dict, figdir: Path):
    """The report section: the figure, the ratio table with slopes, the findings."""
    from ..lab.report import Section

    if "experiment" in df:
        df = df[df["experiment"] == NAME]
    fig = figure(df, config, Path(figdir) / f"{NAME}.png")
    caption = ("The gradient's cost against the number of inputs n: seconds, multiples of "
               "one evaluation of f, and operation counts from the IR.")
    alt = ("Three log-log panels against n, one line per method: gradient time in seconds, "
           "gradient time over f's time with the cheap-gradient band shaded, and operation "
           "counts over f's.")
    return Section(NAME, TITLE, QUESTION, [(fig, caption, alt)], display_table(df, config),
                   findings(df, config), summary(df, config))
