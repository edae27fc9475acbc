"""`ladder --acc-col acc` speaks of `acc` in the many-task output too (issue 23 item 2,
verification): the step-2 law line said 'sigmoid: accuracy = ...' and the table headers
'accuracy pred', although the user named the column `acc` (the loader aliases it)."""

import pandas as pd
from click.testing import CliRunner

from scalinglab.cli import main
from tests.test_ladder_loss_column import _ladder


def _run(path, *extra):
    args = ["ladder", str(path), "--target", "n_params=3e9,tokens=6e10", *extra]
    return CliRunner().invoke(main, args)


def test_paired_columns_keep_the_users_names(tmp_path):
    df = _ladder()
    df.assign(loss2=df["loss"], acc2=df["acc"]).to_csv(tmp_path / "l.csv", index=False)
    r = _run(tmp_path / "l.csv", "--loss-col", "loss", "--acc-col", "acc",
             "--loss-col", "loss2", "--acc-col", "acc2")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "step 2 (acc): sigmoid: acc = " in r.output
    assert "sigmoid: accuracy" not in r.output


def test_long_table_heads_its_columns_with_the_users_name(tmp_path):
    df = _ladder()
    long = pd.concat([df.assign(task="a"), df.assign(task="b")], ignore_index=True)
    long.to_csv(tmp_path / "l.csv", index=False)
    r = _run(tmp_path / "l.csv", "--loss-col", "loss", "--acc-col", "acc", "--task-col", "task")
    assert r.exit_code == 0, r.output
    assert "ladder: acc per task x target" in r.output and "acc pred" in r.output
    assert "accuracy" not in r.output


def test_forecast_acc_col_heads_the_table_with_the_users_name(tmp_path):
    from tests.test_i17b_forecast_targets import _runs

    d = _runs()
    d.assign(acc=1 - d["error"]).drop(columns=["error"]).to_csv(tmp_path / "f.csv", index=False)
    args = ["forecast", str(tmp_path / "f.csv"),
            "--target-where", "n_params > 5e8 and tokens > 5e9", "--fit-where", "n_params < 5e8",
            "--loss-law", "chinchilla", "--acc-col", "acc", "--bootstrap", "0"]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "forecast: acc per task x target" in r.output and "acc pred" in r.output
    assert "accuracy pred" not in r.output
