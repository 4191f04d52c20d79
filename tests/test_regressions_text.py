"""Regressions of issue 12 about text: what difflab reads, prints and says.

Item 1, code execution: ``dl.from_sympy`` handed strings to ``sympy.sympify``, which runs them
as Python; every other entry that takes text is checked not to evaluate it. Item 4, a hang in
an error message: messages formatted ``str(expr)``, whose text grows like 2^depth for a DAG.
Item 7, unclear or raw errors: huge literals and numbers, ragged and masked arrays, flat sums
too long for Python's parser, ``Tape.record`` of text, ``nan`` printed as a variable's name.
"""

import ast
import contextlib
import decimal
import fractions
import json
import math
import random
import signal

import numpy as np
import pytest
import sympy

import difflab as dl
from difflab import forward, numeric, reverse, symbolic, truth
from difflab.cli import main
from difflab.core import parser, printer, sympy_import
from difflab.lab import experiments, report
from difflab.lab.execute import load_hook

x, y = dl.variables("x y")


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail (instead of hanging) when the block takes longer than ``seconds``."""
    def expire(*_):
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---- item 1: no entry evaluates text ------------------------------------------------------
def payload(marker) -> str:
    """Python that creates ``marker`` when anything evaluates it."""
    return f"__import__('pathlib').Path({str(marker)!r}).touch()"


def test_from_sympy_refuses_text_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    for text in (payload(marker), f"__import__('os').system('touch {marker}')"):
        for from_sympy in (dl.from_sympy, sympy_import.from_sympy):
            with pytest.raises(TypeError, match="needs a SymPy expression, got str; to read "
                                                "text use dl.parse"):
                from_sympy(text)
    with pytest.raises(TypeError, match="got int"):
        dl.from_sympy(3)
    assert not marker.exists()


def test_from_sympy_still_reads_sympy_and_refuses_numbers_beyond_float64():
    s, t = sympy.symbols("x y", real=True)
    back = dl.from_sympy(sympy.sin(s) * t + s ** 2)
    assert dl.evaluate(back, {"x": 0.5, "y": 2.0}) == pytest.approx(math.sin(0.5) * 2 + 0.25)
    for huge in (sympy.Integer(10) ** 400, sympy.Float("1e400"), sympy.Integer(7) ** 9000):
        with pytest.raises(ValueError, match="too large for float64"):
            dl.from_sympy(huge * s)
    assert dl.evaluate(dl.from_sympy(-sympy.oo), {}) == -math.inf


def _entries(text: str, tmp_path):
    """Every public entry that takes a string, called with ``text`` where a string goes."""
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "meta.json").write_text(json.dumps({"experiment": text}))
    point = {"x": 1.0}
    return {
        "parse": lambda: dl.parse(text),
        "grad": lambda: dl.grad(text, point),
        "jacobian": lambda: dl.jacobian(text, point),
        "hessian": lambda: dl.hessian(text, point),
        "prepared": lambda: dl.prepared("grad", text),
        "check_grad": lambda: dl.check_grad(text, point),
        "compare": lambda: dl.compare(text, point, methods=["reverse"]),
        "size": lambda: dl.size(text),
        "to_sympy": lambda: dl.to_sympy(text),
        "from_sympy": lambda: dl.from_sympy(text),
        "derivative_expr": lambda: symbolic.derivative_expr(text, "x"),
        "truth": lambda: truth.gradient(text, point),
        "Tape.record": lambda: reverse.Tape.record(text, point),
        "forward.grad": lambda: forward.grad(text, point),
        "numeric.grad": lambda: numeric.grad(text, point),
        "variable": lambda: dl.variable(text),
        "variables": lambda: dl.variables(text),
        "constant": lambda: dl.constant(text),
        "sin": lambda: dl.sin(text),
        "x + text": lambda: x + text,
        "point value": lambda: dl.grad("x", {"x": text}),
        "point array": lambda: dl.grad("sum(x)", {"x": np.array([text])}),
        "wrt": lambda: dl.grad("x", point, wrt=text),
        "method": lambda: dl.grad("x", point, method=text),
        "option": lambda: dl.grad("x", point, method="numeric", step=text),
        "cli grad": lambda: main(["grad", text, "--at", "x=1"]),
        "cli --at": lambda: main(["grad", "x", "--at", f"x={text}"]),
        "cli --at list": lambda: main(["grad", "x", "--at", f"x=[{text}]"]),
        "cli --wrt": lambda: main(["grad", "x", "--at", "x=1", "--wrt", text]),
        "cli --methods": lambda: main(["grad", "x", "--at", "x=1", "--methods", text]),
        "cli run": lambda: main(["run", text, "--quick", "--results", str(tmp_path)]),
        "cli list": lambda: main(["list", text]),
        "cli report": lambda: main(["report", text, "--out", str(tmp_path / "out")]),
        "load_config": lambda: experiments.load_config(text),
        "hook": lambda: load_hook(text),
        "hook attribute": lambda: load_hook(f"os:{text}"),
        "report section": lambda: report.build_section(run, tmp_path),
    }


ENTRIES = [
    "parse", "grad", "jacobian", "hessian", "prepared", "check_grad", "compare", "size",
    "to_sympy", "from_sympy", "derivative_expr", "truth", "Tape.record", "forward.grad",
    "numeric.grad", "variable", "variables", "constant", "sin", "x + text", "point value",
    "point array", "wrt", "method", "option", "cli grad", "cli --at", "cli --at list",
    "cli --wrt", "cli --methods", "cli run", "cli list", "cli report", "load_config", "hook",
    "hook attribute", "report section"]


@pytest.mark.parametrize("entry", ENTRIES)
def test_no_entry_evaluates_text(tmp_path, capsys, entry):
    marker = tmp_path / "ran"
    call = _entries(payload(marker), tmp_path)[entry]
    try:
        outcome = call()
    except (ValueError, TypeError, KeyError) as err:  # refused, with a message: fine
        assert "Traceback" not in str(err)
    else:  # the CLI answers with a status; report.build_section with a failed section
        assert outcome == 2 or "could not be built" in getattr(outcome, "findings", ""), outcome
    assert not marker.exists(), f"{entry} evaluated the text"


def test_every_text_entry_is_tried(tmp_path):
    assert sorted(_entries("x", tmp_path)) == sorted(ENTRIES)


# ---- item 4: messages show a bounded summary of an expression ------------------------------
def recurrence(depth: int) -> dl.Expr:
    """e = x; e = sin(e) * 0.5 + e, depth times: 4 nodes a step, text ~ 2^depth characters."""
    e = x
    for _ in range(depth):
        e = dl.sin(e) * 0.5 + e
    return e


DEEP = recurrence(60)  # its text would be ~10^19 characters: any str() of it never returns


@pytest.mark.parametrize("call, error, message", [
    (lambda: dl.grad(DEEP, {"x": DEEP}), TypeError,
     r"variable 'x': expected a number, got an expression \(sin\(sin\("),
    (lambda: dl.evaluate(DEEP, {"x": np.array([DEEP])}), TypeError, "variable 'x'"),
    (lambda: dl.grad(DEEP, {"x": 1.0}, wrt=[DEEP]), TypeError, "wrt must hold variable names"),
    (lambda: dl.grad(DEEP, {"x": 1.0}, wrt=DEEP), TypeError, "wrt must be a variable name"),
    (lambda: dl.grad(DEEP, {"x": 1.0}, method=DEEP), TypeError, "method must be a string"),
    (lambda: dl.variables(DEEP), TypeError, r"variables\(\) takes names"),
    (lambda: dl.grad(x, {"x": 1.0}, method="symbolic", max_nodes=DEEP), TypeError,
     "max_nodes must be a number"),
    (lambda: forward.Dual(DEEP, 1.0), TypeError, "expected a number"),
])
def test_messages_about_a_huge_dag_are_short_and_quick(call, error, message):
    with deadline(5.0), pytest.raises(error, match=message) as info:
        call()
    assert len(str(info.value)) < 500, len(str(info.value))


def test_repr_and_summary_are_bounded_and_str_refuses_clearly(monkeypatch):
    with deadline(5.0):
        text = repr(DEEP)
        assert text.startswith("Expr('sin(sin(") and text.endswith("nodes>')") and len(text) < 200
        short = printer.summary(DEEP, 40)
        assert len(short) <= 40 + len("... <241 nodes>") and short.endswith("... <241 nodes>")
        assert printer.text_length(DEEP) > 2 ** 60  # counted exactly, without printing
        monkeypatch.setattr(printer, "MAX_PRINT", 10_000)  # (reached sooner, same path)
        with pytest.raises(ValueError, match=r"would be about 10\*\*19\.\d characters.*shared "
                                             r"subexpressions.*begins 'sin\(sin\("):
            str(DEEP)
    small = recurrence(6)
    assert printer.text_length(small) == len(str(small))
    assert printer.summary(small, 10_000) == str(small) and repr(x + 1.0) == "Expr('x + 1')"


def test_summaries_of_array_programs_are_bounded_prefixes_of_the_text():
    big = x * np.arange(2_000_000.0).reshape(1000, 2000)  # its text: ~16 million characters
    e = dl.sum(big, axis=0) + dl.softmax(x[[0, 1, 2]] > y, axis=-1)
    with deadline(2.0):
        short = printer.summary(e, 60)
        assert short.startswith("sum(x * [[0, 1, 2, 3, ") and short.endswith("... <12 nodes>")
        assert len(short) <= 60 + len("... <12 nodes>") and len(repr(e)) < 200
    small = dl.where(x[1:3] > 0, dl.max(x, axis=0, keepdims=True), dl.reshape(x, (2, -1)).T) \
        + dl.concatenate([x, [1.0, 2.5]]) * (x <= y) + dl.transpose(y, (1, 0))[..., None]
    text = str(small)
    assert dl.parse(text) == small
    assert printer.summary(small, 10_000) == text and printer.text_length(small) == len(text)
    for limit in (5, 20, 40, 80):
        assert printer.summary(small, limit)[:limit] == text[:limit]


# ---- item 7: numbers beyond float64 --------------------------------------------------------
@pytest.mark.parametrize("text, message, position", [
    ("1" + "0" * 400, r"the integer 100000\.\.\.000 \(401 digits\) is too large for float64",
     0),
    ("x + 1" + "0" * 400, r"\(401 digits\) is too large", 4),
    ("1" * 5000, r"the integer 111111\.\.\.111 \(5,000 digits\) is too large", 0),
    ("sin(x) * " + "2" * 5000, r"\(5,000 digits\)", 9),
])
def test_integer_literals_beyond_float64_are_parse_errors(text, message, position):
    with pytest.raises(dl.ParseError, match=message) as info:
        dl.parse(text)
    assert info.value.position == position


def test_float_literals_beyond_float64_are_inf_as_in_python():
    assert dl.evaluate(dl.parse("1e999 * x"), {"x": 1.0}) == math.inf
    assert dl.evaluate(dl.parse("1" + "0" * 400 + ".0"), {}) == math.inf
    assert dl.parse(str(dl.constant(-math.inf) * x)) == dl.constant(-math.inf) * x


@pytest.mark.parametrize("build", [lambda: x + 10 ** 400, lambda: 10 ** 400 * x,
                                   lambda: x ** fractions.Fraction(10 ** 400, 3),
                                   lambda: x - decimal.Decimal("1e400")])
def test_building_with_a_number_beyond_float64_names_it(build):
    with pytest.raises(ValueError, match=r"cannot build .*x.*: the number .* is too large "
                                         r"for float64"):
        build()
    with pytest.raises(ValueError, match=r"the number 10\*\*400 is too large for float64"):
        dl.sin(10 ** 400)


@pytest.mark.parametrize("value, shown", [
    (10 ** 400, r"10\*\*400"), (-(10 ** 400), r"-10\*\*400"),
    (3 ** 2000, "an integer of 955 digits"), (fractions.Fraction(10 ** 400, 3), "Fraction"),
    (decimal.Decimal("1e400"), "Decimal"), (np.longdouble("1e4000"), "longdouble"),
    ([1.0, 10 ** 400], r"10\*\*400 is too large for float64.* at index \(1,\)"),
    (np.array([np.longdouble("1e4000")]), "too large"),
])
def test_point_values_beyond_float64_name_the_variable(value, shown):
    with pytest.raises(ValueError, match=f"variable 'x': .*{shown}.*|variable 'x': the number "
                                         f".*{shown}"):
        dl.grad("sum(x * x)", {"x": value})


def test_other_real_numbers_are_read_as_float64():
    for value, want in [(fractions.Fraction(1, 3), 1 / 3), (decimal.Decimal("1.5"), 1.5),
                        (np.uint64(2 ** 64 - 1), 2.0 ** 64), (2 ** 64, 2.0 ** 64),
                        (np.float32(0.5), 0.5), (decimal.Decimal("-Infinity"), -math.inf)]:
        assert dl.evaluate(x * 1.0, {"x": value}) == want
    got = dl.grad("sum(x * x)", {"x": [2 ** 64, fractions.Fraction(1, 2)]})["x"]
    assert got.tolist() == [2.0 ** 65, 1.0]
    assert str(x + fractions.Fraction(1, 4)) == "x + 0.25" == str(x + decimal.Decimal("0.25"))


# ---- item 7: values that are not arrays of reals -------------------------------------------
@pytest.mark.parametrize("value, error, message", [
    ([1, [2, 3]], TypeError, r"variable 'x': cannot make an array of \[1, \[2, 3\]\]: its rows "
                             r"have different lengths"),
    (np.ma.masked_array([1.0, 2.0], mask=[False, True]), TypeError,
     r"variable 'x': a masked array with masked entries .*value.filled\(np.nan\)"),
    (np.array([True, False]), TypeError, "variable 'x': expected real numbers, got bool"),
    (np.bool_(True), TypeError, "variable 'x': expected a number.*True"),
    (1 + 2j, TypeError, "variable 'x': expected real numbers, got complex128"),
    ([1.0, 2j], TypeError, "variable 'x': expected real numbers, got complex128"),
    ([1.0, "2"], TypeError, "variable 'x': expected real numbers, got <U32"),
    ([1.0, x], TypeError, r"variable 'x': expected real numbers, got x \(an expression\) at "
                          r"index \(1,\)"),
    (decimal.Decimal("sNaN"), ValueError, "variable 'x': Decimal.*has no float64 value"),
    (bytearray(b"ab"), TypeError, "variable 'x': expected a number"),
    ([7 ** 6000], ValueError, "variable 'x': the number an integer of 5,071 digits"),
])
def test_bad_point_values_get_our_message(value, error, message):
    with pytest.raises(error, match=message):
        dl.grad("sum(x * x)", {"x": value})


def test_a_masked_array_without_masked_entries_is_its_data():
    value = np.ma.masked_array([1.0, 2.0], mask=[False, False])
    assert dl.grad("sum(x * x)", {"x": value})["x"].tolist() == [2.0, 4.0]


# ---- item 7: flat chains too long for Python's parser --------------------------------------
@pytest.mark.parametrize("n", [3_000, 100_000])
def test_long_flat_sums_parse_evaluate_and_print_back(n):
    text = " + ".join(["x"] * n)
    e = dl.parse(text)
    assert dl.evaluate(e, {"x": 1.0}) == float(n)
    assert str(e) == text  # the canonical text: printing it parses back to e


def _chain(rng: random.Random, n: int) -> tuple[list[str], list[float]]:
    ops = [rng.choice("+-*/") for _ in range(n - 1)]
    values = [rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0) for _ in range(n)]
    return ops, values


def _fold(ops, values) -> float:
    """Python's left-to-right evaluation with * / before + - (a reference, no parser)."""
    terms, signs, term = [], [1.0], values[0]
    for op, v in zip(ops, values[1:], strict=True):
        if op == "*":
            term = term * v
        elif op == "/":
            term = term / v
        else:
            terms.append(term)
            signs.append(1.0 if op == "+" else -1.0)
            term = v
    terms.append(term)
    total = terms[0]
    for sign, t in zip(signs[1:], terms[1:], strict=True):
        total = total + t if sign > 0 else total - t
    return total


@pytest.mark.parametrize("n", [200, 4_000, 12_000])
def test_mixed_chains_follow_python_precedence(n):
    rng = random.Random(n)
    ops, values = _chain(rng, n)
    names = [f"v{i}" for i in range(n)]
    text = names[0] + "".join(f" {op} {name}" for op, name in zip(ops, names[1:], strict=True))
    point = dict(zip(names, values, strict=True))
    got = dl.evaluate(dl.parse(text), point)
    assert got == _fold(ops, values)  # the same float operations in the same order
    if n <= 200:  # short enough for Python itself: the same number, exactly
        assert got == eval(compile(ast.parse(text, mode="eval"), "<chain>", "eval"), {}, point)
    numbers = values[0].__repr__() + "".join(f" {op} ({v!r})" for op, v in
                                             zip(ops, values[1:], strict=True))
    assert dl.evaluate(dl.parse(numbers), {}) == _fold(ops, values)


def test_the_deep_reader_reads_as_python_does():
    # Random text over the grammar and Python's other operators, read by Python's ast and by
    # the deep reader: the same IR (precedence, associativity, unary minus and **, calls,
    # numbers as Python reads them, comparisons, constant indices, .T, keywords, array
    # constants and the lists of concatenate and stack), or both refuse it.
    rng = random.Random(12)
    atoms = ["x", "y1", "2", "1.5", "1e-3", ".5", "5.", "0x1F", "1_000", "pi", "True", "3j",
             "sin", "\u0192", "[1, 2]", "(1, -2)", "()", "[[1, 2], [3, 4]]", "[True, 1]",
             "[pi, e]", "[x]", "(x, 1)", "[1, 2,]"]
    indices = ["[0]", "[-1]", "[1:3]", "[::2]", "[:, 0]", "[None]", "[..., 0]", "[[0, 2]]",
               "[y1]", "[1 2]", "[]", "[0, 1:2]", ".T", " .T", ".shape", "[2][0]"]
    keywords = ["", ", axis=0", ", axis=-1", ", axis=(0, 1)", ", keepdims=True",
                ", axis=0, keepdims=True", ", axis=x", ", axis=", ", axis=0, axis=1",
                ", keepdims=True,", ", axes=0"]

    def gen(depth: int) -> str:
        r = rng.random()
        if depth <= 0 or r < 0.2:
            return rng.choice(atoms)
        if r < 0.45:
            op = rng.choice(["+", "-", "*", "/", "**", "@", "//", "%", "|", "&", "^", "<<",
                             "<", "<=", ">", ">=", "==", "!="])
            return gen(depth - 1) + rng.choice(["", " "]) + op + " " + gen(depth - 1)
        if r < 0.55:
            return rng.choice(["-", "+", "~"]) + gen(depth - 1)
        if r < 0.65:
            return "(" + gen(depth - 1) + ")"
        if r < 0.75:
            return gen(depth - 1) + rng.choice(indices)
        if r < 0.85:
            args = ", ".join(gen(depth - 1) for _ in range(rng.choice([0, 1, 2, 3])))
            return rng.choice(["sin", "max", "(f)", "exp", "where"]) + "(" + args + ")"
        items = ", ".join(gen(depth - 1) for _ in range(rng.choice([1, 2, 3])))
        return rng.choice([
            f"{rng.choice(['sum', 'mean', 'max', 'logsumexp', 'softmax', 'sin'])}("
            f"{gen(depth - 1)}{rng.choice(keywords)})",
            f"concatenate([{items}]{rng.choice(keywords[:3])})", f"stack(({items},))",
            f"concatenate((({items})))", f"stack([{items}] + x)", f"sum(axis=0, {items})",
            f"reshape({gen(depth - 1)}, {rng.choice(['(2, 3)', '-1', 'x', '(2,)'])})",
            f"transpose({gen(depth - 1)}{rng.choice(['', ', (1, 0)', ', y1'])})"])

    built = 0
    for _ in range(4000):
        text = gen(rng.randint(1, 6))
        try:
            want = parser._build(ast.parse(text, mode="eval").body, text)
        except (SyntaxError, dl.ParseError):
            with pytest.raises(dl.ParseError):
                parser._read_deep(text)
            continue
        assert parser._read_deep(text) == want, text
        built += 1
    assert built > 500


@pytest.mark.parametrize("term, build", [
    ("x[{i}]", lambda i: x[i]),
    ("sum(x, axis=0)", lambda i: dl.sum(x, axis=0)),
    ("x[{i}:] @ y.T", lambda i: x[i:] @ y.T),
    ("max(x[[{i}, 0]], axis=-1, keepdims=True)", lambda i: dl.max(x[[i, 0]], axis=-1,
                                                                  keepdims=True)),
    ("(x[{i}] > y)", lambda i: x[i] > y),
    ("concatenate([x, [{i}, 2.5]], axis=0)", lambda i: dl.concatenate([x, [float(i), 2.5]])),
    ("reshape(x, (-1, {i}))[0]", lambda i: dl.reshape(x, (-1, i))[0]),
])
def test_long_chains_of_array_terms_parse_as_built(term, build):
    # 3,000 terms: too long for Python's parser, read by the deep reader, the IR the builders
    # make, and printed back to text that parses to it again
    n = 3_000
    terms = [term.format(i=i % 7 + 1) for i in range(n)]
    text = " + ".join(terms)
    with pytest.raises(RecursionError):
        ast.parse(text, mode="eval")
    want = build(1)
    for i in range(1, n):
        want = want + build(i % 7 + 1)
    assert dl.parse(text) == want
    assert dl.parse(str(want)) == want


@pytest.mark.parametrize("tail, message, at", [
    ("x[y]", "an index must be a constant", 2), ("y.shape", "attribute access is not", 0),
    ("foo(y)", "unknown function 'foo'", 0), ("sin", "sin is a function", 0),
    ("'a'", "a string is not allowed", 0), ("y if x else y", "conditional is not allowed", 2),
    ("(y, x)", "array constant and holds numbers only", 4), ("y +", "ends too early", 3),
    ("x // y", "operator // is not allowed", 0), ("-" * 2000 + "y", "nested too deeply", 1000),
    ("(x < y <= x)", "chained comparisons are not allowed", 1), ("x is y", "comparison is", 2),
    ("sum(x, axis=y)", "axis= must be a constant", 12),
    ("sin(x, axis=0)", r"sin\(\) takes no keyword arguments; got axis=", 12),
    ("sum(x, axis=0, axis=1)", "keyword argument axis= twice", 20),
    ("concatenate(x)", "takes a list of arrays", 0),
    ("stack([x] + y)", r"stack\(\) takes a list of arrays", 6),
    ("reshape(x, y)", "a shape must be a constant", 11), ("x[1:2", "'\\[' was never closed", 1),
    ("x.T(1)", "only the grammar's functions can be called", 0),
])
def test_long_text_is_checked_with_positions(tail, message, at):
    head = "x + " * 5000
    with pytest.raises(dl.ParseError, match=message) as info:
        dl.parse(head + tail)
    assert info.value.position == len(head) + at


def test_deep_nesting_is_still_limited():
    with pytest.raises(dl.ParseError, match="too many nested parentheses"):
        dl.parse("x + " * 5000 + "(" * 300 + "x" + ")" * 300)
    with pytest.raises(dl.ParseError, match="nested too deeply"):
        dl.parse("x" + " ** x" * 5000)


# ---- item 7: the tape and the other text entries -------------------------------------------
def test_tape_record_reads_text_and_refuses_what_is_not_an_expression():
    tape = reverse.Tape.record("x * y + sin(x)", {"x": 1.0, "y": 2.0})
    assert tape.backward() == reverse.grad(dl.parse("x * y + sin(x)"), {"x": 1.0, "y": 2.0})
    with pytest.raises(dl.ParseError, match="ends too early"):
        reverse.Tape.record("x+", {"x": 1.0})
    for bad in (3, None, ["x"]):
        with pytest.raises(TypeError, match="Tape.record: expected an expression"):
            reverse.Tape.record(bad, {"x": 1.0})


def test_other_entries_read_text_or_say_what_they_need():
    assert dl.size("x * y + x") == dl.size(x * y + x)
    assert dl.to_sympy("x * y") == sympy.Symbol("x", real=True) * sympy.Symbol("y", real=True)
    assert str(symbolic.derivative_expr("x ** 3", "x")) == "3*x**2"
    for call in (lambda: dl.size(3), lambda: dl.to_sympy(None),
                 lambda: symbolic.derivative_expr(1.0, "x")):
        with pytest.raises(TypeError, match="expected an expression"):
            call()
    with pytest.raises(TypeError, match=r"expected an expression, got str \(text is read with "
                                        r"dl.parse\)"):
        dl.to_text("x")


# ---- item 7: nan prints as text that cannot parse as something else -------------------------
def test_nan_and_infinities_print_unmistakably():
    nan = dl.constant(math.nan) + x
    assert str(nan) == "<nan> + x"
    with pytest.raises(dl.ParseError, match="<nan>... is how difflab prints nan, which has no "
                                            "spelling in the grammar") as info:
        dl.parse(str(nan))
    assert info.value.position == 0
    with pytest.raises(dl.ParseError, match="how difflab prints an array constant"):
        dl.parse(str(x * np.array([1.0, math.nan])))
    assert dl.parse(str(x * np.ones(3))) == x * np.ones(3)  # other arrays print as lists
    assert dl.parse("nan + x").variables == ("nan", "x")  # nan is a name like any other
    for value, text in [(math.inf, "1e999 * x"), (-math.inf, "-1e999 * x")]:
        e = dl.constant(value) * x
        assert str(e) == text and dl.parse(text) == e
    assert str(x ** -math.inf) == "x ** -1e999"


# ---- the command line ----------------------------------------------------------------------
@pytest.mark.parametrize("value, message", [
    ("1" + "0" * 400, "beyond float64's range"), ("-" + "9" * 5000, "beyond float64's range"),
    ("[1" + "0" * 400 + "]", "beyond float64's range"),
    ("[" * 10_000, "nested too deeply"),
])
def test_cli_point_values_beyond_float64_are_one_line(capsys, value, message):
    assert main(["grad", "x", "--at", f"x={value}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and len(err) < 300, err
