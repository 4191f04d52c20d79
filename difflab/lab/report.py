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

A meta.json is data from a results folder and may be anything: one that is not a JSON object,
or whose ``experiment`` is no name, or a rows.jsonl line nested too deeply to parse, costs that
run's section (or that row, with a warning naming the file and line), never the report: the
failed section names the file and what is wrong in it. Looking for the newest runs, such a run
is left out with a warning naming its meta.json.
"""

from __future__ import annotations

import html
import importlib
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import page
from .page import fmt
from .store import META, BadRun, atomic_write, experiment_of, load, load_meta, writable_dir
from .study import builtin_studies, load_study

BASE_METHODS = ("symbolic", "numeric", "forward", "reverse", "jax")


@dataclass
class Section:
    """One experiment's part of the report.

    ``figures``: each a path or a (path, caption) or (path, caption, alt) tuple (see
    ``page.figure_parts``). ``findings``: Markdown bullets with the key figure in **bold**, or
    sentences (split into bullets by the report). ``subsections``: further parts with their
    own question, figures, table and findings, shown under this one.
    """

    name: str
    title: str
    question: str
    figures: list
    table: pd.DataFrame
    findings: str
    summary: dict[str, dict[str, str]] = field(default_factory=dict)
    subsections: list[Section] = field(default_factory=list)

    def figure_paths(self) -> list[Path]:
        """The figures' files, this section's and its subsections'."""
        own = [page.figure_parts(f)[0] for f in self.figures]
        return own + [p for sub in self.subsections for p in sub.figure_paths()]


# the page elements live in ``page``; these names stay importable from here
_fmt = fmt
markdown_table = page.markdown_table


def newest_runs(results: str | Path = "results") -> list[Path]:
    """The newest run directory of each experiment under ``results`` (finished ones first);
    a run whose meta.json does not load or names no experiment is left out (with a warning
    naming the file, unless it names none at all)."""
    best: dict[str, tuple] = {}
    for meta_file in sorted(Path(results).glob("*/meta.json")):
        try:
            meta = load_meta(meta_file.parent)
            name = experiment_of(meta, meta_file.parent)
        except OSError:
            continue
        except ValueError as err:
            warnings.warn(f"{err}; that run is left out of the report", RuntimeWarning,
                          stacklevel=2)
            continue
        if name is None:
            continue
        rank = (meta.get("end_time") is not None, not meta.get("quick", False),
                str(meta.get("start_time") or ""))
        if name not in best or rank > best[name][0]:
            best[name] = (rank, meta_file.parent)
    return [path for _, path in best.values()]


def build_section(run_path: Path, figdir: Path, trusted: Mapping[str, object] | None = None) \
        -> Section:
    """Load a run and let its study write the section (a failure becomes a section too).

    Args:
        run_path: the run directory.
        figdir: where the section's figures go.
        trusted: studies this command loaded itself, by the name meta.json gives them (the
            experiments it ran, the ``--study`` files and modules it was given).
    """
    run_path = Path(run_path)
    name = run_path.name
    try:
        meta = load_meta(run_path)
        name = experiment_of(meta, run_path) or name
        config = meta.get("config", {})
        if not isinstance(config, dict):
            raise BadRun(f"{run_path / META}: \"config\" must be a JSON object, not a "
                         f"{type(config).__name__}")
        study = study_of_run(meta, trusted or {}, where=str(run_path / META))
        own = getattr(study, "NAME", name) == name
        if not own:  # another experiment of the same study: figures of its own
            figdir = Path(figdir) / name
            figdir.mkdir(parents=True, exist_ok=True)
        section = study.section(load(run_path), config, figdir)
        if not own:
            section.title = f"{section.title} ({name})"
        return section
    except Exception as err:  # one broken section must not lose the others
        tb = "" if isinstance(err, UntrustedStudy | BadRun) else \
            f"\n\n```\n{traceback.format_exc(limit=3)}```"
        return Section(name, name, "", [], pd.DataFrame(),
                       f"The section could not be built: {type(err).__name__}: {err}{tb}")


class UntrustedStudy(ValueError):
    """A run whose study is not difflab's, and was not named by this command."""


def study_of_run(meta: dict, trusted: Mapping[str, object], where: str = "meta.json"):
    """The study that writes a run's section: one of difflab's, named in meta.json, or one
    this command loaded itself (``trusted``). meta.json is data: a file or module it names is
    never imported, so a results folder from elsewhere cannot run code.

    Args:
        meta: the run's meta.json.
        trusted: studies this command loaded, by the name meta.json gives them.
        where: how messages name the meta.json (its path).
    Raises:
        UntrustedStudy: a study that is neither (the message says how to name it yourself).
        BadRun: meta.json names no study.
    """
    spec = meta.get("study") or meta.get("experiment")
    if not isinstance(spec, str) or not spec:
        raise BadRun(f"{where} names no study (study = {str(spec)[:60]!r})")
    if spec in trusted:
        return trusted[spec]
    if spec.isidentifier() and spec in builtin_studies():
        return importlib.import_module(f"difflab.studies.{spec}")
    raise UntrustedStudy(f"{where} names the study {spec[:200]!r}, which is not one of "
                     f"difflab's ({', '.join(builtin_studies())}). difflab does not run code "
                     f"that a results folder names: to build this section, name the study "
                     f"yourself: difflab report --study {spec[:200]}")


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
            ("runs", "\n".join(f"{m.get('run_id')} ({m.get('start_time')})" for m in metas))]
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
                 results: str | Path = "results", order: list[str] | None = None,
                 studies: Sequence[str] = (), trusted: Mapping[str, object] | None = None) \
        -> Path:
    """Rebuild ``out/report.md`` and ``out/report.html`` (figures in ``out/figures``).

    Args:
        runs: run directories (default: the newest run of each experiment in ``results``).
        out: the report directory.
        results: where to look for runs when none are given.
        order: experiment names in the order their sections appear.
        studies: studies of your own (files or modules) whose runs' sections to build;
            difflab's own need no naming, and nothing meta.json names is imported.
        trusted: studies already loaded, by the name meta.json gives them (``run`` passes
            the experiments it ran).
    Returns:
        the path of the Markdown report.
    Raises:
        ValueError: a study in ``studies`` that does not load.
    """
    out = writable_dir(out, "report directory")  # before any section is built
    figdir = writable_dir(out / "figures", "figure directory")
    trusted = dict(trusted or {})
    for spec in studies:  # (the user's own: loaded as ``difflab run`` loads them)
        module, canonical = load_study(spec, base=Path.cwd())
        trusted[canonical] = module
    runs = [Path(r) for r in (runs or newest_runs(results))]
    if not runs:
        raise FileNotFoundError(f"no runs found in {results}/: run `difflab run` first")
    metas = [_meta_or_stand_in(r) for r in runs]
    rank = {name: i for i, name in enumerate(order or [])}
    pairs = sorted(zip(metas, runs, strict=True),
                   key=lambda mr: rank.get(str(mr[0].get("experiment")), len(rank)))
    sections = [build_section(run, figdir, trusted) for _, run in pairs]
    env = _environment([m for m, _ in pairs])
    summary = _summary(sections)

    return _write(out, sections, env, summary, quick_line([m for m, _ in pairs]))


def _meta_or_stand_in(run: Path) -> dict:
    """The run's meta.json, or a stand-in naming the run by its directory when it does not
    load or its experiment is no name (its section says what is wrong)."""
    try:
        meta = load_meta(run)
        experiment_of(meta, run)
        return meta
    except ValueError:
        return {"run_id": run.name, "experiment": run.name}


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;
 margin:0 auto;padding:1.5em 2em 4em;line-height:1.5;color:#1f2328}
h1{font-size:2em;margin-bottom:.2em}
h2{margin-top:2.2em;padding-top:.6em;border-top:1px solid #d0d7de}
h3{margin-top:1.8em}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
nav.toc{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6em 1.2em;
 margin:1em 0 2em}
nav.toc ol{margin:.3em 0;padding-left:1.4em;columns:2;column-gap:2.5em}
nav.toc ol ol{columns:1;font-size:92%}
nav.toc li{break-inside:avoid}
figure{margin:1.4em 0;text-align:center}
figure img{max-width:100%;height:auto;border:1px solid #eaeef2;border-radius:4px}
figcaption{font-size:90%;color:#57606a;margin-top:.4em;text-align:left}
.table-wrap{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse;font-size:82%}
caption{caption-side:top;text-align:left;color:#57606a;padding-bottom:.3em}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num,td.short{white-space:nowrap}
details{margin:.6em 0}summary{cursor:pointer;color:#57606a;font-size:90%}
tbody tr:nth-child(even){background:#fbfcfd}
table.env th{white-space:nowrap}
pre{background:#f6f8fa;padding:8px 10px;overflow-x:auto;font-size:85%;border-radius:4px}
code{background:#f3f4f6;padding:0 3px;border-radius:3px;font-size:90%}
pre code{background:none;padding:0}
ul.findings li{margin:.35em 0}
p.question{font-size:105%}
"""


def _figure_html(src: str, number: int, caption: str, alt: str) -> str:
    """A numbered figure, fitted to the column, that links to its full-size file (a wide
    graph's labels are legible there)."""
    src = html.escape(src)
    return (f"<figure><a href='{src}' title='open the full-size picture'><img src='{src}' "
            f"alt='{html.escape(alt)}'></a><figcaption><b>Figure {number}.</b> "
            f"{html.escape(caption)}</figcaption></figure>")


def _anchors(parts: list[tuple[int, Section]]) -> list[str]:
    """One HTML id per part, from its name; a name seen before (two runs of one study) gets
    -2, -3 ... so every link of the contents leads to its own section."""
    seen: set[str] = {"summary", "environment"}
    out = []
    for _, s in parts:
        base = html.escape(s.name, quote=True).replace(" ", "-") or "section"
        anchor, k = base, 1
        while anchor in seen:
            k += 1
            anchor = f"{base}-{k}"
        seen.add(anchor)
        out.append(anchor)
    return out


def _walk(sections: list[Section]) -> list[tuple[int, Section]]:
    """(level, section) in reading order: 2 for a study's section, 3 for its subsections."""
    out = []
    for s in sections:
        out.append((2, s))
        out += [(3, sub) for sub in s.subsections]
    return out


def _write(out: Path, sections: list[Section], env: list[tuple[str, str]],
           summary: pd.DataFrame, headline: str = "difflab report") -> Path:
    """Write report.md and report.html: the table of contents, the summary, the environment,
    then every section with its numbered, captioned figures, its table and its findings."""
    parts = _walk(sections)
    toc_md = ["- [Summary](#summary)", "- [Environment](#environment)"]
    toc_html = ["<li><a href='#summary'>Summary</a></li>",
                "<li><a href='#environment'>Environment</a></li>"]
    for level, s in parts:
        indent = "  " * (level - 2)
        toc_md.append(f"{indent}- [{s.title}](#{page.slug(s.title)})")
    anchors = _anchors(parts)
    link = lambda i: (f"<a href='#{anchors[i]}'>"  # noqa: E731
                      f"{html.escape(parts[i][1].title)}</a>")
    for i, (level, _) in enumerate(parts):
        if level == 2:
            subs = [f"<li>{link(j)}</li>" for j in range(i + 1, len(parts))
                    if parts[j][0] == 3 and all(p[0] == 3 for p in parts[i + 1:j + 1])]
            toc_html.append(f"<li>{link(i)}" + (f"<ol>{''.join(subs)}</ol>" if subs else "")
                            + "</li>")
    md = [f"# {headline}", "",
          "Every number below was measured by the runs listed in the environment block; "
          "`make report` rebuilds it.", "", "**Contents**", "", *toc_md, "",
          "## Summary", "", SUMMARY_NOTE, "", page.markdown_table(summary), "",
          "## Environment", "", "| | |", "|---|---|",
          *[f"| {k} | {v.replace(chr(10), '<br>')} |" for k, v in env], ""]
    doc = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           f"<title>difflab report</title><style>{CSS}</style></head><body>",
           f"<h1>{html.escape(headline)}</h1>",
           "<p>Every number below was measured by the runs listed in the environment block; "
           "<code>make report</code> rebuilds it.</p>",
           "<nav class='toc'><b>Contents</b><ol>", *toc_html, "</ol></nav>",
           "<h2 id='summary'>Summary</h2>", f"<p>{html.escape(SUMMARY_NOTE)}</p>",
           page.html_table(summary),
           "<h2 id='environment'>Environment</h2><div class='table-wrap'><table class='env'>",
           *[f"<tr><th>{html.escape(k)}</th><td>{html.escape(v).replace(chr(10), '<br>')}</td>"
             f"</tr>" for k, v in env],
           "</table></div>"]
    number = 0
    for (level, s), anchor in zip(parts, anchors, strict=True):
        md += [f"{'#' * level} {s.title}", ""]
        doc.append(f"<h{level} id='{anchor}'>{html.escape(s.title)}</h{level}>")
        if s.question:
            md += [f"**Question.** {s.question}", ""]
            doc.append(f"<p class='question'><b>Question.</b> {html.escape(s.question)}</p>")
        for fig in s.figures:
            number += 1
            path, caption, alt = page.figure_parts(fig, s.title)
            rel = path.relative_to(out) if path.is_relative_to(out) else path
            label = f"Figure {number}." + (f" {caption}" if caption else "")
            md += [f"![{alt}]({rel.as_posix()})", "", f"*{label}*", ""]
            doc.append(_figure_html(rel.as_posix(), number, caption, alt))
        if s.table is not None and not s.table.empty:
            md += [page.markdown_table(s.table), ""]
            doc.append(page.html_table(s.table))
        if s.findings:
            md += ["**Findings.**", "", page.findings_markdown(s.findings), ""]
            doc += ["<p><b>Findings.</b></p>", page.findings_html(s.findings)]
    doc.append("</body></html>")
    atomic_write(out / "report.md", "\n".join(md) + "\n")
    atomic_write(out / "report.html", "\n".join(doc) + "\n")
    return out / "report.md"
