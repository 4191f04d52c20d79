"""The grammar, read: text -> IR with ``parse`` (``to_text`` in ``printer`` writes it back).

Text is parsed by Python's ``ast`` and every node is checked against an allow-list: operators
``+ - * / ** @``, unary ``-`` (and a harmless unary ``+``), comparisons ``< <= > >= == !=``,
numbers, the constants ``pi`` and ``e``, variable names, constant indices ``x[0, 1:3]``,
``.T``, lists of numbers (array constants) and calls of the grammar's functions with their
keywords (``axis=``, ``keepdims=``). Nothing is ever evaluated. The walk is iterative, never
recursive. Text that Python's parser cannot hold because a flat chain of operators is too
long for its recursion (``x + x + ...`` of 3,000 terms) is read by ``deep_parser``, which
hands each node to the same checks (``_Builder``). A number is a
float64: a float literal beyond its range is inf, as in Python (``1e999`` is how ``to_text``
spells infinity); an integer literal beyond it (``1`` and 400 zeros) is a ParseError that
names it.
"""

from __future__ import annotations

import ast

from . import arrays
from .arrays import BUILDERS
from .deep_parser import Constant, Seq, read
from .expr import Expr, constant, index, variable
from .lexer import TextError, literal_too_large, refused, tokens
from .ops import ARRAY_FUNCTIONS, CONSTANTS, FUNCTIONS
from .parse_error import DIGITS, ParseError, syntax_error
from .parse_error import position as _position
from .reals import describe

MAX_TEXT = 1_000_000  # characters; longer text is refused before parsing


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
_REFUSED_OPS = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
                ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}


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
        raise syntax_error(err, stripped) from None
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


def _read_deep(stripped: str) -> Expr:
    try:
        return read(stripped, _Builder(stripped))
    except TextError as err:
        raise ParseError(err.message, stripped, err.offset) from None


def _build(root: ast.AST, text: str) -> Expr:
    """Post-order walk of Python's ast with an explicit stack; ``_Builder`` checks and builds
    each node (constants in index, axis and shape positions are read, never built)."""
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
            made = build.binary(type(node.op), args[0], args[1], node)
        elif cls is ast.Name:
            made = build.leaf("name", node.id, node)
        elif cls is ast.Constant:
            made = build.leaf("const", node.value, node)
        elif cls is ast.UnaryOp:
            made = build.unary(type(node.op), args[0], node)
        elif cls is ast.Compare:
            made = build.binary(type(node.ops[0]), args[0], args[1], node)
        elif cls is ast.Subscript:
            made = build.subscript(args[0], _constant(node.slice, text, "an index", True), node)
        elif cls is ast.Attribute:
            made = build.attribute(args[0], node.attr, node)
        elif cls is ast.List or cls is ast.Tuple:
            made = build.array(_constant(node, text, "an array constant"), node)
        else:  # a Call: _children checked its form
            name = node.func.id
            second = _constant(node.args[1], text, "a shape" if name == "reshape" else "axes") \
                if name in _CONSTANT_SECOND and len(node.args) > 1 else None
            keywords = {kw.arg: _constant(kw.value, text, f"{kw.arg}=") for kw in node.keywords}
            made = build.apply(name, args, keywords, second, node)
        done[id(node)] = made
    return done[id(root)]


def _children(node: ast.AST, text: str) -> list[ast.AST]:
    """The sub-expressions to build before ``node`` (constants in index, axis and shape
    positions are read by ``_build``, never built)."""
    if node.__class__ is ast.BinOp:  # (the most common node: tested first, exactly)
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise ParseError("chained comparisons are not allowed: write (a < b) * (b < c)",
                             text, _position(text, node))
        return [node.left, node.comparators[0]]
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        first = node.args[0] if node.args else None
        _check_call(text, node, name, len(node.args),
                    [(kw.arg, kw.value if kw.arg else node) for kw in node.keywords],
                    any(isinstance(a, ast.Starred) for a in node.args),
                    isinstance(first, ast.List | ast.Tuple))
        if name in _LIST_ARGUMENT:
            return list(first.elts)
        if name in _CONSTANT_SECOND:
            return node.args[:1]
        return list(node.args)
    if isinstance(node, ast.Attribute):
        _check_attribute(text, node.attr, node)  # before its value: sin.__globals__
        return [node.value]
    if isinstance(node, ast.Subscript):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple):
        _constant(node, text, "an array constant")  # numbers only, checked here
        return []
    if isinstance(node, ast.Constant | ast.Name):
        return []
    what = _WHAT.get(type(node), type(node).__name__.lower())
    raise ParseError(refused(what), text, _position(text, node))


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


def _check_attribute(text: str, name: str, where) -> None:
    if name != "T":
        raise ParseError(f"attribute access is not allowed: .{name} (only .T, the transpose)",
                         text, _position(text, where))


def _check_call(text: str, where, name: str | None, n_args: int | None,
                keywords: list = (), starred: bool = False, listed: bool = True) -> None:
    """A call of one of the grammar's functions, by name, with its keywords ((name, where)
    pairs) and its number of positional arguments (not checked when None: the deep reader
    checks the name before it reads the arguments); ``listed``: the first is a list."""
    def error(message: str, at=where) -> ParseError:  # (the position is found only if needed)
        return ParseError(message, text, _position(text, at))

    if name is None:
        raise error("only the grammar's functions can be called, by name")
    if name not in _ARITY:
        raise error(f"unknown function {name!r}; known: {', '.join(_ARITY)}")
    allowed, seen = _KEYWORDS.get(name, ()), set()
    for arg, at in keywords:
        if arg is not None and arg in seen:  # (Python's compiler refuses it; its parser not)
            raise error(f"{name}() got the keyword argument {arg}= twice", at)
        seen.add(arg)
        if arg not in allowed:
            takes = f"takes keywords {', '.join(allowed)}" if allowed else \
                "takes no keyword arguments"
            raise error(f"{name}() {takes}; got {arg or '**'}=", at)
    if starred:
        raise error(f"{name}() takes no starred arguments")
    if n_args is None:
        return
    least, most = _ARITY[name]
    if not least <= n_args <= most:
        want = str(least) if least == most else f"{least} or {most}"
        raise error(f"{name}() takes {want} argument{'s' if most > 1 else ''}, got {n_args}")
    if name in _LIST_ARGUMENT and not listed:
        raise error(f"{name}() takes a list of arrays: {name}([a, b], axis=0)")


class _Builder:
    """Checks one node of the grammar and builds its IR: for Python's ast (``_build``) and for
    the deep reader alike. ``where`` is an ast node or a 0-based offset, for messages; each
    variable's name becomes one leaf, shared by its uses."""

    def __init__(self, text: str):
        self.text = text
        self.names: dict[str, Expr] = {}

    def error(self, message: str, where) -> ParseError:
        return ParseError(message, self.text, _position(self.text, where))

    def guard(self, where, function, *args, **keywords) -> Expr:
        """``function(*args)``, a builder's complaint (an axis, an index ...) a ParseError."""
        try:
            return function(*args, **keywords)
        except (TypeError, ValueError) as err:
            if isinstance(err, ParseError):
                raise
            raise self.error(str(err), where) from None

    def leaf(self, kind: str, value, where) -> Expr:
        if kind == "name":
            if value in self.names:
                return self.names[value]
            if value in CONSTANTS:
                return constant(CONSTANTS[value])
            if value in _ARITY:
                raise self.error(f"{value} is a function: call it as {value}(...)", where)
            self.names[value] = variable(value)
            return self.names[value]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"{describe(value)} is not allowed: expected a real number", where)
        try:
            return constant(float(value))
        except OverflowError:  # an int literal beyond float64 (a float literal is inf)
            pos = _position(self.text, where)
            literal = DIGITS.match(self.text, pos)
            raise ParseError(literal_too_large(literal.group() if literal else str(value)),
                             self.text, pos) from None

    def unary(self, op: type, operand: Expr, where) -> Expr:
        if op is ast.USub:
            return BUILDERS["neg"](operand)
        if op is ast.UAdd:
            return operand
        raise self.error("unary operator not allowed: expected unary -", where)

    def binary(self, op: type, left: Expr, right: Expr, where) -> Expr:
        name = _BINOPS.get(op) or _COMPARE.get(op)
        if name is not None:
            return Expr(name, (left, right))
        if op in (ast.Is, ast.IsNot, ast.In, ast.NotIn):
            raise self.error("only the comparisons < <= > >= == != are allowed", where)
        sym = _REFUSED_OPS.get(op, "?")
        hint = " (for a power write **)" if sym == "^" else ""
        raise self.error(f"operator {sym} is not allowed: expected + - * / ** @{hint}", where)

    def attribute(self, operand: Expr, name: str, where) -> Expr:
        _check_attribute(self.text, name, where)
        return self.guard(where, lambda: operand.T)

    def subscript(self, operand: Expr, key, where) -> Expr:
        return self.guard(where, index, operand, key)

    def array(self, value, where) -> Expr:
        return self.guard(where, constant, value)

    def constant(self, start: int, end: int, what: str, index: bool = False):
        """The constant spelled by ``text[start:end]`` (an index ``[...]`` when ``index``),
        read by Python's ``ast`` (for the deep reader: a constant is short and flat)."""
        piece = self.text[start:end]
        if next(tokens(piece), None) is None:  # axis=) : nothing where a value must be
            raise self.error(f"invalid syntax: {what} needs a value", start)
        sub = ("_" if index else "(") + piece + ("" if index else ")")
        try:
            tree = ast.parse(sub, mode="eval").body
            return _constant(tree.slice if index else tree, sub, what, index)
        except SyntaxError as err:
            raise self._moved(syntax_error(err, sub), start - 1) from None
        except ParseError as err:
            raise self._moved(err, start - 1) from None
        except (RecursionError, MemoryError):
            raise self.error(f"{what} is nested too deeply for the parser", start) from None

    def _moved(self, err: ParseError, base: int) -> ParseError:
        """An error about a piece of the text, placed in the whole text."""
        at = base + 1 if err.position is None else max(base + 1, base + err.position)
        return ParseError(err.message, self.text, min(at, len(self.text)))

    def start_call(self, name: str | None, where) -> None:
        _check_call(self.text, where, name, None)

    def argument(self, name: str, position: int) -> str:
        """What argument ``position`` of ``name`` is: an expression, a constant or a list."""
        if name in _LIST_ARGUMENT and position == 0:
            return "list"
        return "constant" if name in _CONSTANT_SECOND and position == 1 else "expression"

    def call(self, name: str | None, args: list, keywords: list, where) -> Expr:
        """A call read by the deep reader: ``args`` hold expressions, a ``Seq`` (the list of
        concatenate) and ``Constant``s; ``keywords`` (name, value, offset of the value)."""
        _check_call(self.text, where, name, len(args), [(k, at) for k, _, at in keywords],
                    listed=bool(args) and isinstance(args[0], Seq))
        kids = args[0].items if name in _LIST_ARGUMENT else \
            [a for a in args if not isinstance(a, Constant)]
        second = args[1].value if len(args) > 1 and isinstance(args[1], Constant) else None
        return self.apply(name, kids, {k: v for k, v, _ in keywords}, second, where)

    def apply(self, name: str, kids: list, keywords: dict, second, where) -> Expr:
        """The function ``name`` applied: ``kids`` are its expressions (the list's items for
        concatenate and stack), ``second`` the shape or axes of reshape and transpose."""
        if name in _LIST_ARGUMENT:
            return self.guard(where, getattr(arrays, name), kids, **keywords)
        if name == "reshape":
            return self.guard(where, arrays.reshape, kids[0], second)
        if name == "transpose":
            return self.guard(where, arrays.transpose, kids[0], second)
        function = getattr(arrays, name) if hasattr(arrays, name) else BUILDERS[name]
        return self.guard(where, function, *kids, **keywords)
