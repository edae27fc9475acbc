"""Issue 23 item 2 follow-up: a workflow's `to_dict()` (what `--json` prints) carries every
number of its tables at full precision. pandas' `to_json` rounds to 10 significant digits
by default, so the CLI disagreed with the Python API past 1e-10 (the parity tests compare
to 1e-12); `results.records` writes the exact floats, NaN and infinities as null."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import DuplicateColumnError
from scalinglab.results import records
from scalinglab.workflows import audit
from scalinglab.workflows.factor_effects import factor_effects
from scalinglab.workflows.finetune_choice import choose_method
from scalinglab.workflows.pretrain_choice import choose_pretraining_data
from scalinglab.workflows.task_selection import select_tasks
from tests.test_workflows import _isik_data, _zhang_data
from tests.test_zhang_joint import _long


def _wire(res) -> dict:
    """What a user of `--json` gets back: the dict through a JSON text and back."""
    return json.loads(json.dumps(res.to_dict()))


def _check(rows: list[dict], frame: pd.DataFrame) -> int:
    """Every cell of `frame` is in `rows` exactly; returns how many finite floats needed
    more than 10 significant digits (the ones the old output rounded)."""
    assert len(rows) == len(frame)
    assert all(list(r) == [str(c) for c in frame.columns] for r in rows)
    n_long = 0
    for c in frame.columns:
        got = [r[str(c)] for r in rows]
        for g, w in zip(got, frame[c].tolist(), strict=True):
            if isinstance(w, float):
                if math.isfinite(w):
                    assert type(g) is float and g == w, (c, g, w)
                    n_long += float(f"{w:.10g}") != w
                else:
                    assert g is None, (c, g)
            elif w is None or w is pd.NA:
                assert g is None, (c, g)
            else:
                assert g == w, (c, g, w)
    return n_long


def test_task_selection_tasks_are_exact():
    rng = np.random.default_rng(3)
    runs = pd.DataFrame(
        {
            "n_params": np.repeat([1.54e8, 4.11e8], 4),
            "tokens": np.tile(np.geomspace(3e9, 2.4e10, 4), 2),
            **{f"acc_t{i}": rng.uniform(0.2, 0.8, 8) for i in range(5)},
        }
    )
    chance = {f"t{i}": c for i, c in enumerate(rng.uniform(0.2, 0.5, 5))}
    res = select_tasks(runs, chance, select_at="n_params=154M")
    assert _check(_wire(res)["tasks"], res.tasks) > 0


def test_pretraining_choice_ranking_is_exact():
    res = choose_pretraining_data(_isik_data(), 1e11)
    assert _check(_wire(res)["ranking"], res.ranking) > 0


def test_method_choice_tables_are_exact():
    res = choose_method(_zhang_data(), "n_params", {"n_params": 16e9}, n_bootstrap=0)
    out = _wire(res)
    n = _check(out["comparison"], res.comparison) + _check(out["crossings"], res.crossings)
    n += _check(out["heldout"], res.heldout)
    assert _check(out["measured"], res.measured.reset_index()) > 0 and n > 0


def test_factor_effects_table_is_exact():
    df = _long().assign(method="lora")
    res = factor_effects(df, ["n_params", "tokens", "lora_rank"], n_bootstrap=0)
    assert _check(_wire(res)["table"], res.table) > 0


def test_audit_tables_are_exact():
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    noise = np.exp(0.01 * np.random.default_rng(0).standard_normal(36))
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": (1.7 + 400 / n**0.34) * noise})
    res = audit.holdout(df, ["chinchilla"], "n_params > 3e9", n_bootstrap=0)
    out = _wire(res)
    assert _check(out["summary"], res.folds) > 0
    assert _check(out["points"], res.points) > 0
    assert _check(out["by_law"], res.by_law().reset_index()) > 0


def test_records_is_json_safe_and_lossless():
    third = 1 / 3
    df = pd.DataFrame(
        {
            "x": [third, np.nan, np.inf, -np.inf],
            "f32": np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32),
            "i": np.array([1, 2, 3, 2**60], dtype=np.int64),
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "b": [True, False, True, False],
            "s": ["a", None, "c", "d"],
            "cell": [[third, np.nan], None, (np.float64(2.5), np.int64(7)), {"k": np.inf}],
            "t": pd.to_datetime(
                ["2024-01-02", None, "2024-03-04 05:06:07", "2024-01-01"], format="ISO8601"
            ),
            7: [0.1, 0.2, 0.3, 0.4],
        },
        index=[10, 11, 12, 13],  # the index is not written (reset it to keep it)
    )
    rows = records(df)
    assert rows[0]["x"] == third and rows[1]["x"] is None and rows[2]["x"] is None
    assert rows[3]["x"] is None
    assert rows[0]["f32"] == float(np.float32(0.1))  # the stored value, not 0.1
    assert rows[3]["i"] == 2**60 and type(rows[3]["i"]) is int
    assert rows[1]["n"] is None and rows[0]["n"] == 1 and type(rows[0]["n"]) is int
    assert rows[0]["b"] is True and rows[1]["s"] is None
    assert rows[0]["cell"] == [third, None] and rows[1]["cell"] is None
    assert rows[2]["cell"] == [2.5, 7] and rows[3]["cell"] == {"k": None}
    assert rows[0]["t"] == "2024-01-02T00:00:00" and rows[1]["t"] is None
    assert rows[0]["7"] == 0.1  # keys are strings, as in JSON
    # strict JSON: no NaN or Infinity tokens
    assert json.loads(json.dumps(rows, allow_nan=False)) == rows
    assert records(df.iloc[:0]) == []


def test_records_refuses_columns_it_cannot_tell_apart():
    df = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    with pytest.raises(DuplicateColumnError, match="'a'"):
        records(df)


def test_select_tasks_cli_json_equals_api_exactly(tmp_path):
    """End to end on Gadre et al.'s published runs: `select-tasks --json` is the API's table
    to the last bit (it was rounded to 10 digits)."""
    from click.testing import CliRunner

    from scalinglab.cli import main
    from tests.conftest import shared_file

    runs, tasks = shared_file("gadre2024", "runs.csv"), shared_file("gadre2024", "tasks.csv")
    args = ["--chance-table", str(tasks), "--select-at", "n_params=154M"]
    r = CliRunner().invoke(main, ["select-tasks", str(runs), *args, "--json"])
    assert r.exit_code == 0, r.output
    api = select_tasks(runs, tasks, select_at="n_params=154M")
    assert _check(json.loads(r.stdout)["tasks"], api.tasks) > 0


def test_saved_results_come_back_exactly():
    """`Result.to_json()` / `from_json()` promise a lossless round trip; the tables inside
    were written by pandas' `to_json` (10 digits) and read without `precise_float`, so an
    audit saved and loaded came back with its errors changed past the 10th digit."""
    from scalinglab.results import Result, decode, encode

    df = pd.DataFrame({"x": [1 / 3, np.nan, 2e-300, -7.123456789012345], "s": list("abcd")})
    back = decode(json.loads(json.dumps(encode(df))))
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    noise = np.exp(0.01 * np.random.default_rng(0).standard_normal(36))
    runs = pd.DataFrame({"n_params": n, "tokens": d, "loss": (1.7 + 400 / n**0.34) * noise})
    res = audit.holdout(runs, ["chinchilla"], "n_params > 3e9", n_bootstrap=0)
    again = Result.from_json(res.to_json())
    for name in ("folds", "points"):
        pd.testing.assert_frame_equal(
            getattr(again, name).reset_index(drop=True),
            getattr(res, name).reset_index(drop=True),
            check_exact=True,
            check_dtype=False,
        )


def test_every_result_repr_is_one_short_line():
    """A notebook shows repr(): an AuditResult's was its dataclass dump, 1,653 characters
    over 20 lines (verification of issue 17 item 5); FitResult keeps its own."""
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    runs = pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.7 + 400 / n**0.34 + 410 / d**0.28})
    res = audit.holdout(runs, ["chinchilla"], "n_params > 3e9", n_bootstrap=0)
    text = repr(res)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("<AuditResult (audit: error on held-out runs): 6 rows")
    assert repr(res.folds) not in text


def test_an_error_rate_band_stays_inside_zero_one():
    """The demo's loss -> error figure drew its bootstrap band up to error 1.25 (verification
    of issue 17 item 1): a rate's band is kept to [0, 1]."""
    import scalinglab as sl
    from scalinglab.examples import testbed_runs
    from scalinglab.report.demo import loss_error_runs

    runs = loss_error_runs(testbed_runs()["all"])
    res = sl.fit(runs[runs["n_params"] < runs["n_params"].max()], "loss_to_error")
    res.bootstrap(200, seed=0)
    bands = [t for t in res.plot().data if (t.meta or {}).get("role") == "band"]
    ys = np.concatenate([np.asarray(t.y, dtype=float) for t in bands])
    assert bands and np.nanmax(ys) <= 1.0 and np.nanmin(ys) >= 0.0
    assert np.nanmax(ys) == 1.0  # it did reach past 1 before the clip


def test_compute_ratios_read_alike_in_the_cli_and_the_report():
    """The report's forecast targets wrote compute_ratio_loss as 3.8656 where the CLI says
    3.9x (verification of issue 17 item 2: consistent number formats)."""
    from scalinglab.cli.common import _fmt as cli_fmt
    from scalinglab.report.html import _fmt as html_fmt

    for col, v, want in [
        ("compute_ratio_loss", 3.8656, "3.9x"),
        ("compute_ratio", 0.0141, "0.014x"),
        ("compute_ratio_max", 330.2, "330x"),
    ]:
        assert html_fmt(v, col) == cli_fmt(v, col) == want
    assert html_fmt(3.8656, "loss") == "3.8656"
