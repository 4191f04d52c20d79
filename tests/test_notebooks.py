"""The tutorials in notebooks/: each one runs from top to bottom, and none is stored with outputs.

Each notebook is executed with nbclient in a fresh kernel (the venv's python, difflab from this
checkout), in a temporary working directory; a cell that raises fails the test with the
cell's error. The notebooks assert their own numbers (the hand chain rule against the tape,
the best finite-difference steps, the tree's growth), so a wrong result fails as well.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
ROOT = Path(__file__).resolve().parents[1]
BUDGET = 60.0  # seconds per notebook, kernel start included (each aims at < 20 s of cells)


def test_there_are_three_tutorials():
    assert [p.stem for p in NOTEBOOKS] == ["01_chain_rule_on_a_graph", "02_four_ways_measured",
                                           "03_your_own_method"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}, cell {i}: stored with outputs (clear them before committing)"
        assert "attachments" not in cell or not cell.attachments, f"{path.name}, cell {i}"


def _execute(nb, tmp_path: Path, monkeypatch) -> float:
    """Run every cell in a fresh kernel (difflab from this checkout); the seconds it took."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    try:
        elapsed = _execute(nb, tmp_path, monkeypatch)
    except CellExecutionError as err:  # the failing cell and its traceback, not nbclient's
        pytest.fail(f"{path.name}: a cell failed:\n{err}", pytrace=False)
    assert elapsed < BUDGET, f"{path.name} took {elapsed:.1f} s"
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type == "error"]
    assert any(c.outputs for c in nb.cells if c.cell_type == "code")  # it did run


def test_a_failing_cell_fails_the_run(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import difflab as dl"),
                                         nbformat.v4.new_code_cell("dl.parse('sin(x')")])
    with pytest.raises(CellExecutionError, match="ParseError"):
        _execute(nb, tmp_path, monkeypatch)
