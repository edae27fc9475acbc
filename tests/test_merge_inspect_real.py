"""merge and inspect on real tables (issue 23 items 4-5, issue 15 items 4-5): blank keys join
as in pandas, labels stay as written, --where selects before any check, rows breaking the
schema's rules are findings (count, first rows, column) and the table is still used, and
inspect counts runs and checkpoints rather than rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import NonPositiveValueError
from scalinglab.inspect import inspect_table
from scalinglab.io import merge_runs
from scalinglab.workflows.merge_files import merge_files
from tests.conftest import shared_file


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_olmo_tasks_join_checkpoints_on_run_and_step(tmp_path):
    """Old code: the whole tasks table was refused (tokens 0 at step 0, 40 rows); before
    that, the blank step of 7B-4T-anneal ended in a TypeError."""
    tasks = shared_file("olmo_ladder", "tasks.csv")
    ck = shared_file("olmo_ladder", "checkpoints.csv")
    out = tmp_path / "joined.csv"
    r = _invoke("merge", str(tasks), str(ck), "--on", "run,step", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "joined on run, step: 77000 rows matched (77000 eval rows, 3850 metadata rows)" in (
        r.stdout
    )
    assert "20 row(s) joined on a blank step (a blank matches a blank, as in pandas)" in r.stderr
    assert "'tokens' must be > 0: 40 row(s) break it: row 71381 (0)" in r.stderr
    got = pd.read_csv(out)
    want = pd.read_csv(tasks).merge(
        pd.read_csv(ck), on=["run", "step"], how="inner", suffixes=("", "_meta")
    )
    assert len(got) == len(want) == 77000
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    anneal = got[got["run"] == "7B-4T-anneal"]
    assert len(anneal) == 20 and anneal["step"].isna().all()
    assert anneal["loss_c4_en"].unique().tolist() == [2.48291826]
    # whole steps stay whole (pandas would write 50.0 for a column with blanks)
    assert out.read_text().splitlines()[1].startswith("190M-0.5xC,50,26214400,")


def test_olmo_merge_keeps_labels_as_written_and_filters_first(tmp_path):
    """size '190M' was written back as 190000000.0 (it was parsed as a number on read)."""
    tasks = shared_file("olmo_ladder", "tasks.csv")
    runs = shared_file("olmo_ladder", "runs.csv")
    out = tmp_path / "t.csv"
    r = _invoke(
        "merge", str(tasks), str(runs), "--on", "run", "--where", "tokens > 0", "-o", str(out)
    )
    assert r.exit_code == 0, r.output
    assert "--where 'tokens > 0' kept 76960 of 77000 joined rows" in r.stderr
    assert "finding" not in r.stderr  # the 40 step-0 rows were selected away first
    got = pd.read_csv(out, dtype={"size": str})
    assert len(got) == 76960 and (got["tokens"] > 0).all()
    assert set(got["size"]) == {"190M", "370M", "760M", "1.3B", "3.2B", "7B", "13B"}


def test_blank_keys_match_blank_keys_and_are_counted():
    evals = pd.DataFrame(
        {"run": ["a", "a", "b", "b"], "step": [1.0, 2.0, np.nan, 3.0], "acc": [0.3, 0.4, 0.5, 0.6]}
    )
    meta = pd.DataFrame({"run": ["a", "a", "b"], "step": [1, 2, np.nan], "lr": [1.0, 0.5, 0.1]})
    merged, rep = merge_runs(evals, meta, ["run", "step"])
    assert merged["lr"].tolist() == [1.0, 0.5, 0.1]
    assert rep.n_matched == 3 and rep.n_blank_key_rows == 1 and rep.blank_key_columns == ["step"]
    assert rep.unmatched_left == ["b | 3.0"] and rep.unmatched_right == []
    assert "1 row(s) joined on a blank step" in rep.finding_lines()[0]
    pd.testing.assert_frame_equal(merged, evals.merge(meta, on=["run", "step"]), check_dtype=False)


def test_merge_keys_written_as_number_and_with_a_suffix_match():
    evals = pd.DataFrame({"n_params": ["70M", "1.4B"], "acc": [0.3, 0.5]})
    meta = pd.DataFrame({"n_params": [70e6, 1.4e9], "layers": [6, 24]})
    merged, rep = merge_runs(evals, meta, "n_params")
    assert rep.complete and merged["layers"].tolist() == [6, 24]


def test_merge_duplicate_metadata_keys_named_without_building_keys_by_row():
    meta = pd.DataFrame({"run": ["a", "a", "b"], "step": [1, 1, 2]})
    with pytest.raises(sl.errors.DataError, match=r"1 duplicated key.*'a \| 1' \(2 rows\)"):
        merge_runs(meta, meta, ["run", "step"])


def test_merge_findings_name_the_rows_and_the_api_returns_them(tmp_path):
    ev = tmp_path / "e.csv"
    ev.write_text("model,accuracy\na,0.5\nb,1.7\nc,0.2\n")
    meta = tmp_path / "m.csv"
    meta.write_text("model,n_params,tokens\na,70M,0\nb,160M,3.2e9\nc,410M,8.2e9\n")
    merged, rep = merge_files(ev, meta, "model")
    assert len(merged) == 3 and merged["n_params"].tolist() == ["70M", "160M", "410M"]
    found = {b.column: b for b in rep.bad_values}
    assert found["tokens"].rows == (1,) and found["tokens"].count == 1
    assert found["accuracy"].rows == (2,) and found["accuracy"].values == (1.7,)
    merged, rep = merge_files(ev, meta, "model", where="tokens > 0 and accuracy <= 1")
    assert merged["model"].tolist() == ["c"] and rep.bad_values == []


def _checkpoints_table() -> pd.DataFrame:
    sizes = [70e6, 160e6, 410e6, 1e9, 1.4e9, 2.8e9, 6.9e9]
    steps = np.arange(0, 27) * 5000
    rows = [
        {
            "run": f"pythia-{i}",
            "n_params": n,
            "step": s,
            "tokens": s * 2_097_152,
            "loss": 2 + 10 / (1 + s / 1000),
        }
        for i, n in enumerate(sizes)
        for s in steps
    ]
    return pd.DataFrame(rows)


def test_inspect_counts_runs_and_checkpoints_and_filters_before_checking(tmp_path):
    """Old code: inspect refused the whole file (tokens 0 at step 0) and counted rows only."""
    p = tmp_path / "ck.csv"
    _checkpoints_table().to_csv(p, index=False)
    r = _invoke("inspect", str(p), "--no-outliers")
    assert r.exit_code == 0, r.output
    assert "7 runs, 189 checkpoints" in r.stdout
    assert "'tokens' must be > 0: 7 row(s) break it: row 1 (0), row 28 (0), row 55 (0)" in (
        r.stderr
    )
    r = _invoke("inspect", str(p), "--no-outliers", "--where", "step > 0", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["rows"] == 182 and rep["where"] == {"query": "step > 0", "rows_before": 189}
    assert rep["bad_values"] == []
    assert rep["runs"]["runs"] == 7 and rep["runs"]["checkpoints"] == 182


def test_inspect_api_on_a_path_agrees_with_the_cli(tmp_path):
    p = tmp_path / "ck.csv"
    _checkpoints_table().to_csv(p, index=False)
    api = inspect_table(p, outliers=False)
    cli = json.loads(_invoke("inspect", str(p), "--no-outliers", "--json").stdout)
    assert api["bad_values"] == cli["bad_values"] and api["runs"] == cli["runs"]
    assert api["bad_values"][0]["count"] == 7 and api["bad_values"][0]["rows"][:2] == [1, 28]


def test_fitting_still_refuses_bad_rows_with_a_plain_number(tmp_path):
    p = tmp_path / "ck.csv"
    _checkpoints_table().to_csv(p, index=False)
    with pytest.raises(NonPositiveValueError) as exc:
        sl.read_table(p)
    msg = str(exc.value)
    assert "value 0 is not positive; 'tokens' must be > 0 (7 such rows)" in msg
    assert "np.float64" not in msg and "row 1 (line 2)" in msg


def test_whole_number_keys_stay_whole_when_one_side_has_blanks(tmp_path):
    ev = tmp_path / "e.csv"
    ev.write_text("run,step,acc\na,50,0.3\na,,0.4\nb,100,0.5\n")
    meta = tmp_path / "m.csv"
    meta.write_text("run,step,lr\na,50,1e-3\nb,100,5e-4\n")
    merged, rep = merge_files(ev, meta, "run,step", how="left")
    assert merged["step"].tolist()[0] == 50 and str(merged["step"].dtype) == "Int64"
    assert rep.unmatched_left == ["a | (blank)"] and rep.n_matched == 2
