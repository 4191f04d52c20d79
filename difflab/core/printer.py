"""The grammar, written: IR -> text with ``to_text`` (``parse`` in ``parser`` reads it).

``to_text`` prints with the fewest parentheses that parse back to an equal IR, walking the
graph with an explicit stack (never recursively). It reads only a node's ``op``, ``args`` and
``attr``, so the node class can use it for ``str`` without importing the parser.
"""

from __future__ import annotations

import math

import numpy as np

# Python's precedence: higher binds tighter.
from .params import index_text

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


def _number(value: float) -> tuple[str, int]:
    """Text and precedence of a number (negative numbers print like a unary minus)."""
    if value == math.pi:
        return "pi", _ATOM
    if value == math.e:
        return "e", _ATOM
    if math.isnan(value):
        return "nan", _ATOM  # not in the grammar: no literal can say it
    if math.isinf(value):
        text = "1e999"
    elif value == int(value) and abs(value) < 1e16:
        text = str(int(abs(value)))
        text = "-" + text if math.copysign(1.0, value) < 0 else text
    else:
        text = repr(value)
    return text, (_PREC["neg"] if text.startswith("-") else _ATOM)


def _prec(node) -> int:
    if node.op == "const":
        return _ATOM if isinstance(node.attr, np.ndarray) else _number(node.attr)[1]
    return _PREC.get(node.op, _ATOM)


def _array(value: np.ndarray) -> str:
    """An array constant as nested lists (the grammar's spelling), or ``<array shape>`` where
    no literal can say it (nan entries, empty arrays of two or more dimensions)."""
    if np.isnan(value).any() or (value.size == 0 and value.ndim > 1):
        return f"<array {value.shape}>"
    def nested(v):
        if v.ndim == 0:
            return _number(float(v))[0]
        return "[" + ", ".join(nested(row) for row in v) + "]"
    return nested(value)


def _axis_text(axes) -> str:
    return str(axes[0]) if len(axes) == 1 else "(" + ", ".join(map(str, axes)) + ")"


def _tuple_text(values) -> str:
    return "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"


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
    pieces = [f"{op}("]
    for k, a in enumerate(args):
        pieces += [", "] * (k > 0) + [a]
    return [*pieces, ")"]


def to_text(expr) -> str:
    """Grammar text for ``expr`` with minimal parentheses; ``parse(to_text(e)) == e``.

    Shared subexpressions are spelled out at each use. Array constants print as nested lists;
    one that no literal can say (nan entries) prints as ``<array shape>``, which is not
    grammar, so it can never parse back as something else.
    """
    out: list[str] = []
    stack: list = [expr]  # items: text to emit, or a node to expand
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        op = item.op
        if op == "var":
            out.append(item.attr)
        elif op == "const":
            attr = item.attr
            out.append(_array(attr) if isinstance(attr, np.ndarray) else
                       f"<{attr!r}>" if hasattr(attr, "kind") else _number(attr)[0])
        elif op == "neg":
            (a,) = item.args
            stack.extend(reversed(["-", *_wrap(a, _prec(a) >= _PREC["neg"])]))
        elif op in _SYMBOL:
            left, right = item.args
            prec, lp, rp = _PREC[op], _prec(left), _prec(right)
            if op == "pow":  # right-associative; its right operand may be a unary minus
                left_ok, right_ok = lp > prec, rp >= _PREC["neg"]
            elif prec == _COMPARE:  # comparisons never chain: a comparison operand is wrapped
                left_ok, right_ok = lp > prec, rp > prec
            else:
                left_ok, right_ok = lp >= prec, rp > prec
            pieces = [*_wrap(left, left_ok), f" {_SYMBOL[op]} ", *_wrap(right, right_ok)]
            stack.extend(reversed(pieces))
        elif op == "index":
            a, p = item.args
            stack.extend(reversed([*_wrap(a, _prec(a) >= _ATOM), f"[{index_text(p.attr.value)}]"]))
        else:
            stack.extend(reversed(_function(op, item)))
    return "".join(out)


def _wrap(node, bare: bool) -> list:
    return [node] if bare else ["(", node, ")"]
