"""The report: Markdown and HTML rebuilt from stored runs, one section per experiment.

Each experiment's study turns its rows into a ``Section``: the question, the figure(s), a
table and the findings (sentences computed from the measured numbers). The report puts a
summary table and the environment (machine, versions, commit) on top. Each column of the
summary is one figure of one experiment on one problem at one size — the same for every
method, so a row can be compared with the next; its title says which (``Section.summary``:
{method: {column title: text}}). A cell a section leaves empty for a method it ran carries the
section's reason; a method the experiment did not run says so. Files are written atomically;
a study whose section fails is reported as such, and the rest of the report is still written.

A run records its study (meta.json ``study``: difflab's study name, a module, or the path of
a study file); a run of an experiment file that uses a study of another name (``STUDY =
"accuracy"`` in ``my_accuracy.py``) gets a section titled with the experiment's name too, and
its figures in a directory of their own, so it sits beside the study's own section.

The report's first line says which sections come from quick runs (``--quick``: smoke-test
sizes, not measurements to quote).
"""

from __future__ import annotations

import html
import importlib
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .store import atomic_write, load, load_meta, writable_dir
from .study import load_study

BASE_METHODS = ("symbolic", "numeric", "forward", "reverse", "jax")


@dataclass
class Section:
    """One experiment's part of the report."""

    name: str
    title: str
    question: str
    figures: list[Path]
    table: pd.DataFrame
    findings: str
    summary: dict[str, dict[str, str]] = field(default_factory=dict)


def _fmt(value) -> str:
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.4g}"
    return str(value)


def markdown_table(df: pd.DataFrame) -> str:
    """A pipe table (no extra dependency); numbers shortened to four significant digits."""
    if df is None or df.empty:
        return "_(no rows)_"
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def _html_text(text: str) -> str:
    """Findings to HTML: fenced code blocks become <pre>, `code` inline, blank lines split."""
    parts = re.split(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<pre>{html.escape(part)}</pre>")
        else:
            for para in filter(str.strip, part.split("\n\n")):
                escaped = html.escape(para.strip())
                out.append("<p>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped) + "</p>")
    return "\n".join(out)


def newest_runs(results: str | Path = "results") -> list[Path]:
    """The newest run directory of each experiment under ``results`` (finished ones first)."""
    best: dict[str, tuple] = {}
    for meta_file in Path(results).glob("*/meta.json"):
        try:
            meta = load_meta(meta_file.parent)
        except (OSError, ValueError):
            continue
        name = meta.get("experiment")
        if not name:
            continue
        rank = (meta.get("end_time") is not None, not meta.get("quick", False),
                meta.get("start_time") or "")
        if name not in best or rank > best[name][0]:
            best[name] = (rank, meta_file.parent)
    return [path for _, path in best.values()]


def build_section(run_path: Path, figdir: Path) -> Section:
    """Load a run and let its study write the section (a failure becomes a section too)."""
    meta = load_meta(run_path)
    name = meta.get("experiment", run_path.name)
    try:
        spec = meta.get("study")
        if not spec and not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"meta.json names the experiment {str(name)[:60]!r}, which is not "
                             f"a study of difflab.studies")  # (a study's name, never a path)
        study = load_study(spec)[0] if spec else \
            importlib.import_module(f"difflab.studies.{name}")
        own = getattr(study, "NAME", name) == name
        if not own:  # another experiment of the same study: figures of its own
            figdir = Path(figdir) / name
            figdir.mkdir(parents=True, exist_ok=True)
        section = study.section(load(run_path), meta.get("config", {}), figdir)
        if not own:
            section.title = f"{section.title} ({name})"
        return section
    except Exception as err:  # one broken section must not lose the others
        tb = traceback.format_exc(limit=3)
        return Section(name, name, "", [], pd.DataFrame(),
                       f"The section could not be built: {type(err).__name__}: {err}\n\n"
                       f"```\n{tb}```")


def quick_line(metas: list[dict]) -> str:
    """The report's first line: its title, and which sections come from quick runs."""
    quick = [str(m.get("experiment", "?")) for m in metas if m.get("quick")]
    what = "smoke-test sizes, not measurements to quote"
    if not quick:
        return "difflab report"
    if len(quick) == len(metas):
        return f"difflab report — every section from quick runs ({what})"
    return (f"difflab report — from quick runs ({what}): {', '.join(quick)}; the other "
            f"sections from full runs")


def _environment(metas: list[dict]) -> list[tuple[str, str]]:
    meta = metas[0] if metas else {}
    machine = meta.get("machine", {}) if isinstance(meta.get("machine"), dict) else {}
    versions = meta.get("versions", {}) if isinstance(meta.get("versions"), dict) else {}
    git = meta.get("git", {}) if isinstance(meta.get("git"), dict) else {}
    rows = [("CPU", str(machine.get("cpu", "?"))),
            ("cores / memory", f"{machine.get('cores', '?')} cores, "
                               f"{machine.get('memory_mib', '?')} MiB"),
            ("platform", str(machine.get("platform", "?"))),
            ("Python", str(versions.get("python", "?"))),
            ("libraries", ", ".join(f"{k} {v}" for k, v in versions.items() if k != "python")),
            ("commit", f"{git.get('commit', '?')}" + (" (dirty)" if git.get("dirty") else "")),
            ("runs", ", ".join(f"{m.get('run_id')} ({m.get('start_time')})" for m in metas))]
    return rows


SUMMARY_NOTE = ("Each column is one experiment's figure on one problem at one size, the same for "
                "every method; an empty cell says why. Times are medians over repeated runs "
                "with their 95% interval in parentheses.")


def _summary(sections: list[Section]) -> pd.DataFrame:
    """Methods (rows) by the sections' columns; an empty cell says why it is empty."""
    merged: dict[str, dict[str, str]] = {}
    columns: dict[str, str] = {}   # column -> the experiment it comes from
    for s in sections:
        for method, cells in s.summary.items():
            for column, text in cells.items():
                columns.setdefault(column, s.name)
                merged.setdefault(method, {}).setdefault(column, text)
    methods = [m for m in BASE_METHODS if m in merged] + \
        [m for m in merged if m not in BASE_METHODS]
    rows = [{"method": m, **{c: merged[m].get(c) or f"— (not run by {columns[c]})"
                             for c in columns}} for m in methods]
    return pd.DataFrame(rows, columns=["method", *columns])


def write_report(runs: list[str | Path] | None = None, out: str | Path = "reports",
                 results: str | Path = "results", order: list[str] | None = None) -> Path:
    """Rebuild ``out/report.md`` and ``out/report.html`` (figures in ``out/figures``).

    Args:
        runs: run directories (default: the newest run of each experiment in ``results``).
        out: the report directory.
        results: where to look for runs when none are given.
        order: experiment names in the order their sections appear.
    Returns:
        the path of the Markdown report.
    """
    out = writable_dir(out, "report directory")  # before any section is built
    figdir = writable_dir(out / "figures", "figure directory")
    runs = [Path(r) for r in (runs or newest_runs(results))]
    if not runs:
        raise FileNotFoundError(f"no runs found in {results}/: run `difflab run` first")
    metas = [load_meta(r) for r in runs]
    rank = {name: i for i, name in enumerate(order or [])}
    pairs = sorted(zip(metas, runs, strict=True),
                   key=lambda mr: rank.get(mr[0].get("experiment"), len(rank)))
    sections = [build_section(run, figdir) for _, run in pairs]
    env = _environment([m for m, _ in pairs])
    summary = _summary(sections)

    headline = quick_line([m for m, _ in pairs])
    md = [f"# {headline}", "",
          "Every number below was measured by the runs listed in the environment block; "
          "`make report` rebuilds it.", "", "## Summary", "", SUMMARY_NOTE, "",
          markdown_table(summary), "",
          "## Environment", "", "| | |", "|---|---|",
          *[f"| {k} | {v} |" for k, v in env], ""]
    page = ["<!doctype html><html><head><meta charset='utf-8'><title>difflab report</title>",
            "<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;line-height:1.45}"
            "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;"
            "padding:2px 6px}img{max-width:100%}pre{background:#f6f6f6;padding:8px;"
            "overflow-x:auto;font-size:85%}</style></head><body>",
            f"<h1>{html.escape(headline)}</h1>", "<h2>Summary</h2>",
            f"<p>{html.escape(SUMMARY_NOTE)}</p>",
            summary.to_html(index=False, na_rep=""), "<h2>Environment</h2><table>",
            *[f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in env],
            "</table>"]
    for s in sections:
        md += [f"## {s.title}", "", f"**Question.** {s.question}", ""]
        page += [f"<h2>{html.escape(s.title)}</h2>",
                 f"<p><b>Question.</b> {html.escape(s.question)}</p>"]
        for fig in s.figures:
            rel = Path(fig).relative_to(out) if Path(fig).is_relative_to(out) else Path(fig)
            md += [f"![{s.name}]({rel.as_posix()})", ""]
            page.append(f"<img src='{html.escape(rel.as_posix())}' alt='{s.name}'>")
        md += [markdown_table(s.table), "", f"**Findings.** {s.findings}", ""]
        table_html = s.table.map(_fmt).to_html(index=False) if not s.table.empty else ""
        page += [table_html, "<p><b>Findings.</b></p>", _html_text(s.findings)]
    page.append("</body></html>")
    atomic_write(out / "report.md", "\n".join(md) + "\n")
    atomic_write(out / "report.html", "\n".join(page) + "\n")
    return out / "report.md"
