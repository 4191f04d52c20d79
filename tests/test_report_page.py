"""The report page: contents, captioned figures with alt text, typed tables, findings bullets."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from difflab.lab import page
from difflab.lab.report import Section, write_report

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
       b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81"
       b"\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def test_sentences_split_at_ends_not_inside_parentheses_code_or_abbreviations():
    text = ("Reverse costs 3.4x f (at n = 1000. Really.) and more, e.g. Fig. 2. Forward "
            "mode grows `a. B` like n. (A note in parentheses.) Last one")
    assert page.sentences(text) == [
        "Reverse costs 3.4x f (at n = 1000. Really.) and more, e.g. Fig. 2.",
        "Forward mode grows `a. B` like n.", "(A note in parentheses.)", "Last one"]


@pytest.mark.parametrize("sentence, bold", [
    ("Sigmoid with naive N(0, 1) weights: at depth 30 it is 5.8e-06 of W1's", "5.8e-06"),
    ("It shrinks x0.67 per layer (1.5 later)", "x0.67"),
    ("reverse takes 362× the time of forward", "362×"),
    ("dE/dw5 = 0.0821670406 and dE/dw1", "0.0821670406"),
    ("within 282 eps (rho <= 6.3e-14, jax on l_14)", "6.3e-14"),
    ("bit-exact on 52% of their cells", "52%"),
    ("costs 48x: 100 = 4n evaluations", "48x"),
])
def test_the_first_measured_figure_is_bolded(sentence, bold):
    out = page.findings_blocks(sentence)
    assert out == [("bullets", [sentence.replace(bold, f"**{bold}**", 1)])]


def test_no_figure_no_bold_and_explicit_markup_wins():
    assert page.findings_blocks("59 of 59 Hessians are within tolerance.") == \
        [("bullets", ["59 of 59 Hessians are within tolerance."])]
    text = "- first **1.5** point, 2.5 more\n  continued\n- second 3.5"
    assert page.findings_blocks(text) == \
        [("bullets", ["first **1.5** point, 2.5 more continued", "second 3.5"])]


def test_code_blocks_stay_code_and_code_spans_are_not_bolded():
    text = "The tape `v1 = 2.5` then 0.5 left.\n\n```\nv0 = x  1.25\n```\nAfter 1.5."
    blocks = page.findings_blocks(text)
    assert blocks == [("bullets", ["The tape `v1 = 2.5` then **0.5** left."]),
                      ("code", "v0 = x  1.25\n"), ("bullets", ["After **1.5**."])]
    html = page.findings_html(text)
    assert "<code>v1 = 2.5</code>" in html and "<b>0.5</b>" in html
    assert "<pre>v0 = x  1.25\n</pre>" in html


def test_numeric_columns_are_right_aligned():
    df = pd.DataFrame({"method": ["a", "b"], "rho": [1e-17, np.nan], "n": [3, 4],
                       "note": ["x", 5], "ok": [True, False], "digits": ["0.0821670406", "-1e-3"],
                       "why": ["a sentence long enough to wrap in its cell", ""]})
    md = page.markdown_table(df).splitlines()
    assert md[1] == "| --- | ---: | ---: | --- | --- | ---: | --- |"
    assert md[2] == "| a | 1.00e-17 | 3 | x | True | 0.0821670406 | a sentence long enough " \
        "to wrap in its cell |"
    assert md[3] == "| b |  | 4 | 5 | False | -1e-3 |  |"
    html = page.html_table(df)
    assert '<th class="num">rho</th>' in html and '<th class="short">note</th>' in html
    assert '<td class="num">1.00e-17</td><td class="num">3</td><td class="short">x</td>' in html
    assert '<td class="num">0.0821670406</td><td>a sentence' in html


def test_missing_values_of_every_kind_are_empty_cells():
    # pandas' nullable columns hold pd.NA, which has no truth value (`v != ""` raised on it
    # and stopped make report after every experiment had run)
    df = pd.DataFrame({"method": ["a", "b", "c"],
                       "ratio": pd.array([1.5, pd.NA, 2.0], dtype="Float64"),
                       "n": pd.array([1, None, 3], dtype="Int64"), "when": [pd.NaT, None, "x"]})
    md = page.markdown_table(df).splitlines()
    assert md[1] == "| --- | ---: | ---: | --- |"
    assert md[3] == "| b |  |  |  |"
    assert "<NA>" not in page.html_table(df) and "NaT" not in page.html_table(df)


def test_figure_parts():
    assert page.figure_parts(Path("f/a_b.png"), "Accuracy") == \
        (Path("f/a_b.png"), "", "Accuracy: a b")
    assert page.figure_parts(("f/a.png", "What it shows.")) == \
        (Path("f/a.png"), "What it shows.", "What it shows.")
    assert page.figure_parts(("f/a.png", "Cap.", "Alt.")) == (Path("f/a.png"), "Cap.", "Alt.")
    with pytest.raises(ValueError, match="a figure is a path or"):
        page.figure_parts(("a", "b", "c", "d"))


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.imgs, self.captions, self.tags = set(), [], [], [], []
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])
        if tag == "img":
            self.imgs.append(attrs)
        self._in_caption = tag == "figcaption" or self._in_caption

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data):
        if self._in_caption:
            self.captions.append(data)


def _run(tmp_path: Path, name: str) -> Path:
    run = tmp_path / "results" / name
    run.mkdir(parents=True)
    (run / "meta.json").write_text(json.dumps({"experiment": name, "run_id": name,
                                               "config": {}, "end_time": "now"}))
    (run / "rows.jsonl").write_text(json.dumps({"cell_id": "c", "outcome": "ok"}) + "\n")
    return run


def test_report_has_contents_captions_alt_text_and_bullets(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    (out / "figures").mkdir(parents=True)
    for stem in ("one", "two", "three"):
        (out / "figures" / f"{stem}.png").write_bytes(PNG)
    sub = Section("sub_part", "The sub part", "Why?", [(out / "figures" / "three.png",
                                                        "Third.", "A picture of three.")],
                  pd.DataFrame({"x": [1.5]}), "- **1.5** it is")
    sections = {
        "alpha": Section("alpha", "Alpha study", "What is alpha?",
                         [out / "figures" / "one.png", (out / "figures" / "two.png", "Two.")],
                         pd.DataFrame({"name": ["a"], "value": [0.25]}),
                         "Alpha is 0.25 here. Beta is 1.5e-3 there.", subsections=[sub]),
        "beta": Section("beta", "Beta <study>", "", [], pd.DataFrame(), "Nothing 7 measured."),
    }
    monkeypatch.setattr("difflab.lab.report.build_section",
                        lambda run, figdir, trusted=None: sections[Path(run).name])
    write_report([_run(tmp_path, "alpha"), _run(tmp_path, "beta")], out=out,
                 order=["alpha", "beta"])
    html = (out / "report.html").read_text()
    parsed = _Page()
    parsed.feed(html)
    assert {"summary", "environment", "alpha", "sub_part", "beta"} <= parsed.ids
    assert set(parsed.links) == {"summary", "environment", "alpha", "sub_part", "beta"}
    assert [i["alt"] for i in parsed.imgs] == ["Alpha study: one", "Two.",
                                              "A picture of three."]
    assert [i["src"] for i in parsed.imgs] == ["figures/one.png", "figures/two.png",
                                              "figures/three.png"]
    captions = "".join(parsed.captions)
    assert "Figure 1." in captions and "Figure 2. Two." in captions.replace("</b>", "")
    assert "Figure 3." in captions and "Third." in captions
    assert "<li>Alpha is <b>0.25</b> here.</li><li>Beta is <b>1.5e-3</b> there.</li>" in html
    assert "Beta &lt;study&gt;" in html and '<td class="num">0.25</td>' in html
    assert html.index("id='alpha'") < html.index("id='sub_part'") < html.index("id='beta'")
    md = (out / "report.md").read_text()
    assert "- [Alpha study](#alpha-study)\n  - [The sub part](#the-sub-part)" in md
    assert "![Two.](figures/two.png)\n\n*Figure 2. Two.*" in md
    assert "### The sub part" in md and "- **1.5** it is" in md
    assert "- Alpha is **0.25** here.\n- Beta is **1.5e-3** there." in md
    assert re.search(r"\| name \| value \|\n\| --- \| ---: \|", md)


def test_powers_are_not_bold_and_code_does_not_turn_bolding_off():
    text = "f = x**2 + y**2 grows 2.48× per step.\n\n```\nl_3 = 16*x**3\n```\n"
    assert page.findings_blocks(text)[0] == ("bullets", ["f = x**2 + y**2 grows **2.48×** "
                                                         "per step."])
    assert page.inline_html("x**2 + y**2 is **1.5**") == "x**2 + y**2 is <b>1.5</b>"


def test_two_sections_of_one_study_get_their_own_anchors():
    from difflab.lab.report import _anchors

    parts = [(2, Section(n, n, "", [], pd.DataFrame(), "")) for n in
             ("accuracy", "accuracy", "summary", "accuracy")]
    assert _anchors(parts) == ["accuracy", "accuracy-2", "summary-2", "accuracy-3"]
