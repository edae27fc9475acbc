"""A ladder whose loss column is named `loss` (issue 15 review: the helper point at loss 0
was validated as data and the whole forecast refused with "value 0 is not positive")."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl


def _ladder() -> pd.DataFrame:
    rows = []
    for i, n in enumerate([1e7, 3e7, 1e8, 3e8, 1e9]):
        for t in np.geomspace(1e9, 2e10, 8):
            loss = 1.8 + 480 / n**0.35 + 2100 / t**0.37
            acc = 0.25 + 0.7 / (1 + np.exp(4 * (loss - 3)))
            rows.append({"run": f"r{i}", "n_params": n, "tokens": t, "loss": loss, "acc": acc})
    return pd.DataFrame(rows)


def test_a_loss_column_named_loss_forecasts_as_any_other_name():
    target = {"n_params": 3e9, "tokens": 6e10}
    df = _ladder()
    named_loss = sl.ladder(df, target, run_col="run", loss_col="loss", acc_col="acc")
    other = sl.ladder(
        df.rename(columns={"loss": "bpb"}), target, run_col="run", loss_col="bpb", acc_col="acc"
    )
    assert named_loss.acc_pred == pytest.approx(other.acc_pred, rel=1e-9)
    assert named_loss.loss_pred == pytest.approx(other.loss_pred, rel=1e-9)
    assert 0.8 < named_loss.acc_pred < 0.95


def test_ladder_cli_params_col_and_a_percent_accuracy(tmp_path):
    """Issue 15 review: the single-task ladder took no --params-col (the many-task one did)
    and an --acc-col in percent was fitted without a word."""
    import json

    from click.testing import CliRunner

    from scalinglab.cli import main

    df = _ladder().assign(n_ne=lambda d: d["n_params"] * 0.8)
    df.to_csv(tmp_path / "l.csv", index=False)
    df.assign(n_params=df["n_ne"]).to_csv(tmp_path / "swapped.csv", index=False)

    def run(path, *extra):
        args = ["ladder", str(path), "--target", "n_params=3e9,tokens=6e10", "--loss-col"]
        args += ["loss", "--acc-col", "acc", *extra]
        return CliRunner().invoke(main, args)

    a = run(tmp_path / "l.csv", "--params-col", "n_ne", "--json")
    b = run(tmp_path / "swapped.csv", "--json")
    assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
    pa, pb = json.loads(a.stdout), json.loads(b.stdout)
    assert pa["loss_pred"] == pytest.approx(pb["loss_pred"], rel=1e-9)
    df.assign(acc=df["acc"] * 100).to_csv(tmp_path / "pct.csv", index=False)
    r = run(tmp_path / "pct.csv")
    assert r.exit_code == 2 and "percent" in r.output


def test_ladder_text_uses_the_users_column_names_and_never_prints_nan(tmp_path):
    """Issue 23 item 2: an --acc-col 'acc' was shown as 'accuracy'; an exact step-1 fit
    printed its interval as 'nan-nan'."""
    from click.testing import CliRunner

    from scalinglab.cli import main

    _ladder().to_csv(tmp_path / "l.csv", index=False)
    args = ["ladder", str(tmp_path / "l.csv"), "--target", "n_params=3e9,tokens=6e10"]
    r = CliRunner().invoke(main, [*args, "--loss-col", "loss", "--acc-col", "acc"])
    assert r.exit_code == 0, r.output
    first = r.output.splitlines()[0]
    assert "-> acc 0." in first and "accuracy" not in first
    assert "nan" not in r.output
