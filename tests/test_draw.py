"""Pictures: dl.draw (values and adjoints on every node), Tape.draw and the backward steps,
laid out by grandalf (always installed) or graphviz's dot (read back from its plain output)."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import difflab as dl
from difflab import reverse
from difflab.draw import layout

F = "sigmoid(w * x + b) * y + sin(x)"
P = {"w": 0.5, "x": 1.5, "b": -0.2, "y": 2.0}


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # well-formed XML
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_draw_shows_every_node_with_its_value_and_adjoint():
    d = dl.draw(F, P, wrt=["w", "x", "b", "y"], engine="grandalf")
    texts = _texts(d.svg)
    grad = dl.grad(F, P, method="jax")
    for name in P:  # each variable's box: its name, value and gradient (to 4 digits)
        k = texts.index(name)
        assert texts[k + 1] == f"= {P[name]:.4g}" and texts[k + 2] == f"grad {grad[name]:.4g}"
    assert {"sigmoid", "sin", "mul", "add"} <= set(texts)
    assert "grad 1" in texts  # the output's adjoint is the seed


def test_draw_without_a_point_shows_the_structure_and_large_graphs_are_summarised():
    texts = _texts(dl.draw("sum(softmax(A @ x)) + max(x[0:2])").svg)
    assert {"softmax axis=-1", "index[0:2]", "matmul", "A", "x"} <= set(texts)
    big = dl.parse(" + ".join(f"sin(x{k})" for k in range(200)))
    assert "expression graph: 599 nodes" in " ".join(_texts(dl.draw(big).svg))


def test_draw_refuses_adjoints_without_a_point_or_of_an_array():
    with pytest.raises(ValueError, match="need a point"):
        dl.draw(F, wrt=["x"])
    with pytest.raises(ValueError, match="scalar expression"):
        dl.draw("x * y", {"x": np.ones(2), "y": 1.0}, wrt="x")


def test_draw_takes_a_python_function_as_grad_does_and_refuses_what_is_no_expression():
    import difflab.numpy as dnp

    def f(w, x, b, y):  # F written as a function
        return dnp.sum(dl.sigmoid(w * x + b) * y + dnp.sin(x))

    texts = _texts(dl.draw(f, P, wrt="w x b y", engine="grandalf").svg)
    grad = dl.grad(F, P, method="jax")
    for name in P:  # the same values and adjoints as the expression's (JAX's gradient)
        k = texts.index(name)
        assert texts[k + 1] == f"= {P[name]:.4g}" and texts[k + 2] == f"grad {grad[name]:.4g}"

    def g(x):  # needs x's shape while tracing: traced at the point's, as dl.grad does
        return dnp.sum(dnp.squeeze(x[None]) ** 2)

    x = np.array([0.5, -1.0, 2.0])
    texts = _texts(dl.draw(g, {"x": x}, wrt="x", engine="grandalf").svg)
    assert texts[texts.index("x") + 2] == "grad [1, -2, 4]"  # d sum(x**2) = 2x, by hand
    assert {"x", "mul"} <= set(_texts(dl.draw(lambda x: x * x).svg))  # no point: structure
    with pytest.raises(TypeError, match=r"squeeze needs the shape.*give it in the point"):
        dl.draw(g)
    for bad in (5, None, [1.0], np.ones(2)):
        with pytest.raises(TypeError, match="draw: expected an expression, grammar text or a "
                                            "Python function, got"):
            dl.draw(bad)


def test_pictures_show_inline_in_jupyter_and_save_as_png(tmp_path):
    assert dl.parse(F)._repr_svg_().startswith("<svg")
    tape = reverse.Tape.record(dl.parse(F), P)
    assert tape._repr_svg_().startswith("<svg")
    path = tmp_path / "g.png"
    dl.draw(F, P).save(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dl.draw(F, P).save(tmp_path / "g.svg")
    ET.parse(tmp_path / "g.svg")


def test_the_backward_steps_highlight_each_node_and_accumulate_cotangents():
    tape = reverse.Tape.record(dl.parse(F), P)
    pictures = tape.draw_steps()
    assert len(pictures) == len(tape.steps) + 1  # the seed, then one per backward step
    for pic, step in zip(pictures[1:], tape.steps, strict=True):
        (box,) = [b for b in pic.picture.boxes if b.highlight]
        assert box.key == step.slot
    # the last picture: every variable holds its gradient
    final = {b.lines[0].split(": ")[1]: b.lines[-1] for b in pictures[-1].picture.boxes
             if b.kind == "var"}
    grad = dl.grad(F, P)
    assert final == {name: f"bar {grad[name]:.4g}" for name in P}
    assert "bar" in " ".join(_texts(tape.draw().svg))


def test_the_dot_engine_reads_graphviz_plain_output(tmp_path, monkeypatch):
    # a stand-in for graphviz's dot (not installed here): prints a plain layout of 3 boxes
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\ncat > /dev/null\n"
                    "echo 'graph 1 3 2'\n"
                    "echo 'node n0 0.5 0.5 1 0.3 \"\" solid box black lightgrey'\n"
                    "echo 'node n1 2.5 0.5 1 0.3 \"\" solid box black lightgrey'\n"
                    "echo 'node n2 1.5 1.5 1 0.3 \"\" solid box black lightgrey'\n"
                    "echo 'edge n0 n2 2 0.5 0.65 1.5 1.35 solid black'\n"
                    "echo 'edge n1 n2 2 2.5 0.65 1.5 1.35 solid black'\n"
                    "echo stop\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    d = dl.draw("x * y", engine="dot")
    assert d.centres == {0: (36.0, 108.0), 1: (180.0, 108.0), 2: (108.0, 36.0)}
    assert layout.read_plain("graph 1 1 1\nnode n4 0 1 1 1\nstop\n")[0] == {4: (0.0, 0.0)}
    assert {"x", "y", "mul"} <= set(_texts(d.svg))


def test_an_unknown_layout_engine_is_named():
    with pytest.raises(ValueError, match="unknown layout engine 'neato'"):
        dl.draw("x", engine="neato")
