"""Grammar text as tokens, for the deep reader (``deep_parser``): one regular expression,
the brackets matched in one pass, and the messages both readers give.

A token is (kind, lexeme, offset) with kind number, name or op; a string or a character outside
Python's tokens is a ``TextError`` where it starts. Numbers are matched as Python's tokenizer
reads them (atomically: ``1.T`` is an invalid number, ``1 .T`` and ``1.5.T`` are attributes)
and read by ``ast`` (a short text: safe and exact). ``brackets`` finds where every bracket
closes and the commas directly inside it, so the reader knows a tuple ``(1, 2)`` from a group
``(1 + 2)`` when it opens, and where a constant argument ends.
"""

from __future__ import annotations

import ast
import keyword
import re
import unicodedata

from .ops import ARRAY_FUNCTIONS, FUNCTIONS
from .reals import FLOAT_MAX

MAX_PARENS = 200     # Python's tokenizer refuses deeper brackets

_SPACE = r"(?:[ \t\f\r\n]|\\\r?\n|\#[^\n]*)*"  # space, line continuations, comments
# (a number is matched atomically, as Python's tokenizer reads it: ``1.T`` is not ``1 .T``)
_TOKEN = re.compile(_SPACE + r"""
    (?:(?P<number>(?>0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+
                   |(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)(?!\w))
     | (?P<name>[^\W\d]\w*)
     | (?P<op>\*\*|//|<<|>>|<=|>=|==|!=|:=|->|\.\.\.|[-+*/%@&|^~()<>,.\[\]{}:=;!])
     | (?P<string>["'])
     | (?P<end>\Z)
     | (?P<other>.))
""", re.VERBOSE | re.DOTALL)
KEYWORD_ARGUMENT = re.compile(_SPACE + r"=(?!=)")  # after a name: ``axis=`` (not ``==``)


REFUSED = {  # what a token outside the grammar starts, as parser's messages name it
    "{": "dict", "is": "comparison", "in": "comparison", "not": "unary operator",
    "and": "boolean operator", "or": "boolean operator", "if": "conditional",
    "else": "conditional", "lambda": "lambda", "for": "comprehension",
    ":=": "assignment expression", "await": "await", "yield": "yield", "...": "Ellipsis",
}
_KEYWORD_CONSTANTS = {"True": True, "False": False, "None": None}
_OPEN, _CLOSE = "([{", ")]}"
_NAMES = ", ".join({**FUNCTIONS, **ARRAY_FUNCTIONS})  # the grammar's functions


class TextError(Exception):
    """Text the deep reader cannot read: the ``message`` to show, at ``offset`` (0-based)."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message, self.offset = message, offset


def refused(what: str) -> str:
    """The message for a construct outside the grammar (``parser`` says it the same way)."""
    return (f"{what} is not allowed: expected numbers, variables, operators + - * / ** @, "
            f"comparisons, constant indices and calls of {_NAMES}")


def literal_too_large(lexeme: str) -> str:
    """The message for an integer literal beyond float64 (``1`` and 400 zeros)."""
    digits = sum(c.isdigit() for c in lexeme)
    head = lexeme if len(lexeme) <= 12 else f"{lexeme[:6]}...{lexeme[-3:]}"
    return f"the integer {head} ({digits:,} digits) is too large for float64 ({FLOAT_MAX})"



def meaning(kind: str, lexeme: str) -> tuple[str, object]:
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
        raise TextError(refused(REFUSED.get(lexeme, f"the keyword {lexeme!r}")), 0)
    name = lexeme if lexeme.isascii() else unicodedata.normalize("NFKC", lexeme)  # as Python
    if not name.isidentifier():
        raise TextError("invalid syntax: unexpected text here", 0)
    return "name", name


def tokens(text: str, start: int = 0):
    """(kind, lexeme, offset) for each token of ``text`` from ``start``: number, name or op."""
    for match in _TOKEN.finditer(text, start):
        kind = match.lastgroup
        if kind == "end":
            return
        offset = match.start(kind)
        if kind == "string":
            raise TextError(refused("a string"), offset)
        if kind == "other":
            raise TextError("invalid syntax: unexpected text here", offset)
        yield kind, match.group(kind), offset


def brackets(text: str) -> tuple[dict[int, int], dict[int, list[int]]]:
    """Every bracket's closing offset by its opening offset, and the offsets of the commas
    directly inside each bracket that has any (one pass, an explicit stack)."""
    close: dict[int, int] = {}
    commas: dict[int, list[int]] = {}
    open_: list[tuple[str, int]] = []
    for kind, lexeme, offset in tokens(text):
        if kind != "op":
            continue
        if lexeme in _OPEN:
            if len(open_) >= MAX_PARENS:
                raise TextError(TOO_MANY_PARENS, offset)
            open_.append((lexeme, offset))
        elif lexeme in _CLOSE:
            if not open_:
                raise TextError(f"invalid syntax: unmatched {lexeme!r}", offset)
            opener, at = open_.pop()
            if _OPEN.index(opener) != _CLOSE.index(lexeme):
                raise TextError(f"invalid syntax: closing parenthesis {lexeme!r} does not "
                                f"match opening parenthesis {opener!r}", offset)
            close[at] = offset
        elif lexeme == "," and open_:
            commas.setdefault(open_[-1][1], []).append(offset)
    if open_:
        raise TextError(f"invalid syntax: {open_[-1][0]!r} was never closed", open_[-1][1])
    return close, commas


TOO_MANY_PARENS = f"too many nested parentheses: Python's parser allows {MAX_PARENS} levels"
