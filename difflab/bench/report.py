"""The benchmark's report: a Markdown page with the targets, every timed row and figures.

Writes ``<out>/speed.md``, ``<out>/results.json`` (everything measured, with the machine,
versions and thread settings) and PNG figures: time per gradient as a ratio to f for the MLP,
cost per node for micrograd's workload, forward against reverse over n, and memory peaks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..lab.plotting import color, figure, save
from .targets import TARGETS, Row, Target, time_text

CONTENDER_COLORS = {"micrograd": "#e66101", "autograd": "#5e3c99", "hand": "#a6611a",
                    "JAX": "#404040", "jax": "#404040", "NumPy": "#b8860b"}


def _color(name: str) -> str:
    for key, value in CONTENDER_COLORS.items():
        if key in name:
            return value
    for method in ("reverse", "forward", "symbolic", "numeric"):
        if method in name:
            return color(method)
    return color("reverse") if "difflab" in name else "#999999"


def _bars(ax, labels, values, xlabel: str, log: bool = False) -> None:
    y = np.arange(len(labels))
    ax.barh(y, values, color=[_color(n) for n in labels])
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel, fontsize=9)
    if log:
        ax.set_xscale("log")


def figures(rows: list[Row], memory: list[dict], out: Path) -> list[Path]:
    """The PNG figures; returns their paths."""
    made = []
    mlp = [r for r in rows if r.case == "mlp"]
    if mlp:
        fig, (ax1, ax2) = figure(11.0, 3.6, ncols=2)
        _bars(ax1, [r.contender for r in mlp], [r.extra.get("ratio_to_f", np.nan) for r in mlp],
              "time per call / NumPy forward pass f (log)", log=True)
        ax1.set_title("MLP loss 256 x 784-128-10: time per gradient", fontsize=10)
        if memory:
            _bars(ax2, [m["contender"] for m in memory],
                  [m["peak_bytes"] / 2**20 for m in memory], "tracemalloc peak (MiB)")
            ax2.set_title("memory at the peak of one call", fontsize=10)
        made.append(save(fig, out / "mlp.png"))
    scalar = [r for r in rows if r.case == "micrograd MLP"]
    if scalar:
        fig, ax = figure(7.0, 3.2)
        _bars(ax, [r.contender for r in scalar], [r.extra["per_node"] * 1e6 for r in scalar],
              "microseconds per node of micrograd's graph (build + backward, log)", log=True)
        ax.set_title("micrograd's MLP (16-32-32-1, 8 samples)", fontsize=10)
        made.append(save(fig, out / "scalar_mlp.png"))
    sweep = [r for r in rows if r.case == "rosenbrock"]
    n1 = [r for r in rows if r.case == "n = 1"]
    if sweep:
        fig, (ax1, ax2) = figure(11.0, 3.6, ncols=2)
        for method in ("forward", "reverse"):
            pts = sorted((r.extra["n"], r.median) for r in sweep if r.contender == method)
            ax1.plot(*zip(*pts, strict=True), marker="o", color=color(method), label=method)
        ax1.set_xscale("log")
        ax1.set_yscale("log")
        ax1.set_xlabel("n (inputs)", fontsize=9)
        ax1.set_ylabel("seconds per gradient (dl.grad)", fontsize=9)
        ax1.set_title("Rosenbrock: forward vs reverse", fontsize=10)
        ax1.legend(fontsize=8)
        if n1:
            _bars(ax2, [r.contender for r in n1], [r.median * 1e6 for r in n1],
                  "microseconds per gradient (dl.grad)")
            ax2.set_title("one input: sin(x) exp(x) + log1p(x^2)", fontsize=10)
        made.append(save(fig, out / "forward.png"))
    return made


NOTES = [
    "- Ratios to f divide by the NumPy forward pass of the same loss (the hand-written "
    "backward pass costs about 2x f). Per-node costs divide by the number of Values in "
    "micrograd's graph of the same loss.",
    "- micrograd's MLP: each call builds the whole graph again and, for difflab, forgets every "
    "prepared derivative first (plan, schedule and gradient compiled afresh). Target 2a is "
    "judged with Python's garbage collector on, its default: micrograd's Values are reference "
    "cycles (closures), so most of its time is collection; with the collector off difflab "
    "takes longer than micrograd (the ratio is shown beside the target).",
    "- Scalar graphs of 512 slots or more that are wide and shallow (micrograd's MLP, "
    "Rosenbrock at n = 100) are swept a level at a time (difflab.levels): one NumPy call per "
    "group of same-op slots of a level instead of a Python step per slot. This is why "
    "Rosenbrock's cost drops from n = 50 to n = 100.",
    "- 10,000 points in one call: arrays bound to x and y, and the gradient of sum(f), which is "
    "each point's gradient since the points are independent.",
    "- Symbolic preparation 'cold' empties SymPy's cache and difflab's before each run.",
    "- R1-R3: JAX is compiled before timing (jax_ref: jax.jit(jax.jacrev), "
    "jax.jit(jax.hessian) of the same IR; for Rosenbrock the array form, since tracing 128 "
    "scalar variables unrolls into minutes of compilation). R2's answer is a dict of "
    "128 x 128 Python floats, which alone costs about as much as JAX's whole Hessian.",
]


def _md_rows(rows: list[Row]) -> list[str]:
    keys = sorted({k for r in rows for k in r.extra})
    head = ["case", "contender", "median", "IQR", "samples", *keys]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        extra = []
        for k in keys:
            v = r.extra.get(k, "")
            if k in ("per_node", "per_point") and v != "":
                v = time_text(v)
            elif isinstance(v, float):
                v = f"{v:.3g}"
            extra.append(str(v))
        lines.append("| " + " | ".join([r.case, r.contender, time_text(r.median),
                                        time_text(r.iqr), str(r.samples), *extra]) + " |")
    return lines


def write(out: Path, targets: list[Target], rows: list[Row], memory: list[dict],
          extras: dict, meta: dict) -> Path:
    """Write speed.md, results.json and the figures into ``out``; returns speed.md's path."""
    out.mkdir(parents=True, exist_ok=True)
    pngs = figures(rows, memory, out)
    by_key = {t.key: t for t in targets}
    lines = ["# Speed: difflab's engines next to their peers", "",
             "Made by `make bench` (experiments/speed.py). Every figure is the median of runs "
             "interleaved with the other contenders of its case, in one process, float64.", "",
             "## Targets", "", "| target | measured | goal | holds | note |",
             "|---|---|---|---|---|"]
    for key, (what, goal) in TARGETS.items():
        t = by_key.get(key)
        lines.append(f"| {key} {what} | {t.shown if t else '-'} | {goal} | "
                     f"{t.verdict if t else 'n/a'} | {t.note if t else 'not run'} |")
    lines += ["", "## How to read it", "", *NOTES, "", "## Figures", ""]
    lines += [f"![{p.stem}]({p.name})" for p in pngs]
    lines += ["", "## Every timed row", "", *_md_rows(rows)]
    if memory:
        lines += ["", "## Memory (tracemalloc peak of one call, MLP)", "",
                  "| contender | peak | / forward pass |", "|---|---|---|"]
        lines += [f"| {m['contender']} | {m['peak_bytes'] / 2**20:.2f} MiB | "
                  f"{m['ratio_to_forward']:.2f}x |" for m in memory]
    lines += ["", "## Details", "", "```json", json.dumps(extras, indent=1, default=str),
              "```", "", "## Machine, versions, threads", "", "```json",
              json.dumps(meta, indent=1, default=str), "```", ""]
    page = out / "speed.md"
    page.write_text("\n".join(lines), encoding="utf-8")
    (out / "results.json").write_text(json.dumps(
        {"targets": [t.to_dict() for t in targets], "rows": [r.to_dict() for r in rows],
         "memory": memory, "details": extras, "meta": meta}, indent=1, default=str),
        encoding="utf-8")
    return page
