"""``dl.draw``: the expression DAG with each node's value and, given ``wrt``, its adjoint
(d output / d node, what backpropagation computes at every node).

The values come from evaluating the plan, the adjoints from one backward sweep of reverse
mode over the same plan: every node's cotangent, not only the inputs'. So the picture shows
dynamic programming on the graph: each adjoint is the sum over a node's users of the user's
adjoint times the local derivative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..core.evaluate import bind, clean_point, run
from ..core.expr import Expr
from ..core.parser import parse
from ..core.plan import compile_plan
from ..core.reals import describe
from ..reverse.program import compile_program
from ..reverse.sweep import sweep
from ..tracer import traced
from .graph import MAX_NODES, picture, too_large
from .svg import Drawing


def draw(expr, point: Mapping | None = None, wrt: Sequence[str] | str | None = None, *,
         max_nodes: int = MAX_NODES, engine: str = "auto") -> Drawing:
    """A picture of ``expr``'s graph (one box per distinct node).

    Args:
        expr: an expression, its text, or a Python function (traced as ``dl.grad`` traces
            one: at the point's shapes, or with shapes unknown when no point is given).
        point: values of the variables: each box shows its value.
        wrt: variables to differentiate with respect to (needs ``point`` and a scalar
            expression): each box also shows its adjoint d expr / d node.
        max_nodes: larger graphs are summarised, not drawn.
        engine: the layout: "dot" (graphviz), "grandalf" (pure Python) or "auto".
    Returns:
        a ``Drawing``: ``.svg`` text, ``.save(path)`` (.svg or .png), inline in Jupyter.
    Raises:
        TypeError: ``expr`` is none of these (a number, None ...).
    """
    if isinstance(expr, str):
        expr = parse(expr)
    elif not isinstance(expr, Expr):
        if not callable(expr):
            raise TypeError(f"draw: expected an expression, grammar text or a Python "
                            f"function, got {type(expr).__name__} {describe(expr)}")
        expr = traced(expr, point=point)
    plan = compile_plan(expr)
    if plan.size > max_nodes:
        return Drawing(too_large(plan.size, "expression graph"), engine)
    values = bars = None
    if wrt is not None and point is None:
        raise ValueError("draw: gradients (wrt=) need a point to evaluate at")
    if point is not None:
        clean = clean_point(plan, point)
        with np.errstate(all="ignore"):
            values = run(plan, bind(plan, clean))
        if wrt is not None:
            names = (wrt.replace(",", " ").split() if isinstance(wrt, str) else list(wrt))
            shapes = {name: np.shape(v) for name, v in clean.items()}
            program = compile_program(expr, names, shapes)
            if program.shapes[plan.out] != ():
                raise ValueError(f"draw: adjoints need a scalar expression, this one has shape "
                                 f"{program.shapes[plan.out]}")
            with np.errstate(all="ignore"):
                bars = sweep(program, program.record(clean), np.float64(1.0))
    title = "values and adjoints" if bars is not None else "values" if values else ""
    return Drawing(picture(plan.ops, plan.args, plan.attrs, values, bars, title=title,
                           bar_name="grad"), engine)
