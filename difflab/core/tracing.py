"""What an expression knows while a Python function is traced: its shape.

An expression has no shape of its own: its variables take theirs from the point, and the same
IR evaluates at any shapes. But while ``difflab.trace`` calls a user's function for a point,
the variables' shapes are known, so ``x.shape``, ``len(x)``, ``x.ndim`` and ``for row in X``
can answer as NumPy would (and a loop over ``range(len(x))`` unrolls). ``ShapeMixin`` gives
``Expr`` those members; they ask the innermost ``NodeShapes`` on ``SHAPE_HOOKS`` (pushed and
popped by the tracer around the call). Outside a trace only an expression of constants has a
shape; the others say clearly why they cannot answer.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .ops import OPS, Shape
from .params import Param

# The shapes of the trace in progress (innermost last); empty when nothing is being traced.
SHAPE_HOOKS: list[NodeShapes] = []


class NodeShapes:
    """node -> shape for the nodes built from variables of the given shapes (``None``: that
    variable's shape is unknown). Each node's shape is found once by the op table's shape rule
    and remembered by the node's serial; the walk is iterative."""

    def __init__(self, shapes: Mapping[str, Shape | None], tracing: bool = True):
        self.shapes = dict(shapes)
        self.memo: dict[int, object] = {}
        self.tracing = tracing

    def __call__(self, node) -> Shape:
        memo = self.memo
        stack = [node]
        while stack:
            top = stack[-1]
            if top.serial in memo:
                stack.pop()
                continue
            pending = [a for a in top.args if a.serial not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            memo[top.serial] = self._one(top)
        return memo[node.serial]

    def _one(self, node):
        if node.op == "var":
            shape = self.shapes.get(node.attr)
            if shape is None and not self.tracing:
                raise AttributeError(_NO_SHAPE)
            if shape is None:
                raise AttributeError(f"the shape of {node.attr!r} is not known while tracing: "
                                     f"give it in the point, or dl.trace(fn, shapes={{"
                                     f"{node.attr!r}: ...}})")
            return tuple(shape)
        if node.op == "const":  # an op's Param stays itself: the shape rules take it so
            return node.attr if node.attr.__class__ is Param else np.shape(node.attr)
        return OPS[node.op].shape(*[self.memo[a.serial] for a in node.args])


_NO_SHAPE = ("an expression of variables has no shape of its own (shapes come from the "
             "point); x.shape is known inside a function traced at a point, e.g. "
             "dl.grad(fn, point) or dl.trace(fn, shapes)")


def _hook() -> NodeShapes:
    # outside a trace only an expression of constants has a shape
    return SHAPE_HOOKS[-1] if SHAPE_HOOKS else NodeShapes({}, tracing=False)


class ShapeMixin:
    """NumPy's shape members for ``Expr``, answered while a function is traced."""

    __slots__ = ()

    @property
    def shape(self) -> Shape:
        """The shape, inside a function traced at known shapes (``dl.grad(fn, point)``,
        ``dl.trace(fn, shapes)``) or of an expression of constants; else an AttributeError
        saying why. (``len`` and iteration answer inside a trace only, so NumPy never takes
        an expression for a sequence.)"""
        return _hook()(self)

    @property
    def ndim(self) -> int:
        """The number of axes (known as ``shape`` is)."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of elements (known as ``shape`` is)."""
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        return self._length("measured with len()")

    def __iter__(self):
        # the rows x[0], x[1], ...: inside a traced function ``for row in X:`` unrolls
        return iter([self[k] for k in range(self._length("iterated"))])

    def _length(self, what: str) -> int:
        if not SHAPE_HOOKS:
            raise TypeError(f"an expression cannot be {what}: its length is known only at a "
                            f"point (inside a function traced by dl.grad(fn, point) it is); "
                            f"index it with constants: x[0], x[1:3]")
        try:
            shape = self.shape
        except AttributeError as err:
            raise TypeError(f"an expression cannot be {what} without its shape: {err}") from None
        if not shape:
            raise TypeError(f"a 0-d expression (a scalar) cannot be {what}")
        return shape[0]
