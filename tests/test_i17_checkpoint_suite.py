"""Figures of a checkpoint suite (issue 17: "on a fixed-D checkpoint suite (Pythia) this is
worse"): a few models, each evaluated at many steps, give as many token multipliers M as
rows. The over-training law's figure used to bin M into 8 colours and join each bin's points
in a zigzag; it now draws one smooth curve per model along its own compute (M = C/(6N^2)),
every checkpoint on its model's curve. The forecast's step-1 figure keeps a legend that fits
after the targets are added (it used to scroll, hiding 'target (actual)')."""

import numpy as np
import pandas as pd

import scalinglab as sl
from scalinglab import plots
from tests.test_plots import _check_points_on_their_curves


def _suite(seed: int = 0) -> pd.DataFrame:
    """6 models x 12 checkpoints, 2M tokens a step, loss from Gadre et al.'s law."""
    rng = np.random.default_rng(seed)
    n = np.repeat(np.geomspace(7e7, 2.8e9, 6), 12)
    tokens = np.tile(np.geomspace(2e9, 3e11, 12), 6)
    m, c = tokens / n, 6 * n * tokens
    loss = 1.7 + (30 * m**0.12 + 900 / m**0.12) / c**0.12
    return pd.DataFrame(
        {
            "model": [f"m{int(x / 1e6)}M" for x in n],
            "n_params": n,
            "tokens": tokens,
            "flops": c,
            "tokens_per_param": m,
            "loss": loss * np.exp(rng.normal(0, 0.004, n.size)),
        }
    )


def test_overtrain_figure_draws_one_curve_per_model_of_a_checkpoint_suite():
    df = _suite()
    big = df["n_params"] == df["n_params"].max()
    res = sl.fit(df[~big], law="overtrain")
    fig = plots.fit_figure(res, df[big])
    curves = [t for t in fig.data if (t.meta or {}).get("role") == "curve"]
    assert [t.meta["series"] for t in curves] == [
        f"n_params={plots._num(v)}" for v in np.unique(df["n_params"])
    ]
    assert all(t.meta["exact"] and len(t.x) == 120 for t in curves)  # drawn, not joined dots
    assert _check_points_on_their_curves(res, fig, df) == len(df)
    held = [t for t in fig.data if (t.meta or {}).get("role") == "heldout"]
    assert len(held) == 1 and len(held[0].x) == 12


def test_flops_not_6nd_keeps_the_token_multiplier_series():
    """M = C/(6N^2) only when the data's compute is 6ND: else the figure must not claim it."""
    df = _suite()
    df["flops"] *= np.exp(np.random.default_rng(1).normal(0, 0.2, len(df)))
    res = sl.fit(df, law="overtrain")
    fig = plots.fit_figure(res)
    series = {t.meta["series"] for t in fig.data if (t.meta or {}).get("role") == "curve"}
    assert all(s.startswith("tokens_per_param") for s in series), series


def test_forecast_step1_legend_fits_after_targets():
    from scalinglab.workflows.downstream import forecast

    df = _suite()
    df["error"] = 1 - 0.9 / (1 + np.exp(-3 * (3.0 - df["loss"])))
    res = forecast(df, "n_params > 2e9", loss_law="overtrain", n_bootstrap=0)
    f1, _ = plots.forecast_figures(res)
    names = [t.name for t in f1.data if t.name and t.showlegend is not False]
    assert "target (predicted)" in names and "target (actual)" in names
    assert f1.layout.height >= 130 + 30 * len(names)
