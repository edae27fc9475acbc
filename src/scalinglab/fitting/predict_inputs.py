"""Prediction inputs checked as fit inputs are: `predict --set n_params=-1|0|nan|1e400` once
printed nan/inf with exit status 0, though `fit` refuses those values."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import DataError, NonFiniteValueError, NonPositiveValueError
from ..schema import numeric_column

if TYPE_CHECKING:
    from .result import FitResult


def check_prediction_inputs(res: FitResult, df: pd.DataFrame) -> None:
    """Every law variable finite, and > 0 where the law needs it (its positive variables, as
    `fit` requires); named errors citing the row and column."""
    law = res.law
    for var in law.variables:
        col = res.columns_.get(var, var)
        key = col if col in df.columns else var if var in df.columns else None
        if key is None:
            continue  # FitResult.predict names the missing column
        vals = numeric_column(df[key], str(key)).to_numpy(dtype=float)
        bad = ~np.isfinite(vals)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NonFiniteValueError(
                f"'{key}' is {vals[i]}; a prediction needs a finite value (law '{law.name}' "
                f"variable '{var}')",
                row=i + 1,
                column=str(key),
            )
        if var in law.positive_variables and (vals <= 0).any():
            i = int(np.flatnonzero(vals <= 0)[0])
            raise NonPositiveValueError(
                f"'{key}' is {vals[i]:g}; law '{law.name}' raises '{var}' to a power, so it "
                "must be > 0 (as when fitting)",
                row=i + 1,
                column=str(key),
            )


def checked_predict(res: FitResult, df: pd.DataFrame) -> np.ndarray:
    """`res.predict(df)` after `check_prediction_inputs`; a prediction that is not a finite
    number (the law undefined there) is a named error instead of a printed nan."""
    check_prediction_inputs(res, df)
    with np.errstate(all="ignore"):
        pred = res._predict_array(df)
    bad = ~np.isfinite(pred)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"law '{res.law.name}' gives no finite {res.metric_} at these inputs ({pred[i]}); "
            "check the values against the fitted range",
            row=i + 1,
        )
    return pred
