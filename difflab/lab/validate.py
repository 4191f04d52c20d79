"""Checking a sweep before it starts: every method, problem and size parameter it names.

A typo in a config (``"revrse"``, a problem that does not exist, a size parameter the problem
does not take) must not run an hour's sweep that records a row of errors per cell. Both checks
here run before the first cell and raise one ValueError naming the bad entry (and how many more
there are) and the known names:

- ``check_config(config)`` reads a config by its keys: methods are listed under ``methods``,
  any ``*_methods`` and ``ad``, and are the keys of ``max_n``; problems under ``problem``,
  ``problems``, ``scalar`` and ``functions``; finite-difference schemes under ``schemes``.
- ``check_cells(cells, settings)`` checks what a sweep will actually run: each distinct method
  (``difflab.api.resolve``: ``METHODS`` and ``numeric:<scheme>``, plus the names a study's
  prepare hook adds in its module's ``EXTRA_METHODS``), each problem (the problems hook) and
  each set of size parameters (the problem's ``resolve``, which refuses unknown names).

A prepare hook whose module declares no ``EXTRA_METHODS`` defines its own method names (the
tests' fakes): its methods are not second-guessed; its problems and parameters still are.

Methods include every registered one (``difflab.register_method``, difflab's peers, the
``difflab.methods`` entry points: ``resolve`` knows them), and problems every import path
``module:function`` and ``difflab.problems`` entry point (``get_problem`` knows them).

- ``check_keys(config, study)`` refuses a key the study never reads (``"seedz"`` for
  ``"seeds"``), for an experiment file that runs a study of another name (``STUDY = ...``):
  the keys a study reads are its ``CONFIG_KEYS`` if it declares them, else those its source
  reads as ``config["key"]`` or ``config.get("key")`` (in its module and the modules beside it
  that it imports), with the keys of its own experiment file.

``check_config`` also checks the values of the keys many studies read alike (``VALUES``):
``time_limit`` (a positive finite number of seconds), ``min_time`` and ``max_time``
(non-negative finite seconds), ``samples`` and ``repeats`` (ints >= 1), ``memory_limit_mib``
(a positive finite number or None), ``isolate`` (True or False), ``seed`` (an int >= 0) and
``seeds`` (a list of ints >= 0, one cell seed each). A study that reads one of these keys
otherwise says so in its module's ``CONFIG_VALUES`` (``{key: (check, what is allowed)}``, as
``gradient_flow``'s ``seeds``, a number of seeds).
"""

from __future__ import annotations

import ast
import importlib
import json
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from .. import numeric
from ..api import resolve
from .cell import Cell
from .execute import load_hook

DEFAULT_PREPARE = "difflab.api:prepared"
METHOD_KEYS = ("methods", "ad")          # and every key ending in "_methods"
METHOD_DICT_KEYS = ("max_n",)            # {method: cap}
PROBLEM_KEYS = ("problem", "problems", "scalar", "functions")
SCHEME_KEYS = ("schemes",)


def number(least: float, strict: bool = False) -> Callable[[object], bool]:
    """A check: a finite real number (not a bool) above ``least`` (or at it, unless strict)."""
    def check(value) -> bool:
        return isinstance(value, numbers.Real) and not isinstance(value, bool) and \
            math.isfinite(value) and (value > least if strict else value >= least)
    return check


def whole(least: int) -> Callable[[object], bool]:
    """A check: an int (not a bool) >= ``least``."""
    return lambda value: isinstance(value, numbers.Integral) and \
        not isinstance(value, bool) and value >= least


def _seeds(value) -> bool:
    return isinstance(value, list | tuple) and all(whole(0)(seed) for seed in value)


# key -> (check, what is allowed): the values of the keys many studies read alike
VALUES: dict[str, tuple[Callable[[object], bool], str]] = {
    "time_limit": (number(0, strict=True), "a positive finite number of seconds"),
    "min_time": (number(0), "a finite number of seconds >= 0"),
    "max_time": (number(0), "a finite number of seconds >= 0"),
    "samples": (whole(1), "an int >= 1"),
    "repeats": (whole(1), "an int >= 1"),
    "memory_limit_mib": (lambda v: v is None or number(0, strict=True)(v),
                         "a positive finite number of MiB, or None"),
    "isolate": (lambda v: isinstance(v, bool), "True or False"),
    "seed": (whole(0), "an int >= 0"),
    "seeds": (_seeds, "a list of ints >= 0"),
}


def value_error(key: str, value, values: Mapping | None = None) -> str | None:
    """Why ``value`` is not allowed under ``key`` (None when it is, or ``key`` is unchecked).

    Args:
        key: the config key.
        value: its value.
        values: a study's own ``{key: (check, allowed)}``, over ``VALUES``.
    """
    check, allowed = {**VALUES, **(values or {})}.get(key, (None, ""))
    if check is None or check(value):
        return None
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{key} = {shown} is not allowed: {key} must be {allowed}"


def method_error(method, extra: Sequence[str] = ()) -> str | None:
    """Why ``method`` is not a method name (None when it is one).

    Args:
        method: a name such as ``reverse`` or ``numeric:central``.
        extra: more names the caller knows (a study's own variants).
    """
    if isinstance(method, str) and method in extra:
        return None
    try:
        resolve(method)
    except (ValueError, TypeError) as err:
        also = f"; this experiment also knows {', '.join(extra)}" if extra else ""
        return f"{err}{also}"
    return None


def _problem_error(get_problem, name) -> tuple[object, str | None]:
    try:
        return get_problem(name), None
    except Exception as err:  # noqa: BLE001 - any hook's refusal is the message
        return None, str(err).strip("'\"")


def _names(config: Mapping, key: str, what: str) -> tuple[list, list[str]]:
    """The names listed under ``key`` and, if the value is no list of names, why."""
    value = config[key]
    if key == "problems" and value is None:        # None: the study's whole default list
        return [], []
    if key == "problem":
        return [value], []
    if key in METHOD_DICT_KEYS:                    # {method: cap}
        return list(value), []
    if isinstance(value, list | tuple):
        return list(value), []
    return [], [f"{key}: must be a list of {what} names, got {type(value).__name__}"]


def _raise(where: str, errors: list[str]) -> None:
    if errors:
        more = f" (and {len(errors) - 1} more problem(s) with the config)" if len(errors) > 1 \
            else ""
        raise ValueError(f"{where}: {errors[0]}{more}")


def check_config(config: Mapping, where: str = "config", extra_methods: Sequence[str] = (),
                 problems: str = "difflab.lab.problems:get_problem",
                 values: Mapping | None = None) -> None:
    """Check the method, problem and scheme names a config lists and the values of its common
    keys (see the module docstring).

    Args:
        config: the experiment's configuration.
        where: how the message names the config (``experiments/accuracy.py``).
        extra_methods: method names the study adds to ``difflab.api``'s.
        problems: the problems hook (``module:function``) that knows the problem names.
        values: the study's own value checks (its ``CONFIG_VALUES``), over ``VALUES``.
    Raises:
        ValueError: naming the first bad entry, its key and the known names (or what is
            allowed).
    """
    errors: list[str] = []
    get_problem = None
    for key in config:
        error = value_error(key, config[key], values)
        if error:
            errors.append(error)
        if key in METHOD_KEYS or key.endswith("_methods") or key in METHOD_DICT_KEYS:
            if key in METHOD_DICT_KEYS and not isinstance(config[key], Mapping):
                continue  # a plain cap, not per method
            names, errors_here = _names(config, key, "method")
            errors += errors_here
            errors += [f"{key}: {e}" for e in (method_error(m, extra_methods) for m in names)
                       if e]
        elif key in PROBLEM_KEYS:
            names, errors_here = _names(config, key, "problem")
            errors += errors_here
            get_problem = get_problem or load_hook(problems)
            errors += [f"{key}: {e}" for _, e in (_problem_error(get_problem, n)
                                                   for n in names) if e]
        elif key in SCHEME_KEYS:
            names, errors_here = _names(config, key, "scheme")
            errors += errors_here
            for scheme in names:
                try:
                    numeric.check_scheme(scheme)
                except ValueError as err:
                    errors.append(f"{key}: {err}")
    _raise(where, errors)


def check_cells(cells: Iterable[Cell], settings, where: str = "sweep",
                extra_methods: Sequence[str] = ()) -> None:
    """Check every distinct method, problem and parameter set of ``cells`` before a sweep.

    Args:
        cells: the cells to run.
        settings: the sweep's ``Settings`` (its ``prepare`` and ``problems`` hooks).
        where: how the message names the sweep.
        extra_methods: method names known beyond ``difflab.api``'s (added to the prepare
            hook module's ``EXTRA_METHODS``).
    Raises:
        ValueError: naming the first bad method, problem or parameter and the known ones.
    """
    cells = list(cells)
    errors: list[str] = []
    extra = tuple(extra_methods)
    check_methods = settings.prepare == DEFAULT_PREPARE
    if not check_methods:
        _hook(settings.prepare, "prepare")
        module = importlib.import_module(settings.prepare.partition(":")[0])
        declared = getattr(module, "EXTRA_METHODS", None)
        if declared is not None:
            check_methods, extra = True, extra + tuple(declared)
    if check_methods:
        for method in dict.fromkeys(c.method for c in cells):
            error = method_error(method, extra)
            if error:
                errors.append(f"cell {_first(cells, method=method)}: {error}")
    get_problem = _hook(settings.problems, "problems")
    problems: dict[str, object] = {}       # name -> problem (None: unknown, already said)
    seen: set[tuple[str, str]] = set()     # (problem, params) checked
    for cell in cells:
        if cell.problem not in problems:
            problems[cell.problem], error = _problem_error(get_problem, cell.problem)
            if error:
                errors.append(f"cell {cell}: {error}")
        resolve_params = getattr(problems[cell.problem], "resolve", None)
        key = (cell.problem, json.dumps(cell.params, sort_keys=True, default=str))
        if resolve_params is None or key in seen:
            continue
        seen.add(key)
        try:
            resolve_params(dict(cell.params))
        except (ValueError, TypeError) as err:
            errors.append(f"cell {cell}: {err}")
    _raise(where, errors)


def _hook(spec: str, what: str):
    """The hook named ``spec``; a ValueError naming it if it does not load."""
    try:
        return load_hook(spec)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"the {what} hook {spec!r} does not load: {type(err).__name__}: "
                         f"{err}") from None


def _first(cells: list[Cell], **match) -> Cell:
    return next(c for c in cells if all(getattr(c, k) == v for k, v in match.items()))


def _read_keys(path: Path) -> set[str]:
    """The constant keys ``config["k"]`` and ``config.get("k", ...)`` in one source file."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        target, key = None, None
        if isinstance(node, ast.Subscript):
            target, key = node.value, node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "get" and node.args:
            target, key = node.func.value, node.args[0]
        if isinstance(target, ast.Name) and target.id == "config" and \
                isinstance(key, ast.Constant) and isinstance(key.value, str):
            keys.add(key.value)
    return keys


def study_keys(study) -> set[str] | None:
    """The config keys ``study`` reads (see the module docstring); None if unknown."""
    declared = getattr(study, "CONFIG_KEYS", None)
    if declared is not None:
        return set(declared)
    source = getattr(study, "__file__", None)
    if not source or not Path(source).is_file():
        return None
    files, keys = [Path(source)], set()
    for node in ast.walk(ast.parse(files[0].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            files.append(files[0].parent / f"{node.module}.py")  # a module beside it
    for path in files:
        if path.is_file():
            keys |= _read_keys(path)
    return keys or None


def check_keys(config: Mapping, study, where: str = "config", also: Iterable[str] = ()) -> None:
    """Refuse a config key the study does not read (a typo would silently use a default).

    Args:
        config: the experiment's configuration.
        study: the study module that runs it.
        where: how the message names the config.
        also: more keys that are fine (those of the study's own experiment file).
    Raises:
        ValueError: naming the first unknown key and the known ones.
    """
    keys = study_keys(study)
    if keys is None:
        return
    known = keys | set(also)
    unknown = [k for k in config if k not in known]
    if unknown:
        _raise(where, [f"unknown config key {k!r}: study {getattr(study, 'NAME', '?')!r} "
                       f"reads {', '.join(sorted(known))}" for k in unknown])
