"""Bad input, everywhere: every case gets an error that names what is wrong.

One table of cases — (label, call, exception type, a pattern the message must contain) —
covering malformed and hostile text (``test_grammar.MALFORMED`` plus injection attempts,
unknown functions, wrong arity, huge and deeply nested text), bad points (missing and extra
variables, strings, None, booleans, complex, ragged arrays), mismatched shapes, unknown
methods and schemes, nonsense options (step=0, -1, nan, "a"), empty or wrong ``wrt``, grad of
a non-scalar, bad shapes given to ``prepared``, bad builders; then the command line (exit
status 2 and one line on stderr) and experiment configs. The test counts them.

nan and inf in a point are not errors: IEEE propagation is the design (nan in, nan out), and
``test_nan_and_inf_in_the_point_propagate`` checks that no method raises on them.
"""

import math
import re
import textwrap
from fractions import Fraction

import numpy as np
import pytest
from test_grammar import MALFORMED

import difflab as dl
from difflab import forward, numeric, reverse, symbolic, truth
from difflab.cli import main
from difflab.lab import experiments

F = dl.parse("sin(x) * y")
P = {"x": 1.0, "y": 2.0}
x, y = dl.variables("x y")


def grad(point=P, expr=F, **kw):
    return lambda: dl.grad(expr, point, **kw)


def with_x(value):
    return grad({"x": value, "y": 2.0})


# ---- text -------------------------------------------------------------------------------
PARSE = [(f"parse {text[:30]!r}", lambda t=text: dl.parse(t), dl.ParseError, message)
         for text, message in MALFORMED]
INJECTION = [
    ("().__class__.__bases__[0].__subclasses__()", "only the grammar's functions"),
    ("globals()", "unknown function 'globals'"),
    ("x.__class__", "attribute access is not allowed"),
    ("sin.__globals__", "attribute access is not allowed"),
    ('getattr(x, "y")', "unknown function 'getattr'"),
    ('compile("1", "", "eval")', "unknown function 'compile'"),
    ("breakpoint()", "unknown function 'breakpoint'"),
    ("(lambda: 0)()", "only the grammar's functions"),
    ('x if __import__("os") else 1', "conditional is not allowed"),
    ('sin(x)\nimport os', "invalid syntax"),
    ('sin(x);__import__("os")', "invalid syntax"),
    ('os.system("ls")', "only the grammar's functions"),
    ("[x for x in ().__class__.__base__.__subclasses__()]", "comprehension is not allowed"),
    ("x\u202e", "non-printable character U.202E"),
    ("sin(**{})", "keyword"),
    ("def f(): pass", "invalid syntax"),
    ("...", "Ellipsis is not allowed"),
]
UNKNOWN_AND_ARITY = [
    ("softmin(x)", "unknown function 'softmin'"), ("Sin(x)", "unknown function 'Sin'"),
    ("log10(x)", "unknown function 'log10'"), ("pow(x, 2)", "unknown function 'pow'"),
    ("pi(x)", "unknown function 'pi'"), ("sinh(x, y)", r"sinh\(\) takes 1 argument, got 2"),
    ("max(x, y, z)", r"max\(\) takes 1 or 2 arguments, got 3"),
    ("max()", r"max\(\) takes 1 or 2 arguments, got 0"),
    ("transpose()", r"transpose\(\) takes 1 or 2 arguments, got 0"),
    ("where(x, y)", r"where\(\) takes 3 arguments, got 2"),
    ("concatenate(x, y)", r"concatenate\(\) takes 1 argument, got 2"),
    ("concatenate(x)", r"concatenate\(\) takes a list of arrays"),
    ("sum(x, y)", r"sum\(\) takes 1 argument, got 2"),
]
LONG = "x+" * 5_000  # too long for Python's parser: the deep reader checks what follows
HUGE = [
    (LONG + "x[y]", "an index must be a constant"),
    (LONG + "sin", "sin is a function"),
    (LONG + "x.__class__", "attribute access is not allowed"),
    (LONG + "sum(x, axis=y)", "axis= must be a constant"),
    (LONG + "x < y < x", "chained comparisons are not allowed"),
    (LONG + "foo(x)", "unknown function 'foo'"),
    (LONG + "1" + "0" * 400, r"the integer 100000\.\.\.000 \(401 digits\) is too large"),
    (LONG + "-" * 5000 + "x", "nested too deeply"),
    ("sin(" * 5000 + "x" + ")" * 5000, "too many nested parentheses"),
    ("x" + "**x" * 5000, "nested too deeply"),
    ("x" * 2_000_000, "too long: 2,000,000 characters"),
    ("1" + "0" * 400, r"the integer 100000\.\.\.000 \(401 digits\) is too large for float64"),
    ("x * " + "7" * 5000, r"\(5,000 digits\) is too large for float64"),
    ("<nan> + x", "<nan>... is how difflab prints nan"),
]
TEXT = PARSE + [(f"parse {t[:30]!r}", lambda t=t: dl.parse(t), dl.ParseError, m)
                for t, m in INJECTION + UNKNOWN_AND_ARITY + HUGE]

# ---- points -----------------------------------------------------------------------------
POINTS = [
    ("missing variable", grad({"x": 1.0}), KeyError, "missing variable 'y'"),
    ("extra variable", grad({**P, "z": 3.0}), KeyError, "unexpected variable 'z'"),
    ("non-string key", grad({**P, 3: 1.0}), KeyError, "unexpected variable 3"),
    ("point is None", grad(None), TypeError, "a point must map variable names.*NoneType"),
    ("point is a list", grad([1.0, 2.0]), TypeError, "a point must map.*list"),
    ("string value", with_x("1"), TypeError, "variable 'x'.*got '1'"),
    ("None value", with_x(None), TypeError, "variable 'x'.*got None"),
    ("boolean value", with_x(True), TypeError, "variable 'x'.*got True"),
    ("complex value", with_x(1j), TypeError, "variable 'x': expected real numbers"),
    ("ragged list", with_x([[1, 2], [3]]), TypeError,
     "variable 'x': cannot make an array of .*: its rows have different lengths"),
    ("10**400", with_x(10 ** 400), ValueError,
     r"variable 'x': the number 10\*\*400 is too large for float64"),
    ("a huge Fraction", with_x(Fraction(10 ** 400, 7)), ValueError, "variable 'x'.*too large"),
    ("a masked array", with_x(np.ma.masked_array([1.0, 2.0], mask=[0, 1])), TypeError,
     "variable 'x': a masked array with masked entries"),
    ("a boolean array", with_x(np.array([True])), TypeError, "variable 'x'.*bool"),
    ("array of strings", with_x(np.array(["a"])), TypeError, "variable 'x'.*<U1"),
    ("dict value", with_x({"a": 1}), TypeError, "variable 'x'.*dict"),
    ("an expression as a value", with_x(x), TypeError, "variable 'x'.*expression"),
    ("evaluate: missing", lambda: dl.evaluate(F, {"y": 1.0}), KeyError, "missing variable 'x'"),
    ("evaluate: a number", lambda: dl.evaluate(3, {"x": 1.0}), TypeError, "needs an expression"),
    ("evaluate: bad text", lambda: dl.evaluate("x +", {"x": 1.0}), dl.ParseError, "ends too"),
    ("grad of None", lambda: dl.grad(None, P), TypeError, "expected an expression.*NoneType"),
    ("grad of a number", lambda: dl.grad(3, P), TypeError, "expected an expression.*int"),
    ("truth: missing", lambda: truth.gradient(F, {"x": 1.0}), KeyError, "missing variable 'y'"),
    ("reverse: string", lambda: reverse.grad(F, {"x": "a", "y": 1.0}), TypeError,
     "variable 'x'"),
    ("forward: None", lambda: forward.grad(F, None), TypeError, "a point must map"),
    ("check_grad: missing", lambda: dl.check_grad(F, {"x": 1.0}), KeyError,
     "missing variable 'y'"),
]

# ---- shapes -----------------------------------------------------------------------------
V3, V2 = np.ones(3), np.ones(2)
SHAPES = [
    ("add (3,) + (2,)", grad({"x": V3, "y": V2}, dl.sum(x + y)), ValueError,
     r"add: shapes \(3,\) and \(2,\) do not broadcast"),
    ("matmul (2,3) @ (4,5)", grad({"x": np.ones((2, 3)), "y": np.ones((4, 5))}, dl.sum(x @ y)),
     ValueError, r"matmul: \(2, 3\) @ \(4, 5\)"),
    ("matmul of scalars", grad(P, dl.sum(x @ y)), ValueError, r"matmul: \(\) @ \(\)"),
    ("matmul of stacks that do not broadcast",  # (stacks of matrices are fine: (2, 2, 2) @ (2, 2))
     grad({"x": np.ones((3, 2, 2)), "y": np.ones((2, 2, 2))}, dl.sum(x @ y)),
     ValueError, r"matmul.*\(3, 2, 2\) @ \(2, 2, 2\)"),
    ("evaluate (3,) * (2,)", lambda: dl.evaluate(x * y, {"x": V3, "y": V2}), ValueError,
     r"mul: shapes \(3,\) and \(2,\)"),
    ("jacobian (3,) - (2,)", lambda: dl.jacobian(x - y, {"x": V3, "y": V2}), ValueError,
     r"sub: shapes \(3,\) and \(2,\)"),
    ("grad of a vector", grad({"x": V3, "y": 2.0}, x * y), ValueError,
     r"grad needs a scalar-valued expression.*shape \(3,\)"),
    ("hessian of a vector", lambda: dl.hessian(x * y, {"x": V3, "y": 2.0}), ValueError,
     r"hessian needs a scalar-valued expression.*shape \(3,\)"),
    ("symbolic grad of a matrix", grad({"x": np.ones((2, 2)), "y": 2.0}, x * y,
                                       method="symbolic"), ValueError, r"shape \(2, 2\)"),
    ("prepared: unknown kind", lambda: dl.prepared("gradient", F), ValueError,
     "unknown kind 'gradient'"),
    ("prepared: shape 'a'", lambda: dl.prepared("grad", F, shapes={"x": "a"}), ValueError,
     "shape of 'x'"),
    ("prepared: shape 3", lambda: dl.prepared("grad", F, shapes={"x": 3}), TypeError,
     "shape of 'x'"),
    ("prepared: shape (-1,)", lambda: dl.prepared("grad", F, shapes={"x": (-1,)}), ValueError,
     r"shape of 'x'.*\(-1,\)"),
    ("prepared: shapes a list", lambda: dl.prepared("grad", F, shapes=[1]), TypeError,
     "shapes must map variable names"),
]

# ---- methods, options, wrt ----------------------------------------------------------------
KNOWN = "known methods: symbolic, numeric, forward, reverse, jax"
OPTIONS = [
    ("unknown method", grad(method="magic"), ValueError, f"unknown method 'magic'; {KNOWN}"),
    ("empty method", grad(method=""), ValueError, "unknown method ''"),
    ("method in capitals", grad(method="NUMERIC"), ValueError, "unknown method 'NUMERIC'"),
    ("method None", grad(method=None), TypeError, "method must be a string.*None"),
    ("method 3", grad(method=3), TypeError, "method must be a string.*3"),
    ("unknown scheme", grad(method="numeric:magic"), ValueError,
     "unknown numeric scheme 'magic'; known schemes: forward, backward, central"),
    ("empty scheme", grad(method="numeric:"), ValueError, "'numeric:' names no variant"),
    ("variant of reverse", grad(method="reverse:fast"), ValueError,
     "method 'reverse' has no variants"),
    ("step=0", grad(method="numeric", step=0), ValueError, "step must be a positive.*step=0"),
    ("step=-1", grad(method="numeric", step=-1), ValueError, "step=-1"),
    ("step=nan", grad(method="numeric", step=math.nan), ValueError, "step=nan"),
    ("step=inf", grad(method="numeric", step=math.inf), ValueError, "step=inf"),
    ("step='a'", grad(method="numeric", step="a"), ValueError, "step='a'"),
    ("step=True", grad(method="numeric", step=True), ValueError, "step=True"),
    ("step=[0.1]", grad(method="numeric", step=[0.1]), ValueError, r"step=\[0.1\]"),
    ("step=1e-300", grad(method="numeric", step=1e-300), ValueError,
     "step=1e-300 vanishes next to x=1.0"),
    ("Hessian step=0", lambda: dl.hessian(F, P, method="numeric", step=0), ValueError,
     "step=0"),
    ("complex-step Hessian", lambda: dl.hessian(F, P, method="numeric:complex"), ValueError,
     "scheme='complex' is not supported"),
    ("levels=0", grad(method="numeric:richardson", levels=0), ValueError, "levels=0"),
    ("levels='a'", grad(method="numeric:richardson", levels="a"), ValueError, "levels='a'"),
    ("fallback='bogus'", grad(method="numeric", fallback="bogus"), ValueError,
     "unknown finite-difference scheme 'bogus'"),
    ("step to reverse", grad(method="reverse", step=0.1), TypeError, "reverse.*step"),
    ("step to forward", grad(method="forward", step=0.1), TypeError, "forward.*step"),
    ("step to symbolic", grad(method="symbolic", step=0.1), TypeError,
     "method 'symbolic' has no option 'step'; its options: max_nodes"),
    ("step to jax", grad(method="jax", step=0.1), TypeError, "method 'jax' has no option 'step'"),
    ("unknown numeric option", grad(method="numeric", foo=1), TypeError,
     "method 'numeric' has no option 'foo'; its options: scheme, step"),
    ("chunk=0", grad(method="forward", chunk=0), ValueError, "chunk must be a positive.*0"),
    ("chunk='a'", grad(method="forward", chunk="a"), ValueError, "chunk.*'a'"),
    ("symbolic time_budget='a'", grad(method="symbolic", time_budget="a"), TypeError,
     "time_budget must be a number, got 'a'"),
    ("symbolic max_nodes=0", grad(method="symbolic", max_nodes=0), ValueError,
     r"too large for symbolic.*\(limit 0\); pass max_nodes="),
    ("symbolic.prepare step", lambda: symbolic.prepare(F, ("x",), {"x": (), "y": ()}, step=1),
     TypeError, "step"),
    ("numeric.grad scheme", lambda: numeric.grad(F, P, scheme="magic"), ValueError,
     "unknown finite-difference scheme 'magic'"),
    ("wrt=[]", grad(wrt=[]), ValueError, "wrt is empty.*the expression has x, y"),
    ("wrt=''", grad(wrt=""), ValueError, "wrt is empty"),
    ("wrt unknown", grad(wrt=["z"]), ValueError, "with respect to 'z'.*variables are x, y"),
    ("wrt twice", grad(wrt=["x", "x"]), ValueError, "wrt names a variable twice"),
    ("wrt [1]", grad(wrt=[1]), TypeError, "wrt must hold variable names, got 1"),
    ("wrt 1", grad(wrt=1), TypeError, "wrt must be a variable name or a list.*got 1"),
    ("wrt [None]", grad(wrt=[None]), TypeError, "wrt must hold variable names, got None"),
]

# ---- building expressions -----------------------------------------------------------------
BUILDERS = [
    ("variable '1x'", lambda: dl.variable("1x"), ValueError, "invalid variable name '1x'"),
    ("variable 'sin'", lambda: dl.variable("sin"), ValueError, "'sin': it is a function"),
    ("variable 'lambda'", lambda: dl.variable("lambda"), ValueError, "'lambda'"),
    ("variable 3", lambda: dl.variable(3), TypeError, "variable name must be a string.*int"),
    ("variables(3)", lambda: dl.variables(3), TypeError, r"variables\(\) takes names.*3"),
    ("constant 'a'", lambda: dl.constant("a"), TypeError, "cannot use 'a' as a constant"),
    ("constant None", lambda: dl.constant(None), TypeError, "cannot use None as a constant"),
    ("constant memoryview", lambda: dl.constant(memoryview(b"ab")), TypeError,
     "cannot use <memory at .* as a constant"),
    ("point memoryview", lambda: dl.grad("sum(x)", {"x": memoryview(b"ab")}), TypeError,
     "variable 'x': expected a number or an array of numbers, got <memory"),
    ("sin('a')", lambda: dl.sin("a"), TypeError, "cannot use 'a' as a constant"),
    ("x + 'a'", lambda: x + "a", TypeError, "'Expr' and 'str'"),
    ("x * None", lambda: x * None, TypeError, "'Expr' and 'NoneType'"),
    ("bool(x)", lambda: bool(x), TypeError, "no truth value"),
    ("x + 10**400", lambda: x + 10 ** 400, ValueError,
     r"cannot build x \+ 10\*\*400: the number 10\*\*400 is too large"),
    ("constant 10**400", lambda: dl.constant(-(10 ** 400)), ValueError, "too large for float64"),
    ("Tape.record('x+')", lambda: reverse.Tape.record("x+", P), dl.ParseError, "ends too early"),
    ("Tape.record(3)", lambda: reverse.Tape.record(3, P), TypeError,
     "Tape.record: expected an expression"),
    ("size(None)", lambda: dl.size(None), TypeError, "size: expected an expression"),
    ("from_sympy text", lambda: dl.from_sympy("x + 1"), TypeError, "use dl.parse"),
    ("parse(3.0)", lambda: dl.parse(3.0), TypeError, "string"),
]

# ---- array programs: indices, axes, shapes ----------------------------------------------------
A23 = {"x": np.ones((2, 3))}
ARRAYS = [
    ("index out of range", grad(A23, dl.sum(x[5])), ValueError,
     r"index \[5\] does not fit shape \(2, 3\).*out of bounds"),
    ("index too many axes", grad(A23, dl.sum(x[0, 1, 2])), ValueError,
     r"index \[0, 1, 2\] does not fit shape \(2, 3\)"),
    ("gather out of range", grad(A23, dl.sum(x[:, [0, 3]])), ValueError,
     r"index \[:, \[0, 3\]\] does not fit shape \(2, 3\)"),
    ("index a scalar", grad(P, x[0] * y), ValueError, r"index \[0\] does not fit shape \(\)"),
    ("axis beyond the rank", grad(A23, dl.sum(dl.sum(x, axis=2))), ValueError,
     "sum: axis 2 is out of bounds for an operand with 2 dimensions"),
    ("repeated axis", grad(A23, dl.sum(dl.mean(x, axis=(0, -2)))), ValueError,
     r"mean: repeated axis in \(0, -2\)"),
    ("softmax axis", grad(A23, dl.sum(dl.softmax(x, axis=-3))), ValueError,
     "softmax: axis -3 is out of bounds"),
    ("reshape to another size", grad(A23, dl.sum(dl.reshape(x, (4,)))), ValueError,
     r"reshape: cannot reshape an array of shape \(2, 3\) \(size 6\) into shape \(4,\)"),
    ("reshape two -1", lambda: dl.reshape(x, (-1, -1)), ValueError, "at most one -1"),
    ("transpose axes", lambda: dl.transpose(x, (0, 0)), ValueError, "not a permutation"),
    ("transpose rank", grad(A23, dl.sum(dl.transpose(x, (0, 1, 2)))), ValueError,
     r"transpose: axes \(0, 1, 2\) do not match an operand of shape \(2, 3\)"),
    ("concatenate shapes", grad({"x": np.ones((2, 3)), "y": np.ones((3, 2))},
                                dl.sum(dl.concatenate([x, y], axis=0))), ValueError,
     r"concatenate: shapes \(2, 3\) and \(3, 2\) differ outside axis 0"),
    ("concatenate scalars", grad(P, dl.sum(dl.concatenate([x, y]))), ValueError,
     r"concatenate: shapes \(\) and \(\)"),
    ("where shapes", grad({"x": np.ones(3), "y": np.ones(2)}, dl.sum(dl.where(x > 0, x, y))),
     ValueError, r"where: shapes \(3,\) and \(2,\) do not broadcast"),
    ("an expression as an index", lambda: x[y], TypeError,
     "an index must be a constant integer, not an expression"),
    ("an expression as an axis", lambda: dl.sum(x, axis=y), TypeError,
     "an axis must be a constant integer, not an expression"),
    ("a float index", lambda: x[1.5], TypeError, "an index must be an integer, got 1.5"),
    ("keepdims=1", lambda: dl.sum(x, keepdims=1), TypeError, "keepdims must be True or False"),
    ("two gathers", lambda: x[[0], [1]], ValueError, "at most one list of integers"),
    ("max(a, b, axis=)", lambda: dl.max(x, y, axis=0), TypeError,
     r"max\(a, b\) is elementwise and takes no axis"),
    ("concatenate of nothing", lambda: dl.concatenate([]), ValueError, "at least one array"),
    ("concatenate of an expression", lambda: dl.concatenate(x), TypeError,
     "concatenate takes a list of arrays, got Expr"),
    ("if on a traced value", lambda: bool(x > 0), TypeError, "use dl.where"),
    ("iterate an expression", lambda: list(x), TypeError, "cannot be iterated"),
    ("parse sum(x, axis=y)", lambda: dl.parse("sum(x, axis=y)"), dl.ParseError,
     "axis= must be a constant"),
    ("parse x[y]", lambda: dl.parse("x[y]"), dl.ParseError, "an index must be a constant"),
    ("parse unknown keyword", lambda: dl.parse("sum(x, dim=0)"), dl.ParseError,
     r"sum\(\) takes keywords axis, keepdims; got dim="),
    ("parse keyword of sin", lambda: dl.parse("sin(x, axis=0)"), dl.ParseError,
     r"sin\(\) takes no keyword arguments"),
]

API_CASES = TEXT + POINTS + SHAPES + OPTIONS + BUILDERS + ARRAYS


@pytest.mark.parametrize("label, call, error, message", API_CASES,
                         ids=[c[0] for c in API_CASES])
def test_bad_input_raises_an_error_that_names_the_problem(label, call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    text = str(info.value)
    if not isinstance(info.value, dl.ParseError):  # a ParseError also shows the text, a caret
        assert "\n" not in text, text
    assert "Traceback" not in text


# ---- the command line: exit status 2, one line on stderr ----------------------------------
CLI = [
    ([], "required: COMMAND"), (["bogus"], "invalid choice: 'bogus'"),
    (["grad"], "required: expression"), (["grad", "x"], "missing variable 'x'"),
    (["grad", "x", "--at"], "argument --at: expected at least one argument"),
    (["grad", "x", "--at", 'x=[1,"a"]'], "--at x: .* is not a list of numbers"),
    (["grad", "x", "--at", "x=[true]"], "--at x: .* is not a list of numbers"),
    (["grad", "x", "--at", "x=[[1,2],[3]]"], "--at x: .* is not a rectangular array"),
    (["grad", "x", "--at", "x=1", "x=2"], "--at gives 'x' twice"),
    (["grad", "x", "--at", "=1"], "--at expects name=value pairs"),
    (["grad", "x", "--at", "x=1,a"], "--at x: '1,a' is not a number"),
    (["grad", "x", "--at", 'x={"a":1}'], "--at x: .* is not a number"),
    (["grad", "x", "--at", "x=1", "--methods"], "argument --methods: expected"),
    (["grad", "x", "--at", "x=1", "--bogus"], "unrecognized arguments: --bogus"),
    (["grad", "x", "--at", "x=1", "--methods", "reverse:fast"], "'reverse' has no variants"),
    (["grad", "x", "--at", "x=1", "--methods", "reverse; rm -rf /"], "unknown method"),
    (["grad", "x", "--at", "x=1", "--wrt", "x", "x"], "wrt names a variable twice"),
    (["grad", "x", "--at", "x=__import__('os')"], "--at x: .* is not a number"),
    (["grad", "x", "--at", "x=1" + "0" * 400], "--at x: .* is beyond float64's range"),
    (["grad", "x", "--at", "x=" + "[" * 5000], "--at x: .* is nested too deeply"),
    (["grad", "1" + "0" * 400, "--at", "x=1"], r"the number 1000.* is beyond float64's range"),
    (["grad", "__import__('os').system('true')", "--at", "x=1"], "only the grammar's functions"),
    (["grad", "x" * 2_000_000, "--at", "x=1"], "too long"),
    (["grad", "v * 2", "--at", "v=1,2"], "scalar-valued"),
    (["list", "nothing"], "invalid choice: 'nothing'"),
    (["run", "--resume"], "argument --resume: expected one argument"),
    (["run", "../difflab/fuzz", "--quick"], "unknown experiment '../difflab/fuzz'"),
    (["run", "no_such_experiment", "--quick"], "unknown experiment 'no_such_experiment'"),
    (["report", "/nonexistent/run"], "no such file or directory: /nonexistent/run"),
    (["report", "--results", "/nonexistent"], "no runs found in /nonexistent"),
]


@pytest.mark.parametrize("argv, message", CLI, ids=[" ".join(a)[:40] for a, _ in CLI])
def test_bad_command_lines_exit_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "usage:" not in err, err
    assert re.search(message, err), err


# ---- experiment configs --------------------------------------------------------------------
@pytest.fixture
def experiment_files(tmp_path, monkeypatch):
    files = {
        "listed": "CONFIG = [1, 2]\n",
        "texty": "CONFIG = 'sizes=3'\n",
        "badquick": "CONFIG = {'seed': 1}\nQUICK = ['small']\n",
        "broken": "CONFIG = {'seed': 1\n",
        "raising": "raise RuntimeError('no config today')\n",
    }
    for name, body in files.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.setattr(experiments, "experiments_dir", lambda: tmp_path)
    return tmp_path


CONFIGS = [
    (lambda: experiments.load_config("nope"), ValueError, "unknown experiment 'nope'"),
    (lambda: experiments.load_config("../outside"), ValueError, "unknown experiment"),
    (lambda: experiments.load_config(None), TypeError, "experiment name must be a string"),
    (lambda: experiments.load_config("listed"), ValueError, "CONFIG must be a dict, got list"),
    (lambda: experiments.load_config("texty"), ValueError, "CONFIG must be a dict, got str"),
    (lambda: experiments.load_config("badquick", quick=True), ValueError,
     "QUICK must be a dict, got list"),
    (lambda: experiments.load_config("broken"), ValueError,
     "experiments/broken.py does not load: SyntaxError"),
    (lambda: experiments.load_config("raising"), ValueError,
     "experiments/raising.py does not load: RuntimeError: no config today"),
    (lambda: experiments.run_experiment("nope", results="unused"), ValueError,
     "unknown experiment 'nope'"),
    (lambda: experiments.run_experiment("listed", results="unused"), ValueError,
     "CONFIG must be a dict"),
]


@pytest.mark.parametrize("call, error, message", CONFIGS, ids=[c[2][:30] for c in CONFIGS])
def test_bad_experiment_configs_are_named(experiment_files, call, error, message):
    with pytest.raises(error, match=message):
        call()
    assert not list(experiment_files.glob("*/meta.json"))  # nothing was started


def test_compare_records_an_unknown_method_as_a_row():
    table = dl.compare(F, P, methods=["reverse", "magic"])
    status = dict(zip(table["method"], table["status"], strict=True))
    assert status["reverse"] == "ok" and "unknown method 'magic'" in status["magic"]


# ---- nan and inf: IEEE propagation, never an exception --------------------------------------
@pytest.mark.parametrize("method", [*dl.METHODS, "numeric:complex", "numeric:richardson"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_in_the_point_propagate(method, bad):
    f = dl.parse("sin(x) * y + sum(v * x)")
    point = {"x": bad, "y": 2.0, "v": np.array([1.0, math.nan])}
    g = dl.grad(f, point, method=method)
    assert set(g) == {"v", "x", "y"} and g["v"].shape == (2,)
    assert math.isnan(g["x"])  # cos(nan or inf) * y + sum(v) is nan
    assert not np.isfinite(dl.evaluate(f, point))
    assert math.isnan(dl.grad(dl.parse("x * y"), {"x": 1.0, "y": math.nan},
                              method=method)["x"])


# ---- the count ----------------------------------------------------------------------------
def test_the_number_of_bad_inputs_tried():
    n = len(API_CASES) + len(CLI) + len(CONFIGS) + 1 + 3 * 7  # + compare + nan/inf cases
    assert len(TEXT) >= len(MALFORMED) + 30
    assert n >= 80, n
    print(f"bad inputs tried: {n}")


def test_compare_takes_one_method_by_name_and_refuses_an_empty_list():
    table = dl.compare("x * x * y", {"x": 1.5, "y": 2.0}, methods="reverse")
    assert list(table["method"]) == ["truth (sympy-50)", "reverse"]  # not r, e, v, e, r, s, e
    row = table.set_index("method").loc["reverse"]
    assert row["status"] == "ok" and row["d/dx"] == 6.0 and row["d/dy"] == 2.25  # 2xy, x**2
    table = dl.compare("x * x * y", {"x": 1.5, "y": 2.0}, methods=("forward", "numeric"))
    assert list(table["method"])[1:] == ["forward", "numeric"]
    with pytest.raises(ValueError, match="compare: methods is empty; name at least one, or "
                                         "pass None for all of symbolic, numeric"):
        dl.compare("x * x", {"x": 1.0}, methods=[])
    with pytest.raises(TypeError, match="compare: methods must hold method names, got 3"):
        dl.compare("x * x", {"x": 1.0}, methods=["reverse", 3])
    with pytest.raises(TypeError, match="compare: methods must be a method name or a list"):
        dl.compare("x * x", {"x": 1.0}, methods=5)
