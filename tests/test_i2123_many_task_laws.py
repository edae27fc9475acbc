"""Issue 21, the last line of 'everywhere a law is accepted': a many-task forecast or ladder
records the laws it used, per task: step 1 and step 2, their fitted and fixed parameters and a
user-written law's expression as written, in the result object, in --json and in the text."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from tests.test_many_tasks import _ladder_table
from tests.test_runs_checkpoints import checkpoints_table

ERROR_EXPR = "a - b*exp(-c*x)"  # the table's truth: error = 0.95 - 3 exp(-0.5 loss)


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _long(tmp_path):
    base = checkpoints_table()
    long = pd.concat(
        [base.assign(task="a"), base.assign(task="b", error=base["error"] * 0.8)],
        ignore_index=True,
    )
    p = tmp_path / "long.csv"
    long.to_csv(p, index=False)
    return p


def test_forecast_many_tasks_json_records_both_laws_per_task(tmp_path):
    """Old: the JSON had rows and notes only; which laws, fixed E and the expression
    were nowhere."""
    args = ["forecast", _long(tmp_path), "--task-col", "task", "--error-col", "error",
            "--target-where", "n_params > 1e9 and step == 4000", "--loss-law", "chinchilla",
            "--fix", "E=1.7", "--error-expr", ERROR_EXPR, "--error-param", "a=0:2",
            "--error-param", "b=0:10", "--error-param", "c=0:2",
            "--bootstrap", "0"]  # fmt: skip
    r = _run(*args, "--json")
    assert r.exit_code == 0, r.output
    laws = json.loads(r.output)["laws"]
    assert list(laws) == ["a", "b"]
    for task, scale in (("a", 1.0), ("b", 0.8)):
        one, two = laws[task]["step1"], laws[task]["step2"]
        assert one["name"] == "chinchilla[fixed E=1.7]" and one["fixed"] == {"E": 1.7}
        assert "E" not in one["params"] and set(one["params"]) == {"A", "B", "alpha", "beta"}
        assert one["params"]["alpha"] == pytest.approx(0.34, abs=0.03)
        assert one["columns"] == {"n_params": "n_params", "tokens": "tokens"}
        assert one["fitted_to"] == "loss" and not one["user_written"]
        assert two["user_written"] and two["expression"] == ERROR_EXPR
        assert two["fitted_to"] == "error" and two["fixed"] == {}
        assert two["params"]["c"] == pytest.approx(0.5, abs=0.1)
        assert two["params"]["a"] == pytest.approx(0.95 * scale, abs=0.03)
        assert two["spec"]["expression"] == ERROR_EXPR  # rebuilds the law
        assert two["n_points"] == 24  # the target run's 4 checkpoints are held out
    printed = _run(*args)
    assert printed.exit_code == 0, printed.output
    text = " ".join(printed.output.split())
    assert "step 1: chinchilla: loss = E + A/n_params^alpha" in text and "E=1.7" in text
    assert f"step 2: your law: error = {ERROR_EXPR}" in text


def test_ladder_many_tasks_records_laws_and_the_fixed_floor(tmp_path):
    df = _ladder_table()
    df["acc2"] = df["acc"] * 0.9
    p = tmp_path / "ladder.csv"
    df.to_csv(p, index=False)
    expr = "floor + (1 - floor)/(1 + exp(k*(x - x0)))"
    r = _run("ladder", p, "--acc-col", "acc", "--acc-col", "acc2", "--loss-col", "bpb",
             "--target", "n_params=1.6e9,tokens=3.2e10", "--acc-expr", expr,
             "--acc-param", "k=0:50", "--acc-param", "x0=0:10", "--acc-param", "floor=0:1",
             "--fix", "floor=0.25", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    laws = out["laws"]
    # issue 23 item 2: each task named as the user named its column (was 'accuracy')
    assert set(laws) == {"acc", "acc2"} and [x["task"] for x in out["rows"]] == ["acc", "acc2"]
    for rec in laws.values():
        assert rec["step1"]["name"] == "chinchilla" and rec["step1"]["fixed"] == {}
        assert set(rec["step1"]["params"]) == {"E", "A", "B", "alpha", "beta"}
        assert rec["step2"]["expression"] == expr
        assert rec["step2"]["fixed"] == {"floor": 0.25}
        assert set(rec["step2"]["params"]) == {"k", "x0"}


def test_the_result_object_carries_the_laws():
    import scalinglab as sl
    from scalinglab.workflows.many_tasks import forecast_tasks

    df = checkpoints_table()
    res = forecast_tasks(
        df,
        "n_params > 1e9 and step == 4000",
        error_cols=["error"],
        loss_law=sl.get_law("chinchilla").fix(E=1.7),
        n_bootstrap=0,
    )
    rec = res.laws["error"]
    assert rec["step1"]["fixed"] == {"E": 1.7}
    assert rec["step2"]["name"] == "loss_to_error"
    assert rec["step2"]["params"] == res.results["error"].error_fit.params_


def test_api_hints_name_the_python_keyword_too():
    """Issue 23 item 2: a hint names the option of the interface in use; the many-task
    functions serve both, and named only the CLI flags (--acc-col, --task-col)."""
    from scalinglab.errors import DataError, MissingColumnError
    from scalinglab.workflows.many_tasks import forecast_tasks, ladder_tasks

    df = checkpoints_table()
    with pytest.raises(DataError, match=r"acc_cols=\[COL\] or error_cols=\[COL\] in Python"):
        forecast_tasks(df, [{"n_params": 1e10, "tokens": 2e11}])
    with pytest.raises(MissingColumnError, match=r"--acc-col \(acc_cols= in Python\) 'acc'"):
        forecast_tasks(df, [{"n_params": 1e10, "tokens": 2e11}], acc_cols=["acc"])
    with pytest.raises(DataError, match=r"--tasks \(tasks=\)"):
        forecast_tasks(df, [{"n_params": 1e10, "tokens": 2e11}], error_cols=["error"], tasks=["a"])
    with pytest.raises(DataError, match="target= or target_where= in Python"):
        ladder_tasks(_ladder_table())


def test_single_task_json_records_the_laws_too(tmp_path):
    """One task's --json named a user-written law only 'expression'; now as many tasks do."""
    p = tmp_path / "ck.csv"
    checkpoints_table().to_csv(p, index=False)
    r = _run("forecast", p, "--target", "n_params=1e10,tokens=2e11", "--loss-law", "chinchilla",
             "--fix", "E=1.7", "--error-expr", ERROR_EXPR, "--error-param", "a=0:2",
             "--error-param", "b=0:10", "--error-param", "c=0:2", "--bootstrap", "0",
             "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    laws = json.loads(r.output)["laws"]
    assert laws["step1"]["fixed"] == {"E": 1.7} and laws["step2"]["expression"] == ERROR_EXPR
    lp = tmp_path / "ladder.csv"
    _ladder_table().to_csv(lp, index=False)
    expr = "floor + (1 - floor)/(1 + exp(k*(x - x0)))"
    r = _run("ladder", lp, "--acc-col", "acc", "--target", "n_params=1.6e9,tokens=3.2e10",
             "--acc-expr", expr, "--acc-param", "k=0:50", "--acc-param", "x0=0:10",
             "--acc-param", "floor=0:1", "--fix", "floor=0.25", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    laws = json.loads(r.output)["laws"]
    assert laws["step2"]["expression"] == expr and laws["step2"]["fixed"] == {"floor": 0.25}
    assert laws["step1"]["name"] == "chinchilla"
