"""Running experiments: configs from ``experiments/*.py``, logic from ``difflab.studies``.

An experiment file is thin — a docstring, a ``CONFIG`` dict (default sizes), a ``QUICK`` dict
(overrides for a smoke test) and ``main(__file__)``. This module finds those files, runs the
study of the same name into ``results/<name>-<stamp>/`` (resuming an unfinished run of the
same configuration, so a killed ``make report`` picks up where it stopped) and rebuilds the
report.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import time
from pathlib import Path

from .report import newest_runs, write_report
from .store import Run, load_meta

# The order of the report: the gentle start first, the heavy measurements after.
ORDER = ["worked_example", "accuracy", "fd_steps", "cost_vs_inputs", "jacobian_shape",
         "expression_swell", "mlp_backprop", "gradient_flow", "hessian"]


def experiments_dir() -> Path:
    """The repository's ``experiments/`` directory."""
    return Path(__file__).resolve().parents[2] / "experiments"


def available() -> dict[str, object]:
    """Experiment name -> its study module, for every experiments/<name>.py with a study."""
    found = {}
    names = sorted(p.stem for p in experiments_dir().glob("*.py")
                   if p.stem.isidentifier() and not p.stem.startswith("_"))
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
    config = dict(config)
    if quick:
        config.update(overrides)
    return config


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

    config = load_config(name, quick)
    try:
        study = importlib.import_module(f"difflab.studies.{name}")
    except ModuleNotFoundError:
        raise ValueError(f"experiment {name!r} has no study module difflab.studies.{name}") \
            from None
    results = Path(results)
    previous = Path(resume) if resume else _unfinished(results, name, config)
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
