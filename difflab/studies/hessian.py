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
        settings, min_time=config.get("min_time", 0.005), samples=config.get("samples", 5),
        max_time=config.get("max_time", 0.3), time_limit=config.get("time_limit", 60.0))
    run_sweep(cells(config), run, settings, isolate=config.get("isolate", True))


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


def slope(df: pd.DataFrame, method: str, n_min: int = 8) -> float:
    """Least-squares slope of log time against log n on the Rosenbrock family, n >= n_min
    (all sizes when fewer than two reach n_min): the k of time ~ n^k."""
    d = df[(df["problem"] == FAMILY) & (df["method"] == method) & (df["outcome"] == "ok")]
    if (d["n_inputs"] >= n_min).sum() >= 2:
        d = d[d["n_inputs"] >= n_min]
    if len(d) < 2:
        return float("nan")
    return float(np.polyfit(np.log(d["n_inputs"].astype(float)),
                            np.log(d["time_min"].astype(float)), 1)[0])


def per_method(df: pd.DataFrame) -> pd.DataFrame:
    """One row per method: outcomes, accuracy, cost at the largest n, scaling, ratio to f."""
    rows = []
    fam = df[(df["problem"] == FAMILY) & (df["outcome"] == "ok")]
    for method in methods_in(df):
        d = df[df["method"] == method]
        ok = d[d["outcome"] == "ok"]
        rho = d["max_rho"].astype(float) if "max_rho" in d else pd.Series(dtype=float)
        worst = d.loc[rho.idxmax()] if rho.notna().any() else None
        mine = fam[fam["method"] == method]
        at_max = mine[mine["n_inputs"] == mine["n_inputs"].max()]
        rows.append({
            "method": method, "ok": f"{len(ok)}/{len(d)}",
            "median max rho": float(rho.median()) if rho.notna().any() else np.nan,
            "worst max rho": "" if worst is None else
            f"{_sci(worst['max_rho'])} ({label(worst)})",
            "time per Hessian, largest n": f"{_time(at_max['time_min'].iloc[0])} "
            f"(n={int(at_max['n_inputs'].iloc[0])})" if len(at_max) else "",
            "time ~ n^k, k": slope(df, method),
            "median ratio to f": float(ok["ratio"].median()) if "ratio" in ok and
            ok["ratio"].notna().any() else np.nan,
            "median prepare": _time(ok["prepare_s"].median()) if len(ok) else "",
        })
    return pd.DataFrame(rows)


# ---- the figure --------------------------------------------------------------------------
def figure(df: pd.DataFrame, path: Path) -> Path:
    """Left: time per Hessian against n (log-log). Right: max rho per method (log)."""
    import matplotlib.ticker

    from ..lab import plotting

    fig, (ax_t, ax_a) = plotting.figure(width=12.5, height=4.8, ncols=2,
                                        gridspec_kw={"width_ratios": [1.25, 1.0]})
    methods = methods_in(df)
    ok = df[df["outcome"] == "ok"]
    for method in methods:
        col, mark = plotting.color(method), plotting.marker(method)
        fam = ok[(ok["problem"] == FAMILY) & (ok["method"] == method)].sort_values("n_inputs")
        k = slope(df, method)
        ax_t.plot(fam["n_inputs"], fam["time_min"], marker=mark, color=col, linewidth=1.6,
                  label=f"{method} (rosenbrock, ~n^{k:.1f})" if np.isfinite(k) else method)
        other = ok[(ok["problem"] != FAMILY) & (ok["method"] == method)]
        hollow = {"facecolors": "none", "edgecolors": col} if mark not in "x+" else {"c": col}
        ax_t.scatter(other["n_inputs"], other["time_min"], marker=mark, s=30,
                     linewidths=1.1, **hollow)
    ax_t.scatter([], [], marker="o", facecolors="none", edgecolors="#555555",
                 label="other problems (scalar suite, mlp_loss)")
    ax_t.set_xscale("log", base=2)
    ax_t.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax_t.set_yscale("log")
    ax_t.set_xlabel("number of inputs n (log)")
    ax_t.set_ylabel("time per Hessian (seconds, fastest sample; log)")
    ax_t.set_title("Cost: time per Hessian against n", fontsize=10)
    ax_t.legend(fontsize=7.5, loc="upper left")

    rng = np.random.default_rng(0)  # jitter only
    tol_drawn = set()
    for i, method in enumerate(methods):
        d = df[(df["method"] == method) & df["max_rho"].notna()]
        r = d["max_rho"].astype(float)
        x = np.where(np.isfinite(r), r, 1.0).clip(min=ZERO_AT)
        y = i + rng.uniform(-0.2, 0.2, size=len(x))
        ax_a.scatter(x, y, s=22, color=plotting.color(method), marker=plotting.marker(method),
                     alpha=0.75)
        if len(d) and "tol" in d and d["tol"].notna().any():
            tol = float(d["tol"].dropna().iloc[0])
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
def findings(df: pd.DataFrame, table: pd.DataFrame) -> str:
    """Sentences computed from the rows."""
    parts = []
    counts = df["outcome"].value_counts()
    parts.append(f"{counts.get('ok', 0)} of {len(df)} Hessians are within tolerance"
                 + ("" if counts.get("ok", 0) == len(df) else " (" + ", ".join(
                     f"{n} {o}" for o, n in counts.items() if o != "ok") + ")") + ".")
    t = table.set_index("method")
    exact = [m for m in ("symbolic", "forward", "reverse", "jax") if m in t.index]
    if exact:
        rho = df[df["method"].isin(exact)]["max_rho"].astype(float)
        parts.append(f"The exact methods agree with the truth to rho <= {_sci(rho.max())} on "
                     f"every problem (beyond 30 inputs the truth is JAX's own float64 "
                     f"Hessian, so jax scores 0 there by construction);")
    if "numeric" in t.index:
        num = df[df["method"] == "numeric"]
        worst = num.loc[num["max_rho"].astype(float).idxmax()]
        parts.append(f"second differences keep rho between "
                     f"{_sci(num['max_rho'].min())} and {_sci(worst['max_rho'])} "
                     f"({label(worst)}), a median of "
                     f"{-np.log10(float(num['max_rho'].median())):.0f} correct digits.")
    fam = df[(df["problem"] == FAMILY) & (df["outcome"] == "ok")]
    if len(fam):
        n_max = int(fam["n_inputs"].max())
        at = fam[fam["n_inputs"] == n_max].set_index("method")
        ranked = at["time_min"].sort_values()
        parts.append(f"At n = {n_max} a Hessian takes " + ", ".join(
            f"{_time(v)} by {m}" for m, v in ranked.items()) + ".")
        absent = [m for m in t.index if m not in at.index]
        for m in absent:
            mine = fam[fam["method"] == m]
            if len(mine):
                top = mine.loc[mine["n_inputs"].idxmax()]
                parts.append(f"({m} was measured up to n = {int(top['n_inputs'])}: "
                             f"{_time(top['time_min'])}.)")
        slopes = {m: k for m in t.index if np.isfinite(k := slope(df, m))}
        if slopes:
            sizes = fam["n_inputs"]
            low = 8 if (sizes >= 8).sum() >= 2 * len(slopes) else int(sizes.min())
            parts.append(f"Fitted on Rosenbrock (n = {low}..{n_max}), time grows like n^k "
                         f"with k = " + ", ".join(f"{k:.1f} ({m})" for m, k in slopes.items())
                         + ".")
    if "prepare_s" in df:
        prep = df[df["outcome"] == "ok"].groupby("method")["prepare_s"].max()
        if "symbolic" in prep and "jax" in prep:
            parts.append(f"Preparation is the hidden cost: up to {prep['symbolic']:.1f} s for "
                         f"symbolic (SymPy diff and lambdify) and {prep['jax']:.1f} s for jax "
                         f"(tracing and XLA compilation), against "
                         f"{1e3 * prep.drop(['symbolic', 'jax'], errors='ignore').max():.0f} "
                         f"ms for the others.")
    sources = df.drop_duplicates(["problem", "n_inputs"])["truth_source"].value_counts() \
        if "truth_source" in df else {}
    if len(sources):
        parts.append("Truth: " + ", ".join(f"{s} for {n} problems" for s, n in sources.items())
                     + " (50-digit SymPy up to 30 inputs, JAX beyond).")
    return " ".join(parts)


def section(df: pd.DataFrame, config: dict, figdir: Path):
    """The report section: cost and accuracy figure, per-method table, findings."""
    from ..lab.report import Section

    if "experiment" in df:
        df = df[df["experiment"] == NAME]
    df = df[df["kind"] == "hessian"].copy()
    if "max_rho" not in df:  # no cell got as far as a comparison
        df["max_rho"] = np.nan
    fig = figure(df, Path(figdir) / f"{NAME}.png")
    table = per_method(df)
    caption = ("Hessians by every method: time per Hessian against n (left) and the "
               "largest error over the Hessian's entries per problem (right).")
    alt = ("Left, a log-log line plot of time per Hessian against the number of inputs, one "
           "line per method; right, one row of dots per method on a log error axis, a red "
           "tick at each method's tolerance.")
    return Section(NAME, TITLE, QUESTION, [(fig, caption, alt)], table, findings(df, table))
