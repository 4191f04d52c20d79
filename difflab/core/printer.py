"""The grammar, written: IR -> text with ``to_text`` (``parse`` in ``parser`` reads it).

``to_text`` prints with the fewest parentheses that parse back to an equal IR, walking the
graph with an explicit stack (never recursively). It reads only a node's ``op``, ``args`` and
``attr``, so the node class can use it for ``str`` without importing the parser.

A DAG spells each shared subexpression out at every use, so its text can grow like 2^depth
(a 40-step recurrence of 122 nodes has ~10^13 characters). ``to_text`` stops at ``MAX_PRINT``
characters with an error giving the text's length (``text_length`` counts it over the distinct
nodes without printing); messages and ``repr`` use ``summary``, which stops after ``limit``
characters whatever the size of the graph.
"""

from __future__ import annotations

import itertools
import math
import operator

import numpy as np

from .params import index_text

# Python's precedence: higher binds tighter.
_COMPARE = 6  # comparisons bind looser than arithmetic and never chain
_PREC = {"add": 11, "sub": 11, "mul": 12, "div": 12, "matmul": 12, "neg": 13, "pow": 14,
         "lt": _COMPARE, "le": _COMPARE, "gt": _COMPARE, "ge": _COMPARE, "eq": _COMPARE,
         "ne": _COMPARE}
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**",
           "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}
_ATOM = 16
# ops printed as a grammar function with keywords: op -> the function's name
_REDUCED = {"reduce_sum": "sum", "reduce_mean": "mean", "reduce_prod": "prod",
            "reduce_max": "max", "reduce_min": "min", "logsumexp": "logsumexp"}
MAX_PRINT = 2_000_000  # characters: twice what ``parse`` reads back
SUMMARY_NODES = 10_000  # a summary counts the graph's nodes up to this many
_CHUNK = 256  # an array constant is written this many numbers at a time


def _number(value: float) -> tuple[str, int]:
    """Text and precedence of a number (negative numbers print like a unary minus)."""
    if value == math.pi:
        return "pi", _ATOM
    if value == math.e:
        return "e", _ATOM
    if math.isnan(value):
        # No literal says nan, and the bare name would parse back as a variable called nan:
        # print something that is not in the grammar, so parsing it is an error.
        return "<nan>", _ATOM
    if math.isinf(value):
        text = "1e999" if value > 0 else "-1e999"  # a float literal beyond float64 is inf
    elif value == int(value) and abs(value) < 1e16:
        text = str(int(abs(value)))
        text = "-" + text if math.copysign(1.0, value) < 0 else text
    else:
        text = repr(value)
    return text, (_PREC["neg"] if text.startswith("-") else _ATOM)


def _prec(node) -> int:
    if node.op == "const":  # (an array, or an op's parameters, is an atom)
        return _number(node.attr)[1] if node.attr.__class__ is float else _ATOM
    return _PREC.get(node.op, _ATOM)


def _array(value: np.ndarray, limit: int | None = None) -> str:
    """An array constant as nested lists (the grammar's spelling), or ``<array shape>`` where
    no literal can say it (nan entries, empty arrays of two or more dimensions). With a
    ``limit`` only the text's first ``limit`` characters or a little more are written."""
    if np.isnan(value).any() or (value.size == 0 and value.ndim > 1):
        return f"<array {value.shape}>"
    if value.ndim == 0 or value.size == 0:
        return _number(float(value))[0] if value.ndim == 0 else "[]"
    # rows of the last axis, in chunks (so a limit stops early); row r opens one bracket per
    # block of rows it starts and closes one per block it ends (iterative, any rank)
    width = value.shape[-1]
    rows = value.reshape(-1, width)
    blocks = list(itertools.accumulate(reversed(value.shape[:-1]), operator.mul))
    out, written = [], 0
    for r in range(len(rows)):
        for c in range(0, width, _CHUNK):
            head = (", " if r or c else "") + \
                ("[" * (1 + sum(r % n == 0 for n in blocks)) if c == 0 else "")
            tail = "]" * (1 + sum((r + 1) % n == 0 for n in blocks)) if c + _CHUNK >= width \
                else ""
            piece = head + ", ".join([_number(v)[0] for v in rows[r, c:c + _CHUNK].tolist()]) \
                + tail
            out.append(piece)
            written += len(piece)
            if limit is not None and written > limit:
                return "".join(out)
    return "".join(out)


def _axis_text(axes) -> str:
    return str(axes[0]) if len(axes) == 1 else "(" + ", ".join(map(str, axes)) + ")"


def _tuple_text(values) -> str:
    return "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"


def _pieces(node, limit: int | None = None) -> list:
    """The node's text in reading order: strings, and argument nodes still to be written
    (an array constant's text cut after about ``limit`` characters when one is given)."""
    op = node.op
    if op == "var":
        return [node.attr]
    if op == "const":
        attr = node.attr
        return [_array(attr, limit) if isinstance(attr, np.ndarray) else
                f"<{attr!r}>" if hasattr(attr, "kind") else _number(attr)[0]]
    if op == "neg":
        (a,) = node.args
        return ["-", *_wrap(a, _prec(a) >= _PREC["neg"])]
    if op in _SYMBOL:
        left, right = node.args
        left_ok, right_ok = _bare(op, left, right)
        return [*_wrap(left, left_ok), f" {_SYMBOL[op]} ", *_wrap(right, right_ok)]
    if op == "index":
        a, p = node.args
        return [*_wrap(a, _prec(a) >= _ATOM), f"[{index_text(p.attr.value)}]"]
    return _function(op, node)


def _function(op: str, node) -> list:
    """The pieces of an op printed as a function call with its constant parameters."""
    args = node.args
    param = args[-1].attr.value if args and args[-1].op == "const" and \
        hasattr(args[-1].attr, "kind") else None
    if op in _REDUCED:
        axes, keepdims = param
        extra = (f", axis={_axis_text(axes)}" if axes is not None else "") + \
            (", keepdims=True" if keepdims else "")
        return [f"{_REDUCED[op]}(", args[0], f"{extra})"]
    if op in ("softmax", "log_softmax"):
        return [f"{op}(", args[0], f", axis={param})"]
    if op == "reshape":
        return ["reshape(", args[0], f", {_tuple_text(param)})"]
    if op == "permute":
        return ["transpose(", args[0], f", {_tuple_text(param)})"]
    if op == "concat":
        return ["concatenate([", args[0], ", ", args[1], f"], axis={param})"]
    pieces: list = [f"{op}("]
    for k, a in enumerate(args):
        pieces += [", "] * (k > 0) + [a]
    return [*pieces, ")"]


def _bare(op: str, left, right) -> tuple[bool, bool]:
    """Whether each operand of a binary operator prints without parentheses."""
    prec, lp, rp = _PREC[op], _prec(left), _prec(right)
    if op == "pow":  # right-associative; its right operand may be a unary minus
        return lp > prec, rp >= _PREC["neg"]
    if prec == _COMPARE:  # comparisons never chain: a comparison operand is wrapped
        return lp > prec, rp > prec
    return lp >= prec, rp > prec


def _wrap(node, bare: bool) -> list:
    return [node] if bare else ["(", node, ")"]


def _check(expr) -> None:
    if not (hasattr(expr, "op") and hasattr(expr, "args") and hasattr(expr, "attr")):
        hint = " (text is read with dl.parse)" if isinstance(expr, str) else ""
        raise TypeError(f"expected an expression, got {type(expr).__name__}{hint}")


def text_length(expr) -> int:
    """The length of ``to_text(expr)``, counted over the distinct nodes without printing.

    Args:
        expr: an expression.
    Returns:
        the number of characters (a Python int: exact even when astronomically large).
    """
    _check(expr)
    length: dict[int, int] = {}
    stack: list = [(expr, False)]  # post-order: a node is measured after its arguments
    while stack:
        node, ready = stack.pop()
        if ready:
            args = node.args
            if len(args) == 2 and node.op in _SYMBOL:  # (the common case, without _pieces)
                left, right = args
                left_ok, right_ok = _bare(node.op, left, right)
                length[id(node)] = length[id(left)] + length[id(right)] + \
                    len(_SYMBOL[node.op]) + 2 + 2 * (2 - left_ok - right_ok)
            else:
                length[id(node)] = sum(len(p) if p.__class__ is str else length[id(p)]
                                       for p in _pieces(node))
        elif id(node) not in length:
            stack.append((node, True))
            stack.extend([(a, False) for a in node.args if id(a) not in length])
    return length[id(expr)]


def to_text(expr) -> str:
    """Grammar text for ``expr`` with minimal parentheses; ``parse(to_text(e)) == e``.

    Shared subexpressions are spelled out at each use. Array constants print as nested lists;
    one that no literal can say (nan entries) prints as ``<array shape>``, nan as ``<nan>``:
    neither is grammar, so neither can parse back as something else.

    Raises:
        ValueError: the text would be longer than ``MAX_PRINT`` characters (a DAG whose
            shared subexpressions multiply when spelled out); ``summary`` shows its start.
    """
    _check(expr)
    out: list[str] = []
    written = 0
    stack: list = [expr]  # items: text to emit, or a node to expand
    while stack:
        item = stack.pop()
        if item.__class__ is not str:
            if item.args:
                stack.extend(reversed(_pieces(item)))
                continue
            item = _pieces(item, MAX_PRINT - written + 1)[0]  # a leaf: name, number, array
        out.append(item)
        written += len(item)
        if written > MAX_PRINT:  # measure it (one pass over the distinct nodes) and say so
            n = text_length(expr)
            raise ValueError(
                f"the text of this expression would be about 10**{math.log10(n):.1f} "
                f"characters (more than {MAX_PRINT:,}): its shared subexpressions are spelled "
                f"out at every use; it begins {summary(expr)!r}")
    return "".join(out)


def summary(expr, limit: int = 80) -> str:
    """The start of ``to_text(expr)``, at most about ``limit`` characters, for messages.

    It writes until ``limit`` characters are out and stops, so its cost is O(limit) however
    large the graph or its text; a cut summary ends with ``... <N nodes>`` (N counted up to
    ``SUMMARY_NODES``).

    Args:
        expr: an expression.
        limit: how many characters of text to show.
    Returns:
        the whole text when it is short, else its start and the graph's node count.
    """
    _check(expr)
    out: list[str] = []
    written = 0
    stack: list = [expr]
    while stack and written <= limit:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            written += len(item)
        else:
            stack.extend(reversed(_pieces(item, limit - written + 1)))
    text = "".join(out)
    if not stack and written <= limit:
        return text
    return f"{text[:limit]}... <{_count(expr, SUMMARY_NODES)} nodes>"


def _count(expr, cap: int) -> str:
    """The number of distinct nodes, counting at most ``cap`` of them."""
    seen = {id(expr)}
    stack = [expr]
    while stack:
        for a in stack.pop().args:
            if id(a) not in seen:
                if len(seen) >= cap:
                    return f"more than {cap:,}"
                seen.add(id(a))
                stack.append(a)
    return f"{len(seen):,}"
