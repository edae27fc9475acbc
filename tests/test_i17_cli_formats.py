"""The CLI's audit tables keep a compute ratio's digits (issue 17: one number, one format in
the CLI and the report): a held-out checkpoint at 1.4% of the fit set's compute printed as
'0x', which reads as no compute at all."""

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.cli.common import _fmt as _audit_cell


def test_audit_cell_keeps_small_ratios():
    assert _audit_cell(0.013868, "compute_ratio") == "0.014x"
    assert _audit_cell(2.2937, "compute_ratio_max") == "2.3x"
    assert _audit_cell(27.88, "compute_ratio_max") == "28x"
    assert _audit_cell(float("nan"), "compute_ratio") == "-"
    assert _audit_cell(0.0123, "rel_error") == "1.23%"


def test_audit_cli_prints_ratios_below_one(tmp_path):
    n = np.repeat(np.geomspace(1e7, 1e9, 4), 4)
    d = np.tile(np.geomspace(2e8, 2e10, 4), 4)
    loss = 1.8 + 480 / n**0.35 + 2100 / d**0.37
    path = tmp_path / "runs.csv"
    pd.DataFrame({"n_params": n, "tokens": d, "loss": loss}).to_csv(path, index=False)
    args = ["audit", str(path), "--law", "chinchilla", "--leave-largest-out", "n_params",
            "--bootstrap", "0"]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    ratios = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    small = [p["compute_ratio"] for p in ratios["points"] if 0 < p["compute_ratio"] < 0.5]
    assert small, "the fixture has held-out points below the fit set's compute"
    assert " 0x " not in r.stdout
    assert f"{small[0]:.2g}x" in r.stdout
