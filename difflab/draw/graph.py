"""What a picture shows: one box per slot of a plan (op, value, and the adjoint once known),
an arrow from each argument to its user. Constant parameters (an index, axes, a shape) are not
boxes: they are printed on their op's box (``sum axis=0``, ``[1:3]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.graph import toposort
from ..core.params import index_text

MAX_NODES = 150  # larger graphs are summarised, not drawn


@dataclass
class Box:
    """A drawn node: its text lines, its kind (var, const, op) and whether it is highlighted."""

    key: int
    lines: list[str]
    kind: str
    highlight: bool = False


@dataclass
class Picture:
    """Boxes and arrows (argument key -> user key), in topological order."""

    boxes: list[Box]
    arrows: list[tuple[int, int]]
    title: str = ""
    notes: list[str] = field(default_factory=list)


def number(value) -> str:
    """A value for a box: a number to 4 significant digits, or an array's shape and range."""
    while hasattr(value, "x_dot"):  # a Dual: its value
        value = value.value
    if value is None:
        return "-"
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return f"{float(arr):.4g}"
    if arr.size <= 3:
        return "[" + ", ".join(f"{v:.3g}" for v in arr.ravel()) + "]"
    return f"{arr.shape} {np.nanmin(arr):.3g}..{np.nanmax(arr):.3g}"


def _param_text(p) -> str:
    if p.kind == "index":
        return f"[{index_text(p.value)}]"
    if p.kind == "axes":
        axes, keepdims = p.value
        return ("" if axes is None else f" axis={axes[0] if len(axes) == 1 else axes}") + \
            (" keepdims" if keepdims else "")
    if p.kind == "axis":
        return f" axis={p.value}"
    return f" {p.value}"


def _is_param(attr) -> bool:
    return hasattr(attr, "kind") and hasattr(attr, "value") and not hasattr(attr, "shape")


def picture(ops, args, attrs, values=None, bars=None, highlight=(), title="",
            bar_name="adjoint", slots: bool = False, only=None) -> Picture:
    """A picture of a plan-like graph: ``ops``/``args``/``attrs`` per slot (a ``Plan``'s
    fields), optional ``values`` and ``bars`` (cotangents: d out / d slot) per slot;
    ``slots``: name each box by its slot (v0, v1 ...), as the tape prints them; ``only``: the
    slots to draw (default: all)."""
    boxes, arrows, shown = [], [], set()
    for s, op in enumerate(ops):
        attr = attrs[s]
        if (op == "const" and _is_param(attr)) or (only is not None and s not in only):
            continue  # (a parameter is printed on its op's box)
        if op == "var":
            lines, kind = [str(attr)], "var"
        elif op == "const":
            lines, kind = [number(attr)], "const"
        else:
            params = [attrs[a] for a in args[s] if ops[a] == "const" and _is_param(attrs[a])]
            lines = [op.removeprefix("reduce_") + "".join(map(_param_text, params))]
            kind = "op"
        if slots:
            lines[0] = f"v{s}: {lines[0]}"
        if values is not None and op != "const":
            lines.append(f"= {number(values[s])}")
        if bars is not None and bars[s] is not None:
            lines.append(f"{bar_name} {number(bars[s])}")
        boxes.append(Box(s, lines, kind, s in highlight))
        shown.add(s)
        arrows.extend((a, s) for a in args[s] if a in shown)
    return Picture(boxes, arrows, title)


def nodes_as_plan(root) -> tuple[list, list, list]:
    """(ops, args, attrs) of an expression's nodes as built (shared nodes once), for drawing
    a node without compiling it."""
    order = toposort(root)
    index = {id(node): k for k, node in enumerate(order)}
    return ([n.op for n in order], [tuple(index[id(a)] for a in n.args) for n in order],
            [n.attr for n in order])


def too_large(n: int, what: str) -> Picture:
    """A picture that says the graph is too large to draw."""
    return Picture([Box(0, [f"{what}: {n:,} nodes", f"(drawn up to {MAX_NODES:,}; pass "
                            "max_nodes= to draw more)"], "note")], [], what)
