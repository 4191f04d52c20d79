"""GradBench's workloads in the lab: every method on every workload, beside GradBench's tools.

GradBench (github.com/gradbench/gradbench) publishes, per eval and workload, the time of the
primal and of its derivative for each tool; the ratio derivative / primal is the cost of
differentiating in units of the function itself. This study runs GradBench's own workloads
(``difflab.gradbench``: the evals' functions in difflab's IR, their inputs drawn with the
evals' sizes, seeds and formulas; problems ``gradbench_<eval>`` in the lab's registry) with
every method, and sets the ratios beside GradBench's published ones for JAX, PyTorch and the
hand-written C++ (``difflab.gradbench.published``).

Each cell is the eval's own derivative function prepared by the method (the hooks below): the
gradient for lse, llsq, gmm, ode, det, lstm; the Newton direction J ⊘ (H·1) for kmeans; the
compressed sparse Jacobian for ba and the Jacobian for ht. Its accuracy is checked against the
same function computed by JAX (jax_ref; the truth is missing where JAX refuses the graph, as
for lstm's unrolled recurrence), and at the smallest sizes (``truth_sizes``) the registry's
derivative of every method is compared with the 50-digit truth of ``difflab.truth``. A method
that gives up (symbolic's budget, numeric's cost, a time or memory limit) is a row with that
outcome and its message; the runner skips its larger sizes.

Rows are read back into the table, the figure and the findings by ``gradbench_report``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import api, jax_ref
from ..core.expr import Expr
from ..core.plan import compile_plan
from ..gradbench import compute
from ..gradbench import problems as gb
from ..gradbench.evals import EVALS
from ..gradbench.workloads import module
from ..lab import Cell, Run, Settings, compare_gradients, run_sweep, tolerance
from ..lab import problems as registry
from ..lab.repeats import repeats_of
from ..protocol import Prepared
from .gradbench_report import TRUTH_EXPERIMENT, figure, findings, summary, table

NAME = "gradbench"
TITLE = "GradBench's workloads: what a derivative costs, beside JAX, PyTorch and C++"
QUESTION = ("On GradBench's own workloads, what does each method's derivative cost in units "
            "of the primal, and how does that compare with the ratios GradBench publishes for "
            "JAX, PyTorch and hand-written C++?")
PROBLEMS_HOOK = f"difflab.studies.{NAME}:get_problem"
PREPARE_HOOK = f"difflab.studies.{NAME}:prepare"


# ---- the eval's own derivative, as a lab method ---------------------------------------------
def normalise(name: str, result: dict) -> dict:
    """A derivative in one format whatever its compression (ba's blocks by rows or columns)."""
    if name == "ba":
        blocks, w = module("ba").blocks(result)
        return {"blocks": blocks, "w": w}
    return {n: np.asarray(v, dtype=np.float64) for n, v in result.items()}


def eval_derivative(name: str, sizes: tuple, input: dict, method: str) -> Prepared:
    """Eval ``name``'s derivative function prepared with ``method``, called with a point of
    the registry's instance (``difflab.gradbench.problems``)."""
    ev = EVALS[name]
    computation = compute.prepare(ev, ev.derivative_name, sizes, ev.point(input, sizes), method)
    return Prepared(lambda point: normalise(name, computation.run(computation.point(point))),
                    dict(computation.info))


def prepare(kind: str, expr: Expr, wrt: tuple, shapes: dict, method: str) -> Prepared:
    """The ``Settings.prepare`` hook: a GradBench problem's expression gets its eval's own
    derivative function by ``method``; anything else goes to ``difflab.api.prepared``."""
    found = gb.lookup(expr)
    if found is None:
        return api.prepared(kind, expr, wrt, shapes, method)
    return eval_derivative(*found, method)


@dataclass(eq=False)
class EvalInstance:
    """A registry instance whose truth is its eval's derivative function computed by JAX."""

    inner: object
    truth_source: str = "jax"

    def __post_init__(self):
        if compile_plan(self.inner.expr).size > jax_ref.MAX_NODES:
            self.truth_source = "none"   # JAX refuses graphs this large (see jax_ref)

    def __getattr__(self, attr):
        return getattr(self.inner, attr)

    def truth(self, kind: str | None = None) -> dict | None:
        """The eval's derivative function by JAX at this point (None: no truth)."""
        if self.truth_source == "none":
            return None
        name, sizes, input = gb.lookup(self.inner.expr)
        return eval_derivative(name, sizes, input, "jax")(self.inner.point)


@dataclass(eq=False)
class EvalProblem:
    """A GradBench problem of the registry, with its eval's own truth."""

    inner: object

    def resolve(self, params: dict | None = None) -> dict:
        """The registry problem's parameters (unknown names refused)."""
        return self.inner.resolve(params)

    def instance(self, params: dict | None = None, seed: int = 0) -> EvalInstance:
        """The registry's instance, with the eval's truth."""
        return EvalInstance(self.inner.instance(params, seed))


def get_problem(name: str) -> object:
    """The ``Settings.problems`` hook: GradBench problems with their eval's truth."""
    problem = registry.get_problem(name)
    return EvalProblem(problem) if problem.family == "gradbench" else problem


# ---- the cells -------------------------------------------------------------------------------
def workloads(config: dict, name: str) -> list[dict]:
    """The workloads of eval ``name``: "all" of GradBench's, the first k, or a list of sizes."""
    chosen = config["evals"][name]
    every = module(name).WORKLOADS
    if chosen == "all":
        return list(every)
    if isinstance(chosen, int) and not isinstance(chosen, bool):
        return list(every[:chosen])
    if isinstance(chosen, list) and all(isinstance(p, dict) for p in chosen):
        return [dict(p) for p in chosen]
    raise ValueError(f"{NAME}: evals[{name!r}] must be 'all', a number of workloads or a list "
                     f"of sizes, got {chosen!r}")


def cells(config: dict) -> list[Cell]:
    """Every workload of every eval by every method (sizes in the eval's order, which grows;
    ``max_workloads`` caps a method's count per eval)."""
    caps = config.get("max_workloads", {})
    out = []
    for name in config["evals"]:
        if name not in gb.NAMES:
            raise ValueError(f"{NAME}: unknown eval {name!r}; GradBench's evals here: "
                             f"{', '.join(gb.NAMES)}")
        for k, params in enumerate(workloads(config, name)):
            out += [Cell(NAME, f"gradbench_{name}", params, method, gb.KIND[name],
                         config.get("seed", 0))
                    for method in config["methods"] if k < caps.get(method, k + 1)]
    return out


# ---- the 50-digit truth at the smallest sizes --------------------------------------------------
def truth_rows(config: dict, done: set) -> list[dict]:
    """Rows comparing every method's derivative (the registry's: kmeans' J) with the 50-digit
    truth of ``difflab.truth`` at ``truth_sizes``; a truth that cannot be had is a row saying
    why (outcome "unsupported")."""
    exact = importlib.import_module("difflab.truth")
    rows = []
    for name, params in config.get("truth_sizes", {}).items():
        inst = registry.get_problem(f"gradbench_{name}").instance(params, 0)
        kind = gb.KIND[name]
        cell = lambda method, name=name, params=params, kind=kind: Cell(
            TRUTH_EXPERIMENT, f"gradbench_{name}", params, method, kind)
        if all(cell(m).cell_id in done for m in config["methods"]):
            continue
        shapes = {n: np.shape(v) for n, v in inst.point.items()}
        exact_fn = getattr(exact, "gradient" if kind == "grad" else "jacobian")
        budget = {"max_tree": config["truth_max_tree"]} if "truth_max_tree" in config and \
            "max_tree" in inspect.signature(exact_fn).parameters else {}
        try:
            truth = exact_fn(inst.expr, inst.point, wrt=inst.wrt, dps=50, **budget)
            truth = {n: np.asarray(truth[n], dtype=np.float64) for n in inst.wrt}
        except Exception as err:  # noqa: BLE001 - the truth's absence is a finding
            message = f"difflab.truth: {type(err).__name__}: {str(err).splitlines()[0][:200]}"
            rows += [{**cell(m).key(), "outcome": "unsupported", "message": message}
                     for m in config["methods"] if cell(m).cell_id not in done]
            continue
        for method in config["methods"]:
            if cell(method).cell_id in done:
                continue
            row = {**cell(method).key(), "truth_source": "sympy",
                   "tol": config.get("tolerances", {}).get(method, tolerance(method, kind))}
            try:
                got = api.prepared(kind, inst.expr, inst.wrt, shapes, method)(inst.point)
                row.update(compare_gradients(got, truth, row["tol"]))
            except Exception as err:  # noqa: BLE001 - a method's failure is its row
                row.update(outcome="error", message=f"{type(err).__name__}: {err}"[:300])
            rows.append(row)
    return rows


def run(config: dict, run: Run, settings: Settings) -> None:
    """The sweep (in a worker with limits unless ``isolate`` is false; ``repeats`` passes, each
    cell's repeats re-timing the derivative its worker prepared), then the truth rows."""
    settings = dataclasses.replace(
        settings, problems=PROBLEMS_HOOK, prepare=PREPARE_HOOK,
        time_limit=config.get("time_limit", 120.0),
        memory_limit_mib=config.get("memory_limit_mib", settings.memory_limit_mib),
        min_time=config.get("min_time", 0.0005), samples=config.get("samples", 9),
        max_time=config.get("max_time", 0.1),
        tolerances=tuple(sorted(config.get("tolerances", {}).items())))
    run_sweep(cells(config), run, settings, isolate=config.get("isolate", True),
              repeats=repeats_of(config), timing=True)
    for row in truth_rows(config, run.done):
        run.append(row)


def section(df: pd.DataFrame, config: dict, figdir: Path) -> object:
    """The report section: the figure, the table of ratios beside GradBench's, the findings."""
    from ..lab.report import Section

    fig = figure(df, config, Path(figdir) / f"{NAME}.png")
    caption = ("Derivative / primal per workload, one panel per eval: difflab's methods "
               "(solid, medians over the repeats with 95% intervals) beside the ratios "
               "GradBench publishes for jax, pytorch and manual (broken lines; nightly "
               "2026-03-14, commit f26651a7). Lower is cheaper; a method's line ends where it "
               "gave up (the table says why).")
    alt = ("Small-multiple log-scale line plots, one per GradBench eval, of the ratio "
           "derivative time over primal time against workload size for each method and for "
           "GradBench's published tools.")
    return Section(NAME, TITLE, QUESTION, [(fig, caption, alt)], table(df, config),
                   findings(df, config), summary(df, config))
