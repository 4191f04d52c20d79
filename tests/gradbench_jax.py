"""GradBench's eval functions written again in stock JAX, for the eval tests.

Each function is written from the eval's description in GradBench (evals/<name>/README.md),
with loops where the description loops, sharing no code with difflab.gradbench.evals (nor
with GradBench): the primal, and its derivative by jax.grad / jax.jacfwd / jax.jvp.
"""

import jax
import jax.numpy as jnp
import jax.scipy.special

jax.config.update("jax_enable_x64", True)


def lse(x):
    a = jnp.max(x)
    return a + jnp.log(jnp.sum(jnp.exp(x - a)))


def llsq(x, n):
    total = 0.0
    for i in range(n):
        t = -1.0 + 2.0 * i / (n - 1)
        total = total + (jnp.sign(t) - sum(x[j] * t ** j for j in range(len(x)))) ** 2
    return total / 2


def gmm(alpha, mu, q, l, x, m, gamma):
    k, d = mu.shape
    Qs = []
    for c in range(k):
        Q = jnp.diag(jnp.exp(q[c]))
        idx = 0
        for j in range(d):
            for i in range(j + 1, d):
                Q = Q.at[i, j].set(l[c, idx])
                idx += 1
        Qs.append(Q)
    log_w = alpha - jax.scipy.special.logsumexp(alpha)
    comp = []
    for c in range(k):
        z = (x - mu[c]) @ Qs[c].T
        comp.append(log_w[c] + jnp.sum(q[c]) - 0.5 * jnp.sum(z * z, axis=1)
                    - d / 2 * jnp.log(2 * jnp.pi))
    likelihood = jnp.sum(jax.scipy.special.logsumexp(jnp.stack(comp), axis=0))
    nw = d + m + 1
    prior = 0.0
    for c in range(k):
        X = Qs[c].T @ Qs[c]
        prior = prior + ((nw - d - 1) / 2 * jnp.linalg.slogdet(X)[1]
                         - gamma ** 2 * jnp.trace(X) / 2 - nw * d / 2 * jnp.log(2.0)
                         + nw * d * jnp.log(gamma)
                         - jax.scipy.special.multigammaln(nw / 2, d))
    return likelihood + prior


def kmeans_cost(C, P):
    d2 = jnp.sum((P[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return jnp.sum(jnp.min(d2, axis=1))


def kmeans_dir(C, P):
    g = jax.grad(kmeans_cost)
    J, H = jax.jvp(lambda c: g(c, P), (C,), (jnp.ones_like(C),))
    return J / H


def ode(x, s):
    n = x.shape[0]
    def f(y):
        return jnp.concatenate([x[:1], x[1:] * y[:-1]])

    h = 2.0 / s
    y = jnp.zeros(n)
    for _ in range(s):
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def det(A, ell):
    return jnp.linalg.det(A.reshape(ell, ell))


def lstm(main, extra, state, seq):
    l, b = main.shape[0] // 2, main.shape[1] // 4
    h = [state[2 * i] for i in range(l)]
    cell = [state[2 * i + 1] for i in range(l)]
    total = 0.0
    for t in range(seq.shape[0] - 1):
        z = seq[t] * extra[0]
        for i in range(l):
            W, B = main[2 * i], main[2 * i + 1]
            f = 1 / (1 + jnp.exp(-(z * W[:b] + B[:b])))
            g_in = 1 / (1 + jnp.exp(-(h[i] * W[b:2 * b] + B[b:2 * b])))
            o = 1 / (1 + jnp.exp(-(z * W[2 * b:3 * b] + B[2 * b:3 * b])))
            delta = jnp.tanh(h[i] * W[3 * b:] + B[3 * b:])
            cell[i] = cell[i] * f + g_in * delta
            h[i] = o * jnp.tanh(cell[i])
            z = h[i]
        y = z * extra[1] + extra[2]
        total = total + jnp.sum(seq[t + 1] * (y - jnp.log(jnp.sum(jnp.exp(y)) + 2)))
    return -total / ((seq.shape[0] - 1) * b)


def ba_residual(cam, X, w, feat):
    """One observation's (reproj_err (2,), w_err)."""
    r, C = cam[0:3], cam[3:6]
    Xo = X - C
    theta = jnp.sqrt(jnp.sum(r * r))
    k = r / theta
    Xcam = Xo * jnp.cos(theta) + jnp.cross(k, Xo) * jnp.sin(theta) + \
        k * jnp.dot(k, Xo) * (1 - jnp.cos(theta))
    p = Xcam[:2] / Xcam[2]
    rsq = jnp.sum(p * p)
    p = p * (1 + cam[9] * rsq + cam[10] * rsq * rsq)
    return w * (p * cam[6] + cam[7:9] - feat), 1 - w * w


def ht_vertices(theta, model):
    pose = [[0.0] * 25 for _ in range(3)]
    for r in range(3):
        pose[r][0], pose[r][1], pose[r][2] = theta[r], 1.0, theta[3 + r]
    k, col = 6, 5
    for _ in range(5):
        for joint in range(2, 5):
            pose[0][col] = theta[k]
            k += 1
            if joint == 2:
                pose[1][col] = theta[k]
                k += 1
            col += 1
        col += 1

    def euler(tx, tz, ty):
        Rx = jnp.array([[1, 0, 0], [0, jnp.cos(tx), -jnp.sin(tx)], [0, jnp.sin(tx), jnp.cos(tx)]])
        Ry = jnp.array([[jnp.cos(ty), 0, jnp.sin(ty)], [0, 1, 0], [-jnp.sin(ty), 0, jnp.cos(ty)]])
        Rz = jnp.array([[jnp.cos(tz), -jnp.sin(tz), 0], [jnp.sin(tz), jnp.cos(tz), 0], [0, 0, 1]])
        return Rz @ Ry @ Rx

    absolutes = []
    for b, parent in enumerate(model["parents"]):
        T = jnp.eye(4).at[:3, :3].set(euler(pose[0][b + 3], pose[1][b + 3], pose[2][b + 3]))
        rel = model["base_relatives"][b] @ T
        absolutes.append(rel if parent == -1 else absolutes[parent] @ rel)
    V = model["base_positions"].shape[0]
    verts = jnp.zeros((3, V))
    for b in range(22):
        moved = absolutes[b] @ model["inverse_base_absolutes"][b] @ model["base_positions"].T
        verts = verts + moved[:3] * model["weights"][:, b][None, :]
    if model["is_mirrored"]:
        verts = verts.at[0].multiply(-1.0)
    a = jnp.stack([theta[0], theta[1], theta[2]])
    norm = jnp.sqrt(jnp.sum(a * a))
    x, y, z = a / norm
    s, c = jnp.sin(norm), jnp.cos(norm)
    R = jnp.array([[x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
                   [x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s],
                   [x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c]])
    return R @ verts + jnp.stack([theta[3], theta[4], theta[5]])[:, None]


def ht_residuals(theta, us, model, corr, points, triangles):
    verts = ht_vertices(theta, model)
    rows = []
    for i, c in enumerate(corr):
        if triangles is None:
            hand = verts[:, c]
        else:
            t = triangles[c]
            hand = us[i, 0] * verts[:, t[0]] + us[i, 1] * verts[:, t[1]] + \
                (1 - us[i, 0] - us[i, 1]) * verts[:, t[2]]
        rows.append(points[i] - hand)
    return jnp.concatenate(rows)
