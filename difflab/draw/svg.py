"""Writing a laid-out picture: SVG text (for files, the report and Jupyter) or PNG (through
matplotlib, already a dependency of the lab)."""

from __future__ import annotations

from html import escape

from .graph import MAX_NODES, Picture, nodes_as_plan, picture, too_large
from .layout import LINE_H, PAD, box_size, layout

FILL = {"var": "#dbeafe", "const": "#f3f4f6", "op": "#ffffff", "note": "#fef9c3"}
STROKE, HIGHLIGHT = "#374151", "#ea580c"


class Drawing:
    """A drawn picture: ``.svg`` (text), ``save(path)``, ``png()``; shows inline in Jupyter."""

    def __init__(self, pic: Picture, engine: str = "auto"):
        self.picture = pic
        self.centres, self.routes = layout(pic, engine)
        self.svg = to_svg(pic, self.centres, self.routes)

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        return f"<Drawing: {len(self.picture.boxes)} boxes, {len(self.picture.arrows)} arrows>"

    def save(self, path) -> None:
        """Write the picture to ``path``: SVG, or PNG if the name ends in .png."""
        path = str(path)
        if path.lower().endswith(".png"):
            with open(path, "wb") as f:
                f.write(self.png())
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.svg)

    def png(self, dpi: int = 110) -> bytes:
        """The picture as PNG bytes (drawn with matplotlib)."""
        return to_png(self.picture, self.centres, self.routes, dpi)


def _extent(pic, centres) -> tuple[float, float]:
    w = max((centres[b.key][0] + box_size(b.lines)[0] / 2 for b in pic.boxes), default=100)
    h = max((centres[b.key][1] + box_size(b.lines)[1] / 2 for b in pic.boxes), default=40)
    return w + 10, h + 10 + (LINE_H if pic.title else 0)


def to_svg(pic: Picture, centres: dict, routes: dict) -> str:
    """SVG text of the picture at the given positions."""
    width, height = _extent(pic, centres)
    dy = LINE_H if pic.title else 0.0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans Mono, monospace" '
           f'font-size="11">',
           f"<title>{escape(pic.title or 'expression graph')}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
           f'fill="{STROKE}"/></marker></defs>']
    if pic.title:
        out.append(f'<text x="6" y="{LINE_H - 2:.0f}" font-weight="bold">'
                   f"{escape(pic.title)}</text>")
    sizes = {b.key: box_size(b.lines) for b in pic.boxes}
    for (a, b), route in routes.items():
        pts = list(route)
        pts[0] = _border(centres[a], sizes[a], pts[1] if len(pts) > 1 else centres[b])
        pts[-1] = _border(centres[b], sizes[b], pts[-2] if len(pts) > 1 else centres[a])
        d = " ".join(f"{x:.1f},{y + dy:.1f}" for x, y in pts)
        out.append(f'<polyline points="{d}" fill="none" stroke="{STROKE}" stroke-width="1" '
                   f'marker-end="url(#arrow)"/>')
    for box in pic.boxes:
        (x, y), (w, h) = centres[box.key], sizes[box.key]
        stroke, sw = (HIGHLIGHT, 3) if box.highlight else (STROKE, 1)
        out.append(f'<g class="{box.kind}"><rect x="{x - w / 2:.1f}" y="{y - h / 2 + dy:.1f}" '
                   f'width="{w:.1f}" height="{h:.1f}" rx="4" fill="{FILL.get(box.kind, "#fff")}" '
                   f'stroke="{stroke}" stroke-width="{sw}"/>')
        for k, line in enumerate(box.lines):
            ty = y - h / 2 + dy + PAD / 2 + LINE_H * (k + 0.75)
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(f'<text x="{x:.1f}" y="{ty:.1f}" text-anchor="middle"{weight}>'
                       f"{escape(line)}</text>")
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _border(centre, size, toward):
    """Where the line from ``centre`` to ``toward`` leaves the box of ``size``."""
    (x, y), (w, h), (tx, ty) = centre, size, toward
    dx, dy = tx - x, ty - y
    if dx == dy == 0:
        return x, y
    scale = min((w / 2) / abs(dx) if dx else float("inf"), (h / 2) / abs(dy) if dy else
                float("inf"))
    return x + dx * scale, y + dy * scale


def to_png(pic: Picture, centres: dict, routes: dict, dpi: int = 110) -> bytes:
    """PNG bytes of the picture, drawn with matplotlib's patches (no SVG renderer needed)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    width, height = _extent(pic, centres)
    fig = plt.figure(figsize=(width / 72, height / 72), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    dy = LINE_H if pic.title else 0.0
    if pic.title:
        ax.text(6, LINE_H - 2, pic.title, fontsize=8, fontweight="bold", family="monospace")
    sizes = {b.key: box_size(b.lines) for b in pic.boxes}
    for (a, b), route in routes.items():
        p0 = _border(centres[a], sizes[a], route[1] if len(route) > 1 else centres[b])
        p1 = _border(centres[b], sizes[b], route[-2] if len(route) > 1 else centres[a])
        ax.annotate("", xy=(p1[0], p1[1] + dy), xytext=(p0[0], p0[1] + dy),
                    arrowprops={"arrowstyle": "->", "color": STROKE, "lw": 0.8})
    for box in pic.boxes:
        (x, y), (w, h) = centres[box.key], sizes[box.key]
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2 + dy), w, h,
                                    boxstyle="round,pad=0,rounding_size=4",
                                    facecolor=FILL.get(box.kind, "#fff"),
                                    edgecolor=HIGHLIGHT if box.highlight else STROKE,
                                    linewidth=2.5 if box.highlight else 0.8))
        for k, line in enumerate(box.lines):
            ax.text(x, y - h / 2 + dy + PAD / 2 + LINE_H * (k + 0.5), line, ha="center",
                    va="center", fontsize=7.5, family="monospace",
                    fontweight="bold" if k == 0 else "normal")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def svg_of_nodes(root) -> str:
    """SVG of an expression's nodes as built, without values (what Jupyter shows)."""
    ops, args, attrs = nodes_as_plan(root)
    return Drawing(too_large(len(ops), "expression") if len(ops) > MAX_NODES else
                   picture(ops, args, attrs)).svg
