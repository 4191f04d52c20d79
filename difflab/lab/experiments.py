"""Running experiments: configs from ``experiments/*.py``, logic from ``difflab.studies``.

An experiment file is thin — a docstring, a ``CONFIG`` dict (default sizes), a ``QUICK`` dict
(overrides for a smoke test) and ``main(__file__)``. This module finds those files, runs the
study of the same name into ``results/<name>-<stamp>/`` (resuming an unfinished run of the
same configuration, so a killed ``make report`` picks up where it stopped) and rebuilds the
report.

Before anything runs, the config is checked (``validate``: its methods, problems, schemes and,
for a study with ``cells(config)``, every cell's size parameters), the results and report
directories must be writable, and a run given by ``--resume`` must be a run of the same
experiment with the same config (the message says what differs).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import time
from pathlib import Path

from .report import newest_runs, write_report
from .store import META, Run, load_meta, writable_dir
from .validate import check_cells, check_config

# The order of the report: the gentle start first, the heavy measurements after.
ORDER = ["worked_example", "accuracy", "fd_steps", "cost_vs_inputs", "jacobian_shape",
         "expression_swell", "mlp_backprop", "gradient_flow", "hessian", "gradbench"]


def experiments_dir() -> Path:
    """The repository's ``experiments/`` directory."""
    return Path(__file__).resolve().parents[2] / "experiments"


def available() -> dict[str, object]:
    """Experiment name -> its study module, for every experiments/<name>.py with a study."""
    found = {}
    names = sorted(p.stem for p in experiments_dir().glob("*.py") if not p.stem.startswith("_"))
    for name in sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        try:
            found[name] = importlib.import_module(f"difflab.studies.{name}")
        except ModuleNotFoundError:
            continue
    return found


def load_config(name: str, quick: bool = False) -> dict:
    """The experiment's CONFIG, with its QUICK overrides applied when ``quick``."""
    if not isinstance(name, str):
        raise TypeError(f"an experiment name must be a string, got {type(name).__name__}")
    path = experiments_dir() / f"{name}.py"
    if not name.isidentifier() or not path.exists():  # a bare name: never a path elsewhere
        known = ", ".join(available()) or "none"
        raise ValueError(f"unknown experiment {name!r}; known experiments: {known}")
    spec = importlib.util.spec_from_file_location(f"_experiment_{name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # a broken config file: say which and why, in one line
        raise ValueError(f"experiments/{name}.py does not load: {type(err).__name__}: "
                         f"{err}") from err
    config, overrides = getattr(module, "CONFIG", {}), getattr(module, "QUICK", {})
    for label, block in (("CONFIG", config), ("QUICK", overrides)):
        if not isinstance(block, dict):
            raise ValueError(f"experiments/{name}.py: {label} must be a dict, got "
                             f"{type(block).__name__}")
    unknown = [k for k in overrides if k not in config]
    if unknown:
        raise ValueError(f"experiments/{name}.py: QUICK sets {unknown[0]!r}, which CONFIG does "
                         f"not have; CONFIG's keys: {', '.join(map(str, config)) or 'none'}")
    config = dict(config)
    if quick:
        config.update(overrides)
    return config


def check_experiment(name: str, config: dict, study) -> None:
    """Check a config before its sweep: names (``validate.check_config``) and, for a study
    with ``cells(config)``, every cell it would run (``validate.check_cells``).

    Raises:
        ValueError: naming the experiment file, the bad entry and the known ones.
    """
    from .execute import Settings

    where = f"experiments/{name}.py"
    extra = tuple(getattr(study, "EXTRA_METHODS", ()))
    check_config(config, where, extra)
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
    except ValueError:
        raise ValueError(f"--resume {path}: its {META} is not valid JSON") from None
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


def _checked(name: str, quick: bool) -> tuple[dict, object]:
    """The experiment's config and study module, the config checked."""
    config = load_config(name, quick)
    try:
        study = importlib.import_module(f"difflab.studies.{name}")
    except ModuleNotFoundError:
        raise ValueError(f"experiment {name!r} has no study module difflab.studies.{name}") \
            from None
    check_experiment(name, config, study)
    return config, study


def run_experiment(name: str, quick: bool = False, results: str | Path = "results",
                   resume: str | Path | None = None, settings=None) -> Path:
    """Run one experiment; returns its run directory.

    Args:
        name: the experiment (a file experiments/<name>.py and a module difflab.studies.<name>).
        quick: use the QUICK sizes.
        results: the results directory.
        resume: a run directory to resume (default: an unfinished run with the same config).
        settings: a ``difflab.lab.Settings`` for cell sweeps (default: the study's choice).
    """
    from .execute import Settings

    config, study = _checked(name, quick)
    results = writable_dir(results, "results directory")
    previous = check_resumable(resume, name, config, quick) if resume else \
        _unfinished(results, name, config)
    if previous is not None:
        run = Run.open(previous)
        print(f"[{name}] resuming {previous} ({len(run.done)} cells done)")
    else:
        run_id = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if quick else ''}"
        run = Run.create(results, run_id=run_id, config=config, seed=config.get("seed", 0),
                         experiment=name, quick=quick)
    start = time.perf_counter()
    with run:
        study.run(config, run, settings or Settings())
    print(f"[{name}] {run.n_rows} rows in {time.perf_counter() - start:.1f} s -> {run.path}")
    return run.path


def run_experiments(names: list[str] | None = None, quick: bool = False,
                    results: str | Path = "results", resume: str | Path | None = None,
                    report_dir: str | Path | None = "reports") -> list[Path]:
    """Run several experiments (default: all), then rebuild the report from their runs."""
    names = names or list(available())
    if resume and len(names) != 1:
        raise ValueError("--resume takes a single experiment's run")
    for name in names:  # every config checked before the first experiment runs
        _checked(name, quick)
    writable_dir(results, "results directory")  # both before hours of work, not after
    if report_dir is not None:
        writable_dir(report_dir, "report directory")
    runs = [run_experiment(n, quick, results, resume) for n in names]
    if report_dir is not None:
        # The report covers every experiment: these runs, and the newest of the others.
        newest = {load_meta(r).get("experiment"): r for r in newest_runs(results)}
        newest.update({load_meta(r).get("experiment"): r for r in runs})
        path = write_report(list(newest.values()), out=report_dir, order=ORDER)
        print(f"report: {path} and {Path(path).with_suffix('.html')}")
    return runs


def main(file: str) -> None:
    """The body of every experiments/<name>.py: parse flags, run, write the report."""
    name = Path(file).stem
    parser = argparse.ArgumentParser(description=(load_doc(file) or f"experiment {name}"))
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
