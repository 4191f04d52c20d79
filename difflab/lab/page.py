"""The report's page elements, in Markdown and HTML: figures, tables, findings, anchors.

- A figure is a path, or ``(path, caption)``, or ``(path, caption, alt)``: the caption says
  what the figure shows (under it, numbered), the alt text describes the picture for a reader
  who cannot see it (the caption stands in when there is none).
- A table's columns are typed: a column whose every filled cell is a number is numeric and
  right-aligned (``---:`` in Markdown, ``class="num"`` in HTML, tabular digits), the others
  left-aligned.
- Findings are bullet points. A study may write them as Markdown bullets ("- " lines) with the
  key figure in ``**bold**``; findings written as paragraphs are split into one bullet per
  sentence and, when the study marked nothing bold, each sentence's first measured figure is
  bolded (the first number with a decimal point, an exponent, a %, or a x/× factor: "5.8e-06",
  "x0.23", "3.4×"; plain integers such as sizes and depths are not, nor the value given to a
  one- or two-letter name, "h = 1e-14"). Fenced code blocks stay code blocks (folded in the
  HTML page beyond LONG_LISTING lines).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

# **bold** as Markdown means it: the markers at word edges, so x**2 stays a power
BOLD = re.compile(r"(?<![\w*])\*\*(?=\S)(.+?)(?<=\S)\*\*(?![\w*])")
ABBREVIATIONS = ("e.g", "i.e", "vs", "al", "cf", "approx", "Fig", "eq", "resp")
# a measured figure: not glued to a name (W1, l_14, n^2); a decimal point, an exponent, a %
# or a x/× factor makes a number a figure rather than a size
_END = r"(?!\w|\.\d)"  # a full stop may follow (the sentence's), a further digit may not
_NOT_A_SETTING = r"(?<!\b[a-zA-Z] = )(?<!\b[a-zA-Z]{2} = )"  # h = 1e-14 is where, not what
_FIGURE = re.compile(
    rf"(?<![\w^/.]){_NOT_A_SETTING}(?:[x×]\d+(?:\.\d+)?(?:e[+-]?\d+)?{_END}"
    rf"|\d+\.\d+(?:e[+-]?\d+)?[×x%]?{_END}|\d+e[+-]?\d+{_END}|\d+[×%]{_END}|\d+x{_END})")


def _missing(value) -> bool:
    """None, NaN, pd.NA or NaT: an empty cell (pd.NA has no truth value to test)."""
    return value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float | np.floating) and np.isnan(value))


def fmt(value) -> str:
    """A cell: floats to four significant digits (scientific beyond 1e5 or below 1e-3)."""
    if _missing(value):
        return ""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.4g}"
    return str(value)


def figure_parts(item, label: str = "figure") -> tuple[Path, str, str]:
    """(path, caption, alt) of a figure given as a path or a (path, caption[, alt]) tuple.

    Args:
        item: the figure as a study gives it.
        label: what to call it when it has no caption (the section's title).
    Returns:
        the path, the caption ("" if none) and the alt text (never empty).
    """
    if isinstance(item, tuple | list):
        if not 1 <= len(item) <= 3:
            raise ValueError(f"a figure is a path or (path, caption[, alt]), got {len(item)} "
                             f"items")
        path, caption, alt = (*item, "", "")[:3]
    else:
        path, caption, alt = item, "", ""
    path = Path(path)
    alt = alt or caption or f"{label}: {path.stem.replace('_', ' ')}"
    return path, str(caption), str(alt)


_NUMBER_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?")  # "0.0821670406", "-1e-3"


def _number(v) -> bool:
    if isinstance(v, str):  # a number a study formatted itself (a fixed number of digits)
        return _NUMBER_TEXT.fullmatch(v.strip()) is not None
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_)


def is_numeric(column: pd.Series) -> bool:
    """Every filled cell is a number, or text that is one ("0.25", "-1e-3"; bools are not)."""
    filled = [v for v in column if not _missing(v) and not (isinstance(v, str) and v == "")]
    return bool(filled) and all(_number(v) for v in filled)


def markdown_table(df: pd.DataFrame) -> str:
    """A pipe table (no extra dependency), numeric columns right-aligned."""
    if df is None or df.empty:
        return "_(no rows)_"
    cols = [str(c).replace("|", "\\|") for c in df.columns]
    align = ["---:" if is_numeric(df[c]) else "---" for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join(align) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def _column_class(column: pd.Series) -> str:
    """"num" (right-aligned), "short" (text kept on one line: every cell at most 24
    characters) or "" (text that wraps)."""
    if is_numeric(column):
        return "num"
    return "short" if all(len(fmt(v)) <= 24 for v in column) else ""


def html_table(df: pd.DataFrame, caption: str = "") -> str:
    """An HTML table in a scrolling box, numeric columns right-aligned (class "num")."""
    if df is None or df.empty:
        return ""
    kinds = [_column_class(df[c]) for c in df.columns]
    cls = lambda kind: f' class="{kind}"' if kind else ""  # noqa: E731
    head = "".join(f"<th{cls(k)}>{html.escape(str(c))}</th>"
                   for c, k in zip(df.columns, kinds, strict=True))
    body = "\n".join("<tr>" + "".join(f"<td{cls(k)}>{html.escape(fmt(v))}</td>"
                                      for v, k in zip(row, kinds, strict=True)) + "</tr>"
                     for row in df.itertuples(index=False))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>\n{body}\n</tbody></table></div>")


def slug(title: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, - for
    spaces."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


# ---- findings --------------------------------------------------------------------------------
def sentences(paragraph: str) -> list[str]:
    """Split at a sentence's end (. ? ! then a space and a capital or "("), never inside
    parentheses, brackets or `code`, nor after an abbreviation."""
    out, start, depth, code = [], 0, 0, False
    text = " ".join(paragraph.split())
    for i, ch in enumerate(text):
        if ch == "`":
            code = not code
        elif code:
            continue
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        ends = ch in ".?!" or (ch == ")" and i and text[i - 1] in ".?!")
        if not ends or depth or code or text[i + 1:i + 2] != " ":
            continue
        after = text[i + 2:i + 3]
        word = re.split(r"[\s(]", text[start:i])[-1]
        if (after.isupper() or after == "(") and word not in ABBREVIATIONS:
            out.append(text[start:i + 1].strip())
            start = i + 2
    tail = text[start:].strip()
    return out + [tail] if tail else out


def _bold_first_figure(sentence: str) -> str:
    """Bold the first measured figure outside `code` spans."""
    parts = re.split(r"(`[^`]*`)", sentence)
    for k in range(0, len(parts), 2):
        m = _FIGURE.search(parts[k])
        if m:
            parts[k] = parts[k][:m.start()] + f"**{m.group(0)}**" + parts[k][m.end():]
            break
    return "".join(parts)


def findings_blocks(text: str) -> list[tuple[str, object]]:
    """The findings as ("bullets", [item, ...]) and ("code", text) blocks, in order."""
    blocks: list[tuple[str, object]] = []
    pieces = re.split(r"```[a-z]*\n(.*?)```", text or "", flags=re.S)
    prose = " ".join(re.sub(r"`[^`]*`", "", p) for p in pieces[::2])
    auto_bold = BOLD.search(prose) is None  # the study marked no key figure itself
    for i, piece in enumerate(pieces):
        if i % 2:
            blocks.append(("code", piece))
            continue
        items: list[str] = []
        for para in filter(str.strip, piece.split("\n\n")):
            lines = para.strip().splitlines()
            if any(line.lstrip().startswith("- ") for line in lines):
                for line in lines:
                    if line.lstrip().startswith("- ") or not items:
                        items.append(line.lstrip().removeprefix("- ").strip())
                    else:
                        items[-1] += " " + line.strip()
            else:
                found = sentences(para)
                items += [_bold_first_figure(s) for s in found] if auto_bold else found
        if items:
            blocks.append(("bullets", items))
    return blocks


LONG_LISTING = 30  # lines: a longer code block is folded (<details>) in the HTML page


def inline_html(text: str) -> str:
    """One line of text to HTML: `code` spans and **bold**, everything else escaped."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
        else:
            out.append(BOLD.sub(r"<b>\1</b>", html.escape(part)))
    return "".join(out)


def findings_markdown(text: str) -> str:
    """The findings as Markdown bullets (code blocks fenced)."""
    out = []
    for kind, body in findings_blocks(text):
        out.append(f"```\n{body}```" if kind == "code" else "\n".join(f"- {b}" for b in body))
    return "\n\n".join(out)


def findings_html(text: str) -> str:
    """The findings as <ul> lists and <pre> blocks."""
    out = []
    for kind, body in findings_blocks(text):
        if kind == "code" and body.count("\n") > LONG_LISTING:
            first = body.splitlines()[0].strip()
            out.append(f"<details><summary><code>{html.escape(first[:90])}</code> … "
                       f"({body.count(chr(10))} lines)</summary><pre>{html.escape(body)}</pre>"
                       f"</details>")
        elif kind == "code":
            out.append(f"<pre>{html.escape(body)}</pre>")
        else:
            out.append('<ul class="findings">' + "".join(f"<li>{inline_html(b)}</li>"
                                                         for b in body) + "</ul>")
    return "\n".join(out)
