"""An independent JAX oracle for the engine tests: the IR walked in stock jax.numpy.

Deliberately not difflab.jax_ref (the reference under test elsewhere): a few lines written
against JAX's own functions, so an engine and this oracle share no code.
"""

import jax
import jax.numpy as jnp
import jax.scipy.special

from difflab.core.plan import compile_plan

jax.config.update("jax_enable_x64", True)

JNP = {
    "neg": jnp.negative, "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan, "asin": jnp.arcsin,
    "acos": jnp.arccos, "atan": jnp.arctan, "sinh": jnp.sinh, "cosh": jnp.cosh,
    "tanh": jnp.tanh, "exp": jnp.exp, "log": jnp.log, "log1p": jnp.log1p, "expm1": jnp.expm1,
    "sqrt": jnp.sqrt, "abs": jnp.abs, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu,
    "softplus": jax.nn.softplus, "sum": jnp.sum, "mean": jnp.mean, "transpose": jnp.transpose,
    "add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply, "div": jnp.divide,
    "pow": jnp.power, "matmul": jnp.matmul, "max": jnp.maximum, "min": jnp.minimum,
    "square": jnp.square,
    "lt": lambda a, b: jnp.less(a, b).astype(jnp.float64),
    "le": lambda a, b: jnp.less_equal(a, b).astype(jnp.float64),
    "gt": lambda a, b: jnp.greater(a, b).astype(jnp.float64),
    "ge": lambda a, b: jnp.greater_equal(a, b).astype(jnp.float64),
    "eq": lambda a, b: jnp.equal(a, b).astype(jnp.float64),
    "ne": lambda a, b: jnp.not_equal(a, b).astype(jnp.float64),
    "select": lambda c, a: jnp.where(c != 0, a, 0.0),
    "select_not": lambda c, b: jnp.where(c != 0, 0.0, b),
    # an op's constant parameters come as the Param itself (see difflab.core.params)
    "index": lambda a, p: a[_index(p.value)],
    "reduce_sum": lambda a, p: jnp.sum(a, axis=p.value[0], keepdims=p.value[1]),
    "reduce_mean": lambda a, p: jnp.mean(a, axis=p.value[0], keepdims=p.value[1]),
    "reduce_prod": lambda a, p: jnp.prod(a, axis=p.value[0], keepdims=p.value[1]),
    "reduce_max": lambda a, p: jnp.max(a, axis=p.value[0], keepdims=p.value[1]),
    "reduce_min": lambda a, p: jnp.min(a, axis=p.value[0], keepdims=p.value[1]),
    "logsumexp": lambda a, p: jax.scipy.special.logsumexp(a, axis=p.value[0],
                                                          keepdims=p.value[1]),
    "softmax": lambda a, p: jax.nn.softmax(a, axis=p.value),
    "log_softmax": lambda a, p: jax.nn.log_softmax(a, axis=p.value),
    "reshape": lambda a, p: jnp.reshape(a, p.value),
    "permute": lambda a, p: jnp.transpose(a, p.value),
    "concat": lambda a, b, p: jnp.concatenate([a, b], axis=p.value),
}


def _index(spec):
    """A JAX index from difflab's normalised index spec (written here, not imported)."""
    out = []
    for item in spec:
        tag = item[0]
        out.append(item[1] if tag == "int" else slice(*item[1:]) if tag == "slice" else
                   jnp.array(item[1]) if tag == "take" else None if tag == "new" else Ellipsis)
    return tuple(out)


def jax_function(expr, names):
    """``expr`` in jax.numpy, as a function of the variables ``names`` (positional)."""
    plan = compile_plan(expr)

    def f(*args):
        env = dict(zip(names, args, strict=True))
        values = []
        for slot, op in enumerate(plan.ops):
            if op == "var":
                values.append(env[plan.attrs[slot]])
            elif op == "const":
                attr = plan.attrs[slot]
                values.append(attr if hasattr(attr, "kind") else jnp.asarray(attr))
            else:
                values.append(JNP[op](*(values[a] for a in plan.args[slot])))
        return values[plan.out]

    return f
