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
