"""Report tables that fit and say what they rest on (issue 17 item 2): numbers never wrap
mid-number, headers wrap at underscores, coverage carries its level and resample count, and
held-out rows carry the run's id beside the row number."""

import numpy as np
import pandas as pd

from scalinglab.report import build
from scalinglab.report.html import Report, coverage_label, table_html, with_run_ids


def test_numbers_never_wrap_and_headers_wrap_at_underscores():
    t = table_html(pd.DataFrame({"next_scale_rel_error": [0.0115], "fit_flops": [1.724e13],
                                 "fold": ["n_params<=2.394e+05"]}))  # fmt: skip
    assert "<th>next_<wbr>scale_<wbr>rel_<wbr>error</th>" in t
    assert "<td class='num'>1.15%</td><td class='num'>1.724e+13</td>" in t
    assert "<td class='txt'>n_params&lt;=2.394e+05</td>" in t
    steps = table_html(pd.DataFrame({"step": [103000.0, 1000.0], "n": [1.1327e10, 0.5]}))
    assert "<td class='num'>103000</td><td class='num'>1.1327e+10</td>" in steps  # not 1.03e+05


def test_coverage_header_says_level_and_resamples():
    name = coverage_label(0.9, 200)
    assert name == "coverage (90% intervals, 200 resamples)"
    assert "<td class='num'>87.50%</td>" in table_html(pd.DataFrame({name: [0.875]}))


def test_held_out_rows_carry_the_run_id_and_step():
    data = pd.DataFrame(
        {"model": ["a", "b", "c", "d"], "step": [1, 2, 3, 4], "loss": [4.0, 3.0, 2.0, 1.0]}
    ).iloc[[0, 2, 3]]  # a filtered table keeps its source row labels
    pts = pd.DataFrame({"fold": ["f", "f"], "row": [3, 4], "truth": [2.0, 1.0]})
    out = with_run_ids(pts, data)
    assert list(out.columns) == ["fold", "row", "model", "step", "truth"]
    assert out["model"].tolist() == ["c", "d"] and out["step"].tolist() == [3, 4]
    assert with_run_ids(pts, data.drop(columns="model")) is not None  # no id: unchanged
    assert list(with_run_ids(pts, data.drop(columns="model")).columns) == list(pts.columns)


def test_report_audit_tables_name_runs_and_resamples():
    n = np.repeat(np.geomspace(1e7, 1e10, 5), 5)
    d = np.tile(np.geomspace(1e8, 1e11, 5), 5)
    loss = 1.8 + 480 / n**0.35 + 2100 / d**0.37
    df = pd.DataFrame({"model": [f"m{int(x / 1e6)}M" for x in n], "n_params": n, "tokens": d,
                       "loss": loss})  # fmt: skip
    rep = Report("t")
    build.audit_section(rep, df, ["chinchilla"], holdout=None, axis="n_params", metric=None,
                        mapping=None, preset=None, n_bootstrap=20, seed=0)  # fmt: skip
    page = "".join(rep.sections[0].parts)
    by_law = page[page.index("id='audit-by-law'") :].split("</table>")[0]
    assert "coverage (90% intervals, 20 resamples)" in by_law.replace("_<wbr>", "_")
    points = page[page.index("id='audit-points'") :].split("</table>")[0]
    assert "<th>model</th>" in points and "m10000M" in points
