"""The command line and dl.compare on tiny inputs."""

import subprocess
import sys

import numpy as np
import pytest

import difflab as dl
from difflab.cli import main, parse_assignment
from difflab.lab.compare import compare


def test_compare_puts_every_method_beside_the_truth():
    table = compare("sin(x) * y", {"x": 1.0, "y": 2.0}, min_time=0.001)
    assert list(table["method"]) == ["truth (sympy-50)", *dl.METHODS]
    assert (table["status"].iloc[1:] == "ok").all()
    assert np.allclose(table["d/dx"], 2 * np.cos(1.0), rtol=1e-9)
    assert np.allclose(table["d/dy"], np.sin(1.0), rtol=1e-12)
    exact = table[table["method"].isin(["symbolic", "forward", "reverse", "jax"])]
    assert (exact["max rho"] <= 1e-15).all()
    assert (table["time/call [us]"].iloc[1:] > 0).all()


def test_compare_records_a_failing_method_as_a_row():
    table = compare("abs(x)", {"x": 0.5}, methods=["reverse", "numeric:complex"])
    status = dict(zip(table["method"], table["status"], strict=True))
    assert status["reverse"] == "ok"
    assert "complex step" in status["numeric:complex"]


def test_grad_command_prints_every_method(capsys):
    assert main(["grad", "sin(x)*y", "--at", "x=1", "y=2"]) == 0
    out = capsys.readouterr().out
    for method in dl.METHODS:
        assert method in out
    assert "1.0806046117362795" in out  # 2 cos(1) to the last digit


@pytest.mark.parametrize("argv, message", [
    (["grad", "sin(x", "--at", "x=1"], "never closed"),
    (["grad", "x*y", "--at", "x=1"], "missing variable 'y'"),
    (["grad", "x", "--at", "x=one"], "not a number"),
    (["grad", "x", "--at", "x"], "name=value"),
    (["grad", "x", "--at", "x=1", "--methods", "foo"], "unknown method 'foo'"),
    (["grad", "x", "--at", "x=1", "--methods", "numeric:bogus"], "unknown numeric scheme"),
    (["grad", "x + y", "--at", "x=1", "y=1", "--wrt", "z"], "'z'"),
    (["grad", "v * 2", "--at", "v=1,2"], "scalar-valued"),
    (["run", "no_such_experiment", "--quick"], "unknown experiment"),
])
def test_bad_input_is_one_line_and_exit_status_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_assignments_parse_numbers_and_arrays():
    assert parse_assignment("x=1.5") == ("x", 1.5)
    name, value = parse_assignment("v=[[1, 2], [3, 4]]")
    assert name == "v" and value.shape == (2, 2)
    assert parse_assignment("w=1,2,3")[1].tolist() == [1.0, 2.0, 3.0]


def test_the_console_script_runs_and_has_help():
    done = subprocess.run([sys.executable, "-m", "difflab.cli", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "grad" in done.stdout and "report" in done.stdout
    done = subprocess.run([sys.executable, "-m", "difflab.cli", "list", "methods"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "numeric:central4" in done.stdout


def test_run_and_report_commands_write_the_report(tmp_path, capsys):
    results, out = tmp_path / "results", tmp_path / "reports"
    assert main(["run", "worked_example", "--quick", "--results", str(results),
                 "--report", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "## Summary" in md and "## Environment" in md
    assert "dE/dw5 = **0.0821670406**" in md  # the worked example's finding, key figure bold
    figures = list((out / "figures").glob("*.png"))
    assert figures and all(f.stat().st_size > 1000 for f in figures)
    (out / "report.md").unlink()
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    assert (out / "report.md").read_text() == md  # rebuilt from the stored run alone
    assert "<img" in (out / "report.html").read_text()
