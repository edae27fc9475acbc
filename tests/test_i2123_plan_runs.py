"""Issue 23: `plan --bootstrap` resamples whole runs where the fitted rows name them (a run
column, or a model's checkpoints), as forecast, ladder and audit do; it resampled rows, so a
run's checkpoints counted as independent observations and the intervals were too narrow."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
import scalinglab.fitting.bootstrap as bootstrap_mod
from scalinglab.cli import main
from scalinglab.errors import DataError
from scalinglab.workflows.planning import plan

BUDGET = 1e21


def _ten_runs_five_checkpoints() -> pd.DataFrame:
    """10 runs x 5 checkpoints; each run has its own offset (seed noise), shared by its
    checkpoints: exactly what resampling rows treats as 5 independent observations."""
    rng = np.random.default_rng(3)
    rows = []
    for i, n in enumerate(np.geomspace(2e7, 2e9, 10)):
        offset = 1 + 0.01 * rng.standard_normal()
        for f in (0.2, 0.4, 0.6, 0.8, 1.0):
            d = 20 * n * f * (1 + 0.5 * (i % 3))
            loss = (1.7 + 400 / n**0.34 + 410 / d**0.28) * offset
            rows.append({"run": f"r{i}", "step": int(f * 5000), "n_params": n, "tokens": d,
                         "loss": loss})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def drawn(monkeypatch):
    """The multiplicity matrices every bootstrap draws, recorded."""
    seen: list[np.ndarray] = []
    real = bootstrap_mod._draw

    def spy(*args, **kw):
        out = real(*args, **kw)
        seen.append(out)
        return out

    monkeypatch.setattr(bootstrap_mod, "_draw", spy)
    return seen


def _whole(counts: np.ndarray, labels: np.ndarray) -> bool:
    """True when every draw gives all rows of a group the same multiplicity."""
    return all(np.ptp(counts[:, labels == g], axis=1).max() == 0 for g in np.unique(labels))


def test_plan_bootstrap_draws_whole_runs(drawn):
    """Old: 50 rows drawn one by one; now each of the 40 draws holds whole runs."""
    df = _ten_runs_five_checkpoints()
    res = sl.fit(df, "chinchilla")
    pl = plan(res, BUDGET, n_bootstrap=40)
    counts = np.vstack(drawn)
    assert counts.shape == (40, 50)
    assert _whole(counts, df["run"].to_numpy())
    assert (counts.sum(axis=1) == 50).all()  # 10 runs drawn, 5 checkpoints each
    assert pl.interval["group_by"] == "run" and pl.interval["n_draws"] == 40
    assert "each drawing whole runs (10 runs, by 'run')" in pl.interval_note
    assert res.bootstrap_.n_groups == 10


def test_a_model_column_of_checkpoints_is_the_run(drawn):
    from tests.test_runs_checkpoints import checkpoints_table

    df = checkpoints_table()  # 7 models x 4 revisions, no run column
    res = sl.fit(df, "chinchilla")
    pl = plan(res, BUDGET, n_bootstrap=30)
    assert _whole(np.vstack(drawn), df["model"].to_numpy())
    assert pl.interval["group_by"] == "model"


def test_rows_without_runs_are_drawn_one_by_one_and_said(drawn):
    df = _ten_runs_five_checkpoints().drop(columns=["run", "step"])
    res = sl.fit(df, "chinchilla")
    pl = plan(res, BUDGET, n_bootstrap=30)
    assert not _whole(np.vstack(drawn), df["n_params"].to_numpy())
    assert "each drawing rows (each row its own run)" in pl.interval_note
    with pytest.raises(DataError, match="add n_bootstrap"):
        plan(res, BUDGET, group_by="n_params")


def test_cli_plan_from_a_fit_file_says_rows_and_groups_with_group_by(tmp_path, drawn):
    p = tmp_path / "runs.csv"
    _ten_runs_five_checkpoints().to_csv(p, index=False)
    fit_file = tmp_path / "fit.json"
    r = CliRunner().invoke(main, ["fit", str(p), "--law", "chinchilla", "--out", str(fit_file)])
    assert r.exit_code == 0, r.output
    base = ["plan", str(fit_file), "--budget", "1e21", "--bootstrap", "30", "--json"]
    r = CliRunner().invoke(main, base)
    assert r.exit_code == 0, r.output
    note = json.loads(r.stdout)["interval_note"]
    assert "the fit file keeps no run column" in note and "--group-by n_params" in note
    drawn.clear()
    r = CliRunner().invoke(main, [*base, "--group-by", "n_params"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["interval"]["group_by"] == "n_params"
    sizes = _ten_runs_five_checkpoints()["n_params"].to_numpy()
    assert _whole(np.vstack(drawn), sizes)


def test_stored_run_draws_are_not_silently_replaced_by_row_draws(tmp_path):
    """A fit file whose draws resampled runs keeps no run labels: a new bootstrap of it
    would draw rows; refused with the way out."""
    p = tmp_path / "runs.csv"
    _ten_runs_five_checkpoints().to_csv(p, index=False)
    fit_file = tmp_path / "fit.json"
    r = CliRunner().invoke(
        main,
        ["fit", str(p), "--law", "chinchilla", "--bootstrap", "20", "--group-by", "run",
         "--out", str(fit_file), "--quiet"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["plan", str(fit_file), "--budget", "1e21", "--bootstrap", "20"])
    assert r.exit_code != 0 and "keeps no group labels" in " ".join(r.output.split())
    # its stored draws still plan, and say they were drawn by run
    r = CliRunner().invoke(main, ["plan", str(fit_file), "--budget", "1e21", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["interval"]["group_by"] == "run"
