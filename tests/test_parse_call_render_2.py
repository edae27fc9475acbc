"""`ladder`, `predict` and `forecast` as parse -> call -> render (issue 16 item 5): the library
functions behind them (`run_ladder`, `run_predict`, `run_forecast`) refuse what the commands
refuse, with the same named errors, and return what the commands print."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.errors import BoundsError, DataError, MissingColumnError
from scalinglab.workflows.forecast_run import forecast_laws, run_forecast
from scalinglab.workflows.ladder_run import ladder_law_options, run_ladder
from scalinglab.workflows.predict_run import run_predict

# step 1: an (N, D) law of the task loss; step 2: a logistic from loss to accuracy
TRUE1 = {"E": 0.6, "A": 300.0, "alpha": 0.35, "B": 900.0, "beta": 0.3}
TRUE2 = {"floor": 0.25, "k": 4.0, "x0": 1.9}
TARGET = {"n_params": 7e9, "tokens": 1.4e11}
STEP2 = "floor + (1 - floor)/(1 + exp(k*(x - x0)))"


def _loss(n_params, tokens):
    n, d, p = n_params, tokens, TRUE1
    return p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]


def _acc(x):
    p = TRUE2
    return p["floor"] + (1 - p["floor"]) / (1 + np.exp(p["k"] * (x - p["x0"])))


@pytest.fixture(scope="module")
def ckpt_csv(tmp_path_factory):
    """10 runs (5 sizes x 2 token multipliers), 25 checkpoints each, noise-free losses and
    accuracies with noise 0.003; a second task ('b') whose loss is 1.1 x the first's."""
    rng = np.random.default_rng(0)
    rows = []
    for n in (2e7, 5e7, 1.2e8, 3e8, 7e8):
        for mult in (10, 40):
            for i, d in enumerate(np.geomspace(mult * n / 20, mult * n, 25)):
                lo = _loss(n, d)
                rows.append(
                    {
                        "run": f"{n:.0e}-{mult}x",
                        "step": i,
                        "n_params": n,
                        "tokens": d,
                        "bpb": lo,
                        "rc_acc": _acc(lo) + rng.normal(0, 0.003),
                        "bpb_b": 1.1 * lo,
                        "acc_b": _acc(1.1 * lo) + rng.normal(0, 0.003),
                    }
                )
    p = tmp_path_factory.mktemp("ladder") / "ckpt.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def _said(r) -> str:
    return " ".join(r.stderr.split())  # rich wraps long lines


# ---- ladder -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "cli", "error", "match"),
    [
        ({}, [], DataError, "give one of --target n_params=...,tokens=... or --target-where"),
        (
            {"target": TARGET, "target_where": "n_params > 5e8"},
            ["--target", "n_params=7e9,tokens=1.4e11", "--target-where", "n_params > 5e8"],
            DataError,
            "give one of --target",
        ),
        (
            {"target": TARGET, "loss_params": {"E": {"lower": 0, "upper": 1}}},
            ["--target", "n_params=7e9,tokens=1.4e11", "--loss-param", "E=0:1"],
            DataError,
            "--loss-param gives the bounds of a --loss-expr law",
        ),
        (
            {"target": TARGET, "fixes": {"zz": 1.0}},
            ["--target", "n_params=7e9,tokens=1.4e11", "--fix", "zz=1"],
            DataError,
            "fixed zz: neither step's law has such a parameter",
        ),
        (
            {"target": TARGET, "tasks": ["a"]},
            ["--target", "n_params=7e9,tokens=1.4e11", "--tasks", "a"],
            DataError,
            "--tasks and --combine select values of --task-col",
        ),
        (
            {"target": TARGET, "run_col": "nope"},
            ["--target", "n_params=7e9,tokens=1.4e11", "--run-col", "nope"],
            MissingColumnError,
            "--run-col 'nope' is not in the data",
        ),
        (
            {"target": TARGET, "acc_cols": ["acc_nope"]},
            ["--target", "n_params=7e9,tokens=1.4e11", "--acc-col", "acc_nope"],
            MissingColumnError,
            "--acc-col 'acc_nope' is not in the data",
        ),
    ],
)
def test_run_ladder_refuses_what_the_command_refuses(ckpt_csv, kwargs, cli, error, match):
    with pytest.raises(error, match=match):
        run_ladder(ckpt_csv, **kwargs)
    r = CliRunner().invoke(main, ["ladder", str(ckpt_csv), *cli])
    said = _said(r)
    assert r.exit_code == 2 and f"({error.__name__})" in said and match in said, said


def test_ladder_law_options_build_and_refuse():
    laws = ladder_law_options(
        acc_expr=STEP2,
        acc_params={"floor": (0, 1), "k": (0, 50), "x0": (0, 10)},
        fixes={"floor": 0.25},
    )
    assert set(laws) == {"acc_law", "fixed"} and laws["fixed"] == {"floor": 0.25}
    assert laws["acc_law"].space == "identity" and tuple(laws["acc_law"].variables) == ("x",)
    with pytest.raises(DataError, match="--acc-param gives the bounds of an --acc-expr law"):
        ladder_law_options(acc_params={"k": (0, 1)})
    with pytest.raises(DataError, match="takes one variable"):  # step 2 maps one loss
        ladder_law_options(acc_expr="a + b*x + c*tokens", acc_params=dict.fromkeys("abc", (0, 1)))
    with pytest.raises(BoundsError):  # the CLI parses NAME=LO:HI, the law checks the bounds
        bad = {"E": (2, 1), "A": (0, 1e4), "alpha": (0, 2)}
        ladder_law_options(loss_expr="E + A/n_params**alpha", loss_params=bad)


def test_run_ladder_one_task_returns_what_the_command_prints(ckpt_csv):
    run = run_ladder(ckpt_csv, target=TARGET, train_where="n_params < 5e8", last_k=1)
    assert run.tasks is None and run.target == TARGET
    res = run.forecast
    # noise-free final losses of the 8 runs below 5e8: step 1 is the truth
    assert res.loss_pred == pytest.approx(_loss(**TARGET), rel=1e-3)
    assert res.acc_pred == pytest.approx(_acc(_loss(**TARGET)), abs=0.02)
    args = ["ladder", str(ckpt_csv), "--target", "n_params=7e9,tokens=1.4e11"]
    args += ["--train-where", "n_params < 5e8", "--last-k", "1"]
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    printed, api = json.loads(r.stdout), run.to_dict()
    assert printed.keys() == api.keys() and "laws" in printed
    assert printed["loss_pred"] == pytest.approx(res.loss_pred, rel=1e-9)
    assert printed["acc_pred"] == pytest.approx(res.acc_pred, rel=1e-9)
    assert printed["laws"]["step1"]["name"] == api["laws"]["step1"]["name"] == "chinchilla"
    assert printed["laws"]["step1"]["params"] == pytest.approx(api["laws"]["step1"]["params"])
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    first = r.stdout.splitlines()[0]
    assert first == (
        f"target N=7e+09, D=1.4e+11: bpb {res.loss_pred:.4f} -> rc_acc {res.acc_pred:.4f}"
    )


def test_run_ladder_many_tasks_returns_what_the_command_prints(ckpt_csv):
    kw = dict(target=TARGET, train_where="n_params < 5e8", last_k=1)
    run = run_ladder(ckpt_csv, loss_cols=["bpb", "bpb_b"], acc_cols=["rc_acc", "acc_b"], **kw)
    assert run.forecast is None and run.metric_label is None
    t = run.tasks.table
    assert list(t["task"]) == ["rc_acc", "acc_b"]
    assert t["loss_pred"].to_numpy() == pytest.approx(
        [_loss(**TARGET), 1.1 * _loss(**TARGET)], rel=1e-3
    )
    args = ["ladder", str(ckpt_csv), "--target", "n_params=7e9,tokens=1.4e11"]
    args += ["--train-where", "n_params < 5e8", "--last-k", "1"]
    args += ["--loss-col", "bpb", "--acc-col", "rc_acc", "--loss-col", "bpb_b"]
    args += ["--acc-col", "acc_b"]
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    assert printed.keys() == run.to_dict().keys()
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    said = " ".join(r.stdout.split())
    assert "ladder: accuracy per task x target (90% intervals from the scatter and" in said
    for lo, acc in zip(t["loss_pred"], t["pred"], strict=True):  # the table is run's
        assert f"{lo:.4f} │ {acc:.3f}" in said


# ---- predict ------------------------------------------------------------------------------

TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


@pytest.fixture(scope="module")
def fit_json(tmp_path_factory):
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    rng = np.random.default_rng(1)
    loss = TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]
    loss = loss * (1 + rng.normal(0, 0.002, len(loss)))  # scatter: a bootstrap has a width
    folder = tmp_path_factory.mktemp("predict")
    pd.DataFrame({"N": n, "D": d, "val_loss": loss}).to_csv(folder / "runs.csv", index=False)
    out = folder / "fit.json"
    args = ["fit", str(folder / "runs.csv"), "--law", "chinchilla", "--metric", "val_loss"]
    r = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def _expected(n, d):
    return TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]


@pytest.mark.parametrize(
    ("kwargs", "cli", "match"),
    [
        ({}, [], "give exactly one of --at DATA or --set VAR=VALUE"),
        ({"sets": {"zz": "1"}}, ["--set", "zz=1"], "--set zz: law 'chinchilla' does not use it"),
        (
            {"sets": {"n_params": "1.4Q", "tokens": "1T"}},
            ["--set", "n_params=1.4Q,tokens=1T"],
            "--set: '1.4Q' is not a number",
        ),
        (
            {"sets": {"n_params": "1B", "tokens": "1T"}, "interval": 0.9},
            ["--set", "n_params=1B,tokens=1T", "--interval", "0.9"],
            "holds no bootstrap, so no interval",
        ),
    ],
)
def test_run_predict_refuses_what_the_command_refuses(fit_json, kwargs, cli, match):
    with pytest.raises(DataError, match=match):
        run_predict(fit_json, **kwargs)
    r = CliRunner().invoke(main, ["predict", str(fit_json), *cli])
    said = _said(r)
    assert r.exit_code == 2 and "(DataError)" in said and match in said, said
    with pytest.raises(DataError, match="must be between 0 and 1"):  # the CLI's LEVEL type
        run_predict(fit_json, sets={"n_params": "1B", "tokens": "1T"}, interval=1.5)


def test_run_predict_returns_what_the_command_prints(fit_json):
    run = run_predict(fit_json, sets={"n_params": "70B", "tokens": "1.4T"})
    assert run.interval is None and run.n_params_col == "n_params"
    [row] = run.rows
    assert row["prediction"] == pytest.approx(_expected(70e9, 1.4e12), rel=2e-3)
    assert row["beyond_data"]["tokens"] == pytest.approx(1.146, abs=1e-3)
    assert run.notes == ["N is the fit's 'n_params' (total parameters) column"]
    args = ["predict", str(fit_json), "--set", "n_params=70B", "--set", "tokens=1.4T"]
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == json.loads(json.dumps(run.to_dict()))
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "chinchilla predictions of loss" in r.stdout
    assert "note: N is the fit's 'n_params' (total parameters) column" in r.stdout


def test_run_predict_bootstrap_now_gives_the_default_interval(fit_json, tmp_path):
    seen = []
    at = tmp_path / "at.csv"
    pd.DataFrame({"n_params": [1e9, 7e9], "tokens": [2e10, 1.4e11]}).to_csv(at, index=False)
    run = run_predict(fit_json, at=at, n_bootstrap=40, on_resampled=seen.append)
    assert seen == [40] and run.interval == 0.9 and 0 < run.n_resamples <= 40
    for row, (n, d) in zip(run.rows, [(1e9, 2e10), (7e9, 1.4e11)], strict=True):
        assert row["lower"] < row["prediction"] < row["upper"]
        assert row["prediction"] == pytest.approx(_expected(n, d), rel=2e-3)
    r = CliRunner().invoke(main, ["predict", str(fit_json), "--at", str(at), "--bootstrap", "40"])
    assert r.exit_code == 0, r.output
    assert "40 bootstrap resamples of the fit's rows run now (--bootstrap)" in r.stderr
    assert "90% bootstrap interval" in " ".join(r.stdout.split())
    d = run.to_dict()
    assert d["interval"]["level"] == 0.9 and d["interval"]["n_resamples"] == run.n_resamples


# ---- forecast -----------------------------------------------------------------------------


def _err(loss):
    return 0.75 - 0.5 / (1 + np.exp(-4 * (3.0 - loss)))


@pytest.fixture(scope="module")
def fc_csv(tmp_path_factory):
    """36 runs from Chinchilla's law, a logistic error of the loss (task 'a') and a second
    task ('b': 0.8 x the error) as a wide column."""
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    loss = _expected(n, d)
    frame = pd.DataFrame({"n_params": n, "tokens": d, "loss": loss, "error": _err(loss)})
    frame["error_b"] = 0.8 * frame["error"]
    p = tmp_path_factory.mktemp("forecast") / "runs.csv"
    frame.to_csv(p, index=False)
    return p


FC_OPTS = ["--loss-law", "chinchilla", "--bootstrap", "0"]


@pytest.mark.parametrize(
    ("kwargs", "cli", "match"),
    [
        ({}, [], "give one of --target VAR=VALUE,... (repeatable) or --target-where QUERY"),
        (
            {"targets": [{"n_params": 1e9, "tokens": 2e10}], "target_where": "n_params > 1e9"},
            ["--target", "n_params=1e9,tokens=2e10", "--target-where", "n_params > 1e9"],
            "give one of --target or --target-where, not both",
        ),
        (
            {"target_where": "n_params > 5e9", "error_params": {"k": (0, 50)}},
            ["--target-where", "n_params > 5e9", "--error-param", "k=0:50"],
            "--error-param gives the bounds of an --error-expr law",
        ),
        (
            {"target_where": "n_params > 5e9", "fixes": {"zeta": 1.0}},
            ["--target-where", "n_params > 5e9", "--fix", "zeta=1"],
            "--fix zeta: neither step's law has such a parameter",
        ),
        (
            {"target_where": "n_params > 5e9", "tasks": ["a"]},
            ["--target-where", "n_params > 5e9", "--tasks", "a"],
            "--tasks selects values of --task-col; give --task-col too",
        ),
    ],
)
def test_run_forecast_refuses_what_the_command_refuses(fc_csv, kwargs, cli, match):
    with pytest.raises(DataError, match=re.escape(match)):
        run_forecast(fc_csv, **{"loss_law": "chinchilla", "n_bootstrap": 0, **kwargs})
    r = CliRunner().invoke(main, ["forecast", str(fc_csv), *FC_OPTS, *cli])
    said = _said(r)
    assert r.exit_code == 2 and "(DataError)" in said and match in said, said


def test_forecast_laws_expression_and_fix():
    step1, step2 = forecast_laws(
        "chinchilla",
        error_expr="0.75 - 0.5/(1 + exp(-k*(x0 - x)))",
        error_params={"k": (0, 50), "x0": (0, 10)},
        fixes={"beta": 0.37},
    )
    assert step1.fixed_values == {"beta": 0.37} and "beta" not in step1.param_names
    assert step2.space == "identity" and sorted(step2.param_names) == ["k", "x0"]
    with pytest.raises(DataError, match="--loss-param gives the bounds of a --loss-expr law"):
        forecast_laws(loss_params={"E": (0, 1)})


def test_run_forecast_one_task_returns_what_the_command_prints(fc_csv):
    run = run_forecast(
        fc_csv,
        [{"n_params": 3e10, "tokens": 6e11}],
        loss_law="chinchilla",
        error_expr="0.75 - 0.5/(1 + exp(-k*(x0 - x)))",
        error_params={"k": (0, 50), "x0": (0, 10)},
        n_bootstrap=0,
    )
    assert run.tasks is None
    t = run.forecast.targets.iloc[0]
    true_loss = _expected(3e10, 6e11)
    assert t["loss_pred"] == pytest.approx(true_loss, rel=1e-6)  # noise-free: the truth
    assert t["error_pred"] == pytest.approx(_err(true_loss), rel=1e-4)
    args = ["forecast", str(fc_csv), *FC_OPTS, "--target", "n_params=3e10,tokens=6e11"]
    args += ["--error-expr", "0.75 - 0.5/(1 + exp(-k*(x0 - x)))"]
    args += ["--error-param", "k=0:50", "--error-param", "x0=0:10"]
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    printed, api = json.loads(r.stdout), run.to_dict()
    assert printed.keys() == api.keys() and printed["laws"]["step2"]["user_written"] is True
    assert printed["targets"][0]["loss_pred"] == pytest.approx(t["loss_pred"], rel=1e-9)
    assert printed["targets"][0]["error_pred"] == pytest.approx(t["error_pred"], rel=1e-9)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("step 1: chinchilla on 36 rows; step 2: ")
    assert f"loss {t['loss_pred']:.4f}" in r.stdout and f"error {t['error_pred']:.4f}" in r.stdout


def test_run_forecast_many_tasks_returns_what_the_command_prints(fc_csv):
    run = run_forecast(
        fc_csv,
        target_where="n_params > 5e9",
        loss_law="chinchilla",
        error_cols=["error", "error_b"],
        fit_where="n_params < 5e9",
        n_bootstrap=0,
    )
    assert run.forecast is None and run.metric_label is None
    t = run.tasks.table
    assert list(t["task"]) == ["error"] * 6 + ["error_b"] * 6  # the six 1e10 runs per task
    truth = _err(_expected(1e10, np.geomspace(1e8, 1e11, 6)))  # the rows hold the truth
    assert t["true"].to_numpy() == pytest.approx(np.concatenate([truth, 0.8 * truth]))
    assert t["error"].to_numpy() == pytest.approx((t["pred"] - t["true"]).to_numpy())
    args = ["forecast", str(fc_csv), *FC_OPTS, "--target-where", "n_params > 5e9"]
    args += ["--error-col", "error", "--error-col", "error_b", "--fit-where", "n_params < 5e9"]
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]
    assert [x["pred"] for x in rows] == pytest.approx(t["pred"].tolist(), rel=1e-9)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "per task x target" in " ".join(r.stdout.split())
