"""The worked example: a 2-2-2 sigmoid network with squared-error loss, backpropagated by hand
the way a textbook does it, and by every method of difflab.

The numbers are Matt Mazur's "A Step by Step Backpropagation Example" (2015): inputs i1 = 0.05,
i2 = 0.10, weights w1..w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, one bias per layer
b1 = 0.35 (hidden) and b2 = 0.60 (output), targets t1 = 0.01, t2 = 0.99, and
E = 1/2 (t1 - o1)^2 + 1/2 (t2 - o2)^2. w1, w2 feed h1 from i1, i2; w3, w4 feed h2; w5, w6 feed
o1 from h1, h2; w7, w8 feed o2.

The textbook pass (``textbook``): forward values, then the output deltas
delta_o = dE/dnet_o = (o - t) * sigma'(net_o), the hidden deltas
delta_h = (sum_o delta_o w_ho) * sigma'(net_h), and each weight's gradient = delta of the node
it feeds * the value on its input side; a bias gets the sum of its layer's deltas. With
sigma'(net) = a (1 - a), a = sigma(net). The article ``SLIP_ARTICLE`` takes sigma' as 1 - a
in its own worked example (a 3-4-2 network: delta = [0.326, -0.356] * [0.326, 0.356], the
second factor 1 - a for a = [0.674, 0.644]); the same pass with that derivative shows what the
slip does to every gradient of this network.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .. import api
from ..core import expr as ir
from ..lab import Run, Settings
from ..reverse import Tape
from . import worked_example_pictures as pictures

NAME = "worked_example"
TITLE = "A worked example: backpropagation by hand and by every method"
QUESTION = ("On the classic 2-2-2 sigmoid network, do the textbook's hand-computed deltas "
            "and weight gradients match every method, and what does the reverse-mode tape do?")
INPUTS = {"i1": 0.05, "i2": 0.10, "t1": 0.01, "t2": 0.99}
WEIGHTS = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45,
           "w7": 0.50, "w8": 0.55, "b1": 0.35, "b2": 0.60}
PARAMETERS = tuple(WEIGHTS)
EXACT = ("reverse", "forward", "jax", "symbolic", "numeric:complex")  # exact up to rounding
RIGHT: Callable = lambda a: a * (1.0 - a)  # noqa: E731 - sigma'(net) from a = sigma(net)
WRONG: Callable = lambda a: 1.0 - a        # noqa: E731 - SLIP_ARTICLE's slip
# The article whose worked example takes sigma' as 1 - a (it names no author).
SLIP_ARTICLE = ('"反向传播：高效计算梯度的算法" ("Backpropagation: an efficient algorithm for '
                'computing gradients"; the article names no author)')


def network() -> ir.Expr:
    """E(w1..w8, b1, b2; i1, i2, t1, t2) built from the IR's scalar operations."""
    v = {name: ir.variable(name) for name in (*INPUTS, *WEIGHTS)}
    h1 = ir.sigmoid(v["w1"] * v["i1"] + v["w2"] * v["i2"] + v["b1"])
    h2 = ir.sigmoid(v["w3"] * v["i1"] + v["w4"] * v["i2"] + v["b1"])
    o1 = ir.sigmoid(v["w5"] * h1 + v["w6"] * h2 + v["b2"])
    o2 = ir.sigmoid(v["w7"] * h1 + v["w8"] * h2 + v["b2"])
    return 0.5 * (v["t1"] - o1) ** 2 + 0.5 * (v["t2"] - o2) ** 2


def textbook(point: dict, sigma_prime: Callable = RIGHT) -> dict:
    """The hand computation, step by step.

    Args:
        point: i1, i2, t1, t2 and the ten parameters.
        sigma_prime: sigma'(net) written in terms of a = sigma(net).
    Returns:
        {"forward": net and out of every unit and E, "deltas": dE/dnet of every unit,
        "grads": dE/dp for the ten parameters}.
    """
    p = point
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    f = {"net_h1": p["w1"] * p["i1"] + p["w2"] * p["i2"] + p["b1"],
         "net_h2": p["w3"] * p["i1"] + p["w4"] * p["i2"] + p["b1"]}
    f["out_h1"], f["out_h2"] = sig(f["net_h1"]), sig(f["net_h2"])
    f["net_o1"] = p["w5"] * f["out_h1"] + p["w6"] * f["out_h2"] + p["b2"]
    f["net_o2"] = p["w7"] * f["out_h1"] + p["w8"] * f["out_h2"] + p["b2"]
    f["out_o1"], f["out_o2"] = sig(f["net_o1"]), sig(f["net_o2"])
    f["E"] = 0.5 * (p["t1"] - f["out_o1"]) ** 2 + 0.5 * (p["t2"] - f["out_o2"]) ** 2
    d = {"o1": (f["out_o1"] - p["t1"]) * sigma_prime(f["out_o1"]),   # dE/dout * dout/dnet
         "o2": (f["out_o2"] - p["t2"]) * sigma_prime(f["out_o2"])}
    d["h1"] = (d["o1"] * p["w5"] + d["o2"] * p["w7"]) * sigma_prime(f["out_h1"])
    d["h2"] = (d["o1"] * p["w6"] + d["o2"] * p["w8"]) * sigma_prime(f["out_h2"])
    g = {"w1": d["h1"] * p["i1"], "w2": d["h1"] * p["i2"],
         "w3": d["h2"] * p["i1"], "w4": d["h2"] * p["i2"],
         "w5": d["o1"] * f["out_h1"], "w6": d["o1"] * f["out_h2"],
         "w7": d["o2"] * f["out_h1"], "w8": d["o2"] * f["out_h2"],
         "b1": d["h1"] + d["h2"], "b2": d["o1"] + d["o2"]}  # one bias shared per layer
    return {"forward": {k: float(v) for k, v in f.items()},
            "deltas": {k: float(v) for k, v in d.items()},
            "grads": {k: float(v) for k, v in g.items()}}


def run(config: dict, run: Run, settings: Settings) -> None:
    """Rows: the textbook pass (right and wrong sigma'), one per method, and the tape."""
    point = {**INPUTS, **WEIGHTS}
    expr = network()
    if "textbook" not in run.done:
        run.append({"cell_id": "textbook", "experiment": NAME, "kind": "textbook",
                    "method": "hand", "outcome": "ok", **textbook(point),
                    **{f"wrong_{k}": v for k, v in textbook(point, WRONG).items()}})
    hand = textbook(point)["grads"]
    for method in config["methods"]:
        if f"grad:{method}" in run.done:
            continue
        t0 = time.perf_counter()
        grads = api.grad(expr, point, method=method, wrt=PARAMETERS)
        seconds = time.perf_counter() - t0
        diff = max(abs(grads[p] - hand[p]) for p in PARAMETERS)
        run.append({"cell_id": f"grad:{method}", "experiment": NAME, "kind": "grad",
                    "method": method, "outcome": "ok", "grads": grads,
                    "max_abs_diff": diff, "first_call_s": seconds})
    if "tape" not in run.done:
        tape = Tape.record(expr, point, wrt=PARAMETERS)
        tape.backward(trace=True)
        # Each sigmoid step hands its argument, the slot of net_u, the cotangent dE/dnet_u:
        # the textbook's delta_u. Name the unit by the step's output value out_u.
        outs = textbook(point)["forward"]
        units = ("h1", "h2", "o1", "o2")
        net_bars = {}
        for step in tape.steps:
            if step.op == "sigmoid":
                unit = min(units, key=lambda u: abs(outs[f"out_{u}"] - tape.values[step.slot]))
                net_bars[unit] = {"slot": f"v{step.args[0]}", "bar": float(step.arg_bars[0])}
        run.append({"cell_id": "tape", "experiment": NAME, "kind": "tape", "method": "reverse",
                    "outcome": "ok", "tape": str(tape), "sweep": tape.format_steps(),
                    "slots": tape.program.plan.size, "steps": len(tape.steps),
                    "net_bars": net_bars})


# ---- the report section ---------------------------------------------------------------------
def _diagram(book: dict, point: dict, path: Path) -> Path:
    """The network with every forward value, delta and weight gradient written on it."""
    from ..lab import plotting

    f, d, g = book["forward"], book["deltas"], book["grads"]
    pos = {"i1": (0, 1), "i2": (0, 0), "h1": (1, 1), "h2": (1, 0), "o1": (2, 1), "o2": (2, 0)}
    edges = {"w1": ("i1", "h1"), "w2": ("i2", "h1"), "w3": ("i1", "h2"), "w4": ("i2", "h2"),
             "w5": ("h1", "o1"), "w6": ("h2", "o1"), "w7": ("h1", "o2"), "w8": ("h2", "o2")}
    fig, ax = plotting.figure(10.5, 7.6)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.axis("off")
    for w, (a, b) in edges.items():
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.annotate("", xy=(xb - 0.12, yb), xytext=(xa + 0.12, ya),
                    arrowprops=dict(arrowstyle="->", color="#888888", lw=1.2))
        # a crossing edge is labelled near its start, so the two labels of a crossing part
        t = 0.5 if ya == yb else 0.3
        x, y = xa + 0.12 + t * (xb - xa - 0.24), ya + t * (yb - ya)
        ax.text(x, y + (0.03 if ya == yb else 0.0), f"{w} = {point[w]:.2f}\n"
                f"dE/d{w} = {g[w]:.6g}", ha="center", va="bottom" if ya == yb else "center",
                fontsize=8, color="#2c7bb6",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    for node, (x, y) in pos.items():
        ax.add_patch(plotting.plt.Circle((x, y), 0.11, fc="#f4f4f4", ec="black", lw=1.2))
        ax.text(x, y, node, ha="center", va="center", fontsize=11, weight="bold")
        if node.startswith("i"):
            text = f"{node} = {point[node]:.2f}"
        else:
            text = (f"net = {f['net_' + node]:.6f}\nout = {f['out_' + node]:.6f}\n"
                    f"delta = dE/dnet = {d[node]:.6g}")
            if node.startswith("o"):
                text = f"target t{node[1]} = {point['t' + node[1]]:.2f}\n" + text
        above = y > 0.5  # top row: values above the node, bottom row: below
        ax.text(x, y + 0.15 if above else y - 0.15, text, ha="center",
                va="bottom" if above else "top", fontsize=8)
    ax.text(1.0, 1.62, f"bias b1 = {point['b1']:.2f} feeds h1 and h2: dE/db1 = delta_h1 + "
            f"delta_h2 = {g['b1']:.6g}\nbias b2 = {point['b2']:.2f} feeds o1 and o2: dE/db2 = "
            f"delta_o1 + delta_o2 = {g['b2']:.6g}", ha="center", va="bottom", fontsize=8.5)
    ax.set_xlim(-0.35, 2.45)
    ax.set_ylim(-0.62, 1.8)
    ax.set_title(f"The 2-2-2 sigmoid network: forward values, deltas and gradients "
                 f"(E = {f['E']:.9f})", fontsize=11)
    return plotting.save(fig, path)


def _bars(book: dict, wrong: dict, methods: dict, path: Path) -> Path:
    """dE/dp with the right sigma' (bars) and the wrong one, each method's value on top."""
    from ..lab import plotting

    x = np.arange(len(PARAMETERS))
    right = np.array([book["grads"][p] for p in PARAMETERS])
    bad = np.array([wrong["grads"][p] for p in PARAMETERS])
    fig, ax = plotting.figure(10, 4.6)
    ax.bar(x - 0.2, right, 0.4, color="#a6611a", label="textbook, sigma' = a(1 - a)")
    ax.bar(x + 0.2, bad, 0.4, color="#dddddd", ec="#999999", hatch="//",
           label="the slip sigma' = 1 - a")
    for k, (method, grads) in enumerate(methods.items()):
        ax.plot(x - 0.32 + 0.24 * k / max(1, len(methods) - 1),
                [grads[p] for p in PARAMETERS], ls="none", marker=plotting.marker(method),
                color=plotting.color(method), ms=5, label=method)
    for i, (r, b) in enumerate(zip(right, bad, strict=True)):
        ax.text(i + 0.2, b, f"x{b / r:.2f}", ha="center", fontsize=7,
                va="bottom" if b > 0 else "top")
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(x, [f"dE/d{p}" for p in PARAMETERS], fontsize=8)
    ax.set_ylabel("gradient component (symlog: linear within +-1e-4)")
    ax.set_title("Every method lands on the textbook value; sigma' = 1 - a inflates every "
                 "gradient (ratio above each hatched bar)", fontsize=10)
    ax.legend(fontsize=7.5, ncol=3, loc="lower left")
    return plotting.save(fig, path)


def _steps_text(book: dict, point: dict) -> str:
    """The textbook computation as lines of arithmetic with the measured numbers."""
    f, d, g = book["forward"], book["deltas"], book["grads"]
    p = point
    return "\n".join([
        f"net_h1 = w1*i1 + w2*i2 + b1 = {p['w1']}*{p['i1']} + {p['w2']}*{p['i2']} + {p['b1']}"
        f" = {f['net_h1']:.10g}",
        f"out_h1 = sigmoid(net_h1) = {f['out_h1']:.10g};   out_h2 = {f['out_h2']:.10g}",
        f"net_o1 = w5*out_h1 + w6*out_h2 + b2 = {f['net_o1']:.10g};   out_o1 = "
        f"{f['out_o1']:.10g};   out_o2 = {f['out_o2']:.10g}",
        f"E = 1/2 (t1 - out_o1)^2 + 1/2 (t2 - out_o2)^2 = {f['E']:.10g}",
        f"delta_o1 = (out_o1 - t1) * out_o1 (1 - out_o1) = {d['o1']:.10g};   delta_o2 = "
        f"{d['o2']:.10g}",
        f"delta_h1 = (delta_o1 w5 + delta_o2 w7) * out_h1 (1 - out_h1) = {d['h1']:.10g};   "
        f"delta_h2 = {d['h2']:.10g}",
        f"dE/dw5 = delta_o1 * out_h1 = {g['w5']:.10g};   dE/dw1 = delta_h1 * i1 = "
        f"{g['w1']:.10g}"])


def section(df: pd.DataFrame, config: dict, figdir: Path):
    """The diagram, the bars, the table of dE/dp by method, findings with the tape."""
    from ..lab.report import Section

    figdir = Path(figdir)
    rows = {r["cell_id"]: r for _, r in df.iterrows()}
    nested = lambda r, key: {c.split(".", 1)[1]: r[c] for c in r.index  # noqa: E731
                             if c.startswith(key + ".") and pd.notna(r[c])}
    book = {k: nested(rows["textbook"], k) for k in ("forward", "deltas", "grads")}
    wrong = {k: nested(rows["textbook"], f"wrong_{k}") for k in ("forward", "deltas", "grads")}
    methods = {r["method"]: nested(r, "grads") for _, r in df[df["kind"] == "grad"].iterrows()}
    point = {**INPUTS, **WEIGHTS}
    figures = [
        (_diagram(book, point, figdir / f"{NAME}_network.png"),
         "The 2-2-2 sigmoid network with the textbook's forward values, deltas and weight "
         "gradients.",
         "Diagram of two inputs, two hidden and two output neurons joined by eight weighted "
         "edges; each neuron is labelled with its net input, output and delta, each edge with "
         "its weight and dE/dw."),
        (_bars(book, wrong, methods, figdir / f"{NAME}_gradients.png"),
         "Every method's ten gradient components on the textbook's bars, beside the "
         "gradients the seed's slip sigma' = 1 - a gives (hatched, with the ratio).",
         "Bar chart on a symmetric log scale: for each of the ten parameters a solid bar (the "
         "textbook gradient) with every method's marker on its top, and a hatched bar for the "
         "slipped gradient labelled with its ratio to the right one."),
        (pictures.graph_figure(network(), point, PARAMETERS, figdir / f"{NAME}_graph.png"),
         "The same network as difflab's expression graph (dl.draw): every node's op, value "
         "and gradient (adjoint). Click for the full-size picture.",
         "Directed graph of the loss expression: leaf nodes for inputs, weights and targets "
         "at the bottom, operation nodes above them up to the loss, each box showing the op, "
         "its value and its adjoint."),
        (pictures.steps_figure(network(), point, PARAMETERS,
                               figdir / f"{NAME}_backward_steps.png"),
         "The first backward steps of the tape (Tape.draw_steps): the node being processed "
         "highlighted, the cotangents received so far on every node the sweep has reached.",
         "Strip of five small graphs, left to right: the seeded output node, then one step "
         "each, the processed node outlined in orange and its arguments gaining cotangents."),
    ]
    table = pd.DataFrame({"dE/d": list(PARAMETERS),
                          "textbook a(1-a)": [f"{book['grads'][p]:.10f}" for p in PARAMETERS],
                          **{m: [f"{g[p]:.10f}" for p in PARAMETERS] for m, g in methods.items()},
                          "max abs diff, exact methods": [
                              max((abs(g[p] - book["grads"][p]) for m, g in methods.items()
                                   if m in EXACT), default=np.nan) for p in PARAMETERS],
                          "max abs diff, finite differences": [
                              max((abs(g[p] - book["grads"][p]) for m, g in methods.items()
                                   if m not in EXACT), default=np.nan) for p in PARAMETERS],
                          "slip 1-a": [f"{wrong['grads'][p]:.10f}" for p in PARAMETERS]})
    diffs = df[df["kind"] == "grad"].set_index("method")["max_abs_diff"]
    exact = [m for m in diffs.index if m in EXACT]
    inexact = [m for m in diffs.index if m not in EXACT]
    g, w = book["grads"], wrong["grads"]
    tape = rows["tape"]
    (figdir / f"{NAME}_tape.txt").write_text(f"{tape['tape']}\n\nbackward sweep:\n"
                                            f"{tape['sweep']}\n", encoding="utf-8")
    net_bars = nested(tape, "net_bars")
    bars = ", ".join(f"{net_bars[u]['slot']}_bar = delta_{u} = {net_bars[u]['bar']:.6g}"
                     for u in ("o1", "o2", "h1", "h2"))
    bar_diff = max(abs(net_bars[u]["bar"] - book["deltas"][u]) for u in net_bars)
    findings = (
        f"The textbook pass gives dE/dw5 = {g['w5']:.10f} and dE/dw1 = {g['w1']:.10f}; the "
        f"exact methods ({', '.join(exact)}) reproduce all ten components to within "
        f"{diffs[exact].max():.1e}, finite differences ({', '.join(inexact)}) to "
        f"{diffs[inexact].max():.1e}. With sigma' = 1 - a, as the article {SLIP_ARTICLE} "
        f"takes it in its worked example, the output deltas are too large by 1/out_o "
        f"(x{w['w5'] / g['w5']:.3f} for o1, x{w['w7'] / g['w7']:.3f} for o2), and the hidden "
        f"layer compounds it: dE/dw1 becomes {w['w1']:.6g} instead of {g['w1']:.6g} "
        f"(x{w['w1'] / g['w1']:.2f}).\n\n"
        f"The textbook computation:\n\n```\n{_steps_text(book, point)}\n```\n\n"
        f"The reverse-mode tape (Wengert list, {int(tape['slots'])} slots; * marks the slots "
        f"that receive a cotangent), then its backward sweep ({int(tape['steps'])} steps, "
        f"last to first): each step turns y_bar = dE/dy into contributions to its "
        f"arguments' cotangents. The sigmoid steps multiply by y(1 - y), the textbook's "
        f"a(1 - a), and what they hand down are the textbook's deltas: {bars} (largest "
        f"difference from the hand values {bar_diff:.1e}).\n\n```\n{tape['tape']}\n```\n\n"
        f"```\n{tape['sweep']}\n```")
    return Section(NAME, TITLE, QUESTION, figures, table, findings)
