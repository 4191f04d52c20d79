"""The command line: ``difflab grad``, ``run``, ``report``, ``list``, ``gradbench``.

``difflab grad "sin(x)*y" --at x=1 y=2`` is the first thing a newcomer types: the gradient by
every method side by side, with its error against the 50-digit truth and its time.

Every failure is one line on stderr and exit status 2, never a traceback: bad input, a number
beyond float64, a run another process has open, a directory that cannot be written, an
unexpected error (named by its type; ``DIFFLAB_TRACEBACK=1`` shows the traceback instead).
Warnings are one line too. A reader that stops reading (``difflab list | head -1``) ends the
command quietly with status 141, as a program killed by SIGPIPE would (``cat``, ``seq``), so
``set -o pipefail`` scripts see it as any other Unix tool in the same place.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import warnings
from collections.abc import Sequence

import numpy as np

BROKEN_PIPE = 128 + signal.SIGPIPE  # 141: the status of a process killed by SIGPIPE


def _number(text: str) -> float:
    """A float from ``text``; a literal beyond float64's range is refused (``inf`` is fine)."""
    value = float(text)
    if math.isinf(value) and "inf" not in text.lower():
        raise OverflowError(f"{text[:40]}{'...' if len(text) > 40 else ''} is beyond "
                            f"float64's range (largest {np.finfo(float).max:.3g})")
    return value


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
            parsed = json.loads(value, parse_int=_number, parse_float=_number)
        elif "," in value:
            parsed = [_number(v) for v in value.split(",")]
        else:
            parsed = _number(value)
    except OverflowError as err:
        raise ValueError(f"--at {name}: {err}") from None
    except RecursionError:  # JSON nested thousands deep
        raise ValueError(f"--at {name}: {shown!r} is nested too deeply") from None
    except ValueError:
        raise ValueError(f"--at {name}: {value!r} is not a number or a list of numbers") from None
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


def check_literals(text: str) -> None:
    """Refuse a number literal beyond float64's range (``1e999``, 400 digits), which would
    otherwise become inf (or an OverflowError) without saying which literal."""
    import io
    import tokenize

    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.NUMBER:
                try:
                    _number(token.string.replace("_", ""))
                except ValueError:  # 1j and the like: the grammar's to refuse
                    continue
    except OverflowError as err:
        raise ValueError(f"the number {err}") from None
    except (tokenize.TokenError, SyntaxError):  # unbalanced text: the parser says where
        return


def _cmd_grad(args: argparse.Namespace) -> int:
    from .api import METHODS, resolve
    from .core.parser import parse
    from .core.printer import summary
    from .lab.compare import compare

    check_literals(args.expression)
    expr = parse(args.expression)
    if not expr.variables:
        raise ValueError(f"{args.expression[:60]!r} has no variables: there is nothing to "
                         f"differentiate")
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
        return f"{value:.17g}"  # nan and inf print as themselves
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=6, threshold=6, separator=",")
    return str(value)


def format_table(table) -> str:
    """The comparison table for a terminal: derivatives to 17 digits, errors and times short.

    A derivative that is nan shows "nan"; a method that raised shows no derivative at all.
    """
    from .lab.compare import RESULT_STATUSES

    status = table["status"].astype(str)
    gave = status.isin(RESULT_STATUSES) | status.str.startswith("reference")
    short = {"max rho": "{:.1e}", "max rel err": "{:.1e}", "time/call [us]": "{:.1f}",
             "prepare [ms]": "{:.1f}"}
    shown, formatters = table.copy(), {}
    for column in table.columns:
        fmt = short.get(column)
        if str(column).startswith("d/d"):
            shown[column] = [_show(v) if g else "" for v, g in zip(table[column], gave,
                                                                    strict=True)]
            formatters[column] = str
        else:
            formatters[column] = (lambda v, f=fmt: "" if v != v else f.format(v)) if fmt \
                else _show
    return shown.to_string(index=False, formatters=formatters, na_rep="")


def _cmd_list(args: argparse.Namespace) -> int:
    from .api import METHODS
    from .method_table import methods

    what = args.what
    if args.paths and what != "experiments":
        raise ValueError("only `difflab list experiments` takes paths (experiment files or "
                         "directories of them)")
    if what in ("methods", "all"):
        from . import numeric

        print("methods:", ", ".join(METHODS))
        print("numeric schemes:", ", ".join(f"numeric:{s}" for s in numeric.SCHEMES),
              f"(default: {numeric.DEFAULT_SCHEME})")
        more = [m for m in methods() if m not in METHODS]
        if more:
            print("registered methods (peers, plugins):", ", ".join(more))
    if what in ("problems", "all"):
        from .lab.problems import problems

        print("problems:")
        for p in problems():
            print(f"  {p.name:<24} {getattr(p, 'family', ''):<12} "
                  f"{getattr(p, 'description', '')}")
    if what in ("experiments", "all"):
        from .lab.experiments import listing

        print("experiments:")
        for name, _, _, question in listing(args.paths):
            print(f"  {name:<20} {question}")
    return 0


def _executor(args: argparse.Namespace):
    """The executor ``--executor`` asks for (None: each sweep's own local default)."""
    if args.executor != "dask":
        if args.scheduler or args.workers is not None:
            raise ValueError("--scheduler and --workers go with --executor dask")
        return None
    from .lab.dask_executor import DaskExecutor

    return DaskExecutor(scheduler=args.scheduler, workers=args.workers)


def _cmd_run(args: argparse.Namespace) -> int:
    from .lab.executors import use_executor
    from .lab.experiments import run_experiments

    report = args.report
    if report is None:  # a smoke run must not overwrite the committed full-size report
        report = "reports/quick" if args.quick else "reports"
    with use_executor(_executor(args)):
        run_experiments(args.experiments, quick=args.quick, results=args.results,
                        resume=args.resume, report_dir=report)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .lab.experiments import ORDER
    from .lab.report import write_report

    path = write_report(args.runs or None, out=args.out, results=args.results, order=ORDER,
                        studies=args.study)
    print(f"wrote {path}")
    return 0


def _cmd_gradbench(args: argparse.Namespace) -> int:
    from .gradbench.protocol import main as serve

    return serve(args.method)


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
                   help="methods to compare (default: the built-in ones; variants like "
                   "numeric:central; registered ones like numdifftools)")
    p.add_argument("--wrt", nargs="+", metavar="NAME", help="variables (default: all)")
    p.set_defaults(func=_cmd_grad)

    p = sub.add_parser("run", help="run experiments and write their results and report",
                       description="Run experiments into results/, then write reports/.")
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                   help="experiment names or experiment files (path/to/mine.py; default: "
                   "all; see `difflab list experiments`)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    p.add_argument("--results", default="results", help="results directory (default results/)")
    p.add_argument("--resume", metavar="RUN", help="resume this run directory")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="where to write the report (default reports/, or reports/quick/ "
                   "with --quick)")
    p.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="where cells run: the local worker process (default) or a Dask "
                   "cluster (the same limits, rows written here)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --executor dask: a running scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--workers", type=int, metavar="N",
                   help="with --executor dask: start a local cluster of N processes")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("report", help="rebuild the report from stored runs",
                       description="Rebuild the Markdown + HTML report from stored runs.")
    p.add_argument("runs", nargs="*", metavar="RUN",
                   help="run directories (default: the newest run of each experiment)")
    p.add_argument("--out", default="reports", help="output directory (default reports/)")
    p.add_argument("--results", default="results", help="where runs are found (default results/)")
    p.add_argument("--study", action="append", default=[], metavar="STUDY",
                   help="a study of your own (a .py file or a module) whose runs' sections to "
                        "build; repeatable. difflab's studies need no naming, and a study that "
                        "a run's meta.json names is never imported by itself")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("list", help="list problems, methods and experiments",
                       description="List what the lab knows.")
    p.add_argument("what", nargs="?", default="all",
                   choices=["all", "problems", "methods", "experiments"])
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="experiments: also these experiment files, or directories of them")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("gradbench", help="serve GradBench's protocol on stdin/stdout",
                       description="difflab as a GradBench tool: one JSON message per line in, "
                       "one answer per line out (see difflab.gradbench).")
    p.add_argument("--method", default="reverse", help="the method (default reverse)")
    p.set_defaults(func=_cmd_gradbench)
    return parser


def error_message(err: BaseException) -> str:
    """One line saying what went wrong, for any exception a command may raise."""
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(err.args[0], str):
        text = err.args[0]  # str(KeyError) would quote it
    else:
        text = str(err)
    text = text.strip().split("\n")[0]
    if isinstance(err, FileNotFoundError) and err.filename:
        return f"no such file or directory: {err.filename}"
    if isinstance(err, OSError) and err.filename:
        reason = err.strerror or text
        return f"{reason[0].lower()}{reason[1:]}: {err.filename}"
    if isinstance(err, OverflowError):
        return f"a number is beyond float64's range ({text})"
    if isinstance(err, RecursionError):
        return "the input is nested too deeply"
    if isinstance(err, MemoryError):
        return "out of memory"
    if isinstance(err, ValueError | KeyError | TypeError | RuntimeError | OSError):
        return text or type(err).__name__
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"difflab: warning: {str(message).splitlines()[0]}", file=sys.stderr)


def _reader_gone() -> int:
    """stdout's reader has gone: point stdout at /dev/null (the interpreter's last flush
    would raise again) and end with SIGPIPE's status, silently."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind stdout
        pass
    return BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``difflab`` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help (0) or a bad argument (2, one line already printed)
        return done.code if isinstance(done.code, int) else 2
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            status = args.func(args)
            sys.stdout.flush()  # a reader that has gone shows here, not at interpreter exit
            return status
        except BrokenPipeError:
            return _reader_gone()
        except KeyboardInterrupt:
            print("difflab: interrupted", file=sys.stderr)
            return 130
        except Exception as err:  # noqa: BLE001 - every failure is one line, never a traceback
            if os.environ.get("DIFFLAB_TRACEBACK"):
                raise
            print(f"difflab {args.command}: error: {error_message(err)}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
