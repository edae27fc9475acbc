"""The report's forecast section names each target by its run id (forecast_figures gets the
data), not 'row 13 (N=1.48e9)' (issue 17 review, verification)."""

from scalinglab.report import build
from scalinglab.report.html import Report
from tests.test_i17b_forecast_targets import _runs, _targets


def test_report_forecast_figures_name_targets_by_run():
    df = _runs()
    rep = Report("t", "")
    opts = dict(
        targets="n_params > 5e8 and tokens > 5e9",
        fit_where="n_params < 5e8",
        loss_law="chinchilla",
        n_bootstrap=20,
    )
    res = build.forecast_section(rep, df, opts)
    figs = dict(rep.figures)
    want = sorted(df["run"].iloc[r - 1] for r in res.targets["row"])
    for name in ("forecast-loss", "forecast-error"):
        pred, _ = _targets(figs[name])
        assert sorted(p.name for p in pred) == want
        assert not [p.name for p in pred if p.name.startswith("row ")]
