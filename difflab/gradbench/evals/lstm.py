"""GradBench's ``lstm`` eval: ADBench's LSTM language-model loss (diagonal weights).

l layers of a "diagonal" LSTM over b = hidden size = bits per character, run over a text of
c characters given as bits (``sequence``, (c, b)). Layer i has weight row 2i and bias row
2i+1 of ``main_params`` (2l, 4b), each [forget | ingate | outgate | change]; ``extra_params``
(3, b) holds the input weight, output weight and output bias; ``state`` (2l, b) the initial
hidden (row 2i) and cell (row 2i+1) of each layer. For t = 0 .. c-2, with z = seq[t] ⊙ in_w,
through each layer i (ADBench's quirk: the forget and output gates read the layer's input z,
the input gate and the change read the hidden state h_i):

    f = σ(z ⊙ W_f + b_f),  g_in = σ(h_i ⊙ W_in + b_in),  o = σ(z ⊙ W_o + b_o),
    δ = tanh(h_i ⊙ W_c + b_c),  c_i = c_i ⊙ f + g_in ⊙ δ,  h_i = o ⊙ tanh(c_i),  z = h_i

then ŷ_t = z ⊙ out_w + out_b, and the loss is

    objective = -Σ_t Σ_j seq[t+1]_j (ŷ_tj - log(Σ_j exp ŷ_tj + 2)) / ((c - 1) b)

(the "+ 2" is ADBench's). ``jacobian`` is its gradient with respect to main_params and
extra_params, flattened row-major and concatenated (8lb + 3b numbers); state and sequence are
data. The recurrence is unrolled (c - 1 steps of l layers: ~17 l nodes a step); the output
terms of all steps are stacked into one (c-1, b) array and reduced at once.

Workloads: (l, c) for l in 2, 4, 6 and c in 1024, 4096, 8192, sorted by l·c. The eval draws
state, main_params and extra_params with np.random.random unseeded, and the text from
Shakespeare's sonnets (evals/lstm/data in GradBench); the lab's problem draws them from
RandomState(31337) and a seeded synthetic text of 14-bit characters (``draw``).
"""

from __future__ import annotations

import numpy as np

from ...core.arrays import stack
from ...core.expr import Expr, log, reshape, sigmoid, tanh, variable
from ...core.expr import exp as exp_
from ...core.expr import sum as reduce_sum
from ..spec import JSON, Derivative, Eval, InputError, array, within

NAME = "lstm"
SEED = 31337      # the lab's choice: the eval itself draws without a seed
BITS = 14         # GradBench's text has a character beyond 2^13 (’, U+2019)
WORKLOADS = [{"l": l, "c": c} for l, c in sorted(
    [(l, c) for l in (2, 4, 6) for c in (1024, 4096, 8192)], key=lambda v: v[0] * v[1])]
NAMES = ("main_params", "extra_params", "state", "sequence")
# The recurrence is unrolled, l (c - 1) steps of ~17 nodes: 2.7 times the eval's largest, l = 6
# and c = 8192 (whose reverse gradient takes 12 s and 850 MB)
LSTM_STEPS = 2 ** 17


def sizes(input: JSON) -> tuple:
    """(l, b, c), with every array's shape checked against them."""
    main, seq = array(input, "main_params", 2), array(input, "sequence", 2)
    if main.shape[0] % 2 or main.shape[1] % 4 or not main.size:
        raise InputError(f"main_params must be (2l, 4b), got shape {main.shape}")
    l, b, c = main.shape[0] // 2, main.shape[1] // 4, seq.shape[0]
    if c < 2:
        raise InputError(f"the sequence needs at least 2 characters, got {c}")
    within(l * (c - 1), LSTM_STEPS, "l * (c - 1) (l from main_params (2l, 4b), c from "
           "sequence (c, b))", "LSTM_STEPS")
    for name, shape in (("extra_params", (3, b)), ("state", (2 * l, b)), ("sequence", (c, b))):
        if array(input, name, 2).shape != shape:
            raise InputError(f"{name} must have shape {shape} for l = {l}, b = {b}, c = {c}; "
                             f"got {array(input, name, 2).shape}")
    return (l, b, c)


def point(input: JSON, sizes: tuple) -> dict:
    """The four arrays by name."""
    return {name: array(input, name, 2) for name in NAMES}


def objective(l: int, b: int, c: int) -> Expr:
    """The loss over main_params (2l, 4b), extra_params (3, b), state and sequence."""
    main, extra, state, seq = (variable(name) for name in NAMES)
    gates = [[main[row, k * b:(k + 1) * b] for k in range(4)] for row in range(2 * l)]
    in_w, out_w, out_b = extra[0], extra[1], extra[2]
    hidden = [state[2 * i] for i in range(l)]
    cell = [state[2 * i + 1] for i in range(l)]
    outputs = []
    for t in range(c - 1):
        z = seq[t] * in_w
        for i in range(l):
            (w_f, w_in, w_o, w_c), (b_f, b_in, b_o, b_c) = gates[2 * i], gates[2 * i + 1]
            forget = sigmoid(z * w_f + b_f)
            ingate = sigmoid(hidden[i] * w_in + b_in)
            outgate = sigmoid(z * w_o + b_o)
            change = tanh(hidden[i] * w_c + b_c)
            cell[i] = cell[i] * forget + ingate * change
            hidden[i] = outgate * tanh(cell[i])
            z = hidden[i]
        outputs.append(z * out_w + out_b)
    y = stack(outputs, axis=0)                                   # (c-1, b)
    lse = reshape(log(reduce_sum(exp_(y), axis=1) + 2.0), (c - 1, 1))
    return -reduce_sum(seq[1:] * (y - lse)) / float((c - 1) * b)


def derivative(sizes: tuple, method: str) -> Derivative:
    """The gradient with respect to main_params and extra_params."""
    return Derivative("grad", objective(*sizes), ("main_params", "extra_params"))


def jacobian_output(result: dict, input: JSON) -> list:
    """∂/∂main_params then ∂/∂extra_params, each flattened row-major."""
    return np.concatenate([np.ravel(result["main_params"]),
                           np.ravel(result["extra_params"])]).tolist()


ALPHABET = [ord(ch) for ch in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ,.;:!?\n"] \
    + [0x2019]


def text_bits(codes: np.ndarray, bits: int) -> np.ndarray:
    """Each character code as ``bits`` binary digits, most significant first (as the eval)."""
    return ((codes[:, None] >> np.arange(bits - 1, -1, -1)[None, :]) & 1).astype(np.float64)


def draw(rng: np.random.RandomState, params: dict) -> dict:
    """A workload's input in the eval's format: a synthetic text of 14-bit characters (the
    eval reads Shakespeare) and the state and parameters from ``rng.random_sample`` (the eval
    calls np.random.random, unseeded), in the eval's order."""
    l, c = params["l"], params["c"]
    codes = np.array(ALPHABET)[rng.randint(0, len(ALPHABET), size=c)]
    return {"state": rng.random_sample((2 * l, BITS)),
            "main_params": rng.random_sample((2 * l, 4 * BITS)),
            "extra_params": rng.random_sample((3, BITS)), "sequence": text_bits(codes, BITS)}


EVAL = Eval(NAME, "objective", "jacobian", sizes, point, objective, derivative,
            primal_output=lambda value, input: float(value), derivative_output=jacobian_output)
