"""`fit --fix NAME=VALUE` and `sl.fit(..., fixed=)`: parameters held at a value (lmfit's
vary=False), fitted around and reported as fixed in the table, --json and the fit file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main


def _frame(beta: float = 0.3) -> pd.DataFrame:
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    loss = 1.7 + 400 / n**0.34 + 1500 / d**beta
    return pd.DataFrame({"n_params": n, "tokens": d, "loss": loss})


def test_fixed_parameters_are_held_and_the_rest_recovered():
    res = sl.fit(_frame(), "chinchilla", fixed={"beta": 0.3, "E": 1.7})
    assert set(res.params_) == {"A", "B", "alpha"}
    assert res.params_["alpha"] == pytest.approx(0.34, rel=1e-4)
    assert res.params_["A"] == pytest.approx(400, rel=1e-3)
    assert res.law.fixed_values == {"beta": 0.3, "E": 1.7}
    assert res.dof_ == 36 - 3
    # a wrong fixed value is not silently absorbed: the fit is worse than the free one
    worse = sl.fit(_frame(), "chinchilla", fixed={"beta": 0.2})
    assert worse.objective_ > 1e3 * max(res.objective_, 1e-30)


def test_fit_cli_fix_reports_fixed_in_table_json_and_file(tmp_path):
    p = tmp_path / "runs.csv"
    _frame().to_csv(p, index=False)
    r = CliRunner().invoke(main, ["fit", str(p), "--fix", "beta=0.3", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["fixed"] == {"beta": 0.3} and "beta" not in d["params"]
    out = tmp_path / "fit.json"
    r = CliRunner().invoke(main, ["fit", str(p), "--fix", "beta=0.3", "--out", str(out)])
    assert r.exit_code == 0 and "fixed" in r.stdout
    back = sl.FitResult.from_json(out)
    assert back.law.fixed_values == {"beta": 0.3}
    assert np.asarray(back.predict({"n_params": [1e9], "tokens": [1e10]}))[0] == pytest.approx(
        1.7 + 400 / 1e9**0.34 + 1500 / 1e10**0.3, rel=1e-4
    )
    for bad, says in (("nosuch=1", "no parameter 'nosuch'"), ("beta=-1", "outside its bounds")):
        r = CliRunner().invoke(main, ["fit", str(p), "--fix", bad])
        assert r.exit_code == 2 and says in r.stderr, r.output


def test_audit_takes_an_expression_law_and_fixed_parameters(tmp_path):
    """`audit --expr` was 'No such option' (issue 21): user-written laws and --fix are
    audited beside catalog laws on the same folds."""
    p = tmp_path / "runs.csv"
    _frame().to_csv(p, index=False)
    args = ["audit", str(p), "--leave-largest-out", "n_params", "--bootstrap", "0", "--json"]
    expr = ["--expr", "E + A/n_params**alpha + B/tokens**beta", "--metric", "loss"]
    expr += [f"--param={n}=0:{hi}" for n, hi in (("E", 10), ("A", "inf"), ("B", "inf"))]
    expr += ["--param", "alpha=0:2", "--param", "beta=0:2"]
    r = CliRunner().invoke(main, [*args, "--law", "chinchilla", *expr, "--fix", "beta=0.3"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    by_law = {row["law"]: row for row in d["summary"]} if "summary" in d else None
    assert by_law is not None and len(by_law) == 2, d.keys()
    for row in by_law.values():  # true law, true beta held: extrapolation is exact
        assert row["max_rel_error"] < 1e-6
    r = CliRunner().invoke(main, [*args, "--law", "chinchilla", "--fix", "gamma=1"])
    assert r.exit_code == 2 and "no audited law has such a parameter" in r.stderr
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and "--law" in r.stderr


def test_fit_where_applies_before_validation(tmp_path):
    """`fit FILE --where "tokens > 0"` refused the file for its tokens-0 row before the
    filter (issue 15 item 5, filter first); an unused percent column no longer blocks it."""
    df = _frame()
    df.loc[len(df)] = [1e8, 0.0, 5.0]
    df["acc"] = 50.0  # percent, unused by the fit
    p = tmp_path / "runs.csv"
    df.to_csv(p, index=False)
    r = CliRunner().invoke(main, ["fit", str(p), "--where", "tokens > 0", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n_points"] == 36
    r = CliRunner().invoke(main, ["fit", str(p)])
    assert r.exit_code == 2 and "row 37" in r.stderr and "tokens" in r.stderr


def test_forecast_takes_expression_laws_and_fixed_parameters(tmp_path):
    """`forecast` took catalog names only (issue 21): a logistic step 2 written by the user
    (floor and ceiling fixed in the expression) chains to the true error; --fix holds a
    step-1 parameter; a --fix no step has is an error."""
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    loss = 1.8 + 480 / n**0.35 + 2100 / d**0.37
    err = 0.75 - 0.5 / (1 + np.exp(-4 * (3.0 - loss)))
    p = tmp_path / "runs.csv"
    pd.DataFrame({"n_params": n, "tokens": d, "loss": loss, "error": err}).to_csv(p, index=False)
    args = ["forecast", str(p), "--loss-law", "chinchilla", "--target",
            "n_params=3e10,tokens=6e11", "--bootstrap", "0", "--json",
            "--error-expr", "0.75 - 0.5/(1 + exp(-k*(x0 - x)))",
            "--error-param", "k=0:50", "--error-param", "x0=0:10"]  # fmt: skip
    r = CliRunner().invoke(main, [*args, "--fix", "beta=0.37"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    true_loss = 1.8 + 480 / 3e10**0.35 + 2100 / 6e11**0.37
    t = d["targets"][0]
    assert t["loss_pred"] == pytest.approx(true_loss, rel=1e-6)
    assert t["error_pred"] == pytest.approx(0.75 - 0.5 / (1 + np.exp(-4 * (3.0 - true_loss))))
    assert "beta" not in d["loss_params"] and d["error_params"]["k"] == pytest.approx(4.0)
    r = CliRunner().invoke(main, [*args, "--fix", "gamma=1"])
    assert r.exit_code == 2 and "neither step's law" in r.stderr
