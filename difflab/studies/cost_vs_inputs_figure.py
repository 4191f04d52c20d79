"""The cost_vs_inputs figure: gradient time, t(grad)/t(f) and operation counts against n.

Three panels drawn from the rows (through ``cost_vs_inputs_report``'s readings): the time per
gradient of each method with f's own time, the measured ratio t(grad)/t(f) against the
cheap-gradient band ω ≈ 3–5 (Griewank & Walther), and the noise-free operation counts from the
IR divided by ops(f). Every measured point is a median over the repeats with its 95% interval
as an error bar; a method whose curve a cap or a limit ended says so in the legend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..lab.repeats import limit_note
from .cost_vs_inputs_report import BOUND, baselines, measured, method_order, op_counts


def figure(df: pd.DataFrame, config: dict, path: Path) -> Path:
    """Three panels: time per gradient, t(grad)/t(f) with the cheap-gradient band (error
    bars: each median's interval over the repeats), and the operation counts from the IR
    divided by ops(f)."""
    from ..lab import plotting

    m = measured(df)
    base = baselines(df)
    ops = op_counts(df)
    cut = limit_note(df, "n", config.get("time_limit"))
    caps = config.get("max_n", {})
    fig, (ax_t, ax_r, ax_o) = plotting.figure(width=16, height=4.8, ncols=3)
    for method in method_order(m["method"]):
        d = m[m["method"] == method]
        style = dict(color=plotting.color(method), marker=plotting.marker(method), ms=5, lw=1.6)
        label = method + (f" ({cut[method]})" if method in cut else
                          f" (capped at n = {caps[method]})" if method in caps else "")
        plotting.errorbar(ax_t, d["n"], d["t"], d["t_lo"], d["t_hi"], label=label, **style)
        plotting.errorbar(ax_r, d["n"], d["ratio"], d["ratio_lo"], d["ratio_hi"], label=label,
                          **style)
        o = ops[ops["method"] == method]
        if len(o):
            ax_o.plot(o["n"], o["ops_ratio"], label=label, **style)
    ax_t.plot(base.index, base["f_tape_min"], color="black", ls="--", lw=1.2,
              label="f, node by node (tape's forward pass)")
    if base["f_levels_min"].notna().any():
        lv = base["f_levels_min"].dropna().astype(float)
        ax_t.plot(lv.index, lv, color="black", ls=":", lw=1.4,
                  label="f, a level at a time (levels.Schedule)")
    reps = int(m["n_rep"].max()) if len(m) else 0
    ax_t.set(xscale="log", yscale="log", xlabel="number of inputs n",
             ylabel=f"time per gradient [s] (median of {reps} repeats, 95% interval)",
             title="Gradient time")
    sizes = np.array(sorted(base.index), dtype=float)
    for ax in (ax_r, ax_o):
        ax.axhspan(*BOUND, color="#2c7bb6", alpha=0.12, zorder=0,
                   label=f"cheap-gradient bound ω ≈ {BOUND[0]:g}–{BOUND[1]:g}")
        ax.plot(sizes, 4.0 * sizes / sizes[0], color="#888888", ls=":", lw=1,
                label="∝ n (guide)")
        ax.set(xscale="log", yscale="log", xlabel="number of inputs n")
    ax_r.set(ylabel="t(gradient) / t(f), per repeat: median and interval",
             title="Gradient cost in units of f (measured)")
    ax_r.text(0.02, 0.98, "f: the fastest evaluator (jax: its jitted f)", ha="left",
              va="top", fontsize=8, color="#555555", transform=ax_r.transAxes)
    ax_o.set(ylabel="operations(gradient) / operations(f)",
             title="Operation counts from the IR (noise-free)")
    top = max(m["ratio_hi"].max() if len(m) else 1, ops["ops_ratio"].max() if len(ops) else 1)
    for ax in (ax_r, ax_o):
        ax.set_ylim(0.3, top * 4)
    for ax in (ax_t, ax_r, ax_o):
        ax.set_xticks(sizes, [f"{int(n)}" for n in sizes])
        ax.minorticks_off()
    handles = {}
    for ax in (ax_t, ax_r, ax_o):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=4, fontsize=9,
               bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.suptitle(f"{config['problem']}: f = Σ sin(xᵢ) exp(xᵢ/n) + log1p(xᵢ²) over n scalar "
                 f"variables", fontsize=11)
    return plotting.save(fig, path)
