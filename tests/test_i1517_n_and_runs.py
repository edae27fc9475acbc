"""Issue 15 item 3 (fit, audit and predict say which N they used; --params-col chooses it)
and issue 17 item 2 (the CLI audit points table carries the run id, as the report's does).
Old code: no --params-col on fit/audit (exit 2, 'no such option'), no word on N in text or
--json, a fit on n_params_nonembedding given an --at table with only n_params read the total
count as N silently, and the audit table showed bare row numbers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main

NOTE_TOTAL = (
    "N is the 'n_params' column (total parameters; the table also has n_params_nonembedding)"
)


def _table(tmp_path, nonemb: bool = True):
    rows = []
    for n in (2e7, 5e7, 1e8, 2e8, 5e8, 1e9):
        for d in (1e9, 3e9, 1e10, 3e10):
            ne = 0.7 * n
            loss = 1.7 + 400 / ne**0.34 + 410 / d**0.28
            rows.append({"run": f"m{n:.0e}-d{d:.0e}", "n_params": n, "tokens": d, "loss": loss})
            if nonemb:
                rows[-1]["n_params_nonembedding"] = ne
    p = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def _run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r


def test_fit_says_which_n_and_params_col_switches_it(tmp_path):
    p = _table(tmp_path)
    r = _run("fit", p, "--law", "chinchilla", "--quiet")
    assert r.exit_code == 0, r.output
    assert NOTE_TOTAL in r.stdout
    r = _run("fit", p, "--law", "chinchilla", "--json")
    tot = json.loads(r.stdout)
    assert tot["n_params_col"] == "n_params" and tot["columns"]["n_params"] == "n_params"
    r = _run(
        "fit",
        p,
        "--law",
        "chinchilla",
        "--params-col",
        "n_params_nonembedding",
        "--json",
        "--out",
        tmp_path / "ne.json",
    )
    assert r.exit_code == 0, r.output
    ne = json.loads(r.stdout)
    assert ne["n_params_col"] == "n_params_nonembedding"
    assert ne["notes"] == [
        "N is the 'n_params_nonembedding' column (non-embedding parameters, --params-col)"
    ]
    # the data were made with the non-embedding count: that fit recovers the exponent
    assert ne["params"]["alpha"] == pytest.approx(0.34, abs=0.01)
    saved = json.loads((tmp_path / "ne.json").read_text())
    assert saved["columns"]["n_params"] == "n_params_nonembedding"  # the fit file says it


def test_fit_without_a_second_count_says_nothing_and_params_col_conflicts(tmp_path):
    p = _table(tmp_path, nonemb=False)
    r = _run("fit", p, "--law", "chinchilla", "--quiet")
    assert r.exit_code == 0 and "N is" not in r.stdout
    r = _run("fit", p, "--law", "chinchilla", "--params-col", "n_params_nonembedding")
    assert r.exit_code == 2 and "--params-col 'n_params_nonembedding' is not in the data" in (
        r.output
    )
    r = _run(
        "fit",
        _table(tmp_path),
        "--law",
        "chinchilla",
        "--params-col",
        "n_params_nonembedding",
        "--map",
        "n_params=n_params",
    )
    assert r.exit_code == 2 and "--params-col and --map n_params=... both choose" in r.output


def test_predict_says_which_n_and_refuses_a_table_with_the_other_count(tmp_path):
    p = _table(tmp_path)
    fit_file = tmp_path / "ne.json"
    r = _run(
        "fit",
        p,
        "--law",
        "chinchilla",
        "--params-col",
        "n_params_nonembedding",
        "--out",
        fit_file,
        "--quiet",
    )
    assert r.exit_code == 0, r.output
    r = _run("predict", fit_file, "--set", "n_params=7e8", "--set", "tokens=1e10", "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["n_params_col"] == "n_params_nonembedding"
    assert "--set n_params is read as n_params_nonembedding" in obj["notes"][0]
    want = 1.7 + 400 / 7e8**0.34 + 410 / 1e10**0.28
    assert obj["predictions"][0]["prediction"] == pytest.approx(want, rel=2e-3)
    at = tmp_path / "at.csv"
    pd.DataFrame({"n_params": [1e9], "tokens": [1e10]}).to_csv(at, index=False)
    r = _run("predict", fit_file, "--at", at)
    assert r.exit_code == 2
    assert "the fit's N is 'n_params_nonembedding' (non-embedding parameters)" in r.output
    pd.DataFrame({"n_params": [1e9], "n_params_nonembedding": [7e8], "tokens": [1e10]}).to_csv(
        at, index=False
    )
    r = _run("predict", fit_file, "--at", at, "--json")
    assert json.loads(r.stdout)["predictions"][0]["prediction"] == pytest.approx(want, rel=2e-3)


def test_audit_says_which_n_and_names_the_run_of_each_point(tmp_path):
    p = _table(tmp_path)
    args = ("audit", p, "--law", "chinchilla", "--holdout", "n_params > 6e8", "--bootstrap", "0")
    r = _run(*args, "--quiet")
    assert r.exit_code == 0, r.output
    assert NOTE_TOTAL in r.stdout
    assert "m1e+09-d3e+10" in r.stdout  # the run id beside its row number
    r = _run(*args, "--params-col", "n_params_nonembedding", "--json")
    obj = json.loads(r.stdout)
    assert obj["n_params_col"] == "n_params_nonembedding"
    assert any("N is the 'n_params_nonembedding' column" in n for n in obj["notes"])
    pts = pd.DataFrame(obj["points"])
    assert list(pts.columns[: pts.columns.get_loc("run") + 1])[-2:] == ["row", "run"]
    data = pd.read_csv(p)
    assert (pts["run"].to_numpy() == data["run"].to_numpy()[pts["row"].to_numpy() - 1]).all()
    assert np.allclose(pts["truth"], data["loss"].to_numpy()[pts["row"].to_numpy() - 1])


def test_fit_bootstrap_resamples_whole_runs_of_a_checkpoint_table(tmp_path):
    """Issue 15 item 4 ('bootstrap resamples runs'): `fit --bootstrap` on 6 runs x 4
    checkpoints resampled the 24 rows as independent points (group_by None)."""
    rows = []
    for n in (2e7, 5e7, 1e8, 2e8, 5e8, 1e9):
        for step in (1000, 3000, 10000, 30000):
            d = step * 1e6
            rows.append({"model": f"m-{n:.0e}", "step": step, "n_params": n, "tokens": d,
                         "loss": 1.7 + 400 / n**0.34 + 410 / d**0.28})  # fmt: skip
    p = tmp_path / "ck.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    r = _run("fit", p, "--law", "chinchilla", "--bootstrap", "20", "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["intervals"]["group_by"] == "run"
    assert "the bootstrap resamples whole runs (6 runs, 24 checkpoints" in obj["notes"][0]
    r = _run("fit", p, "--law", "chinchilla", "--bootstrap", "20", "--group-by", "step",
             "--json")  # fmt: skip
    assert json.loads(r.stdout)["intervals"]["group_by"] == "step"
