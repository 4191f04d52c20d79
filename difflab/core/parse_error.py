"""The parser's error: ``ParseError`` with the text and the position it is about, and
Python's ``SyntaxError`` worded for the grammar (``syntax_error``).

Positions are 0-based character offsets (Python's ast counts columns in UTF-8 bytes).
"""

from __future__ import annotations

import ast
import re

from .lexer import literal_too_large


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


def position(text: str, node: ast.AST | int) -> int:
    """0-based offset of an ast node in ``text`` (an int is an offset already)."""
    if isinstance(node, int):
        return node
    lines = text.split("\n")
    line = getattr(node, "lineno", 1) - 1
    col = getattr(node, "col_offset", 0)
    # col_offset counts UTF-8 bytes; convert to characters.
    col = len(lines[line].encode()[:col].decode(errors="ignore"))
    return sum(len(s) + 1 for s in lines[:line]) + col


DIGITS = re.compile(r"\d[\d_]*")


def syntax_error(err: SyntaxError, stripped: str) -> ParseError:
    """Python's SyntaxError worded for the grammar, with the position."""
    if "digits" in err.msg and "limit" in err.msg:  # an int literal beyond 4,300 digits
        longest = max(DIGITS.finditer(stripped), key=lambda m: len(m.group()))
        return ParseError(literal_too_large(longest.group()), stripped, longest.start())
    placeholder = re.search(r"<nan>|<array \(", stripped)
    if placeholder:  # what to_text prints for what the grammar cannot say
        what = "nan" if placeholder.group() == "<nan>" else "an array constant"
        return ParseError(f"{placeholder.group()}... is how difflab prints {what}, which has "
                          f"no spelling in the grammar", stripped, placeholder.start())
    if err.offset:  # 1-based column of the offending token
        pos = position(stripped, ast.Name(lineno=err.lineno or 1, col_offset=err.offset - 1))
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
