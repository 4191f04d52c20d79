"""Running experiments: configs from experiment files, logic from studies.

An experiment file is thin — a docstring, a ``CONFIG`` dict (default sizes), a ``QUICK`` dict
(overrides for a smoke test), ``main(__file__)`` and, when it is not one of difflab's own,
``STUDY = "accuracy"`` (the study it runs; see ``study`` for the interface and the other ways
to name one). ``experiments/<name>.py`` is found by its name, any other file by its path
(``difflab run path/to/mine.py``); the experiment is called by the file's stem. This module
runs the study into ``results/<name>-<stamp>/`` (resuming an unfinished run of the same
configuration, so a killed ``make report`` picks up where it stopped) and rebuilds the report.

A file given by path is executed as a script would be: its directory goes first on
``sys.path``, so a module beside it (the user's methods or problems, named by import path)
imports — here and in the worker processes, which inherit the path.

Before anything runs, the config is checked (``validate``: its methods, problems, schemes and,
for a study with ``cells(config)``, every cell's size parameters), the results and report
directories must be writable, and a run given by ``--resume`` must be a run of the same
experiment with the same config (the message says what differs).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .report import newest_runs, write_report
from .store import META, Run, load_meta, writable_dir
from .study import builtin_studies, check_study, is_study, load_file, load_study
from .validate import check_cells, check_config, check_keys

# The order of the report: the gentle start first, the heavy measurements after.
ORDER = ["worked_example", "accuracy", "fd_steps", "cost_vs_inputs", "jacobian_shape",
         "expression_swell", "mlp_backprop", "gradient_flow", "hessian", "gradbench"]


def experiments_dir() -> Path:
    """The repository's ``experiments/`` directory."""
    return Path(__file__).resolve().parents[2] / "experiments"


@dataclass
class Experiment:
    """An experiment file, loaded: its name, config and the study that runs it."""

    name: str          # the file's stem: run ids, meta and the report use it
    path: Path
    where: str         # how messages name the file
    config: dict
    study: object      # the study module
    study_spec: str    # how meta.json names the study (a name, a module, an absolute path)


class NoStudy(ValueError):
    """An experiment file that names no study (listed, but not run)."""


def _ordered(names) -> list[str]:
    return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))


def experiment_files(paths=()) -> list[Path]:
    """The experiment files of ``experiments/`` (in report order), then those of ``paths``
    (files, or directories of them)."""
    files = [experiments_dir() / f"{n}.py" for n in _ordered(
        p.stem for p in experiments_dir().glob("*.py") if not p.stem.startswith("_"))]
    for path in map(Path, paths):
        more = sorted(path.glob("*.py")) if path.is_dir() else [path]
        files += [p.resolve() for p in more if not p.stem.startswith("_")]
    return list(dict.fromkeys(files))


def _defines_an_experiment(path: Path) -> bool:
    """Whether a file assigns CONFIG or STUDY, or defines a study's run and section, at its
    top level: read from its syntax tree, so that listing a directory runs only those files.

    Raises:
        ValueError: a file that cannot be read or parsed (its listing says why).
    """
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"{type(err).__name__}: {err}") from None
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        names.update(t.id for t in targets if isinstance(t, ast.Name))
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return bool(names & {"CONFIG", "STUDY"}) or {"run", "section"} <= names


def listing(paths=()) -> list[tuple[str, Path, object | None, str]]:
    """(name, file, study or None, the question or why it is not an experiment) per file of
    ``experiment_files(paths)``: a file with a CONFIG that names no study is listed with the
    reason; a file with neither (a module of methods beside the experiments) is left out."""
    rows = []
    for path in experiment_files(paths):
        try:
            if not _defines_an_experiment(path):  # (read, not run: a script beside them)
                continue
            found = load_experiment(str(path))
            rows.append((found.name, path, found.study, found.study.QUESTION))
        except NoStudy:
            rows.append((path.stem, path, None, "(names no study, so `difflab run` leaves it "
                         "out: add STUDY = \"<a study>\"; see CONTRIBUTING.md)"))
        except (ValueError, TypeError, OSError) as err:
            rows.append((path.stem, path, None, f"(does not run: {err})"))
    return rows


def available() -> dict[str, object]:
    """Experiment name -> its study module, for every experiments/<name>.py with a study."""
    return {name: study for name, _, study, _ in listing() if study is not None}


def find_file(name: str | os.PathLike) -> Path:
    """The experiment file: ``experiments/<name>.py`` for a bare name, else the path given
    (ending in ``.py``). Raises ValueError for neither, listing the known experiments."""
    if not isinstance(name, str | os.PathLike):
        raise TypeError(f"an experiment name must be a string, got {type(name).__name__}")
    text = os.fspath(name)
    if text.endswith(".py"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ValueError(f"unknown experiment file {text!r}: no such file")
        return path.resolve()
    path = experiments_dir() / f"{text}.py"
    if not text.isidentifier() or not path.exists():  # a bare name: never a path elsewhere
        known = ", ".join(available()) or "none"
        raise ValueError(f"unknown experiment {text!r}; known experiments: {known} (or give "
                         f"the path of an experiment file, ending in .py)")
    return path


def _study(module, path: Path, where: str) -> tuple[object, str]:
    """The study an experiment file runs (its ``STUDY``, itself, or the study of its name)."""
    spec = getattr(module, "STUDY", None)
    if spec is not None:
        try:
            return load_study(spec, base=path.parent)
        except ValueError as err:
            raise ValueError(f"{where}: STUDY = {spec!r}: {err}") from None
    if is_study(module):
        check_study(module, where)
        return module, str(path)
    if path.parent == experiments_dir() and path.stem in builtin_studies():
        return load_study(path.stem)
    raise NoStudy(f"{where} names no study: add STUDY = \"accuracy\" (difflab's studies: "
                     f"{', '.join(builtin_studies())}; or a module or a .py file of your "
                     f"own), or define NAME, TITLE, QUESTION, run and section in the file "
                     f"(see CONTRIBUTING.md)")


def load_experiment(name: str | os.PathLike, quick: bool = False) -> Experiment:
    """Find, execute and read an experiment file (see the module docstring).

    Args:
        name: an experiment of ``experiments/`` or the path of a ``.py`` file.
        quick: apply the file's QUICK overrides.
    Raises:
        ValueError: no such file, a file that does not load, a CONFIG or QUICK that is not a
            dict, a QUICK key CONFIG lacks, no study (each message names the file).
    """
    path = find_file(name)
    inside = path.parent == experiments_dir()
    where = f"experiments/{path.stem}.py" if inside else os.path.relpath(path)
    if not inside:
        if (experiments_dir() / path.name).exists():
            raise ValueError(f"{where} has the name of difflab's experiment {path.stem!r}; "
                             f"rename it (its runs and report section would be confused)")
        if str(path.parent) not in sys.path:  # as for a script: modules beside it import
            sys.path.insert(0, str(path.parent))
    try:
        module = load_file(path)
    except Exception as err:  # a broken config file: say which and why, in one line
        raise ValueError(f"{where} does not load: {type(err).__name__}: {err}") from err
    config, overrides = getattr(module, "CONFIG", {}), getattr(module, "QUICK", {})
    for label, block in (("CONFIG", config), ("QUICK", overrides)):
        if not isinstance(block, dict):
            raise ValueError(f"{where}: {label} must be a dict, got {type(block).__name__}")
    unknown = [k for k in overrides if k not in config]
    if unknown:
        raise ValueError(f"{where}: QUICK sets {unknown[0]!r}, which CONFIG does not have; "
                         f"CONFIG's keys: {', '.join(map(str, config)) or 'none'}")
    config = dict(config)
    if quick:
        config.update(overrides)
    study, spec = _study(module, path, where)
    return Experiment(path.stem, path, where, config, study, spec)


def load_config(name: str, quick: bool = False) -> dict:
    """The experiment's CONFIG, with its QUICK overrides applied when ``quick``."""
    return load_experiment(name, quick).config


def check_experiment(name: str, config: dict, study, where: str | None = None) -> None:
    """Check a config before its sweep: names (``validate.check_config``), keys a study of
    another file does not read (``validate.check_keys``) and, for a study with
    ``cells(config)``, every cell it would run (``validate.check_cells``).

    Raises:
        ValueError: naming the experiment file, the bad entry and the known ones.
    """
    from .execute import Settings

    where = where or f"experiments/{name}.py"
    extra = tuple(getattr(study, "EXTRA_METHODS", ()))
    check_config(config, where, extra, values=getattr(study, "CONFIG_VALUES", None))
    if getattr(study, "NAME", name) != name:  # a study run from another file: typos matter
        own = experiments_dir() / f"{study.NAME}.py"
        also = getattr(load_file(own), "CONFIG", {}) if own.is_file() else {}
        check_keys(config, study, where, also)
    if callable(getattr(study, "cells", None)):
        try:
            cells = study.cells(config)
        except KeyError as err:
            raise ValueError(f"{where}: the config has no {err} (the study needs it)") from None
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: {err}") from None
        check_cells(cells, Settings(), where, extra)


def _canonical(config) -> object:
    """A config as stored in meta.json (JSON: tuples become lists, other objects strings)."""
    return json.loads(json.dumps(config, sort_keys=True, default=str))


def config_differences(stored, config) -> list[str]:
    """What differs between a stored run's config and this one, one phrase per key."""
    stored, config = _canonical(stored) or {}, _canonical(config) or {}
    if not isinstance(stored, dict) or not isinstance(config, dict):
        return [] if stored == config else ["the whole config"]
    phrases = []
    for key in sorted(set(stored) | set(config)):
        old, new = stored.get(key, "(absent)"), config.get(key, "(absent)")
        if old != new:
            phrases.append(f"{key}: {_short(old)} in the run, {_short(new)} now")
    return phrases


def _short(value, limit: int = 60) -> str:
    text = value if value == "(absent)" else json.dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_resumable(path: str | Path, name: str, config: dict, quick: bool) -> Path:
    """``path`` if it is a run of experiment ``name`` made with ``config``; else ValueError.

    Resuming a run of another experiment would append its rows to that run (and the report
    would lose a section); another config would mix two sweeps under one meta.json.
    """
    path = Path(path)
    if not (path / META).is_file():
        raise FileNotFoundError(f"--resume {path}: not a run directory (no {META})")
    try:
        meta = load_meta(path)
    except ValueError as err:  # (not JSON, or not an object: the message names the file)
        raise ValueError(f"--resume {path}: {err}") from None
    stored = meta.get("experiment")
    if not stored:
        raise ValueError(f"--resume {path}: its {META} names no experiment, so it is not a run "
                         f"of {name!r}")
    if stored != name:
        raise ValueError(f"--resume {path}: it is a run of {stored!r}, not of {name!r}; resume "
                         f"it with `difflab run {stored} --resume {path}`")
    differences = config_differences(meta.get("config"), config)
    if differences:
        hint = ""
        if bool(meta.get("quick")) != quick:
            hint = f" (the run was made {'with' if meta.get('quick') else 'without'} --quick)"
        more = f"; and {len(differences) - 3} more" if len(differences) > 3 else ""
        raise ValueError(f"--resume {path}: the run was made with another config of {name}"
                         f"{hint}: {'; '.join(differences[:3])}{more}")
    return path


def _unfinished(results: Path, name: str, config: dict) -> Path | None:
    """The newest unfinished run of this experiment with the same config, if any."""
    candidates = []
    for meta_file in results.glob(f"{name}-*/meta.json"):
        try:
            meta = load_meta(meta_file.parent)
        except (OSError, ValueError):
            continue
        same = json.dumps(meta.get("config"), sort_keys=True, default=str) == \
            json.dumps(config, sort_keys=True, default=str)
        if meta.get("end_time") is None and same:
            candidates.append((meta.get("start_time") or "", meta_file.parent))
    return max(candidates)[1] if candidates else None


def checked(name: str | os.PathLike, quick: bool) -> Experiment:
    """The experiment, its config checked (``check_experiment``)."""
    found = load_experiment(name, quick)
    check_experiment(found.name, found.config, found.study, found.where)
    return found


def _checked(name: str, quick: bool) -> tuple[dict, object]:
    """The experiment's config and study module, the config checked."""
    found = checked(name, quick)
    return found.config, found.study


def run_experiment(name: str | os.PathLike, quick: bool = False,
                   results: str | Path = "results", resume: str | Path | None = None,
                   settings=None) -> Path:
    """Run one experiment; returns its run directory.

    Args:
        name: an experiment of ``experiments/`` or the path of an experiment file.
        quick: use the QUICK sizes.
        results: the results directory.
        resume: a run directory to resume (default: an unfinished run with the same config).
        settings: a ``difflab.lab.Settings`` for cell sweeps (default: the study's choice).
    """
    from .execute import Settings

    found = checked(name, quick)
    name, config = found.name, found.config
    results = writable_dir(results, "results directory")
    previous = check_resumable(resume, name, config, quick) if resume else \
        _unfinished(results, name, config)
    if previous is not None:
        run = Run.open(previous)
        print(f"[{name}] resuming {previous} ({len(run.done)} cells done)")
    else:
        run_id = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if quick else ''}"
        run = Run.create(results, run_id=run_id, config=config, seed=config.get("seed", 0),
                         experiment=name, quick=quick, study=found.study_spec)
    start = time.perf_counter()
    try:
        with run:
            found.study.run(config, run, settings or Settings())
    except BaseException:
        if previous is None and not run.n_rows:  # refused before its first cell: no trace
            run.discard()
        raise
    print(f"[{name}] {run.n_rows} rows in {time.perf_counter() - start:.1f} s -> {run.path}")
    return run.path


def run_experiments(names: list[str] | None = None, quick: bool = False,
                    results: str | Path = "results", resume: str | Path | None = None,
                    report_dir: str | Path | None = "reports") -> list[Path]:
    """Run several experiments (default: all), then rebuild the report from their runs."""
    names = names or list(available())
    if resume and len(names) != 1:
        raise ValueError("--resume takes a single experiment's run")
    found = [checked(name, quick) for name in names]  # every config, before the first runs
    writable_dir(results, "results directory")  # both before hours of work, not after
    if report_dir is not None:
        writable_dir(report_dir, "report directory")
    runs = [run_experiment(n, quick, results, resume) for n in names]
    if report_dir is not None:
        # The report covers every experiment: these runs, and the newest of the others.
        newest = {load_meta(r).get("experiment"): r for r in newest_runs(results)}
        newest.update({load_meta(r).get("experiment"): r for r in runs})
        path = write_report(list(newest.values()), out=report_dir, order=ORDER,
                            trusted={e.study_spec: e.study for e in found})  # (its own)
        print(f"report: {path} and {Path(path).with_suffix('.html')}")
    return runs


def main(file: str) -> None:
    """The body of every experiment file: parse flags, run, write the report."""
    name = str(Path(file).resolve())
    parser = argparse.ArgumentParser(description=(load_doc(file) or
                                                  f"experiment {Path(file).stem}"))
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--resume", help="a run directory to resume")
    parser.add_argument("--results", default="results", help="results directory")
    parser.add_argument("--report", default=None,
                        help="report directory (default reports/, reports/quick/ with --quick)")
    args = parser.parse_args()
    report = args.report or ("reports/quick" if args.quick else "reports")
    run_experiments([name], args.quick, args.results, args.resume, report)


def load_doc(file: str) -> str:
    """The first line of an experiment file's docstring."""
    import ast

    doc = ast.get_docstring(ast.parse(Path(file).read_text(encoding="utf-8"))) or ""
    return doc.split("\n")[0]
