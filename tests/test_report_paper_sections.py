"""`report --workflow select-tasks|constant-exponent|factor-effects`: the issue-21 methods'
sections reachable from the command line (their builders existed; only Python reached them)."""

from __future__ import annotations

from click.testing import CliRunner

from scalinglab.cli import main

from .conftest import shared_file


def test_report_draws_gadre_task_selection_and_constant_exponent(tmp_path):
    runs = shared_file("gadre2024", "runs.csv")
    tasks = shared_file("gadre2024", "tasks.csv")
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        main,
        ["report", str(runs), "--law", "overtrain", "--metric", "loss_c4_val",
         "--workflow", "select-tasks", "--chance-table", str(tasks), "--select-at",
         "n_params=154M", "--workflow", "constant-exponent", "--loss-col", "loss_c4_val",
         "--by", "train_dataset", "--bootstrap", "30", "--plotly", "cdn", "-o", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "task-selection" in r.stdout and "constant-exponent" in r.stdout
    html = out.read_text()
    assert "17 of 46 tasks" in html or "17 of 46" in html
    r = CliRunner().invoke(
        main, ["report", str(runs), "--law", "overtrain", "--metric", "loss_c4_val",
               "--workflow", "select-tasks", "-o", str(tmp_path / "x.html")],
    )  # fmt: skip
    assert r.exit_code == 2 and "--chance-table" in r.stderr
