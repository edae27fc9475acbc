"""Issue 21, Hernandez et al.'s figures in the report: loss vs D_F per N from scratch and
pretrained (measured and fitted), and the fraction transferred vs D_F; the section states the
from-scratch yardstick's checks."""

from __future__ import annotations

import numpy as np

from scalinglab.plots.papers_hernandez import fraction_transferred_figure, transfer_loss_figure
from scalinglab.report import build
from scalinglab.report.html import Report
from tests.test_workflows import _two_source_runs


def test_transfer_section_has_loss_and_fraction_figures_and_the_yardstick():
    df, truth = _two_source_runs()
    rep = Report("t", "")
    res = build.transfer_section(rep, df, by="pretrain_data")
    names = [n for n, _ in rep.figures]
    assert names == [  # one D_E and one D_T figure per source under --by: none pooled
        "transfer-loss",
        "transfer-effective-text",
        "transfer-text",
        "transfer-effective-text_code",  # the name made file-safe
        "transfer-text_code",
        "transfer-fraction",
    ]
    text = "".join(rep.sections[0].parts)
    assert "From-scratch yardstick (kaplan, 35 runs)" in text and "held out" in text
    fig = transfer_loss_figure(res, df)
    scratch = [t for t in fig.data if t.mode == "markers" and "from scratch" in t.name]
    tuned = [t for t in fig.data if t.mode == "markers" and "from scratch" not in t.name]
    assert len(scratch) == 5 and len(tuned) == 10  # 5 sizes; 5 sizes x 2 sources
    # the solid curve of a source runs through its runs (data drawn from the law)
    n0 = min(res.runs["n_params"])
    lines = [t for t in fig.data if t.mode == "lines" and t.name.endswith("text law")]
    line = next(t for t in lines if f"N={n0:.3g}".replace("e+0", "e") in t.name)
    r = res.runs[np.isclose(res.runs["n_params"], n0) & (res.runs["pretrain_data"] == "text")]
    y = np.interp(np.log(r["finetune_size"]), np.log(line.x), line.y)
    assert np.allclose(y, r["loss"], rtol=1e-3)
    frac = fraction_transferred_figure(res)
    pts = [t for t in frac.data if t.mode == "markers"]
    assert sum(len(t.x) for t in pts) == len(res.runs[np.isfinite(res.runs["effective_data"])])
    k, a, b = truth["text"]
    d_f = 1e5
    dt = k * d_f**a * n0**b
    law = next(t for t in frac.data if t.mode == "lines" and "(text)" in t.name)
    assert float(law.y[0]) == __import__("pytest").approx(dt / (d_f + dt), rel=0.05)
