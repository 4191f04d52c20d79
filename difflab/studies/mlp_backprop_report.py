"""The mlp_backprop study read back: its rows turned into the figures, the table and the findings.

``difflab.studies.mlp_backprop`` measures (the width and depth sweeps' gradient cells, checked
against the hand-written backward pass, and one training row per optimizer and method); this
module holds what the report says about those rows: the two sweeps and the training rows
picked out, the cost figure (time against width and depth), the loss-curve and per-step cost
figures, the table, and the findings text with the report's summary entries. It reads only the
rows and the config, so it imports nothing from the study module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .mlp_reference import n_parameters

EXACT = ("reverse", "jax", "forward", "symbolic")

LINE_STYLES = {"reverse": dict(lw=4.0, alpha=0.35), "jax": dict(ls="--", lw=1.6),
               "forward": dict(ls=":", lw=2.0), "symbolic": dict(ls="-.", lw=1.4),
               "numeric": dict(lw=0.9)}


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(np.nan, index=df.index)


def sweeps(df: pd.DataFrame, config: dict) -> dict[str, pd.DataFrame]:
    """The cell rows of the width sweep and of the depth sweep (the shared cell in both)."""
    cells = df[_col(df, "kind") == "grad"]
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
    mine = rows[(rows["method"] == method) & (rows["outcome"] == "ok")]
    return mine.sort_values(f"params.{axis}")


def _stop(rows: pd.DataFrame, method: str, axis: str) -> str:
    """' (timeout from width 64)' at a method's first failing size, or ''."""
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


def step_figure(train: pd.DataFrame, config: dict, path: Path) -> Path:
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


def table(sweeps: dict, train: pd.DataFrame, config: dict) -> pd.DataFrame:
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
    from ..numeric import DEFAULT_SCHEME, evaluations, least_evaluations

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
        least, most = least_evaluations(DEFAULT_SCHEME, n), evaluations(DEFAULT_SCHEME, n)
        count = f"{most} = {most // n}n" if least == most else f"{least} to {most}"
        ratio = step["numeric"] / step["reverse"]
        text += (f"; finite differences follow to "
                 f"{t.loc['numeric', 'loss curve max rel. diff. vs reverse']:.0e} but each "
                 f"gradient costs {step['numeric']:.3g} ms against reverse mode's "
                 f"{step['reverse']:.3g} ms ({ratio:.0f}x: {count} loss evaluations by "
                 f"{DEFAULT_SCHEME})")
        summary.setdefault("numeric", {})["cost scaling"] = (
            f"MLP training: {ratio:.0f}x reverse per gradient at n = {n}")
    return [text + "."]


def findings(sweeps: dict, train: pd.DataFrame, table: pd.DataFrame,
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
    parts += _training_findings(train, table, config, summary)
    return " ".join(parts), summary
