"""GradBench's ``ba`` eval: ADBench's bundle adjustment residuals and their sparse Jacobian.

The input is one camera ``cam`` (11), one point ``x`` (3), one weight ``w`` and one feature
``feat`` (2), to be replicated: n cameras, m points, p observations, observation i seeing
camera i mod n and point i mod m. The tool must not exploit the copies: everything below is
computed for all p observations. Per observation, with cam = [r (3, Rodrigues), C (3), f, u0,
v0, k1, k2]:

    X_cam = R(r) (X - C)    (θ = ‖r‖: X cosθ + (ŵ × X) sinθ + ŵ (ŵ·X)(1 - cosθ), ŵ = r/θ;
                              X + r × X where θ² = 0)
    p = X_cam[0:2] / X_cam[2];  p *= 1 + k1 ‖p‖² + k2 ‖p‖⁴;  proj = p f + (u0, v0)
    reproj_err = w (proj - feat),   w_err = 1 - w²

``objective`` answers {"reproj_error": {"elements": the first observation's two errors,
"repeated": p}, "w_err": {"element": the first w_err, "repeated": p}} (the golden C++'s
compressed form). ``jacobian`` is the (3p) × (11n + 3m + p) Jacobian in CSR form, each row of
a reprojection error holding 15 entries (the camera's 11, the point's 3, the weight), each
w_err row one; GradBench keeps the first 30 and the last entry of rows, cols and vals.

The Jacobian is block sparse: residual i depends only on observation i's 15 parameters. It is
taken compressed, by the method's own ``jacobian`` of a companion expression (``zeros``):

- columns (every method but reverse): parameters t (11 + 3 + 1) added to every observation's
  camera, point and weight; ∂ residual_i / ∂ t = observation i's block (15 inputs, 3p rows);
- rows (reverse): parameters T of every observation's shape added, and the residuals summed
  over the observations; ∂ (Σ_i residual_i) / ∂ T_i = observation i's block (3 outputs: three
  backward sweeps).

Workloads: GradBench's files ba1 .. ba14 (``WORKLOADS`` has their n, m, p). The lab's problem
draws the one camera, point, weight and feature of each from a seeded generator (``draw``).
"""

from __future__ import annotations

import numpy as np

from ...core.arrays import concatenate, not_equal, stack, where
from ...core.expr import Expr, cos, reshape, sin, sqrt, square, variable
from ...core.expr import sum as reduce_sum
from ..spec import JSON, Derivative, Eval, InputError, array, field_of, integer, within

NAME = "ba"
SEED = 31337
N_CAM = 11
WORKLOADS = [{"n": n, "m": m, "p": p} for n, m, p in (
    (49, 7776, 31843), (21, 11315, 36455), (161, 48126, 182072), (372, 47423, 204472),
    (257, 65132, 225911), (539, 65220, 277273), (93, 61203, 287451), (88, 64298, 383937),
    (810, 88814, 393775), (1197, 126327, 563734), (1723, 156502, 678718),
    (253, 163691, 899155), (245, 198739, 1091386), (356, 226730, 1255268))]
NAMES = ("cams", "X", "w", "feats")
# The parameters and the Jacobian's entries, 11 n + 3 m + 15 p: 3.4 times those of the eval's
# largest, ba14 (whose reverse Jacobian takes 8 s and 1.6 GB, the forward one 13 s and 2.3 GB)
BA_WORK = 2 ** 26


def sizes(input: JSON) -> tuple:
    """(n, m, p), each at least 1, within BA_WORK."""
    n, m, p = (integer(input, name, 1) for name in ("n", "m", "p"))
    within(N_CAM * n + 3 * m + 15 * p, BA_WORK, "11 n + 3 m + 15 p (of fields 'n', 'm' and "
           "'p')", "BA_WORK")
    return (n, m, p)


def point(input: JSON, sizes: tuple) -> dict:
    """The replicated arrays: cams (n, 11), X (m, 3), w (p,), feats (p, 2)."""
    n, m, p = sizes
    cam, x, feat = array(input, "cam", 1), array(input, "x", 1), array(input, "feat", 1)
    w = field_of(input, "w")
    if cam.shape != (N_CAM,) or x.shape != (3,) or feat.shape != (2,) or \
            isinstance(w, bool) or not isinstance(w, int | float):
        raise InputError(f"ba needs cam (11,), x (3,), feat (2,) and a number w; got cam "
                         f"{cam.shape}, x {x.shape}, feat {feat.shape}, w {w!r}")
    return {"cams": np.tile(cam, (n, 1)), "X": np.tile(x, (m, 1)), "w": np.full(p, float(w)),
            "feats": np.tile(feat, (p, 1))}


def _cross(a: Expr, b: Expr) -> Expr:
    """a × b row by row, for (p, 3) arrays."""
    return stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1], a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                  a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)


def _rotate(r: Expr, X: Expr, p: int) -> Expr:
    """Rodrigues' rotation of each row of X by the angle-axis rows of r (X + r × X where
    θ² = 0; θ is replaced by 1 there, so the unused branch has no 0/0 to differentiate)."""
    sqtheta = reduce_sum(square(r), axis=1, keepdims=True)                # (p, 1)
    turned = not_equal(sqtheta, 0.0)
    theta = sqrt(where(turned, sqtheta, 1.0))
    w = r / theta
    c, s = cos(theta), sin(theta)
    along = reduce_sum(w * X, axis=1, keepdims=True) * (1.0 - c)
    rotated = X * c + _cross(w, X) * s + w * along
    return where(turned, rotated, X + _cross(r, X))


def residuals(n: int, m: int, p: int, shift: dict | None = None) -> tuple[Expr, Expr]:
    """(reproj_err (p, 2), w_err (p,)), the observations' parameters shifted by ``shift``
    (variable names of the compression, see the module docstring)."""
    cams, X, w, feats = (variable(name) for name in NAMES)
    cam = cams[[i % n for i in range(p)]]                                   # (p, 11)
    pt = X[[i % m for i in range(p)]]                                       # (p, 3)
    if shift:
        cam, pt, w = (cam + variable(shift["cam"]), pt + variable(shift["X"]),
                      w + variable(shift["w"]))
    Xcam = _rotate(cam[:, 0:3], pt - cam[:, 3:6], p)
    proj = Xcam[:, 0:2] / Xcam[:, 2:3]
    rsq = reduce_sum(square(proj), axis=1, keepdims=True)
    distort = 1.0 + cam[:, 9:10] * rsq + cam[:, 10:11] * square(rsq)
    projected = proj * distort * cam[:, 6:7] + cam[:, 7:9]
    return reshape(w, (p, 1)) * (projected - feats), 1.0 - square(w)


def objective(n: int, m: int, p: int) -> Expr:
    """Every residual: the 2p reprojection errors (row-major) then the p weight errors."""
    reproj, w_err = residuals(n, m, p)
    return concatenate([reshape(reproj, (2 * p,)), w_err])


COLUMNS = {"cam": "t_cam", "X": "t_X", "w": "t_w"}
ROWS = {"cam": "T_cam", "X": "T_X", "w": "T_w"}


def derivative(sizes: tuple, method: str) -> Derivative:
    """The compressed Jacobian: by rows for reverse mode, by columns for the rest."""
    n, m, p = sizes
    if method.partition(":")[0] == "reverse":
        reproj, w_err = residuals(n, m, p, ROWS)
        sums = stack([reduce_sum(reproj[:, 0]), reduce_sum(reproj[:, 1]), reduce_sum(w_err)])
        return Derivative("jacobian", sums, tuple(ROWS.values()),
                          {"T_cam": (p, N_CAM), "T_X": (p, 3), "T_w": (p,)})
    reproj, w_err = residuals(n, m, p, COLUMNS)
    return Derivative("jacobian", concatenate([reshape(reproj, (2 * p,)), w_err]),
                      tuple(COLUMNS.values()), {"t_cam": (N_CAM,), "t_X": (3,), "t_w": ()})


def blocks(result: dict) -> tuple[np.ndarray, np.ndarray]:
    """(J (p, 2, 15), J_w (p,)): each observation's reprojection block [camera | point |
    weight] and each w_err's derivative, from either compression."""
    if "T_cam" in result:
        cam, pt, w = (np.asarray(result[name]) for name in ROWS.values())
        J = np.concatenate([cam[:2], pt[:2], w[:2, :, None]], axis=2)      # (2, p, 15)
        return np.transpose(J, (1, 0, 2)), w[2]
    cam, pt, w = (np.asarray(result[name]) for name in COLUMNS.values())
    p = len(w) // 3
    J = np.concatenate([cam[:2 * p], pt[:2 * p], w[:2 * p, None]], axis=1)  # (2p, 15)
    return J.reshape(p, 2, 15), w[2 * p:]


def jacobian_output(result: dict, input: JSON) -> dict:
    """GradBench's truncated CSR: the first 30 and the last entry of rows, cols and vals
    (observation 0's two rows are the first 30 nonzeros: 15 each)."""
    n, m, p = sizes(input)
    J, J_w = blocks(result)
    per = N_CAM + 3 + 1
    row_start = lambda k: per * k if k <= 2 * p else 2 * p * per + (k - 2 * p)
    cols_0 = ([j for j in range(N_CAM)] + [N_CAM * n + j for j in range(3)] +
              [N_CAM * n + 3 * m])                                     # observation 0's
    return {"rows": [row_start(k) for k in range(min(30, 3 * p + 1))] + [row_start(3 * p)],
            "cols": 2 * cols_0 + [N_CAM * n + 3 * m + p - 1],
            "vals": J[0].reshape(-1).tolist() + [float(J_w[-1])]}


def objective_output(value: np.ndarray, input: JSON) -> dict:
    """The first observation's errors, and how many there are (the C++'s compressed form)."""
    p = len(value) // 3
    return {"reproj_error": {"elements": [float(value[0]), float(value[1])], "repeated": p},
            "w_err": {"element": float(value[2 * p]), "repeated": p}}


def draw(rng: np.random.Generator, params: dict) -> dict:
    """An input in the eval's format: a camera looking at the point from 5 to 10 units, a
    weight in (0, 1), a feature near the projection (the eval reads ADBench's files)."""
    r = rng.uniform(-1.0, 1.0, size=3)
    centre = rng.uniform(-10.0, 10.0, size=3)
    theta = np.linalg.norm(r)
    k = r / theta
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    R = np.eye(3) + np.sin(theta) * K + (1 - np.cos(theta)) * K @ K
    in_view = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(5, 10)])
    cam = np.concatenate([r, centre, [rng.uniform(300, 500)], rng.uniform(-10, 10, size=2),
                          rng.uniform(-0.1, 0.1, size=1), rng.uniform(-0.01, 0.01, size=1)])
    return {**params, "cam": cam, "x": centre + R.T @ in_view, "w": float(rng.uniform(0, 1)),
            "feat": rng.uniform(-200, 200, size=2)}


EVAL = Eval(NAME, "objective", "jacobian", sizes, point, objective, derivative,
            primal_output=objective_output, derivative_output=jacobian_output)
