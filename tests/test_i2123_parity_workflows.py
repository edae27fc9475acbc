"""Issue 23 item 2: the CLI and the API do the same thing on the same file with the same
result, for the workflows of this helper's files (plan, many-task forecast and ladder,
transfer); test_parity_cli_api.py covers fit, predict, inspect and merge."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.workflows.many_tasks import forecast_tasks, ladder_tasks
from scalinglab.workflows.planning import plan
from scalinglab.workflows.transfer import effective_data_transferred
from tests.test_i2123_plan_runs import _ten_runs_five_checkpoints
from tests.test_many_tasks import _ladder_table
from tests.test_runs_checkpoints import checkpoints_table
from tests.test_workflows import _two_source_runs


def _cli(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_plan_cli_equals_api(tmp_path):
    p = tmp_path / "runs.csv"
    _ten_runs_five_checkpoints().to_csv(p, index=False)
    f = tmp_path / "fit.json"
    CliRunner().invoke(main, ["fit", str(p), "--law", "chinchilla", "--bootstrap", "40",
                              "--out", str(f), "--quiet"])  # fmt: skip
    cli = _cli("plan", f, "--budget", "1e21", "--tokens-per-param", "200", "--interval", "0.8",
               "--json")  # fmt: skip
    api = plan(sl.FitResult.from_json(f), 1e21, tokens_per_param=200, interval=0.8).to_dict()
    assert len(cli["plans"]) == len(api["plans"]) == 2
    for a, b in zip(cli["plans"], api["plans"], strict=True):
        for k, v in b.items():
            if isinstance(v, float):
                assert a[k] == pytest.approx(v, rel=1e-12, nan_ok=True), k
    assert cli["interval"] == api["interval"]


def test_many_task_forecast_and_ladder_cli_equal_api(tmp_path):
    p = tmp_path / "ck.csv"
    checkpoints_table().to_csv(p, index=False)
    where = "n_params > 1e9 and step == 4000"
    cli = _cli("forecast", p, "--acc-col", "error", "--target-where", where, "--loss-law",
               "chinchilla", "--bootstrap", "0", "--json")  # fmt: skip
    api = forecast_tasks(p, where, acc_cols=["error"], loss_law="chinchilla", n_bootstrap=0)
    assert [r["pred"] for r in cli["rows"]] == pytest.approx(api.table["pred"].tolist(), rel=1e-12)
    assert cli["laws"] == json.loads(json.dumps(api.to_dict()["laws"]))
    lp = tmp_path / "ladder.csv"
    _ladder_table().to_csv(lp, index=False)
    cli = _cli("ladder", lp, "--acc-col", "acc", "--loss-col", "bpb", "--target-where",
               "n_params == 8e8 and tokens > 6e10", "--json")  # fmt: skip
    api = ladder_tasks(lp, acc_col="acc", loss_col="bpb",
                       target_where="n_params == 8e8 and tokens > 6e10")  # fmt: skip
    assert [r["pred"] for r in cli["rows"]] == pytest.approx(api.table["pred"].tolist(), rel=1e-12)
    assert [r["task"] for r in cli["rows"]] == api.table["task"].tolist() == ["acc"]


def test_transfer_cli_equals_api(tmp_path):
    df, _ = _two_source_runs()
    p = tmp_path / "transfer.csv"
    df.to_csv(p, index=False)
    cli = _cli("transfer", p, "--by", "pretrain_data", "--bootstrap", "20", "--json")
    api = effective_data_transferred(p, by="pretrain_data", n_bootstrap=20)
    got = np.array([r["effective_data"] for r in cli["runs"]], dtype=float)
    assert got == pytest.approx(api.runs["effective_data"].to_numpy(), rel=1e-12)
    for row, (_, want) in zip(cli["by_source"], api.comparison.iterrows(), strict=True):
        assert row["alpha"] == pytest.approx(want["alpha"], rel=1e-12)
        assert row["alpha_hi"] == pytest.approx(want["alpha_hi"], rel=1e-12)
