"""Runs vs checkpoints (issue 15 item 4) and filter-first validation (item 5) in forecast,
ladder and audit: a run's checkpoints are one run, not many."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.errors import DataError, OutOfRangeError
from scalinglab.workflows.audit import holdout, leave_one_group_out
from scalinglab.workflows.checkpoints import (
    flops_per_run,
    run_ids,
    select_checkpoints,
    whole_runs,
)
from scalinglab.workflows.downstream import forecast

SIZES = [2e7, 4e7, 8e7, 1.6e8, 3.2e8, 6.4e8, 1.28e9]
FRACS = [0.25, 0.5, 0.75, 1.0]


def checkpoints_table(seed: int = 0) -> pd.DataFrame:
    """7 runs x 4 checkpoints: loss from a Chinchilla law, error from loss (Gadre's form)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in SIZES:
        for i, f in enumerate(FRACS):
            d = 20 * n * f
            loss = 1.7 + 400 / n**0.34 + 410 / d**0.28
            err = 0.95 - 3 * np.exp(-0.5 * loss)
            rows.append(
                {
                    "model": f"acme/m-{n:.3g}",
                    "revision": f"step{(i + 1) * 1000}",
                    "step": (i + 1) * 1000,
                    "n_params": n,
                    "tokens": d,
                    "loss": loss * (1 + 0.003 * rng.standard_normal()),
                    "error": err + 0.003 * rng.standard_normal(),
                }
            )
    return pd.DataFrame(rows)


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_run_identity_from_the_model_without_revision():
    """Old: no notion of a run; 'model@step1000' ids made every checkpoint its own run."""
    df = pd.DataFrame({"model": ["a@step1", "a@step2", "b,revision=step9", "c-step-1431k-3T"]})
    assert run_ids(df).tolist() == ["a", "a", "b", "c"]
    df["run"] = ["r1", "r1", "r2", "r2"]
    assert run_ids(df).tolist() == ["r1", "r1", "r2", "r2"]  # an explicit run column wins
    assert run_ids(df.assign(exp=["x", "y", "y", "y"]), "exp").tolist() == ["x", "y", "y", "y"]
    assert whole_runs(np.array([False, True, False, False]), run_ids(df)).tolist() == [
        True,
        True,
        False,
        False,
    ]


def test_compute_ratio_counts_each_run_once():
    """Old: the fit set's FLOPs summed every checkpoint of a run ('predicted from 7.5x more
    compute'); now each run counts once, at its largest checkpoint."""
    df = checkpoints_table()
    runs = run_ids(df)
    want = sum(6 * n * 20 * n for n in SIZES)
    assert flops_per_run(df, runs) == pytest.approx(want)
    res = forecast(
        df,
        "n_params > 1e9 and step == 4000",
        loss_law="chinchilla",
        n_bootstrap=0,
        calibrate=False,
    )
    t = res.targets
    small = sum(6 * n * 20 * n for n in SIZES[:-1])
    big = 6 * SIZES[-1] * 20 * SIZES[-1]
    assert t["compute_ratio_loss"].iloc[0] == pytest.approx(big / small)
    # the target run's earlier checkpoints are left out of the fits too (no leak)
    assert res.loss_fit.n_points_ == 24
    assert any("3 other checkpoint(s) are left out" in n for n in res.notes)
    assert any("6 runs, 24 checkpoints" in n for n in res.notes)


def test_bootstrap_resamples_runs_not_checkpoints(monkeypatch):
    """A resample draws whole runs: the groups are the runs (from the model id without its
    revision), so every checkpoint of a run gets the same count."""
    import scalinglab.workflows.downstream as ds

    seen = {}
    real = ds.resample_counts

    def spy(n, b, rng, groups=None):
        seen["groups"] = groups
        return real(n, b, rng, groups=groups)

    monkeypatch.setattr(ds, "resample_counts", spy)
    df = checkpoints_table().assign(model=lambda d: d["model"] + "@" + d["revision"])
    forecast(df, "n_params > 1e9", loss_law="chinchilla", n_bootstrap=20, calibrate=False)
    groups = pd.Series(seen["groups"])
    assert groups.nunique() == 6 and (groups.value_counts() == 4).all()
    assert not groups.str.contains("@").any()


def test_final_only_and_min_tokens_say_what_they_drop():
    df = checkpoints_table()
    out, notes = select_checkpoints(df, final_only=True)
    assert len(out) == 7 and (out["step"] == 4000).all()
    assert notes == [
        "--final-only: kept the last checkpoint of each of 7 run(s) (21 earlier checkpoint(s) "
        "dropped)"
    ]
    out, notes = select_checkpoints(df, min_tokens=20 * 4e7 * 0.5)
    # every checkpoint below 4e8 tokens: 3 of 2e7 (all but none?), computed directly
    n_drop = int((df["tokens"] < 20 * 4e7 * 0.5).sum())
    assert len(out) == len(df) - n_drop and n_drop > 0
    assert notes[0].startswith(f"--min-tokens 4e+08: dropped {n_drop} warm-up checkpoint(s)")


def test_audit_holds_out_whole_runs():
    """Old: a holdout query on tokens held out late checkpoints but fitted the same runs'
    early ones; now a held-out run is held out with all its checkpoints."""
    df = checkpoints_table()
    aud = holdout(df, "chinchilla", "n_params > 5e8 and step == 4000", n_bootstrap=0)
    f = aud.folds.iloc[0]
    assert f["n_fit"] == 20 and f["n_test"] == 8  # 5 runs fitted, 2 runs x 4 checkpoints held
    # leaving out one step value would hold out every run (all share the steps): refused
    with pytest.raises(DataError, match="every step group touches every run"):
        leave_one_group_out(df, "chinchilla", "step", n_bootstrap=0)
    aud = leave_one_group_out(df, "chinchilla", "model", n_bootstrap=0)
    assert len(aud.folds) == 7 and (aud.folds["n_test"] == 4).all()
    assert any("7 runs, 28 checkpoints" in n for n in aud.notes)


def test_audit_final_only_and_compute_ratio_per_run():
    df = checkpoints_table()
    aud = holdout(df, "chinchilla", "n_params > 1e9", n_bootstrap=0, final_only=True)
    f = aud.folds.iloc[0]
    assert f["n_fit"] == 6 and f["n_test"] == 1
    big = 6 * SIZES[-1] * 20 * SIZES[-1]
    assert aud.points["compute_ratio"].iloc[0] == pytest.approx(
        big / sum(6 * n * 20 * n for n in SIZES[:-1])
    )


def test_cli_filters_before_validating_and_says_values_plainly(tmp_path):
    """Old: the CLI validated every row before --where, so a step-0 row (tokens = 0) refused
    the whole file; an accuracy column in percent the command does not use blocked it too;
    messages showed np.float64(0.0)."""
    df = checkpoints_table()
    zero = df.iloc[[0]].assign(tokens=0.0, step=0, revision="step0")
    bad = pd.concat([zero, df], ignore_index=True).assign(accuracy_pct=55.0)
    p = tmp_path / "ck.csv"
    bad.to_csv(p, index=False)
    r = _run(
        "forecast", p, "--where", "tokens > 0", "--target-where", "n_params > 1e9 and step == 4000",
        "--loss-law", "chinchilla", "--bootstrap", "0", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["targets"][0]["n_params"] == 1.28e9
    r = _run(
        "forecast", p, "--target-where", "n_params > 1e9 and step == 4000",
        "--loss-law", "chinchilla", "--bootstrap", "0",
    )  # fmt: skip
    assert r.exit_code == 2 and "np.float64" not in r.output
    assert "row 1" in r.output and "tokens" in r.output
    # an accuracy in percent, used: named, with the hint and the row
    pct = df.assign(accuracy=100 * (1 - df["error"])).drop(columns="error")
    pct.to_csv(p, index=False)
    r = _run(
        "forecast", p, "--acc-col", "accuracy", "--target-where", "n_params > 1e9",
        "--loss-law", "chinchilla", "--bootstrap", "0",
    )  # fmt: skip
    assert r.exit_code == 2 and "OutOfRangeError" in r.output
    assert "looks like percent" in r.output and "np.float64" not in r.output
    assert re.search(r"value \d+(\.\d+)? is outside", r.output)
    assert issubclass(OutOfRangeError, Exception)


def test_audit_cli_where_first_whole_runs_and_final_only(tmp_path):
    """Old: `audit --where` read (and validated) every row first, so a step-0 row refused the
    file; a held-out run's other checkpoints stayed in the fit set."""
    df = checkpoints_table()
    zero = df.iloc[[0]].assign(tokens=0.0, step=0, revision="step0")
    p = tmp_path / "ck.csv"
    pd.concat([zero, df], ignore_index=True).assign(acc_pct=55.0).to_csv(p, index=False)
    base = ["audit", p, "--law", "chinchilla", "--where", "tokens > 0", "--bootstrap", "0"]
    r = _run(*base, "--holdout", "n_params > 1e9 and step == 4000", "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.output)
    assert obj["summary"][0]["n_fit"] == 24 and obj["summary"][0]["n_test"] == 4
    assert any("7 runs, 28 checkpoints" in n for n in obj["notes"])
    r = _run(*base, "--holdout", "n_params > 1e9", "--final-only")
    assert r.exit_code == 0, r.output
    assert "kept the last checkpoint of each of 7 run(s)" in r.output
    r = _run(*base, "--leave-one-group-out", "step", "--min-step", "2000")
    assert r.exit_code == 2 and "every step group touches every run" in r.output
