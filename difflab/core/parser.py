"""The grammar, read: text -> IR with ``parse`` (``to_text`` in ``printer`` writes it back).

Text is parsed by Python's ``ast`` and every node is checked against an allow-list: operators
``+ - * / ** @``, unary ``-`` (and a harmless unary ``+``), numbers, the constants ``pi`` and
``e``, variable names, and calls of the grammar's functions. Nothing is ever evaluated.
The walk is iterative, never recursive. Text that Python's parser cannot hold because a flat
chain of operators is too long for its recursion (``x + x + ...`` of 3,000 terms) is read by
``deep_parser``, which hands each node to the same checks (``_Builder``). A number is a
float64: a float literal beyond its range is inf, as in Python (``1e999`` is how ``to_text``
spells infinity); an integer literal beyond it (``1`` and 400 zeros) is a ParseError that
names it.
"""

from __future__ import annotations

import ast
import re

from .deep_parser import TextError, literal_too_large, read, refused
from .expr import BUILDERS, Expr, constant, variable
from .ops import CONSTANTS, FUNCTIONS
from .reals import describe

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


def _position(text: str, node: ast.AST | int) -> int:
    """0-based offset of an ast node in ``text`` (an int is an offset already)."""
    if isinstance(node, int):
        return node
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
    stripped = text.strip()
    try:
        tree = ast.parse(stripped, mode="eval").body
    except SyntaxError as err:
        raise _syntax_error(err, stripped) from None
    except (RecursionError, MemoryError):  # Python's parser recursed too deep: read it flat
        return _read_deep(stripped)
    except ValueError as err:
        raise ParseError(f"invalid text: {err}") from None
    return _build(tree, stripped)


def as_expression(value, caller: str) -> Expr:
    """``value`` as an expression: an expression as it is, grammar text parsed.

    Args:
        value: an expression or its text.
        caller: the function's name, for the message.
    Returns:
        the expression.
    Raises:
        ParseError: bad text; TypeError: neither an expression nor text.
    """
    if isinstance(value, Expr):
        return value
    if isinstance(value, str):
        return parse(value)
    raise TypeError(f"{caller}: expected an expression (or grammar text), got "
                    f"{type(value).__name__}")


_DIGITS = re.compile(r"\d[\d_]*")


def _syntax_error(err: SyntaxError, stripped: str) -> ParseError:
    """Python's SyntaxError worded for the grammar, with the position."""
    if "digits" in err.msg and "limit" in err.msg:  # an int literal beyond 4,300 digits
        longest = max(_DIGITS.finditer(stripped), key=lambda m: len(m.group()))
        return ParseError(literal_too_large(longest.group()), stripped, longest.start())
    placeholder = re.search(r"<nan>|<array \(", stripped)
    if placeholder:  # what to_text prints for what the grammar cannot say
        what = "nan" if placeholder.group() == "<nan>" else "an array constant"
        return ParseError(f"{placeholder.group()}... is how difflab prints {what}, which has "
                          f"no spelling in the grammar", stripped, placeholder.start())
    if err.offset:  # 1-based column of the offending token
        pos = _position(stripped, ast.Name(lineno=err.lineno or 1, col_offset=err.offset - 1))
    else:  # Python reports no column when the text ends too early ("x +")
        pos = len(stripped)
    pos = min(pos, len(stripped))
    if "too many nested parentheses" in err.msg:
        return ParseError("too many nested parentheses: Python's parser allows 200 levels",
                          stripped, pos)
    if not err.offset:
        msg = "invalid syntax: the expression ends too early"
    elif err.msg == "invalid syntax":
        msg = "invalid syntax: unexpected text here"
    else:
        msg = f"invalid syntax: {err.msg}"
    return ParseError(msg, stripped, pos)


def _read_deep(stripped: str) -> Expr:
    try:
        return read(stripped, _Builder(stripped))
    except TextError as err:
        raise ParseError(err.message, stripped, err.offset) from None


def _build(root: ast.AST, text: str) -> Expr:
    """Post-order walk of Python's ast with an explicit stack; ``_Builder`` checks and builds
    each node."""
    build = _Builder(text)
    done: dict[int, Expr] = {}
    stack: list[tuple[ast.AST, list | None]] = [(root, None)]
    pop, push = stack.pop, stack.append
    while stack:
        node, kids = pop()
        if kids is None:
            kids = _children(node, text)
            if kids:
                push((node, kids))
                stack.extend([(c, None) for c in reversed(kids)])
                continue
        args = [done[id(c)] for c in kids]
        cls = node.__class__
        if cls is ast.BinOp:
            done[id(node)] = build.binary(type(node.op), args[0], args[1], node)
        elif cls is ast.Name:
            done[id(node)] = build.leaf("name", node.id, node)
        elif cls is ast.Constant:
            done[id(node)] = build.leaf("const", node.value, node)
        elif cls is ast.UnaryOp:
            done[id(node)] = build.unary(type(node.op), args[0], node)
        else:  # a Call: _children checked its form
            done[id(node)] = build.call(node.func.id, args, node)
    return done[id(root)]


def _children(node: ast.AST, text: str) -> list[ast.AST]:
    if node.__class__ is ast.BinOp:  # (the most common node: tested first, exactly)
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        _check_call(text, node, name, len(node.args), bool(node.keywords),
                    any(isinstance(a, ast.Starred) for a in node.args))
        return list(node.args)
    if isinstance(node, ast.Constant | ast.Name):
        return []
    what = _WHAT.get(type(node), type(node).__name__.lower())
    raise ParseError(refused(what), text, _position(text, node))


_REFUSED_OPS = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
                ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}


class _Builder:
    """Checks one node of the grammar and builds its IR: for Python's ast (``_build``) and for
    the deep reader alike. ``where`` is an ast node or a 0-based offset, for messages; each
    variable's name becomes one leaf, shared by its uses."""

    def __init__(self, text: str):
        self.text = text
        self.names: dict[str, Expr] = {}

    def error(self, message: str, where) -> ParseError:
        return ParseError(message, self.text, _position(self.text, where))

    def leaf(self, kind: str, value, where) -> Expr:
        if kind == "name":
            if value in self.names:
                return self.names[value]
            if value in CONSTANTS:
                return constant(CONSTANTS[value])
            if value in FUNCTIONS:
                raise self.error(f"{value} is a function: call it as {value}(...)", where)
            self.names[value] = variable(value)
            return self.names[value]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"{describe(value)} is not allowed: expected a real number", where)
        try:
            return constant(float(value))
        except OverflowError:  # an int literal beyond float64 (a float literal is inf)
            pos = _position(self.text, where)
            literal = _DIGITS.match(self.text, pos)
            raise ParseError(literal_too_large(literal.group() if literal else str(value)),
                             self.text, pos) from None

    def unary(self, op: type, operand: Expr, where) -> Expr:
        if op is ast.USub:
            return BUILDERS["neg"](operand)
        if op is ast.UAdd:
            return operand
        raise self.error("unary operator not allowed: expected unary -", where)

    def binary(self, op: type, left: Expr, right: Expr, where) -> Expr:
        name = _BINOPS.get(op)
        if name is None:
            sym = _REFUSED_OPS.get(op, "?")
            hint = " (for a power write **)" if sym == "^" else ""
            raise self.error(f"operator {sym} is not allowed: expected + - * / ** @{hint}",
                             where)
        return Expr(name, (left, right))

    def start_call(self, name: str | None, where) -> None:
        _check_call(self.text, where, name, None)

    def call(self, name: str | None, args: list[Expr], where) -> Expr:
        _check_call(self.text, where, name, len(args))
        return BUILDERS[name](*args)


def _check_call(text: str, where, name: str | None, n_args: int | None,
                keywords: bool = False, starred: bool = False) -> None:
    """A call of one of the grammar's functions, by name, with its number of arguments (not
    checked when None: the deep reader checks the name before it reads the arguments)."""
    def error(message: str) -> ParseError:  # (the position is found only when needed)
        return ParseError(message, text, _position(text, where))

    if name is None:
        raise error("only the grammar's functions can be called, by name")
    if name not in FUNCTIONS:
        raise error(f"unknown function {name!r}; known: {', '.join(FUNCTIONS)}")
    if keywords:
        raise error(f"{name}() takes no keyword arguments")
    if starred:
        raise error(f"{name}() takes no starred arguments")
    want = FUNCTIONS[name]
    if n_args is not None and n_args != want:
        raise error(f"{name}() takes {want} argument{'s' if want > 1 else ''}, got {n_args}")
