"""Bootstrap intervals, held-out validation, extrapolation audits, compute accounting."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import DataError, MissingColumnError
from scalinglab.workflows import compare_laws, holdout, leave_largest_out, leave_one_group_out
from tests.conftest import shared_file

EPOCH_CI = {"alpha": (0.317, 0.373), "beta": (0.331, 0.415)}


@pytest.fixture(scope="module")
def chinchilla_fit(chinchilla_240):
    return sl.fit(chinchilla_240, "chinchilla")


def test_bootstrap_intervals_overlap_epoch(chinchilla_fit):
    boot = chinchilla_fit.bootstrap(1000, seed=42)
    assert boot.n_resamples == 1000 and boot.usable.sum() >= 990
    iv = boot.intervals(0.95)
    for name, (lo, hi) in EPOCH_CI.items():
        assert iv.loc[name, "lower"] < hi and iv.loc[name, "upper"] > lo  # overlap
        assert iv.loc[name, "lower"] == pytest.approx(lo, abs=0.01)
        assert iv.loc[name, "upper"] == pytest.approx(hi, abs=0.01)


def test_warm_bootstrap_draws_are_optima_of_their_resample(chinchilla_fit, chinchilla_240):
    boot = chinchilla_fit.bootstrap(20, seed=7)
    from scalinglab.fitting.bootstrap import resample_counts

    counts = resample_counts(240, 20, np.random.default_rng(7))
    for b in (0, 5, 13):
        ref = sl.fit(chinchilla_240, "chinchilla", weights=counts[b])
        assert boot.objective[b] <= ref.objective_ * (1 + 1e-7)
        assert boot.params[b, 3] == pytest.approx(ref.params_["alpha"], rel=1e-4)


def test_grid_bootstrap_agrees_with_warm(chinchilla_fit):
    warm = chinchilla_fit.bootstrap(60, seed=3)
    grid = chinchilla_fit.bootstrap(60, seed=3, method="grid")
    assert np.all(grid.objective <= warm.objective * (1 + 1e-7))
    np.testing.assert_allclose(np.median(grid.params, 0), np.median(warm.params, 0), rtol=1e-3)


def test_bootstrap_is_reproducible(chinchilla_fit):
    a = chinchilla_fit.bootstrap(50, seed=1).params
    b = chinchilla_fit.bootstrap(50, seed=1).params
    c = chinchilla_fit.bootstrap(50, seed=2).params
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def _sim(seed=0, noise=0.02, n_sizes=6, reps=4):
    rng = np.random.default_rng(seed)
    x = np.repeat(np.geomspace(1e3, 1e6, n_sizes), reps)
    truth = {"E": 0.5, "A": 20.0, "alpha": 0.3}
    law = sl.get_law("power_law")
    y = law.evaluate(truth, {"x": x}) * np.exp(noise * rng.standard_normal(x.size))
    return pd.DataFrame({"x": x, "y": y}), truth


def test_group_bootstrap_resamples_whole_groups():
    df, _ = _sim()
    res = sl.fit(df, "power_law")
    from scalinglab.fitting.bootstrap import resample_counts

    counts = resample_counts(len(df), 30, np.random.default_rng(0), df["x"].to_numpy())
    for row in counts:  # equal multiplicity within each group, 6 groups drawn in total
        for g in np.unique(df["x"]):
            assert len(set(row[df["x"] == g])) == 1
        assert row.sum() == len(df)
    boot = res.bootstrap(200, group_by="x")
    assert boot.group_by == "x" and boot.n_groups == 6
    iv = boot.intervals()
    assert iv.loc["alpha", "lower"] < 0.3 < iv.loc["alpha", "upper"]


def test_predict_with_interval():
    df, truth = _sim()
    res = sl.fit(df, "power_law")
    out = res.predict({"x": [1e7, 1e8]}, interval=0.9)
    assert list(out.columns) == ["prediction", "lower", "upper"]
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()
    wide = res.predict({"x": [1e7, 1e8]}, interval=0.9, kind="prediction")
    assert (wide["upper"] - wide["lower"] > out["upper"] - out["lower"]).all()


def test_prediction_interval_calibration():
    """90% prediction intervals hold a new run's value ~90% of the time (benchmark: exact)."""
    law = sl.get_law("power_law")
    truth = {"E": 0.5, "A": 20.0, "alpha": 0.3}
    hits = []
    for rep in range(60):
        df, _ = _sim(seed=100 + rep, noise=0.02)
        res = sl.fit(df, law)
        res.bootstrap(300, seed=rep)
        x_new = np.array([3e4, 3e5])
        rng = np.random.default_rng(10_000 + rep)
        y_new = law.evaluate(truth, {"x": x_new}) * np.exp(0.02 * rng.standard_normal(2))
        pi = res.predict({"x": x_new}, interval=0.9, kind="prediction")
        hits.extend((pi["lower"] <= y_new) & (y_new <= pi["upper"]))
    assert 0.75 <= np.mean(hits) <= 0.99


def test_gadre_paper_preset_reproduces_published_errors():
    df = sl.read_table(shared_file("gadre2024", "runs.csv"))
    audit = holdout(
        df,
        "overtrain",
        "paper_role == 'heldout'",
        fit_where="paper_role == 'fit_both'",
        by="train_dataset",
        preset="paper",
        metric="loss_c4_val",
        n_bootstrap=0,
    )
    rpj = audit.points[audit.points["fold"] == "rpj"].sort_values("row")
    assert [round(v * 100, 2) for v in rpj["rel_error"]] == [0.71, 0.73]
    assert [round(v) for v in rpj["compute_ratio"]] == [330, 236]
    assert rpj["prediction"].round(4).tolist() == [2.5198, 2.4427]
    assert len(audit.folds) == 3  # every training set is audited


def test_holdout_reports_mad_and_relative_error():
    df, truth = _sim(noise=0.0)
    audit = holdout(df, "power_law", "x > 2e5", n_bootstrap=100)
    assert audit.folds.loc[0, "n_test"] == 8
    assert audit.folds.loc[0, "mad"] < 1e-6 and audit.folds.loc[0, "mean_rel_error"] < 1e-6
    assert set(audit.points.columns) >= {
        "truth",
        "prediction",
        "abs_error",
        "rel_error",
        "lower",
        "upper",
        "inside",
    }


def test_leave_largest_out_curve_and_law_comparison():
    rng = np.random.default_rng(0)
    x = np.repeat(np.geomspace(1e8, 1e10, 6), 5)
    df_ = np.tile(np.geomspace(1e3, 1e6, 5), 6)
    law = sl.get_law("finetune_multiplicative")
    truth = {"A": 150.0, "alpha": 0.2, "beta": 0.1, "E": 1.0}
    y = law.evaluate(truth, {"x": x, "finetune_size": df_}) * np.exp(
        0.002 * rng.standard_normal(x.size)
    )
    data = pd.DataFrame({"n_params": x, "finetune_size": df_, "loss": y})
    audit = leave_largest_out(
        data,
        ["finetune_multiplicative", "finetune_additive"],
        "n_params",
        mapping={"x": "n_params"},
        n_bootstrap=0,
    )
    pts = audit.points
    assert (pts["distance"] > 0).all()
    assert set(audit.folds["law"]) == {"finetune_multiplicative", "finetune_additive"}
    by_law = audit.by_law()
    assert by_law.loc["finetune_multiplicative", "mad"] < by_law.loc["finetune_additive", "mad"]
    table = compare_laws(
        data,
        ["finetune_multiplicative", "finetune_additive"],
        query="n_params > 5e9",
        mapping={"x": "n_params"},
        n_bootstrap=0,
    )
    assert table["mad"].idxmin() == "finetune_multiplicative"


def test_leave_one_group_out_and_compute_ratio():
    df = sl.read_table(shared_file("chinchilla", "points.csv"))
    df = df.assign(size_bin=np.digitize(np.log10(df["n_params"]), [8, 9, 10]))
    audit = leave_one_group_out(df, "chinchilla", "size_bin", n_bootstrap=0)
    assert len(audit.folds) == df["size_bin"].nunique()
    ratios = audit.points["compute_ratio"]
    assert np.isfinite(ratios).all() and (ratios > 0).all()


def test_audit_bad_input():
    df, _ = _sim()
    with pytest.raises(DataError, match="selects no rows"):
        holdout(df, "power_law", "x > 1e12")
    with pytest.raises(DataError, match="selects every row"):
        holdout(df, "power_law", "x > 0")
    with pytest.raises(DataError, match="single group"):
        leave_one_group_out(df.assign(g=1), "power_law", "g")
    res = sl.fit(df, "power_law")
    with pytest.raises(DataError, match="at least 2 groups"):
        res.frame_ = df.assign(g=1)
        res.bootstrap(10, group_by="g")
    with pytest.raises(DataError, match=">= 1"):
        res.bootstrap(0)
    with pytest.raises(MissingColumnError, match="nope"):
        res.bootstrap(10, group_by="nope")


def test_cli_fit_bootstrap_and_audit_json(tmp_path):
    df, _ = _sim()
    p = tmp_path / "runs.csv"
    df.to_csv(p, index=False)
    r = CliRunner().invoke(
        main,
        ["fit", str(p), "--law", "power_law", "--bootstrap", "200", "--group-by", "x", "--json"],
    )
    assert r.exit_code == 0, r.output
    iv = json.loads(r.stdout)["intervals"]
    assert iv["n_resamples"] == 200 and iv["group_by"] == "x"
    assert iv["params"]["alpha"]["lower"] < 0.3 < iv["params"]["alpha"]["upper"]
    r = CliRunner().invoke(
        main,
        [
            "audit",
            str(p),
            "--law",
            "power_law",
            "--holdout",
            "x > 2e5",
            "--bootstrap",
            "100",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["kind"] == "holdout" and len(obj["points"]) == 8 and obj["summary"][0]["n_fit"] == 16
    r = CliRunner().invoke(
        main, ["fit", str(p), "--law", "power_law", "--bootstrap", "0", "--group-by", "x"]
    )
    assert r.exit_code == 2 and "--bootstrap" in r.stderr
