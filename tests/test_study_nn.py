"""The neural-network studies (mlp_backprop, gradient_flow, worked_example) at --quick size.

Each experiment runs in-process into a temporary results directory, then its report section is
built; the assertions check the measured rows against independent references (the published
numbers of the worked example, JAX, the hand-written backward pass) and the figures' files.
"""

from __future__ import annotations

import numpy as np
import pytest

from difflab import api
from difflab.core.evaluate import evaluate
from difflab.lab import load
from difflab.lab.experiments import load_config, run_experiment
from difflab.lab.page import figure_parts
from difflab.lab.problems import get_problem
from difflab.studies import gradient_flow, mlp_backprop, worked_example
from difflab.studies import mlp_backprop_report as report

PNG = b"\x89PNG\r\n\x1a\n"


def _run(name: str, tmp_path_factory):
    results = tmp_path_factory.mktemp(f"{name}-results")
    path = run_experiment(name, quick=True, results=results)
    config = load_config(name, quick=True)
    df = load(path)
    module = {"mlp_backprop": mlp_backprop, "gradient_flow": gradient_flow,
              "worked_example": worked_example}[name]
    section = module.section(df, config, tmp_path_factory.mktemp(f"{name}-figures"))
    return df, config, section


def _assert_figures(section) -> None:
    assert section.figures
    for path, caption, alt in map(figure_parts, section.figures):  # captioned, with alt text
        assert len(caption) > 30 and len(alt) > 40, path
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, path


# ---- worked_example -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def worked(tmp_path_factory):
    return _run("worked_example", tmp_path_factory)


def test_worked_example_matches_the_published_numbers(worked):
    df, config, _ = worked
    grads = df[df["kind"] == "grad"].set_index("method")
    assert set(grads.index) == set(config["methods"])
    # Mazur's "step by step backpropagation": dE/dw5 = 0.082167041, dE/dw1 = 0.000438568;
    # recomputed by hand: 0.08216704056, 0.0004385677345.
    for method in config["methods"]:
        assert abs(grads.loc[method, "grads.w5"] - 0.0821670405) < 1e-9, method
        assert abs(grads.loc[method, "grads.w1"] - 0.000438568) < 1e-9, method
        tol = 1e-9 if method.startswith("numeric") and method != "numeric:complex" else 1e-15
        assert grads.loc[method, "max_abs_diff"] < tol, method
    book = df[df["kind"] == "textbook"].iloc[0]
    assert abs(book["forward.E"] - 0.298371109) < 1e-9
    assert abs(book["forward.out_o1"] - 0.75136507) < 1e-8


def test_worked_example_shows_the_one_minus_a_slip(worked):
    df, _, section = worked
    book = df[df["kind"] == "textbook"].iloc[0]
    o1, h1 = book["forward.out_o1"], book["forward.out_h1"]
    # sigma' taken as 1 - a instead of a (1 - a): the output delta is 1/a times too large
    assert book["wrong_grads.w5"] == pytest.approx(book["grads.w5"] / o1, rel=1e-12)
    assert book["wrong_grads.w5"] == pytest.approx((o1 - 0.01) * (1 - o1) * h1, rel=1e-12)
    assert book["wrong_grads.w1"] > 2 * book["grads.w1"]
    assert "0.0821670406" in section.findings and "x1.331" in section.findings
    # the article is cited by its title (it names no author), never as a "seed"
    assert worked_example.SLIP_ARTICLE in section.findings and "seed" not in section.findings
    assert "反向传播：高效计算梯度的算法" in worked_example.SLIP_ARTICLE
    assert "slip 1-a" in section.table.columns


def test_worked_example_prints_the_tape(worked):
    df, _, section = worked
    tape = df[df["kind"] == "tape"].iloc[0]
    assert tape["slots"] == 43 and tape["tape"].count("sigmoid") == 4
    # what the sweep hands to net_o1 and net_h1 are the textbook's deltas (by hand:
    # delta_o1 = 0.1384985616, delta_h1 = 0.008771354689)
    assert abs(tape["net_bars.o1"]["bar"] - 0.1384985616) < 1e-9
    assert abs(tape["net_bars.h1"]["bar"] - 0.008771354689) < 1e-11
    assert f"{tape['net_bars.o1']['slot']}_bar += 0.138499" in tape["sweep"]
    assert section.findings.count("```") >= 6 and "Wengert list" in section.findings
    table = section.table.set_index("dE/d")
    assert table.loc["w5", "reverse"] == "0.0821670406"
    assert (section.figure_paths()[0].parent / "worked_example_tape.txt").stat().st_size > 1000
    _assert_figures(section)


# ---- mlp_backprop ---------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_hand_backprop_matches_jax(activation):
    params = {"width": 5, "depth": 3, "batch": 6, "inputs": 3, "outputs": 2,
              "activation": activation}
    inst = get_problem("mlp_loss").instance(params, seed=3)
    loss, hand = mlp_backprop.hand_backprop(inst.point, 3, activation)
    ref = api.grad(inst.expr, inst.point, method="jax", wrt=inst.wrt)
    assert loss == pytest.approx(float(evaluate(inst.expr, inst.point)), rel=1e-14)
    for name in inst.wrt:
        np.testing.assert_allclose(hand[name], ref[name], rtol=1e-12, atol=1e-15)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    return _run("mlp_backprop", tmp_path_factory)


def test_mlp_step_cost_cells_start_where_training_starts():
    config = {**load_config("mlp_backprop"), "seed": 3}
    expr, point, wrt, _ = mlp_backprop.training_problem(config)
    inst = mlp_backprop.get_problem("mlp_train").instance(mlp_backprop.training_params(config),
                                                          seed=3)
    assert inst.expr is expr and set(inst.point) == set(point)
    for name, value in point.items():
        np.testing.assert_array_equal(inst.point[name], value)
    # the regression task's data, not mlp_loss's sampled teacher: y = sin x, x sorted in ±pi
    x = inst.point["X"][:, 0]
    assert np.all(np.diff(x) >= 0) and np.all(np.abs(x) <= np.pi)
    np.testing.assert_array_equal(inst.point["Y"][:, 0], np.sin(x))
    assert not np.array_equal(
        get_problem("mlp_loss").instance(mlp_backprop.training_params(config), seed=3)
        .point["Y"], inst.point["Y"])
    loss, hand = mlp_backprop.hand_backprop(point, config["train_depth"], "tanh")
    assert set(inst.truth()) == set(wrt)
    np.testing.assert_array_equal(inst.truth()["W1"], hand["W1"])
    with pytest.raises(ValueError, match="mlp_loss and mlp_train"):
        mlp_backprop.get_problem("rosenbrock")


def test_mlp_every_method_matches_the_hand_written_pass(mlp):
    df, config, _ = mlp
    cells = df[df["kind"] == "grad"]
    assert set(cells["truth_source"]) == {"hand"}
    assert set(cells["method"]) == set(config["methods"])
    assert (cells["outcome"] == "ok").all(), cells[cells["outcome"] != "ok"]["message"]
    exact = cells[cells["method"] != "numeric"]
    assert exact["max_rho"].max() < 1e-13
    assert cells[cells["method"] == "numeric"]["max_rho"].max() < 1e-8


def test_mlp_training_curves_are_identical_for_ad_methods(mlp):
    df, config, section = mlp
    train = df[df["kind"] == "train"]
    curves = {(r["optimizer"], r["method"]): np.asarray(r["loss"]) for _, r in train.iterrows()}
    for optimizer in config["optimizers"]:
        ref = curves[(optimizer, "reverse")]
        assert len(ref) == config["train_steps"] + 1 and ref[-1] < 0.8 * ref[0]
        for method in ("forward", "jax"):
            np.testing.assert_allclose(curves[(optimizer, method)], ref, rtol=1e-10, atol=0)
        np.testing.assert_allclose(curves[(optimizer, "numeric")], ref, rtol=1e-6)
    step = train.groupby("method")["grad_ms"].median()
    assert step["numeric"] > 5 * step["reverse"]  # 4n = 52 loss evaluations per gradient
    # the step cost of the figure and the table: one repeated cell per training method, at
    # the training run's own point, checked against the hand-written pass like the sweep
    cells = df[(df["kind"] == "grad") & (df["problem"] == "mlp_train")]
    assert set(cells["method"]) == set(config["train_methods"])
    assert (cells.groupby("method").size() == config["repeats"]).all()
    assert (cells["outcome"] == "ok").all() and cells["max_rho"].max() < 1e-8
    times = report.step_times(df)
    assert set(times) == set(config["train_methods"])
    assert times["numeric"].value > 5 * times["reverse"].value
    assert all(t.lo <= t.value <= t.hi and t.n == config["repeats"] for t in times.values())
    table = section.table.set_index("method")
    assert table.loc["forward", "loss curve max rel. diff. vs reverse"] < 1e-10
    assert "loss evaluations" in section.findings and "rho <=" in section.findings
    _assert_figures(section)
    assert len(section.figures) == 3


# ---- gradient_flow --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    return _run("gradient_flow", tmp_path_factory)


def test_gradient_flow_rows_and_reverse_norms(flow):
    df, config, _ = flow
    n = len(config["activations"]) * len(config["inits"]) * len(config["depths"])
    assert (df["kind"] == "flow").sum() == n * config["seeds"]
    # one network checked against the hand-written backward pass (independent of the tape)
    row = df[(df["activation"] == "tanh") & (df["init"] == "he") & (df["depth"] == 5)].iloc[0]
    params = {"width": config["width"], "depth": 5, "batch": config["batch"],
              "inputs": config["inputs"], "outputs": config["outputs"],
              "activation": "tanh", "init": "he"}
    inst = get_problem("mlp_loss").instance(params, int(row["seed"]))
    hand = mlp_backprop.hand_backprop(inst.point, 5, "tanh")[1]
    np.testing.assert_allclose(row["w_norms"], [np.linalg.norm(hand[f"W{k}"])
                                                for k in range(1, 7)], rtol=1e-12)


def test_gradient_flow_vanishing_and_exploding(flow):
    df, _, section = flow
    df = df[df["kind"] == "flow"]
    at = lambda a, i: df[(df["activation"] == a) & (df["init"] == i) & (df["depth"] == 20)]  # noqa: E731
    ratio = lambda a, i: np.mean([w[0] / w[-1] for w in at(a, i)["w_norms"]])  # noqa: E731
    assert ratio("sigmoid", "naive") < 1e-2       # vanishing
    assert ratio("sigmoid", "xavier") < 1e-8      # ~x0.2 per layer: sigmoid' <= 1/4
    assert ratio("tanh", "naive") > 1e2           # exploding
    assert 0.05 < ratio("relu", "he") < 20        # He keeps ReLU's gradients level
    sigmoid = df[df["activation"] == "sigmoid"]
    assert max(max(p) for p in sigmoid["act_prime"]) <= 0.25  # the bound itself
    assert "per layer" in section.findings and "1/4" in section.findings
    _assert_figures(section)


def test_gradient_flow_architectures_rows(flow):
    df, config, _ = flow
    arch, lesion = df[df["kind"] == "arch"], df[df["kind"] == "lesion"]
    pairs = len(config["activations"]) * len(config["inits"])
    assert len(arch) == len(config["archs"]) * pairs * len(config["arch_depths"]) \
        * config["arch_seeds"]
    assert len(lesion) == len(config["archs"]) * len(config["lesion_cases"]) \
        * config["arch_seeds"]
    assert (arch["outcome"] == "ok").all() and set(arch["arch"]) == set(config["archs"])
    for _, row in arch.iterrows():
        assert len(row["w_norms"]) == row["depth"] + 1 and len(row["act_std"]) == row["depth"]
    for _, row in lesion.iterrows():
        assert len(row["lesion_single"]) == config["lesion_depth"] - 1
        assert len(row["lesion_multi"]) == len(config["lesion_counts"])


def test_gradient_flow_architectures_claims(flow):
    df, config, section = flow
    d = max(config["arch_depths"])
    arch = df[(df["kind"] == "arch") & (df["depth"] == d)]
    rows = lambda a, act, init: arch[(arch["arch"] == a) & (arch["activation"] == act)  # noqa: E731
                                     & (arch["init"] == init)]
    ratio = lambda a, act, init: np.mean([w[0] / w[-2] for w in rows(a, act, init)["w_norms"]])  # noqa: E731
    # the skip carries sigmoid's error to the input; plain vanishes
    assert ratio("residual", "sigmoid", "xavier") > 1e4 * ratio("plain", "sigmoid", "xavier")
    # batch norm: every hidden layer's spread as the first one's, whatever the weights' scale
    for _, row in arch[arch["arch"] == "batchnorm"].iterrows():
        s = np.asarray(row["act_std"])
        assert np.all(np.abs(s / s[0] - 1) < 0.1), row["cell_id"]
    # residual without normalisation: the stream's spread grows (relu/He)
    s = np.asarray(rows("residual", "relu", "he")["act_std"].iloc[0])
    assert s[-1] > 10 * s[0]
    sub = section.subsections[0]
    assert sub.name == "gradient_flow_arch" and len(sub.figures) == 3
    _assert_figures(sub)
    for fig in sub.figures:
        path, caption, alt = fig
        assert caption and alt and path.name.startswith("gradient_flow_arch_")
    assert len(sub.table) == len(config["archs"]) * len(config["activations"]) \
        * len(config["inits"])
    for claim in ("Batch norm stabilises", "mitigate vanishing", "explode", "Fusing",
                  "ensemble"):
        assert claim in sub.findings, claim
    assert sub.findings.count("\n- ") >= 5 and sub.findings.count("**") >= 10
