"""Constant parameters of ops: indices, axes, shapes, ``keepdims``.

An op with parameters (``x[1:3]``, ``sum(A, axis=0)``, ``reshape(A, (2, 3))``) takes them as
its last argument: a constant leaf whose payload is a ``Param``, never a number. So every
evaluator and differentiator sees the parameters as one more constant argument (no tangent, no
cotangent) and no engine needs a special path for them. This module normalises what users
write into hashable, comparable payloads and says clearly what is wrong with a bad one; it
knows no nodes.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from numbers import Integral

import numpy as np

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Param:
    """A constant parameter of an op (``kind``: index, axes, shape, perm; ``value``
    hashable)."""

    kind: str
    value: object

    def __repr__(self) -> str:
        return f"Param({self.kind}, {self.value!r})"


def _is_int(v) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _what(v) -> str:
    return type(v).__name__ if not hasattr(v, "op") else "an expression"


def _int(v, what: str) -> int:
    if _is_int(v):
        return int(v)
    if hasattr(v, "op"):  # an Expr: indices and axes are constants only
        raise TypeError(f"{what} must be a constant integer, not an expression; "
                        f"difflab supports constant indices and axes only")
    raise TypeError(f"{what} must be an integer, got {v!r}")


# ---- indices ------------------------------------------------------------------------------
def index_param(key) -> Param:
    """``x[key]`` as a Param: ints, slices (steps too), ``None`` (a new axis), ``...`` and at
    most one list of ints (a gather; repeats allowed)."""
    items = key if isinstance(key, tuple) else (key,)
    spec, lists, ellipsis = [], 0, 0
    for item in items:
        if item is None:
            spec.append(("new",))
        elif item is Ellipsis:
            ellipsis += 1
            spec.append(("...",))
        elif isinstance(item, slice):
            spec.append(("slice",) + tuple(None if v is None else _int(v, "a slice bound")
                                           for v in (item.start, item.stop, item.step)))
            if spec[-1][3] == 0:
                raise ValueError("slice step cannot be zero")
        elif isinstance(item, list | np.ndarray) and not hasattr(item, "op"):
            values = list(np.asarray(item).ravel()) if isinstance(item, np.ndarray) else item
            if isinstance(item, np.ndarray) and (item.ndim != 1 or item.dtype.kind not in "iu"):
                raise TypeError(f"an index array must be 1-D integers, got {item.dtype} of "
                                f"shape {item.shape}")
            spec.append(("take", tuple(_int(v, "a list index") for v in values)))
            lists += 1
        else:
            spec.append(("int", _int(item, "an index")))
    if lists > 1:
        raise ValueError("at most one list of integers per index (a gather along one axis)")
    if ellipsis > 1:
        raise ValueError("an index can only have a single ellipsis ('...')")
    return Param("index", tuple(spec))


def numpy_index(spec: tuple) -> tuple:
    """The NumPy index for a normalised spec."""
    out = []
    for item in spec:
        tag = item[0]
        if tag == "int":
            out.append(item[1])
        elif tag == "slice":
            out.append(slice(*item[1:]))
        elif tag == "take":
            out.append(np.array(item[1], dtype=np.intp))
        elif tag == "new":
            out.append(None)
        else:
            out.append(Ellipsis)
    return tuple(out)


def index_text(spec: tuple) -> str:
    """Grammar text of an index (``0``, ``1:3``, ``::2``, ``[0, 2]``, ``None``, ``...``)."""
    parts = []
    for item in spec:
        tag = item[0]
        if tag == "int":
            parts.append(str(item[1]))
        elif tag == "slice":
            start, stop, step = ("" if v is None else str(v) for v in item[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif tag == "take":
            parts.append("[" + ", ".join(map(str, item[1])) + "]")
        elif tag == "new":
            parts.append("None")
        else:
            parts.append("...")
    return ", ".join(parts) if len(parts) != 1 or spec[0][0] != "take" else parts[0]


def index_shape(shape: Shape, spec: tuple) -> Shape:
    """The shape of ``x[spec]`` for x of ``shape``, or an error naming both."""
    probe = np.broadcast_to(np.float64(0.0), shape)  # no data: a zero-stride view
    try:
        return tuple(probe[numpy_index(spec)].shape)
    except IndexError as err:
        raise ValueError(f"index [{index_text(spec)}] does not fit shape {shape}: "
                         f"{str(err).split(';')[0]}") from None


# ---- axes, shapes, permutations -----------------------------------------------------------
def axes_param(axis, keepdims=False) -> Param:
    """(axes or None, keepdims) for a reduction; axes a tuple of ints (negative allowed)."""
    if not isinstance(keepdims, bool | np.bool_):
        raise TypeError(f"keepdims must be True or False, got {keepdims!r}")
    if axis is None:
        return Param("axes", (None, bool(keepdims)))
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    return Param("axes", (tuple(_int(a, "an axis") for a in axes), bool(keepdims)))


def axis_param(axis) -> Param:
    """One axis (softmax, log_softmax, concatenate, stack)."""
    return Param("axis", _int(axis, "axis"))


def normal_axes(axes: tuple[int, ...] | None, ndim: int, what: str) -> tuple[int, ...]:
    """Axes as non-negative ints for an operand of ``ndim`` dimensions, or an error."""
    if axes is None:
        return tuple(range(ndim))
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{what}: axis {a} is out of bounds for an operand with {ndim} "
                             f"dimension{'s' if ndim != 1 else ''}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{what}: repeated axis in {axes}")
    return tuple(out)


def shape_param(shape) -> Param:
    """A target shape for reshape: ints, at most one -1."""
    items = tuple(shape) if isinstance(shape, tuple | list) else (shape,)
    dims = tuple(_int(n, "a shape entry") for n in items)
    if builtins.sum(n == -1 for n in dims) > 1 or builtins.any(n < -1 for n in dims):
        raise ValueError(f"reshape: invalid shape {dims} (non-negative sizes, at most one -1)")
    return Param("shape", dims)


def reshaped(shape: Shape, dims: tuple[int, ...]) -> Shape:
    """The result shape of reshaping ``shape`` to ``dims`` (one -1 inferred), or an error."""
    size = int(np.prod(shape, dtype=np.int64))
    known = int(np.prod([n for n in dims if n != -1], dtype=np.int64))
    if -1 in dims:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape an array of shape {shape} (size {size}) "
                             f"into shape {dims}")
        return tuple(size // known if n == -1 else n for n in dims)
    if known != size:
        raise ValueError(f"reshape: cannot reshape an array of shape {shape} (size {size}) "
                         f"into shape {dims} (size {known})")
    return dims


def perm_param(axes) -> Param:
    """A permutation of axes for transpose."""
    items = tuple(axes) if isinstance(axes, tuple | list) else (axes,)
    perm = tuple(_int(a, "a transpose axis") for a in items)
    if sorted(a % len(perm) if -len(perm) <= a < len(perm) else a for a in perm) != \
            list(range(len(perm))):
        raise ValueError(f"transpose: axes {perm} are not a permutation of 0..{len(perm) - 1}")
    return Param("perm", perm)
