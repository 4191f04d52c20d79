"""How does a method's error grow with the depth of sin(sin(...sin(x)))? (an example study)

`difflab run docs/example_study.py --quick` runs it; CONTRIBUTING.md explains each part.
"""

from difflab.lab import Cell, run_sweep
from difflab.lab.report import Section

NAME = "example_study"  # the experiment name its cells (and so its rows) carry
TITLE = "Example: error against nesting depth"
QUESTION = "Does a method's error grow with the depth of sin(sin(...sin(x)))?"
CONFIG = {"methods": ["reverse", "numeric:central"], "depths": [2, 8, 32], "seeds": [1, 2]}
QUICK = {"depths": [2, 8], "seeds": [1]}


def cells(config):  # optional: the harness checks every cell before the first runs
    return [Cell(NAME, "nested", {"depth": d, "base": "sin"}, method, "grad", seed)
            for d in config["depths"] for method in config["methods"] for seed in config["seeds"]]


def run(config, run, settings):  # one row per cell, appended to the run
    run_sweep(cells(config), run, settings, isolate=False)


def section(df, config, figdir):  # the rows (a DataFrame) -> the report's section
    df = df.assign(depth=df["params.depth"], rho=df["max_rho"].astype(float))
    table = df.pivot_table(index="depth", columns="method", values="rho", aggfunc="max")
    lo, hi = table.index.min(), table.index.max()
    findings = "; ".join(f"{m}: largest rho {table.loc[lo, m]:.1e} at depth {lo}, "
                         f"{table.loc[hi, m]:.1e} at depth {hi}" for m in table.columns)
    return Section(NAME, TITLE, QUESTION, [], table.reset_index(), findings + ".")
