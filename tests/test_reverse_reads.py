"""Reverse mode's lean forward pass (``Program.record(lean=True)``) and ``rules.VALUE_READS``.

A gradient's forward pass keeps only the arrays a backward rule reads by value; the others are
freed after their last forward use and a NaN stand-in of their shape takes their place. For
every op the table lists, a case puts the op on computed operands (so they could be freed),
differentiates with respect to both variables and to one (both ``need`` variants), and checks:

- the lean gradient equals the gradient swept over the full tape, bit for bit, and is finite
  (a rule that read a freed value would meet NaN);
- an operand of the op is freed exactly when the table says its rule does not read it;
- the sweep's in-place sums (a cotangent added into the sweep's own earlier sum) leave the
  tape's recorded cotangents as a sweep without them gives (``Tape.backward``, fan-out).
"""

import numpy as np
import pytest

import difflab as dl
import difflab.numpy as dnp
from difflab.reverse.program import compile_program
from difflab.reverse.rules import _ONE, VALUE_READS
from difflab.reverse.sweep import sweep

SEED = 4711
SHAPES = {"v": (3, 4), "w": (3, 4)}


def _point():
    rng = np.random.default_rng(SEED)
    return {"v": rng.uniform(0.2, 0.9, (3, 4)), "w": rng.uniform(0.2, 0.9, (3, 4))}


def _u(v):  # a computed array in (0, 1): every op below is defined on it
    return 0.5 + 0.3 * dnp.sin(v)


def _uw(v, w):  # a computed array of both variables, in (0.04, 0.72)
    return _u(v) * w


# op -> a scalar expression of v and w with the op applied to computed operands; its result
# goes to a consumer that reads nothing of it (a sum), so only the op's own reads keep it
_UNARY = {"sin": dnp.sin, "cos": dnp.cos, "asin": dnp.arcsin, "acos": dnp.arccos,
          "atan": dnp.arctan, "sinh": dnp.sinh, "cosh": dnp.cosh, "log": dnp.log,
          "log1p": dnp.log1p, "square": dnp.square, "tan": dnp.tan, "tanh": dnp.tanh,
          "exp": dnp.exp, "expm1": dnp.expm1, "sqrt": dnp.sqrt, "sigmoid": dnp.sigmoid,
          "softplus": dnp.softplus, "neg": dnp.negative}


def _unary_case(fn):
    return lambda v, w: dnp.sum(fn(_uw(v, w)))


def _comparison_case(fn):  # the mask picks v * w or w
    return lambda v, w: dnp.sum(dnp.where(fn(_u(v), _u(w)), v * w, w))


CASES = {
    **{op: _unary_case(fn) for op, fn in _UNARY.items()},
    "abs": lambda v, w: dnp.sum(dnp.abs(_uw(v, w) - 0.3)),
    "relu": lambda v, w: dnp.sum(dnp.relu(_uw(v, w) - 0.3)),
    "logsumexp": lambda v, w: dnp.sum(dnp.logsumexp(_uw(v, w), axis=1)),
    "reduce_prod": lambda v, w: dnp.sum(dnp.prod(_uw(v, w), axis=0)),
    "softmax": lambda v, w: dnp.sum(dnp.softmax(_uw(v, w), axis=1)[:, :2]),
    "log_softmax": lambda v, w: dnp.sum(dnp.log_softmax(_uw(v, w), axis=1)),
    "add": lambda v, w: dnp.sum(_u(v) + _u(w)),
    "sub": lambda v, w: dnp.sum(_u(v) - _u(w)),
    "mul": lambda v, w: dnp.sum(_u(v) * _u(w)),
    "div": lambda v, w: dnp.sum(_u(v) / _u(w)),
    "matmul": lambda v, w: dnp.sum(_u(v) @ dnp.transpose(_u(w))),
    "sum": lambda v, w: dnp.sum(_uw(v, w)) * dnp.sum(_u(w)),
    "mean": lambda v, w: dnp.mean(_uw(v, w)) * dnp.sum(_u(w)),
    "transpose": lambda v, w: dnp.sum(dnp.transpose(_uw(v, w))[1:]),
    "index": lambda v, w: dnp.sum(_uw(v, w)[1:, ::2]),
    "reduce_sum": lambda v, w: dnp.sum(dnp.sum(_uw(v, w), axis=0)[1:]),
    "reduce_mean": lambda v, w: dnp.sum(dnp.mean(_uw(v, w), axis=1)[1:]),
    "reshape": lambda v, w: dnp.sum(dnp.reshape(_uw(v, w), (4, 3))[1:]),
    "permute": lambda v, w: dnp.sum(dnp.transpose(dnp.reshape(_uw(v, w), (3, 2, 2)),
                                                  (1, 2, 0))[1:]),
    "concat": lambda v, w: dnp.sum(dnp.concatenate([_u(v), _u(w)])[1:]),
    "select": lambda v, w: dnp.sum(dnp.where(_u(v) > _u(w), _uw(v, w), _u(w))),
    "select_not": lambda v, w: dnp.sum(dnp.where(_u(v) < _u(w), _u(v), _uw(v, w))),
    **{op: _comparison_case(fn) for op, fn in (
        ("lt", dnp.less), ("le", dnp.less_equal), ("gt", dnp.greater),
        ("ge", dnp.greater_equal), ("eq", dnp.equal), ("ne", dnp.not_equal))},
}


def test_every_listed_op_has_a_case():
    assert set(CASES) == set(VALUE_READS)


def _gradients(program, point, lean):
    values = program.record(point, lean=lean, live_only=True)
    bars = sweep(program, values, _ONE, None, True)
    return {n: bars[program.plan.var_slots[n]] for n in program.wrt}, values


@pytest.mark.parametrize("wrt", [("v", "w"), ("v",)], ids=["both", "v only"])
@pytest.mark.parametrize("op", sorted(CASES))
def test_lean_gradient_is_the_full_tape_gradient(op, wrt):
    point = _point()
    expr = CASES[op](dl.variable("v"), dl.variable("w"))
    program = compile_program(expr, wrt, SHAPES)
    plan = program.plan
    slots = [s for s in range(plan.size) if plan.ops[s] == op]
    assert slots, f"the case for {op} has no {op} slot"
    with np.errstate(all="raise"):
        full, _ = _gradients(program, point, lean=False)
        lean, values = _gradients(program, point, lean=True)
    for name in wrt:
        assert np.all(np.isfinite(lean[name])), (op, name)
        np.testing.assert_array_equal(lean[name], full[name], err_msg=f"{op}, {name}")
    # which operands were freed: exactly those the rule does not read (operands computed here
    # and read by nothing else)
    freed = {slot for drop in program.drops for slot, _ in drop}
    entries = {entry[1]: entry for entry in program.backward}
    checked = 0
    for s in slots:
        if s not in entries:
            continue  # no cotangent flows through this slot (e.g. a comparison)
        _, _, i, j, need, *_ = entries[s]
        reads = VALUE_READS[op](need)
        for name, arg in (("a", i), ("b", j)):
            if arg < 0 or plan.ops[arg] in ("var", "const") or not program.shapes[arg]:
                continue
            users = [t for t in range(plan.size) if arg in plan.args[t]]
            if users == [s]:
                assert (arg in freed) == (name not in reads), (op, name, need)
                checked += 1
    # every op with a backward step had an operand that only it reads (else the case above
    # says nothing about the op's entry in the table)
    assert checked or not any(s in entries for s in slots), op


def test_a_lean_tape_frees_most_of_a_chain():
    # 50 additions and scalings of a (1000,) array: only the variable and what mul reads stay
    v = dl.variable("v")
    y = v
    for k in range(50):
        y = 0.99 * y + dnp.sin(v) * float(k)
    expr = dnp.sum(y * y)
    program = compile_program(expr, ("v",), {"v": (1000,)})
    point = {"v": np.linspace(0.0, 1.0, 1000)}
    values = program.record(point, lean=True)
    held = [s for s, x in enumerate(values) if isinstance(x, np.ndarray) and x.ndim and
            x.strides != (0,)]
    computed = [s for s in range(program.plan.size) if program.plan.ops[s] not in ("var",
                                                                                   "const")]
    assert len(held) <= 3 + 1, (len(held), len(computed))   # y (read by y * y), sin(v), v
    assert len(computed) > 100
    expected = dl.grad(expr, point, method="jax")["v"]
    got = dl.grad(expr, point, method="reverse")["v"]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)


def test_in_place_sums_leave_recorded_cotangents_alone():
    # v and sin(v) feed several products: their cotangents are summed in place. The trace keeps
    # every step's cotangents; each slot's incoming y_bar must still be the sum, in sweep
    # order, of what its consumers sent it (a sum changed after it was read, or a sent
    # cotangent changed after it was sent, would break this)
    v = dl.variable("v")
    s = dnp.sin(v)
    expr = dnp.sum(v * 1.0 + v * 2.0 + s * 3.0 + s * v + v * v + s * s)
    x = np.array([0.1, 0.2, 0.3])
    tape = dl.reverse.Tape.record(expr, {"v": x})
    grad = tape.backward(trace=True)["v"]
    sent = {}
    for step in tape.steps:
        for arg, bar in zip(step.args, step.arg_bars, strict=True):
            if bar is not None:
                sent.setdefault(arg, []).append(np.array(bar))
    checked = 0
    for step in tape.steps:
        if step.slot in sent and len(sent[step.slot]) > 1:
            np.testing.assert_array_equal(step.y_bar, sum(sent[step.slot]))
            checked += 1
    assert checked == 1                        # sin(v), which sends on to v
    v_slot = tape.program.plan.var_slots["v"]  # v's own sum is the gradient
    assert len(sent[v_slot]) >= 6
    np.testing.assert_array_equal(grad, sum(sent[v_slot]))
    expected = 3.0 + 3.0 * np.cos(x) + np.cos(x) * x + np.sin(x) + 2 * x + \
        2 * np.sin(x) * np.cos(x)
    np.testing.assert_allclose(grad, expected, rtol=1e-14)
    np.testing.assert_allclose(dl.grad(expr, {"v": x}, method="reverse")["v"], expected,
                               rtol=1e-14)
