"""Smoke tests of the accuracy, fd_steps and hessian experiments at their QUICK sizes.

Each experiment runs in-process into a temporary results directory (module-scoped: once per
experiment), then builds its report section; the assertions are about the measured numbers
(what the experiment is meant to show) and the written figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from difflab.lab import Run, Settings, load
from difflab.lab.experiments import load_config, run_experiment
from difflab.lab.page import figure_parts
from difflab.studies import accuracy, fd_steps, hessian

EPS = float(np.finfo(np.float64).eps)
PNG = b"\x89PNG\r\n\x1a\n"


def _run(name: str, tmp_path_factory):
    root = tmp_path_factory.mktemp(name)
    path = run_experiment(name, quick=True, results=root / "results")
    config = load_config(name, quick=True)
    df = load(path)
    study = {"accuracy": accuracy, "fd_steps": fd_steps, "hessian": hessian}[name]
    return path, config, df, study.section(df, config, root / "figures")


@pytest.fixture(scope="module")
def fd(tmp_path_factory):
    return _run("fd_steps", tmp_path_factory)


@pytest.fixture(scope="module")
def acc(tmp_path_factory):
    return _run("accuracy", tmp_path_factory)


@pytest.fixture(scope="module")
def hes(tmp_path_factory):
    return _run("hessian", tmp_path_factory)


def _figures_ok(section, names):
    assert [p.name for p in section.figure_paths()] == names
    for path, caption, alt in map(figure_parts, section.figures):  # captioned, with alt text
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 20_000, path
        assert len(caption) > 40 and len(alt) > 40, path


# ---- fd_steps ----------------------------------------------------------------------------
def test_fd_steps_v_shape_of_central_differences(fd):
    _, config, df, _ = fd
    for problem in config["functions"]:
        c = fd_steps.curves(df, problem, "central")
        best = c["rel_err"].min()
        assert best < 1e-9, problem                       # the bottom of the V
        assert fd_steps.at_step(df, problem, "central", 1e-14) > 1e-6, problem  # round-off
        assert fd_steps.at_step(df, problem, "central", 1e-1) > 1e-4, problem   # truncation
        # forward differences are one order lower: their best is far worse than central's
        assert fd_steps.curves(df, problem, "forward")["rel_err"].min() > 100 * best


def test_fd_steps_best_step_is_near_theory(fd):
    _, config, df, section = fd
    table = section.table.set_index(["function", "method"])
    for problem in config["functions"]:
        for scheme in ("forward", "central", "central4"):
            best_h, h_star = table.loc[(problem, scheme), ["best h", "theory h*"]]
            # the measured grid has one step per decade in QUICK: within a decade and a half
            assert abs(np.log10(best_h / h_star)) < 1.5, (problem, scheme, best_h, h_star)


def test_fd_steps_complex_step_and_ad_are_exact_to_rounding(fd):
    _, config, df, _ = fd
    for problem in config["functions"]:
        c = fd_steps.curves(df, problem, "complex")
        assert c["h_used"].min() <= 1e-100                # it went far below 1e-16
        assert (c[c["h_used"] <= 1e-10]["rel_err"] <= 4 * EPS).all(), problem
        ad = df[(df["problem"] == problem) & (df["what"] == "ad")]
        assert set(ad["method"]) == {"forward", "reverse"}
        assert (ad["rel_err"] <= 4 * EPS).all(), problem


def test_fd_steps_peers_choose_their_own_steps(fd):
    """numdifftools and scipy.differentiate (config ``methods``) as flat lines beside AD: their
    adaptive steps land near the bottom of central differences' V or below it."""
    _, config, df, section = fd
    assert config["methods"] == ["numdifftools", "scipy"]
    table = section.table.set_index(["function", "method"])
    for problem in config["functions"]:
        own = df[(df["problem"] == problem) & (df["what"] == "method")].set_index("method")
        assert set(own.index) == {"numdifftools", "scipy"} and (own["outcome"] == "ok").all()
        best_central = fd_steps.curves(df, problem, "central")["rel_err"].min()
        for peer in ("numdifftools", "scipy"):
            assert own.loc[peer, "rel_err"] < max(10 * best_central, 1e-12), (problem, peer)
            assert table.loc[(problem, f"{peer} (own steps)"), "best rel. error"] == \
                own.loc[peer, "rel_err"]
    assert "choosing their own steps, numdifftools" in section.findings


def test_fd_steps_records_vanishing_steps_and_resumes(fd):
    path, config, df, _ = fd
    # h = 1e-16 next to x = 1.5 is below half an ulp: x + h == x, recorded as an error row
    vanished = df[(df["problem"] == "squire_trapp") & (df["outcome"] == "error")]
    assert len(vanished) and vanished["message"].str.contains("vanishes").all()
    with Run.open(path) as run:  # a second pass over a finished run adds nothing
        before = run.n_rows
        fd_steps.run(config, run, Settings())
        assert run.n_rows == before


def test_fd_steps_shows_the_adaptive_scheme(fd):
    _, config, df, section = fd
    assert config["adaptive"] == ["numeric"]
    for problem in config["functions"]:
        a = df[(df["problem"] == problem) & (df["what"] == "adaptive")]
        assert list(a["method"]) == ["numeric"] and (a["outcome"] == "ok").all()
        # no step to choose, and as good as the best step of any real scheme
        assert float(a["rel_err"].iloc[0]) <= 1e-12, problem
        assert float(a["rel_err"].iloc[0]) <= fd_steps.curves(df, problem,
                                                               "central4")["rel_err"].min()
        assert 13 <= int(a["evaluations"].iloc[0]) <= 63
        assert abs(a["value"] - a["truth"]).iloc[0] <= float(a["error_estimate"].iloc[0])
    assert section.table["method"].str.startswith("numeric (adaptive").sum() == \
        len(config["functions"])
    assert "the adaptive scheme, which chooses its own steps" in section.findings


def test_fd_steps_section(fd):
    _, config, _, section = fd
    _figures_ok(section, ["fd_steps.png", "fd_steps_complex.png"])
    assert set(section.table["function"]) == set(config["functions"])
    assert "theory h*" in section.findings or "h* =" in section.findings
    assert any(ch.isdigit() for ch in section.findings)


# ---- accuracy ----------------------------------------------------------------------------
def test_accuracy_exact_methods(acc):
    _, config, df, _ = acc
    assert len(df) == len(config["problems"]) * len(config["methods"]) * len(config["seeds"])
    exact = df[df["method"].isin(accuracy.EXACT)]
    assert (exact["outcome"].isin(["ok", "wrong"])).all()
    # every exact method is within 1e-12 of the truth except where float64 itself cancels
    well = exact[exact["problem"] != "cos_cancel"]
    assert well["max_rho"].max() <= 1e-12
    # (1 - cos x)/x^2 at x = 1e-3: all exact methods miss by the same ~1e-8, the float64
    # formula's own rounding, and agree with one another far more closely than that
    cancel = exact[exact["problem"] == "cos_cancel"]["max_rho"]
    assert cancel.min() > 1e-10
    assert cancel.max() - cancel.min() < 1e-3 * cancel.min()


def test_accuracy_finite_differences(acc):
    _, _, df, _ = acc
    by = df.groupby("method")["max_rho"]
    assert by.max()["numeric:forward"] > 1e-10
    assert by.median()["numeric:forward"] > 1e-10           # about half the digits
    # the higher the order, the smaller the typical error
    medians = [by.median()[m] for m in ("numeric:central4", "numeric:central",
                                        "numeric:forward")]
    assert medians == sorted(medians)
    complex_step = df[df["method"] == "numeric:complex"].set_index("problem")
    assert complex_step.loc["relu_product", "outcome"] == "unsupported"   # not analytic
    assert complex_step.loc["squire_trapp", "max_rho"] <= 4 * EPS


def test_accuracy_adaptive_default(acc):
    _, config, df, _ = acc
    assert "numeric" in config["methods"]
    adaptive = df[df["method"] == "numeric"]
    assert (adaptive["outcome"] == "ok").all()
    assert adaptive["max_rho"].max() <= 1e-9
    central4 = df[df["method"] == "numeric:central4"].set_index("problem")["max_rho"]
    assert (adaptive.set_index("problem")["max_rho"] <= central4.clip(lower=1e-14)).all()


def test_accuracy_peers_are_judged_at_their_declared_tolerance(acc):
    _, config, df, section = acc
    assert {"numdifftools", "scipy"} <= set(config["methods"])
    for peer, tol in (("numdifftools", 1e-9), ("scipy", 1e-7)):
        rows = df[df["method"] == peer].set_index("problem")
        assert (rows["tol"] == tol).all()
        smooth = rows.loc[["squire_trapp", "logistic4", "exp_large", "six_var"]]
        assert (smooth["outcome"] == "ok").all() and smooth["max_rho"].max() < 1e-10, peer
        assert rows.loc["sqrt_small", "outcome"] == "nan"  # central steps leave sqrt's domain
    assert {"numdifftools", "scipy"} <= set(section.table["method"])
    assert "numdifftools" in section.findings


def test_accuracy_section(acc):
    _, config, _, section = acc
    _figures_ok(section, ["accuracy.png"])
    table = section.table.set_index("method")
    assert list(table.index[:4]) == list(accuracy.EXACT)
    assert (table["cells"] == len(config["problems"]) * len(config["seeds"])).all()
    assert (table["ok"] + table["wrong"] + table["other"] == table["cells"]).all()
    assert "cos_cancel" in section.findings and "```" in section.findings
    assert set(section.summary) >= {"symbolic", "numeric", "forward", "reverse", "jax"}
    assert "adaptive (the default)" in section.findings


# ---- hessian -----------------------------------------------------------------------------
def test_hessian_all_ok_and_accurate(hes):
    _, config, df, _ = hes
    n_problems = len(config["scalar"]) + len(config["rosenbrock_n"]) + len(config["mlp"])
    repeats = config.get("repeats", 1)  # every cell measured once per pass
    assert len(df) == n_problems * len(config["methods"]) * repeats
    assert (df["outcome"] == "ok").all(), df[df["outcome"] != "ok"][["problem", "message"]]
    exact = df[df["method"].isin(["symbolic", "forward", "reverse", "jax"])]
    assert exact["max_rho"].max() <= 1e-13
    numeric = df[df["method"] == "numeric"]["max_rho"]
    assert numeric.min() > 1e-12                         # second differences lose digits
    assert (df["time_median"] > 0).all() and (df["ratio"] > 0).all()


def test_hessian_section(hes):
    _, _, _, section = hes
    _figures_ok(section, ["hessian.png"])
    assert list(section.table["method"]) == ["symbolic", "numeric", "forward", "reverse", "jax"]
    assert "time grows like n^k" in section.findings
