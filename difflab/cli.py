"""The command line: ``difflab grad``, ``run``, ``report``, ``list``.

``difflab grad "sin(x)*y" --at x=1 y=2`` is the first thing a newcomer types: the gradient by
every method side by side, with its error against the 50-digit truth and its time. Bad input
gets one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence

import numpy as np


def parse_assignment(text: str) -> tuple[str, object]:
    """``x=1.5`` -> ("x", 1.5); ``v=1,2,3`` or ``v=[1,2,3]`` -> an array; JSON nests.

    Values are data, never code: a number as ``float`` reads it (``1e999`` is inf, as in the
    grammar) or JSON lists of numbers; an integer beyond float64 is an error, as in the grammar.
    """
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"--at expects name=value pairs, got {text[:60]!r}")
    value = value.strip()
    shown = value if len(value) <= 60 else value[:57] + "..."
    try:
        if value.startswith("["):
            parsed = json.loads(value)
        elif "," in value:
            parsed = [_number(v) for v in value.split(",")]
        else:
            parsed = _number(value)
    except RecursionError:  # JSON nested thousands deep
        raise ValueError(f"--at {name}: {shown!r} is nested too deeply") from None
    except ValueError as err:
        why = str(err) if "too large" in str(err) else "is not a number or a list of numbers"
        raise ValueError(f"--at {name}: {shown!r} {why}") from None
    if isinstance(parsed, list):
        try:
            array = np.asarray(parsed)
        except ValueError:  # ragged nesting
            raise ValueError(f"--at {name}: {shown!r} is not a rectangular array") from None
        if array.dtype.kind == "O" and all(isinstance(v, int) and not isinstance(v, bool)
                                           for v in array.ravel()):
            raise ValueError(f"--at {name}: {shown!r}: an integer is too large for float64")
        if array.dtype.kind not in "iuf":  # strings, booleans, objects, nulls
            raise ValueError(f"--at {name}: {shown!r} is not a list of numbers") from None
        return name, array.astype(float)
    return name, parsed


def _number(text: str) -> float:
    """A number as ``float`` reads it; an integer literal beyond float64 is refused."""
    value = float(text)
    if math.isinf(value) and text.strip().lstrip("+-").replace("_", "").isdigit():
        raise ValueError("is too large for float64 (the largest float64 is about 1.8e308)")
    return value


def _cmd_grad(args: argparse.Namespace) -> int:
    from .api import METHODS, resolve
    from .core.parser import parse
    from .core.printer import summary
    from .lab.compare import compare

    expr = parse(args.expression)
    point = {}
    for name, value in map(parse_assignment, args.at):
        if name in point:
            raise ValueError(f"--at gives {name!r} twice")
        point[name] = value
    methods = args.methods or list(METHODS)
    for m in methods:
        resolve(m)  # unknown names fail here, before any work
    table = compare(expr, point, methods=methods, wrt=args.wrt)
    print(f"f = {summary(expr, 200)}   at " + ", ".join(f"{k}={v}" for k, v in point.items()))
    print(format_table(table))
    return 0


def _show(value) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.17g}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=6, threshold=6, separator=",")
    return str(value)


def format_table(table) -> str:
    """The comparison table for a terminal: derivatives to 17 digits, errors and times short."""
    short = {"max rho": "{:.1e}", "max rel err": "{:.1e}", "time/call [us]": "{:.1f}",
             "prepare [ms]": "{:.1f}"}
    formatters = {}
    for column in table.columns:
        fmt = short.get(column)
        formatters[column] = (lambda v, f=fmt: "" if v != v else f.format(v)) if fmt else _show
    return table.to_string(index=False, formatters=formatters, na_rep="")


def _cmd_list(args: argparse.Namespace) -> int:
    from .api import METHODS

    what = args.what
    if what in ("methods", "all"):
        from . import numeric

        print("methods:", ", ".join(METHODS))
        print("numeric schemes:", ", ".join(f"numeric:{s}" for s in numeric.SCHEMES),
              f"(default: {numeric.DEFAULT_SCHEME})")
    if what in ("problems", "all"):
        from .lab.problems import PROBLEMS

        print("problems:")
        for p in PROBLEMS.values():
            print(f"  {p.name:<24} {p.family:<12} {p.description}")
    if what in ("experiments", "all"):
        from .lab.experiments import available

        print("experiments:")
        for name, module in available().items():
            print(f"  {name:<20} {module.QUESTION}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .lab.experiments import run_experiments

    report = args.report
    if report is None:  # a smoke run must not overwrite the committed full-size report
        report = "reports/quick" if args.quick else "reports"
    run_experiments(args.experiments, quick=args.quick, results=args.results,
                    resume=args.resume, report_dir=report)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .lab.experiments import ORDER
    from .lab.report import write_report

    path = write_report(args.runs or None, out=args.out, results=args.results, order=ORDER)
    print(f"wrote {path}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (argparse would print the usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="difflab", description="A laboratory for differentiation: symbolic, numeric, "
        "forward and reverse mode, with JAX as the reference.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)

    p = sub.add_parser("grad", help="the gradient by every method, side by side",
                       description="Print the gradient of EXPRESSION at a point by every "
                       "method, with its error against the 50-digit truth and its time.")
    p.add_argument("expression", help='grammar text, e.g. "sin(x) * y"')
    p.add_argument("--at", nargs="+", default=[], metavar="NAME=VALUE",
                   help="the point: x=1.5 y=2 (arrays: v=1,2,3 or v=[[1,2],[3,4]])")
    p.add_argument("--methods", nargs="+", metavar="METHOD",
                   help="methods to compare (default: all; variants like numeric:central)")
    p.add_argument("--wrt", nargs="+", metavar="NAME", help="variables (default: all)")
    p.set_defaults(func=_cmd_grad)

    p = sub.add_parser("run", help="run experiments and write their results and report",
                       description="Run experiments into results/, then write reports/.")
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                   help="experiment names (default: all; see `difflab list experiments`)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    p.add_argument("--results", default="results", help="results directory (default results/)")
    p.add_argument("--resume", metavar="RUN", help="resume this run directory")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="where to write the report (default reports/, or reports/quick/ "
                   "with --quick)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("report", help="rebuild the report from stored runs",
                       description="Rebuild the Markdown + HTML report from stored runs.")
    p.add_argument("runs", nargs="*", metavar="RUN",
                   help="run directories (default: the newest run of each experiment)")
    p.add_argument("--out", default="reports", help="output directory (default reports/)")
    p.add_argument("--results", default="results", help="where runs are found (default results/)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("list", help="list problems, methods and experiments",
                       description="List what the lab knows.")
    p.add_argument("what", nargs="?", default="all",
                   choices=["all", "problems", "methods", "experiments"])
    p.set_defaults(func=_cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``difflab`` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help (0) or a bad argument (2, one line already printed)
        return done.code if isinstance(done.code, int) else 2
    try:
        return args.func(args)
    except (ValueError, KeyError, TypeError, FileNotFoundError) as err:
        message = str(err).strip("'\"").split("\n")[0]  # one line, no traceback
        if isinstance(err, FileNotFoundError) and err.filename:
            message = f"no such file or directory: {err.filename}"
        print(f"difflab {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("difflab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
