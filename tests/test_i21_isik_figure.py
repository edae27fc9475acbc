"""Issue 21, Isik et al.: the report's pretraining-choice figure shows measured points and
the fitted log-law and CE curves for every finetuning size, a CE panel beside the score
panel, and the misalignment verdict written on it."""

from __future__ import annotations

import pandas as pd

from scalinglab.plots.papers_isik import isik_figure
from scalinglab.report import build
from scalinglab.report.html import Report
from scalinglab.workflows.pretrain_choice import choose_pretraining_data
from tests.test_isik_metric import _runs


def _two_sizes() -> pd.DataFrame:
    a = _runs("chrf")
    b = a.assign(finetune_size=1e5, chrf=a["chrf"] + 5, downstream_ce=a["downstream_ce"] - 0.1)
    return pd.concat([a, b], ignore_index=True)


def test_isik_figure_has_score_and_ce_panels_fitted_curves_and_the_verdict():
    df = _two_sizes()
    res = choose_pretraining_data(df, 1e11, metric="chrf")
    fig = isik_figure(res, df)
    titles = [a.text for a in fig.layout.annotations]
    assert len(titles) == 4  # 2 finetuning sizes x (score, CE)
    assert titles[0].startswith("chrF, finetune_size=10000") and "misaligned: code" in titles[0]
    assert titles[1] == "downstream CE, 10000"
    xaxes = {t.xaxis for t in fig.data}
    assert len(xaxes) == 4  # every panel has traces
    fitted = [t for t in fig.data if t.mode == "lines"]
    measured = [t for t in fig.data if t.mode == "markers"]
    assert len(measured) == 3 * 4  # 3 sources in each of 4 panels
    # solid over the data and dashed to the target, in both panels, for every source
    assert {t.line.dash for t in fitted} == {"solid", "dash"}
    assert len([t for t in fitted if t.line.dash == "solid"]) == 3 * 4
    rep = Report("t", "")
    build.pretrain_section(rep, df, 1e11, metric="chrf")
    assert rep.figures[0][0] == "pretrain-chrf"
