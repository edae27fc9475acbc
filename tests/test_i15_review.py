"""Issue 15 reviewed line by line: the failures a new user still met on the real harness files,
each with a test that fails on the code before its fix. Real data from ../shared/data
(skipped with a reason when absent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.errors import OutOfRangeError
from scalinglab.workflows.checkpoints import check_used
from scalinglab.workflows.many_tasks import forecast_tasks, ladder_tasks
from tests.conftest import shared_file


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _checkpoints(acc_scale: float = 1.0) -> pd.DataFrame:
    """6 runs x 4 checkpoints with a loss and two accuracy columns (a fraction x acc_scale)."""
    rows = []
    for n in (1e7, 3e7, 1e8, 3e8, 1e9, 3e9):
        for step in (1000, 2000, 3000, 4000):
            d = step * 2e6
            loss = 1.7 + 400 / n**0.34 + 400 / d**0.28
            acc = 0.25 + 0.7 / (1 + np.exp(3 * (loss - 3.0)))
            rows.append(
                {
                    "run": f"m{n:g}",
                    "step": step,
                    "n_params": n,
                    "tokens": d,
                    "ce_task": loss,
                    "score_a": acc * acc_scale,
                    "score_b": (acc - 0.02) * acc_scale,
                }
            )
    return pd.DataFrame(rows)


# -- item 5: a percent-looking accuracy gets a named error with the hint --------------------


def test_forecast_acc_col_in_percent_is_refused_with_the_hint(tmp_path):
    """Old: `forecast --acc-col score_piqa` on a column in percent (Pythia's 0.73 written as
    73.4) fitted and printed 'accuracy pred 70.675' with no word: an --acc-col is an accuracy
    and gets accuracy's rule [0, 1]."""
    path = tmp_path / "pct.csv"
    _checkpoints(acc_scale=100.0).to_csv(path, index=False)
    with pytest.raises(OutOfRangeError, match="looks like percent") as e:
        forecast_tasks(
            str(path),
            "n_params == 3e9 and step == 4000",
            acc_cols=["score_a", "score_b"],
            loss_col="ce_task",
            fit_where="n_params < 2e9",
        )
    assert e.value.column == "score_a" and e.value.file == str(path)
    r = _run(
        "forecast", path, "--loss-col", "ce_task", "--acc-col", "score_a",
        "--fit-where", "n_params < 2e9", "--target-where", "n_params == 3e9 and step == 4000",
    )  # fmt: skip
    assert r.exit_code == 2, r.output
    assert "OutOfRangeError" in r.output and "'score_a'" in r.output
    assert "looks like percent: divide by 100" in r.output


def test_ladder_acc_col_in_percent_is_refused_with_the_hint():
    """Old: the ladder's accuracy columns were checked by name only: a non-canonical name in
    percent was fitted (sigmoid to 100) without a word."""
    df = _checkpoints(acc_scale=100.0)
    with pytest.raises(OutOfRangeError, match="looks like percent") as e:
        ladder_tasks(
            df,
            target={"n_params": 1e10, "tokens": 1e10},
            acc_cols=["score_a", "score_b"],
            loss_cols=["ce_task"],
        )
    assert e.value.column == "score_a"


def test_derived_error_of_a_percent_accuracy_names_the_accuracy():
    """Old: an `accuracy` column in percent reached the two-step forecast as the derived
    `error = 1 - accuracy` (-72.4), and the message named 'error', a column the user never
    wrote, without the percent hint. Now it names 'accuracy', its value and the hint."""
    df = pd.DataFrame({"accuracy": [0.5, 73.4, 80.0]})
    df["error"] = 1.0 - df["accuracy"]
    df.attrs["scalinglab_source"] = "t.csv"
    with pytest.raises(OutOfRangeError) as e:
        check_used(df, ["error"])
    assert e.value.column == "accuracy" and e.value.row == 2
    assert "value 73.4 is outside [0, 1]" in str(e.value)
    assert "looks like percent" in str(e.value)
    # an error column of its own (not 1 - accuracy) is checked as itself
    df["error"] = [0.5, 1.5, 0.2]
    with pytest.raises(OutOfRangeError) as e:
        check_used(df, ["error"])
    assert e.value.column == "error"


def test_loss_col_of_a_forecast_must_be_positive(tmp_path):
    """A cross-entropy column named as the intermediate (ce_<task>) is a loss: a 0 or a
    negative value is refused naming its row, as for a column named `loss`."""
    df = _checkpoints()
    df.loc[3, "ce_task"] = -1.0
    df.attrs["scalinglab_source"] = "ck.csv"
    with pytest.raises(Exception, match="not positive") as e:
        forecast_tasks(
            df,
            "n_params == 3e9 and step == 4000",
            acc_cols=["score_a"],
            loss_col="ce_task",
            fit_where="n_params < 2e9",
        )
    assert e.value.column == "ce_task"


# -- item 3: a side table was given; the warning must not say "give --side-table" --------------


def test_partial_side_table_warning_names_the_unmatched_not_give_side_table(tmp_path):
    """Old (the issue's observation, still on main): with --side-table given and one model
    unmatched, the only warning said 'give --side-table, --set n_params=... or --set
    tokens_per_step=...' (tokens per step gives no parameter count either)."""
    side = pd.read_csv(shared_file("harness", "pythia-v1-sizes.csv"))
    side = side[side["model"] != "EleutherAI/pythia-v1.1-12b"]
    side_path = tmp_path / "side.csv"
    side.to_csv(side_path, index=False)
    folder = shared_file("harness", "pythia-v1")
    r = _run("import-harness", folder, "--side-table", side_path, "-o", tmp_path / "o.csv")
    assert r.exit_code == 0, r.output
    warn = [line for line in r.output.splitlines() if line.startswith("warning")]
    assert warn, r.output
    assert not any("give --side-table" in w for w in warn), warn
    n_warn = next(w for w in warn if "no n_params" in w)
    assert "27 row(s) have no n_params" in n_warn
    assert "EleutherAI/pythia-v1.1-12b" in n_warn and "side table" in n_warn
    assert "tokens_per_step" not in n_warn


# -- item 3: every command that takes N says which one it used ----------------------------------


def test_ladder_says_which_parameter_count_is_n():
    """Old: the ladder on a table with total and non-embedding counts used n_params without a
    word, and could not use the other (forecast had --params-col)."""
    df = _checkpoints()
    df["n_params_nonembedding"] = 0.8 * df["n_params"]
    df = df.rename(columns={"ce_task": "bpb", "score_a": "rc_acc"})
    where = "run == 'm3e+09'"
    total = ladder_tasks(df, target_where=where, acc_cols=["rc_acc"], loss_cols=["bpb"])
    assert "N is the 'n_params' column (total); --params-col picks another" in total.notes
    assert total.table["n_params"].iloc[0] == 3e9
    nonemb = ladder_tasks(
        df,
        target_where=where,
        acc_cols=["rc_acc"],
        loss_cols=["bpb"],
        params_col="n_params_nonembedding",
    )
    assert "N is the 'n_params_nonembedding' column (--params-col)" in nonemb.notes
    assert nonemb.table["n_params"].iloc[0] == pytest.approx(2.4e9)
    assert nonemb.table["pred"].iloc[0] != total.table["pred"].iloc[0]


# -- items 1 and 2: what the averaged columns are made of is said --------------------------------


def test_import_summary_states_chance_levels_and_a_dominant_family(tmp_path):
    """Old: the chance column was a mean of built-in levels the summary never showed (only
    the tasks without one), and Pythia's accuracy column, a mean over 65 tasks of which 57
    are MMLU subjects (no group in v0.3-era files), was presented as a plain task average."""
    from scalinglab.io import aggregate_error, read_harness
    from scalinglab.io.harness import summary_lines

    long = read_harness(shared_file("harness", "pythia-v1", "pythia-70m"))
    lines = summary_lines(aggregate_error(long))
    text = "\n".join(lines)
    assert "chance accuracy per averaged task (the chance column is their mean):" in text
    assert "  0.5 (built-in: 2 candidate solutions): piqa" in lines
    assert (
        "  0 (built-in: open vocabulary: the target word must be the greedy continuation): "
        "lambada_openai" in lines
    )
    assert "hendrycksTest-* holds 57 of the 65 averaged tasks" in text
    few = summary_lines(aggregate_error(long, tasks=["piqa", "arc_easy", "lambada_openai"]))
    assert not any("holds" in line for line in few)


# -- item 1: a group without a value of its own -------------------------------------------------


def _group_file(tmp_path, name, results, subtasks):
    import json

    obj = {
        "results": results,
        "group_subtasks": subtasks,
        "n-shot": {t: 0 for t in results},
        "config": {"model_args": "pretrained=org/m-1b"},
        "date": 1.7e9,
    }
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return p


def test_group_without_its_own_value_is_replaced_by_its_tasks(tmp_path):
    """Old: a v0.4 group the harness reports with an alias only (no aggregate value) took its
    sub-tasks out of the top-level average without a word: accuracy 0.7 from piqa alone,
    sub_a and sub_b neither averaged nor named as left out."""
    from scalinglab.io import aggregate_error, read_harness
    from scalinglab.io.harness import summary_lines

    results = {
        "grp": {"alias": "grp"},
        "sub_a": {"alias": " - sub_a", "acc,none": 0.3},
        "sub_b": {"alias": " - sub_b", "acc,none": 0.5},
        "piqa": {"alias": "piqa", "acc,none": 0.7},
    }
    p = _group_file(tmp_path, "r.json", results, {"grp": ["sub_a", "sub_b"], "piqa": []})
    agg = aggregate_error(read_harness(p))
    assert agg.attrs["tasks"] == ["piqa", "sub_a", "sub_b"]
    assert agg["accuracy"].iloc[0] == pytest.approx((0.3 + 0.5 + 0.7) / 3)
    assert agg["n_tasks"].iloc[0] == 3
    assert (
        "  note: group grp has no value of its own in the files: its 2 task(s) (sub_a, sub_b) "
        "are averaged in its place" in summary_lines(agg)
    )
    # a valued group above an unvalued sub-group: the group's own value, never both
    results = {
        "top": {"alias": "top", "acc,none": 0.9},
        "mid": {"alias": " - mid"},
        "a": {"alias": "  - a", "acc,none": 0.2},
        "b": {"alias": "  - b", "acc,none": 0.4},
        "piqa": {"alias": "piqa", "acc,none": 0.7},
    }
    q = tmp_path / "q"
    q.mkdir()
    p = _group_file(q, "r.json", results, {"top": ["mid"], "mid": ["a", "b"], "piqa": []})
    agg = aggregate_error(read_harness(p))
    assert agg.attrs["tasks"] == ["piqa", "top"]
    assert agg["accuracy"].iloc[0] == pytest.approx((0.9 + 0.7) / 2)
    with pytest.raises(Exception, match="group and its own sub-task"):
        aggregate_error(read_harness(p), tasks=["top", "a"])
