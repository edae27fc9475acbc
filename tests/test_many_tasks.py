"""Many tasks in one command (issue 15 item 6): forecast and ladder print one row per task x
target with truth and error beside each prediction; --json gives the same table. Real data
from ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from tests.conftest import shared_file
from tests.test_ladder import PAPER
from tests.test_runs_checkpoints import checkpoints_table

MMLU = "mmlu=mmlu_stem:0.215,mmlu_humanities:0.335,mmlu_social_sciences:0.219,mmlu_other:0.231"
OLMO_WHERE = "split == 'test' or task in ('hellaswag', 'piqa', 'csqa', 'socialiqa')"
# The 13B-5T truth: the mean of its last 5 checkpoints (the repo's chained_main.csv 'Actual')
OLMO_TRUTH = {"mmlu": 0.51614, "hellaswag": 0.8319}
# Pythia README, final checkpoint LAMBADA accuracy of 2.8B, 6.9B, 12B (PIQA, ARC-Easy and
# SciQ are scored by acc_norm, the importer's default where a task reports it)
PYTHIA_LAMBADA = [0.6472, 0.6728, 0.7046]
PYTHIA_TASKS = ["score_lambada_openai", "score_piqa", "score_arc_easy", "score_sciq"]


def _run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r


def _olmo_args(tasks: str):
    d = shared_file("olmo_ladder")
    return [
        "ladder", d / "tasks.csv", "--runs", d / "runs.csv", "--task-col", "task",
        "--where", OLMO_WHERE, "--combine", MMLU, "--tasks", tasks,
        "--train-where", "paper_role == 'train'", "--target-where", "run == '13B-5T'",
    ]  # fmt: skip


def test_olmo_ladder_tasks_in_one_command_with_truth():
    """Old: one task per command, a file per task and a hand join for the truth."""
    r = _run(*_olmo_args("mmlu,hellaswag"), "--json")
    assert r.exit_code == 0, r.output
    rows = {row["task"]: row for row in json.loads(r.output)["rows"]}
    assert list(rows) == ["mmlu", "hellaswag"]
    for task, row in rows.items():
        assert row["target"] == "13B-5T"
        assert round(row["pred"], 3) == round(PAPER[task][0], 3)
        assert row["loss_pred"] == pytest.approx(PAPER[task][1], abs=5e-4)
        assert row["true"] == pytest.approx(OLMO_TRUTH[task], abs=1e-4)
        assert row["error"] == pytest.approx(row["pred"] - row["true"])
        assert row["lo"] <= row["pred"] <= row["hi"]
    r = _run(*_olmo_args("mmlu,hellaswag"))  # the same table, printed
    assert r.exit_code == 0, r.output
    assert "accuracy true" in r.output and "13B-5T" in r.output and "0.516" in r.output


@pytest.mark.slow
def test_olmo_ladder_all_eight_tasks_match_the_paper():
    r = _run(*_olmo_args(",".join(PAPER)), "--json")
    assert r.exit_code == 0, r.output
    rows = {row["task"]: row for row in json.loads(r.output)["rows"]}
    assert list(rows) == list(PAPER)
    for task, (acc, bpb) in PAPER.items():
        assert round(rows[task]["pred"], 3) == round(acc, 3), task
        assert rows[task]["loss_pred"] == pytest.approx(bpb, abs=5e-4)
        assert np.isfinite(rows[task]["true"])


@pytest.fixture(scope="module")
def pythia_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("pythia") / "pythia.csv"
    r = _run(
        "import-harness", shared_file("harness", "pythia-v1"),
        "--side-table", shared_file("harness", "pythia-v1-sizes.csv"), "-o", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    return out


def _pythia_args(csv, *tasks):
    args = [
        "forecast", csv, "--loss-col", "ce_lambada_openai", "--loss-law", "chinchilla",
        "--params-col", "n_params_nonembedding", "--fit-where", "n_params < 2e9",
        "--min-step", "1000", "--target-where", "n_params > 2e9 and step == 143000",
    ]  # fmt: skip
    for t in tasks:
        args += ["--acc-col", t]
    return args


def test_pythia_forecast_of_several_tasks_from_lambada_ce(pythia_csv):
    """Harness output alone: LAMBADA CE as the intermediate, 70M-1.4B fitted, final accuracy
    of 2.8B/6.9B/12B on several tasks in one command, truth and error beside each."""
    r = _run(*_pythia_args(pythia_csv, "score_lambada_openai", "score_piqa"), "--bootstrap", "0",
             "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    obj = json.loads(r.output)
    t = pd.DataFrame(obj["rows"])
    assert len(t) == 6 and obj["metric"] == "accuracy"
    final = pd.read_csv(pythia_csv).query("step == 143000").set_index("model")
    for task in ("score_lambada_openai", "score_piqa"):
        g = t[t["task"] == task]
        assert g["target"].tolist() == [
            "EleutherAI/pythia-v1.1-2.8b",
            "EleutherAI/pythia-v1.1-6.9b",
            "EleutherAI/pythia-v1.1-12b",
        ]
        assert g["true"].tolist() == pytest.approx(final.loc[g["target"], task].tolist())
        np.testing.assert_allclose(g["error"], g["pred"] - g["true"])
    lam_true = t.loc[t["task"] == "score_lambada_openai", "true"]
    assert lam_true.to_numpy() == pytest.approx(PYTHIA_LAMBADA, abs=1e-4)
    lam = t[t["task"] == "score_lambada_openai"]
    assert (lam["error"].abs() < 0.04).all()  # measured: -0.001, +0.026, +0.022
    assert any("N is the 'n_params_nonembedding' column" in n for n in obj["notes"])
    assert any("dropped 88 warm-up checkpoint(s) of 8 run(s)" in n for n in obj["notes"])


@pytest.mark.slow
def test_pythia_forecast_four_tasks_with_intervals(pythia_csv):
    r = _run(*_pythia_args(pythia_csv, *PYTHIA_TASKS), "--bootstrap", "200", "--json")
    assert r.exit_code == 0, r.output
    t = pd.DataFrame(json.loads(r.output)["rows"])
    assert len(t) == 12 and t["inside"].mean() >= 0.5
    assert (t["lo"] <= t["pred"]).all() and (t["pred"] <= t["hi"]).all()


def test_long_table_with_task_col(tmp_path):
    """One long table, a task column: one forecast per task, one table; --json the same."""
    base = checkpoints_table()
    long = pd.concat(
        [base.assign(task="a"), base.assign(task="b", error=base["error"] * 0.8)],
        ignore_index=True,
    )
    p = tmp_path / "long.csv"
    long.to_csv(p, index=False)
    args = ["forecast", p, "--task-col", "task", "--error-col", "error",
            "--target-where", "n_params > 1e9 and step == 4000", "--loss-law", "chinchilla",
            "--bootstrap", "0"]  # fmt: skip
    r = _run(*args, "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)["rows"]
    assert [x["task"] for x in rows] == ["a", "b"]
    truth = long[(long["n_params"] > 1e9) & (long["step"] == 4000)]["error"].tolist()
    assert [x["true"] for x in rows] == pytest.approx(truth)
    assert all(abs(x["error"]) < 0.05 for x in rows)
    printed = _run(*args)
    assert printed.exit_code == 0 and "error true" in printed.output
    bad = _run(*args[:-2], "--tasks", "a,zz")
    assert bad.exit_code == 2 and "zz" in bad.output


def _ladder_table() -> pd.DataFrame:
    rows = []
    for n in (1e8, 2e8, 4e8, 8e8):
        for mult in (20, 80):
            for i in range(1, 11):
                d = mult * n * i / 10
                bpb = 0.5 + 50 / n**0.3 + 80 / d**0.3
                acc = -0.6 / (1 + np.exp(-6 * (bpb - 0.9))) + 0.85
                rows.append(
                    {"run": f"{n:.0e}-{mult}x", "n_params": n, "tokens": d, "step": i,
                     "bpb": bpb, "acc": acc}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_ladder_acc_col_acc_is_found(tmp_path):
    """Issue 23 item 2. Old: the reader renamed 'acc' to 'accuracy', so --acc-col acc was
    'not in the data'; the user's own column name is now always found."""
    p = tmp_path / "ladder.csv"
    _ladder_table().to_csv(p, index=False)
    r = _run("ladder", p, "--acc-col", "acc", "--target", "n_params=1.6e9,tokens=3.2e10",
             "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    n, d = 1.6e9, 3.2e10
    bpb = 0.5 + 50 / n**0.3 + 80 / d**0.3
    assert res["loss_pred"] == pytest.approx(bpb, rel=0.02)
    assert res["acc_pred"] == pytest.approx(-0.6 / (1 + np.exp(-6 * (bpb - 0.9))) + 0.85, abs=0.02)
    # and through the many-task path (a --run-col given as the user spelled it)
    r = _run("ladder", p, "--acc-col", "acc", "--loss-col", "bpb", "--run-col", "run",
             "--target-where", "n_params == 8e8 and tokens > 6e10")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "8e+08-80x" in r.output


def test_audit_task_col_audits_each_task_of_a_long_table(tmp_path):
    """Issue 15 item 6: audit takes a long table with --task-col (any mode), one table with
    a task column; each task's law is fitted to its own rows only."""
    import json

    import numpy as np
    import pandas as pd
    from click.testing import CliRunner

    import scalinglab as sl
    from scalinglab.cli import main

    rows = []
    for task, (e, a) in {"arc": (1.7, 0.34), "piqa": (2.1, 0.30)}.items():
        n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
        d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
        rows.append(pd.DataFrame({"task": task, "n_params": n, "tokens": d,
                                  "loss": e + 400 / n**a + 1500 / d**0.3}))  # fmt: skip
    df = pd.concat(rows, ignore_index=True)
    res = sl.audit(df, "chinchilla", leave_largest_out="n_params", task_col="task", n_bootstrap=0)
    bl = res.by_law()
    assert list(bl.index) == [("arc", "chinchilla"), ("piqa", "chinchilla")]
    assert (bl["max_rel_error"] < 1e-6).all()  # each task's own law, exact
    p = tmp_path / "long.csv"
    df.to_csv(p, index=False)
    args = ["audit", str(p), "--law", "chinchilla", "--task-col", "task", "--holdout",
            "n_params > 3e9", "--bootstrap", "0"]  # fmt: skip
    r = CliRunner().invoke(main, [*args, "--tasks", "piqa", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert {p["task"] for p in d["points"]} == {"piqa"} and len(d["points"]) == 6
    r = CliRunner().invoke(main, [*args, "--tasks", "mmlu"])
    assert r.exit_code == 2 and "not values of 'task'" in r.stderr
