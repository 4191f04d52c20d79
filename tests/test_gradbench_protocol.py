"""difflab's side of GradBench's protocol, with messages written here (GradBench is not
needed): every message kind, failing evaluates, unknown modules and kinds, malformed lines, a
closed input, the runs loop, and the command line (``difflab gradbench``, ``python -m
difflab.gradbench``) in a subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from difflab.gradbench.protocol import serve
from difflab.gradbench.tool import Tool, repeat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def session(lines, method="reverse"):
    """(status, answers, log lines) of a session fed ``lines`` (dicts become JSON)."""
    out, logged = io.StringIO(), []
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    status = serve(Tool(method, log=logged.append), [t + "\n" for t in text], out.write,
                   log=logged.append)
    return status, [json.loads(a) for a in out.getvalue().splitlines()], logged


def evaluate(ident, module, function, input, **extra):
    return {"id": ident, "kind": "evaluate", "module": module, "function": function,
            "input": input, **extra}


def test_a_whole_session_answers_every_message_with_its_id():
    status, answers, logged = session([
        {"id": 0, "kind": "start", "eval": "lse", "config": {"n": [3]}},
        {"id": 1, "kind": "define", "module": "lse"},
        evaluate(2, "lse", "primal", {"x": [1.0, 2.0, 3.0], "min_runs": 3, "min_seconds": 0}),
        {"id": 3, "kind": "analysis", "of": 2, "valid": True},
        evaluate(4, "lse", "gradient", {"x": [1.0, 2.0, 3.0], "min_runs": 2,
                                         "min_seconds": 0}, description="n=3"),
        {"id": 5, "kind": "analysis", "of": 4, "valid": False, "error": "[0]: 1 != 2"}])
    assert status == 0
    assert [a["id"] for a in answers] == [0, 1, 2, 3, 4, 5]
    assert answers[0]["tool"] == "difflab" and answers[0]["config"]["method"] == "reverse"
    assert answers[1] == {"id": 1, "success": True}
    lse = 3.0 + np.log(np.exp(-2.0) + np.exp(-1.0) + 1.0)
    assert answers[2]["success"] and answers[2]["output"] == pytest.approx(lse, rel=1e-15)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(answers[4]["output"], e / e.sum(), rtol=1e-14)
    assert answers[3] == {"id": 3} and answers[5] == {"id": 5}
    assert any("message 4 invalid: [0]: 1 != 2" in line for line in logged)
    assert "closed after 6 message(s)" in logged[-1]


def test_timings_one_evaluate_per_run_as_integers_after_one_prepare():
    _, answers, _ = session([evaluate(0, "llsq", "gradient",
                                      {"x": [0.5, 0.25], "n": 4, "min_runs": 5,
                                       "min_seconds": 0.02})])
    timings = answers[0]["timings"]
    assert timings[0]["name"] == "prepare" and timings[0]["nanoseconds"] > 0
    runs = [t["nanoseconds"] for t in timings[1:]]
    assert {t["name"] for t in timings[1:]} == {"evaluate"}
    assert len(runs) >= 5 and sum(runs) >= 0.02e9
    assert all(type(t["nanoseconds"]) is int and t["nanoseconds"] >= 0 for t in timings)


def test_the_runs_loop_meets_min_runs_and_min_seconds_whichever_is_longer():
    ticks = iter(range(0, 10**12, 300_000_000))  # every run takes 0.3 s on this clock
    calls = []
    result, timings = repeat(lambda: calls.append(1) or len(calls), 2, 1.0,
                             clock=lambda: next(ticks))
    assert timings == [300_000_000] * 4 and result == 4      # 1.2 s >= 1 s after 4 runs
    ticks = iter(range(0, 10**12, 300_000_000))
    _, timings = repeat(lambda: None, 6, 1.0, clock=lambda: next(ticks))
    assert len(timings) == 6                                  # min_runs is longer
    _, timings = repeat(lambda: None, 0, 0.0)
    assert len(timings) == 1                                  # always one run: an output


def test_a_second_evaluate_of_the_same_shape_finds_its_preparation():
    tool = Tool("reverse", log=lambda text: None)
    message = evaluate(0, "lse", "gradient", {"x": [1.0, 2.0], "min_runs": 1,
                                              "min_seconds": 0})
    first = tool.handle(message)["timings"][0]["nanoseconds"]
    again = tool.handle({**message, "input": {**message["input"], "x": [3.0, 5.0]}})
    assert again["success"] and again["timings"][0]["nanoseconds"] < first
    np.testing.assert_allclose(again["output"], [1 / (1 + np.exp(2)), 1 / (1 + np.exp(-2))])


def test_define_of_an_unknown_module_is_false_and_says_which_exist():
    _, answers, _ = session([{"id": 0, "kind": "define", "module": "particle"}])
    assert answers[0]["success"] is False
    assert "particle" in answers[0]["error"] and "lse" in answers[0]["error"]


@pytest.mark.parametrize("message, phrase", [
    (evaluate(0, "particle", "primal", {}), "no module 'particle'"),
    (evaluate(0, "lse", "hessian", {"x": [1.0]}), "no function 'hessian'"),
    (evaluate(0, "lse", "primal", {"y": [1.0]}), "no field 'x'"),
    (evaluate(0, "lse", "primal", {"x": [[1.0], [2.0, 3.0]]}), "not a rectangular array"),
    (evaluate(0, "llsq", "primal", {"x": [1.0], "n": 1}), "integer >= 2, got 1"),
    (evaluate(0, "lse", "primal", {"x": [1.0], "min_runs": -1}), "min_runs"),
    (evaluate(0, "det", "primal", {"A": [1.0, 2.0, 3.0], "ell": 2}), "ell = 2 needs 4"),
    (evaluate(0, "hello", "square", "three"), "hello takes a number"),
    ({"id": 0, "kind": "evaluate", "module": "lse", "function": "primal"}, "no input"),
])
def test_a_failing_evaluate_is_success_false_with_the_reason(message, phrase):
    status, answers, _ = session([message, {"id": 1, "kind": "start"}])
    assert status == 0 and answers[0]["id"] == 0
    assert answers[0]["success"] is False and phrase in answers[0]["error"]
    assert "output" not in answers[0]
    assert answers[1]["tool"] == "difflab"  # the session goes on


def test_a_result_with_nan_is_a_failure_not_invalid_json():
    # log of a sum of exps of inf - inf: nan, which JSON (and GradBench's Rust CLI) refuses
    _, answers, _ = session([evaluate(0, "lse", "gradient", {"x": [1e308, 1e308 * 10]})])
    assert answers[0]["success"] is False and "nan or inf" in answers[0]["error"]


def test_an_unknown_kind_is_answered_with_its_id_and_noted():
    status, answers, logged = session([{"id": 7, "kind": "teleport"}])
    assert status == 0 and answers == [{"id": 7}]
    assert any("unknown kind 'teleport'" in line for line in logged)


def test_end_is_not_answered_and_ends_the_session():
    status, answers, _ = session([{"id": 0, "kind": "end"}, {"id": 1, "kind": "start"}])
    assert status == 0 and answers == []


@pytest.mark.parametrize("line, phrase", [
    ('{"id": 1, "kind": "start"', "line 2 is not JSON"),
    ("[1, 2]", "a JSON list, not a message object"),
    ('{"kind": "start"}', "no integer id"),
    ('{"id": "one", "kind": "start"}', "no integer id"),
])
def test_a_line_that_cannot_be_answered_ends_the_session_with_status_2(line, phrase):
    status, answers, logged = session([{"id": 0, "kind": "start"}, line,
                                       {"id": 2, "kind": "start"}])
    assert status == 2
    assert [a["id"] for a in answers] == [0]  # what came before was answered
    assert phrase in logged[-1] and "session ends" in logged[-1]


def test_a_closed_input_ends_quietly_and_blank_lines_are_skipped():
    status, answers, logged = session([])
    assert status == 0 and answers == [] and "closed after 0 message(s)" in logged[-1]
    status, answers, _ = session(["", "   ", {"id": 0, "kind": "start"}])
    assert status == 0 and [a["id"] for a in answers] == [0]


def test_an_unknown_method_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="known methods: symbolic, numeric, forward"):
        Tool("backwards")


def _command(args, text):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, *args], input=text, capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)


def test_the_command_line_speaks_the_protocol_on_stdout_only():
    text = "\n".join(json.dumps(m) for m in [
        {"id": 0, "kind": "start"}, {"id": 1, "kind": "define", "module": "hello"},
        evaluate(2, "hello", "double", 2.5)]) + "\n"
    done = _command(["-m", "difflab.gradbench", "--method", "forward"], text)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == [0, 1, 2]
    assert answers[0]["config"]["method"] == "forward" and answers[2]["output"] == 5.0
    assert "closed after 3 message(s)" in done.stderr


def test_the_cli_subcommand_refuses_a_bad_method_and_a_bad_line_in_one_line():
    done = _command(["-m", "difflab.cli", "gradbench", "--method", "nope"], "")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "unknown method 'nope'" in done.stderr
    done = _command(["-m", "difflab.cli", "gradbench", "--method", "numeric:central"],
                    "not json\n")
    assert done.returncode == 2 and done.stdout == ""
    assert "line 1 is not JSON" in done.stderr


def test_the_tool_keeps_freed_memory_in_the_heap():
    # glibc serves a 4 MiB block by mmap (returned on free, faulted in again by the next run of a
    # timed function) until keep_freed_memory raises the threshold; then from the heap, below
    # the program break; and a 64 MiB block too (past the 32 MiB cap of the mmap threshold:
    # mmap is off). A fresh process, so the test runner's malloc is left alone.
    code = (
        "import ctypes\n"
        "libc = ctypes.CDLL('libc.so.6')\n"
        "libc.malloc.restype = libc.sbrk.restype = ctypes.c_void_p\n"
        "libc.sbrk.argtypes = [ctypes.c_long]\n"
        "heap = lambda p: p < libc.sbrk(0)\n"
        "before = heap(libc.malloc(1 << 22)), heap(libc.malloc(1 << 26))\n"
        "from difflab.gradbench.protocol import keep_freed_memory\n"
        "kept = keep_freed_memory()\n"
        "print(*before, kept, heap(libc.malloc(1 << 22)), heap(libc.malloc(1 << 26)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True", "True", "True"]


@pytest.mark.parametrize("message, phrase", [
    ({"id": 0, "kind": [1]}, "kind must be a string, got a list"),
    ({"id": 0, "kind": {"a": 1}}, "kind must be a string, got an object"),
    ({"id": 0, "kind": "define", "module": ["lse"]}, "module must be a string, got a list"),
    (evaluate(0, ["lse"], "primal", {"x": [1.0]}), "module must be a string, got a list"),
    (evaluate(0, "lse", {"f": 1}, {"x": [1.0]}), "function must be a string, got an object"),
])
def test_a_list_where_a_string_belongs_is_success_false_and_the_session_goes_on(message,
                                                                               phrase):
    status, answers, _ = session([message, {"id": 1, "kind": "start"}])
    assert status == 0 and [a["id"] for a in answers] == [0, 1]
    assert answers[0]["success"] is False and phrase in answers[0]["error"]
    assert answers[1]["tool"] == "difflab"


def _refused(message, phrases, monkeypatch):
    """The tool's answer to ``message``, which must be refused before anything is prepared
    or run (a prepare here fails the test instead of taking minutes and gigabytes)."""
    import difflab.gradbench.tool as tool_module

    def prepare(*args):
        raise AssertionError("prepared: the input was not refused")

    monkeypatch.setattr(tool_module, "prepare", prepare)
    status, answers, _ = session([message, {"id": 1, "kind": "start"}])
    assert status == 0 and answers[1]["tool"] == "difflab"
    assert answers[0]["success"] is False, answers[0]
    for phrase in phrases:
        assert phrase in answers[0]["error"], answers[0]["error"]
    return answers[0]


def _hand(**model):
    from difflab.gradbench.evals import ht
    input = ht.draw(np.random.default_rng(0), {"N": 3, "V": 10, "complicated": True})
    input = json.loads(json.dumps(input, default=lambda a: np.asarray(a).tolist()))
    input["data"]["model"].update(model)
    return input


@pytest.mark.parametrize("module, function, input, phrase", [
    ("ode", "primal", '{"x": [0.5], "s": Infinity}', "field 's' must be an integer >= 1, got inf"),
    ("ode", "primal", '{"x": [0.5], "s": NaN}', "field 's' must be an integer >= 1, got nan"),
    ("lse", "primal", '{"x": [0.5], "min_runs": Infinity}', "field 'min_runs' must be an int"),
    ("lse", "primal", '{"x": [0.5], "min_runs": NaN}', "field 'min_runs' must be an int"),
    ("lse", "primal", '{"x": [0.5], "min_seconds": Infinity}', "field 'min_seconds' must be"),
    ("lse", "primal", {"x": [0.5], "min_runs": "3"}, "field 'min_runs' must be an integer >= "
                                                     "0, got a string"),
    ("lse", "primal", {"x": []}, "field 'x' must not be empty"),
    ("kmeans", "cost", {"points": [], "centroids": []}, "field 'points' must not be empty"),
    ("lstm", "objective", {"main_params": [], "extra_params": [], "state": [],
                           "sequence": []}, "main_params must be (2l, 4b), got shape (0, 0)"),
    ("ht", "objective", _hand(parents=["a"] * 22), "parents[0] is a string, not an integer"),
    ("ht", "objective", _hand(parents=[1.5] * 22), "parents[0] is 1.5, not an integer"),
    ("ht", "objective", _hand(triangles=[[0, 1, 99]]), "triangles[0] = [0, 1, 99] is not"),
    ("hello", "square", 10 ** 400, "a float64 can hold, got an integer of 401 digits"),
    ("lse", "primal", {"x": ["1", "2"]}, "field 'x': x[0] is a string, not a number"),
    ("lse", "primal", {"x": [1.0, True]}, "field 'x': x[1] is a boolean, not a number"),
    ("lse", "primal", {"x": [None, 1.0]}, "field 'x': x[0] is null, not a number"),
    ("lse", "primal", {"x": {"a": 1}}, "field 'x' must be an array of numbers, got an object"),
    ("kmeans", "cost", {"points": [[1.0, "2"]], "centroids": [[1.0, 2.0]]},
     "points[0][1] is a string, not a number"),
    ("lse", "primal", {"x": [10 ** 400]}, "field 'x' holds an integer too large for a float64"),
])
def test_a_bad_field_is_refused_naming_it(module, function, input, phrase, monkeypatch):
    if isinstance(input, str):  # JSON's Infinity and NaN, as Python's json writes them
        input = json.loads(input)
    _refused(evaluate(0, module, function, input), [phrase], monkeypatch)


@pytest.mark.parametrize("module, function, input, phrases", [
    ("det", "primal", {"ell": 24, "A": [0.5] * 576}, ["'ell'", "at most 18", "DET_WORK"]),
    ("det", "gradient", {"ell": 100, "A": [0.5] * 10000}, ["'ell'", "at most 18"]),
    ("ode", "primal", {"x": [0.5] * 4, "s": 1_000_000_000}, ["'s'", "at most 10,000"]),
    ("ode", "gradient", {"x": [0.5] * 4, "s": 100_000}, ["'s'", "MAX_STEPS"]),
    ("ode", "primal", {"x": [0.5] * 100_000, "s": 10_000}, ["'s'", "ODE_WORK"]),
    ("lse", "primal", {"x": [1.0], "min_runs": 1_000_000_000},
     ["'min_runs'", "at most 1,000,000"]),
    ("lse", "primal", {"x": [1.0], "min_seconds": 1e9}, ["'min_seconds'", "to 3600"]),
    ("llsq", "primal", {"x": [0.5] * 128, "n": 10 ** 9}, ["'n'", "LLSQ_WORK"]),
    ("ba", "objective", {"n": 1, "m": 1, "p": 10 ** 12, "cam": [0.0] * 11, "x": [0.0] * 3,
                         "w": 1.0, "feat": [0.0] * 2}, ["'p'", "BA_WORK"]),
    ("kmeans", "cost", {"points": [[0.5]] * 100_000, "centroids": [[0.5]] * 10_000},
     ["'points'", "'centroids'", "KMEANS_WORK"]),
    ("gmm", "objective", {"d": 1, "k": 10 ** 5, "n": 10 ** 5, "m": 0, "gamma": 1.0},
     ["'k'", "'n'", "GMM_WORK"]),
    ("lstm", "objective", {"main_params": [[0.0] * 4] * 400, "extra_params": [[0.0]] * 3,
                           "state": [[0.0]] * 400, "sequence": [[0.0]] * 1000},
     ["main_params", "sequence", "LSTM_STEPS"]),
])
def test_one_message_asking_for_unbounded_work_is_refused_at_once(module, function, input,
                                                                  phrases, monkeypatch):
    _refused(evaluate(0, module, function, input), phrases, monkeypatch)
