"""Finite-difference error against the step h: truncation meets round-off.

A difference quotient of order p errs by C h^p (truncation: the Taylor terms it drops) plus
about eps |f| / h (round-off: f(x + h) - f(x) subtracts nearly equal numbers, each known to
eps |f|). On a log-log plot the first falls to the left with slope p, the second rises with
slope -1: a V whose bottom is the best step. Balancing the two (eps = 2^-52):

    forward    |f''|/2 h      + 2 eps |f| / h    ->  h* = 2 sqrt(eps |f| / |f''|)
    central    |f'''|/6 h^2   + eps |f| / h      ->  h* = (3 eps |f| / |f'''|)^(1/3)
    central4   |f^(5)|/30 h^4 + 1.5 eps |f| / h  ->  h* = (11.25 eps |f| / |f^(5)|)^(1/5)

so the textbook steps sqrt(eps), eps^(1/3), eps^(1/5) are these with f's derivatives set to
O(1); here the derivatives of f at x (50-digit SymPy) scale them. The complex step
Im f(x + ih) / h subtracts nothing: no round-off term, so any h below ~1e-8 is exact to
rounding, down to h = 1e-200. Forward and reverse mode have no step at all, and neither have
the adaptive scheme (``numeric``, the default) and the ``methods`` of the config that choose
their own steps (numdifftools, scipy.differentiate): each is a flat line at its error.

Rows are custom (no runner cells): one per (function, scheme, h), plus each scheme's default
step, the two AD modes and the theoretical optima; each row's ``cell_id`` is a ``Cell`` id, so
a resumed run skips what it already has."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import api, numeric
from ..lab import Cell, Run, Settings
from ..lab.accuracy import rel_err, rho
from ..lab.problems import get_problem

NAME = "fd_steps"
TITLE = "Finite differences: error against the step h"
QUESTION = ("How does the error of a finite difference depend on its step h, where is the "
            "best step, and how does it compare with the complex step and with AD?")

EPS = float(np.finfo(np.float64).eps)
FLOOR = 1e-17       # a zero error is drawn here on the log axis
CEILING = 10.0      # errors above this are drawn here
ORDER = {"forward": 1, "backward": 1, "central": 2, "central4": 4, "richardson": 6}
# h* = (k eps |f| / |f^(p+1)|)^(1/(p+1)) from minimising truncation + round-off (docstring)
OPTIMUM = {"forward": (2, 4.0), "central": (3, 3.0), "central4": (5, 11.25)}
MARKERS = {"forward": "v", "backward": "^", "central": "o", "central4": "s", "richardson": "D",
           "complex": "."}
CAPS = ("Each scheme's error against its step h: truncation on the right, round-off on the left",
        "The complex step's error stays flat down to h = 1e-200: no subtraction, no round-off")
LABELS = {"squire_trapp": "Squire–Trapp exp(x)/sqrt(sin³x + cos³x) at x = {x:g}",
          "logistic4": "logistic map l₄ at x = {x:g}"}


def steps(config: dict, scheme: str) -> list[float]:
    """The steps h for a scheme: ``per_decade`` per decade from 10^-first to 10^-last, and
    for the complex step on down to 10^-complex_last every ``complex_every`` decades."""
    first, last = config.get("decades", [1, 16])
    per = config.get("per_decade", 4)
    hs = [10.0 ** (-k / per) for k in range(first * per, last * per + 1)]
    if scheme == "complex":
        every = config.get("complex_every", 4)
        hs += [10.0 ** -k for k in range(last + every, config.get("complex_last", 200) + 1,
                                         every)]
    return hs


def flat_lines(config: dict) -> list[tuple[str, str, str]]:
    """(method, what, label) of the methods drawn as flat lines (no step of theirs to sweep)."""
    return [*((m, "ad", f"{m} AD") for m in config.get("ad", ["forward", "reverse"])),
            *((m, "adaptive", f"{m} (adaptive, the default)")
              for m in config.get("adaptive", [])),
            *((m, "method", f"{m} (own steps)") for m in config.get("methods", []))]


def _cell(problem: str, method: str, what: str, h: float | None = None) -> Cell:
    return Cell(NAME, problem, {"what": what, "h": h}, method)


def _measure(expr, point: dict, truth: float, method: str, **options) -> dict:
    """One derivative by ``method``, its error (and numeric's count of evaluations and, for
    the adaptive scheme, its own error estimate); failures become an outcome."""
    try:
        prepared = api.prepared("grad", expr, None, {"x": ()}, method, **options)
        value = float(prepared(point)["x"])
    except ValueError as err:  # e.g. a step that vanishes next to x
        return {"outcome": "error", "message": str(err)[:300]}
    info = prepared.info
    return {"outcome": "ok" if math.isfinite(value) else "nan", "value": value, "truth": truth,
            "rel_err": float(rel_err(value, truth)), "rho": float(rho(value, truth)),
            "message": "", "evaluations": info.get("evaluations_last_call"),
            "error_estimate": info.get("error_estimate", {}).get("x")}


def derivatives(expr, x: float, order: int = 5) -> list[float]:
    """f, f', ..., f^(order) at x: mpmath's Taylor coefficients at 50 digits (its numerical
    differentiation at that precision is exact far beyond float64), from the exact float x.
    (Differentiating the SymPy tree five times instead takes seconds on l_4.)"""
    import mpmath
    import sympy

    from ..core.sympy_bridge import mpmath_functions, to_sympy

    f = to_sympy(expr)
    (symbol,) = f.free_symbols
    fn = sympy.lambdify(symbol, f, modules=[mpmath_functions(), "mpmath"])
    with mpmath.workdps(50):
        coefficients = mpmath.taylor(fn, mpmath.mpf(x), order)  # c_k = f^(k)(x) / k!
        return [float(c * mpmath.factorial(k)) for k, c in enumerate(coefficients)]


def optimum_rows(problem: str, expr, x: float) -> list[dict]:
    """The theoretical optimal steps (derivative-scaled and the O(1) rule) per scheme."""
    try:
        d = derivatives(expr, x)
    except Exception as err:  # noqa: BLE001 - no theory line, the measurements stand
        return [{**_cell(problem, "theory", "optimum").key(), "what": "optimum",
                 "outcome": "error", "message": f"derivatives: {err}"[:300]}]
    rows = []
    for scheme, (k, factor) in OPTIMUM.items():
        p = ORDER[scheme]
        scaled = (factor * EPS * abs(d[0]) / abs(d[k])) ** (1 / k) if d[k] else float("nan")
        rows.append({**_cell(problem, f"numeric:{scheme}", "optimum").key(), "what": "optimum",
                     "outcome": "ok", "message": "", "x": x, "h_opt": scaled,
                     "h_rule": EPS ** (1 / (p + 1)), "f": d[0], "f_deriv": d[k],
                     "deriv_order": k})
    return rows


def run(config: dict, run: Run, settings: Settings) -> None:
    """Append one row per (function, scheme, h), per default step, per AD mode, per optimum."""
    for name in config["functions"]:
        instance = get_problem(name).instance({}, seed=0)
        expr, point = instance.expr, instance.point
        if tuple(point) != ("x",):
            raise ValueError(f"fd_steps needs a function of one variable x; {name!r} has "
                             f"{', '.join(point)}")
        x = float(point["x"])
        truth = None

        for row in optimum_rows(name, expr, x):
            if row["cell_id"] not in run.done:
                run.append(row)
        for scheme in config["schemes"]:
            method = f"numeric:{scheme}"
            for h in steps(config, scheme):
                cell = _cell(name, method, "step", h)
                if cell.cell_id in run.done:
                    continue
                truth = truth if truth is not None else float(instance.truth("grad")["x"])
                try:
                    h_used = numeric.step_size(x, scheme, step=h)
                except ValueError:
                    h_used = None  # the step vanishes next to x: recorded as an error
                run.append({**cell.key(), "what": "step", "x": x, "h_used": h_used,
                            **_measure(expr, point, truth, method, step=h)})
            cell = _cell(name, method, "default")
            if cell.cell_id not in run.done:
                truth = truth if truth is not None else float(instance.truth("grad")["x"])
                run.append({**cell.key(), "what": "default", "x": x,
                            "h_used": numeric.step_size(x, scheme),
                            **_measure(expr, point, truth, method)})
        for method, what, _ in flat_lines(config):
            cell = _cell(name, method, what)
            if cell.cell_id not in run.done:
                truth = truth if truth is not None else float(instance.truth("grad")["x"])
                run.append({**cell.key(), "what": what, "x": x,
                            **_measure(expr, point, truth, method)})


# ---- analysis ----------------------------------------------------------------------------
def _err(values) -> np.ndarray:
    """Relative errors for a log axis: 0 -> FLOOR, nan/inf or huge -> CEILING."""
    e = np.asarray(values, dtype=float)
    return np.clip(np.where(np.isfinite(e), e, CEILING), FLOOR, CEILING)


def curves(df: pd.DataFrame, problem: str, scheme: str) -> pd.DataFrame:
    """The measured (h_used, rel_err) of one scheme on one function, ordered by h."""
    d = df[(df["problem"] == problem) & (df["method"] == f"numeric:{scheme}")
           & (df["what"] == "step") & (df["outcome"] == "ok")]
    return d.sort_values("h_used")[["h_used", "rel_err"]]


def table(df: pd.DataFrame, config: dict) -> pd.DataFrame:
    """Per function and scheme: best h and error, theory's h*, the default step and its error."""
    rows = []
    for problem in config["functions"]:
        for scheme in config["schemes"]:
            c = curves(df, problem, scheme)
            if c.empty:
                continue
            # ties (the complex step is exact over many decades): report the largest such h
            best = c[c["rel_err"] == c["rel_err"].min()].iloc[-1]
            opt = df[(df["problem"] == problem) & (df["method"] == f"numeric:{scheme}")
                     & (df["what"] == "optimum")]
            default = df[(df["problem"] == problem) & (df["method"] == f"numeric:{scheme}")
                         & (df["what"] == "default")]
            rows.append({"function": problem, "method": scheme, "best h": best["h_used"],
                         "best rel. error": best["rel_err"],
                         "theory h*": float(opt["h_opt"].iloc[0]) if len(opt) else np.nan,
                         "default h": float(default["h_used"].iloc[0]) if len(default)
                         else np.nan,
                         "rel. error at default h": float(default["rel_err"].iloc[0])
                         if len(default) else np.nan})
        for method, what, label in flat_lines(config):
            d = df[(df["problem"] == problem) & (df["method"] == method) & (df["what"] == what)]
            if len(d):
                rows.append({"function": problem, "method": label,
                             "best h": np.nan, "best rel. error": float(d["rel_err"].iloc[0]),
                             "theory h*": np.nan, "default h": np.nan,
                             "rel. error at default h": float(d["rel_err"].iloc[0])})
    return pd.DataFrame(rows)


def _num(x) -> str:
    return "0" if float(x) == 0 else f"{float(x):.1e}"


def at_step(df: pd.DataFrame, problem: str, scheme: str, h: float) -> float:
    """The relative error of the measured step closest to h (in log distance)."""
    c = curves(df, problem, scheme)
    if c.empty:
        return float("nan")
    i = np.argmin(np.abs(np.log10(c["h_used"].to_numpy()) - np.log10(h)))
    return float(c["rel_err"].iloc[i])


def exact_from(c: pd.DataFrame, tol: float = 4 * EPS) -> tuple[float, float] | None:
    """(H, smallest h) such that every measured h <= H has error <= tol, or None."""
    if c.empty:
        return None
    good = (c["rel_err"] <= tol).to_numpy()  # c is ordered by increasing h
    n = len(good) if good.all() else int(np.argmin(good))  # the first bad one from below
    return (float(c["h_used"].iloc[n - 1]), float(c["h_used"].iloc[0])) if n else None


# ---- figures -----------------------------------------------------------------------------
def _label(problem: str, x: float) -> str:
    return LABELS.get(problem, problem + " at x = {x:g}").format(x=x)


def figure_steps(df: pd.DataFrame, config: dict, path: Path) -> Path:
    """Two panels (one per function): error against h, optimal steps and AD lines."""
    from ..lab import plotting

    functions = config["functions"]
    fig, axes = plotting.figure(width=6.0 * len(functions), height=5.0, ncols=len(functions),
                                sharey=True)
    axes = np.atleast_1d(axes)
    first, last = config.get("decades", [1, 16])
    for ax, problem in zip(axes, functions, strict=True):
        d = df[df["problem"] == problem]
        x = float(d["x"].dropna().iloc[0]) if d["x"].notna().any() else float("nan")
        for scheme in config["schemes"]:
            method = f"numeric:{scheme}"
            c = curves(df, problem, scheme)
            c = c[c["h_used"] >= 10.0 ** -(last + 0.5)]
            if scheme == "complex":  # dashed, on top: its truncation error equals central's
                ax.plot(c["h_used"], _err(c["rel_err"]), linestyle="--", linewidth=1.4,
                        color=plotting.color(method), label=scheme, zorder=4)
            else:
                ax.plot(c["h_used"], _err(c["rel_err"]), marker=MARKERS.get(scheme, "."),
                        markersize=3, linewidth=1.0, color=plotting.color(method),
                        label=scheme)
            default = d[(d["method"] == method) & (d["what"] == "default")
                        & (d["outcome"] == "ok")]
            if len(default) and default["h_used"].iloc[0] >= 10.0 ** -(last + 0.5):
                ax.plot(default["h_used"], _err(default["rel_err"]), marker="*", markersize=13,
                        color=plotting.color(method), markeredgecolor="black",
                        linestyle="none")
            opt = d[(d["method"] == method) & (d["what"] == "optimum") & d["h_opt"].notna()]
            if len(opt):
                h_opt = float(opt["h_opt"].iloc[0])
                ax.axvline(h_opt, color=plotting.color(method), linestyle="--", linewidth=1.0,
                           alpha=0.9)
                ax.text(h_opt * 1.15, CEILING, f"h* {scheme}", rotation=90, fontsize=7,
                        va="top", ha="left", color=plotting.color(method))
        for (method, what, label), style in zip(flat_lines(config), (":", "-.", "--", ":"),
                                                strict=False):
            a = d[(d["method"] == method) & (d["what"] == what) & (d["outcome"] == "ok")]
            if len(a):
                err = float(a["rel_err"].iloc[0])
                ax.axhline(_err(err), color=plotting.color(method), linestyle=style,
                           linewidth=2.0 if what == "ad" else 1.4,
                           label=f"{method} mode AD (no step)" if what == "ad" else label)
        ax.axhline(EPS, color="#999999", linewidth=0.8)
        ax.text(10.0 ** -(last + 0.4), EPS * 1.5, "eps", fontsize=8, color="#666666")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(10.0 ** -(last + 0.5), 10.0 ** -(first - 0.5))
        ax.set_ylim(FLOOR / 3, CEILING * 3)
        ax.set_title(_label(problem, x), fontsize=10)
        ax.set_xlabel("step h (same units as x; log)")
    axes[0].set_ylabel("relative error |d − f'| / |f'|  (0 drawn at 1e-17)")
    handles, labels = axes[0].get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles += [Line2D([], [], color="#555555", linestyle="--"),
                Line2D([], [], color="#555555", marker="*", markersize=11, linestyle="none",
                       markeredgecolor="black")]
    labels += ["theory h* (derivative-scaled)", "the scheme's default step"]
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8.5,
               bbox_to_anchor=(0.5, -0.1), frameon=False)
    fig.suptitle("Finite-difference error against the step h: truncation (right) meets "
                 "round-off (left)", fontsize=11)
    return plotting.save(fig, path)


def figure_complex(df: pd.DataFrame, config: dict, path: Path) -> Path:
    """The complex step (and central differences for contrast) down to the smallest h."""
    from ..lab import plotting

    fig, ax = plotting.figure(width=7.5, height=4.0)
    markers = ["o", "s", "^", "D"]
    for problem, mark in zip(config["functions"], markers, strict=False):
        for scheme, style in (("complex", "-"), ("central", ":")):
            c = curves(df, problem, scheme)
            if c.empty:
                continue
            ax.plot(c["h_used"], _err(c["rel_err"]), linestyle=style, marker=mark,
                    markersize=3.5, linewidth=1.2, color=plotting.color(f"numeric:{scheme}"),
                    alpha=0.9 if scheme == "complex" else 0.6,
                    label=f"{scheme}, {problem}")
    ax.axhline(EPS, color="#999999", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(FLOOR / 3, CEILING * 3)
    smallest = int(np.floor(np.log10(df["h_used"].dropna().min()))) if "h_used" in df \
        and df["h_used"].notna().any() else -20
    ax.set_xticks([10.0 ** k for k in range(0, smallest - 1, -25 if smallest < -60 else -4)])
    ax.set_xlabel("step h (log)")
    ax.set_ylabel("relative error (0 drawn at 1e-17)")
    ranges = [r for r in (exact_from(curves(df, p, "complex")) for p in config["functions"])
              if r is not None]
    tail = f": within 4 eps for every h <= {min(r[0] for r in ranges):.0e}" if ranges else ""
    ax.set_title(f"The complex step Im f(x + ih)/h has no round-off{tail}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    return plotting.save(fig, path)


# ---- the section -------------------------------------------------------------------------
def findings(df: pd.DataFrame, config: dict, tab: pd.DataFrame) -> str:
    """Sentences computed from the measured errors."""
    parts = []
    for problem in config["functions"]:
        t = tab[tab["function"] == problem].set_index("method")
        bits = []
        for scheme in ("forward", "central", "central4"):
            if scheme in t.index:
                r = t.loc[scheme]
                bits.append(f"{scheme} {r['best rel. error']:.1e} at h = {r['best h']:.1e} "
                            f"(theory h* = {r['theory h*']:.1e})")
        text = f"On {problem} the best errors are " + "; ".join(bits) if bits else ""
        if "central" in config["schemes"]:
            text += (f". At h = 1e-14 round-off leaves central differences "
                     f"{at_step(df, problem, 'central', 1e-14):.1e}")
        if "richardson" in t.index:
            text += f"; Richardson reaches {t.loc['richardson', 'best rel. error']:.1e}"
        exact_below = exact_from(curves(df, problem, "complex"))
        if exact_below is not None:
            text += (f". The complex step stays within 4 eps (a few ulps) for every h from "
                     f"{exact_below[0]:.0e} down to {exact_below[1]:.0e}")
        ad = [f"{m} {_num(t.loc[m, 'best rel. error'])}" for m in t.index
              if m.endswith(" AD")]
        if ad:
            text += "; AD errors: " + ", ".join(ad)
        own = [f"{m.removesuffix(' (own steps)')} {_num(t.loc[m, 'best rel. error'])}"
               for m in t.index if m.endswith(" (own steps)")]
        if own:
            text += "; choosing their own steps, " + ", ".join(own)
        defaults = [f"{m} {t.loc[m, 'rel. error at default h']:.0e}" for m in t.index
                    if m in config["schemes"] and m != "complex"]
        if defaults:
            text += ". At their default steps: " + ", ".join(defaults)
        text += "".join(f"; the adaptive scheme, which chooses its own steps: {m}, error "
                        f"{_num(t.loc[m, 'best rel. error'])}" for m in t.index
                        if m.endswith("(adaptive, the default)"))
        central, cx = at_step(df, problem, "central", 1e-2), at_step(df, problem, "complex", 1e-2)
        if np.isfinite(central) and np.isfinite(cx):
            text += (f". At h = 1e-2 central differences and the complex step err alike "
                     f"({central:.1e}, {cx:.1e}: the same h^2 f'''(x)/6 truncation); only "
                     f"the former pays round-off as h shrinks")
        parts.append(text + ".")
    parts.append("Vertical dashed lines: h* from the derivatives of f at x (50-digit mpmath), "
                 "not the unscaled sqrt(eps), eps^(1/3), eps^(1/5); stars: each scheme's "
                 "default step; h is the step actually taken, (x + h) - x.")
    return " ".join(parts)


def section(df: pd.DataFrame, config: dict, figdir: Path):
    """The report section: the V-shaped curves, the complex step, the table, findings."""
    from ..lab.report import Section

    df = df[df["experiment"] == NAME] if "experiment" in df else df
    figs = [(figure_steps(df, config, Path(figdir) / f"{NAME}.png"), CAPS[0])]
    if "complex" in config["schemes"]:
        figs.append((figure_complex(df, config, Path(figdir) / f"{NAME}_complex.png"), CAPS[1]))
    tab = table(df, config)
    return Section(NAME, TITLE, QUESTION, figs, tab, findings(df, config, tab))
