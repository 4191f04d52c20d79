"""Figures: one look for every experiment (method colours, sizes, saving).

Matplotlib runs headless (Agg). Each method keeps its colour in every figure, so a reader
learns it once: reverse mode is always the same blue, finite differences the same orange.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

METHOD_COLORS = {
    "symbolic": "#7b3294", "numeric": "#e66101", "forward": "#1a9641", "reverse": "#2c7bb6",
    "jax": "#404040", "truth": "#000000", "hand": "#a6611a",
    "numeric:forward": "#fdb863", "numeric:backward": "#f4a582", "numeric:central": "#e66101",
    "numeric:central4": "#b2182b", "numeric:richardson": "#d6604d", "numeric:complex": "#8c510a",
    "numdifftools": "#01665e", "scipy": "#c51b7d",   # the peers
}
# Registered methods without a colour of their own take one of these, by a hash of the name
# (the same in every figure and every run).
OTHER_COLORS = ("#35978f", "#8073ac", "#bf812d", "#de77ae", "#4d9221", "#542788")
METHOD_MARKERS = {"symbolic": "s", "numeric": "^", "forward": "D", "reverse": "o", "jax": "x"}


def color(method: str) -> str:
    """The method's colour (variants fall back to their base method's)."""
    base = method.partition(":")[0]
    if method in METHOD_COLORS or base in METHOD_COLORS:
        return METHOD_COLORS.get(method, METHOD_COLORS.get(base))
    return OTHER_COLORS[zlib.crc32(method.encode()) % len(OTHER_COLORS)]


def marker(method: str) -> str:
    """The method's marker."""
    return METHOD_MARKERS.get(method.partition(":")[0], "o")


def figure(width: float = 7.0, height: float = 4.2, ncols: int = 1, nrows: int = 1, **kw):
    """A new figure and its axes, with the house style (grid, readable fonts)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=True, **kw)
    for ax in (axes.flat if hasattr(axes, "flat") else [axes]):
        ax.grid(True, which="major", alpha=0.3)
        ax.tick_params(labelsize=9)
    return fig, axes


def save(fig, path: str | Path) -> Path:
    """Write ``fig`` as a PNG (dpi 120, tight) and close it; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)  # never a half-written figure
    return path


def errorbar(ax, x, y, lo, hi, **style):
    """A curve of medians with each point's interval [lo, hi] as an error bar (the house
    style for every measured time: the reader sees what the repeats support)."""
    y = np.asarray(y, dtype=float)
    yerr = np.vstack([y - np.asarray(lo, dtype=float), np.asarray(hi, dtype=float) - y])
    yerr = np.where(np.isfinite(yerr), np.clip(yerr, 0, None), 0)
    style.setdefault("capsize", 2.5)
    style.setdefault("elinewidth", 1)
    return ax.errorbar(x, y, yerr=yerr, **style)
