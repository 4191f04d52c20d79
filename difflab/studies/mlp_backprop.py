"""Backpropagation through an MLP: every method against a hand-written backward pass, the cost
against width and depth, and short training runs (SGD, momentum, Adam) driven by each method.

The reference here is NOT another differentiator: ``hand_backprop`` is the textbook backward
pass written in NumPy, layer by layer (delta_L = dE/dout, dW_k = h_{k-1}^T delta_k, db_k =
sum_batch delta_k, delta_{k-1} = (delta_k W_k^T) * act'(z_{k-1})). The sweep's cells reach it
through ``get_problem`` (``Settings.problems``), so every row's ``max_rho`` is the distance to
that pass. Training uses one fixed 1-D regression (y = sin x on a seeded sample of x) and one
initialisation; only the gradient changes between methods, the loss is evaluated by the same
NumPy plan for all, so exact methods must trace the same loss curve to rounding.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import api
from ..evaluate import bind
from ..evaluate import run as run_plan
from ..lab import Cell, Run, Settings, run_sweep
from ..lab.families import mlp_layers, mlp_parameters, sample_mlp_loss
from ..lab.problems import HandTruth
from ..lab.problems import get_problem as registry_problem
from ..plan import compile_plan

NAME = "mlp_backprop"
TITLE = "Backpropagation through an MLP"
QUESTION = ("Do all methods reproduce the hand-written backward pass of an MLP, how does their "
            "cost grow with width and depth, and do they train a network identically?")
EXACT = ("reverse", "jax", "forward", "symbolic")
SWEEP_KEYS = ("batch", "inputs", "outputs", "activation")


# ---- the hand-written backward pass -----------------------------------------------------
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^-z), without overflow


# activation -> (act(z), act'(z) written from a = act(z))
ACTIVATIONS = {
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "sigmoid": (_sigmoid, lambda a: a * (1.0 - a)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0.0).astype(float)),  # 0 at 0
}


def hand_backprop(point: dict, depth: int, activation: str) -> tuple[float, dict]:
    """Loss and gradient of ``mlp_loss`` by the textbook backward pass (NumPy, by hand).

    Args:
        point: X (B, I), Y (B, O), W1, b1, ..., W_L, b_L (L = depth + 1 affine layers).
        depth: the number of hidden layers.
        activation: "tanh", "sigmoid" or "relu" (the output layer is linear).
    Returns:
        (mean squared error, {"W1": dE/dW1, "b1": dE/db1, ...}).
    """
    act, act_prime = ACTIVATIONS[activation]
    layers = mlp_layers(depth)
    h = [np.asarray(point["X"], dtype=float)]          # h[k] = output of layer k, h[0] = X
    for k in range(1, layers + 1):
        z = h[-1] @ point[f"W{k}"] + point[f"b{k}"]
        h.append(act(z) if k < layers else z)
    r = h[-1] - point["Y"]
    loss = float(np.mean(r * r))
    delta = 2.0 * r / r.size                            # dE/dz_L for E = mean(r^2)
    grads = {}
    for k in range(layers, 0, -1):
        grads[f"W{k}"] = h[k - 1].T @ delta             # z_k = h_{k-1} W_k + b_k
        grads[f"b{k}"] = delta.sum(axis=0)              # b_k broadcasts over the batch
        if k > 1:
            delta = (delta @ point[f"W{k}"].T) * act_prime(h[k - 1])
    return loss, grads


def _hand_truth(inst) -> dict:
    p = inst.params
    grads = hand_backprop(inst.point, p["depth"], p["activation"])[1]
    return {name: grads[name] for name in inst.wrt}


def get_problem(name: str):
    """The problem hook for ``Settings.problems``: mlp_loss with the hand-written truth."""
    if name != "mlp_loss":
        raise ValueError(f"{NAME} only knows mlp_loss, got {name!r}")
    return HandTruth(registry_problem(name), "grad", _hand_truth)


def n_parameters(width: int, depth: int, inputs: int, outputs: int) -> int:
    """Scalar weights and biases of the MLP."""
    sizes = [inputs] + [width] * depth + [outputs]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


# ---- the cost sweep -------------------------------------------------------------------------
def sweep_cells(config: dict) -> list[Cell]:
    """Width sweep (depth fixed) and depth sweep (width fixed), method by method, sizes rising.

    ``depth_methods`` may leave out a method that cannot reach the sweep's width at all
    (symbolic: it times out long before width 16), sparing a certain timeout.
    """
    base = {k: config[k] for k in SWEEP_KEYS}
    cells = []
    for method in config["methods"]:
        cells += [Cell(NAME, "mlp_loss", {**base, "width": w, "depth": config["sweep_depth"]},
                       method) for w in config["widths"]]
        if method in config.get("depth_methods", config["methods"]):
            cells += [Cell(NAME, "mlp_loss", {**base, "width": config["sweep_width"],
                                              "depth": d}, method) for d in config["depths"]]
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


def training_problem(config: dict):
    """The regression task: (expr, point at the initial weights, wrt, n parameters)."""
    params = {"width": config["train_width"], "depth": config["train_depth"],
              "batch": config["train_batch"], "inputs": 1, "outputs": 1,
              "activation": "tanh", "init": "xavier"}
    expr = registry_problem("mlp_loss").build(params)
    rng = np.random.default_rng(config["seed"])
    point = sample_mlp_loss(rng, params)               # Xavier weights, zero biases
    x = np.sort(rng.uniform(-np.pi, np.pi, size=config["train_batch"]))
    point["X"], point["Y"] = x[:, None], np.sin(x)[:, None]
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
        losses.append(float(run_plan(plan, bind(plan, point))[plan.out]))  # same f for all
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
                   "f_ms": 1e3 * float(np.median(out["f_s"]))}


def run(config: dict, run: Run, settings: Settings) -> None:
    """The cost sweep (cells checked against the hand-written pass), then the training rows.

    The worker warms JAX up before its first cell (``Settings.preload``), so the JAX cells'
    limits measure JAX's work, not its start-up.
    """
    settings = dataclasses.replace(
        settings, problems=f"difflab.studies.{NAME}:get_problem",
        time_limit=config["time_limit"], min_time=config["min_time"],
        samples=config["samples"], max_time=config["max_time"])
    cells = [c for c in sweep_cells(config) if c.cell_id not in run.done]
    run_sweep(cells, run, settings, isolate=config["isolate"])
    for row in train_rows(config, run.done):
        run.append(row)


# ---- the report section ---------------------------------------------------------------------
LINE_STYLES = {"reverse": dict(lw=4.0, alpha=0.35), "jax": dict(ls="--", lw=1.6),
               "forward": dict(ls=":", lw=2.0), "symbolic": dict(ls="-.", lw=1.4),
               "numeric": dict(lw=0.9)}


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(np.nan, index=df.index)


def _sweeps(df: pd.DataFrame, config: dict) -> dict[str, pd.DataFrame]:
    """The cell rows of the width sweep and of the depth sweep (the shared cell in both)."""
    cells = df[_col(df, "kind") == "grad"]
    return {"width": cells[_col(cells, "params.depth") == config["sweep_depth"]],
            "depth": cells[_col(cells, "params.width") == config["sweep_width"]]}


def _n(config: dict, axis: str, size: int) -> int:
    """Parameters of the sweep's network at ``size`` along ``axis``."""
    width, depth = ((size, config["sweep_depth"]) if axis == "width"
                    else (config["sweep_width"], size))
    return n_parameters(width, depth, config["inputs"], config["outputs"])


def _ok(rows: pd.DataFrame, method: str, axis: str) -> pd.DataFrame:
    mine = rows[(rows["method"] == method) & (rows["outcome"] == "ok")]
    return mine.sort_values(f"params.{axis}")


def _stop(rows: pd.DataFrame, method: str, axis: str) -> str:
    """' (timeout from width 64)' at a method's first failing size, or ''."""
    bad = rows[(rows["method"] == method) & (rows["outcome"] != "ok")]
    if bad.empty:
        return ""
    first = bad.sort_values(f"params.{axis}").iloc[0]
    return f" ({first['outcome']} from {axis} {int(first[f'params.{axis}'])})"


def _cost_figure(sweeps: dict, config: dict, path: Path) -> Path:
    from ..lab import plotting

    fig, axes = plotting.figure(11.5, 4.4, ncols=2, sharey=True)
    for ax, axis in zip(axes, ("width", "depth"), strict=True):
        rows = sweeps[axis]
        methods = config["methods"] if axis == "width" else \
            config.get("depth_methods", config["methods"])
        for method in methods:
            ok = _ok(rows, method, axis)
            ax.plot(ok[f"params.{axis}"], ok["time_median"], marker=plotting.marker(method),
                    color=plotting.color(method), label=method + _stop(rows, method, axis))
        f = _ok(rows, "reverse", axis)
        ax.plot(f[f"params.{axis}"], f["f_median"], color="black", ls="--", lw=1,
                label="f itself (NumPy plan)")
        ax.axhline(config["time_limit"], color="red", lw=0.8, ls=":",
                   label=f"time limit per cell ({config['time_limit']:g} s incl. preparing)")
        sizes = sorted(set(rows[f"params.{axis}"].dropna().astype(int)))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([f"{s}\n{_n(config, axis, s)}" for s in sizes], fontsize=8)
        other = (f"depth {config['sweep_depth']}" if axis == "width"
                 else f"width {config['sweep_width']}")
        ax.set_xlabel(f"{axis} (second line: n parameters)")
        ax.set_title(f"Gradient time against {axis} ({other}, batch {config['batch']}, "
                     f"{config['activation']})", fontsize=10)
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    axes[0].set_ylabel("seconds per gradient (median)")
    return plotting.save(fig, path)


def _curves(train: pd.DataFrame) -> dict:
    """{(optimizer, method): loss curve} of the finished training rows."""
    ok = train[train["outcome"] == "ok"]
    return {(r["optimizer"], r["method"]): np.asarray(r["loss"], dtype=float)
            for _, r in ok.iterrows()}


def _deviation(curves: dict, method: str, optimizers=None) -> float:
    """Largest relative difference of a method's loss curves from reverse mode's."""
    devs = [float(np.max(np.abs(c - curves[(o, "reverse")]) / np.abs(curves[(o, "reverse")])))
            for (o, m), c in curves.items()
            if m == method and (o, "reverse") in curves and (optimizers is None or o in optimizers)]
    return max(devs) if devs else float("nan")


def _loss_figure(train: pd.DataFrame, config: dict, path: Path) -> Path:
    from ..lab import plotting

    curves = _curves(train)
    optimizers = list(config["optimizers"])
    fig, axes = plotting.figure(12, 3.9, ncols=len(optimizers), sharey=True)
    for ax, opt in zip(np.atleast_1d(axes), optimizers, strict=True):
        for method in config["train_methods"]:
            if (opt, method) not in curves:
                continue
            c = curves[(opt, method)]
            dev = "" if method == "reverse" else \
                f" (max rel. diff. {_deviation(curves, method, [opt]):.0e})"
            ax.plot(np.arange(len(c)), c, color=plotting.color(method), label=method + dev,
                    **LINE_STYLES.get(method, {}))
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(f"{opt}, learning rate {config['optimizers'][opt]:g}", fontsize=10)
        ax.legend(fontsize=7, title="differences from reverse mode", title_fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("training loss (mean squared error)")
    fig.suptitle(f"Fitting sin(x) with a 1-{config['train_width']}-1 tanh MLP "
                 f"({config['train_batch']} points): the loss curve of each gradient method",
                 fontsize=10)
    return plotting.save(fig, path)


def _step_figure(train: pd.DataFrame, config: dict, path: Path) -> Path:
    from ..lab import plotting

    ok = train[train["outcome"] == "ok"]
    per = ok.groupby("method")[["grad_ms", "f_ms"]].median()
    methods = [m for m in config["train_methods"] if m in per.index]
    ms = [float(per.loc[m, "grad_ms"]) for m in methods]
    base = float(per.loc["reverse", "grad_ms"]) if "reverse" in per.index else np.nan
    f_ms = float(per["f_ms"].median())
    fig, ax = plotting.figure(7, 4.2)
    ax.bar(methods, ms, color=[plotting.color(m) for m in methods])
    for i, v in enumerate(ms):
        ax.text(i, v * 1.1, f"{v:.3g} ms\n{v / base:.1f}x reverse", ha="center", fontsize=8)
    ax.axhline(f_ms, color="black", ls="--", lw=1, label=f"one loss evaluation f: {f_ms:.3g} ms")
    ax.set_yscale("log")
    ax.set_ylim(min(ms + [f_ms]) / 3, max(ms + [f_ms]) * 8)
    ax.set_ylabel("milliseconds per gradient (median over steps)")
    ax.set_title(f"Cost of one training step's gradient (n = {int(ok['n_params'].iloc[0])} "
                 f"parameters)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return plotting.save(fig, path)


def _largest_ok(rows: pd.DataFrame, method: str, axis: str):
    ok = _ok(rows, method, axis)
    return int(ok[f"params.{axis}"].iloc[-1]) if len(ok) else None


def _table(sweeps: dict, train: pd.DataFrame, config: dict) -> pd.DataFrame:
    cells = pd.concat(sweeps.values()).drop_duplicates("cell_id")
    ref = config["reference_width"]
    curves = _curves(train)
    ok_train = train[train["outcome"] == "ok"] if len(train) else train
    rows = []
    for method in config["methods"]:
        at = _ok(sweeps["width"], method, "width")
        at = at[at["params.width"] == ref]
        step = ok_train[ok_train["method"] == method]["grad_ms"] if len(ok_train) else []
        rows.append({
            "method": method,
            "max rho vs hand backprop": _col(cells[cells["method"] == method], "max_rho").max(),
            f"ms per gradient, width {ref}": 1e3 * at["time_median"].iloc[0] if len(at) else None,
            f"t(grad)/t(f), width {ref}": at["ratio"].iloc[0] if len(at) else None,
            "largest width done": _largest_ok(sweeps["width"], method, "width"),
            "largest depth done": _largest_ok(sweeps["depth"], method, "depth"),
            "training ms per gradient": float(np.median(step)) if len(step) else None,
            "loss curve max rel. diff. vs reverse": (0.0 if method == "reverse" and curves
                                                     else _deviation(curves, method)),
        })
    table = pd.DataFrame(rows)
    for name in ("largest width done", "largest depth done"):
        table[name] = table[name].astype("Int64")
    return table


def _cost_findings(sweeps: dict, config: dict, summary: dict) -> list[str]:
    parts, w = [], sweeps["width"]
    rev = _ok(w, "reverse", "width")
    if len(rev):
        big = rev.iloc[-1]
        size = int(big["params.width"])
        text = (f"At width {size} (n = {_n(config, 'width', size)} parameters) reverse mode "
                f"takes {1e3 * big['time_median']:.3g} ms, {big['ratio']:.1f}x one evaluation "
                f"of the loss")
        for m in ("forward", "numeric"):
            ok = _ok(w, m, "width")
            if len(ok) >= 2:
                a, b = ok.iloc[0], ok.iloc[-1]
                wa, wb = int(a["params.width"]), int(b["params.width"])
                growth = _n(config, "width", wb) / _n(config, "width", wa)
                f_growth = b["f_median"] / a["f_median"]
                text += (f"; {m} grows x{b['time_median'] / a['time_median']:.0f} from width "
                         f"{wa} to {wb}, while n grows x{growth:.0f} and f x{f_growth:.1f}"
                         f"{_stop(w, m, 'width')}")
        parts.append(text + ".")
        summary.setdefault("reverse", {})["cost scaling"] = (
            f"MLP gradient {big['ratio']:.1f}x f at n = {_n(config, 'width', size)}")
    for m in config["methods"]:  # speed: the largest MLP each method finished
        ok = _ok(w, m, "width")
        if len(ok):
            last = ok.iloc[-1]
            summary.setdefault(m, {})["speed"] = (
                f"MLP gradient, n = {_n(config, 'width', int(last['params.width']))}: "
                f"{1e3 * last['time_median']:.3g} ms ({last['ratio']:.1f}x f)")
    if "symbolic" in config["methods"]:
        sym = _largest_ok(w, "symbolic", "width")
        n_sym = _n(config, "width", sym) if sym else 0
        stop = _stop(w, "symbolic", "width")
        parts.append("Symbolic differentiation finished no MLP within the limit." if not sym
                      else f"Symbolic differentiation finishes only up to width {sym} (n = "
                      f"{n_sym}){stop} within {config['time_limit']:g} s." if stop
                      else f"Symbolic differentiation finished every width up to {sym} "
                      f"(n = {n_sym}).")
        summary.setdefault("symbolic", {})["limits"] = (
            f"MLP gradient: n <= {n_sym} parameters in {config['time_limit']:g} s")
    deep = _ok(sweeps["depth"], "reverse", "depth")
    if len(deep) >= 2:
        a, b = deep.iloc[0], deep.iloc[-1]
        da, db = int(a["params.depth"]), int(b["params.depth"])
        parts.append(f"From depth {da} to {db} (width {config['sweep_width']}) reverse mode's "
                     f"time grows x{b['time_median'] / a['time_median']:.1f} and f's "
                     f"x{b['f_median'] / a['f_median']:.1f}: at most in proportion to the "
                     f"{db // da}x layers, not exponentially.")
    return parts


def _training_findings(train: pd.DataFrame, table: pd.DataFrame, config: dict,
                       summary: dict) -> list[str]:
    from ..numeric import DEFAULT_SCHEME, evaluations

    ok = train[train["outcome"] == "ok"] if len(train) else train
    if not len(ok) or "reverse" not in set(ok["method"]):
        return []
    t = table.set_index("method")
    n = int(ok["n_params"].iloc[0])
    exact = [m for m in EXACT if m in set(ok["method"]) and m != "reverse"]
    dev = max((t.loc[m, "loss curve max rel. diff. vs reverse"] for m in exact), default=0.0)
    step = ok.groupby("method")["grad_ms"].median()
    text = (f"Training (n = {n} parameters, {config['train_steps']} steps each of "
            f"{', '.join(config['optimizers'])}): the loss curves of reverse, "
            f"{', '.join(exact)} differ by at most {dev:.0e} (relative)")
    if "numeric" in step.index:
        evals = evaluations(DEFAULT_SCHEME, n)
        ratio = step["numeric"] / step["reverse"]
        text += (f"; finite differences follow to "
                 f"{t.loc['numeric', 'loss curve max rel. diff. vs reverse']:.0e} but each "
                 f"gradient costs {step['numeric']:.3g} ms against reverse mode's "
                 f"{step['reverse']:.3g} ms ({ratio:.0f}x: {evals} = {evals // n}n loss "
                 f"evaluations by {DEFAULT_SCHEME})")
        summary.setdefault("numeric", {})["cost scaling"] = (
            f"MLP training: {ratio:.0f}x reverse per gradient at n = {n}")
    return [text + "."]


def section(df: pd.DataFrame, config: dict, figdir: Path):
    """Figures (time vs width/depth, loss curves, per-step cost), the table and findings."""
    from ..lab.report import Section

    figdir = Path(figdir)
    sweeps = _sweeps(df, config)
    train = df[_col(df, "kind") == "train"]
    figures = [_cost_figure(sweeps, config, figdir / f"{NAME}_cost.png")]
    if len(train[train["outcome"] == "ok"]):
        figures += [_loss_figure(train, config, figdir / f"{NAME}_loss.png"),
                    _step_figure(train, config, figdir / f"{NAME}_step_cost.png")]
    table = _table(sweeps, train, config)
    t = table.set_index("method")
    exact = [m for m in EXACT if m in t.index]
    rho_max = t["max rho vs hand backprop"]
    parts = [f"Against the hand-written NumPy backward pass the exact methods "
             f"({', '.join(exact)}) agree to rho <= {rho_max[exact].max():.1e} at every size "
             f"they finished" + (f"; finite differences to {rho_max['numeric']:.1e}."
                                 if "numeric" in t.index else ".")]
    summary: dict = {}
    parts += _cost_findings(sweeps, config, summary)
    parts += _training_findings(train, table, config, summary)
    return Section(NAME, TITLE, QUESTION, figures, table, " ".join(parts), summary)
