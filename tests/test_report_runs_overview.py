"""The report counts rows as rows and runs as runs (issue 15/17 reviews: a checkpoint
suite's 128 rows were called '128 runs' in the report's subtitle, and its overview said
nothing about runs)."""

import numpy as np
import pandas as pd
from click.testing import CliRunner

from scalinglab.cli import main


def test_a_checkpoint_table_is_told_as_runs_and_checkpoints(tmp_path):
    rows = []
    for i, n in enumerate([1e7, 3e7, 1e8, 3e8]):
        for t in np.geomspace(1e9, 1e10, 4):
            rows.append({"run": f"m{i}", "n_params": n, "tokens": t,
                         "loss": 1.8 + 480 / n**0.35 + 2100 / t**0.37})  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "ck.csv", index=False)
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        main, ["report", str(tmp_path / "ck.csv"), "--law", "chinchilla", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "16 rows" in page and "16 runs" not in page
    assert "4 runs, 16 checkpoints" in page
