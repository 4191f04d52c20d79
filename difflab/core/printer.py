"""The grammar, written: IR -> text with ``to_text`` (``parse`` in ``parser`` reads it).

``to_text`` prints with the fewest parentheses that parse back to an equal IR, walking the
graph with an explicit stack (never recursively). It reads only a node's ``op``, ``args`` and
``attr``, so the node class can use it for ``str`` without importing the parser.
"""

from __future__ import annotations

import math

import numpy as np

# Python's precedence: higher binds tighter.
_PREC = {"add": 11, "sub": 11, "mul": 12, "div": 12, "matmul": 12, "neg": 13, "pow": 14}
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**"}
_ATOM = 16


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


def to_text(expr) -> str:
    """Grammar text for ``expr`` with minimal parentheses; ``parse(to_text(e)) == e``.

    Shared subexpressions are spelled out at each use. Array constants (from NumPy operands)
    have no grammar spelling and print as ``<array shape>``.
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
            out.append(f"<array {attr.shape}>" if isinstance(attr, np.ndarray)
                       else _number(attr)[0])
        elif op == "neg":
            (a,) = item.args
            stack.extend(reversed(["-", *_wrap(a, _prec(a) >= _PREC["neg"])]))
        elif op in _SYMBOL:
            left, right = item.args
            prec, lp, rp = _PREC[op], _prec(left), _prec(right)
            if op == "pow":  # right-associative; its right operand may be a unary minus
                left_ok, right_ok = lp > prec, rp >= _PREC["neg"]
            else:
                left_ok, right_ok = lp >= prec, rp > prec
            pieces = [*_wrap(left, left_ok), f" {_SYMBOL[op]} ", *_wrap(right, right_ok)]
            stack.extend(reversed(pieces))
        else:
            pieces = [f"{op}("]
            for k, a in enumerate(item.args):
                pieces += [", "] * (k > 0) + [a]
            stack.extend(reversed([*pieces, ")"]))
    return "".join(out)


def _wrap(node, bare: bool) -> list:
    return [node] if bare else ["(", node, ")"]
