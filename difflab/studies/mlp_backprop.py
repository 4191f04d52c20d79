"""Backpropagation through an MLP: every method against a hand-written backward pass, the cost
against width and depth, and short training runs (SGD, momentum, Adam) driven by each method.

The reference here is NOT another differentiator: ``hand_backprop`` (``mlp_reference``) is the
textbook backward pass written in NumPy, layer by layer (delta_L = dE/dout, dW_k = h_{k-1}^T
delta_k, db_k = sum_batch delta_k, delta_{k-1} = (delta_k W_k^T) * act'(z_{k-1})). The sweep's
cells reach it through ``get_problem`` (``Settings.problems``), so every row's ``max_rho`` is
the distance to that pass. Training uses one fixed 1-D regression (y = sin x on a seeded sample
of x) and one initialisation; only the gradient changes between methods, the loss is evaluated
by the same NumPy plan for all, so exact methods must trace the same loss curve to rounding.

The cost sweep runs ``repeats`` passes over its cells (each time a median over them, with its
interval). The cost of a training step's gradient is measured the same way: one more cell per
training method (problem ``mlp_train``: the training network at the training run's initial
point), repeated and interleaved with the sweep, so its interval covers the noise between
passes. The training runs themselves keep every step's time too (in the driver process, one
run each), as a second look at the step cost inside an optimizer loop. ``max_width`` caps a
method's width sweep where its cost would only spend the report's time budget (the report says
where a cap or a limit ended a curve).

This module measures (the problem hook, the sweep's cells, the training runs) and assembles the
report section; the rows are read back into figures, the table and the findings by
``mlp_backprop_report``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import api
from ..core.evaluate import bind, run_value
from ..core.plan import compile_plan
from ..lab import Cell, Run, Settings, run_sweep
from ..lab.families import mlp_parameters, sample_mlp_loss
from ..lab.hand_truth import HandTruth
from ..lab.problems import get_problem as registry_problem
from ..lab.repeats import repeats_of
from . import mlp_backprop_report as report

# the hand-written MLP lives in mlp_reference, the rows read back (figures, table, findings)
# in mlp_backprop_report; the public names they took from here stay importable from here
from .mlp_backprop_report import EXACT as EXACT
from .mlp_backprop_report import LINE_STYLES as LINE_STYLES
from .mlp_reference import ACTIVATIONS as ACTIVATIONS
from .mlp_reference import hand_backprop as hand_backprop
from .mlp_reference import n_parameters as n_parameters

NAME = "mlp_backprop"
TITLE = "Backpropagation through an MLP"
QUESTION = ("Do all methods reproduce the hand-written backward pass of an MLP, how does their "
            "cost grow with width and depth, and do they train a network identically?")
SWEEP_KEYS = ("batch", "inputs", "outputs", "activation")


def _hand_truth(inst) -> dict:
    p = inst.params
    grads = hand_backprop(inst.point, p["depth"], p["activation"])[1]
    return {name: grads[name] for name in inst.wrt}


class TrainingPoint:
    """mlp_loss at the regression task's point: the seeded weights of ``sample_mlp_loss`` and
    y = sin x on ``batch`` sorted points of [-pi, pi] (what ``train`` starts from)."""

    def __init__(self, inner):
        self.inner = inner

    def resolve(self, params: dict | None = None) -> dict:
        return self.inner.resolve(params)

    def instance(self, params: dict | None = None, seed: int = 0):
        inst = self.inner.instance(params, seed)
        return dataclasses.replace(inst, point=training_point(inst.params, seed))


def get_problem(name: str):
    """The problem hook for ``Settings.problems``, with the hand-written truth: ``mlp_loss``
    (the sweep's sampled points) or ``mlp_train`` (the training task's point)."""
    if name == "mlp_loss":
        return HandTruth(registry_problem(name), "grad", _hand_truth)
    if name == "mlp_train":
        return HandTruth(TrainingPoint(registry_problem("mlp_loss")), "grad", _hand_truth)
    raise ValueError(f"{NAME} only knows mlp_loss and mlp_train, got {name!r}")


# ---- the cost sweep -------------------------------------------------------------------------
def sweep_cells(config: dict) -> list[Cell]:
    """Width sweep (depth fixed) and depth sweep (width fixed), method by method, sizes rising.

    ``depth_methods`` may leave out a method that cannot reach the sweep's width at all
    (symbolic: it times out long before width 16), sparing a certain timeout; ``max_width``
    caps a method's widths.
    """
    base = {k: config[k] for k in SWEEP_KEYS}
    caps = config.get("max_width", {})
    cells = []
    for method in config["methods"]:
        cells += [Cell(NAME, "mlp_loss", {**base, "width": w, "depth": config["sweep_depth"]},
                       method) for w in config["widths"] if w <= caps.get(method, w)]
        if method in config.get("depth_methods", config["methods"]):
            cells += [Cell(NAME, "mlp_loss", {**base, "width": config["sweep_width"],
                                              "depth": d}, method) for d in config["depths"]]
    train = training_params(config)
    cells += [Cell(NAME, "mlp_train", train, method, seed=config["seed"])
              for method in config["train_methods"]]
    return cells


# ---- training -------------------------------------------------------------------------------
def _sgd(p, g, state, lr, t):
    return p - lr * g


def _momentum(p, g, state, lr, t, beta=0.9):
    state["v"] = beta * state.get("v", 0.0) + g        # heavy ball: v <- beta v + g
    return p - lr * state["v"]


def _adam(p, g, state, lr, t, b1=0.9, b2=0.999, eps=1e-8):
    state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
    state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
    m_hat, v_hat = state["m"] / (1 - b1 ** t), state["v"] / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


OPTIMIZERS = {"sgd": _sgd, "momentum": _momentum, "adam": _adam}


def training_params(config: dict) -> dict:
    """mlp_loss's parameters for the regression task's network (1 input, 1 output, tanh)."""
    return {"width": config["train_width"], "depth": config["train_depth"],
            "batch": config["train_batch"], "inputs": 1, "outputs": 1,
            "activation": "tanh", "init": "xavier"}


def training_point(params: dict, seed: int) -> dict:
    """Xavier weights and zero biases drawn by ``seed``, then X = sorted x ~ U(-pi, pi) and
    Y = sin X (the same draws for the training runs and the step-cost cells)."""
    rng = np.random.default_rng(seed)
    point = sample_mlp_loss(rng, params)
    x = np.sort(rng.uniform(-np.pi, np.pi, size=params["batch"]))
    point["X"], point["Y"] = x[:, None], np.sin(x)[:, None]
    return point


def training_problem(config: dict):
    """The regression task: (expr, point at the initial weights, wrt, n parameters)."""
    params = training_params(config)
    expr = registry_problem("mlp_loss").build(params)
    point = training_point(params, config["seed"])
    wrt = mlp_parameters(params)
    return expr, point, wrt, int(sum(point[n].size for n in wrt))


def train(expr, point: dict, wrt, gradient, optimizer: str, lr: float, steps: int) -> dict:
    """Gradient descent with ``optimizer``; ``gradient(point)`` is a method's prepared gradient.

    Returns:
        {"loss": loss before each step and after the last, "grad_s": seconds per gradient
        call, "f_s": seconds per loss evaluation}.
    """
    plan = compile_plan(expr)
    point = {n: np.array(v, dtype=float) for n, v in point.items()}
    update, state = OPTIMIZERS[optimizer], {n: {} for n in wrt}
    losses, grad_s, f_s = [], [], []
    for t in range(1, steps + 2):
        t0 = time.perf_counter()
        losses.append(float(run_value(plan, bind(plan, point))))  # same f for all
        f_s.append(time.perf_counter() - t0)
        if t > steps:
            break
        t0 = time.perf_counter()
        g = gradient(point)
        grad_s.append(time.perf_counter() - t0)
        for n in wrt:
            point[n] = update(point[n], np.asarray(g[n]), state[n], lr, t)
    return {"loss": losses, "grad_s": grad_s, "f_s": f_s}


def train_rows(config: dict, done: set):
    """One row per (optimizer, method) not in ``done``: the loss curve and per-step cost."""
    expr, point, wrt, n = training_problem(config)
    shapes = {name: np.shape(v) for name, v in point.items()}
    for method in config["train_methods"]:
        todo = [(o, lr) for o, lr in config["optimizers"].items()
                if f"train:{o}:{method}" not in done]
        if not todo:
            continue
        t0 = time.perf_counter()
        try:  # one preparation serves every optimizer (same expression and shapes)
            gradient, error = api.prepared("grad", expr, wrt, shapes, method), None
        except ValueError as err:  # e.g. symbolic over its budget
            gradient, error = None, str(err)[:300]
        prepare_s = time.perf_counter() - t0
        for optimizer, lr in todo:
            row = {"cell_id": f"train:{optimizer}:{method}", "experiment": NAME,
                   "kind": "train", "method": method, "optimizer": optimizer, "lr": lr,
                   "n_params": n, "steps": config["train_steps"], "prepare_s": prepare_s}
            if gradient is None:
                yield {**row, "outcome": "unsupported", "message": error}
                continue
            out = train(expr, point, wrt, gradient, optimizer, lr, config["train_steps"])
            yield {**row, "outcome": "ok", "loss": out["loss"], "final_loss": out["loss"][-1],
                   "grad_ms": 1e3 * float(np.median(out["grad_s"])),
                   "f_ms": 1e3 * float(np.median(out["f_s"])),
                   "grad_s": out["grad_s"]}  # every step's time: the interval


def run(config: dict, run: Run, settings: Settings) -> None:
    """The cost sweep (cells checked against the hand-written pass), then the training rows.

    The worker warms JAX (and, for the symbolic cells, SymPy) up before its first cell, so
    the cells' limits measure the methods' work, not their start-up.
    """
    settings = dataclasses.replace(
        settings, problems=f"difflab.studies.{NAME}:get_problem",
        time_limit=config["time_limit"], min_time=config["min_time"],
        samples=config["samples"], max_time=config["max_time"])
    run_sweep(sweep_cells(config), run, settings, isolate=config["isolate"],
              repeats=repeats_of(config), timing=True)
    for row in train_rows(config, run.done):
        run.append(row)


# ---- the report section ---------------------------------------------------------------------
def section(df: pd.DataFrame, config: dict, figdir: Path):
    """Figures (time vs width/depth, loss curves, per-step cost), the table and findings."""
    from ..lab.report import Section

    figdir = Path(figdir)
    sweeps = report.sweeps(df, config)
    train = report.training(df)
    figures = [(report.cost_figure(sweeps, config, figdir / f"{NAME}_cost.png"),
                "Seconds per gradient of the MLP loss against width and against depth, "
                "every method, with f itself and the time limit.",
                "Two log-scale line plots, time per gradient against width and against depth, "
                "one line per method, a dashed line for one evaluation of f and a dotted line "
                "at the time limit.")]
    if len(train[train["outcome"] == "ok"]):
        figures += [(report.loss_figure(train, config, figdir / f"{NAME}_loss.png"),
                     "Training loss curves with each method's gradients, one panel per "
                     "optimizer: the curves lie on top of each other.",
                     "Three line plots of training loss against step for SGD, momentum and "
                     "Adam, every method's curve overlapping, the legend giving each one's "
                     "largest relative difference from reverse mode."),
                    (report.step_figure(df, config, figdir / f"{NAME}_step_cost.png"),
                     "Cost of one training step's gradient by each method: the gradient "
                     "timed alone in repeated cells, and inside the training loop.",
                     "Bar chart on a log scale of milliseconds per gradient for each method "
                     "with 95% error bars, a black dot per method for the median step inside "
                     "its training loop, each bar labelled with its time and its multiple of "
                     "reverse mode, a dashed line at one loss evaluation.")]
    table = report.table(sweeps, df, config)
    text, summary = report.findings(sweeps, df, table, config)
    return Section(NAME, TITLE, QUESTION, figures, table, text, summary)
