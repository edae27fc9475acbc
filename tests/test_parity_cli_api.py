"""Issue 23 item 2: the CLI and the Python API on the same file give the same result.

task     CLI                                                 API
fit      fit t.csv --law chinchilla --out f.json             sl.fit("t.csv" | a DataFrame)
fit      ... --where "tokens >= 1e9"                         sl.fit(..., where=...)
predict  predict f.json --set n_params=70B --set tokens=1.4T FitResult.from_json(f).predict
predict  ... --interval 0.9 --json (bootstrapped fit file)   .predict(..., interval=0.9)
predict  ... --at targets.csv --json                         .predict(sl.read_table(targets))
inspect  inspect t.csv [--where Q] --json                    sl.inspect_table("t.csv", ...)
merge    merge e.csv m.csv --on run [--where Q]              merge_files(e, m, "run", ...)
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.fitting import FitResult
from scalinglab.workflows.merge_files import merge_files


def _invoke(*args: object):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A Chinchilla-shaped table written with the user's own names (N, D, val_loss) and
    unit suffixes, as a user's file would be."""
    rng = np.random.default_rng(3)
    sizes = ["10M", "30M", "100M", "300M", "1B", "2B"]
    n = np.repeat([1e7, 3e7, 1e8, 3e8, 1e9, 2e9], 6)
    d = np.tile(np.geomspace(2e8, 1e11, 6), 6)
    loss = (1.8 + 480 / n**0.35 + 2100 / d**0.37) * np.exp(rng.normal(0, 0.01, n.size))
    df = pd.DataFrame({"N": np.repeat(sizes, 6), "D": d, "val_loss": loss})
    folder = tmp_path_factory.mktemp("parity")
    p = folder / "t.csv"
    df.to_csv(p, index=False)
    return folder, p, pd.DataFrame({"N": n, "D": d, "val_loss": loss})


@pytest.fixture(scope="module")
def fit_file(table):
    folder, p, _ = table
    out = folder / "f.json"
    _invoke("fit", p, "--law", "chinchilla", "--out", out, "--quiet")
    return out


def test_fit_cli_equals_api_on_the_file_and_on_a_dataframe(table, fit_file):
    _, p, frame = table
    cli = FitResult.from_json(fit_file)
    api_file = sl.fit(p, "chinchilla")
    api_frame = sl.fit(frame, "chinchilla")
    assert cli.params_ == pytest.approx(api_file.params_, rel=1e-9)
    assert api_frame.params_ == pytest.approx(api_file.params_, rel=1e-9)
    assert cli.n_points_ == api_file.n_points_ == api_frame.n_points_ == 36
    assert cli.objective_ == pytest.approx(api_file.objective_, rel=1e-9)


def test_fit_with_where_cli_equals_api(table):
    folder, p, frame = table
    out = folder / "fw.json"
    _invoke("fit", p, "--law", "chinchilla", "--where", "tokens >= 1e9", "--out", out, "--quiet")
    cli = FitResult.from_json(out)
    api = sl.fit(frame, "chinchilla", where="D >= 1e9")
    assert cli.n_points_ == api.n_points_ == 24
    assert cli.params_ == pytest.approx(api.params_, rel=1e-9)


def test_predict_cli_equals_api_with_suffixes(fit_file):
    r = _invoke("predict", fit_file, "--set", "n_params=70B", "--set", "tokens=1.4T", "--json")
    cli = json.loads(r.stdout)["predictions"][0]["prediction"]
    res = FitResult.from_json(fit_file)
    api = res.predict({"n_params": "70B", "tokens": "1.4T"})
    assert cli == pytest.approx(float(np.asarray(api)[0]), rel=1e-12)
    assert cli == pytest.approx(float(res.predict({"N": 70e9, "D": 1.4e12})[0]), rel=1e-12)


def test_predict_interval_cli_equals_api(table):
    folder, p, _ = table
    out = folder / "fb.json"
    _invoke("fit", p, "--law", "chinchilla", "--bootstrap", 100, "--out", out, "--quiet")
    r = _invoke(
        "predict", out, "--set", "n_params=70B", "--set", "tokens=1.4T", "--interval", 0.9, "--json"
    )
    obj = json.loads(r.stdout)
    row = obj["predictions"][0]
    band = FitResult.from_json(out).predict({"n_params": "70B", "tokens": "1.4T"}, interval=0.9)
    assert band.attrs["level"] == 0.9
    # the draws the interval used (a draw that did not converge is left out), as the API says
    assert obj["interval"]["level"] == 0.9
    assert obj["interval"]["n_resamples"] == band.attrs["n_resamples"] <= 100
    assert row["prediction"] == pytest.approx(band["prediction"].iloc[0], rel=1e-12)
    assert row["lower"] == pytest.approx(band["lower"].iloc[0], rel=1e-12)
    assert row["upper"] == pytest.approx(band["upper"].iloc[0], rel=1e-12)
    assert row["lower"] < row["prediction"] < row["upper"]


def test_predict_at_a_table_cli_equals_api(table, fit_file):
    folder, _, _ = table
    targets = folder / "targets.csv"
    targets.write_text("N,D\n70B,1.4T\n1B,20B\n")
    r = _invoke("predict", fit_file, "--at", targets, "--json")
    cli = [row["prediction"] for row in json.loads(r.stdout)["predictions"]]
    api = FitResult.from_json(fit_file).predict(sl.read_table(targets))
    assert cli == pytest.approx(np.asarray(api).tolist(), rel=1e-12)


def _ladder(folder):
    rows = [
        {
            "run": f"r{i}",
            "step": s,
            "tokens": s * 1000,
            "n_params": 1e7 * 2**i,
            "loss": 3 + 1 / (1 + s),
        }
        for i in range(4)
        for s in range(0, 50, 10)
    ]
    p = folder / "ladder.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


@pytest.mark.parametrize("where", [None, "step > 0"])
def test_inspect_cli_equals_api(table, where):
    folder, _, _ = table
    p = _ladder(folder)
    args = ["inspect", p, "--json", "--no-outliers"] + (["--where", where] if where else [])
    cli = json.loads(_invoke(*args).stdout)
    api = json.loads(json.dumps(sl.inspect_table(p, outliers=False, where=where), default=str))
    for key in ("rows", "runs", "bad_values", "columns", "ranges", "laws", "where"):
        assert cli[key] == api[key], key
    assert cli["runs"]["runs"] == 4
    assert cli["runs"]["checkpoints"] == (20 if where is None else 16)
    assert len(cli["bad_values"]) == (0 if where else 1)


@pytest.mark.parametrize("where", [None, "tokens > 0"])
def test_merge_cli_equals_api(table, where):
    folder, _, _ = table
    evals = _ladder(folder)
    meta = folder / "meta.csv"
    meta.write_text("run,size,lr\nr0,10M,1e-3\nr1,20M,1e-3\nr2,40M,5e-4\nr9,1B,1e-4\n")
    out = folder / "merged.csv"
    extra = ["--where", where] if where else []
    r = _invoke("merge", evals, meta, "--on", "run", "-o", out, "--force", *extra)
    api, report = merge_files(evals, meta, "run", where=where)
    cli = pd.read_csv(out, dtype={"size": str})
    pd.testing.assert_frame_equal(cli, api.reset_index(drop=True), check_dtype=False)
    for line in report.lines() + report.finding_lines():
        assert line in r.output.replace("\n", " ") or line in r.output
    assert set(cli["size"]) == {"10M", "20M", "40M"}
    assert len(cli) == (15 if where is None else 12)
