"""Issue 14 item 2: a workflow result carries its component fits' warnings and errors,
named by the step (and task) they come from, in `diagnostics`, `summary()`, the CLI text and
``--json``; forecast and ladder targets far beyond the fitted data get an `extrapolation`
diagnostic per variable. Before, the ladder showed only its own `uncalibrated` warning: a
step fit that stopped at 200 iterations said nothing anywhere."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.workflows.ladder import ladder_forecast
from scalinglab.workflows.many_tasks import ladder_tasks
from tests.conftest import shared_file


def _six_runs() -> pd.DataFrame:
    """Six runs at two sizes: step 1 (5 parameters) has 6 points, so `few_dof`."""
    rows = []
    for i, (n, d) in enumerate([(n, n * m) for n in (1e8, 2e8) for m in (20, 40, 80)]):
        steps = np.linspace(0.2, 1.0, 20)
        loss = 0.9 + 40 / n**0.3 + 300 / (d * steps) ** 0.3
        rows.append(
            pd.DataFrame({"run": f"r{i}", "n_params": n, "tokens": d * steps, "bpb": loss,
                          "rc_acc": 1.1 - 0.5 * loss, "acc2": 1.0 - 0.4 * loss})
        )  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_ladder_carries_its_step_fits_findings_named_by_step():
    res = ladder_forecast(_six_runs(), {"n_params": 1e9, "tokens": 2e10})
    step1 = {d.code for d in res.step1.diagnostics_ if d.severity != "info"}
    assert "few_dof" in step1
    mine = [d for d in res.diagnostics if d.message.startswith("step 1 (loss fit): ")]
    assert {d.code for d in mine} == step1
    assert any(d.message.startswith("step 2 (accuracy fit): ") for d in res.diagnostics)
    assert "[few_dof] step 1 (loss fit): 6 points for 5 parameters" in res.summary()
    codes = [d["code"] for d in res.to_dict()["diagnostics"]]
    assert "few_dof" in codes and "uncalibrated" in codes
    assert len(codes) == len(set(map(json.dumps, res.to_dict()["diagnostics"])))  # no repeats
    # 1e9 is 0.7 orders of magnitude beyond 2e8: inside the one-order tolerance
    assert "extrapolation" not in codes
    assert res.to_dict()["beyond_data"]["n_params"] == pytest.approx(np.log10(5))


def test_ladder_target_far_beyond_the_data_is_an_extrapolation_diagnostic():
    res = ladder_forecast(_six_runs(), {"n_params": 2e10, "tokens": 2e10})
    (d,) = [d for d in res.diagnostics if d.code == "extrapolation"]
    assert d.params == ("n_params",) and "2.0 orders of magnitude" in d.message
    assert res.to_dict()["beyond_data"]["n_params"] == pytest.approx(2.0)


def test_ladder_cli_text_and_json_show_step_findings(tmp_path):
    p = tmp_path / "ck.csv"
    _six_runs().to_csv(p, index=False)
    args = ["ladder", str(p), "--target", "n_params=2e10,tokens=2e10"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    text = " ".join(r.stderr.split())
    assert "[few_dof]: step 1 (loss fit): 6 points for 5 parameters" in text
    assert "[extrapolation]: target: 'n_params' goes 2.0 orders of magnitude" in text
    r = CliRunner().invoke(main, [*args, "--json"])
    codes = {d["code"] for d in json.loads(r.stdout)["diagnostics"]}
    assert {"few_dof", "extrapolation", "uncalibrated"} <= codes


def test_many_task_ladder_names_each_tasks_findings(tmp_path):
    many = ladder_tasks(
        _six_runs(), target={"n_params": 2e10, "tokens": 2e10}, acc_cols=["rc_acc", "acc2"]
    )
    msgs = [d.message for d in many.findings]
    # step 1 is the same fit for both tasks: said once, without a task name
    assert sum(m.startswith("step 1 (loss fit): 6 points") for m in msgs) == 1
    assert not any(m.startswith("rc_acc: step 1 (loss fit)") for m in msgs)
    assert any(d.code == "extrapolation" for d in many.findings)
    assert {d["code"] for d in many.to_dict()["diagnostics"]} >= {"few_dof", "extrapolation"}
    p = tmp_path / "ck.csv"
    _six_runs().to_csv(p, index=False)
    r = CliRunner().invoke(
        main,
        ["ladder", str(p), "--acc-col", "rc_acc", "--acc-col", "acc2",
         "--target", "n_params=2e10,tokens=2e10"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "[few_dof]: step 1 (loss fit)" in " ".join(r.stderr.split())


def test_olmo_ladder_step1_not_converged_is_an_error_in_every_rendering():
    """The reviewer's case: winogrande's step 1 on the paper's training runs stops at 200
    iterations; `TaskForecasts.diagnostics` was [] and the CLI silent."""
    d = shared_file("olmo_ladder")
    args = ["ladder", d / "tasks.csv", "--runs", d / "runs.csv", "--task-col", "task",
            "--where", "split == 'val' or split == 'test'", "--tasks", "winogrande",
            "--train-where", "paper_role == 'train'",
            "--target-where", "run == '13B-5T'"]  # fmt: skip
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    step1 = "[not_converged]: winogrande: step 1 (loss fit): the best start did not converge"
    assert step1 in " ".join(r.stderr.split())
    r = CliRunner().invoke(main, [*map(str, args), "--json"])
    found = [x for x in json.loads(r.stdout)["diagnostics"] if x["code"] == "not_converged"]
    assert found and found[0]["severity"] == "error"


def _final_checkpoints() -> pd.DataFrame:
    """Seven runs' final checkpoints (loss from Chinchilla's law, error from the loss)."""
    from tests.test_runs_checkpoints import checkpoints_table

    df = checkpoints_table()
    return df[df["step"] == 4000].reset_index(drop=True)


def test_forecast_json_and_report_carry_fit_codes_and_extrapolation(tmp_path):
    """forecast --json kept step 1's few_dof only as free text under `warnings`; the report's
    forecast section showed no diagnostics at all."""
    p = tmp_path / "runs.csv"
    _final_checkpoints().to_csv(p, index=False)
    args = ["forecast", str(p), "--target", "n_params=3e10,tokens=6e11",
            "--loss-law", "chinchilla", "--bootstrap", "0"]  # fmt: skip
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    diags = json.loads(r.stdout)["diagnostics"]
    few = [d for d in diags if d["code"] == "few_dof"]
    assert few and few[0]["message"].startswith("step 1 (loss fit): 7 points for 5 parameters")
    far = {d["params"][0]: d["message"] for d in diags if d["code"] == "extrapolation"}
    assert set(far) == {"n_params", "tokens"} and "1.4 orders of magnitude" in far["n_params"]
    (beyond,) = json.loads(r.stdout)["beyond_data"]
    assert beyond["n_params"] == pytest.approx(np.log10(3e10 / 1.28e9))
    text = " ".join(CliRunner().invoke(main, args).stderr.split())
    assert "[few_dof]: step 1 (loss fit): 7 points" in text
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        main,
        ["report", str(p), "--workflow", "forecast", "--target", "n_params=3e10,tokens=6e11",
         "--loss-law", "chinchilla", "--bootstrap", "0", "-o", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "data-code='few_dof'" in page and "data-code='extrapolation'" in page


def test_audit_says_which_folds_fits_have_which_findings(tmp_path):
    """A fold whose parameter ran off to its bound showed 'converged yes' and nothing else,
    in text, --json (no diagnostics key) and the report (its warnings column dropped)."""
    import scalinglab as sl

    df = _final_checkpoints()
    aud = sl.audit(df, "chinchilla", leave_largest_out="n_params", n_bootstrap=0)
    fold = aud.folds["fold"].iloc[0]
    (ab,) = [d for d in aud.findings if d.code == "at_bound"]
    assert ab.message.startswith(f"chinchilla: 1 of 1 fold fits: {fold}: parameter 'A'")
    assert set(ab.params) >= {"A"}
    assert "few_dof" in [d.code for d in aud.findings]
    assert type(aud).from_json(aud.to_json()).findings == aud.findings
    assert {d["code"] for d in aud.to_dict()["diagnostics"]} >= {"at_bound", "few_dof"}
    p = tmp_path / "runs.csv"
    df.to_csv(p, index=False)
    args = ["audit", str(p), "--law", "chinchilla", "--leave-largest-out", "n_params",
            "--bootstrap", "0"]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "[at_bound]: chinchilla: 1 of 1 fold fits" in " ".join(r.stderr.split())
    assert "findings" in r.stdout and "at_bound, few_dof" in r.stdout
    r = CliRunner().invoke(main, [*args, "--json"])
    body = json.loads(r.stdout)
    assert {d["code"] for d in body["diagnostics"]} >= {"at_bound", "few_dof"}
    assert {d["code"] for d in body["summary"][0]["diagnostics"]} >= {"at_bound", "few_dof"}
    out = tmp_path / "a.html"
    r = CliRunner().invoke(
        main, ["report", str(p), "--law", "chinchilla", "--leave-largest-out", "n_params",
               "--bootstrap", "0", "-o", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "data-code='at_bound'" in page
