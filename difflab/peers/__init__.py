"""difflab's peers: other libraries' numerical differentiation as registered methods.

``numdifftools`` (``numdifftools.Gradient``/``Jacobian``/``Hessian``: adaptive steps with
Richardson extrapolation) and ``scipy`` (``scipy.differentiate.jacobian``/``hessian``, SciPy >=
1.15: finite differences of order 8, the step halved until the error estimate converges) enter
the method table the way any user's method does (``difflab.method_table.PEERS``, by import
path); their packages come with ``pip install 'difflab[peers]'``. ``flat`` turns an expression
into the function of one flat vector these libraries differentiate.
"""
