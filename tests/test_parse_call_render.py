"""`audit` and `report` as parse -> call -> render (issue 16 item 5): the library functions
behind them (`run_audit`, `build_report` / `write_report`) refuse what the commands refuse,
with the same named errors, and return what the commands print."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.errors import DataError, MissingColumnError, OutputPathError
from scalinglab.report.build import section_names
from scalinglab.report.from_data import build_report, write_report
from scalinglab.workflows.audit_run import audit_laws, run_audit

TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


@pytest.fixture()
def runs_csv(tmp_path):
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    loss = TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]
    p = tmp_path / "runs.csv"
    pd.DataFrame({"N": n, "D": d, "val_loss": loss}).to_csv(p, index=False)
    return p


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, DataError, "give exactly one of --holdout QUERY"),
        (
            {"holdout": "n_params > 1e9", "leave_largest_out": "n_params"},
            DataError,
            "give exactly one of",
        ),
        ({"holdout": "n_params > 1e9", "n_bootstrap": -1}, DataError, "--bootstrap must be >= 0"),
        ({"holdout": "n_params > 1e9", "tasks": ["a"]}, DataError, "--tasks selects values"),
        ({"leave_largest_out": "n_params", "by": "tokens"}, DataError, "--by is for --holdout"),
        ({"leave_largest_out": "nope"}, MissingColumnError, "--leave-largest-out 'nope'"),
        ({"holdout": "n_params > 1e9", "fixes": {"Z": 1.0}}, DataError, "--fix Z: no audited"),
        (
            {"largest_per_factor": True, "fit_where": "n_params > 1"},
            DataError,
            "--fit-where is not used by --largest-per-factor",
        ),
    ],
)
def test_run_audit_refuses_what_the_command_refuses(runs_csv, kwargs, error, match):
    with pytest.raises(error, match=match):
        run_audit(runs_csv, ["chinchilla"], metric="val_loss", **{"n_bootstrap": 0, **kwargs})
    args = ["audit", str(runs_csv), "--law", "chinchilla", "--metric", "val_loss"]
    opts = {
        "holdout": "--holdout",
        "leave_largest_out": "--leave-largest-out",
        "n_bootstrap": "--bootstrap",
        "by": "--by",
        "fit_where": "--fit-where",
    }
    for k, v in kwargs.items():
        if k in opts:
            args += [opts[k], str(v)]
        elif k == "tasks":
            args += ["--tasks", ",".join(v)]
        elif k == "fixes":
            args += [f"--fix={n}={x}" for n, x in v.items()]
        elif k == "largest_per_factor":
            args.append("--largest-per-factor")
    r = CliRunner().invoke(main, args)
    said = " ".join(r.stderr.split())  # rich wraps long lines
    assert r.exit_code == 2 and f"({error.__name__})" in said and match in said, said


def test_audit_laws_fix_and_refusals():
    laws = audit_laws(["chinchilla", "kaplan"], fixes={"E": 1.8})
    assert laws[0].fixed_values == {"E": 1.8} and "E" not in laws[0].param_names
    assert [lw.name for lw in laws] == ["chinchilla[fixed E=1.8]", "kaplan"]  # kaplan: no E
    with pytest.raises(DataError, match="give at least one --law NAME"):
        audit_laws([])
    with pytest.raises(DataError, match="--param gives the bounds of an --expr law"):
        audit_laws(["chinchilla"], params={"E": {"lower": 0, "upper": 1}})


def test_run_audit_returns_what_the_command_prints(runs_csv):
    run = run_audit(
        runs_csv, ["chinchilla"], metric="val_loss", holdout="n_params > 1e9", n_bootstrap=0
    )
    args = ["audit", str(runs_csv), "--law", "chinchilla", "--metric", "val_loss"]
    args += ["--holdout", "n_params > 1e9", "--bootstrap", "0"]
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    assert printed["n_params_col"] == run.n_params_col == "n_params"
    api = run.to_dict()
    assert len(printed["points"]) == len(run.result.points) == 12  # 2.5e9 and 1e10 x 6 D
    for got, want in zip(printed["points"], api["points"], strict=True):
        assert got["row"] == want["row"]
        assert got["prediction"] == pytest.approx(want["prediction"], rel=1e-12)
    assert max(p["rel_error"] for p in printed["points"]) < 1e-2  # the law is the truth
    r = CliRunner().invoke(main, [*args, "--quiet"])
    assert r.exit_code == 0 and "held-out points (holdout" in r.stdout


def test_build_report_refuses_what_the_command_refuses(runs_csv, tmp_path):
    with pytest.raises(DataError, match="give one of --holdout or --leave-largest-out"):
        build_report(runs_csv, ["chinchilla"], holdout="n_params > 1e9", leave_largest_out="D")
    with pytest.raises(DataError, match="--target-where applies to the forecast section"):
        build_report(runs_csv, ["chinchilla"], target_where="n_params > 1")
    with pytest.raises(DataError, match="unknown report section"):
        build_report(runs_csv, workflows=["forecasts"])
    with pytest.raises(DataError, match="the forecast section needs --target"):
        build_report(runs_csv, workflows=["forecast"])
    # the output is checked before any fit: an input is never the report
    with pytest.raises(OutputPathError, match="the report is also an input"):
        write_report(runs_csv, runs_csv, law_names=["chinchilla"], metric="val_loss")


def test_build_report_has_the_sections_the_command_lists(runs_csv, tmp_path):
    opts = dict(metric="val_loss", holdout="n_params > 1e9", n_bootstrap=0)
    rep = build_report(runs_csv, ["chinchilla"], **opts)
    assert section_names(rep) == ["overview", "law-chinchilla", "audit"]
    assert rep.title == "scalinglab report: runs.csv"
    out = tmp_path / "r.html"
    seen = []
    written = write_report(
        runs_csv, out, plotly="cdn", law_names=["chinchilla"], on_written=seen.append, **opts
    )
    assert seen == [written] and written.path == out and written.figure_files == []
    assert written.size_bytes == out.stat().st_size > 10_000
    args = ["report", str(runs_csv), "--law", "chinchilla", "--metric", "val_loss"]
    args += ["--holdout", "n_params > 1e9", "--bootstrap", "0", "--plotly", "cdn"]
    r = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "c.html")])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().endswith("sections: overview, law-chinchilla, audit)")
