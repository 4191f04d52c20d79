"""JAX as the reference: the IR as a jax.numpy function, differentiated and compiled by JAX.

    from difflab import jax_ref
    jax_ref.grad(f, {"x": 1.0, "y": 2.0})

``prepare`` holds the jnp rules, the tracing walk and the protocol's side; ``products`` the
JVP, VJP and HVP.
"""

from .prepare import (
    MAX_NODES,
    MODES,
    RULE_TABLES,
    _jax,  # noqa: F401 - imports JAX with float64 on (the tests reach for it)
    as_jax_function,
    check_size,
    function,
    grad,
    jnp_rules,
    prepare,
    prepare_hessian,
    prepare_jacobian,
    warm_up,
)
from .products import prepare_hvp, prepare_jvp, prepare_vjp

__all__ = [
    "MAX_NODES", "MODES", "RULE_TABLES", "as_jax_function", "check_size", "function", "grad",
    "jnp_rules", "prepare", "prepare_hessian", "prepare_jacobian", "prepare_jvp", "prepare_vjp",
    "prepare_hvp", "warm_up",
]
