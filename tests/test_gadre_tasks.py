"""Gadre et al.'s task selection inside the tool (issue 21): tasks above chance by 10 points
at the 0.154B models, averaged into one error column that `forecast --preset paper` takes to
the published 3.64% / 0.05%."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.errors import DataError, MissingColumnError
from scalinglab.workflows.downstream import forecast
from scalinglab.workflows.task_selection import select_tasks
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def gadre():
    return shared_file("gadre2024", "runs.csv"), shared_file("gadre2024", "tasks.csv")


def test_selects_the_papers_17_tasks_at_the_reference_size(gadre):
    runs, tasks = gadre
    paper = sorted(pd.read_csv(tasks).query("in_avg17")["task"])
    res = select_tasks(runs, tasks, select_at="n_params=154M")
    assert len(paper) == 17 and res.selected == paper
    assert res.n_reference_rows == 24  # 0.154B at 8 budgets x 3 training sets
    # the tool's own average is the paper's err_avg17, run by run
    np.testing.assert_allclose(res.data["err_avg"], res.data["err_avg17"], atol=1e-12)
    # the old rule (best over every model) lets 24 tasks in, and the result says so
    assert len(select_tasks(runs, tasks).selected) == 24
    assert any("24 tasks would count" in n for n in res.notes)
    # a query selects the same reference runs
    q = select_tasks(runs, tasks, select_at="n_params > 1e8 and n_params < 2e8")
    assert q.selected == paper


def test_forecast_on_the_tools_own_average_reproduces_the_paper(gadre):
    runs, tasks = gadre
    d = select_tasks(runs, tasks, select_at="n_params=154M").data
    res = forecast(
        d[d["train_dataset"] == "rpj"],
        "paper_role == 'heldout'",
        loss_col="loss_c4_val",
        error_col="err_avg",
        fit_where="paper_role == 'fit_both'",
        error_fit_where="paper_role in ['fit_both', 'fit_error_only']",
        preset="paper",
        n_bootstrap=0,
    )
    t = res.targets.sort_values("row")
    assert [round(v * 100, 2) for v in t["error_rel_error"]] == [3.64, 0.05]
    assert [round(v * 100, 2) for v in t["loss_rel_error"]] == [0.71, 0.73]


def test_select_tasks_cli_then_forecast(gadre, tmp_path):
    runs, tasks = gadre
    out = tmp_path / "runs_err.csv"
    r = CliRunner().invoke(
        main,
        ["select-tasks", str(runs), "--chance-table", str(tasks), "--select-at", "n_params=154M"]
        + ["-o", str(out), "--json"],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["n_selected"] == 17 and out.exists()
    rpj = "train_dataset == 'rpj'"
    r = CliRunner().invoke(
        main,
        ["forecast", str(out), "--target-where", f"paper_role == 'heldout' and {rpj}"]
        + ["--fit-where", f"paper_role == 'fit_both' and {rpj}"]
        + ["--error-fit-where", f"paper_role in ['fit_both', 'fit_error_only'] and {rpj}"]
        + ["--loss-col", "loss_c4_val", "--error-col", "err_avg", "--preset", "paper"]
        + ["--bootstrap", "0", "--json"],
    )
    assert r.exit_code == 0, r.output
    t = sorted(json.loads(r.output)["targets"], key=lambda x: x["row"])
    assert [round(x["error_rel_error"] * 100, 2) for x in t] == [3.64, 0.05]


def test_bad_input_is_named():
    df = pd.DataFrame({"n_params": [1e8, 2e8], "acc_a": [0.5, 0.9], "acc_b": [0.3, 0.2]})
    with pytest.raises(DataError, match="no chance accuracy: b"):
        select_tasks(df, {"a": 0.25})
    with pytest.raises(DataError, match="within 10% of 5e\\+08"):
        select_tasks(df, {"a": 0.25, "b": 0.25}, select_at="n_params=500M")
    with pytest.raises(DataError, match="outside.*percent"):
        select_tasks(df.assign(acc_a=[50.0, 90.0]), {"a": 0.25, "b": 0.25})
    with pytest.raises(MissingColumnError, match="no accuracy columns"):
        select_tasks(df.rename(columns={"acc_a": "a", "acc_b": "b"}), {"a": 0.25})
    res = select_tasks(df, {"a": 0.25, "b": 0.25}, select_at="n_params=100M")
    assert res.selected == ["a"] and res.data["err_avg"].tolist() == [0.5, pytest.approx(0.1)]
