"""Issue 23 item 2: unit suffixes ('10B', '200B') parse everywhere in the API as on the CLI.
forecast_tasks refused '10B' as not finite and ladder_tasks raised a bare ValueError."""

from __future__ import annotations

import pandas as pd
import pytest

from scalinglab.errors import NonNumericValueError
from scalinglab.workflows.many_tasks import forecast_tasks, ladder_tasks
from tests.test_many_tasks import _ladder_table
from tests.test_runs_checkpoints import checkpoints_table


def test_forecast_tasks_targets_with_suffixes_equal_numbers():
    df = checkpoints_table()
    kw = dict(error_cols=["error"], loss_law="chinchilla", n_bootstrap=0)
    num = forecast_tasks(df, [{"n_params": 1e10, "tokens": 2e11}], **kw).table
    text = forecast_tasks(df, [{"n_params": "10B", "tokens": "200B"}], **kw).table
    frame = forecast_tasks(df, pd.DataFrame({"n_params": ["10B"], "tokens": ["200B"]}), **kw)
    assert text["n_params"].iloc[0] == 1e10 and text["tokens"].iloc[0] == 2e11
    assert text["pred"].iloc[0] == pytest.approx(num["pred"].iloc[0], rel=1e-12)
    assert frame.table["pred"].iloc[0] == pytest.approx(num["pred"].iloc[0], rel=1e-12)


def test_ladder_tasks_target_with_suffixes_and_a_named_error():
    df = _ladder_table()
    a = ladder_tasks(df, target={"n_params": "1.6B", "tokens": "32B"}, acc_col="acc").table
    b = ladder_tasks(df, target={"n_params": 1.6e9, "tokens": 3.2e10}, acc_col="acc").table
    assert a["pred"].iloc[0] == pytest.approx(b["pred"].iloc[0], rel=1e-12)
    with pytest.raises(NonNumericValueError, match="target 'n_params': 'big' is not a number"):
        ladder_tasks(df, target={"n_params": "big", "tokens": "32B"}, acc_col="acc")


def test_transfer_predict_loss_reads_suffixes_and_names_bad_sizes():
    """TransferResult.predict_loss('400K', '100K') raised a bare ValueError; 0 gave nan."""
    from scalinglab.errors import NonPositiveValueError
    from scalinglab.workflows.transfer import effective_data_transferred
    from tests.test_workflows import _two_source_runs

    df, _ = _two_source_runs()
    res = effective_data_transferred(df[df["pretrain_data"] != "text+code"], n_bootstrap=0)
    assert res.predict_loss("400K", "100K")[0] == res.predict_loss(4e5, 1e5)[0]
    with pytest.raises(NonNumericValueError, match="n_params: 'x' is not a number"):
        res.predict_loss("x", "1K")
    with pytest.raises(NonPositiveValueError, match="finetune_size must be finite and > 0"):
        res.predict_loss(4e5, 0)
