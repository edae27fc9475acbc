"""The compute-optimal frontier's right (loss) axis (issue 17): round ticks of its own, not
plotly's ticks in step with the log N*/D* axis (2.35, 3.36, 4.37 ...), and the planned
budget named where it is marked."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab import plots
from scalinglab.plots.style import linear_ticks


def _fit():
    n = np.repeat(np.geomspace(1e6, 1e8, 4), 4)
    d = np.tile(np.geomspace(1e7, 1e9, 4), 4)
    loss = 1.8 + 480 / n**0.35 + 2100 / d**0.37
    return sl.fit(pd.DataFrame({"n_params": n, "tokens": d, "loss": loss}), law="chinchilla")


def _round(v: float) -> bool:
    """A 1, 2, 2.5 or 5 times a power of ten multiple."""
    if v == 0:
        return True
    m = abs(v) / 10 ** np.floor(np.log10(abs(v)))
    return any(np.isclose(m, k) for k in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 7.5, 8, 9, 10))


def test_loss_axis_has_round_ticks_covering_the_loss_curve():
    fig = plots.plan_figure(_fit(), budget=1e16)
    ax = fig.layout.yaxis2
    assert ax.side == "right" and ax.overlaying == "y"
    ticks = list(ax.tickvals)
    assert len(ticks) >= 3 and all(_round(t) for t in ticks), ticks
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0])  # evenly spaced, one step
    loss = next(t for t in fig.data if t.name == "loss at optimum").y
    lo, hi = np.nanmin(loss), np.nanmax(loss)
    assert ax.range[0] <= lo and ax.range[1] >= hi  # the curve is inside the axis
    assert ticks[0] - steps[0] < lo and ticks[-1] + steps[0] > hi  # ticks span it
    assert ax.showgrid is False  # one grid (the left axis'), not two out of step
    assert list(ax.ticktext) == [plots._sci(t) for t in ticks]


def test_budget_line_is_labelled_at_the_budget():
    fig = plots.plan_figure(_fit(), budget=1e16)
    label = [a for a in fig.layout.annotations if a.name == "budget-label"]
    assert len(label) == 1
    assert label[0].x == pytest.approx(16.0)  # log10 of the budget on the log x axis
    assert "10<sup>16</sup>" in label[0].text


@pytest.mark.parametrize(
    ("lo", "hi", "want"),
    [
        (2.35, 8.41, [2, 4, 6, 8, 10]),
        (0.0, 1.0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (1.02, 1.09, [1.02, 1.04, 1.06, 1.08, 1.1]),
    ],
)
def test_linear_ticks_are_round(lo, hi, want):
    assert linear_ticks(lo, hi) == pytest.approx(want)
