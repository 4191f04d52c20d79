"""Grammar text too long for Python's parser, read without recursion.

Python builds the ``ast`` of ``x + x + ... + x`` recursively, so a flat sum of a few thousand
terms (12 kB of text) overflows its stack although nothing in it is nested. ``parse`` in
``parser`` asks Python first (its messages for malformed text are the best) and comes here only
when Python gives up on depth. This module tokenizes the text with one regular expression and
reads it with Python's operator precedence (shunting-yard, explicit stacks), handing each node
bottom-up to a ``Builder`` — the one ``parser`` uses for Python's ``ast`` too, so both readers
check and build every node alike. Python's precedence, lowest first::

    < <= > >= == != (never chained)    |    ^    &    << >>    + -    * / // % @
    unary - + ~    ** (right-associative; its right side may be unary)    x[...]  x.T  f(...)

The array grammar is read too. A constant — an index ``x[1:3, 0]``, a keyword's value
``axis=(0, 1)``, the shape of ``reshape(a, (2, 3))``, a list or tuple of numbers — is found by
its brackets (matched in a first pass) and its text is handed to the builder, which reads it
with Python's ``ast`` (a constant is short and flat); the list of ``concatenate([a, b])`` and
``stack((a, b))`` holds expressions and is read here (a ``Seq``).

Chains of left-associative binary operators may be as long as the text limit allows. Nesting
— brackets and calls (Python allows 200 levels), unary operators and ``**`` chains — stays
limited (``MAX_NESTING``), as in Python. Operators are named by their ``ast`` classes
(``ast.Add``). Text outside the grammar raises ``TextError`` with its message and position.
"""

from __future__ import annotations

import ast
import bisect
import keyword
import unicodedata
from typing import Protocol

from .lexer import (
    KEYWORD_ARGUMENT,
    REFUSED,
    TextError,
    brackets,
    meaning,
    refused,
    tokens,
)

MAX_NESTING = 1000   # unary operators and ** chains, pending at once

_COMPARE = 0  # the comparisons' precedence: the lowest, and they never chain
_BINARY = {  # token -> (precedence, ast operator class)
    "<": (_COMPARE, ast.Lt), "<=": (_COMPARE, ast.LtE), ">": (_COMPARE, ast.Gt),
    ">=": (_COMPARE, ast.GtE), "==": (_COMPARE, ast.Eq), "!=": (_COMPARE, ast.NotEq),
    "|": (1, ast.BitOr), "^": (2, ast.BitXor), "&": (3, ast.BitAnd),
    "<<": (4, ast.LShift), ">>": (4, ast.RShift), "+": (5, ast.Add), "-": (5, ast.Sub),
    "*": (6, ast.Mult), "/": (6, ast.Div), "//": (6, ast.FloorDiv), "%": (6, ast.Mod),
    "@": (6, ast.MatMult), "**": (8, ast.Pow),
}
_UNARY = {"-": ast.USub, "+": ast.UAdd, "~": ast.Invert}
_UNARY_PREC = 7


class Seq:
    """The list (or tuple) of expressions that is the first argument of ``name`` (concatenate,
    stack), starting at ``offset``."""

    def __init__(self, name: str, offset: int):
        self.name, self.offset, self.items = name, offset, []


class Builder(Protocol):
    """What the reader hands each node to (``parser`` checks and builds it); ``op`` is the
    ``ast`` operator class, ``offset`` where the node starts in the text. A constant is given
    as the span ``text[start:end]`` of its text."""

    def leaf(self, kind: str, value, offset: int): ...
    def unary(self, op: type, operand, offset: int): ...
    def binary(self, op: type, left, right, offset: int): ...
    def attribute(self, operand, name: str, offset: int): ...
    def subscript(self, operand, key, offset: int): ...
    def array(self, value, offset: int): ...
    def constant(self, start: int, end: int, what: str, index: bool = False): ...
    def start_call(self, name: str | None, offset: int) -> None: ...  # before the arguments
    def argument(self, name: str, position: int) -> str: ...  # expression, constant or list
    def call(self, name: str | None, args: list, keywords: list, offset: int): ...


class _Call:
    """A call being read: its arguments so far (expressions, a ``Seq``, ``Constant``s)."""

    __slots__ = ("name", "offset", "paren", "args", "keywords")

    def __init__(self, name, offset: int, paren: int):
        self.name, self.offset, self.paren = name, offset, paren  # paren: where "(" is
        self.args: list = []
        self.keywords: list = []  # (name, value, offset of the value)


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
    return _Reader(text, build).run()


class _Reader:
    """The shunting-yard state: ``operands`` (what build made, where it starts) and ``stack``
    of pending ("bin", prec, op class, offset), ("un", op class, offset), ("group", offset)
    entries, ``_Call`` frames and ``Seq`` lists."""

    def __init__(self, text: str, build: Builder):
        self.text, self.build = text, build
        self.close, self.commas = brackets(text)
        self.operands: list[tuple[object, int]] = []
        self.stack: list = []
        self.leaves: dict[str, tuple] = {}  # lexeme -> what it stands for (read once)
        self.nesting = 0
        self.list_slot: str | None = None  # a call's name: the next ( or [ opens its list
        self.restart(0)

    def restart(self, offset: int) -> None:
        self.stream = tokens(self.text, offset)
        self.ahead = next(self.stream, None)  # one token of lookahead

    def take(self):
        token, self.ahead = self.ahead, next(self.stream, None)
        return token

    def run(self):
        want_operand = True
        while self.ahead is not None:
            kind, lexeme, offset = self.take()
            slot, self.list_slot = self.list_slot, None
            want_operand = self.operand(kind, lexeme, offset, slot) if want_operand else \
                self.operator(kind, lexeme, offset)
        if want_operand:
            raise TextError("invalid syntax: the expression ends too early", len(self.text))
        self.reduce_to_group()
        if self.stack:  # (the first pass found every bracket closed)
            raise TextError("invalid syntax: unexpected text here", len(self.text))
        ((root, _),) = self.operands
        return _expression(root)

    def operand(self, kind: str, lexeme: str, offset: int, slot) -> bool:
        """One token where an operand starts; returns whether an operand is still wanted."""
        stack, build = self.stack, self.build
        top = stack[-1] if stack else None
        if kind == "number" or kind == "name":
            known = self.leaves.get(lexeme)
            if known is None:
                try:
                    known = self.leaves[lexeme] = meaning(kind, lexeme)
                except TextError as err:
                    raise TextError(err.message, offset) from None
            what, value = known
            if kind == "name" and self.ahead is not None and self.ahead[1] == "(":  # name(...)
                name = value if what == "name" else None
                build.start_call(name, offset)
                frame = _Call(name, offset, self.take()[2])
                stack.append(frame)
                return self.arguments(frame)
            self.operands.append((build.leaf(what, value, offset), offset))
            return False
        if lexeme in _UNARY:
            self.deeper(offset)
            stack.append(("un", _UNARY[lexeme], offset))
        elif lexeme == "(" or lexeme == "[":
            end = self.close[offset]
            tuple_like = lexeme == "[" or offset in self.commas or \
                (self.ahead is not None and self.ahead[2] == end)  # [...], (a, b), ()
            if slot is not None and tuple_like:  # concatenate([a, b]): expressions
                stack.append(Seq(slot, offset))
            elif tuple_like:  # a list or tuple of numbers: an array constant
                value = build.constant(offset, end + 1, "an array constant")
                self.operands.append((build.array(value, offset), offset))
                self.restart(end + 1)
                return False
            else:
                stack.append(("group", offset))
                self.list_slot = slot  # concatenate(([a, b])) is concatenate([a, b])
        elif lexeme == ")" and top.__class__ is _Call:  # f() or f(a, b,)
            return self.end_call()
        elif (lexeme == ")" or lexeme == "]") and top.__class__ is Seq:  # [] or [a, b,]
            self.operands.append((stack.pop(), top.offset))
            return False
        elif lexeme == "*":
            raise TextError(refused("starred argument"), offset)
        elif lexeme in REFUSED:
            raise TextError(refused(REFUSED[lexeme]), offset)
        else:
            raise TextError("invalid syntax: unexpected text here", offset)
        return True

    def operator(self, kind: str, lexeme: str, offset: int) -> bool:
        """One token after an operand; returns whether an operand is wanted next."""
        stack, operands, build = self.stack, self.operands, self.build
        if lexeme in _BINARY and kind == "op":
            prec, op = _BINARY[lexeme]
            right_assoc = lexeme == "**"
            while stack and stack[-1].__class__ is tuple and stack[-1][0] in ("bin", "un"):
                top = stack[-1]
                top_prec = top[1] if top[0] == "bin" else _UNARY_PREC
                if top_prec < prec or (top_prec == prec and right_assoc):
                    break
                if top_prec == _COMPARE:  # a < b < c: Python reads one chained comparison
                    raise TextError("chained comparisons are not allowed: write (a < b) * "
                                    "(b < c)", operands[-2][1])
                self.nesting -= self.reduce(stack.pop())
            if right_assoc:
                self.deeper(offset)
            stack.append(("bin", prec, op, offset))
            return True
        if lexeme == "[" and kind == "op":  # x[key]: the key is a constant
            value, start = operands.pop()
            end = self.close[offset]
            key = build.constant(offset, end + 1, "an index", index=True)
            operands.append((build.subscript(_expression(value), key, start), start))
            self.restart(end + 1)
        elif lexeme == "." and kind == "op":  # x.T
            if self.ahead is None or self.ahead[0] != "name":
                raise TextError("invalid syntax: unexpected text here", offset)
            value, start = operands.pop()
            attr = self.take()[1]
            operands.append((build.attribute(_expression(value), attr, start), start))
        elif lexeme == "(" and kind == "op":  # a call of what is not a name: refused
            build.start_call(None, operands[-1][1])
        elif lexeme in (")", ",", "]") and kind == "op":
            self.nesting -= self.reduce_to_group()
            top = stack[-1] if stack else None
            if top is None:
                raise TextError("invalid syntax: unexpected text here", offset)
            item, _ = operands.pop()
            if top.__class__ is tuple:  # a group: (a + b)
                if lexeme != ")":
                    raise TextError("invalid syntax: unexpected text here", offset)
                stack.pop()
                operands.append((item, top[1]))
            elif top.__class__ is Seq:
                top.items.append(_expression(item))
                if lexeme == ",":
                    return True
                operands.append((stack.pop(), top.offset))
            else:
                top.args.append(item)
                return self.arguments(top) if lexeme == "," else self.end_call()
        elif lexeme in REFUSED or lexeme == "{":
            raise TextError(refused(REFUSED.get(lexeme, "dict")), offset)
        else:
            raise TextError("invalid syntax: unexpected text here", offset)
        return False

    def arguments(self, frame: _Call) -> bool:
        """At the start of a call's argument: read the constants (keywords, a shape) here, up
        to the next comma of the call; returns whether an operand is wanted next."""
        while self.ahead is not None and self.ahead[1] != ")":
            kind, lexeme, offset = self.ahead
            keyword_arg = kind == "name" and not keyword.iskeyword(lexeme) and \
                KEYWORD_ARGUMENT.match(self.text, offset + len(lexeme))
            if keyword_arg:
                lexeme = unicodedata.normalize("NFKC", lexeme)  # (as Python reads names)
                start = keyword_arg.end()
                what = f"{lexeme}="
            elif frame.keywords:
                raise TextError("invalid syntax: positional argument follows keyword "
                                "argument", offset)
            else:
                kind = self.build.argument(frame.name, len(frame.args))
                if kind == "list":
                    self.list_slot = frame.name
                if kind != "constant":
                    return True  # an expression: the reader reads it
                start, what = offset, "a shape" if frame.name == "reshape" else "axes"
            commas = self.commas.get(frame.paren, ())
            k = bisect.bisect_left(commas, start)
            end = commas[k] if k < len(commas) else self.close[frame.paren]
            value = self.build.constant(start, end, what)
            if keyword_arg:
                frame.keywords.append((lexeme, value, start))
            else:
                frame.args.append(Constant(value, start))
            self.restart(end)
            if self.take()[1] == ")":
                return self.end_call()
        return True  # ")" (or the end of the text) comes next: the loop ends the call

    def end_call(self) -> bool:
        frame = self.stack.pop()
        self.operands.append((self.build.call(frame.name, frame.args, frame.keywords,
                                              frame.offset), frame.offset))
        return False

    def deeper(self, offset: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise TextError(_TOO_DEEP, offset)

    def reduce(self, entry: tuple) -> int:
        """Apply one operator to its operands; returns how much nesting it closes."""
        operands = self.operands
        if entry[0] == "un":
            operand, _ = operands.pop()
            operands.append((self.build.unary(entry[1], _expression(operand), entry[2]),
                             entry[2]))
            return 1
        right, _ = operands.pop()
        left, start = operands.pop()
        operands.append((self.build.binary(entry[2], _expression(left), _expression(right),
                                           start), start))
        return 1 if entry[2] is ast.Pow else 0

    def reduce_to_group(self) -> int:
        """Apply every pending operator down to the innermost bracket or call."""
        closed, stack = 0, self.stack
        while stack and stack[-1].__class__ is tuple and stack[-1][0] in ("bin", "un"):
            closed += self.reduce(stack.pop())
        return closed


class Constant:
    """A constant argument read from the text (the shape of ``reshape``), at ``offset``."""

    def __init__(self, value, offset: int):
        self.value, self.offset = value, offset


def _expression(value):
    """``value`` where an expression must be: a list of arrays is refused here."""
    if value.__class__ is Seq:
        raise TextError(f"{value.name}() takes a list of arrays: {value.name}([a, b], "
                        f"axis=0)", value.offset)
    return value


_TOO_DEEP = "expression nested too deeply for the parser"
