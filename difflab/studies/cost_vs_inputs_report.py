"""The cost_vs_inputs study read back: its rows turned into tables, the figure and the findings.

``difflab.studies.cost_vs_inputs`` measures (the gradient cells of every method at each n, and
one baseline row per n with f's time and the operation counts from the IR); this module holds
what the report says about those rows: the per-n baselines, the measured ratios t(grad)/t(f),
log-log slopes, operation-count ratios, the ratio table, the three-panel figure against the
cheap-gradient band, and the findings and summary text. It reads only the rows and the config,
so it imports nothing from the study module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

METHODS = ("numeric", "forward", "reverse", "symbolic", "jax")
BOUND = (3.0, 5.0)   # the cheap-gradient constant omega (Griewank & Walther): a band


# ---- analysis ----------------------------------------------------------------------------
def baselines(df: pd.DataFrame) -> pd.DataFrame:
    """One row per n: f's times and the operation counts (indexed by n)."""
    b = df[df["method"] == "baseline"].copy()
    b["n"] = b["params.n"].astype(int)
    return b.set_index("n").sort_index()


def measured(df: pd.DataFrame) -> pd.DataFrame:
    """The timed cells that came out ok: method, n, t (s), ratio to f.

    Times are the fastest batch (``time_min``): on a shared machine other processes only ever
    add time, so the minimum is the steadiest estimate of the cost. The ratio is to the tape's
    f for the NumPy methods and to the jitted f for JAX, both also their minimum.
    """
    base = baselines(df)
    d = df[(df["method"] != "baseline") & (df["outcome"] == "ok")].copy()
    d["n"] = d["params.n"].astype(int)
    d["t"] = d["time_min"].astype(float)
    f_fast = d["n"].map(base["f_min"])
    f_jit = d["f_min"].astype(float) if "f_min" in d else np.nan
    d["ratio"] = np.where(d["method"] == "jax", d["t"] / f_jit, d["t"] / f_fast)
    return d[["method", "n", "t", "ratio", "prepare_s"]].sort_values(["method", "n"])


def slope(n, y, fit_from: int) -> float:
    """Least-squares slope of log y against log n over the points with n >= fit_from (all
    points if fewer than two qualify); nan with fewer than two points."""
    n, y = np.asarray(n, dtype=float), np.asarray(y, dtype=float)
    keep = n >= fit_from
    if keep.sum() >= 2:
        n, y = n[keep], y[keep]
    if len(n) < 2:
        return float("nan")
    return float(np.polyfit(np.log(n), np.log(y), 1)[0])


def op_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Operations per gradient divided by ops(f), per method and n (long format)."""
    base = baselines(df)
    rows = []
    for n, b in base.iterrows():
        for method in ("reverse", "forward", "numeric"):
            rows.append({"method": method, "n": n, "ops_ratio": b[f"ops_{method}"] / b["f_ops"]})
    sym = df[(df["method"] == "symbolic") & (df["outcome"] == "ok")]
    if "info.cse_ops" in sym:
        for _, r in sym.iterrows():
            n = int(r["params.n"])
            if n in base.index:
                rows.append({"method": "symbolic", "n": n,
                             "ops_ratio": float(r["info.cse_ops"]) / base.loc[n, "f_ops"]})
    return pd.DataFrame(rows, columns=["method", "n", "ops_ratio"])


def method_order(methods) -> list[str]:
    present = list(dict.fromkeys(methods))
    return [m for m in METHODS if m in present] + [m for m in present if m not in METHODS]


def table(df: pd.DataFrame, config: dict) -> pd.DataFrame:
    """Ratio t(grad)/t(f) per method (rows) at each n (columns), the fitted slopes, and the
    operation-count ratio at the largest n."""
    m = measured(df)
    ops = op_counts(df)
    fit_from = config.get("fit_from", 10)
    rows = []
    for method in method_order(m["method"]):
        d = m[m["method"] == method]
        row = {"method": method}
        for n in config["sizes"]:
            hit = d[d["n"] == n]["ratio"]
            row[f"n={n}"] = float(hit.iloc[0]) if len(hit) else np.nan
        row["slope t"] = slope(d["n"], d["t"], fit_from)
        row["slope ratio"] = slope(d["n"], d["ratio"], fit_from)
        o = ops[ops["method"] == method]
        row["ops/ops(f) at max n"] = float(o.sort_values("n")["ops_ratio"].iloc[-1]) \
            if len(o) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _not_run(df: pd.DataFrame, config: dict) -> str:
    """Which methods stopped short of the largest size, and why (cap, limit, outcome)."""
    top = max(config["sizes"])
    caps = config.get("max_n", {})
    notes = []
    for method in config["methods"]:
        d = df[df["method"] == method]
        ok = d[d["outcome"] == "ok"]["params.n"]
        largest = int(ok.max()) if len(ok) else None
        if largest == top:
            continue
        bad = d[d["outcome"] != "ok"]
        why = f"{bad['outcome'].iloc[0]} at n={int(bad['params.n'].iloc[0])}" if len(bad) \
            else f"capped at n={caps.get(method)} by the config's budget"
        notes.append(f"{method} up to n={largest} ({why})")
    return ("Not measured at every size: " + "; ".join(notes) + ".") if notes else ""


# ---- the figure ----------------------------------------------------------------------------
def figure(df: pd.DataFrame, config: dict, path: Path) -> Path:
    """Three panels: time per gradient, t(grad)/t(f) with the cheap-gradient band, and the
    operation counts from the IR divided by ops(f)."""
    from ..lab import plotting

    m = measured(df)
    base = baselines(df)
    ops = op_counts(df)
    fig, (ax_t, ax_r, ax_o) = plotting.figure(width=16, height=4.8, ncols=3)
    for method in method_order(m["method"]):
        d = m[m["method"] == method]
        style = dict(color=plotting.color(method), marker=plotting.marker(method), ms=5, lw=1.6)
        ax_t.plot(d["n"], d["t"], label=method, **style)
        ax_r.plot(d["n"], d["ratio"], label=method, **style)
        o = ops[ops["method"] == method]
        if len(o):
            ax_o.plot(o["n"], o["ops_ratio"], label=method, **style)
    ax_t.plot(base.index, base["f_tape_min"], color="black", ls="--", lw=1.2,
              label="f, node by node (tape's forward pass)")
    if base["f_levels_min"].notna().any():
        lv = base["f_levels_min"].dropna().astype(float)
        ax_t.plot(lv.index, lv, color="black", ls=":", lw=1.4,
                  label="f, a level at a time (levels.Schedule)")
    ax_t.set(xscale="log", yscale="log", xlabel="number of inputs n",
             ylabel="time per gradient [s] (fastest batch)", title="Gradient time")
    sizes = np.array(sorted(base.index), dtype=float)
    for ax in (ax_r, ax_o):
        ax.axhspan(*BOUND, color="#2c7bb6", alpha=0.12, zorder=0,
                   label=f"cheap-gradient bound ω ≈ {BOUND[0]:g}–{BOUND[1]:g}")
        ax.plot(sizes, 4.0 * sizes / sizes[0], color="#888888", ls=":", lw=1,
                label="∝ n (guide)")
        ax.set(xscale="log", yscale="log", xlabel="number of inputs n")
    ax_r.set(ylabel="t(gradient) / t(f)", title="Gradient cost in units of f (measured)")
    ax_r.text(0.02, 0.98, "f: the fastest evaluator (jax: its jitted f)", ha="left",
              va="top", fontsize=8, color="#555555", transform=ax_r.transAxes)
    ax_o.set(ylabel="operations(gradient) / operations(f)",
             title="Operation counts from the IR (noise-free)")
    top = max(m["ratio"].max() if len(m) else 1, ops["ops_ratio"].max() if len(ops) else 1)
    for ax in (ax_r, ax_o):
        ax.set_ylim(0.3, top * 4)
    for ax in (ax_t, ax_r, ax_o):
        ax.set_xticks(sizes, [f"{int(n)}" for n in sizes])
        ax.minorticks_off()
    handles = {}
    for ax in (ax_t, ax_r, ax_o):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=5, fontsize=9,
               bbox_to_anchor=(0.5, -0.1), frameon=False)
    fig.suptitle(f"{config['problem']}: f = Σ sin(xᵢ) exp(xᵢ/n) + log1p(xᵢ²) over n scalar "
                 f"variables", fontsize=11)
    return plotting.save(fig, path)


# ---- the findings and the summary ---------------------------------------------------------
def findings(df: pd.DataFrame, config: dict) -> str:
    """Sentences computed from the rows."""
    t = table(df, config).set_index("method")
    m = measured(df)
    base = baselines(df)
    fit_from = config.get("fit_from", 10)
    parts = []
    f_slope = slope(base.index, base["f_min"], fit_from)
    if "reverse" in t.index:
        r = m[m["method"] == "reverse"]
        n_max = int(r["n"].max())
        at_max = float(r[r["n"] == n_max]["ratio"].iloc[0])
        spread = r[r["n"] >= fit_from]["ratio"]
        parts.append(
            f"Reverse mode's gradient cost {at_max:.1f}× f at n = {n_max} and stayed between "
            f"{spread.min():.1f}× and {spread.max():.1f}× f for n ≥ {fit_from} (slope of "
            f"log t against log n: {t.loc['reverse', 'slope t']:.2f}, f's own "
            f"{f_slope:.2f}): {'inside' if BOUND[0] <= at_max <= BOUND[1] else 'outside'} "
            f"the cheap-gradient band {BOUND[0]:g}–{BOUND[1]:g}; its operation count is a "
            f"constant {t.loc['reverse', 'ops/ops(f) at max n']:.2f}× ops(f).")
    if "numeric" in t.index:
        d = m[m["method"] == "numeric"]
        n_max = int(d["n"].max())
        evals = int(base.loc[n_max, "numeric_evaluations"])
        ratio = float(d[d["n"] == n_max]["ratio"].iloc[0])
        parts.append(
            f"Finite differences grow like n: {ratio:.0f}× f at n = {n_max} ({evals} "
            f"evaluations of f, each {ratio / evals:.1f}× f: its evaluator walks the plan "
            f"node by node), ratio slope {t.loc['numeric', 'slope ratio']:.2f}.")
    if "forward" in t.index:
        d = m[m["method"] == "forward"]
        lo, hi = d.iloc[0], d.iloc[-1]
        o = op_counts(df)
        o = o[o["method"] == "forward"]
        ops_slope = slope(o["n"], o["ops_ratio"], fit_from)
        time_slope = t.loc["forward", "slope ratio"]
        text = (f"Forward mode's operation count grows like n (ratio slope {ops_slope:.2f}; "
                f"{t.loc['forward', 'ops/ops(f) at max n']:.0f}× ops(f) at n = "
                f"{int(base.index.max())}); its measured ratio went from {lo['ratio']:.1f}× f "
                f"(n = {int(lo['n'])}) to {hi['ratio']:.1f}× f (n = {int(hi['n'])}), ratio "
                f"slope {time_slope:.2f}")
        rows = df[df["method"] == "forward"]
        by_levels = "info.sweep" in rows and (rows["info.sweep"] == "levels").any()
        if time_slope < 0.8 * ops_slope and not by_levels:
            text += (": less than n-fold, because all n directions travel as one NumPy "
                     "array per slot and share each operation's interpreter overhead")
        parts.append(text + ".")
    for method in ("symbolic", "jax"):
        if method in t.index:
            d = m[m["method"] == method]
            hi = d.iloc[-1]
            parts.append(
                f"{method.capitalize()}: {hi['ratio']:.1f}× f at n = {int(hi['n'])}"
                f"{' (against its jitted f)' if method == 'jax' else ''}, but preparing took "
                f"{hi['prepare_s']:.1f} s there (prepare-time slope "
                f"{slope(d['n'], d['prepare_s'].astype(float), fit_from):.2f}).")
    factor = (base["f_plan_min"] / base["f_min"]).median()
    by_levels = base.index[base["f_evaluator"] == "levels"]
    where = "the tape's forward pass, node by node"
    ok = df[(df["method"] != "baseline") & (df["outcome"] == "ok")]
    sweeps = ok[ok["info.sweep"] == "levels"] if "info.sweep" in ok else ok.iloc[:0]
    levelled = {m: sorted(int(n) for n in g["params.n"]) for m, g in sweeps.groupby("method")}
    if len(by_levels):
        n0, top = int(by_levels.min()), int(base.index.max())
        speedup = base.loc[top, "f_tape_min"] / base.loc[top, "f_levels_min"]
        stepped = [m for m in method_order(ok["method"]) if m not in levelled and m != "jax"
                   and (ok[ok["method"] == m]["params.n"] >= n0).any()]
        where = (f"node by node for n < {n0}, a level at a time from n = {n0}, "
                 f"{speedup:.1f}× faster than node by node at n = {top}"
                 + (f"; the ratios of the methods that work node by node "
                    f"({', '.join(stepped)}) step up there" if stepped else ""))
    for method, sizes in levelled.items():
        where += f"; {method} mode sweeps by levels at n = {', '.join(map(str, sizes))}"
    parts.append(
        f"(f is timed by the fastest evaluator: {where}. The lab's plan evaluator takes "
        f"{factor:.1f}× longer (median over n), which would divide every ratio by that. "
        f"Slopes are fitted for n ≥ {fit_from}.)")
    extra = _not_run(df, config)
    if extra:
        parts.append(extra)
    return " ".join(parts)


def summary(df: pd.DataFrame, config: dict) -> dict[str, dict[str, str]]:
    """The report's top table: each method's cost scaling with n."""
    t = table(df, config).set_index("method")
    m = measured(df)
    out = {}
    for method in t.index:
        d = m[m["method"] == method]
        hi = d.iloc[-1]
        out[method] = {"cost scaling": f"grad = {hi['ratio']:.3g}× f at n = {int(hi['n'])}; "
                                       f"ratio ∝ n^{t.loc[method, 'slope ratio']:.2f}"}
    return out
