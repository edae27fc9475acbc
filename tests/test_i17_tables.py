"""Report tables that fit their cards (issue 17 item 2), checked where it shows, in headless
Chromium: a wide, long table of held-out points scrolls sideways inside its own box (the
page never does), the box is about 20 rows tall with its header row kept in view (its
horizontal scrollbar on screen, not below 240 rows), and a short model name never breaks
('pythia-' / '1b')."""

import json
import re
import subprocess

import numpy as np
import pandas as pd
import pytest

from scalinglab.report import html
from scalinglab.report.html import Report, table_html
from tests.test_report import CHROMIUM, FLAGS

PROBE = """<script>window.addEventListener('load', function () { setTimeout(function () {
  var t = document.getElementById('audit-points'), w = t.parentElement;
  var sec = w.closest('section').getBoundingClientRect();
  var before = w.scrollHeight;
  w.scrollTop = 3000;
  var th = t.querySelector('th').getBoundingClientRect().top - w.getBoundingClientRect().top;
  var cells = t.querySelectorAll('tbody tr')[3].children;
  document.body.setAttribute('data-probe', JSON.stringify({
    page: document.documentElement.scrollWidth, inner: window.innerWidth,
    wrapW: w.clientWidth, wrapSW: w.scrollWidth, wrapRight: w.getBoundingClientRect().right,
    secRight: sec.right, wrapH: w.clientHeight, wrapSH: before, thTop: th,
    model: cells[1].offsetHeight, num: cells[4].offsetHeight,
    rows: t.querySelectorAll('tbody tr').length}));
}, 300); });</script></body>"""


def _points(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    d = {
        "fold": ["n_params<=3.023e+08"] * n,
        "model": [f"pythia-{s}" for s in np.resize(["1b", "1.4b", "2.8b", "6.9b", "12b"], n)],
        "row": np.arange(n) + 1,
        "step": np.resize([1000.0, 13000.0, 143000.0], n),
        "run_id": ["pre-d144L4-kjv:0.5,rv1909:0.5-1000000-s0"] * n,
    }
    wide = "n_params tokens truth prediction abs_error rel_error lower upper compute_ratio"
    for c in [*wide.split(), "distance", "next_scale_rel_error", "fit_flops"]:
        d[c] = rng.uniform(1, 2, n) * 1e9
    return pd.DataFrame(d)


def _probe(tmp_path, monkeypatch, width: int) -> dict:
    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed")
    monkeypatch.setattr(html, "plotly_js", lambda mode: "")  # no figures: a light page
    rep = Report("tables")
    sec = rep.section("audit", "Audit")
    sec.parts.append(table_html(_points(), "audit-points"))
    page = rep.render(command="test", data_files=[]).replace("</body>", PROBE, 1)
    path = tmp_path / "t.html"
    path.write_text(page)
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         f"--window-size={width},1200", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=300,
    ).stdout  # fmt: skip
    m = re.search(r"data-probe=\"([^\"]*)\"", dom)
    assert m, "the probe did not run"
    return json.loads(m.group(1).replace("&quot;", '"'))


@pytest.mark.parametrize("width", [1400, 900])
def test_wide_long_table_scrolls_inside_its_card(tmp_path, monkeypatch, width):
    p = _probe(tmp_path, monkeypatch, width)
    assert p["page"] <= p["inner"], p  # the page never scrolls sideways
    assert p["wrapSW"] > p["wrapW"], p  # the table does, inside its box
    assert p["wrapRight"] <= p["secRight"], p  # and the box stays inside the card
    assert p["wrapH"] < 600 < p["wrapSH"], p  # about 20 rows tall; the rest scrolls
    assert abs(p["thTop"]) <= 1, p  # the header row stays in view when scrolled
    assert p["rows"] == 240  # every row is there (no 200-row cut)
    assert p["model"] <= p["num"], p  # 'pythia-1b' on one line, as tall as a number cell


def test_tall_tables_say_their_row_count_and_short_ones_do_not():
    tall = table_html(_points(40), "t")
    assert "class='table-wrap tall'" in tall and "40 rows; the table scrolls" in tall
    short = table_html(_points(5), "s")
    assert "class='table-wrap'" in short and "rows; the table scrolls" not in short
    assert "<td class='txt'>pythia-1b</td>" in short
    assert "<td class='txt long'>pre-d144L4-kjv:0.5,rv1909:0.5-1000000-s0</td>" in short
