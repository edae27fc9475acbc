"""Hernandez et al.'s regimes (issue 21): finetuned runs where D_F is about as much data as N
can use (the from-scratch loss has flattened) are flagged, and `--where` leaves them out of
the transfer fit."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.workflows.transfer import effective_data_transferred

SP = {"Nc": 8.8e13, "Dc": 5.4e13, "alphaN": 0.076, "alphaD": 0.095}
K, A, B = 1.9e4, 0.18, 0.38


def _runs():
    law = sl.get_law("kaplan")

    def loss(n, d):
        return law.evaluate(SP, {"n_params": [n], "tokens": [d]})[0]

    rows = []
    for n in np.geomspace(1e6, 1e9, 5):
        for d in np.geomspace(1e6, 1e12, 8):
            rows.append(
                {"pretrain_data": "none", "n_params": n, "finetune_size": d, "loss": loss(n, d)}
            )
    for n in np.geomspace(1e6, 1e9, 5):  # the low-data regime: the paper's law holds
        for d_f in np.geomspace(1e5, 1e8, 5):
            d_e = d_f + K * d_f**A * n**B
            rows.append(
                {"pretrain_data": "text", "n_params": n, "finetune_size": d_f, "loss": loss(n, d_e)}
            )
    # the high-data regime: small models given far more data than they can use; pretraining
    # leaves a loss a hair below from scratch, which the flat curve reads as 30x the data
    for n in (1e6, 3e6):
        for d_f in (3e11, 1e12):
            rows.append(
                {
                    "pretrain_data": "text",
                    "n_params": n,
                    "finetune_size": d_f,
                    "loss": loss(n, 30 * d_f),
                }
            )
    return pd.DataFrame(rows)


def test_high_data_runs_are_flagged_and_can_be_left_out():
    df = _runs()
    res = effective_data_transferred(df)
    runs = res.runs
    high = runs[runs["high_data"]]
    assert len(high) == 4 and (high["finetune_size"] >= 3e11).all()
    assert (runs.loc[~runs["high_data"], "scratch_gain_10x"] > 0.01).all()
    (flag,) = [d for d in res.flags if "high-data regime" in d.message]
    assert flag.severity == "warning" and "--where 'not high_data'" in flag.message
    pooled = res.transfer_fit.params_["alpha"]
    assert abs(pooled - A) > 0.05 * A  # the flat runs drag the law off
    kept = effective_data_transferred(df, where="not high_data")
    assert kept.runs["in_fit"].sum() == 25 and len(kept.runs) == 29
    p = kept.transfer_fit.params_
    assert p["alpha"] == pytest.approx(A, rel=0.03) and p["beta"] == pytest.approx(B, rel=0.03)
    assert any("25 of 29 finetuned runs enter the transfer fit" in n for n in kept.notes)
    (info,) = [d for d in kept.flags if "high-data regime" in d.message]
    assert info.severity == "info"
    # an input column works in the query as well
    by_size = effective_data_transferred(df, where="finetune_size < 1e11")
    assert by_size.transfer_fit.params_["alpha"] == pytest.approx(A, rel=0.03)


def test_transfer_where_on_the_cli(tmp_path):
    path = tmp_path / "transfer.csv"
    _runs().to_csv(path, index=False)
    r = CliRunner().invoke(main, ["transfer", str(path), "--where", "not high_data", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["transfer_params"]["alpha"] == pytest.approx(A, rel=0.03)
    assert sum(row["high_data"] for row in d["runs"]) == 4
    r = CliRunner().invoke(main, ["transfer", str(path), "--where", "__import__('os')"])
    assert r.exit_code != 0 and "Traceback" not in r.output


def test_predict_loss_on_the_command_line(tmp_path):
    """Issue 21: what users read off the paper, `predict-loss`, on the CLI: the from-scratch
    law at D_F + D_T. On runs from the true law (low-data regime only), the forecast at an
    unseen (N, D_F) is the true pretrained loss, and below the from-scratch loss at D_F."""
    df = _runs()
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    args = ["transfer", str(path), "--where", "not high_data", "--json"]
    args += ["--predict-loss", "n_params=3e8,finetune_size=3e6"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    (p,) = json.loads(r.stdout)["predictions"]
    law = sl.get_law("kaplan")
    d_e = 3e6 + K * 3e6**A * 3e8**B
    truth = law.evaluate(SP, {"n_params": [3e8], "tokens": [d_e]})[0]
    assert p["loss_pretrained"] == pytest.approx(truth, rel=2e-3)
    assert p["loss_from_scratch"] > p["loss_pretrained"]
    bad = CliRunner().invoke(main, ["transfer", str(path), "--predict-loss", "n_params=3e8"])
    assert bad.exit_code == 2 and "n_params=N,finetune_size=D_F" in bad.output
    both = CliRunner().invoke(
        main,
        [
            "transfer",
            str(path),
            "--by",
            "pretrain_data",
            "--predict-loss",
            "n_params=1,finetune_size=1",
        ],
    )
    assert both.exit_code == 2 and "one transfer law" in both.output


def test_forecast_table_is_the_libraries(tmp_path):
    """Issue 16: `--predict-loss`'s table is built by the library (TransferResult
    .forecast_table), so a notebook gets the CLI's numbers: the true pretrained loss at an
    unseen (N, D_F), the from-scratch law beside it, and a malformed point refused."""
    from scalinglab.errors import DataError

    res = sl.transfer(_runs(), where="not high_data")
    t = res.forecast_table([{"n_params": "300M", "finetune_size": 3e6}])
    law = sl.get_law("kaplan")
    truth = law.evaluate(SP, {"n_params": [3e8], "tokens": [3e6 + K * 3e6**A * 3e8**B]})[0]
    assert list(t.columns) == ["n_params", "finetune_size", "loss_pretrained", "loss_from_scratch"]
    assert t["n_params"].iloc[0] == 3e8
    assert t["loss_pretrained"].iloc[0] == pytest.approx(truth, rel=2e-3)
    scratch = res.scratch_fit.law.evaluate(
        res.scratch_fit.params_, {"n_params": [3e8], "tokens": [3e6]}
    )
    assert t["loss_from_scratch"].iloc[0] == pytest.approx(scratch[0])
    with pytest.raises(DataError, match="n_params=N,finetune_size=D_F"):
        res.forecast_table([{"n_params": 3e8}])
