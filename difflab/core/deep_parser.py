"""Grammar text too long for Python's parser, read without recursion.

Python builds the ``ast`` of ``x + x + ... + x`` recursively, so a flat sum of a few thousand
terms (12 kB of text) overflows its stack although nothing in it is nested. ``parse`` in
``parser`` asks Python first (its messages for malformed text are the best) and comes here only
when Python gives up on depth. This module tokenizes the text with one regular expression and
reads it with Python's operator precedence (shunting-yard, explicit stacks), handing each node
bottom-up to a ``Builder`` — the one ``parser`` uses for Python's ``ast`` too, so both readers
check and build every node alike. Python's precedence, lowest first::

    |    ^    &    << >>    + -    * / // % @    unary - + ~    ** (right-associative;
                                                                 its right side may be unary)

Chains of left-associative binary operators may be as long as the text limit allows. Nesting
— parentheses and calls (Python allows 200 levels), unary operators and ``**`` chains —
stays limited (``MAX_NESTING``), as in Python. Operators are named by their ``ast`` classes
(``ast.Add``). Text outside the grammar raises ``TextError`` with its message and position.
"""

from __future__ import annotations

import ast
import keyword
import re
import unicodedata
from typing import Protocol

from .ops import FUNCTIONS
from .reals import FLOAT_MAX

MAX_PARENS = 200     # Python's tokenizer refuses deeper parentheses
MAX_NESTING = 1000   # unary operators and ** chains, pending at once

_TOKEN = re.compile(r"""
    (?:[ \t\f\r\n]|\\\r?\n|\#[^\n]*)*              # space, line continuations, comments
    (?:(?P<number>(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+
                   |(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)(?![\w.]))
     | (?P<name>[^\W\d]\w*)
     | (?P<op>\*\*|//|<<|>>|<=|>=|==|!=|:=|->|\.\.\.|[-+*/%@&|^~()<>,.\[\]{}:=;!])
     | (?P<string>["'])
     | (?P<end>\Z)
     | (?P<other>.))
""", re.VERBOSE | re.DOTALL)

_BINARY = {  # token -> (precedence, ast operator class)
    "|": (1, ast.BitOr), "^": (2, ast.BitXor), "&": (3, ast.BitAnd),
    "<<": (4, ast.LShift), ">>": (4, ast.RShift), "+": (5, ast.Add), "-": (5, ast.Sub),
    "*": (6, ast.Mult), "/": (6, ast.Div), "//": (6, ast.FloorDiv), "%": (6, ast.Mod),
    "@": (6, ast.MatMult), "**": (8, ast.Pow),
}
_UNARY = {"-": ast.USub, "+": ast.UAdd, "~": ast.Invert}
_UNARY_PREC = 7
_REFUSED = {  # what a token outside the grammar starts, as parser's messages name it
    ".": "attribute access", "[": "indexing", "{": "dict", "<": "comparison", ">": "comparison",
    "<=": "comparison", ">=": "comparison", "==": "comparison", "!=": "comparison",
    "is": "comparison", "in": "comparison", "not": "unary operator", "and": "boolean operator",
    "or": "boolean operator", "if": "conditional", "else": "conditional", "lambda": "lambda",
    "for": "comprehension", ":=": "assignment expression", "await": "await",
    "yield": "yield", "...": "Ellipsis",
}
_KEYWORD_CONSTANTS = {"True": True, "False": False, "None": None}


class TextError(Exception):
    """Text the deep reader cannot read: the ``message`` to show, at ``offset`` (0-based)."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message, self.offset = message, offset


def refused(what: str) -> str:
    """The message for a construct outside the grammar (``parser`` says it the same way)."""
    return (f"{what} is not allowed: expected numbers, variables, operators + - * / ** @ and "
            f"calls of {', '.join(FUNCTIONS)}")


def literal_too_large(lexeme: str) -> str:
    """The message for an integer literal beyond float64 (``1`` and 400 zeros)."""
    digits = sum(c.isdigit() for c in lexeme)
    head = lexeme if len(lexeme) <= 12 else f"{lexeme[:6]}...{lexeme[-3:]}"
    return f"the integer {head} ({digits:,} digits) is too large for float64 ({FLOAT_MAX})"


class Builder(Protocol):
    """What the reader hands each node to (``parser`` checks and builds it); ``op`` is the
    ``ast`` operator class, ``offset`` where the node starts in the text."""

    def leaf(self, kind: str, value, offset: int): ...
    def unary(self, op: type, operand, offset: int): ...
    def binary(self, op: type, left, right, offset: int): ...
    def start_call(self, name: str | None, offset: int) -> None: ...  # before the arguments
    def call(self, name: str | None, args: list, offset: int): ...


def _leaf(kind: str, lexeme: str) -> tuple[str, object]:
    """What a number or a name token stands for: ("const", value) or ("name", identifier).
    A number is read as Python reads it (a short text: ``ast`` is safe and exact here).
    Raises TextError (its offset is the caller's to give)."""
    if kind == "number":
        try:
            return "const", ast.parse(lexeme, mode="eval").body.value
        except SyntaxError as err:  # 1__0, or an int beyond Python's 4,300 digits
            too_long = "limit" in err.msg and lexeme.replace("_", "").isdigit()
            raise TextError(literal_too_large(lexeme) if too_long else
                            f"invalid syntax: invalid number {lexeme[:20]!r}", 0) from None
    if lexeme in _KEYWORD_CONSTANTS:
        return "const", _KEYWORD_CONSTANTS[lexeme]
    if keyword.iskeyword(lexeme):
        raise TextError(refused(_REFUSED.get(lexeme, f"the keyword {lexeme!r}")), 0)
    name = lexeme if lexeme.isascii() else unicodedata.normalize("NFKC", lexeme)  # as Python
    if not name.isidentifier():
        raise TextError("invalid syntax: unexpected text here", 0)
    return "name", name


def tokens(text: str):
    """(kind, lexeme, offset) for each token of ``text``: number, name or op."""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "end":
            return
        offset = match.start(kind)
        if kind == "string":
            raise TextError(refused("a string"), offset)
        if kind == "other":
            raise TextError("invalid syntax: unexpected text here", offset)
        yield kind, match.group(kind), offset


def read(text: str, build: Builder):
    """Read ``text`` as Python's parser would, handing each node to ``build`` bottom-up.

    Args:
        text: grammar text (stripped).
        build: makes (and checks) each node: see ``Builder``.
    Returns:
        what ``build`` made of the whole text.
    Raises:
        TextError: a token outside the grammar, or text that is not an expression (and
            whatever ``build`` raises for a node it refuses).
    """
    operands: list[tuple[object, int]] = []  # (what build made, where it starts)
    # entries: ("bin", prec, op class, offset), ("un", op class, offset), ("group", offset),
    # ("call", name or None, [arguments], offset)
    stack: list[tuple] = []
    leaves: dict[str, tuple] = {}  # lexeme -> what it stands for (read once)
    parens = nesting = 0
    want_operand = True
    stream = tokens(text)
    ahead = next(stream, None)  # one token of lookahead: is a name called?
    while ahead is not None:
        kind, lexeme, offset = ahead
        ahead = next(stream, None)
        if want_operand:
            if kind == "number" or kind == "name":
                meaning = leaves.get(lexeme)
                if meaning is None:
                    try:
                        meaning = leaves[lexeme] = _leaf(kind, lexeme)
                    except TextError as err:
                        raise TextError(err.message, offset) from None
                what, value = meaning
                if kind == "name" and ahead is not None and ahead[1] == "(":  # name(...)
                    parens += 1
                    if parens > MAX_PARENS:
                        raise TextError(_TOO_MANY_PARENS, ahead[2])
                    name = value if what == "name" else None
                    build.start_call(name, offset)
                    stack.append(("call", name, [], offset))
                    ahead = next(stream, None)
                    continue
                operands.append((build.leaf(what, value, offset), offset))
                want_operand = False
            elif lexeme in _UNARY:
                nesting += 1
                if nesting > MAX_NESTING:
                    raise TextError(_TOO_DEEP, offset)
                stack.append(("un", _UNARY[lexeme], offset))
            elif lexeme == "(":
                parens += 1
                if parens > MAX_PARENS:
                    raise TextError(_TOO_MANY_PARENS, offset)
                stack.append(("group", offset))
            elif lexeme == ")" and stack and stack[-1][0] == "call":  # f() or f(a, b,)
                parens -= 1
                _, name, args, start = stack.pop()
                operands.append((build.call(name, args, start), start))
                want_operand = False
            elif lexeme == ")" and stack and stack[-1][0] == "group":
                raise TextError(refused("tuple"), stack[-1][1])  # ()
            elif lexeme in ("[", "{"):
                raise TextError(refused("list" if lexeme == "[" else "dict"), offset)
            elif lexeme == "*":
                raise TextError(refused("starred argument"), offset)
            elif lexeme in _REFUSED:
                raise TextError(refused(_REFUSED[lexeme]), offset)
            else:
                raise TextError("invalid syntax: unexpected text here", offset)
        elif lexeme in _BINARY:
            prec, op = _BINARY[lexeme]
            right_assoc = lexeme == "**"
            while stack and stack[-1][0] in ("bin", "un"):
                top = stack[-1]
                top_prec = top[1] if top[0] == "bin" else _UNARY_PREC
                if top_prec < prec or (top_prec == prec and right_assoc):
                    break
                nesting -= _reduce(stack.pop(), operands, build)
            if right_assoc:
                nesting += 1
                if nesting > MAX_NESTING:
                    raise TextError(_TOO_DEEP, offset)
            stack.append(("bin", prec, op, offset))
            want_operand = True
        elif lexeme == "(":  # a call of something that is not a name: build.call refuses it
            parens += 1
            if parens > MAX_PARENS:
                raise TextError(_TOO_MANY_PARENS, offset)
            start = operands.pop()[1]
            build.start_call(None, start)
            stack.append(("call", None, [], start))
            want_operand = True
        elif lexeme in (")", ","):
            nesting -= _reduce_to_group(stack, operands, build)
            if not stack:
                raise TextError(refused("tuple") if lexeme == "," else
                                "invalid syntax: unexpected text here", offset)
            top = stack[-1]
            if top[0] == "group":
                if lexeme == ",":
                    raise TextError(refused("tuple"), top[1])
                stack.pop()
                parens -= 1
            else:
                top[2].append(operands.pop()[0])
                if lexeme == ")":
                    stack.pop()
                    parens -= 1
                    operands.append((build.call(top[1], top[2], top[3]), top[3]))
                else:
                    want_operand = True
        elif lexeme == "=" and stack and stack[-1][0] == "call":
            raise TextError(refused("keyword argument"), offset)
        elif lexeme in (".", "["):  # Python places these nodes at their primary's start
            raise TextError(refused(_REFUSED[lexeme]), operands[-1][1])
        elif lexeme in _REFUSED or lexeme == "{":
            raise TextError(refused(_REFUSED.get(lexeme, "dict")), offset)
        else:
            raise TextError("invalid syntax: unexpected text here", offset)
    if want_operand:
        raise TextError("invalid syntax: the expression ends too early", len(text))
    _reduce_to_group(stack, operands, build)
    if stack:
        raise TextError("invalid syntax: '(' was never closed", stack[-1][-1])
    ((root, _),) = operands
    return root


_TOO_DEEP = "expression nested too deeply for the parser"
_TOO_MANY_PARENS = f"too many nested parentheses: Python's parser allows {MAX_PARENS} levels"


def _reduce(entry: tuple, operands: list, build: Builder) -> int:
    """Apply one operator to its operands; returns how much nesting it closes."""
    if entry[0] == "un":
        operand, _ = operands.pop()
        operands.append((build.unary(entry[1], operand, entry[2]), entry[2]))
        return 1
    right, _ = operands.pop()
    left, start = operands.pop()
    operands.append((build.binary(entry[2], left, right, start), start))
    return 1 if entry[2] is ast.Pow else 0


def _reduce_to_group(stack: list, operands: list, build: Builder) -> int:
    """Apply every pending operator down to the innermost parenthesis or call."""
    closed = 0
    while stack and stack[-1][0] in ("bin", "un"):
        closed += _reduce(stack.pop(), operands, build)
    return closed
