"""Placing the boxes: graphviz's ``dot`` where it is installed (its plain output read back),
else grandalf's Sugiyama layout (pure Python). Both give each box a centre and each arrow a
polyline, in points, with the inputs at the bottom and the output at the top.
"""

from __future__ import annotations

import shutil
import subprocess

from .graph import Picture

CHAR_W, LINE_H, PAD = 6.6, 14.0, 8.0  # points per character and per line of a box's text


def box_size(lines: list[str]) -> tuple[float, float]:
    return max(len(line) for line in lines) * CHAR_W + 2 * PAD, len(lines) * LINE_H + PAD


def layout(pic: Picture, engine: str = "auto") -> tuple[dict, dict]:
    """(centres {key: (x, y)}, routes {(a, b): [(x, y), ...]}) with y growing downwards.

    Args:
        pic: the picture.
        engine: "dot", "grandalf" or "auto" (dot if it is on the PATH).
    """
    if engine not in ("auto", "dot", "grandalf"):
        raise ValueError(f"unknown layout engine {engine!r}; one of auto, dot, grandalf")
    if engine == "dot" or (engine == "auto" and shutil.which("dot")):
        return _dot(pic)
    return _grandalf(pic)


def _dot(pic: Picture) -> tuple[dict, dict]:
    lines = ["digraph G {", "rankdir=BT; node [shape=box];"]
    for box in pic.boxes:
        w, h = box_size(box.lines)
        lines.append(f'n{box.key} [width={w / 72:.3f}, height={h / 72:.3f}, fixedsize=true, '
                     f'label=""];')
    lines += [f"n{a} -> n{b};" for a, b in pic.arrows] + ["}"]
    dot = shutil.which("dot") or "dot"
    out = subprocess.run([dot, "-Tplain"], input="\n".join(lines), capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return read_plain(out)


def read_plain(text: str) -> tuple[dict, dict]:
    """Positions from ``dot -Tplain`` (inches, y up) as points with y down."""
    centres, routes, height = {}, {}, 0.0
    for line in text.splitlines():
        part = line.split()
        if part and part[0] == "graph":
            height = float(part[3]) * 72
        elif part and part[0] == "node":
            centres[int(part[1][1:])] = (float(part[2]) * 72, height - float(part[3]) * 72)
        elif part and part[0] == "edge":
            n = int(part[3])
            xy = [(float(part[4 + 2 * k]) * 72, height - float(part[5 + 2 * k]) * 72)
                  for k in range(n)]
            routes[(int(part[1][1:]), int(part[2][1:]))] = xy
    return centres, routes


class _View:
    """What grandalf's layout needs of a vertex: its width and height."""

    def __init__(self, w: float, h: float):
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)


def _grandalf(pic: Picture) -> tuple[dict, dict]:
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    vertices = {}
    for box in pic.boxes:
        v = Vertex(box.key)
        v.view = _View(*box_size(box.lines))
        vertices[box.key] = v
    edges = [Edge(vertices[a], vertices[b]) for a, b in pic.arrows]
    graph = Graph(list(vertices.values()), edges)
    centres = {}
    for component in graph.C:  # each connected part laid out on its own, side by side
        sug = SugiyamaLayout(component)
        sug.init_all()
        sug.draw()
        offset = max((x + vertices[k].view.w for k, (x, _) in centres.items()), default=0.0)
        xs = [v.view.xy[0] - v.view.w / 2 for v in component.sV]
        shift = offset + 20.0 - min(xs) if centres else -min(xs) + 10.0
        for v in component.sV:
            centres[v.data] = (v.view.xy[0] + shift, v.view.xy[1])
    # inputs at the bottom: grandalf puts sources on top, so flip
    top = max((y for _, y in centres.values()), default=0.0)
    centres = {k: (x, top - y + 30.0) for k, (x, y) in centres.items()}
    routes = {(a, b): [centres[a], centres[b]] for a, b in pic.arrows}
    return centres, routes
