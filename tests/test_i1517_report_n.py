"""`report` filters with --where before it checks (issue 15 item 5: a checkpoint table with
step 0 at 0 tokens was refused whole, 'tokens must be > 0', although --where 'step >= 1000'
left those rows out) and its law section says which parameter count is N (issue 15 item 3)."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from scalinglab.cli import main


def _suite(tmp_path):
    rows = []
    for n in (7e7, 1.6e8, 4e8, 1e9, 1.4e9, 2.8e9):
        for step in (0, 1000, 3000, 13000, 33000, 63000, 143000):
            d = step * 2_097_152.0
            loss = 1.7 + 400 / (0.8 * n) ** 0.34 + 410 / max(d, 1e6) ** 0.28
            rows.append(
                {"model": f"pythia-{n:.2g}", "step": step, "tokens": d, "n_params": n,
                 "n_params_nonembedding": 0.8 * n, "loss": loss}
            )  # fmt: skip
    p = tmp_path / "suite.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_report_applies_where_before_checking_and_names_n(tmp_path):
    p = _suite(tmp_path)
    out = tmp_path / "r.html"
    args = ["report", str(p), "--law", "chinchilla", "--bootstrap", "0", "-o", str(out)]
    r = CliRunner().invoke(main, [*args, "--where", "step >= 1000"])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    # the selection is said: '36 rows' alone read as the whole file
    assert "36 rows (of 42, selected by <code>--where step &gt;= 1000</code>) from" in page
    assert "<p>6 runs, 36 checkpoints (--where step &gt;= 1000)</p>" in page
    assert (
        "N is the <code>n_params</code> column (total parameters); the table also has "
        "<code>n_params_nonembedding</code>"
    ) in page
    r = CliRunner().invoke(
        main, [*args, "--where", "step >= 1000", "--map", "n_params=n_params_nonembedding",
               "--force"]
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "N is the <code>n_params_nonembedding</code> column (non-embedding parameters)" in (
        out.read_text()
    )
    # without --where the step-0 rows reach the fit, which names them
    r = CliRunner().invoke(main, [*args, "--force"])
    assert r.exit_code == 2 and "column 'tokens'" in r.output and "6 such rows" in r.output


def test_an_exact_fit_shows_no_interval_in_the_report():
    """Demo screenshot: downstream_ce on 3 points (3 parameters) said 'no interval can be
    given', then showed '90% intervals from 500 bootstrap resamples' with lower = upper =
    value for every parameter, which reads as certainty."""
    from scalinglab.report import build
    from scalinglab.report.html import Report, params_table

    df = pd.DataFrame({"tokens": [1e6, 2e6, 4e6], "downstream_ce": [4.7, 4.3, 4.0]})
    rep = Report("t", "s")
    res = build.law_section(
        rep, df, "downstream_ce", metric=None, mapping=None, holdout=None, preset=None,
        n_bootstrap=50, seed=0,
    )  # fmt: skip
    assert res.exact_fit_ and res.bootstrap_ is not None
    assert list(params_table(res).columns) == ["parameter", "value", "bounds", "at bound"]
    page = "".join(rep.sections[-1].parts)
    assert "Parameter intervals and the curves' bands" not in page
    assert "90% lower" not in page
