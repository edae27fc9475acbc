"""transfer after the issue 21/23 verification: pooling is judged on the runs actually in the
fit, and under --by no pooled law is presented as the answer."""

import pytest

from scalinglab.workflows.transfer import effective_data_transferred
from tests.test_workflows import _two_source_runs


@pytest.fixture(scope="module")
def two():
    return _two_source_runs()[0]


def test_one_source_selected_by_where_is_not_pooled(two):
    """--where "pretrain_data == 'text'" fits one source: no pooled_sources warning (before:
    'two pretraining sources ... were pooled' although text+code was not in the fit)."""
    res = effective_data_transferred(two, where="pretrain_data == 'text'", n_bootstrap=0)
    assert res.transfer_fit is not None
    assert set(res.runs.loc[res.runs["in_fit"], "pretrain_data"]) == {"text"}
    assert not [d for d in res.diagnostics if d.code == "pooled_sources"]
    assert res.transfer_fit.params_["alpha"] == pytest.approx(0.18, rel=0.03)
    both = effective_data_transferred(two, n_bootstrap=0)
    (d,) = [d for d in both.diagnostics if d.code == "pooled_sources"]
    assert d.params == ("text", "text+code")


def test_by_presents_one_law_per_source_and_no_pooled_one(two):
    """--by: no pooled D_T law (it gave alpha = -0.07 for these two sources, true 0.18 and
    0.096); the closing note, the figures and the forecasts use each source's own law."""
    res = effective_data_transferred(two, by="pretrain_data", n_bootstrap=0)
    assert res.transfer_fit is None and res.to_dict()["transfer_params"] is None
    last = res.notes[-1]
    assert last.startswith("D_T = k D_F^alpha N^beta, one law per pretrain_data (none pooled)")
    assert "text: k=" in last and "text+code: k=" in last
    assert not [n for n in res.notes if n.startswith("D_T = k D_F^alpha N^beta: ")]
    for src, alpha in (("text", 0.18), ("text+code", 0.096)):
        view = res.for_source(src)
        assert set(view.runs["pretrain_data"]) == {src}
        assert view.transfer_fit.params_["alpha"] == pytest.approx(alpha, rel=0.03)
        fig = res.plot("effective", source=src)
        assert fig.layout.title.text.startswith(f"{src}: ")
        curves = [t for t in fig.data if "(law)" in (t.name or "")]
        assert curves  # the source's own D_F + D_T curves
        n, d_f = 1e8, 1e6
        dt = view.transfer_fit.law.evaluate(
            view.transfer_fit.params_, {"finetune_size": [d_f], "n_params": [n]}
        )
        assert view.predict_loss(n, d_f)[0] == pytest.approx(
            res.scratch_fit.law.evaluate(
                res.scratch_fit.params_, {"n_params": [n], "tokens": [d_f + dt[0]]}
            )[0]
        )
    from scalinglab.errors import DataError, OptionError

    with pytest.raises(OptionError, match="one transfer law per source"):
        res.plot("effective")
    with pytest.raises(DataError, match="for_source"):
        res.predict_loss(1e8, 1e6)
