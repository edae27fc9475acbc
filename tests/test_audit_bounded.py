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


@pytest.mark.parametrize("space", ["identity", "log"])
def test_bounded_audit_intervals_are_built_on_the_logit_scale_not_clipped(space):
    """Issue 14: bounded quantities stay in range "by computing the interval on a
    transformed scale". Near the bound, the side that a linear band would push past it ends
    strictly inside (a clipped band ended exactly on 1.0), and every band holds its own
    prediction. In log space (expression_law's default) the scatter ends are p e^-h and
    p e^h before the logit (a review found an upper end of 1.027 there)."""
    law = sl.expression_law(
        "1 - A * n_params**(-alpha)",
        {"A": (0, 100), "alpha": (0, 2)},
        metric="accuracy",
        space=space,
    )
    pts = sl.audit(_runs(), [law], leave_largest_out="n_params", n_bootstrap=50).points
    pts = pts.dropna(subset=["lower", "upper"])
    assert len(pts) > 0
    assert (pts["upper"] < 1.0).all() and (pts["lower"] > 0.0).all()
    assert ((pts["lower"] <= pts["prediction"]) & (pts["prediction"] <= pts["upper"])).all()


def test_bleu_audit_intervals_stay_inside_0_100():
    """BLEU near 0 (small models translate badly): the lower ends stay above 0 on the
    logit scale of [0, 100], and the upper ends below 100."""
    rng = np.random.default_rng(3)
    n = np.repeat(np.geomspace(1e6, 1e9, 6), 4)
    bleu = np.maximum(0.2 * np.log10(n / 1e6) + 0.1 + 0.3 * rng.standard_normal(n.size), 0.01)
    df = pd.DataFrame({"n_params": n, "tokens": 20 * n, "bleu": bleu})
    law = sl.expression_law(
        "A * log(n_params) + B", {"A": (0, 10), "B": (-100, 100)}, metric="bleu",
        space="identity",
    )  # fmt: skip
    pts = sl.audit(df, [law], leave_largest_out="n_params", n_bootstrap=50).points
    pts = pts.dropna(subset=["lower", "upper"])
    assert len(pts) > 0
    assert (pts["lower"] > 0.0).all() and (pts["upper"] < 100.0).all()
    assert ((pts["lower"] <= pts["prediction"]) & (pts["prediction"] <= pts["upper"])).all()


def test_value_bounds_check_the_name_against_the_values():
    from scalinglab.workflows.calibration import value_bounds

    assert value_bounds("accuracy", [0.2, 0.9]) == (0, 1)
    assert value_bounds("accuracy", [20.0, 90.0]) is None  # percent: no band under 1
    assert value_bounds("bleu", [0.1, 0.9]) == (0, 100)  # small models' sacrebleu scores
    assert value_bounds("err_avg17", [0.4, 0.6]) is None
    assert value_bounds("err_avg17", [0.4, 0.6], infer=True) == (0, 1)
    assert value_bounds("loss", [2.0, 3.0], infer=True) is None


def test_a_prediction_past_the_range_is_said_and_its_band_spans_from_the_bound():
    """A linear-in-log accuracy law passes 1 beyond the data: the audit says which held-out
    predictions are impossible values, and their bands run from the bound inward (they
    used to collapse to the single point 1 - 1e-9)."""
    rng = np.random.default_rng(4)
    n = np.repeat(np.geomspace(1e7, 1e11, 9), 3)
    acc = np.minimum(0.3 + 0.2 * np.log10(n / 1e7), 0.99) + 0.005 * rng.standard_normal(n.size)
    acc = np.clip(acc, 0, 1)  # saturates near 0.99: a straight line in log N passes 1
    df = pd.DataFrame({"n_params": n, "tokens": 20 * n, "accuracy": acc})
    law = sl.expression_law(
        "a + b * log10(n_params)", {"a": (-10, 10), "b": (0, 1)}, metric="accuracy",
        space="identity",
    )  # fmt: skip
    aud = sl.audit(df, [law], leave_largest_out="n_params", n_bootstrap=50)
    pts = aud.points.dropna(subset=["lower", "upper"])
    past = pts[pts["prediction"] > 1.0]
    assert len(past) > 0
    assert (past["upper"] < 1.0).all() and (past["upper"] - past["lower"] > 0.005).all()
    said = [d.message for d in aud.diagnostics if "outside the metric's range" in d.message]
    assert said and all("[0, 1]" in m for m in said)
    assert sum(int(m.split(": ")[1].split()[0]) for m in said) == len(past)
