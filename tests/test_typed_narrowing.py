"""Inputs that the mypy ratchet's Optional narrowing showed could reach code that assumed a
value: each now gets a named error before any work, instead of a misleading one later."""

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import OptionError
from scalinglab.report import build
from scalinglab.report.html import Report


def _ladder() -> pd.DataFrame:
    n = np.repeat(np.geomspace(1e7, 1e10, 4), 4)
    d = np.tile(np.geomspace(1e8, 1e11, 4), 4)
    return pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.8 + 480 / n**0.35 + 2100 / d**0.37})


def test_audit_section_without_holdout_or_axis_names_both():
    # was MissingColumnError "--leave-largest-out axis 'None' is not in the data"
    rep = Report("t")
    with pytest.raises(OptionError, match="holdout query or a leave-largest-out axis"):
        build.audit_section(
            rep,
            _ladder(),
            ["chinchilla"],
            holdout=None,
            axis=None,
            metric=None,
            mapping=None,
            preset=None,
            n_bootstrap=20,
            seed=0,
        )
    assert rep.sections == []
