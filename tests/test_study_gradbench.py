"""Smoke test of the gradbench experiment: its QUICK sizes in-process, then its report section.

Every method's derivative of every eval must agree with the same eval function computed by
JAX (the study's truth), the table must carry GradBench's published ratios beside difflab's,
and the 50-digit truth rows must either give a rho or say why there is none.
"""

from __future__ import annotations

import pandas as pd
import pytest

from difflab.gradbench import published
from difflab.lab import load
from difflab.lab.experiments import load_config, run_experiment
from difflab.studies import gradbench, gradbench_report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradbench")
    path = run_experiment("gradbench", quick=True, results=root / "results")
    config = load_config("gradbench", quick=True)
    df = load(path)
    return config, df, gradbench.section(df, config, root / "figures")


def test_every_cell_agrees_with_jax_on_the_eval_function(quick):
    config, df, _ = quick
    cells = df[df["experiment"] == "gradbench"]
    want = gradbench.cells(config)     # every workload by every method, within its cap ...
    assert len(want) == sum(len(v) for v in config["evals"].values()) * \
        len(config["methods"]) - 1     # ... (numeric: the first workload of each eval only)
    assert len(cells) == len(want) * config["repeats"]      # every cell once per pass
    bad = cells[cells["outcome"] != "ok"]
    assert bad.empty, bad[["problem", "method", "outcome", "message"]].to_string()
    assert cells["checked"].all() and (cells["truth_source"] == "jax").all()
    assert (cells["ratio"] > 0).all()


def test_the_table_sets_gradbench_published_ratios_beside_difflab(quick):
    config, _, section = quick
    tab = section.table.set_index(["eval", "method"])
    assert set(tab.index.get_level_values(0)) == set(config["evals"])
    for name in config["evals"]:
        for tool in published.TOOLS:
            expected = published.geomean_ratio(name, tool)
            got = tab.loc[(name, "reverse"), f"GradBench {tool}"]
            assert (expected is None and got != got) or got == pytest.approx(expected)
    assert tab.loc[("lse", "reverse"), "ok"] == "2/2"
    # every geometric mean with its bootstrap interval: "1.31 (1.24–1.40)"
    assert tab["d/p (geomean)"].str.fullmatch(r"[\d.e+-]+ \([\d.e+-]+(–| to )[\d.e+-]+\)").all()


def test_published_numbers_are_gradbench_nightly_2026_03_14():
    assert published.data()["commit"].startswith("f26651a7") and \
        published.data()["date"] == "2026-03-14"
    # the scorer's means for jax's lse on n=2500, and the workload names
    assert published.description("gmm", {"d": 10, "k": 5, "n": 1000}) == "10_5_1000"
    assert published.description("ba", {"n": 49, "m": 7776, "p": 31843}) == \
        "ba1_n49_m7776_p31843"
    assert published.ratio("lse", "jax", {"n": 2500}) > 0
    assert published.outcome("det", "jax") == "undefined"
    assert published.outcome("ht", "pytorch") == "timeout"


def test_truth_rows_give_a_rho_or_say_why_not(quick):
    _, df, section = quick
    t = gradbench_report.truth(df)
    assert set(t["eval"]) == {"lse", "det"}
    for row in t.itertuples():
        assert row.outcome in ("ok", "unsupported"), row
        assert row.rho < 1e-10 if row.outcome == "ok" else "difflab.truth" in row.message
    assert "50-digit truth" in section.findings


def test_section_figure_and_findings(quick):
    _, _, section = quick
    assert [p.name for p in section.figure_paths()] == ["gradbench.png"]
    _, caption, alt = section.figures[0]
    assert "GradBench publishes" in caption and alt.startswith("Small-multiple")
    data = section.figure_paths()[0].read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000
    assert "Reverse mode's ratio derivative/primal" in section.findings
    assert "2026-03-14" in section.findings and "f26651a7" in section.findings
    (column,) = section.summary["reverse"]
    assert column.startswith("GradBench: workloads finished of the 10 in the config")
    assert section.summary["reverse"][column] == "10 of 10"


def test_why_a_method_stopped_is_cut_at_a_word():
    rows = pd.DataFrame([{"outcome": "ok", "message": "", "workload": "n=10"},
                         {"outcome": "unsupported", "workload": "n=100", "message":
                          "SymbolicTooLarge: too large for symbolic: DAG of 197,266 scalar nodes "
                          "(limit 100,000); pass max_nodes= to raise it, or use reverse mode"}])
    why = gradbench_report._why(rows)
    assert why.startswith("n=100: unsupported (too large for symbolic: DAG of 197,266")
    assert why.endswith(" …)") and "pas)" not in why and len(why) < 130
