"""The grammar, read: text -> IR with ``parse`` (``to_text`` in ``printer`` writes it back).

Text is parsed by Python's ``ast`` and every node is checked against an allow-list: operators
``+ - * / ** @``, unary ``-`` (and a harmless unary ``+``), numbers, the constants ``pi`` and
``e``, variable names, and calls of the grammar's functions. Nothing is ever evaluated.
The walk is iterative, never recursive.
"""

from __future__ import annotations

import ast

from .expr import BUILDERS, Expr, constant, variable
from .ops import CONSTANTS, FUNCTIONS

MAX_TEXT = 1_000_000  # characters; longer text is refused before parsing


class ParseError(ValueError):
    """Text that is not an expression of the grammar; ``position`` is the 0-based offset."""

    def __init__(self, message: str, text: str = "", position: int | None = None):
        self.message = message
        self.text = text
        self.position = position
        if position is not None and text and "\n" not in text and len(text) <= 200:
            detail = f"{message} (at column {position + 1})\n  {text}\n  {' ' * position}^"
        elif position is not None:
            detail = f"{message} (at column {position + 1})"
        else:
            detail = message
        super().__init__(detail)


_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
           ast.MatMult: "matmul"}
_WHAT = {  # friendly names for nodes that are refused
    ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "lambda",
    ast.Compare: "comparison", ast.BoolOp: "boolean operator", ast.IfExp: "conditional",
    ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Set: "set",
    ast.ListComp: "comprehension", ast.GeneratorExp: "generator", ast.DictComp: "comprehension",
    ast.SetComp: "comprehension", ast.JoinedStr: "f-string", ast.Starred: "starred argument",
    ast.NamedExpr: "assignment expression", ast.Await: "await", ast.Yield: "yield",
    ast.Slice: "slice",
}


def _position(text: str, node: ast.AST) -> int:
    """0-based offset of an ast node in ``text``."""
    lines = text.split("\n")
    line = getattr(node, "lineno", 1) - 1
    col = getattr(node, "col_offset", 0)
    # col_offset counts UTF-8 bytes; convert to characters.
    col = len(lines[line].encode()[:col].decode(errors="ignore"))
    return sum(len(s) + 1 for s in lines[:line]) + col


def parse(text: str) -> Expr:
    """Parse grammar text into an expression.

    Args:
        text: e.g. ``"sin(x) * exp(y) + x**2"``.
    Returns:
        the expression's IR.
    Raises:
        ParseError: the text is not in the grammar; the message says what and where.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() needs a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ParseError(f"expression text too long: {len(text):,} characters "
                         f"(the limit is {MAX_TEXT:,})")
    if not text.strip():
        raise ParseError("empty expression: expected a formula such as 'sin(x) * y'")
    if "\x00" in text:
        raise ParseError("null character in expression", text, text.index("\x00"))
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        stripped = text.strip()
        if err.offset:  # 1-based column of the offending token
            pos = _position(stripped, ast.Name(lineno=err.lineno or 1, col_offset=err.offset - 1))
        else:  # Python reports no column when the text ends too early ("x +")
            pos = len(stripped)
        pos = min(pos, len(stripped))
        if not err.offset:
            msg = "invalid syntax: the expression ends too early"
        elif err.msg == "invalid syntax":
            msg = "invalid syntax: unexpected text here"
        else:
            msg = f"invalid syntax: {err.msg}"
        raise ParseError(msg, stripped, pos) from None
    except (RecursionError, MemoryError):
        raise ParseError("expression nested too deeply for the parser") from None
    except ValueError as err:
        raise ParseError(f"invalid text: {err}") from None
    return _build(tree.body, text.strip())


def _build(root: ast.AST, text: str) -> Expr:
    """Post-order walk of the ast with an explicit stack; checks and builds each node."""
    done: dict[int, Expr] = {}
    stack: list[tuple[ast.AST, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(_children(node, text)))
            continue
        done[id(node)] = _make(node, [done[id(c)] for c in _children(node, text)], text)
    return done[id(root)]


def _children(node: ast.AST, text: str) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        _check_call(node, text)
        return list(node.args)
    if isinstance(node, ast.Constant | ast.Name):
        return []
    what = _WHAT.get(type(node), type(node).__name__.lower())
    raise ParseError(f"{what} is not allowed: expected numbers, variables, operators "
                     f"+ - * / ** @ and calls of {', '.join(FUNCTIONS)}", text,
                     _position(text, node))


def _check_call(node: ast.Call, text: str) -> None:
    pos = _position(text, node)
    if not isinstance(node.func, ast.Name):
        raise ParseError("only the grammar's functions can be called, by name", text, pos)
    name = node.func.id
    if name not in FUNCTIONS:
        raise ParseError(f"unknown function {name!r}; known: {', '.join(FUNCTIONS)}", text, pos)
    if node.keywords:
        raise ParseError(f"{name}() takes no keyword arguments", text, pos)
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise ParseError(f"{name}() takes no starred arguments", text, pos)
    want = FUNCTIONS[name]
    if len(node.args) != want:
        raise ParseError(f"{name}() takes {want} argument{'s' if want > 1 else ''}, "
                         f"got {len(node.args)}", text, pos)


def _make(node: ast.AST, kids: list[Expr], text: str) -> Expr:
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            sym = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
                   ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}.get(type(node.op), "?")
            hint = " (for a power write **)" if sym == "^" else ""
            raise ParseError(f"operator {sym} is not allowed: expected + - * / ** @{hint}",
                             text, _position(text, node))
        return BUILDERS[op](*kids)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return BUILDERS["neg"](kids[0])
        if isinstance(node.op, ast.UAdd):
            return kids[0]
        raise ParseError("unary operator not allowed: expected unary -", text,
                         _position(text, node))
    if isinstance(node, ast.Call):
        return BUILDERS[node.func.id](*kids)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParseError(f"{value!r} is not allowed: expected a real number", text,
                             _position(text, node))
        return constant(float(value))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return constant(CONSTANTS[node.id])
        if node.id in FUNCTIONS:
            raise ParseError(f"{node.id} is a function: call it as {node.id}(...)", text,
                             _position(text, node))
        return variable(node.id)
    raise AssertionError(type(node))  # _children refused every other node
