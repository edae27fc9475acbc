"""Step 2 of a chained forecast extrapolates too: a large target's loss lies below every loss
the small runs reached, and the loss->accuracy law drifts there. The drift is learned from
folds that hold out the largest runs, and widens the accuracy interval by the gap."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.workflows.calibration import learn_chain_extrapolation, propagate


def _runs(rng):
    """Eight runs; larger runs reach lower losses; accuracy bends up faster than a
    sigmoid fitted on the high-loss part predicts (a quadratic term in the gap)."""
    rows = []
    for i in range(8):
        x = np.linspace(2.0, 1.6 - 0.1 * i, 30)
        acc = 0.3 + 0.3 * (2.0 - x) + 0.6 * np.maximum(1.2 - x, 0) ** 2
        acc = acc + 0.002 * rng.standard_normal(x.size)
        rows.append(pd.DataFrame({"run": f"r{i}", "loss": x, "acc": acc}))
    return pd.concat(rows, ignore_index=True), {f"r{i}": float(10**i) for i in range(8)}


def test_step2_drift_is_learned_and_widens_the_interval():
    pts, scale = _runs(np.random.default_rng(0))
    law = sl.get_law("sigmoid")
    b2 = learn_chain_extrapolation(pts, law, "loss", "acc", "run", scale, n_refine=8)
    assert b2 is not None and b2 > 0.05
    res = sl.fit(pts, law, mapping={"x": "loss"}, metric="acc", n_refine=8)
    x = np.array([0.6])
    gap = float(pts["loss"].min()) - x
    _, lo0, hi0 = propagate(res, "x", x, x, x, 0.9, (0.0, 1.0))
    _, lo1, hi1 = propagate(res, "x", x, x, x, 0.9, (0.0, 1.0), (b2 * gap, b2 * gap))
    assert lo1[0] < lo0[0] and hi1[0] > hi0[0]
    # a loss interval [0.5, 0.7]: its low end lies further out, the upper side widens more
    xl, xh = np.array([0.5]), np.array([0.7])
    lo_, hi_ = (b2 * (float(pts["loss"].min()) - v) for v in (xl, xh))
    p, lo2, hi2 = propagate(res, "x", x, xl, xh, 0.9, (0.0, 1.0), (lo_, hi_))
    _, lo3, hi3 = propagate(res, "x", x, xl, xh, 0.9, (0.0, 1.0), (lo_, lo_))
    assert hi2[0] == pytest.approx(hi3[0]) and lo2[0] > lo3[0]
    assert 0.0 <= lo1[0] and hi1[0] <= 1.0


def test_no_fold_below_the_fitted_range_gives_none():
    """Every run reaches the same lowest loss: no held-out row lies beyond the fold's data."""
    rows = [
        pd.DataFrame({"run": f"r{i}", "loss": np.linspace(2.0, 1.0, 20),
                      "acc": 0.3 + 0.3 * (2.0 - np.linspace(2.0, 1.0, 20))})
        for i in range(6)
    ]  # fmt: skip
    pts = pd.concat(rows, ignore_index=True)
    scale = {f"r{i}": float(i) for i in range(6)}
    assert (
        learn_chain_extrapolation(pts, sl.get_law("sigmoid"), "loss", "acc", "run", scale) is None
    )
