"""An audit's interval for an accuracy stays in [0, 1] (issue 14 item 3: "bounded quantities
stay in their range"; the review found an accuracy audit with upper ends up to 1.031)."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.workflows.calibration import metric_range


def _runs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 4)
    acc = 1 - 0.5 * n**-0.2 + 0.02 * rng.standard_normal(n.size)  # near 1: old ends 1.025
    return pd.DataFrame({"n_params": n, "tokens": 20 * n, "accuracy": np.minimum(acc, 0.999)})


def test_accuracy_intervals_stay_in_0_1():
    law = sl.expression_law(
        "1 - A * n_params**(-alpha)",
        {"A": (0, 100), "alpha": (0, 2)},
        metric="accuracy",
        space="identity",
    )
    aud = sl.audit(_runs(), [law], leave_largest_out="n_params", n_bootstrap=50)
    pts = aud.points
    assert {"lower", "upper"} <= set(pts.columns)
    assert pts["upper"].notna().any()
    assert (pts["upper"].dropna() <= 1.0).all(), pts["upper"].max()
    assert (pts["lower"].dropna() >= 0.0).all()


@pytest.mark.parametrize(
    "metric, rng",
    [("accuracy", (0, 1)), ("error", (0, 1)), ("rc_acc", (0, 1)), ("score_piqa", (0, 1)),
     ("chrf", (0, 100)), ("bleu", (0, 100)), ("loss", None), ("bpb", None)],
)  # fmt: skip
def test_metric_range_by_name(metric, rng):
    assert metric_range(metric) == rng
