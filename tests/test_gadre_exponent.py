"""Gadre et al.'s constant-exponent assumption, tested: per token multiplier M, the compute
exponent with an interval (E shared from the joint fit), and a verdict."""

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.workflows.constant_exponent import constant_exponent
from tests.conftest import shared_file


def _runs(eta_of_m=None, noise=0.003, seed=0):
    """Runs from Gadre et al.'s law (E 1.8, a 200, b 350, eta 0.14), 5 sizes per M; with
    `eta_of_m`, each M gets its own exponent instead."""
    rng = np.random.default_rng(seed)
    law = sl.get_law("overtrain")
    rows = []
    for M in (5.0, 20.0, 80.0, 320.0):
        for n in np.geomspace(1e7, 4e8, 5):
            c = 6 * n * n * M
            eta = 0.14 if eta_of_m is None else eta_of_m[M]
            p = {"E": 1.8, "a": 200.0, "b": 350.0, "eta": eta}
            y = law.evaluate(p, {"flops": [c], "tokens_per_param": [M]})[0]
            rows.append({"n_params": n, "tokens": n * M, "loss": y * np.exp(noise * rng.normal())})
    return pd.DataFrame(rows)


def test_one_exponent_is_found_where_the_law_holds():
    res = constant_exponent(_runs(), n_bootstrap=100)
    t = res.table
    assert len(t) == 4 and (t["n_runs"] == 5).all()
    assert np.allclose(t["eta"], 0.14, rtol=0.06)
    assert ((t["eta_lo"] < 0.14) & (0.14 < t["eta_hi"])).all()
    assert res.verdicts["all"].startswith("one eta fits all M")
    assert abs(res.joint["all"].params_["E"] - 1.8) < 0.02


def test_an_exponent_that_moves_with_m_is_named():
    res = constant_exponent(
        _runs({5.0: 0.10, 20.0: 0.13, 80.0: 0.16, 320.0: 0.19}), n_bootstrap=100
    )
    v = res.verdicts["all"]
    assert v.startswith("one eta does not fit all M: at M=5 eta = 0.1"), v
    assert "90% intervals apart" in v


def test_gadre_runs_per_training_set_and_cli():
    path = shared_file("gadre2024", "runs.csv")
    r = CliRunner().invoke(
        main,
        ["constant-exponent", str(path), "--loss-col", "loss_c4_val", "--by", "train_dataset"]
        + ["--bootstrap", "100", "--json"],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert set(d["verdicts"]) == {"c4_original", "rpj", "rw_original"}
    assert d["verdicts"]["rpj"].startswith("one eta fits all M")
    rpj = [row for row in d["table"] if row["train_dataset"] == "rpj"]
    assert [row["M"] for row in rpj] == [5, 10, 20, 40, 80, 160, 320, 640]
    assert all(0.11 < row["eta"] < 0.14 for row in rpj)
