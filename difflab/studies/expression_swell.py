"""Expression swell: how big a symbolic derivative gets with depth — and the tape beside it.

The logistic map l_1 = x, l_{k+1} = 4 l_k (1 - l_k) uses l_k twice per step, so written as a
tree l_n has ~2^n nodes although its DAG has 3(n - 1) operations. Baydin et al. 2018 (JMLR
18:153, table 1) print l_1 .. l_4, their derivatives and the simplified derivatives to show
"expression swell". Measured here, per n (and per depth d of nested compositions
f(f(...f(x))) with f = sin, tanh, exp(-u), sigmoid and the spelled-out 1/(1 + exp(-u))):

    IR of f          DAG nodes and tree nodes (``metrics.size``)
    d f/dx (SymPy)   the chain rule's raw result as a tree (``info.raw_ops``, every shared
                     use counted again), its distinct nodes (``info.raw_dag_ops``), the
                     operations after common-subexpression elimination (``info.cse_ops``)
    d f/dx (IR)      the raw derivative brought back into the IR (``from_sympy``): DAG nodes
                     and tree nodes
    reverse tape     forward entries + backward entries of ``reverse.compile_program``
    times            plain ``sympy.diff`` (walks the tree: the textbook way), difflab's
                     symbolic preparation (chain rule over the DAG, one shared program), and the
                     evaluation of f, of the symbolic gradient and of the reverse gradient

Reverse mode records each operation once and sweeps it back once: its tape grows like the
DAG, linearly in n — not exponentially, as some articles claim. The rows are custom (no
runner cells), one per (problem, size), each with a ``Cell`` id so a resumed run skips them.

Repeats: the sizes and the preparation and diff times are measured once (the first pass); the
three evaluation times (f, the symbolic gradient, reverse mode) are measured in every one of
``repeats`` passes over all rows, each pass a row per (problem, size) with its ``rep``, so
the report gives each a median with its interval.

This module measures the rows and assembles the report section; the rows are read back into
the table, the figures and the findings by ``expression_swell_report``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import sympy

from .. import reverse, symbolic
from ..core import sympy_bridge, sympy_import
from ..core.evaluate import clean_point
from ..core.metrics import size
from ..core.plan import compile_plan
from ..lab import Cell, Run, Settings
from ..lab.problems import get_problem
from ..lab.repeats import repeats_of
from ..lab.timing import measure

# reading the rows back (table, figures, findings) is expression_swell_report's; its public
# names stay importable from here
from .expression_swell_report import BASE_COLORS as BASE_COLORS
from .expression_swell_report import TEXT_WIDTH as TEXT_WIDTH
from .expression_swell_report import findings as findings
from .expression_swell_report import growth_per_step as growth_per_step
from .expression_swell_report import logistic as logistic
from .expression_swell_report import nested as nested
from .expression_swell_report import power_law as power_law
from .expression_swell_report import shorten as shorten
from .expression_swell_report import sizes_figure as sizes_figure
from .expression_swell_report import summary as summary
from .expression_swell_report import table as table
from .expression_swell_report import times_figure as times_figure

NAME = "expression_swell"
TITLE = "Expression swell: symbolic derivatives against the tape"
QUESTION = ("How fast does a symbolic derivative grow with the depth of the expression — "
            "as a tree, after CSE, as a DAG — and how does the reverse-mode tape grow?")


# ---- Baydin's table: the expressions themselves --------------------------------------------
def baydin_expressions(n: int) -> dict[str, object]:
    """l_n, d l_n/dx as SymPy's diff writes it, and the simplified derivative (expanded,
    common factor taken out), with integer coefficients as in Baydin et al.'s table 1.

    Args:
        n: the index of the logistic map's iterate (l_1 = x).
    Returns:
        {"l", "d", "simplified"}: SymPy expressions.
    """
    x = sympy.Symbol("x")
    l = x
    for _ in range(n - 1):
        l = 4 * l * (1 - l)
    d = sympy.diff(l, x)
    return {"l": l, "d": d, "simplified": sympy.factor_terms(sympy.expand(d))}


# ---- measuring one expression --------------------------------------------------------------
def derivative_ir_size(expr, shapes: dict):
    """The raw chain-rule derivative (as difflab's symbolic method builds it) converted back
    into the IR: its ``Size`` (DAG nodes, tree nodes)."""
    symbols = symbolic.input_symbols(expr.variables, shapes)
    outputs = list(sympy_bridge.to_sympy_arrays(expr, shapes, symbols).ravel())
    x = symbols["x"].ravel()[0]
    d = symbolic.jacobian_exprs(outputs, [x])[0][0]
    return size(sympy_import.from_sympy(d))


def _timing(config: dict) -> dict:
    return dict(min_time=config.get("min_time", 0.002), samples=config.get("samples", 3),
                max_time=config.get("max_time", 0.05))


def evaluation_times(timers: dict, config: dict) -> dict:
    """{"t_f", "t_reverse", "t_symbolic"}: the fastest batch of each timer (no argument)."""
    with np.errstate(all="ignore"):
        return {name: measure(fn, **_timing(config)).min for name, fn in timers.items()}


_timers: dict = {}   # (problem, params) -> the evaluations a repeat times again


def _key(problem: str, params: dict) -> tuple:
    return problem, repr(sorted(params.items()))


def timers(problem: str, params: dict) -> dict:
    """The evaluations of one row as calls without arguments: f (the tape's forward pass),
    reverse mode's gradient and, where the symbolic method takes the expression, its
    gradient. Kept per process: the repeats time the same prepared functions."""
    key = _key(problem, params)
    if key not in _timers:
        inst = get_problem(problem).instance(params, 0)
        point = clean_point(compile_plan(inst.expr), inst.point)
        shapes = {"x": ()}
        program = reverse.compile_program(inst.expr, ("x",), shapes)
        rev = reverse.prepare(inst.expr, ("x",), shapes)
        out = {"t_f": lambda: program.record(point), "t_reverse": lambda: rev(point)}
        try:
            sym = symbolic.prepare(inst.expr, ("x",), shapes)
            out["t_symbolic"] = lambda: sym(point)
        except ValueError:  # too deep / too large for SymPy: no symbolic time
            pass
        _timers[key] = out
    return _timers[key]


def measure_sizes(problem: str, params: dict, config: dict) -> dict:
    """Every size and time of the module docstring for one expression (f of one variable x).

    Returns:
        the row's fields; the symbolic ones are missing (and ``outcome`` is "unsupported",
        with a message) where the symbolic method refuses the expression.
    """
    inst = get_problem(problem).instance(params, 0)
    expr = inst.expr
    plan = compile_plan(expr)
    point = clean_point(plan, inst.point)
    shapes = {"x": ()}
    timing = _timing(config)
    f_size = size(expr)
    row: dict = {"outcome": "ok", "message": "", "f_dag_nodes": f_size.dag_nodes,
                 "f_tree_nodes": f_size.tree_nodes, "f_ops": f_size.ops,
                 "f_depth": f_size.depth}
    t0 = time.perf_counter()
    rev = reverse.prepare(expr, ("x",), shapes)
    row["reverse_prepare_s"] = time.perf_counter() - t0
    row["tape_forward"] = rev.info["forward_steps"]
    row["tape_backward"] = rev.info["backward_steps"]
    row["tape_length"] = row["tape_forward"] + row["tape_backward"]
    program = reverse.compile_program(expr, ("x",), shapes)
    kept = _timers[_key(problem, params)] = {"t_f": lambda: program.record(point),
                                             "t_reverse": lambda: rev(point)}
    with np.errstate(all="ignore"):
        row["t_f"] = measure(kept["t_f"], **timing).min
        row["t_reverse"] = measure(kept["t_reverse"], **timing).min
    try:
        sym = symbolic.prepare(expr, ("x",), shapes)
    except ValueError as err:  # SymbolicTooLarge: too deep / too large for SymPy
        row.update(outcome="unsupported", message=f"symbolic: {err}".split("\n")[0][:300])
        return row
    kept["t_symbolic"] = lambda: sym(point)
    info = sym.info
    row.update(sym_raw_ops=info["raw_ops"], sym_raw_dag_ops=info["raw_dag_ops"],
               sym_cse_ops=info["cse_ops"], sym_primal_ops=info["primal_ops"],
               sym_prepare_s=info["prepare_seconds"], sym_diff_s=info["diff_seconds"],
               sym_cse_s=info["cse_seconds"], sym_lambdify_s=info["lambdify_seconds"])
    with np.errstate(all="ignore"):
        row["t_symbolic"] = measure(kept["t_symbolic"], **timing).min
    try:
        d_size = derivative_ir_size(expr, shapes)
        row.update(d_ir_dag_nodes=d_size.dag_nodes, d_ir_tree_nodes=d_size.tree_nodes)
    except (ValueError, RecursionError) as err:  # a SymPy function the grammar cannot say
        row["message"] = f"derivative as IR: {err}".split("\n")[0][:300]
    return row


def baydin_fields(n: int, config: dict, naive: bool) -> dict:
    """Baydin's columns for l_n: the texts (n <= text_n), the sizes of the integer SymPy forms
    (simplified only for n <= simplify_max_n), and plain sympy.diff's time (if ``naive``)."""
    out: dict = {}
    x = sympy.Symbol("x")
    l = x
    for _ in range(n - 1):
        l = 4 * l * (1 - l)
    if naive:
        t0 = time.perf_counter()
        d = sympy.diff(l, x)
        out["naive_diff_s"] = time.perf_counter() - t0
        out["naive_ops"] = symbolic.tree_ops([d])
    if n <= config.get("simplify_max_n", 6):
        t0 = time.perf_counter()
        e = baydin_expressions(n)
        out["simplify_s"] = time.perf_counter() - t0   # expanding costs ~7x per step
        out["simplified_ops"] = symbolic.tree_ops([e["simplified"]])
        if n <= config.get("text_n", 4):
            out.update({f"text_{k}": str(v) for k, v in e.items()})
    return out


# ---- running --------------------------------------------------------------------------------
def plan_rows(config: dict) -> list[tuple[str, dict]]:
    """(problem, params) of every row: the logistic map's n, then each base's depths."""
    rows = [("logistic_map", {"n": n}) for n in config["logistic_n"]]
    rows += [("nested", {"depth": d, "base": b}) for b in config["nested_bases"]
             for d in config["nested_depths"]]
    return rows


def warm_up() -> None:
    """Pay one-off costs (SymPy's printers and lambdify, first imports) before measuring, on
    an expression no row uses, so the first row's preparation time is not inflated."""
    from ..core import expr as ir

    expr = 4.0 * ir.sin(ir.variable("x")) * (1.0 - ir.tanh(ir.variable("x")))
    symbolic.prepare(expr, ("x",), {"x": ()})
    reverse.prepare(expr, ("x",), {"x": ()})
    sympy.diff(4 * sympy.Symbol("x") * (1 - sympy.Symbol("x")), sympy.Symbol("x"))


def row_cell(problem: str, params: dict) -> Cell:
    return Cell(NAME, problem, params, "sizes", "grad", 0)


def run(config: dict, run: Run, settings: Settings) -> None:
    """Measure every row not yet in the run: the first pass every size and time, the later
    passes the evaluation times again. Plain sympy.diff runs for increasing n until one call
    takes longer than ``naive_max_seconds`` (it grows ~2.4x per step)."""
    warm_up()
    cap = config.get("naive_max_seconds", 1.0)
    naive_times = [r.get("naive_diff_s") for r in run.rows() if r.get("naive_diff_s")]
    naive_on = not any(t > cap for t in naive_times)
    for rep in range(repeats_of(config)):
        for problem, params in plan_rows(config):
            cell = row_cell(problem, params).repeat(rep)
            if cell.cell_id in run.done:
                continue
            if rep:
                run.append({**cell.key(), "outcome": "ok", "message": "",
                            **evaluation_times(timers(problem, params), config)})
                continue
            row = {**cell.key(), **measure_sizes(problem, params, config)}
            if problem == "logistic_map":
                row.update(baydin_fields(params["n"], config, naive_on))
                if row.get("naive_diff_s", 0) > cap:
                    naive_on = False
            run.append(row)


# ---- the section ---------------------------------------------------------------------------
def section(df: pd.DataFrame, config: dict, figdir: Path):
    """The report section: two figures (sizes, times), the Baydin-style table, findings."""
    from ..lab.report import Section

    if "experiment" in df:
        df = df[df["experiment"] == NAME]
    figs = [(sizes_figure(df, Path(figdir) / f"{NAME}_sizes.png"),
             "Sizes of the symbolic derivative (as a tree, after CSE, as a DAG) and of the "
             "reverse tape, against the logistic map's n and the nesting depth.",
             "Two log-scale line plots: left, node and operation counts against n for the "
             "logistic map's derivative in each representation; right, the same for nested "
             "compositions against depth."),
            (times_figure(df, Path(figdir) / f"{NAME}_times.png"),
             "Time to prepare and to evaluate the derivative: SymPy's tree walk, difflab's "
             "symbolic DAG, the reverse tape.",
             "Three line plots: preparation time and evaluation time against the logistic "
             "map's n for each method, and evaluation time against nesting depth.")]
    return Section(NAME, TITLE, QUESTION, figs, table(df, config), findings(df, config),
                   summary(df))
