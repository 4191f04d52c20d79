"""The grammar, read: text -> IR with ``parse`` (``to_text`` in ``printer`` writes it back).

Text is parsed by Python's ``ast`` and every node is checked against an allow-list: operators
``+ - * / ** @``, unary ``-`` (and a harmless unary ``+``), numbers, the constants ``pi`` and
``e``, variable names, and calls of the grammar's functions. Nothing is ever evaluated.
The walk is iterative, never recursive.
"""

from __future__ import annotations

import ast

from . import arrays
from .arrays import BUILDERS
from .expr import Expr, constant, index, variable
from .ops import ARRAY_FUNCTIONS, CONSTANTS, FUNCTIONS

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
_COMPARE = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq",
            ast.NotEq: "ne"}
# every function of the grammar -> (least, most) positional arguments
_ARITY = {**{name: (n, n) for name, n in FUNCTIONS.items()}, **ARRAY_FUNCTIONS}
_KEYWORDS = {**{name: ("axis", "keepdims") for name in
                ("sum", "mean", "prod", "max", "min", "logsumexp")},
             "softmax": ("axis",), "log_softmax": ("axis",), "concatenate": ("axis",),
             "stack": ("axis",)}
_LIST_ARGUMENT = ("concatenate", "stack")    # f([a, b, ...], axis=k): a list of expressions
_CONSTANT_SECOND = ("reshape", "transpose")  # f(a, (2, 3)): a shape or axes
_WHAT = {  # friendly names for nodes that are refused
    ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "lambda",
    ast.BoolOp: "boolean operator", ast.IfExp: "conditional",
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
    """The sub-expressions to build before ``node`` (constants in index, axis and shape
    positions are read by ``_make``, never built)."""
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise ParseError("chained comparisons are not allowed: write (a < b) * (b < c)",
                             text, _position(text, node))
        return [node.left, node.comparators[0]]
    if isinstance(node, ast.Call):
        _check_call(node, text)
        name = node.func.id
        if name in _LIST_ARGUMENT:
            return list(node.args[0].elts)
        if name in _CONSTANT_SECOND:
            return node.args[:1]
        return list(node.args)
    if isinstance(node, ast.Subscript):
        return [node.value]
    if isinstance(node, ast.Attribute):
        if node.attr != "T":
            raise ParseError(f"attribute access is not allowed: .{node.attr} (only .T, the "
                             f"transpose)", text, _position(text, node))
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple):
        _constant(node, text, "an array constant")  # numbers only, checked here
        return []
    if isinstance(node, ast.Constant | ast.Name):
        return []
    what = _WHAT.get(type(node), type(node).__name__.lower())
    raise ParseError(f"{what} is not allowed: expected numbers, variables, operators "
                     f"+ - * / ** @, comparisons, constant indices and calls of "
                     f"{', '.join(_ARITY)}", text, _position(text, node))


def _constant(node: ast.AST, text: str, what: str, index: bool = False):
    """The value of a constant: a number, True/False, a (nested) list or tuple of them, and
    in an index also slices, None and ``...``. Anything else is a ParseError naming ``what``."""
    stack, done = [(node, False)], {}
    while stack:  # post-order, iteratively (a long list is not a deep recursion)
        item, ready = stack.pop()
        if isinstance(item, ast.List | ast.Tuple) and not ready:
            stack.append((item, True))
            stack.extend((e, False) for e in item.elts)
            continue
        done[id(item)] = _constant_leaf(item, done, text, what, index)
    return done[id(node)]


def _constant_leaf(node, done: dict, text: str, what: str, index: bool):
    if isinstance(node, ast.List):
        return [done[id(e)] for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(done[id(e)] for e in node.elts)
    if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
        if index:
            return node.value
    elif isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd) and \
            isinstance(node.operand, ast.Constant) and \
            isinstance(node.operand.value, int | float) and \
            not isinstance(node.operand.value, bool):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    elif isinstance(node, ast.Slice) and index:
        return slice(*(None if part is None else _constant(part, text, "a slice bound")
                       for part in (node.lower, node.upper, node.step)))
    elif isinstance(node, ast.Name) and node.id in CONSTANTS and not index:
        return CONSTANTS[node.id]
    if what == "an array constant":
        raise ParseError("a list here is an array constant and holds numbers only, not "
                         "expressions (concatenate([a, b]) and stack([a, b]) join arrays)",
                         text, _position(text, node))
    kinds = "integers, slices, None or ..." if index else "numbers"
    raise ParseError(f"{what} must be a constant ({kinds}), "
                     f"not an expression", text, _position(text, node))


def _check_call(node: ast.Call, text: str) -> None:
    pos = _position(text, node)
    if not isinstance(node.func, ast.Name):
        raise ParseError("only the grammar's functions can be called, by name", text, pos)
    name = node.func.id
    if name not in _ARITY:
        raise ParseError(f"unknown function {name!r}; known: {', '.join(_ARITY)}", text, pos)
    allowed = _KEYWORDS.get(name, ())
    for kw in node.keywords:
        if kw.arg not in allowed:
            takes = f"takes keywords {', '.join(allowed)}" if allowed else \
                "takes no keyword arguments"
            raise ParseError(f"{name}() {takes}; got {kw.arg or '**'}=", text,
                             _position(text, kw.value) if kw.arg else pos)
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise ParseError(f"{name}() takes no starred arguments", text, pos)
    least, most = _ARITY[name]
    if not least <= len(node.args) <= most:
        want = str(least) if least == most else f"{least} or {most}"
        raise ParseError(f"{name}() takes {want} argument{'s' if most > 1 else ''}, "
                         f"got {len(node.args)}", text, pos)
    if name in _LIST_ARGUMENT and not isinstance(node.args[0], ast.List | ast.Tuple):
        raise ParseError(f"{name}() takes a list of arrays: {name}([a, b], axis=0)", text, pos)


def _keywords(node: ast.Call, text: str) -> dict:
    return {kw.arg: _constant(kw.value, text, f"{kw.arg}=") for kw in node.keywords}


def _make(node: ast.AST, kids: list[Expr], text: str) -> Expr:
    try:
        return _make_node(node, kids, text)
    except (TypeError, ValueError) as err:  # a builder's complaint (an axis, an index ...)
        if isinstance(err, ParseError):
            raise
        raise ParseError(str(err), text, _position(text, node)) from None


def _make_node(node: ast.AST, kids: list[Expr], text: str) -> Expr:
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            sym = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
                   ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}.get(type(node.op), "?")
            hint = " (for a power write **)" if sym == "^" else ""
            raise ParseError(f"operator {sym} is not allowed: expected + - * / ** @{hint}",
                             text, _position(text, node))
        return BUILDERS[op](*kids)
    if isinstance(node, ast.Compare):
        op = _COMPARE.get(type(node.ops[0]))
        if op is None:
            raise ParseError("only the comparisons < <= > >= == != are allowed", text,
                             _position(text, node))
        return BUILDERS[op](*kids)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return BUILDERS["neg"](kids[0])
        if isinstance(node.op, ast.UAdd):
            return kids[0]
        raise ParseError("unary operator not allowed: expected unary -", text,
                         _position(text, node))
    if isinstance(node, ast.Call):
        return _call(node, kids, text)
    if isinstance(node, ast.Subscript):
        return index(kids[0], _constant(node.slice, text, "an index", index=True))
    if isinstance(node, ast.Attribute):
        return kids[0].T
    if isinstance(node, ast.List | ast.Tuple):
        return constant(_constant(node, text, "an array constant"))
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParseError(f"{value!r} is not allowed: expected a real number", text,
                             _position(text, node))
        return constant(float(value))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return constant(CONSTANTS[node.id])
        if node.id in _ARITY:
            raise ParseError(f"{node.id} is a function: call it as {node.id}(...)", text,
                             _position(text, node))
        return variable(node.id)
    raise AssertionError(type(node))  # _children refused every other node


def _call(node: ast.Call, kids: list[Expr], text: str) -> Expr:
    name, keywords = node.func.id, _keywords(node, text)
    if name in _LIST_ARGUMENT:
        return getattr(arrays, name)(kids, **keywords)
    if name in _CONSTANT_SECOND:
        second = _constant(node.args[1], text, "a shape" if name == "reshape" else "axes") \
            if len(node.args) > 1 else None
        return arrays.reshape(kids[0], second) if name == "reshape" else \
            arrays.transpose(kids[0], second)
    function = getattr(arrays, name) if hasattr(arrays, name) else BUILDERS[name]
    return function(*kids, **keywords)
