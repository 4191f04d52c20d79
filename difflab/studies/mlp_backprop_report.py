"""The mlp_backprop study read back: its rows turned into the figures, the table and the findings.

``difflab.studies.mlp_backprop`` measures (the width and depth sweeps' gradient cells, checked
against the hand-written backward pass, and one training row per optimizer and method); this
module holds what the report says about those rows: the two sweeps and the training rows
picked out, the cost figure (time against width and depth), the loss-curve and per-step cost
figures, the table, and the findings text with the report's summary entries. It reads only the
rows and the config, so it imports nothing from the study module.

A sweep's point is the median over its repeats (each repeat's fastest batch, ``time_min``)
with its order-statistics interval; a ratio t(grad)/t(f) is taken repeat by repeat. A training
step's gradient cost comes from the ``mlp_train`` cells, measured like the sweep's (median over
the repeats, interval over them); the training runs' own per-step times are shown beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..lab.intervals import DRIFT, bootstrap, fmt, timing_interval
from ..lab.repeats import how_measured, limit_note
from .mlp_reference import n_parameters

EXACT = ("reverse", "jax", "forward", "symbolic")

LINE_STYLES = {"reverse": dict(lw=4.0, alpha=0.35), "jax": dict(ls="--", lw=1.6),
               "forward": dict(ls=":", lw=2.0), "symbolic": dict(ls="-.", lw=1.4),
               "numeric": dict(lw=0.9)}


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(np.nan, index=df.index)


def sweeps(df: pd.DataFrame, config: dict) -> dict[str, pd.DataFrame]:
    """The cell rows of the width sweep and of the depth sweep (the shared cell in both)."""
    cells = df[(_col(df, "kind") == "grad") & (_col(df, "problem") != "mlp_train")]
    return {"width": cells[_col(cells, "params.depth") == config["sweep_depth"]],
            "depth": cells[_col(cells, "params.width") == config["sweep_width"]]}


def training(df: pd.DataFrame) -> pd.DataFrame:
    """The training rows (kind "train"), one per (optimizer, method)."""
    return df[_col(df, "kind") == "train"]


def _n(config: dict, axis: str, size: int) -> int:
    """Parameters of the sweep's network at ``size`` along ``axis``."""
    width, depth = ((size, config["sweep_depth"]) if axis == "width"
                    else (config["sweep_width"], size))
    return n_parameters(width, depth, config["inputs"], config["outputs"])


def _ok(rows: pd.DataFrame, method: str, axis: str) -> pd.DataFrame:
    """One line per size along ``axis`` where ``method`` came out ok: the gradient time ``t``
    (s), f's time ``f`` and the ratio, each the median over the repeats, with ``t_lo``,
    ``t_hi``, ``ratio_lo``, ``ratio_hi``, the repeats ``n_rep`` and the worst ``max_rho``."""
    column = f"params.{axis}"
    mine = rows[(rows["method"] == method) & (rows["outcome"] == "ok")]
    out = []
    for size, g in mine.groupby(column):
        t = timing_interval(g["time_min"].astype(float))
        f = _col(g, "f_min").astype(float)
        ratio = timing_interval(g["time_min"].astype(float) / f)
        out.append({column: size, "t": t.value, "t_lo": t.lo, "t_hi": t.hi, "n_rep": t.n,
                    "f": float(np.nanmedian(f)) if f.notna().any() else np.nan,
                    "ratio": ratio.value, "ratio_lo": ratio.lo, "ratio_hi": ratio.hi,
                    "max_rho": _col(g, "max_rho").max(),
                    "samples": g["time_min"].to_numpy(dtype=float)})
    return pd.DataFrame(out, columns=[column, "t", "t_lo", "t_hi", "n_rep", "f", "ratio",
                                      "ratio_lo", "ratio_hi", "max_rho", "samples"])


def _ms(line) -> str:
    return fmt(1e3 * line["t"], 1e3 * line["t_lo"], 1e3 * line["t_hi"], " ms")


def _x(line) -> str:
    return fmt(line["ratio"], line["ratio_lo"], line["ratio_hi"], "x")


def _stop(rows: pd.DataFrame, method: str, axis: str, config: dict | None = None) -> str:
    """' (capped at width 4)', ' (cut at width = 64 by the 20 s time limit)' or
    ' (error from width 8)' where a method's curve ends short, or ''."""
    config = config or {}
    cap = config.get("max_width", {}).get(method) if axis == "width" else None
    if cap is not None and cap < max(config.get("widths", [cap])):
        return f" (capped at width {cap} by the config's budget)"
    cut = limit_note(rows, axis, config.get("time_limit"))
    if method in cut:
        return f" ({cut[method]})"
    bad = rows[(rows["method"] == method) & (rows["outcome"] != "ok")]
    if bad.empty:
        return ""
    first = bad.sort_values(f"params.{axis}").iloc[0]
    return f" ({first['outcome']} from {axis} {int(first[f'params.{axis}'])})"


def cost_figure(sweeps: dict, config: dict, path: Path) -> Path:
    from ..lab import plotting

    fig, axes = plotting.figure(11.5, 4.4, ncols=2, sharey=True)
    for ax, axis in zip(axes, ("width", "depth"), strict=True):
        rows = sweeps[axis]
        methods = config["methods"] if axis == "width" else \
            config.get("depth_methods", config["methods"])
        for method in methods:
            ok = _ok(rows, method, axis)
            plotting.errorbar(ax, ok[f"params.{axis}"], ok["t"], ok["t_lo"], ok["t_hi"],
                              marker=plotting.marker(method), color=plotting.color(method),
                              label=method + _stop(rows, method, axis, config))
        f = _ok(rows, "reverse", axis)
        ax.plot(f[f"params.{axis}"], f["f"], color="black", ls="--", lw=1,
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
    reps = max((int(_ok(sweeps["width"], m, "width")["n_rep"].max() or 0)
                for m in config["methods"] if len(_ok(sweeps["width"], m, "width"))),
               default=0)
    axes[0].set_ylabel(f"seconds per gradient (median of {reps} repeats, 95% interval)")
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


def loss_figure(train: pd.DataFrame, config: dict, path: Path) -> Path:
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


def step_cells(df: pd.DataFrame) -> pd.DataFrame:
    """The ok rows of the training network's step-cost cells (problem ``mlp_train``)."""
    cells = df[(_col(df, "kind") == "grad") & (_col(df, "problem") == "mlp_train")]
    return cells[cells["outcome"] == "ok"]


def _loop_steps(train: pd.DataFrame) -> dict[str, np.ndarray]:
    """{method: seconds of every training step's gradient inside the training loop}."""
    ok = train[train["outcome"] == "ok"] if len(train) else train
    out = {}
    for method, g in ok.groupby("method", sort=False):
        if "grad_s" in g and g["grad_s"].notna().all():
            out[method] = np.concatenate([np.asarray(v, dtype=float) for v in g["grad_s"]])
        else:  # rows written before the steps were kept: their medians
            out[method] = g["grad_ms"].to_numpy(dtype=float) / 1e3
    return out


def _steps(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """{method: seconds per gradient of the training network, one per repeat of its cell}
    (runs written before the cells existed: every step of the training loop)."""
    cells = step_cells(df)
    if not len(cells):
        return _loop_steps(training(df))
    return {m: g["time_min"].to_numpy(dtype=float)
            for m, g in cells.groupby("method", sort=False)}


def step_times(df: pd.DataFrame) -> dict[str, object]:
    """{method: Interval of the training network's ms per gradient}: the median over the
    repeats of its cell, with their order-statistics interval."""
    return {m: timing_interval(s).scaled(1e3) for m, s in _steps(df).items()}


def loop_times(train: pd.DataFrame) -> dict[str, float]:
    """{method: median ms per gradient over every step of its training runs (one process)}."""
    return {m: 1e3 * float(np.median(s)) for m, s in _loop_steps(train).items()}


def step_figure(df: pd.DataFrame, config: dict, path: Path) -> Path:
    """Bars: ms per gradient of the training network, each method's repeated cell (median,
    95% interval); dots: the median step inside its training loop; a line at one f."""
    from ..lab import plotting

    train = training(df)
    ok = train[train["outcome"] == "ok"]
    steps, loop = step_times(df), loop_times(train)
    methods = [m for m in config["train_methods"] if m in steps]
    ms = [steps[m].value for m in methods]
    base = steps["reverse"].value if "reverse" in steps else np.nan
    f_ms = float(ok.groupby("method")["f_ms"].median().median())
    fig, ax = plotting.figure(7, 4.2)
    lo = [steps[m].value - steps[m].lo for m in methods]
    hi = [steps[m].hi - steps[m].value for m in methods]
    ax.bar(methods, ms, color=[plotting.color(m) for m in methods], yerr=[lo, hi], capsize=4,
           label="the gradient alone (median of the repeats, 95% interval)")
    inside = [(i, loop[m]) for i, m in enumerate(methods) if m in loop]
    if inside:
        ax.plot([i for i, _ in inside], [v for _, v in inside], "o", color="black", ms=4,
                label="inside the training loop (median over its steps, one run)")
    for i, m in enumerate(methods):
        top = max(steps[m].hi, loop.get(m, 0.0))
        times = ms[i] / base
        label = f"{steps[m]} ms" + ("" if m == "reverse" else
                                    f"\n{times:.2g}x reverse" if times < 10 else
                                    f"\n{times:.0f}x reverse")
        ax.text(i, top * 1.15, label, ha="center", fontsize=7)
    ax.axhline(f_ms, color="black", ls="--", lw=1, label=f"one loss evaluation f: {f_ms:.2g} ms")
    ax.set_yscale("log")
    low = min(ms + [f_ms] + [v for _, v in inside])
    ax.set_ylim(low / 3, max(ms + [f_ms] + [v for _, v in inside]) * 12)
    ax.set_ylabel("milliseconds per gradient")
    ax.set_title(f"Cost of one training step's gradient (n = {int(ok['n_params'].iloc[0])} "
                 f"parameters)", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper left")
    return plotting.save(fig, path)


def _largest_ok(rows: pd.DataFrame, method: str, axis: str):
    ok = _ok(rows, method, axis)
    return int(ok[f"params.{axis}"].iloc[-1]) if len(ok) else None


def _at_width(sweeps: dict, method: str, width: int):
    at = _ok(sweeps["width"], method, "width")
    at = at[at["params.width"] == width]
    return at.iloc[0] if len(at) else None


def table(sweeps: dict, df: pd.DataFrame, config: dict) -> pd.DataFrame:
    cells = pd.concat(sweeps.values()).drop_duplicates("cell_id")
    ref = config["reference_width"]
    curves = _curves(training(df))
    steps = step_times(df)
    rows = []
    for method in config["methods"]:
        at = _at_width(sweeps, method, ref)
        why = "—" + _stop(sweeps["width"], method, "width", config)
        rows.append({
            "method": method,
            "max rho vs hand backprop": _col(cells[cells["method"] == method], "max_rho").max(),
            f"ms per gradient, width {ref}": _ms(at) if at is not None else why,
            f"t(grad)/t(f), width {ref}": _x(at) if at is not None else why,
            "largest width done": _largest_ok(sweeps["width"], method, "width"),
            "largest depth done": _largest_ok(sweeps["depth"], method, "depth"),
            "training ms per gradient": str(steps[method]) if method in steps else "",
            "loss curve max rel. diff. vs reverse": (0.0 if method == "reverse" and curves
                                                     else _deviation(curves, method)),
        })
    table = pd.DataFrame(rows)
    for name in ("largest width done", "largest depth done"):
        table[name] = table[name].astype("Int64")
    return table


def _quotient(a_samples, b_samples, unit: str = "") -> str:
    """median(b) / median(a) with its bootstrap interval over both sets of repeats."""
    iv = bootstrap(lambda med: med[1] / med[0], [a_samples, b_samples], drift=DRIFT)
    return fmt(iv.value, iv.lo, iv.hi, unit)


def _growth(a, b) -> str:
    """b's time over a's (two sweep lines), with its bootstrap interval."""
    return _quotient(a["samples"], b["samples"])


def _cost_findings(sweeps: dict, config: dict, summary: dict) -> list[str]:
    parts, w = [], sweeps["width"]
    rev = _ok(w, "reverse", "width")
    if len(rev):
        big = rev.iloc[-1]
        size = int(big["params.width"])
        text = (f"At width {size} (n = {_n(config, 'width', size)} parameters) reverse mode "
                f"takes {_ms(big)}, {_x(big)} one evaluation of the loss")
        for m in ("forward", "numeric"):
            ok = _ok(w, m, "width")
            if len(ok) >= 2:
                a, b = ok.iloc[0], ok.iloc[-1]
                wa, wb = int(a["params.width"]), int(b["params.width"])
                growth = _n(config, "width", wb) / _n(config, "width", wa)
                text += (f"; {m} grows x{_growth(a, b)} from width {wa} to {wb}, while n "
                         f"grows x{growth:.0f} and f x{b['f'] / a['f']:.2g}"
                         f"{_stop(w, m, 'width', config)}")
        parts.append(text + ".")
    ref = config["reference_width"]
    column = (f"speed: MLP gradient at width {ref} (n = {_n(config, 'width', ref)}), ms and "
              f"t(grad)/t(f)")
    for m in config["methods"]:  # speed: every method on the same MLP
        at = _at_width(sweeps, m, ref)
        summary.setdefault(m, {})[column] = f"{_ms(at)}; {_x(at)} f" if at is not None else \
            "—" + (_stop(w, m, "width", config) or " (no time at that width)")
    if "symbolic" in config["methods"]:
        sym = _largest_ok(w, "symbolic", "width")
        n_sym = _n(config, "width", sym) if sym else 0
        stop = _stop(w, "symbolic", "width", config)
        parts.append("Symbolic differentiation finished no MLP within the limit." if not sym
                     else f"Symbolic differentiation was measured up to width {sym} (n = "
                     f"{n_sym}){stop}." if stop
                     else f"Symbolic differentiation finished every width up to {sym} "
                     f"(n = {n_sym}) within the {config['time_limit']:g} s limit.")
    deep = _ok(sweeps["depth"], "reverse", "depth")
    if len(deep) >= 2:
        a, b = deep.iloc[0], deep.iloc[-1]
        da, db = int(a["params.depth"]), int(b["params.depth"])
        parts.append(f"From depth {da} to {db} (width {config['sweep_width']}) reverse mode's "
                     f"time grows x{_growth(a, b)} and f's x{b['f'] / a['f']:.2g}: at most in "
                     f"proportion to the {db // da}x layers, not exponentially.")
    reps = [int(x) for m in config["methods"] for x in _ok(w, m, "width")["n_rep"]]
    if reps:
        parts.append(how_measured(reps))
    return parts


def _training_findings(df: pd.DataFrame, table: pd.DataFrame, config: dict,
                       summary: dict) -> list[str]:
    from ..numeric import DEFAULT_SCHEME, evaluations, least_evaluations

    train = training(df)
    ok = train[train["outcome"] == "ok"] if len(train) else train
    if not len(ok) or "reverse" not in set(ok["method"]):
        return []
    t = table.set_index("method")
    n = int(ok["n_params"].iloc[0])
    exact = [m for m in EXACT if m in set(ok["method"]) and m != "reverse"]
    dev = max((t.loc[m, "loss curve max rel. diff. vs reverse"] for m in exact), default=0.0)
    steps = step_times(df)
    text = (f"Training (n = {n} parameters, {config['train_steps']} steps each of "
            f"{', '.join(config['optimizers'])}): the loss curves of reverse, "
            f"{', '.join(exact)} differ by at most {dev:.0e} (relative)")
    if "numeric" in steps:
        least, most = least_evaluations(DEFAULT_SCHEME, n), evaluations(DEFAULT_SCHEME, n)
        count = f"{most} = {most // n}n" if least == most else f"{least} to {most}"
        num, rev = steps["numeric"], steps["reverse"]
        samples = _steps(df)
        ratio = _quotient(samples["reverse"], samples["numeric"], "x")
        text += (f"; finite differences follow to "
                 f"{t.loc['numeric', 'loss curve max rel. diff. vs reverse']:.0e} but each "
                 f"gradient costs {num} ms against reverse mode's {rev} ms ({ratio}: "
                 f"{count} loss evaluations by {DEFAULT_SCHEME})")
    column = f"training: ms per gradient step, 1-{config['train_width']}-1 MLP (n = {n})"
    for method in config.get("train_methods", []):
        summary.setdefault(method, {})[column] = f"{steps[method]} ms" if method in steps \
            else "— (not run)"
    return [text + "."]


def findings(sweeps: dict, df: pd.DataFrame, table: pd.DataFrame,
             config: dict) -> tuple[str, dict]:
    """The findings text (agreement with the hand-written pass, cost, training) and the
    report's summary entries it fills in."""
    t = table.set_index("method")
    exact = [m for m in EXACT if m in t.index]
    rho_max = t["max rho vs hand backprop"]
    parts = [f"Against the hand-written NumPy backward pass the exact methods "
             f"({', '.join(exact)}) agree to rho <= {rho_max[exact].max():.1e} at every size "
             f"they finished" + (f"; finite differences to {rho_max['numeric']:.1e}."
                                 if "numeric" in t.index else ".")]
    summary: dict = {}
    parts += _cost_findings(sweeps, config, summary)
    parts += _training_findings(df, table, config, summary)
    return " ".join(parts), summary
