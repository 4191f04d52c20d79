"""The GradBench study's rows read back: the table of ratios beside GradBench's published
ones, the figure (ratio per workload, per eval), the findings and the summary.

A ratio is the lab's: per repeat, the fastest batch of the method's derivative over the
fastest batch of f (the IR evaluated by the plan; for the jax method, jitted), measured
together; a workload's ratio is the median over the repeats, with its interval
(``difflab.lab.repeats.collapse``). GradBench's published ratio is its scorer's: the mean of
all runs' times of the derivative over that of the primal. Both are per workload; the table
summarises them by the geometric mean over workloads, with a bootstrap interval over the
repeats.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..gradbench import published
from ..gradbench.workloads import module
from ..lab.intervals import DRIFT, NAN, bootstrap, fmt
from ..lab.repeats import collapse, how_measured

NAME = "gradbench"
TRUTH_EXPERIMENT = "gradbench:truth50"
TOOLS = published.TOOLS
TOOL_STYLE = {"jax": ("#444444", "--"), "pytorch": ("#e66101", ":"), "manual": ("#888888", "-.")}
REVERSE_TARGET = {"lse": 1.17, "llsq": 1.13, "gmm": 3.0, "kmeans": 2.0, "ode": 2.1}


def _eval(problem: str) -> str:
    return problem.removeprefix("gradbench_")


def _params(row: pd.Series, name: str) -> dict:
    return {k: (bool(row[f"params.{k}"]) if isinstance(module(name).WORKLOADS[0][k], bool)
                else int(row[f"params.{k}"])) for k in module(name).WORKLOADS[0]}


def measured(df: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: eval, workload (GradBench's name, or the sizes), its index, method,
    outcome, time per derivative (s) and ratio (medians over the repeats, with ``t_lo``,
    ``t_hi``, ``ratio_lo``, ``ratio_hi`` and the repeats' ratios), message."""
    d = df[df["experiment"] == NAME] if "experiment" in df else df
    d = collapse(d)
    out = []
    for _, row in d.iterrows():
        name = _eval(row["problem"])
        params = _params(row, name)
        label = published.description(name, params) or ",".join(f"{k}={v}"
                                                                 for k, v in params.items())
        index = module(name).WORKLOADS.index(params) if params in module(name).WORKLOADS \
            else -1
        out.append({"eval": name, "workload": label, "index": index,
                    "size": math.prod(v for v in params.values() if not isinstance(v, bool)),
                    "method": row["method"], "outcome": row["outcome"],
                    "t": row["t"], "t_lo": row["t_lo"], "t_hi": row["t_hi"], "f": row["f"],
                    "ratio": row["ratio"], "ratio_lo": row["ratio_lo"],
                    "ratio_hi": row["ratio_hi"], "ratio_samples": row["ratio_samples"],
                    "n_rep": row["n_rep"], "message": row.get("message", "") or "",
                    "params": params})
    return pd.DataFrame(out)


def geomean_interval(ok: pd.DataFrame):
    """The geometric mean of the workloads' ratios, with its bootstrap interval."""
    samples = [s for s in ok["ratio_samples"] if len(s)]
    if not samples:
        return NAN
    return bootstrap(lambda med: _geomean(med), samples, drift=DRIFT)


def _geomean(values) -> float:
    values = [v for v in values if v == v and v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def _why(rows: pd.DataFrame) -> str:
    """The first workload a method did not finish, and why, in a few words."""
    bad = rows[rows["outcome"] != "ok"]
    if bad.empty:
        return ""
    first = bad.iloc[0]
    text = str(first["message"]).split(":", 1)[-1].strip() or first["outcome"]
    if len(text) > 90:  # a few words: cut at a word's end, and say so
        text = text[:90].rsplit(" ", 1)[0].rstrip(";,:") + " …"
    return f"{first['workload']}: {first['outcome']} ({text})"


def table(df: pd.DataFrame, config: dict) -> pd.DataFrame:
    """Per eval and method: workloads finished, the geometric-mean ratio and the time at the
    largest workload finished, where it stopped and why; GradBench's published ratios."""
    m = measured(df)
    rows = []
    for name in config["evals"]:
        for method in config["methods"]:
            r = m[(m["eval"] == name) & (m["method"] == method)].sort_values("index")
            if r.empty:
                continue
            ok = r[r["outcome"] == "ok"]
            last = ok.iloc[-1] if len(ok) else None
            rows.append({"eval": name, "method": method, "ok": f"{len(ok)}/{len(r)}",
                         "d/p (geomean)": str(geomean_interval(ok)),
                         "largest ok": last["workload"] if last is not None else "",
                         "ms/derivative there": fmt(last["t"] * 1e3, last["t_lo"] * 1e3,
                                                    last["t_hi"] * 1e3)
                         if last is not None else "",
                         "stopped at": _why(r),
                         **{f"GradBench {tool}": published.geomean_ratio(name, tool)
                            for tool in TOOLS}})
    return pd.DataFrame(rows)


def truth(df: pd.DataFrame) -> pd.DataFrame:
    """The 50-digit truth rows: eval, method, outcome, max rho (or why there is no truth)."""
    d = df[df["experiment"] == TRUTH_EXPERIMENT] if "experiment" in df else df.iloc[:0]
    return pd.DataFrame([{"eval": _eval(r["problem"]), "method": r["method"],
                          "outcome": r["outcome"], "rho": r.get("max_rho", np.nan),
                          "message": r.get("message", "") or ""} for _, r in d.iterrows()])


def figure(df: pd.DataFrame, config: dict, path: Path) -> Path:
    """Ratio derivative / primal per workload, one panel per eval: difflab's methods (solid)
    and GradBench's published tools (broken lines)."""
    from matplotlib.ticker import NullFormatter

    from ..lab import plotting

    m = measured(df)
    names = list(config["evals"])
    cols = 3
    fig, axes = plotting.figure(width=14, height=3.8 * math.ceil(len(names) / cols),
                                nrows=math.ceil(len(names) / cols), ncols=cols,
                                layout="constrained")  # titles clear of the labels above
    for ax, name in zip(axes.flat, names, strict=False):
        e = m[(m["eval"] == name) & (m["outcome"] == "ok")]
        labels = {}
        for method in config["methods"]:
            s = e[e["method"] == method].sort_values("size")
            if len(s):
                plotting.errorbar(ax, s["size"], s["ratio"], s["ratio_lo"], s["ratio_hi"],
                                  marker="o", ms=4, lw=1.5, color=plotting.color(method),
                                  label=method)
                labels.update(zip(s["size"], s["workload"], strict=True))
        for tool in TOOLS:
            pts = [(math.prod(v for v in p.values() if not isinstance(v, bool)),
                    published.ratio(name, tool, p)) for p in module(name).WORKLOADS]
            pts = [(x, y) for x, y in pts if y is not None]
            if pts:
                colour, ls = TOOL_STYLE[tool]
                ax.plot(*zip(*pts, strict=True), color=colour, ls=ls, lw=1.2,
                        label=f"GradBench {tool}")
        ax.set(xscale="log", yscale="log", title=name, xlabel="workload size (product of sizes)",
               ylabel="derivative / primal")
        ax.axhline(1.0, color="black", lw=0.6)
        ax.xaxis.set_minor_formatter(NullFormatter())  # (a narrow range: no crowded labels)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Derivative / primal on GradBench's workloads: difflab's methods (solid; "
                 "medians over the repeats, 95% intervals) and GradBench's published tools "
                 "(broken)", fontsize=11)
    return plotting.save(fig, path)


def _gave_up(m: pd.DataFrame, method: str) -> list[str]:
    parts = []
    for name, r in m[m["method"] == method].groupby("eval", sort=False):
        why = _why(r.sort_values("index"))
        if why:
            parts.append(f"{name} at {why}")
    return parts


def findings(df: pd.DataFrame, config: dict) -> str:
    """Sentences computed from the rows."""
    m = measured(df)
    parts = []
    rev = m[(m["method"] == "reverse") & (m["outcome"] == "ok")]
    if len(rev):
        said = []
        for name, target in REVERSE_TARGET.items():
            got = geomean_interval(rev[rev["eval"] == name])
            if got.finite:
                where = ("at or below" if got.hi <= target else
                         "the same within the interval" if got.lo <= target else
                         f"{got.value / target:.2g}× above")
                said.append(f"{name} {got} (JAX {target:g}: {where})")
        if said:
            parts.append("Reverse mode's ratio derivative/primal, geometric mean over the "
                         "workloads it finished, against JAX's published one: " +
                         "; ".join(said) + ".")
    for method in config["methods"]:
        stops = _gave_up(m, method)
        if stops:
            parts.append(f"{method} stopped: " + "; ".join(stops) + ".")
    t = truth(df)
    if len(t):
        lines = []
        for name, r in t.groupby("eval", sort=False):
            if (r["outcome"] == "unsupported").all():
                lines.append(f"{name}: no 50-digit truth ({r['message'].iloc[0]})")
            else:
                lines.append(f"{name}: " + ", ".join(
                    f"{row.method} {row.rho:.1e}" if row.rho == row.rho else
                    f"{row.method} {row.outcome}" for row in r.itertuples()))
        parts.append("Against the 50-digit truth at the smallest sizes (max rho): " +
                     "; ".join(lines) + ".")
    if config.get("tolerances"):
        parts.append("Accuracy is judged against the same eval function by JAX with rho = "
                     "|a - b| / max(1, |a| + |b|) at most " + ", ".join(
                         f"{t:g} for {m}" for m, t in config["tolerances"].items()) +
                     " (sums of up to 10^5 products, taken in another order than XLA's), "
                     "and the lab's tolerance for the other methods.")
    parts.append("Caveats: det is expansion by minors with each minor computed once (the IR "
                 "is a DAG): O(ℓ·2^ℓ) products where GradBench's tools do O(ℓ!); lstm's text "
                 "and parameters, and ba's and ht's data, are drawn here (GradBench reads "
                 "files and lstm draws unseeded); lse, llsq, kmeans, ode and det replay "
                 "GradBench's draws exactly.")
    parts.append(f"The published ratios are {published.citation()}; GradBench's ratio is its "
                 f"scorer's (means of all runs, the first compiling run included), measured on "
                 f"GitHub's runners, difflab's the lab's (medians, in one pinned thread here).")
    ok = m[m["outcome"] == "ok"]
    if len(ok):
        parts.append(how_measured(ok["n_rep"]))
    return " ".join(parts)


def summary(df: pd.DataFrame, config: dict) -> dict[str, dict[str, str]]:
    """The report's top table: how many of the same GradBench workloads each method finished
    (every method against the config's whole list; a cap says so)."""
    m = measured(df)
    total = sum(len(module(name).WORKLOADS) if config["evals"][name] == "all" else
                (config["evals"][name] if isinstance(config["evals"][name], int)
                 else len(config["evals"][name])) for name in config["evals"])
    caps = config.get("max_workloads", {})
    column = (f"GradBench: workloads finished of the {total} in the config "
              f"({len(config['evals'])} evals)")
    out = {}
    for method in config["methods"]:
        r = m[m["method"] == method]
        text = f"{int((r['outcome'] == 'ok').sum())} of {total}"
        if method in caps:
            text += f" (capped at {caps[method]} per eval)"
        out[method] = {column: text}
    return out
