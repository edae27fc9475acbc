"""Issue 21: the model ladder with laws the user writes (`--loss-expr`, `--acc-expr`,
`--fix`, as `fit`, `audit` and `forecast` take them), recovered on data drawn from known
laws: step 1 an (N, D) law, step 2 a logistic with a 0.25 chance floor held fixed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import DataError
from scalinglab.workflows.ladder import ladder_forecast, ladder_laws

TRUE1 = {"E": 0.6, "A": 300.0, "alpha": 0.35, "B": 900.0, "beta": 0.3}
TRUE2 = {"floor": 0.25, "k": 4.0, "x0": 1.9}
TARGET = {"n_params": 7e9, "tokens": 1.4e11}
STEP1 = "E + A/n_params**alpha + B/tokens**beta"
STEP2 = "floor + (1 - floor)/(1 + exp(k*(x - x0)))"
COEF = {"lower": 1.0, "upper": 1e6, "grid": [10, 100, 1e3, 1e4, 1e5], "log": True}
PARAMS1 = {"E": (0, 10), "A": COEF, "alpha": (0, 2), "B": COEF, "beta": (0, 2)}
PARAMS2 = {"floor": (0, 1), "k": (0, 50), "x0": (0, 10)}


def _loss(n, d):
    p = TRUE1
    return p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]


def _acc(x):
    p = TRUE2
    return p["floor"] + (1 - p["floor"]) / (1 + np.exp(p["k"] * (x - p["x0"])))


def _checkpoints(seed: int = 0) -> pd.DataFrame:
    """10 runs (5 sizes x 2 token multipliers), 25 checkpoints each; accuracy noise 0.003."""
    rng = np.random.default_rng(seed)
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
                    }
                )
    return pd.DataFrame(rows)


def test_ladder_recovers_user_written_laws_with_a_fixed_floor():
    law1 = sl.expression_law(STEP1, PARAMS1, metric="bpb")
    law2 = sl.expression_law(STEP2, PARAMS2, metric="rc_acc", space="identity")
    res = ladder_forecast(
        _checkpoints(), TARGET, loss_law=law1, acc_law=law2, fixed={"floor": 0.25}, last_k=1
    )
    for k, v in TRUE1.items():  # noise-free final losses: step 1 exact
        assert res.step1.params_[k] == pytest.approx(v, rel=1e-6), k
    assert set(res.step2.params_) == {"k", "x0"}  # the floor is held, not fitted
    assert res.step2.params_["k"] == pytest.approx(4.0, abs=0.15)
    assert res.step2.params_["x0"] == pytest.approx(1.9, abs=0.01)
    truth_loss = _loss(TARGET["n_params"], TARGET["tokens"])
    assert res.loss_pred == pytest.approx(truth_loss, rel=1e-6)
    assert res.acc_pred == pytest.approx(_acc(truth_loss), abs=0.01)
    lo, hi = res.acc_interval
    assert lo <= _acc(truth_loss) <= hi
    d = res.to_dict()
    assert d["fixed"] == {"floor": 0.25}
    assert "fixed floor=0.25" in d["step2_law"]


def test_ladder_cli_takes_expression_laws_and_fix(tmp_path):
    p = tmp_path / "ck.csv"
    _checkpoints().to_csv(p, index=False)
    coef = "1:1e6:10,100,1000,1e4,1e5:log"
    args = ["ladder", str(p), "--target", "n_params=7e9,tokens=1.4e11", "--last-k", "1"]
    args += ["--loss-expr", STEP1, "--loss-param", "E=0:10", "--loss-param", f"A={coef}"]
    args += ["--loss-param", "alpha=0:2", "--loss-param", f"B={coef}", "--loss-param", "beta=0:2"]
    args += ["--acc-expr", STEP2, "--acc-param", "floor=0:1", "--acc-param", "k=0:50"]
    args += ["--acc-param", "x0=0:10", "--fix", "floor=0.25", "--json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["step1_params"]["alpha"] == pytest.approx(0.35, rel=1e-6)
    assert out["step2_params"]["x0"] == pytest.approx(1.9, abs=0.01)
    assert out["fixed"] == {"floor": 0.25}
    truth = _acc(_loss(7e9, 1.4e11))
    assert out["acc_pred"] == pytest.approx(truth, abs=0.01)
    # the same laws on a long table of two tasks (the many-task path)
    long = pd.concat([_checkpoints().assign(task=t) for t in ("a", "b")], ignore_index=True)
    long.to_csv(p, index=False)
    r = CliRunner().invoke(main, [*args, "--task-col", "task"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)["rows"]
    assert [row["task"] for row in rows] == ["a", "b"]
    assert all(row["pred"] == pytest.approx(truth, abs=0.01) for row in rows)


def test_ladder_laws_name_what_is_wrong():
    with pytest.raises(DataError, match="neither step's law has"):
        ladder_laws(fixed={"zz": 1.0})
    two = sl.expression_law("a + b*x + c*n_params", {"a": (0, 1), "b": (0, 1), "c": (0, 1)})
    with pytest.raises(DataError, match="one variable"):
        ladder_laws(acc_law=two)
    r = CliRunner().invoke(
        main, ["ladder", "x.csv", "--target", "n_params=1", "--acc-param", "k=0:1"]
    )
    assert r.exit_code == 2 and "--acc-expr" in r.output
