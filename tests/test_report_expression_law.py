"""`report` takes a user-written law and fixed parameters as `fit` and `audit` do (issue 21,
'everywhere a law is accepted'): the law is fitted, plotted and audited, and the report says
which parameter was held."""

import numpy as np
import pandas as pd
from click.testing import CliRunner

from scalinglab.cli import main


def test_report_fits_an_expression_law_with_a_fixed_parameter(tmp_path):
    n = np.geomspace(1e6, 1e9, 8)
    pd.DataFrame({"n_params": n, "loss": 1.7 + 300 / n**0.3}).to_csv(tmp_path / "r.csv")
    out = tmp_path / "r.html"
    args = ["report", str(tmp_path / "r.csv"), "--expr", "E + A/n_params**alpha"]
    args += ["--param", "E=0:10", "--param", "A=1:1e6", "--param", "alpha=0:2"]
    args += ["--fix", "E=1.7", "--metric", "loss", "--leave-largest-out", "n_params", "-o", out]
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "Fixed (held at these values, not fitted): E = 1.7" in page
    assert "n_params^alpha" in page or "n_params**alpha" in page
