"""Issue 21: the report takes a law the user writes and fixed parameters, as `fit` does:
its law section recovers known parameters, names the fixed ones, and its audit section
scores the same law."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.report import build
from scalinglab.report.html import Report

COEF = {"lower": 1.0, "upper": 1e6, "grid": [10, 100, 1e3, 1e4, 1e5], "log": True}


def _runs() -> pd.DataFrame:
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    return pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.7 + 400 / n**0.34 + 1500 / d**0.3})


def test_report_sections_take_an_expression_law_with_a_fixed_parameter():
    law = sl.expression_law(
        "E + A/n_params**alpha + B/tokens**beta",
        {"E": (0, 10), "A": COEF, "alpha": (0, 2), "B": COEF, "beta": (0, 2)},
        metric="loss",
    ).fix(E=1.7)
    rep = Report("t", "")
    df = _runs()
    res = build.law_section(
        rep, df, law, metric=None, mapping=None, holdout="n_params > 3e9", preset=None,
        n_bootstrap=0, seed=0,
    )  # fmt: skip
    assert set(res.params_) == {"A", "alpha", "B", "beta"}
    for k, v in {"A": 400, "alpha": 0.34, "B": 1500, "beta": 0.3}.items():
        assert res.params_[k] == pytest.approx(v, rel=1e-4), k
    text = "".join(rep.sections[0].parts)
    assert "Fixed (held at these values, not fitted): E = 1.7" in text
    aud = build.audit_section(
        rep, df, [law, "chinchilla"], holdout="n_params > 3e9", axis=None, metric=None,
        mapping=None, preset=None, n_bootstrap=0, seed=0,
    )  # fmt: skip
    by = aud.by_law()
    assert by.loc[law.name, "mean_rel_error"] < 1e-4  # exact data, the true law
    assert "fixed E=1.7" in "".join(rep.sections[-1].parts)
