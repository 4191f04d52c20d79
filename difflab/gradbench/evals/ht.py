"""GradBench's ``ht`` eval: ADBench's hand tracking residuals and their Jacobian.

A hand model of 22 bones (``parents``: a tree, a parent before its children; 4×4
``base_relatives`` and ``inverse_base_absolutes``), V vertices in homogeneous coordinates
(``base_positions`` (V, 4)) skinned with ``weights`` (V, 22), and N ``points`` matched to
vertices (simple) or to points of triangles with barycentric ``us`` (complicated). theta (26)
poses it:

- pose (3 × 25): column 0 = theta[0:3] (global angle-axis), column 1 = 1 (scale), column 2 =
  theta[3:6] (translation); from column 5, each of 5 fingers has 3 joints taking theta[k] in
  row 0 (the first joint also theta[k+1] in row 1), then one column is skipped;
- bone b: relative_b = base_relative_b · [R(column b + 3), 0; 0, 1] with R = Rz(c1) Ry(c2)
  Rx(c0) (Euler angles "xzy"); absolutes along the parents; transform_b = absolute_b ·
  inverse_base_absolute_b;
- vertex v = Σ_b weights[v, b] (transform_b · base_position_v)[0:3]; x negated if mirrored;
  then the global rotation (Rodrigues of column 0, the identity where its norm < 1e-4), and
  the translation.

``objective`` is the 3N residuals point_i - (vertex corr_i) (complicated: minus u0 V[t0] +
u1 V[t1] + (1 - u0 - u1) V[t2] of triangle corr_i), ``jacobian`` the (3N) × 26 Jacobian with
respect to theta (complicated: (3N) × 28, first the derivatives with respect to the residual's
own u_i0 and u_i1 — compressed as for ``ba``, a (2,) shift t_u of every u — then theta's 26).

In the IR, the bones' 22 rotations are one vectorised build; the 22 matrix products along the
tree are 2-D products; the skinning is one (66, 4) @ (4, V) product. The integer structure
(parents, correspondences, triangles, is_mirrored) is part of the shape key: the IR is built
for it. Workloads: GradBench's files hand1 .. hand12 (N = 100 .. 100000) with the big model
(V = 10000, 1084 triangles), complicated; the lab draws a random model of the same shape.
"""

from __future__ import annotations

import numpy as np

from ...core.arrays import concatenate, less, stack, where
from ...core.expr import Expr, constant, cos, reshape, sin, sqrt, square, variable
from ...core.expr import sum as reduce_sum
from ..spec import JSON, Derivative, Eval, InputError, array, field_of, integers

NAME = "ht"
SEED = 31337
BONES = 22
N_THETA = 26
WORKLOADS = [{"N": N, "V": 10000, "complicated": True}
             for N in (100, 192, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 100000)]
DATA = ("base_relatives", "inverse_base_absolutes", "base_positions", "weights", "points")


def pose_columns() -> list[tuple[int | None, int | None, int | None]]:
    """For each pose column 3 .. 24 (bone b uses column b + 3): which theta entry sits in
    rows 0, 1, 2 (None: 0)."""
    columns = [[None, None, None] for _ in range(BONES + 3)]
    k, col = 6, 5
    for _ in range(5):
        for joint in range(2, 5):
            columns[col][0] = k
            k += 1
            if joint == 2:
                columns[col][1] = k
                k += 1
            col += 1
        col += 1
    return [tuple(c) for c in columns[3:]]


def _model(input) -> dict:
    return field_of(field_of(input, "data"), "model")


def sizes(input: JSON) -> tuple:
    """(V, complicated, mirrored, parents, correspondences, triangles or ())."""
    data, model = field_of(input, "data"), _model(input)
    parents = integers(model, "parents")
    if len(parents) != BONES or any(not -1 <= p < b for b, p in enumerate(parents)):
        raise InputError(f"ht needs {BONES} bones, each parent before its child; got "
                         f"parents {parents}")
    corr = integers(data, "correspondences")
    us = field_of(input, "us")
    if not isinstance(us, list | tuple | np.ndarray):
        raise InputError(f"field 'us' must be a list (empty for the simple problem), got "
                         f"{type(us).__name__}")
    complicated = len(us) > 0
    V = len(array(model, "base_positions", 2))
    triangles = _triangles(field_of(model, "triangles"), V) if complicated else ()
    count = len(triangles) if complicated else V
    bad = next((i for i, c in enumerate(corr) if not 0 <= c < count), None)
    if bad is not None:
        raise InputError(f"field 'correspondences': correspondences[{bad}] = {corr[bad]} is not "
                         f"the index of one of the {count} "
                         f"{'triangles' if complicated else 'vertices'}")
    return (V, complicated, bool(field_of(model, "is_mirrored")), parents, corr, triangles)


def _triangles(value: JSON, V: int) -> tuple[tuple[int, ...], ...]:
    """The model's triangles: three vertex indices each, below V."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple):
        raise InputError(f"field 'triangles' must be a list of triangles, got "
                         f"{type(value).__name__}")
    out = []
    for i, corners in enumerate(value):
        triangle = integers({f"triangles[{i}]": corners}, f"triangles[{i}]")
        if len(triangle) != 3 or any(not 0 <= v < V for v in triangle):
            raise InputError(f"field 'triangles': triangles[{i}] = {list(triangle)} is not "
                             f"three indices of the {V} vertices")
        out.append(triangle)
    return tuple(out)


def point(input: JSON, sizes: tuple) -> dict:
    """theta, the model's arrays, the points and (complicated) us, as float64 arrays."""
    V, complicated, _, _, corr, _ = sizes
    model, data = _model(input), field_of(input, "data")
    out = {"theta": array(input, "theta", 1),
           "base_relatives": array(model, "base_relatives", 3),
           "inverse_base_absolutes": array(model, "inverse_base_absolutes", 3),
           "base_positions": array(model, "base_positions", 2),
           "weights": array(model, "weights", 2), "points": array(data, "points", 2)}
    expected = {"theta": (N_THETA,), "base_relatives": (BONES, 4, 4),
                "inverse_base_absolutes": (BONES, 4, 4), "base_positions": (V, 4),
                "weights": (V, BONES), "points": (len(corr), 3)}
    if complicated:
        out["us"] = array(input, "us", 2)
        expected["us"] = (len(corr), 2)
    for name, shape in expected.items():
        if out[name].shape != shape:
            raise InputError(f"ht: {name} has shape {out[name].shape}, expected {shape}")
    return out


def _euler(theta: Expr) -> Expr:
    """R = Rz(c1) Ry(c2) Rx(c0) of every bone's pose column, as (22, 3, 3)."""
    padded = concatenate([theta, constant(np.zeros(1))])  # index 26: the constant 0
    cols = pose_columns()
    angle = [padded[[N_THETA if c[row] is None else c[row] for c in cols]] for row in range(3)]
    cx, sx = cos(angle[0]), sin(angle[0])
    cz, sz = cos(angle[1]), sin(angle[1])
    cy, sy = cos(angle[2]), sin(angle[2])
    entries = [cz * cy, cz * sy * sx - sz * cx, sz * sx + cz * sy * cx,
               sz * cy, cz * cx + sz * sy * sx, sz * sy * cx - cz * sx,
               -sy, cy * sx, cy * cx]
    return reshape(stack(entries, axis=1), (BONES, 3, 3))


def _angle_axis(a: Expr) -> Expr:
    """Rodrigues' matrix of the angle-axis a (3,), the identity where ‖a‖ < 1e-4."""
    norm = sqrt(reduce_sum(square(a)))
    small = less(norm, 1e-4)
    safe = where(small, 1.0, norm)
    x, y, z = a[0] / safe, a[1] / safe, a[2] / safe
    s, c = sin(safe), cos(safe)
    R = reshape(stack([x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s,
                       x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s,
                       x * z * (1 - c) - y * s, z * y * (1 - c) + x * s,
                       z * z + (1 - z * z) * c]), (3, 3))
    return where(small, constant(np.eye(3)), R)


def vertices(V: int, mirrored: bool, parents: tuple, theta: Expr) -> Expr:
    """The posed, skinned, globally transformed vertices, (3, V)."""
    rel, inv = variable("base_relatives"), variable("inverse_base_absolutes")
    rot = _euler(theta)
    # [R, 0; 0, 1] for every bone, then relative_b = base_relative_b · that
    top = concatenate([rot, constant(np.zeros((BONES, 3, 1)))], axis=2)
    posed = concatenate([top, constant(np.tile([[[0.0, 0.0, 0.0, 1.0]]], (BONES, 1, 1)))],
                        axis=1)
    absolutes: list[Expr] = []
    for b, parent in enumerate(parents):
        relative = rel[b] @ posed[b]
        absolutes.append(relative if parent == -1 else absolutes[parent] @ relative)
    transforms = stack([absolutes[b] @ inv[b] for b in range(BONES)], axis=0)
    moved = reshape(reshape(transforms[:, 0:3, :], (3 * BONES, 4)) @ variable(
        "base_positions").T, (BONES, 3, V))
    skinned = reduce_sum(moved * reshape(variable("weights").T, (BONES, 1, V)), axis=0)
    if mirrored:
        skinned = skinned * constant(np.array([[-1.0], [1.0], [1.0]]))
    return _angle_axis(theta[0:3]) @ skinned + reshape(theta[3:6], (3, 1))


def residuals(V: int, complicated: bool, mirrored: bool, parents: tuple, corr: tuple,
              triangles: tuple, shift_u: str | None = None) -> Expr:
    """The 3N residuals, row-major (point i, coordinate j)."""
    theta = variable("theta")
    verts = vertices(V, mirrored, parents, theta).T                        # (V, 3)
    N = len(corr)
    if complicated:
        us = variable("us") + (variable(shift_u) if shift_u else 0.0)
        tri = np.array([triangles[c] for c in corr], dtype=np.int64).reshape(N, 3)
        v0, v1, v2 = (verts[tri[:, k].tolist()] for k in range(3))
        u0, u1 = us[:, 0:1], us[:, 1:2]
        hand = u0 * v0 + u1 * v1 + (1.0 - u0 - u1) * v2
    else:
        hand = verts[list(corr)]
    return reshape(variable("points") - hand, (3 * N,))


def objective(*sizes) -> Expr:
    """The residuals as a function of theta (and us), the model and points as data."""
    return residuals(*sizes)


def derivative(sizes: tuple, method: str) -> Derivative:
    """The Jacobian with respect to theta (and t_u, the compressed u columns)."""
    if sizes[1]:
        return Derivative("jacobian", residuals(*sizes, shift_u="t_u"), ("t_u", "theta"),
                          {"t_u": (2,)})
    return Derivative("jacobian", residuals(*sizes), ("theta",))


def jacobian_output(result: dict, input: JSON) -> list:
    """Rows of the residuals: [d/du_i0, d/du_i1,] then the 26 theta columns."""
    J = np.asarray(result["theta"])
    if "t_u" in result:
        J = np.concatenate([np.asarray(result["t_u"]), J], axis=1)
    return J.tolist()


PARENTS = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19, 0)


def _rigid(rng: np.random.Generator, angle: float, reach: float) -> np.ndarray:
    """A 4×4 rotation (axis random, up to ``angle``) and translation (up to ``reach``)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    a = rng.uniform(-angle, angle)
    T = np.eye(4)
    T[:3, :3] = np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * K @ K
    T[:3, 3] = rng.uniform(-reach, reach, size=3)
    return T


def draw(rng: np.random.Generator, params: dict) -> dict:
    """An input in the eval's format with a random hand of GradBench's shape (22 bones: a
    wrist, five fingers of four bones, a forearm; V vertices, min(1084, 2V) triangles, N
    points): the eval reads ADBench's hand model and data files instead."""
    N, V, complicated = params["N"], params["V"], params["complicated"]
    relatives = [_rigid(rng, 0.5, 1.0) for _ in range(BONES)]
    absolutes: list[np.ndarray] = []
    for b, parent in enumerate(PARENTS):
        absolutes.append(relatives[b] if parent == -1 else absolutes[parent] @ relatives[b])
    T = min(1084, 2 * V)
    triangles = rng.integers(0, V, size=(T, 3))
    theta = rng.uniform(-0.5, 0.5, size=N_THETA)
    model = {"bone_count": BONES, "bone_names": [f"bone{b}" for b in range(BONES)],
             "parents": list(PARENTS), "base_relatives": np.array(relatives),
             "inverse_base_absolutes": np.array([np.linalg.inv(a) for a in absolutes]),
             "base_positions": np.concatenate([rng.uniform(-1, 1, size=(V, 3)),
                                               np.ones((V, 1))], axis=1),
             "weights": rng.dirichlet(np.ones(BONES), size=V), "triangles": triangles,
             "is_mirrored": bool(params.get("mirrored", False))}
    data = {"model": model, "correspondences": rng.integers(0, T if complicated else V, size=N),
            "points": rng.uniform(-1, 1, size=(N, 3))}
    return {"theta": theta, "data": data,
            "us": rng.uniform(0, 0.5, size=(N, 2)) if complicated else []}


EVAL = Eval(NAME, "objective", "jacobian", sizes, point, objective, derivative,
            primal_output=lambda value, input: np.asarray(value).tolist(),
            derivative_output=jacobian_output)
