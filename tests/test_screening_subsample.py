"""The long-table search's row subsample must agree with all rows on the basin, or say so.

A table longer than search.SEARCH_ROWS is screened and refined on an evenly spread row
subsample; only the subsample's best optima are refined on all rows. Rows that are not alike
across the table (two populations, one of them over-represented in the subsample) can make
the subsample prefer a basin that all rows do not: the fit must then carry a warning.
"""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.fitting import search

T1 = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}
T2 = {"E": 2.6, "A": 60.0, "B": 300.0, "alpha": 0.2, "beta": 0.22}


def two_populations(n: int, share_in_subsample: float, seed: int = 0) -> pd.DataFrame:
    """Runs of two laws: T1 is `share_in_subsample` of the search's row subsample and
    absent elsewhere, so T1 is best on the subsample and T2 on all rows when the subsample
    holds about half the rows and the share is well above half."""
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), n))
    D = np.exp(rng.uniform(np.log(1e8), np.log(1e11), n))
    law = sl.get_law("chinchilla")
    in_sub = np.zeros(n, dtype=bool)
    in_sub[search._subsample(n, search.SEARCH_ROWS)] = True
    one = in_sub & (rng.random(n) < share_in_subsample)
    x = {"n_params": N, "tokens": D}
    loss = np.where(one, law.evaluate(T1, x), law.evaluate(T2, x))
    loss = loss * np.exp(0.003 * rng.standard_normal(n))
    return pd.DataFrame({"n_params": N, "tokens": D, "loss": loss})


def _subsample_diags(res):
    return [d for d in res.diagnostics_ if d.code == search.SUBSAMPLE_CODE]


def test_disagreeing_subsample_is_a_warning_and_all_rows_decide():
    df = two_populations(2 * search.SEARCH_ROWS, share_in_subsample=0.8)
    res = sl.fit(df, "chinchilla")
    # The fit still ends in the all-rows basin (T2: 60% of all rows), not the subsample's.
    for k, v in T2.items():
        assert res.params_[k] == pytest.approx(v, rel=0.02), k
    diags = _subsample_diags(res)
    assert len(diags) == 1
    d = diags[0]
    assert d.severity == "warning"
    assert "4,096 of 8,192 rows" in d.message and "strategy='full'" in d.message
    # The subsample's optimum is T1; on all rows it is ~half as good again as the chosen one.
    f_sub = float(d.message.split("all-rows objective ")[1].split(" ")[0])
    assert f_sub > 1.3 * res.objective_
    assert d.message in res.warnings_


def test_agreeing_subsample_gives_no_warning():
    rng = np.random.default_rng(1)
    n = 2 * search.SEARCH_ROWS
    df = two_populations(n, share_in_subsample=0.0)  # T2 everywhere
    df["loss"] *= np.exp(0.01 * rng.standard_normal(n))
    res = sl.fit(df, "chinchilla")
    assert "subsample" in set(res.starts_["status"])  # the long-table path was taken
    for k, v in T2.items():
        assert res.params_[k] == pytest.approx(v, rel=0.02), k
    assert _subsample_diags(res) == []
    assert res.converged_


def test_short_table_has_no_subsample_check():
    df = two_populations(1000, share_in_subsample=0.8)  # every row is in the "subsample"
    res = sl.fit(df, "chinchilla")
    assert _subsample_diags(res) == []


def test_cli_prints_the_subsample_warning(tmp_path):
    path = tmp_path / "mixed.csv"
    two_populations(2 * search.SEARCH_ROWS, share_in_subsample=0.8).to_csv(path, index=False)
    r = CliRunner().invoke(main, ["fit", str(path), "--law", "chinchilla"])
    assert r.exit_code == 0, r.output
    assert f"[{search.SUBSAMPLE_CODE}]" in r.stderr and "4,096 of 8,192 rows" in r.stderr
