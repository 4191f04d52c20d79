"""Problems and experiments as files: a user's problem module, an experiment file anywhere
that names a study, configs checked before any cell runs, the example study of CONTRIBUTING.md,
and the quick report's first line."""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from difflab import cli
from difflab.lab import load
from difflab.lab.experiments import experiments_dir, load_experiment, run_experiment
from difflab.lab.problems import get_problem
from difflab.lab.report import quick_line

ROOT = Path(__file__).resolve().parents[1]

MY_PROBLEMS = '''
import difflab as dl
from difflab.lab.problems import Problem


def _quartic(n):
    x = dl.variables([f"x{i}" for i in range(n)])
    return sum(xi ** 4 - xi for xi in x)


quartic = Problem("quartic", "quartic", "sum x_i^4 - x_i, n variables", _quartic,
                  lambda rng, p: {f"x{i}": rng.uniform(-1, 1) for i in range(p["n"])},
                  {"n": 4}, "sympy")


def make_quartic():
    return quartic
'''

MY_METHODS = '''
import numpy as np
import difflab as dl


class Central:
    exact = False

    def prepare(self, expr, wrt, shapes, step=1e-5):
        f = lambda p: float(dl.evaluate(expr, p))
        return lambda p: {n: (f({**p, n: p[n] + step}) - f({**p, n: p[n] - step})) / (2 * step)
                          for n in wrt}


METHOD = Central()
'''


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """A user's project outside the package: methods, problems and an experiment file."""
    (tmp_path / "my_problems.py").write_text(MY_PROBLEMS)
    (tmp_path / "my_methods.py").write_text(MY_METHODS)
    (tmp_path / "my_experiment.py").write_text(textwrap.dedent('''
        """My method on my problem."""
        import difflab as dl

        dl.register_method("my_central", "my_methods:METHOD")

        STUDY = "accuracy"
        CONFIG = {"methods": ["my_central", "reverse"],
                  "problems": ["my_problems:quartic", "my_problems:make_quartic",
                               "squire_trapp"],
                  "seeds": [0, 1], "isolate": True}
        QUICK = {"seeds": [1]}
    '''))
    monkeypatch.chdir(tmp_path)
    path = list(sys.path)
    yield tmp_path
    from difflab import method_table
    from difflab.lab import problem_plugins

    sys.path[:] = path  # (running a file put its directory first)
    for name in ("my_methods", "my_problems"):
        sys.modules.pop(name, None)
    problem_plugins.discover()
    if "my_central" in method_table.methods():
        method_table.unregister_method("my_central")


def test_an_experiment_file_outside_the_package_runs_and_is_listed(user_dir, capsys):
    assert cli.main(["run", "my_experiment.py", "--quick", "--results", "results",
                     "--report", "report"]) == 0
    (run_dir,) = (user_dir / "results").iterdir()
    assert run_dir.name.startswith("my_experiment-")
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["experiment"] == "my_experiment" and meta["study"] == "accuracy"
    df = load(run_dir)
    assert sorted(set(df["problem"])) == ["my_problems:make_quartic", "my_problems:quartic",
                                          "squire_trapp"]
    assert (df["outcome"] == "ok").all(), df[["problem", "method", "outcome", "message"]]
    mine = df[(df["method"] == "my_central") & (df["problem"] == "my_problems:quartic")]
    # d/dx (x^4 - x) = 4x^3 - 1 against the 50-digit truth; central differences at 1e-5
    assert mine["truth_source"].item() == "sympy" and mine["max_rho"].item() < 1e-8
    report = (user_dir / "report" / "report.md").read_text()
    assert "## Accuracy against the 50-digit truth (my_experiment)" in report
    section = report.split("(my_experiment)", 1)[1]
    assert "on this experiment's 3 functions?" in section
    assert "42 scalar functions" not in section   # (the suite's question, not this one's)
    assert " 0 eps" not in section
    capsys.readouterr()
    assert cli.main(["list", "experiments", str(user_dir)]) == 0
    listed = capsys.readouterr().out
    assert "my_experiment        How close does each method's gradient get" in listed
    assert "my_methods" not in listed and "my_problems" not in listed  # not experiment files
    assert "accuracy " in listed  # difflab's own are listed too


def test_a_problem_by_import_path(user_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(user_dir))
    problem = get_problem("my_problems:quartic")
    assert problem.name == "my_problems:quartic" and problem.resolve({"n": 2}) == {"n": 2}
    inst = problem.instance({"n": 3}, seed=4)
    np.testing.assert_allclose(inst.truth("grad")["x1"], 4 * inst.point["x1"] ** 3 - 1,
                               rtol=1e-14, atol=1e-15)
    with pytest.raises(KeyError, match="problem 'my_problems:nope': the import path "
                                       "'my_problems:nope' does not load: AttributeError"):
        get_problem("my_problems:nope")
    with pytest.raises(KeyError, match="is function _quartic\\(n\\), not a problem or a "
                                       "function of no arguments"):
        get_problem("my_problems:_quartic")
    with pytest.raises(KeyError, match="unknown problem 'quartic'; known problems: .*"
                                       "or a 'module:function' of your own"):
        get_problem("quartic")


def _write(user_dir, **config) -> Path:
    base = {"methods": ["reverse"], "problems": ["squire_trapp"], "seeds": [0],
            "isolate": False}
    path = user_dir / "bad.py"
    path.write_text(f"STUDY = 'accuracy'\nCONFIG = {json.dumps({**base, **config})}\n"
                    .replace("false", "False"))
    return path


@pytest.mark.parametrize("change, message", [
    ({"methods": ["my_centrl"]}, "bad.py: methods: unknown method 'my_centrl'; known "
     "methods: symbolic, numeric, forward, reverse, jax"),
    ({"problems": ["my_problems:quartc"]}, "problems: problem 'my_problems:quartc': the "
     "import path 'my_problems:quartc' does not load: AttributeError"),
    ({"problems": ["no_such"]}, "problems: unknown problem 'no_such'"),
    ({"seedz": [0]}, "bad.py: unknown config key 'seedz': study 'accuracy' reads "
     "isolate, max_time, methods, min_time, problems, samples, seeds, time_limit"),
])
def test_a_config_of_a_file_is_checked_before_any_cell_runs(user_dir, change, message):
    path = _write(user_dir, **change)
    with pytest.raises(ValueError, match=message):
        run_experiment(str(path), results=user_dir / "results")
    assert not (user_dir / "results").exists()


@pytest.mark.parametrize("change, message", [
    ({"time_limit": -1}, "time_limit = -1 is not allowed: time_limit must be a positive finite "
     "number of seconds"),
    ({"time_limit": "60"}, "time_limit = '60' is not allowed: time_limit must be a positive"),
    ({"time_limit": float("nan")}, "time_limit = nan is not allowed"),
    ({"time_limit": True}, "time_limit = True is not allowed"),
    ({"seeds": ["a"]}, "seeds = ['a'] is not allowed: seeds must be a list of ints >= 0"),
    ({"seeds": [-1]}, "seeds = [-1] is not allowed: seeds must be a list of ints >= 0"),
    ({"seeds": 3}, "seeds = 3 is not allowed: seeds must be a list of ints >= 0"),
    ({"isolate": "no"}, "isolate = 'no' is not allowed: isolate must be True or False"),
    ({"samples": 0}, "samples = 0 is not allowed: samples must be an int >= 1"),
    ({"max_time": -0.5}, "max_time = -0.5 is not allowed"),
])
def test_a_bad_value_of_a_common_key_is_refused_before_any_cell_runs(user_dir, change,
                                                                     message):
    path = _write(user_dir, **change)
    path.write_text(path.read_text().replace("NaN", "float('nan')").replace("true", "True"))
    with pytest.raises(ValueError, match=re.escape(f"bad.py: {message}")) as caught:
        run_experiment(str(path), results=user_dir / "results")
    assert "\n" not in str(caught.value)
    assert not (user_dir / "results").exists()


def test_good_values_of_the_common_keys_pass_and_a_study_may_read_a_key_its_own_way():
    from difflab.lab.validate import check_config
    from difflab.studies import gradient_flow

    check_config({"time_limit": np.float64(0.5), "seeds": (0, np.int64(3)), "isolate": False,
                  "memory_limit_mib": None, "min_time": 0, "repeats": 2, "seed": 0})
    check_config({"seeds": 5}, values=gradient_flow.CONFIG_VALUES)  # a number of seeds there
    with pytest.raises(ValueError, match=re.escape("gf.py: seeds = [0, 1] is not allowed: "
                                                   "seeds must be an int >= 1")):
        check_config({"seeds": [0, 1]}, "gf.py", values=gradient_flow.CONFIG_VALUES)
    with pytest.raises(ValueError, match="memory_limit_mib = 0 is not allowed"):
        check_config({"memory_limit_mib": 0})


def test_a_size_key_a_problem_does_not_take_is_refused(user_dir):
    path = user_dir / "sizes.py"
    path.write_text(textwrap.dedent("""
        STUDY = "cost_vs_inputs"
        CONFIG = {"problem": "my_problems:quartic", "sizes": [2, 4], "methods": ["reverse"],
                  "isolate": False}
    """))
    found = load_experiment(str(path))
    assert found.study.NAME == "cost_vs_inputs"
    bad = user_dir / "badsizes.py"
    bad.write_text(path.read_text().replace('"problem": "my_problems:quartic"',
                                            '"problem": "logistic4"'))
    with pytest.raises(ValueError, match="problem 'logistic4' has no parameter 'n'"):
        run_experiment(str(bad), results=user_dir / "results")


@pytest.mark.parametrize("body, message", [
    ("STUDY = 'acuracy'\nCONFIG = {}\n", "bad.py: STUDY = 'acuracy': unknown study 'acuracy'"),
    ("STUDY = 'my_methods'\nCONFIG = {}\n", "is not a study: it has no NAME \\(a string\\)"),
    ("STUDY = 'nowhere.py'\nCONFIG = {}\n", "study file 'nowhere.py' not found"),
    ("CONFIG = {}\n", "bad.py names no study: add STUDY = \"accuracy\""),
    ("CONFIG = {\n", "bad.py does not load: SyntaxError"),
])
def test_a_file_that_names_no_study_or_a_bad_one_says_so(user_dir, body, message):
    (user_dir / "bad.py").write_text(body)
    with pytest.raises(ValueError, match=message):
        load_experiment("bad.py")


def test_a_copy_of_accuracy_py_needs_only_its_study_named(user_dir, monkeypatch, capsys):
    """Before: experiments/my_accuracy.py failed with "has no study module" and `difflab list
    experiments` left it out silently."""
    directory = user_dir / "experiments"
    directory.mkdir()
    shutil.copy(ROOT / "experiments" / "accuracy.py", directory / "accuracy.py")
    copy = directory / "my_accuracy.py"
    copy.write_text((ROOT / "experiments" / "accuracy.py").read_text()
                    .replace('"isolate": False,', '"isolate": False, "problems": ["six_var"],'
                             ' "methods": ["reverse", "numdifftools"],'))
    monkeypatch.setattr("difflab.lab.experiments.experiments_dir", lambda: directory)
    with pytest.raises(ValueError, match="experiments/my_accuracy.py names no study: add "
                                         "STUDY = \"accuracy\""):
        run_experiment("my_accuracy", quick=True, results=user_dir / "results")
    assert cli.main(["list", "experiments"]) == 0
    assert "my_accuracy          (names no study" in capsys.readouterr().out
    copy.write_text('STUDY = "accuracy"\n' + copy.read_text())
    path = run_experiment("my_accuracy", quick=True, results=user_dir / "results")
    df = load(path)
    assert set(df["method"]) == {"reverse", "numdifftools"} and set(df["problem"]) == \
        {"six_var"} and (df["outcome"] == "ok").all()


def test_a_file_may_not_take_the_name_of_a_builtin_experiment(user_dir):
    shutil.copy(ROOT / "experiments" / "accuracy.py", user_dir / "accuracy.py")
    with pytest.raises(ValueError, match="has the name of difflab's experiment 'accuracy'"):
        load_experiment("accuracy.py")
    assert load_experiment(str(experiments_dir() / "accuracy.py")).name == "accuracy"


def test_the_example_study_of_contributing_runs(tmp_path):
    example = ROOT / "docs" / "example_study.py"
    assert len(example.read_text().splitlines()) <= 32
    assert cli.main(["run", str(example), "--quick", "--results", str(tmp_path / "results"),
                     "--report", str(tmp_path / "report")]) == 0
    (run_dir,) = (tmp_path / "results").iterdir()
    df = load(run_dir)
    assert len(df) == 4 and (df["outcome"] == "ok").all()  # 2 depths x 2 methods x 1 seed
    assert df[df["method"] == "reverse"]["max_rho"].max() < 1e-15
    assert df[df["method"] == "numeric:central"]["max_rho"].max() > 1e-13
    report = (tmp_path / "report" / "report.md").read_text()
    assert "## Example: error against nesting depth" in report
    assert "| depth | numeric:central | reverse |" in report
    assert "reverse: largest rho" in report


def test_the_quick_report_says_on_its_first_line_which_sections_are_quick():
    full, quick = {"experiment": "accuracy"}, {"experiment": "fd_steps", "quick": True}
    assert quick_line([full]) == "difflab report"
    assert quick_line([quick, {**full, "quick": True}]).startswith(
        "difflab report — every section from quick runs")
    assert quick_line([full, quick]) == ("difflab report — from quick runs (smoke-test sizes, "
                                         "not measurements to quote): fd_steps; the other "
                                         "sections from full runs")


def test_the_method_and_problem_of_contributing_work():
    """The code blocks of CONTRIBUTING.md's "Your own method, problem, study" run as shown."""
    import difflab as dl
    from difflab import method_table

    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own method, problem, study"):]
    blocks = [b.split("```")[0] for b in section.split("```python\n")[1:]]
    method_code = blocks[0]
    problem_code = next(b for b in blocks if "Problem(" in b)
    namespace: dict = {}
    exec(compile(method_code, "CONTRIBUTING.md", "exec"), namespace)  # noqa: S102 - our docs
    exec(compile(problem_code, "CONTRIBUTING.md", "exec"), namespace)  # noqa: S102
    dl.register_method("doc_central", namespace["FixedCentral"]())
    try:
        got = dl.grad("sin(x) * y", {"x": 1.0, "y": 2.0}, method="doc_central", step=1e-4)
        assert abs(got["x"] - 2 * np.cos(1.0)) < 1e-7 and abs(got["y"] - np.sin(1.0)) < 1e-7
        v = dl.grad("sum(v * v)", {"v": np.array([1.0, 2.0])}, method="doc_central")["v"]
        np.testing.assert_allclose(v, [2.0, 4.0], rtol=1e-8)
    finally:
        method_table.unregister_method("doc_central")
    inst = namespace["quartic"].instance({"n": 3}, seed=2)
    np.testing.assert_allclose(inst.truth("grad")["x2"], 4 * inst.point["x2"] ** 3 - 1,
                               rtol=1e-14, atol=1e-15)  # (4x^3 - 1 cancels near x = 0.63)


def test_the_register_block_of_contributing_runs_as_written(tmp_path, monkeypatch):
    """The method saved as my_methods.py, CONTRIBUTING.md's `register_method` block runs as
    shown: by import path, then by object, then `dl.grad` with the method's option."""
    from difflab import method_table

    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own method, problem, study"):]
    blocks = [b.split("```")[0] for b in section.split("```python\n")[1:]]
    (tmp_path / "my_methods.py").write_text(blocks[0], encoding="utf-8")
    register = next(b for b in blocks if "register_method(\"fixed_central\"" in b
                    and "dl.grad(" in b)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict = {"FixedCentral": None}
    exec(compile("from my_methods import FixedCentral\n" + register, "CONTRIBUTING.md",
                 "exec"), namespace)  # noqa: S102 - our docs
    try:
        assert "fixed_central" in namespace["dl"].methods()
        got = namespace["dl"].grad("sin(x) * y", {"x": 1.0, "y": 2.0}, method="fixed_central",
                                   step=1e-4)
        assert abs(got["x"] - 2 * np.cos(1.0)) < 1e-7
    finally:
        method_table.unregister_method("fixed_central")
        sys.modules.pop("my_methods", None)


def test_a_results_folder_cannot_make_the_report_run_code(tmp_path, monkeypatch):
    # A run's meta.json is data: the study it names is built only if it is one of difflab's
    # or the command names it itself (the report of `difflab run FILE` is the run's own).
    example = ROOT / "docs" / "example_study.py"
    results = tmp_path / "results"
    assert cli.main(["run", str(example), "--quick", "--results", str(results),
                     "--report", str(tmp_path / "own")]) == 0
    assert "## Example: error against nesting depth" in (tmp_path / "own/report.md").read_text()
    (run_dir,) = results.iterdir()
    meta_file = run_dir / "meta.json"
    meta = json.loads(meta_file.read_text())
    assert meta["study"] == str(example.resolve())
    marker = tmp_path / "RAN"
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    (tmp_path / "evil.py").write_text(code)
    (tmp_path / "evil_module.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    for spec in (str(tmp_path / "evil.py"), "evil_module", str(example.resolve())):
        meta_file.write_text(json.dumps({**meta, "study": spec}))
        out = tmp_path / "report"
        assert cli.main(["report", str(run_dir), "--out", str(out)]) == 0
        text = (out / "report.md").read_text()
        assert f"UntrustedStudy: {meta_file} names the study" in text
        assert f"difflab report --study {spec}" in text and "Traceback" not in text
        assert not marker.exists(), spec
    # named on the command line, the example study builds the section from the stored run
    assert cli.main(["report", str(run_dir), "--out", str(out), "--study", str(example)]) == 0
    text = (out / "report.md").read_text()
    assert "## Example: error against nesting depth" in text and "UntrustedStudy" not in text


def test_listing_a_directory_runs_only_the_files_that_define_experiments(user_dir, capsys):
    marker = user_dir / "RAN"
    (user_dir / "notes.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (user_dir / "broken.py").write_text("CONFIG = {\n")
    assert cli.main(["list", "experiments", str(user_dir)]) == 0
    listed = capsys.readouterr().out
    assert not marker.exists()
    assert "notes" not in listed
    assert "broken               (does not run: SyntaxError: '{' was never closed" in listed
    assert "my_experiment        How close" in listed


def test_a_run_refused_before_its_first_cell_leaves_no_run_behind(user_dir, capsys):
    # a method object defined in the experiment file: no worker process can import it
    (user_dir / "inline.py").write_text(textwrap.dedent('''
        import difflab as dl
        from my_methods import Central

        class Inline(Central):
            pass

        dl.register_method("inline_central", Inline())
        STUDY = "accuracy"
        CONFIG = {"methods": ["inline_central"], "problems": ["squire_trapp"],
                  "seeds": [0], "isolate": True}
    '''))
    from difflab import method_table
    try:
        assert cli.main(["run", "inline.py", "--quick", "--results", "results",
                         "--report", "report"]) == 2
    finally:
        if "inline_central" in method_table.methods():
            method_table.unregister_method("inline_central")
    assert "register it by import path" in capsys.readouterr().err
    assert list((user_dir / "results").iterdir()) == []
