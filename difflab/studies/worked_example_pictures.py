"""The worked example's pictures: the 2-2-2 network's graph with every node's value and
gradient (``dl.draw``), and a strip of the first backward steps of its tape
(``Tape.draw_steps``): the node being processed highlighted, the cotangents received so far.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..draw.picture import draw
from ..reverse import Tape


def graph_figure(expr, point: dict, wrt, path: Path) -> Path:
    """The expression graph with values and adjoints, as a PNG."""
    draw(expr, point, wrt=list(wrt)).save(path)
    return path


def steps_figure(expr, point: dict, wrt, path: Path, steps: int = 4) -> Path:
    """The seed and the first ``steps`` backward steps side by side, as one PNG."""
    import matplotlib.image as mpimg

    from ..lab import plotting

    tape = Tape.record(expr, point, list(wrt))
    pictures = tape.draw_steps(frontier=True)[:steps + 1]
    fig, axes = plotting.figure(3.6 * len(pictures), 4.4, ncols=len(pictures))
    for ax, pic in zip(np.atleast_1d(axes), pictures, strict=True):
        ax.imshow(mpimg.imread(io.BytesIO(pic.png(dpi=100)), format="png"))
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plotting.plt.close(fig)
    return path
