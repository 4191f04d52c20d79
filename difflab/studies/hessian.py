"""Hessians: second derivatives by every method, their accuracy and their cost.

Each method builds the Hessian its own way: symbolic differentiates twice and lambdifies the
n(n+1)/2 distinct entries; numeric takes second central differences (2n^2 + 1 evaluations of
f, error O(h^2) + eps |f| / h^2, so about half the digits lost at h ~ eps^(1/4)); forward
mode runs forward over forward and reverse mode forward over reverse (the gradient program on
dual numbers), one pass per input direction; JAX runs ``jax.hessian`` (forward over
reverse), compiled. The truth is 50-digit SymPy where that
is quick (up to 30 inputs) and JAX beyond (``Instance.truth("hessian")`` decides and records
which in ``truth_source``).

The cost is the time per Hessian — the fastest timing sample, the one least disturbed by
other processes — and the ratio of the medians to one evaluation of f (NumPy's f for the NumPy
methods, JAX's jitted f for jax); the scaling in n is the slope of log time against log n on
the Rosenbrock family (over one array x of n entries). Its Hessian is tridiagonal: the
symbolic code computes only the nonzero entries, the other methods fill all n^2.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ..lab import Cell, Run, Settings, run_sweep
from ..lab.intervals import NAN, Interval, bootstrap, fmt
from ..lab.repeats import how_measured, limit_note, per_cell, repeats_of

NAME = "hessian"
TITLE = "Hessians: accuracy and cost of second derivatives"
QUESTION = ("How accurate is each method's Hessian, and how does its cost grow with the "
            "number of inputs?")

ZERO_AT = 1e-17   # rho = 0 drawn here on the log axis
FAMILY = "rosenbrock_vec"


def cells(config: dict) -> list[Cell]:
    """Scalar-suite functions, the Rosenbrock sizes (increasing, so a timeout skips the
    larger ones) and small MLP losses, each by every method of the config — except Rosenbrock
    sizes beyond a method's ``max_n`` (numeric's 2n^2 + 1 evaluations cost seconds at 128)."""
    problems = [(name, {}) for name in config.get("scalar", [])]
    problems += [(FAMILY, {"n": n}) for n in sorted(config.get("rosenbrock_n", []))]
    problems += [("mlp_loss", dict(params)) for params in config.get("mlp", [])]
    max_n = config.get("max_n", {})
    return [Cell(NAME, name, params, method, "hessian")
            for name, params in problems for method in config["methods"]
            if name != FAMILY or params["n"] <= max_n.get(method, params["n"])]


def run(config: dict, run: Run, settings: Settings) -> None:
    """Run the sweep: accuracy against the truth and time per Hessian (short timing)."""
    settings = dataclasses.replace(
        settings, min_time=config.get("min_time", 0.005), samples=config.get("samples", 3),
        max_time=config.get("max_time", 0.1), time_limit=config.get("time_limit", 60.0))
    run_sweep(cells(config), run, settings, isolate=config.get("isolate", True),
              repeats=repeats_of(config), timing=True)


# ---- analysis ----------------------------------------------------------------------------
def _sci(x) -> str:
    x = float(x)
    return "nan" if not np.isfinite(x) else ("0" if x == 0 else f"{x:.1e}")


def _time(seconds) -> str:
    s = float(seconds)
    if not np.isfinite(s):
        return ""
    return f"{s * 1e6:.0f} us" if s < 1e-3 else f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def methods_in(df: pd.DataFrame) -> list[str]:
    known = ["symbolic", "numeric", "forward", "reverse", "jax"]
    present = list(dict.fromkeys(df["method"]))
    return [m for m in known if m in present] + [m for m in present if m not in known]


def label(row) -> str:
    """A problem's short label: rosenbrock_vec n=8, mlp_loss (13 inputs), six_var."""
    if row["problem"] == FAMILY:
        return f"rosenbrock n={int(row['params.n'])}"
    if row["problem"] == "mlp_loss":
        return f"mlp_loss ({int(row['n_inputs'])} inputs)"
    return str(row["problem"])


def lines(df: pd.DataFrame) -> pd.DataFrame:
    """One line per cell that came out ok: problem, method, n_inputs, the time ``t`` (median
    over the repeats of each repeat's fastest sample) with ``t_lo``/``t_hi``, the ratio to f
    (median over the repeats), the repeats (``samples``) and the preparation time."""
    ok = df[df["outcome"] == "ok"].copy()
    columns = ["problem", "method", "n_inputs", "t", "t_lo", "t_hi", "n_rep", "samples",
               "ratio", "prepare_s"]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    ok["label"] = [label(r) for _, r in ok.iterrows()]
    ok["ratio_rep"] = ok["time_min"].astype(float) / ok["f_min"].astype(float) \
        if "f_min" in ok else np.nan
    t = per_cell(ok, "time_min", keys=["problem", "label", "method", "n_inputs"])
    extra = ok.groupby(["label", "method"]).agg(ratio=("ratio_rep", "median"),
                                                 prepare_s=("prepare_s", "median"))
    t = t.join(extra, on=["label", "method"])
    return t.rename(columns={"median": "t", "lo": "t_lo", "hi": "t_hi"})


def _family(d: pd.DataFrame, method: str, n_min: int = 8) -> pd.DataFrame:
    """The Rosenbrock lines of ``method`` used for its slope: n >= n_min (all sizes when
    fewer than two reach it), by n."""
    f = d[(d["problem"] == FAMILY) & (d["method"] == method)].sort_values("n_inputs")
    return f[f["n_inputs"] >= n_min] if (f["n_inputs"] >= n_min).sum() >= 2 else f


def slope_interval(df: pd.DataFrame, method: str, n_min: int = 8) -> Interval:
    """The k of time ~ n^k on the Rosenbrock family (n >= n_min), by least squares on the
    cells' medians, with its bootstrap interval over the repeats."""
    f = _family(lines(df), method, n_min)
    if len(f) < 2:
        return NAN
    logn = np.log(f["n_inputs"].to_numpy(dtype=float))
    return bootstrap(lambda med: float(np.polyfit(logn, np.log(med), 1)[0]), list(f["samples"]))


def slope(df: pd.DataFrame, method: str, n_min: int = 8) -> float:
    """The k of time ~ n^k on the Rosenbrock family, n >= n_min (all sizes when fewer than
    two reach n_min), fitted to the cells' medians."""
    return slope_interval(df, method, n_min).value


def _t(line) -> str:
    """A line's time with its interval, in µs, ms or s."""
    s = float(line["t"])
    scale, unit = (1e6, "us") if s < 1e-3 else (1e3, "ms") if s < 1 else (1.0, "s")
    return fmt(s * scale, line["t_lo"] * scale, line["t_hi"] * scale, f" {unit}")


def per_method(df: pd.DataFrame) -> pd.DataFrame:
    """One row per method: outcomes, accuracy, cost at the largest n, scaling, ratio to f."""
    rows = []
    d = lines(df)
    fam = d[d["problem"] == FAMILY]
    first = df[df["rep"].fillna(0) == 0] if "rep" in df else df   # one row per cell
    for method in methods_in(df):
        mine_rows = first[first["method"] == method]
        ok = d[d["method"] == method]
        rho = mine_rows["max_rho"].astype(float) if "max_rho" in mine_rows \
            else pd.Series(dtype=float)
        worst = mine_rows.loc[rho.idxmax()] if rho.notna().any() else None
        mine = fam[fam["method"] == method]
        at_max = mine[mine["n_inputs"] == mine["n_inputs"].max()]
        rows.append({
            "method": method,
            "ok": f"{int((mine_rows['outcome'] == 'ok').sum())}/{len(mine_rows)}",
            "median max rho": float(rho.median()) if rho.notna().any() else np.nan,
            "worst max rho": "" if worst is None else
            f"{_sci(worst['max_rho'])} ({label(worst)})",
            "time per Hessian, largest n": f"{_t(at_max.iloc[0])} "
            f"(n={int(at_max['n_inputs'].iloc[0])})" if len(at_max) else "",
            "time ~ n^k, k": str(slope_interval(df, method)),
            "median ratio to f": f"{ok['ratio'].median():.2g}" if ok["ratio"].notna().any()
            else "",
            "median prepare": _time(ok["prepare_s"].median()) if len(ok) else "",
        })
    return pd.DataFrame(rows)


# ---- the figure --------------------------------------------------------------------------
def figure(df: pd.DataFrame, path: Path, config: dict | None = None) -> Path:
    """Left: time per Hessian against n (log-log; error bars: each median's interval).
    Right: max rho per method (log)."""
    import matplotlib.ticker

    from ..lab import plotting

    fig, (ax_t, ax_a) = plotting.figure(width=12.5, height=4.8, ncols=2,
                                        gridspec_kw={"width_ratios": [1.25, 1.0]})
    methods = methods_in(df)
    d = lines(df)
    fam_rows = df[df["problem"] == FAMILY]
    cut = limit_note(fam_rows, "n", (config or {}).get("time_limit"))
    caps = (config or {}).get("max_n", {})
    for method in methods:
        col, mark = plotting.color(method), plotting.marker(method)
        fam = d[(d["problem"] == FAMILY) & (d["method"] == method)].sort_values("n_inputs")
        k = slope_interval(df, method)
        text = f"{method} (rosenbrock, ~n^{k})" if k.finite else method
        text += f", {cut[method]}" if method in cut else \
            f", capped at n = {caps[method]}" if method in caps else ""
        plotting.errorbar(ax_t, fam["n_inputs"], fam["t"], fam["t_lo"], fam["t_hi"],
                          marker=mark, color=col, linewidth=1.6, label=text)
        other = d[(d["problem"] != FAMILY) & (d["method"] == method)]
        hollow = {"facecolors": "none", "edgecolors": col} if mark not in "x+" else {"c": col}
        ax_t.scatter(other["n_inputs"], other["t"], marker=mark, s=30, linewidths=1.1,
                     **hollow)
    ax_t.scatter([], [], marker="o", facecolors="none", edgecolors="#555555",
                 label="other problems (scalar suite, mlp_loss)")
    ax_t.set_xscale("log", base=2)
    ax_t.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax_t.set_yscale("log")
    ax_t.set_xlabel("number of inputs n (log)")
    reps = int(d["n_rep"].max()) if len(d) else 0
    ax_t.set_ylabel(f"time per Hessian (s; median of {reps} repeats, 95% interval)")
    ax_t.set_title("Cost: time per Hessian against n", fontsize=10)
    ax_t.legend(fontsize=7.5, loc="upper left")

    first = df[df["rep"].fillna(0) == 0] if "rep" in df else df
    rng = np.random.default_rng(0)  # jitter only
    tol_drawn = set()
    for i, method in enumerate(methods):
        m = first[(first["method"] == method) & first["max_rho"].notna()]
        r = m["max_rho"].astype(float)
        x = np.where(np.isfinite(r), r, 1.0).clip(min=ZERO_AT)
        y = i + rng.uniform(-0.2, 0.2, size=len(x))
        ax_a.scatter(x, y, s=22, color=plotting.color(method), marker=plotting.marker(method),
                     alpha=0.75)
        if len(m) and "tol" in m and m["tol"].notna().any():
            tol = float(m["tol"].dropna().iloc[0])
            ax_a.plot([tol, tol], [i - 0.35, i + 0.35], color="#cc0000", linewidth=1.5,
                      label=None if tol_drawn else "tolerance")
            tol_drawn.add(tol)
    ax_a.set_xscale("log")
    ax_a.set_xlim(ZERO_AT / 4, 1.0)
    ax_a.set_yticks(range(len(methods)), methods)
    ax_a.set_ylim(len(methods) - 0.5, -0.5)
    ax_a.set_xlabel("max rho over the Hessian's entries (log; 0 drawn at 1e-17)")
    ax_a.set_title("Accuracy: one point per problem", fontsize=10)
    ax_a.legend(fontsize=8, loc="lower right")
    fig.suptitle("Hessians by every method: cost and accuracy", fontsize=11)
    return plotting.save(fig, path)


# ---- the section -------------------------------------------------------------------------
def findings(df: pd.DataFrame, table: pd.DataFrame, config: dict | None = None) -> str:
    """Sentences computed from the rows (accuracy from each cell's first repeat, times as
    medians over the repeats with their intervals)."""
    parts = []
    first = df[df["rep"].fillna(0) == 0] if "rep" in df else df   # one row per cell
    counts = first["outcome"].value_counts()
    parts.append(f"{counts.get('ok', 0)} of {len(first)} Hessians are within tolerance"
                 + ("" if counts.get("ok", 0) == len(first) else " (" + ", ".join(
                     f"{n} {o}" for o, n in counts.items() if o != "ok") + ")") + ".")
    t = table.set_index("method")
    exact = [m for m in ("symbolic", "forward", "reverse", "jax") if m in t.index]
    if exact:
        rho = first[first["method"].isin(exact)]["max_rho"].astype(float)
        parts.append(f"The exact methods agree with the truth to rho <= {_sci(rho.max())} on "
                     f"every problem (beyond 30 inputs the truth is JAX's own float64 "
                     f"Hessian, so jax scores 0 there by construction);")
    if "numeric" in t.index:
        num = first[first["method"] == "numeric"]
        worst = num.loc[num["max_rho"].astype(float).idxmax()]
        parts.append(f"second differences keep rho between "
                     f"{_sci(num['max_rho'].min())} and {_sci(worst['max_rho'])} "
                     f"({label(worst)}), a median of "
                     f"{-np.log10(float(num['max_rho'].median())):.0f} correct digits.")
    d = lines(df)
    fam = d[d["problem"] == FAMILY]
    if len(fam):
        n_max = int(fam["n_inputs"].max())
        at = fam[fam["n_inputs"] == n_max].set_index("method").sort_values("t")
        parts.append(f"At n = {n_max} a Hessian takes " + ", ".join(
            f"{_t(line)} by {m}" for m, line in at.iterrows()) + ".")
        for m in [m for m in t.index if m not in at.index]:
            mine = fam[fam["method"] == m]
            if len(mine):
                top = mine.loc[mine["n_inputs"].idxmax()]
                parts.append(f"({m} was measured up to n = {int(top['n_inputs'])}: "
                             f"{_t(top)}.)")
        slopes = {m: k for m in t.index if (k := slope_interval(df, m)).finite}
        if slopes:
            sizes = fam["n_inputs"]
            low = 8 if (sizes >= 8).sum() >= 2 * len(slopes) else int(sizes.min())
            parts.append(f"Fitted on Rosenbrock (n = {low}..{n_max}), time grows like n^k "
                         f"with k = " + ", ".join(f"{k} ({m})" for m, k in slopes.items())
                         + ".")
    if "prepare_s" in first:
        prep = first[first["outcome"] == "ok"].groupby("method")["prepare_s"].max()
        if "symbolic" in prep and "jax" in prep:
            parts.append(f"Preparation is the hidden cost (one preparation per cell, no "
                         f"interval): up to {prep['symbolic']:.2g} s for symbolic (SymPy diff "
                         f"and code generation) and {prep['jax']:.2g} s for jax (tracing and XLA "
                         f"compilation), against "
                         f"{1e3 * prep.drop(['symbolic', 'jax'], errors='ignore').max():.2g} "
                         f"ms for the others.")
    cut = limit_note(df[df["problem"] == FAMILY], "n", (config or {}).get("time_limit"))
    if cut:
        parts.append("Curves cut short: " + "; ".join(f"{m} {c}" for m, c in cut.items()) + ".")
    sources = first.drop_duplicates(["problem", "n_inputs"])["truth_source"].value_counts() \
        if "truth_source" in first else {}
    if len(sources):
        parts.append("Truth: " + ", ".join(f"{s} for {n} problems" for s, n in sources.items())
                     + " (50-digit SymPy up to 30 inputs, JAX beyond).")
    if len(d):
        parts.append(how_measured(d["n_rep"], "each repeat's fastest sample"))
    return " ".join(parts)


def summary(df: pd.DataFrame, config: dict) -> dict[str, dict[str, str]]:
    """The report's top table: each method's Hessian of Rosenbrock at the largest n every
    method reached, and its growth in n."""
    d = lines(df)
    fam = d[d["problem"] == FAMILY]
    methods = methods_in(df)
    sizes = [set(fam[fam["method"] == m]["n_inputs"]) for m in methods]
    shared = set.intersection(*sizes) if sizes else set()
    if not shared:
        return {}
    n = int(max(shared))
    column = f"Hessian of rosenbrock at n = {n}, time; time ~ n^k (n >= 8)"
    out = {}
    for method in methods:
        line = fam[(fam["method"] == method) & (fam["n_inputs"] == n)].iloc[0]
        out[method] = {column: f"{_t(line)}; k = {slope_interval(df, method)}"}
    return out


def section(df: pd.DataFrame, config: dict, figdir: Path):
    """The report section: cost and accuracy figure, per-method table, findings."""
    from ..lab.report import Section

    if "experiment" in df:
        df = df[df["experiment"] == NAME]
    df = df[df["kind"] == "hessian"].copy()
    if "max_rho" not in df:  # no cell got as far as a comparison
        df["max_rho"] = np.nan
    fig = figure(df, Path(figdir) / f"{NAME}.png", config)
    table = per_method(df)
    caption = ("Hessians by every method: time per Hessian against n (left) and the "
               "largest error over the Hessian's entries per problem (right).")
    alt = ("Left, a log-log line plot of time per Hessian against the number of inputs, one "
           "line per method; right, one row of dots per method on a log error axis, a red "
           "tick at each method's tolerance.")
    return Section(NAME, TITLE, QUESTION, [(fig, caption, alt)], table,
                   findings(df, table, config), summary(df, config))
