"""The cost_vs_inputs study read back: its rows turned into tables, the figure and the findings.

``difflab.studies.cost_vs_inputs`` measures (the gradient cells of every method at each n, and
one baseline row per n with f's time and the operation counts from the IR); this module holds
what the report says about those rows: the per-n baselines, the measured ratios t(grad)/t(f),
log-log slopes, operation-count ratios, the ratio table, the three-panel figure against the
cheap-gradient band, and the findings and summary text. It reads only the rows and the config,
so it imports nothing from the study module.

Every time is a median over the repeats (each repeat's fastest batch) with its interval; a
ratio t(grad)/t(f) is taken repeat by repeat (both measured in the same pass), then its median
and interval; slopes carry a bootstrap interval over the repeats (``difflab.lab.repeats``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..lab.intervals import NAN, Interval, bootstrap, fmt, median_interval
from ..lab.repeats import how_measured, limit_note

METHODS = ("numeric", "forward", "reverse", "symbolic", "jax")
BOUND = (3.0, 5.0)   # the cheap-gradient constant omega (Griewank & Walther): a band


# ---- analysis ----------------------------------------------------------------------------
def _rows(df: pd.DataFrame) -> pd.DataFrame:
    d = df.copy()
    d["n"] = d["params.n"].astype(int)
    d["rep"] = d["rep"].fillna(0).astype(int) if "rep" in d else 0
    return d


def _f_evaluator(b: pd.DataFrame) -> pd.Series:
    """Per n, the faster evaluator of f over the repeats (the median of each decides)."""
    med = b.groupby("n")[["f_tape_min", "f_levels_min"]].median()
    levels = med["f_levels_min"].notna() & (med["f_levels_min"] < med["f_tape_min"])
    return pd.Series(np.where(levels, "levels", "tape"), index=med.index)


def f_per_repeat(df: pd.DataFrame) -> pd.Series:
    """f's time (s) indexed by (n, rep): each repeat's time by the evaluator faster at n."""
    b = _rows(df[df["method"] == "baseline"])
    if b.empty:
        return pd.Series(dtype=float)
    chosen = b["n"].map(_f_evaluator(b))
    f = np.where(chosen == "levels", b["f_levels_min"], b["f_tape_min"]).astype(float)
    return pd.Series(f, index=pd.MultiIndex.from_arrays([b["n"], b["rep"]]))


def baselines(df: pd.DataFrame) -> pd.DataFrame:
    """One line per n (the index): f's median time by each evaluator and by the faster one
    (``f_min``, with ``f_lo``/``f_hi``), which that is, and the operation counts."""
    b = _rows(df[df["method"] == "baseline"])
    if b.empty:
        return pd.DataFrame()
    f = f_per_repeat(df)
    out = b.groupby("n")[["f_tape_min", "f_levels_min", "f_plan_min"]].median()
    counts = [c for c in ("f_ops", "n_inputs", "ops_reverse", "ops_forward", "ops_numeric",
                          "numeric_evaluations") if c in b]
    out = out.join(b.groupby("n")[counts].first())
    out["f_evaluator"] = _f_evaluator(b)
    stats = {n: median_interval(f.xs(n, level=0)) for n in out.index}
    out["f_min"] = [stats[n].value for n in out.index]
    out["f_lo"] = [stats[n].lo for n in out.index]
    out["f_hi"] = [stats[n].hi for n in out.index]
    return out.sort_index()


def measured(df: pd.DataFrame) -> pd.DataFrame:
    """One line per method and n that came out ok: the gradient time t (s) and the ratio to
    f, each the median over the repeats with its interval (``t_lo``, ``t_hi``, ``ratio_lo``,
    ``ratio_hi``) and the repeats themselves (``t_samples``, ``ratio_samples``).

    Times are each repeat's fastest batch (``time_min``): on a shared machine other processes
    only ever add time. The ratio is to the faster f evaluator of the same repeat for the
    NumPy methods, and to its own jitted f (``f_min`` of the cell) for JAX.
    """
    columns = ["method", "n", "t", "t_lo", "t_hi", "ratio", "ratio_lo", "ratio_hi", "n_rep",
               "prepare_s", "t_samples", "ratio_samples"]
    d = _rows(df[(df["method"] != "baseline") & (df["outcome"] == "ok")])
    if d.empty:
        return pd.DataFrame(columns=columns)
    f = f_per_repeat(df)
    f_here = pd.Series([f.get((n, r), np.nan) for n, r in zip(d["n"], d["rep"], strict=True)],
                       index=d.index)
    f_jit = d["f_min"].astype(float) if "f_min" in d else np.nan
    d["t"] = d["time_min"].astype(float)
    d["ratio"] = np.where(d["method"] == "jax", d["t"] / f_jit, d["t"] / f_here)
    rows = []
    for (method, n), g in d.groupby(["method", "n"]):
        t, r = median_interval(g["t"]), median_interval(g["ratio"])
        prep = g["prepare_s"].dropna() if "prepare_s" in g else []
        rows.append({"method": method, "n": n, "t": t.value, "t_lo": t.lo, "t_hi": t.hi,
                     "ratio": r.value, "ratio_lo": r.lo, "ratio_hi": r.hi, "n_rep": t.n,
                     "prepare_s": float(np.median(prep)) if len(prep) else np.nan,
                     "t_samples": g["t"].to_numpy(), "ratio_samples": g["ratio"].to_numpy()})
    return pd.DataFrame(rows, columns=columns).sort_values(["method", "n"]) \
        .reset_index(drop=True)


def _fit(n, y) -> float:
    return float(np.polyfit(np.log(n), np.log(y), 1)[0])


def _fitted(n, fit_from: int, fit_to: int | None = None) -> np.ndarray:
    n = np.asarray(n, dtype=float)
    keep = (n >= fit_from) & (n <= (fit_to or np.inf))
    return keep if keep.sum() >= 2 else np.ones(len(n), dtype=bool)


def slope(n, y, fit_from: int) -> float:
    """Least-squares slope of log y against log n over the points with n >= fit_from (all
    points if fewer than two qualify); nan with fewer than two points."""
    n, y = np.asarray(n, dtype=float), np.asarray(y, dtype=float)
    keep = _fitted(n, fit_from)
    return _fit(n[keep], y[keep]) if keep.sum() >= 2 else float("nan")


def slope_interval(lines: pd.DataFrame, column: str, fit_from: int,
                   fit_to: int | None = None) -> Interval:
    """The slope of log ``column`` against log n (n from ``fit_from`` to ``fit_to``; all n
    when fewer than two are in range and no ``fit_to`` is given), with its bootstrap interval
    over the repeats (``column`` + "_samples" holds them)."""
    lines = lines.sort_values("n")
    n = lines["n"].to_numpy(dtype=float)
    keep = (n >= fit_from) & (n <= (fit_to or np.inf))
    chosen = lines[keep] if keep.sum() >= 2 or fit_to else lines
    if len(chosen) < 2:
        return NAN
    n = chosen["n"].to_numpy(dtype=float)
    return bootstrap(lambda med: _fit(n, med), list(chosen[f"{column}_samples"]))


def op_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Operations per gradient divided by ops(f), per method and n (long format)."""
    base = baselines(df)
    rows = []
    for n, b in base.iterrows():
        for method in ("reverse", "forward", "numeric"):
            ops = b.get(f"ops_{method}")
            if ops is not None and np.isfinite(float(ops)):
                rows.append({"method": method, "n": n, "ops_ratio": float(ops) / b["f_ops"]})
    sym = df[(df["method"] == "symbolic") & (df["outcome"] == "ok")]
    if "info.cse_ops" in sym:
        sym = sym.drop_duplicates("params.n")
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
    """Ratio t(grad)/t(f) per method (rows) at each n (columns, medians), the fitted slopes
    with their intervals, and the operation-count ratio at the largest n."""
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
        for name, column in (("slope t", "t"), ("slope ratio", "ratio")):
            iv = slope_interval(d, column, fit_from)
            row[name], row[f"{name} lo"], row[f"{name} hi"] = iv.value, iv.lo, iv.hi
        o = ops[ops["method"] == method]
        row["ops/ops(f) at max n"] = float(o.sort_values("n")["ops_ratio"].iloc[-1]) \
            if len(o) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def display_table(df: pd.DataFrame, config: dict) -> pd.DataFrame:
    """The report's table: each ratio and slope with its interval, at the digits it
    supports; an empty cell says why (the config's cap, or the limit that cut the curve)."""
    m = measured(df)
    t = table(df, config)
    reasons = _why_missing(df, config)
    out = []
    for _, row in t.iterrows():
        method = row["method"]
        line = {"method": method}
        for n in config["sizes"]:
            hit = m[(m["method"] == method) & (m["n"] == n)]
            line[f"t/f n={n}"] = fmt(*hit.iloc[0][["ratio", "ratio_lo", "ratio_hi"]]) \
                if len(hit) else reasons.get((method, n), "")
        for name in ("slope t", "slope ratio"):
            line[name] = fmt(row[name], row[f"{name} lo"], row[f"{name} hi"])
        line["ops/ops(f) at max n"] = row["ops/ops(f) at max n"]
        out.append(line)
    return pd.DataFrame(out)


def _why_missing(df: pd.DataFrame, config: dict) -> dict:
    """(method, n) -> why that cell has no time: the config's cap, or its outcome."""
    caps = config.get("max_n", {})
    out = {}
    for method in config["methods"]:
        for n in config["sizes"]:
            if n > caps.get(method, n):
                out[(method, n)] = f"— (capped at n = {caps[method]})"
        rows = df[(df["method"] == method) & (df["outcome"] != "ok")]
        for _, r in rows.iterrows():
            out.setdefault((method, int(r["params.n"])), f"— ({r['outcome']})")
    return out


def _not_run(df: pd.DataFrame, config: dict) -> str:
    """Which methods stopped short of the largest size, and why (cap, limit, outcome)."""
    top = max(config["sizes"])
    caps = config.get("max_n", {})
    cut = limit_note(df, "n", config.get("time_limit"))
    notes = []
    for method in config["methods"]:
        d = df[df["method"] == method]
        ok = d[d["outcome"] == "ok"]["params.n"]
        largest = int(ok.max()) if len(ok) else None
        if largest == top:
            continue
        bad = d[d["outcome"] != "ok"]
        why = cut.get(method) or (
            f"{bad['outcome'].iloc[0]} at n={int(bad['params.n'].iloc[0])}" if len(bad)
            else f"capped at n={caps.get(method)} by the config's budget")
        notes.append(f"{method} up to n={largest} ({why})")
    return ("Not measured at every size: " + "; ".join(notes) + ".") if notes else ""


# ---- the findings and the summary ---------------------------------------------------------
def _at(m: pd.DataFrame, method: str, n: int | None = None) -> pd.Series:
    """The line of ``method`` at ``n`` (default: its largest n)."""
    d = m[m["method"] == method]
    return d.iloc[-1] if n is None else d[d["n"] == n].iloc[0]


def _ratio(line) -> str:
    return fmt(line["ratio"], line["ratio_lo"], line["ratio_hi"], "×")


def findings(df: pd.DataFrame, config: dict) -> str:
    """Sentences computed from the rows, every measured figure with its interval."""
    m = measured(df)
    base = baselines(df)
    fit_from = config.get("fit_from", 10)
    present = set(m["method"])
    parts = []
    f_lines = pd.DataFrame({"n": base.index, "t_samples": list(f_per_repeat(df).groupby(
        level=0).apply(lambda s: s.to_numpy()).reindex(base.index))})
    f_slope = slope_interval(f_lines, "t", fit_from)
    ops = op_counts(df)
    if "reverse" in present:
        r = m[m["method"] == "reverse"]
        top = _at(m, "reverse")
        inside = BOUND[0] <= top["ratio"] <= BOUND[1]
        spread = r[r["n"] >= fit_from]
        low, high = spread.loc[spread["ratio"].idxmin()], spread.loc[spread["ratio"].idxmax()]
        rev_ops = ops[ops["method"] == "reverse"]["ops_ratio"]
        parts.append(
            f"Reverse mode's gradient cost {_ratio(top)} f at n = {int(top['n'])} and stayed "
            f"between {_ratio(low)} and {_ratio(high)} f for n ≥ {fit_from} (slope of log t "
            f"against log n: {slope_interval(r, 't', fit_from)}, f's own {f_slope}; of the "
            f"ratio: {slope_interval(r, 'ratio', fit_from)}): "
            f"{'inside' if inside else 'outside'} the cheap-gradient band "
            f"{BOUND[0]:g}–{BOUND[1]:g}; its operation count is a constant "
            f"{rev_ops.iloc[-1]:.2f}× ops(f).")
    if "numeric" in present:
        d = m[m["method"] == "numeric"]
        top = _at(m, "numeric")
        evals = base.loc[int(top["n"]), "numeric_evaluations"]
        per_eval = fmt(top["ratio"] / evals, top["ratio_lo"] / evals, top["ratio_hi"] / evals,
                       "×") if evals == evals else "n/a"
        parts.append(
            f"Finite differences grow like n: {_ratio(top)} f at n = {int(top['n'])} "
            f"({int(evals) if evals == evals else '?'} evaluations of f by the adaptive "
            f"scheme, each {per_eval} f: its evaluator walks the plan node by node), ratio "
            f"slope {slope_interval(d, 'ratio', fit_from)}.")
    if "forward" in present:
        d = m[m["method"] == "forward"]
        lo, hi = d.iloc[0], d.iloc[-1]
        o = ops[ops["method"] == "forward"]
        ops_slope = slope(o["n"], o["ops_ratio"], fit_from)
        time_slope = slope_interval(d, "ratio", fit_from)
        text = (f"Forward mode's operation count grows like n (ratio slope {ops_slope:.2f}; "
                f"{o['ops_ratio'].iloc[-1]:.0f}× ops(f) at n = {int(o['n'].iloc[-1])}); its "
                f"measured ratio went from {_ratio(lo)} f (n = {int(lo['n'])}) to "
                f"{_ratio(hi)} f (n = {int(hi['n'])}), ratio slope {time_slope}")
        rows = df[df["method"] == "forward"]
        by_levels = "info.sweep" in rows and (rows["info.sweep"] == "levels").any()
        if time_slope.finite and time_slope.hi < 0.8 * ops_slope and not by_levels:
            text += (": less than n-fold, because all n directions travel as one NumPy "
                     "array per slot and share each operation's interpreter overhead")
        parts.append(text + ".")
    for method in ("symbolic", "jax"):
        if method in present:
            d = m[m["method"] == method]
            hi = d.iloc[-1]
            prep = d["prepare_s"].astype(float)
            parts.append(
                f"{method.capitalize()}: {_ratio(hi)} f at n = {int(hi['n'])}"
                f"{' (against its jitted f)' if method == 'jax' else ''}, but preparing took "
                f"{hi['prepare_s']:.2g} s there (one preparation per cell; its slope in n "
                f"{slope(d['n'], prep, fit_from):.1f}).")
    parts.append(_f_note(df, base))
    extra = _not_run(df, config)
    if extra:
        parts.append(extra)
    parts.append(how_measured(m["n_rep"]))
    return " ".join(p for p in parts if p)


def _f_note(df: pd.DataFrame, base: pd.DataFrame) -> str:
    """Which evaluator times f at which n, and what the plan evaluator would change."""
    plan = base["f_plan_min"].dropna() if "f_plan_min" in base else pd.Series(dtype=float)
    factor = (plan / base.loc[plan.index, "f_min"]).median() if len(plan) else float("nan")
    by_levels = base.index[base["f_evaluator"] == "levels"]
    where = "the tape's forward pass, node by node"
    ok = df[(df["method"] != "baseline") & (df["outcome"] == "ok")]
    sweeps = ok[ok["info.sweep"] == "levels"] if "info.sweep" in ok else ok.iloc[:0]
    levelled = {m: sorted({int(n) for n in g["params.n"]}) for m, g in sweeps.groupby("method")}
    if len(by_levels):
        n0, top = int(by_levels.min()), int(base.index.max())
        speedup = base.loc[top, "f_tape_min"] / base.loc[top, "f_levels_min"]
        stepped = [m for m in method_order(ok["method"]) if m not in levelled and m != "jax"
                   and (ok[ok["method"] == m]["params.n"] >= n0).any()]
        where = (f"node by node for n < {n0}, a level at a time from n = {n0}, "
                 f"{speedup:.2g}× faster than node by node at n = {top} (medians)"
                 + (f"; the ratios of the methods that work node by node "
                    f"({', '.join(stepped)}) step up there" if stepped else ""))
    for method, sizes in levelled.items():
        where += f"; {method} mode sweeps by levels at n = {', '.join(map(str, sizes))}"
    return (f"(f is timed by the fastest evaluator: {where}. The lab's plan evaluator takes "
            f"{factor:.2g}× longer (median over n, first repeat), which would divide every "
            f"ratio by that.)")


def common_size(m: pd.DataFrame, config: dict) -> int | None:
    """The largest n at which every method of the config has a time."""
    sizes = [set(m[m["method"] == meth]["n"]) for meth in config["methods"]]
    shared = set.intersection(*sizes) if sizes else set()
    return max(shared) if shared else None


def summary(df: pd.DataFrame, config: dict) -> dict[str, dict[str, str]]:
    """The report's top table: every method's t(grad)/t(f) at the same n (the largest all
    methods reached) and its slope over the same range of n."""
    m = measured(df)
    n_common = common_size(m, config)
    fit_from = config.get("fit_from", 10)
    if n_common is None:
        return {}
    below = [n for n in config["sizes"] if n <= n_common]
    low = max([n for n in below if n <= fit_from] or below[:1])  # >= 2 sizes if there are
    if low == n_common and len(below) > 1:
        low = below[-2]
    column = (f"gradient cost t(grad)/t(f), {config['problem']} at n = {n_common}; slope in "
              f"n over n = {low}–{n_common}")
    out = {}
    for method in config["methods"]:
        d = m[m["method"] == method]
        if not len(d[d["n"] == n_common]):
            out[method] = {column: "— (no time at that n)"}
            continue
        line = _at(m, method, n_common)
        k = slope_interval(d, "ratio", low, n_common)
        out[method] = {column: f"{_ratio(line)}; ∝ n^{k}"}
    return out
