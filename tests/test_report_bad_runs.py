"""A results folder's files are data and may be anything: a bad meta.json or a row nested too
deeply costs that run's section (or that row), named with its file and line, never the report."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from difflab.cli import main
from difflab.lab import Run, load_meta, read_rows
from difflab.lab.experiments import run_experiment
from difflab.lab.report import newest_runs, write_report

TITLE = "## Accuracy against the 50-digit truth (tiny)"
DEEP_LIST = "[" * 100_000 + "]" * 100_000                     # beyond Python's JSON parser
DEEP_ROW = json.dumps({"cell_id": "deep", "outcome": "ok"})[:-1] + ', "x": ' + \
    "[" * 900 + "]" * 900 + "}"                               # parsed, but beyond pandas


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    """A finished run of a one-cell accuracy experiment."""
    root = tmp_path_factory.mktemp("good")
    (root / "tiny.py").write_text(
        'STUDY = "accuracy"\nCONFIG = {"methods": ["reverse"], "problems": ["squire_trapp"], '
        '"seeds": [0], "isolate": False}\n')
    return run_experiment(str(root / "tiny.py"), results=root / "results")


def _copy(good_run: Path, results: Path, name: str) -> Path:
    run = results / name
    shutil.copytree(good_run, run)
    return run


def _meta(run: Path, **changes) -> None:
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps({**meta, **changes}))


@pytest.mark.parametrize("write, reason", [
    (lambda run: _meta(run, experiment=None), '"experiment" must be the experiment\'s name '
     "(a non-empty string), not None"),
    (lambda run: _meta(run, experiment=["a"]), "not ['a']"),
    (lambda run: _meta(run, experiment="bad", config=[1]),
     '"config" must be a JSON object, not a list'),
    (lambda run: (run / "meta.json").write_text(""), "is not valid JSON: Expecting value: "
     "line 1 column 1"),
    (lambda run: (run / "meta.json").write_text("[1, 2]"), "is a JSON list, not an object"),
    (lambda run: (run / "meta.json").write_text(DEEP_LIST), "is nested too deeply to read"),
])
def test_a_bad_meta_json_costs_its_section_and_names_the_file(good_run, tmp_path, capsys,
                                                              write, reason):
    bad = _copy(good_run, tmp_path / "results", "bad")
    write(bad)
    good = _copy(good_run, tmp_path / "results", "tiny-good")
    assert main(["report", str(bad), str(good), "--out", str(tmp_path / "out")]) == 0
    assert "error" not in capsys.readouterr().err
    report = (tmp_path / "out" / "report.md").read_text()
    assert TITLE in report                                     # the other section is whole
    failed = report.split("## bad\n", 1)[1].split("\n## ")[0]   # the bad run's section
    (line,) = [x for x in failed.splitlines() if "could not be built" in x]
    assert line.startswith(f"- The section could not be built: BadRun: {bad / 'meta.json'}")
    assert reason in line and "Traceback" not in failed


def test_newest_runs_leaves_out_a_bad_meta_json_with_a_warning_naming_it(good_run, tmp_path):
    results = tmp_path / "results"
    _meta(_copy(good_run, results, "listed"), experiment=["a"])
    (_copy(good_run, results, "broken") / "meta.json").write_text("{")
    _meta(_copy(good_run, results, "named_none"), experiment=None)
    good = _copy(good_run, results, "tiny-good")
    with pytest.warns(RuntimeWarning) as caught:
        assert newest_runs(results) == [good]
    said = sorted(str(w.message) for w in caught)
    assert said[0].startswith(f"{results / 'broken' / 'meta.json'} is not valid JSON")
    assert said[1].startswith(f"{results / 'listed' / 'meta.json'}: \"experiment\" must be")
    assert said[2].startswith(f"{results / 'named_none' / 'meta.json'}: \"experiment\"")
    assert all(s.endswith("that run is left out of the report") for s in said)
    with pytest.warns(RuntimeWarning, match="left out of the report"):
        write_report(results=results, out=tmp_path / "out")
    assert TITLE in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.parametrize("line", [DEEP_LIST, DEEP_ROW])
def test_a_row_nested_too_deeply_is_skipped_with_its_file_and_line(good_run, tmp_path, line):
    run = _copy(good_run, tmp_path / "results", "tiny-deep")
    rows = run / "rows.jsonl"
    n_rows = len(rows.read_text().splitlines())
    with open(rows, "a") as f:
        f.write(line + "\n")
    with pytest.warns(RuntimeWarning, match=f"{rows}: line {n_rows + 1} is nested too deeply "
                                            f"to read .*left in the file and ignored"):
        write_report([run], out=tmp_path / "out")
    report = (tmp_path / "out" / "report.md").read_text()
    assert TITLE in report and "could not be built" not in report


def test_a_deep_last_line_without_its_newline_is_kept_and_resume_goes_on(tmp_path):
    with Run.create(tmp_path, run_id="r") as run:
        run.append({"cell_id": "a", "outcome": "ok"})
    rows = tmp_path / "r" / "rows.jsonl"
    with open(rows, "a") as f:
        f.write(DEEP_LIST)                                      # no newline after it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with Run.open(tmp_path / "r") as run:
            assert run.done == {"a"}
            run.append({"cell_id": "b", "outcome": "ok"})
        assert [r["cell_id"] for r in read_rows(rows)] == ["a", "b"]
    assert DEEP_LIST in rows.read_text()                        # append-only: nothing lost


def test_load_meta_names_the_file(tmp_path):
    (tmp_path / "meta.json").write_text("not json")
    with pytest.raises(ValueError, match=f"^{tmp_path / 'meta.json'} is not valid JSON: "
                                         "Expecting value"):
        load_meta(tmp_path)
