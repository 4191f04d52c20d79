"""The residual / batch-norm networks of gradient_flow, and the lesion measurement.

The references are independent of the IR: the same networks written in jax.numpy (gradients by
jax.grad) and in NumPy (activations, lesioned outputs), and closed forms (batch norm's mean 0
and variance var / (var + eps), the identity of a residual block with zero weights).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from difflab.core.evaluate import evaluate
from difflab.core.expr import variable
from difflab.lab.problems import get_problem
from difflab.studies import gradient_flow, gradient_flow_arch
from difflab.studies.gradient_flow_arch import (
    ARCHS,
    batch_norm,
    build_network,
    lesion_study,
    measure_arch,
    relative_change,
    sample_point,
)

jax.config.update("jax_enable_x64", True)
SIZES = {"width": 6, "batch": 9, "inputs": 6, "outputs": 2}
NP_ACT = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
          "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z))}
JNP_ACT = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}


def _reference(xp, act, arch, depth, params, removed=()):
    """The network written out in NumPy or jax.numpy: (output f, hidden layers)."""
    def bn(z):
        c = z - z.mean(axis=0, keepdims=True)
        return c / xp.sqrt((c * c).mean(axis=0, keepdims=True) + 1e-5)

    h, hidden = params["X"], []
    for k in range(1, depth + 1):
        if k not in removed:
            z = h @ params[f"W{k}"] + params[f"b{k}"]
            branch = act(bn(z) if arch in ("batchnorm", "resbn") else z)
            h = h + branch if arch in ("residual", "resbn") and k >= 2 else branch
        hidden.append(h)
    return h @ params[f"W{depth + 1}"] + params[f"b{depth + 1}"], hidden


def _params(arch, activation, init="xavier", depth=4):
    return {**SIZES, "arch": arch, "depth": depth, "activation": activation, "init": init}


def test_batch_norm_has_mean_zero_and_unit_std_over_the_batch():
    rng = np.random.default_rng(0)
    z = rng.normal(3.0, 2.5, size=(16, 5)) * np.array([1.0, 0.1, 10.0, 1e-3, 1.0])
    out = evaluate(batch_norm(variable("z")), {"z": z})
    assert out.shape == z.shape
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-13)
    var = z.var(axis=0)
    # the batch's own (biased) variance, eps = 1e-5: std = sqrt(var / (var + eps))
    np.testing.assert_allclose(out.std(axis=0), np.sqrt(var / (var + 1e-5)), rtol=1e-12)
    assert np.all(np.abs(out.std(axis=0)[[0, 2, 4]] - 1.0) < 1e-5)
    np.testing.assert_allclose(out, (z - z.mean(0)) / np.sqrt(var + 1e-5), rtol=1e-12)


@pytest.mark.parametrize("arch", ["batchnorm", "resbn"])
def test_batch_norm_layers_are_normalised_before_the_activation(arch):
    params = _params(arch, "tanh", init="naive")
    point = sample_point(params, seed=2)
    _, _, hidden = build_network(arch, 4, "tanh")
    # layer 1 (no skip): h_1 = tanh(bn(z_1)), so artanh(h_1) has mean 0 and std ~1 per unit
    pre = np.arctanh(evaluate(hidden[0], {n: point[n] for n in hidden[0].variables}))
    np.testing.assert_allclose(pre.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(pre.std(axis=0), 1.0, atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_residual_block_with_zero_weights_is_the_identity(activation):
    params = _params("residual", activation, init="he", depth=5)
    point = sample_point(params, seed=1)
    for k in range(2, 6):  # act(0 @ W + 0) = 0 for tanh and relu: h_k = h_{k-1}
        point[f"W{k}"] = np.zeros_like(point[f"W{k}"])
    f, _, hidden = build_network("residual", 5, activation)
    values = [evaluate(h, {n: point[n] for n in h.variables}) for h in hidden]
    for h in values[1:]:
        np.testing.assert_array_equal(h, values[0])
    expected = values[0] @ point["W6"] + point["b6"]
    np.testing.assert_allclose(evaluate(f, {n: point[n] for n in f.variables}), expected,
                               rtol=1e-14)
    # and removing such a block changes nothing
    f_removed = build_network("residual", 5, activation, lesion=[3])[0]
    np.testing.assert_allclose(evaluate(f_removed, {n: point[n] for n in f_removed.variables}),
                               expected, rtol=1e-14)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_gradients_and_activations_match_a_jax_network(arch, activation):
    params = _params(arch, activation)
    measured = measure_arch(params, seed=4)
    point = {k: jnp.asarray(v) for k, v in sample_point(params, 4).items()}

    def loss(p):
        f, _ = _reference(jnp, JNP_ACT[activation], arch, 4, p)
        return jnp.mean((f - p["Y"]) ** 2)

    grads = jax.grad(loss)(point)
    np.testing.assert_allclose(measured["w_norms"],
                               [float(jnp.linalg.norm(grads[f"W{k}"])) for k in range(1, 6)],
                               rtol=1e-10)
    assert measured["loss"] == pytest.approx(float(loss(point)), rel=1e-12)
    hidden = _reference(np, NP_ACT[activation], arch, 4,
                        {k: np.asarray(v) for k, v in point.items()})[1]
    np.testing.assert_allclose(measured["act_std"], [np.std(h) for h in hidden], rtol=1e-12)


def test_plain_architecture_is_the_mlp_loss_problem():
    params = {**_params("plain", "tanh", init="he", depth=3)}
    loss = build_network("plain", 3, "tanh")[1]
    mlp = {k: v for k, v in params.items() if k != "arch"}
    inst = get_problem("mlp_loss").instance(mlp, seed=5)
    assert float(evaluate(loss, inst.point)) == pytest.approx(
        float(evaluate(inst.expr, inst.point)), rel=1e-15)
    np.testing.assert_allclose(measure_arch(params, 5)["w_norms"],
                               gradient_flow.measure_network(mlp, 5)["w_norms"], rtol=1e-13)


def test_relative_change_is_of_the_centred_output():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(20, 2)) + 5.0
    assert relative_change(f, f) == 0.0
    assert relative_change(f, f + 7.0) == pytest.approx(0.0, abs=1e-14)  # a shift only
    c = f - f.mean(axis=0)
    assert relative_change(f, f.mean(axis=0) - c) == pytest.approx(2.0, rel=1e-14)
    assert relative_change(f, f + 0.5 * c) == pytest.approx(0.5, rel=1e-14)
    assert np.isnan(relative_change(np.full((4, 1), 3.0), rng.normal(size=(4, 1))))


@pytest.mark.parametrize("arch", ["plain", "residual", "resbn"])
def test_lesion_study_against_numpy(arch):
    params = _params(arch, "tanh", depth=5)
    result = lesion_study(params, seed=6, counts=[1, 3, 9])
    point = sample_point(params, 6)
    f = _reference(np, np.tanh, arch, 5, point)[0]
    single = [relative_change(f, _reference(np, np.tanh, arch, 5, point, removed={k})[0])
              for k in range(2, 6)]
    np.testing.assert_allclose(result["lesion_single"], single, rtol=1e-10)
    assert len(result["lesion_multi"]) == 3
    # n = 9 > the 4 removable layers: all of them go, h_5 = h_1
    every = _reference(np, np.tanh, arch, 5, point, removed={2, 3, 4, 5})[0]
    assert result["lesion_multi"][2] == pytest.approx(relative_change(f, every), rel=1e-10)


def test_bad_architecture_arguments_are_named():
    with pytest.raises(ValueError, match="unknown architecture 'dense'.*plain"):
        build_network("dense", 3, "tanh")
    with pytest.raises(ValueError, match="lesion: layer 1 .*2..3"):
        build_network("residual", 3, "tanh", lesion=[1])
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        build_network("plain", 3, "gelu")
    with pytest.raises(ValueError, match="unknown init 'orthogonal'"):
        sample_point({**_params("plain", "tanh"), "init": "orthogonal"}, 0)


def test_run_cells_is_a_no_op_without_architectures():
    class Rows:
        done: set = set()
        rows: list = []

        def append(self, row):
            self.rows.append(row)

    config = {"seed": 0, "activations": ["tanh"], "inits": ["he"], **SIZES}
    run = Rows()
    gradient_flow_arch.run_cells(config, run, "gradient_flow")
    assert run.rows == []
    gradient_flow_arch.run_cells({**config, "archs": ["resbn"], "arch_depths": [3],
                                  "lesion_depth": 3, "lesion_cases": [["tanh", "he"]]},
                                 run, "gradient_flow")
    assert [r["cell_id"] for r in run.rows] == ["arch:resbn:tanh:he:3:0",
                                                "lesion:resbn:tanh:he:3:0"]
