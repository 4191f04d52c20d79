"""The study interface, and where a study comes from.

A study is a module with

    NAME       str    the experiment name its cells and rows carry (``Cell(NAME, ...)``)
    TITLE      str    the heading of its report section
    QUESTION   str    the one question the section answers
    run(config, run, settings) -> None
               appends rows to ``run`` (a ``Run``): through ``run_sweep(cells, run, settings)``
               (each cell in a worker process under limits) or ``run.append(row)`` (each row
               with a ``cell_id``, so a resumed run can skip it)
    section(df, config, figdir) -> Section
               turns the rows (``load(run.path)``, a DataFrame) into the report's ``Section``
               (name, title, question, figure paths written under ``figdir``, a table, the
               findings as text, an optional summary)

and, optionally, ``cells(config) -> list[Cell]`` (every cell is then checked before the
sweep starts), ``EXTRA_METHODS`` (method names its own prepare hook adds) and ``CONFIG_KEYS``
(the config keys it reads; other keys are refused as typos).

An experiment file (``experiments/<name>.py`` or any file given by path) names its study with
``STUDY``: a study of difflab (``"accuracy"``), an importable module (``"my_pkg.my_study"``)
or a file (``"my_study.py"``, relative to the experiment file). Without ``STUDY``, a file that
defines ``run`` and ``section`` is its own study, and a file of ``experiments/`` takes the
study of its name (``experiments/accuracy.py`` -> ``difflab.studies.accuracy``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

from ..method_table import FILE_MODULE_PREFIX

REQUIRED = {"NAME": str, "TITLE": str, "QUESTION": str, "run": callable, "section": callable}
_files: dict[tuple[str, str], object] = {}  # (resolved path, digest of its source) -> module


def builtin_studies() -> list[str]:
    """The names of difflab's own studies (modules of ``difflab.studies`` with a ``run``)."""
    from .. import studies

    names = []
    for info in pkgutil.iter_modules(studies.__path__):
        path = Path(studies.__path__[0]) / f"{info.name}.py"
        if path.is_file() and "def run(" in path.read_text(encoding="utf-8"):
            names.append(info.name)
    return names


def load_file(path: str | Path):
    """The module of a Python file, executed once per content of the file.

    It is registered in ``sys.modules`` under a private name (``FILE_MODULE_PREFIX`` + the
    stem + a digest of the path), which no other process can import. Whatever the file
    raises while executing is raised (and the module forgotten).
    """
    path = Path(path).resolve()
    source = path.read_bytes()
    key = (str(path), hashlib.sha1(source).hexdigest())
    if key in _files:
        return _files[key]
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    name = f"{FILE_MODULE_PREFIX}{''.join(c if c.isalnum() else '_' for c in path.stem)}_" \
           f"{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # (dataclasses and pickle look a class's module up here)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    _files[key] = module
    return module


def check_study(study, where: str) -> None:
    """A ValueError naming what ``study`` lacks of the interface (see the module docstring)."""
    missing = [f"{attr} ({'a string' if kind is str else 'a function'})"
               for attr, kind in REQUIRED.items()
               if not (isinstance(getattr(study, attr, None), str) if kind is str
                       else callable(getattr(study, attr, None)))]
    if missing:
        raise ValueError(f"{where} is not a study: it has no {', '.join(missing)}; see the "
                         f"study interface in CONTRIBUTING.md")


def is_study(module) -> bool:
    """True for a module that defines ``run`` and ``section`` (it means to be a study)."""
    return callable(getattr(module, "run", None)) and callable(getattr(module, "section", None))


def load_study(spec: str, base: str | Path | None = None) -> tuple[object, str]:
    """The study named by ``spec`` and its canonical name (what a run's meta records).

    Args:
        spec: a study of difflab (``"accuracy"``), a module (``"pkg.study"``) or a file
            (``"study.py"``, absolute or relative to ``base``).
        base: the directory a relative file is found in (the experiment file's).
    Returns:
        (module, canonical spec): the study's name, the module name, or the absolute path.
    Raises:
        ValueError: no such study, or it lacks part of the interface.
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"STUDY must name a study (a string), got {spec!r}")
    if spec.endswith(".py"):
        path = Path(spec) if Path(spec).is_absolute() else Path(base or ".") / spec
        if not path.is_file():
            raise ValueError(f"study file {spec!r} not found (looked for {path})")
        try:
            module, canonical = load_file(path), str(path.resolve())
        except Exception as err:  # noqa: BLE001 - a broken study file, in one line
            raise ValueError(f"study file {spec!r} does not load: {type(err).__name__}: "
                             f"{err}") from None
    elif spec.isidentifier() and importlib.util.find_spec(f"difflab.studies.{spec}"):
        module, canonical = importlib.import_module(f"difflab.studies.{spec}"), spec
    else:
        try:
            module, canonical = importlib.import_module(spec), spec
        except ImportError as err:
            raise ValueError(f"unknown study {spec!r} ({type(err).__name__}: {err}); "
                             f"difflab's studies: {', '.join(builtin_studies())}; or name a "
                             f"module or a .py file") from None
    check_study(module, f"study {spec!r}")
    return module, canonical
