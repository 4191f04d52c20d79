"""An independent JAX oracle for the engine tests: the IR walked in stock jax.numpy.

Deliberately not difflab.jax_ref (the reference under test elsewhere): a few lines written
against JAX's own functions, so an engine and this oracle share no code.
"""

import jax
import jax.numpy as jnp

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
}


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
                values.append(jnp.asarray(plan.attrs[slot]))
            else:
                values.append(JNP[op](*(values[a] for a in plan.args[slot])))
        return values[plan.out]

    return f
