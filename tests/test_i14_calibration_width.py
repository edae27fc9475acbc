"""Issue 14: calibrated intervals as wide as the folds' extrapolated rows show, no wider.

A held-out row just past (or inside) its fold's data that the 90% scatter misses says
nothing about how error grows with distance. Counted as an infinite slope, such rows (about
10% of them by construction) pushed the slope to the largest of any row, and the intervals
to 2.6x the error on Chinchilla and OLMo."""

import numpy as np
import pandas as pd

from scalinglab.workflows.audit import leave_largest_out
from scalinglab.workflows.calibration import (
    MIN_DISTANCE,
    extrapolated_distance,
)
from scalinglab.workflows.downstream import forecast


def test_extrapolated_distance_is_zero_inside_and_at_least_the_learned_minimum_beyond():
    d = extrapolated_distance(np.array([-0.1, 0.0, 0.05, 0.3, 1.2]))
    assert d.tolist() == [0.0, 0.0, MIN_DISTANCE, 0.3, 1.2]


def test_chinchilla_leave_largest_out_is_calibrated_not_enormous(chinchilla_240):
    """The calibration benchmark's Chinchilla case (4 leave-largest-out folds in N, 495
    held-out rows; 100 resamples here). Before: 89% coverage at 2.64x the median error,
    the 632M fold 99% at 4.4x (its slope, 0.049 per decade, was the largest of any row).
    Now: 86% at 1.94x."""
    aud = leave_largest_out(
        chinchilla_240, "chinchilla", "n_params", n_bootstrap=100, max_folds=4, interval=0.9
    )
    p = aud.points
    ratio = ((p["upper"] - p["lower"]) / 2).median() / p["abs_error"].median()
    assert len(p) == 495
    assert 0.85 <= p["inside"].mean() <= 0.95
    assert ratio < 2.5


def _bent_checkpoints(rng: np.random.Generator) -> pd.DataFrame:
    """Five sizes, each with the same 12 checkpoints (as Pythia): every size's early
    checkpoints share the smallest compute budgets, so compute folds keep the whole size
    and token ranges. The loss bends away from a Chinchilla law as N grows."""
    n = np.repeat(np.geomspace(2e7, 1.2e9, 5), 12)
    d = np.tile(np.geomspace(2e9, 3e11, 12), 5)
    loss = (1.8 + 480 / n**0.35 + 2100 / d**0.37) * (1 + 0.015 * np.log10(n / 2e7))
    loss = loss * np.exp(0.004 * rng.standard_normal(n.size))
    err = 1 / (1 + np.exp(-4 * (loss - 3.0)))
    return pd.DataFrame(
        {"run": np.repeat(np.arange(5), 12), "n_params": n, "tokens": d, "loss": loss,
         "error": err}
    )  # fmt: skip


def test_forecast_learns_its_slope_along_size():
    """Compute folds of such a table hold out only rows inside the kept sizes and tokens;
    folds along size hold out bigger models, which is where a forecast goes. Before: the
    term was learned along flops alone (axis 'flops'), its slope from rows that lay inside
    their fold's data. Now 8 folds along size and compute, b = 0.012 per decade."""
    df = _bent_checkpoints(np.random.default_rng(0))
    res = forecast(
        df, [{"n_params": 1.2e10, "tokens": 3e11}], loss_law="chinchilla",
        n_bootstrap=0, run_col="run",
    )  # fmt: skip
    term = res.extrapolation_term
    assert term is not None and term.axis.startswith("n_params")
    assert term.b > 0.005
    t = res.targets.iloc[0]
    truth = (1.8 + 480 / 1.2e10**0.35 + 2100 / 3e11**0.37) * (1 + 0.015 * np.log10(600))
    assert t["loss_lo"] < truth < t["loss_hi"]  # 2.147 in [2.109, 2.198]
    assert t["loss_hi"] / t["loss_lo"] < 1.05
