"""Figures that cannot be misread (issue 17): every point sits on its own colour's curve,
held-out points carry their series' colour, axes never show SI prefixes, legends and curves
stay inside what is plotted. Checked on the figure objects."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab import plots


def _interp(line_x, line_y, x, logx):
    lx, px = (np.log(line_x), np.log(x)) if logx else (np.asarray(line_x), x)
    order = np.argsort(lx)
    return np.interp(px, np.asarray(lx)[order], np.asarray(line_y)[order])


def _check_points_on_their_curves(res, fig, frame):
    """Every dot (fit or held out) has a curve of its colour whose value at the dot's x is the
    law at the dot's own inputs: its distance from the curve is its residual, nothing else."""
    curves = {t.meta["series"]: t for t in fig.data if (t.meta or {}).get("role") == "curve"}
    logx = fig.layout.xaxis.type == "log"
    xvar = fig.layout.xaxis.title.text
    checked = 0
    for t in fig.data:
        role = (t.meta or {}).get("role")
        if role not in ("points", "heldout"):
            continue
        curve = curves[t.meta["series"]]
        assert t.marker.color == curve.line.color, t.meta
        for x, y in zip(t.x, t.y, strict=True):
            row = frame[np.isclose(frame[xvar], x) & np.isclose(frame[res.metric_], y)]
            assert len(row) == 1
            want = res.law.evaluate(res.params_, {v: row[v].to_numpy() for v in res.law.variables})
            got = _interp(curve.x, curve.y, x, logx)
            assert got == pytest.approx(float(want[0]), rel=2e-3), (t.meta, x)
            checked += 1
    return checked


def _chinchilla(n, d, noise, seed=0):
    rng = np.random.default_rng(seed)
    loss = 1.8 + 480 / n**0.35 + 2100 / d**0.37
    return pd.DataFrame(
        {"n_params": n, "tokens": d, "loss": loss * np.exp(rng.normal(0, noise, n.size))}
    )


@pytest.mark.parametrize("grid", [True, False], ids=["budgets", "scattered"])
def test_every_point_sits_on_its_own_colours_curve(grid):
    """The old figure drew iso-tokens-per-parameter curves at bin medians and coloured dots by
    bin: three dots at 1.1M params spanned 4.6-5.6 while their colour's line was at 5.1."""
    if grid:  # a ladder: a few models x a few token budgets (the demo)
        n = np.repeat(np.geomspace(1e6, 1e8, 5), 5)
        d = np.tile(np.geomspace(1e7, 1e9, 5), 5)
    else:  # every run its own N and D: series binned
        rng = np.random.default_rng(1)
        n, d = 10 ** rng.uniform(6, 9, 60), 10 ** rng.uniform(7, 10, 60)
    df = _chinchilla(n, d, 0.01)
    big = df["n_params"] >= np.quantile(df["n_params"], 0.8)
    res = sl.fit(df[~big], law="chinchilla")
    fig = plots.fit_figure(res, df[big])
    assert _check_points_on_their_curves(res, fig, df) == len(df)
    held = [t for t in fig.data if (t.meta or {}).get("role") == "heldout"]
    assert sum(len(t.x) for t in held) == int(big.sum())
    colours = {t.marker.color for t in held}
    assert len(colours) > 1 and "black" not in colours  # their series' colours
    assert all(t.marker.symbol != "circle" and t.marker.symbol is not None for t in held)


def test_residuals_show_held_out_points():
    n = np.repeat(np.geomspace(1e6, 1e8, 4), 4)
    d = np.tile(np.geomspace(1e7, 1e9, 4), 4)
    df = _chinchilla(n, d, 0.01)
    held = df[df["n_params"] == df["n_params"].max()]
    res = sl.fit(df.drop(index=held.index), law="chinchilla")
    fig = plots.residual_figure(res, held)
    h = [t for t in fig.data if (t.meta or {}).get("role") == "heldout"]
    assert len(h) == 1 and len(h[0].x) == len(held)
    pred = res.law.evaluate(res.params_, {v: held[v].to_numpy() for v in res.law.variables})
    np.testing.assert_allclose(h[0].y, np.log(pred / held["loss"].to_numpy()))


def test_no_si_prefixes_and_no_minor_digit_labels():
    """'400f' for 4e-13 and '2 3 4 ... 9 0.1' on a log axis under a decade wide."""
    go = plots._go()
    fig = go.Figure(go.Scatter(x=[2e-13, 4e-13, 8e-13], y=[1e-13, 5e-13, 9e-13]))
    plots._layout(fig, "t", "x", "y", logx=True, logy=False)
    for ax in (fig.layout.xaxis, fig.layout.yaxis):
        assert ax.exponentformat == "power"
    assert fig.layout.xaxis.tickformat == ".3~g"  # under a decade: plain digits, no minors
    wide = go.Figure(go.Scatter(x=[1e6, 1e9], y=[1, 2]))
    plots._layout(wide, "t", "x", "y", logx=True)
    assert wide.layout.xaxis.dtick == 1 and wide.layout.xaxis.minorloglabels == "none"


def test_frontier_legend_does_not_cover_the_right_axis():
    n = np.repeat(np.geomspace(1e6, 1e8, 4), 4)
    d = np.tile(np.geomspace(1e7, 1e9, 4), 4)
    res = sl.fit(_chinchilla(n, d, 0.0), law="chinchilla")
    fig = plots.plan_figure(res)
    assert fig.layout.yaxis2.side == "right"
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0


def test_method_curves_stay_near_the_data_and_crossings():
    from scalinglab.examples import testbed_runs
    from scalinglab.workflows.finetune_choice import choose_method

    m = testbed_runs()["methods"]
    res = choose_method(
        m.assign(loss=m["downstream_ce"]),
        "n_params",
        {"n_params": float(m["n_params"].max())},
        n_bootstrap=0,
    )
    fig = plots.method_figure(res)
    marks = list(res.measured.index) + [
        v for v in res.crossings["critical_finetune_size"] if np.isfinite(v)
    ]
    for t in fig.data:
        if t.mode == "lines":
            assert min(t.x) >= min(marks) / 10 and max(t.x) <= max(marks) * 10
    for a in fig.layout.annotations:
        assert a.yref == "paper" and 0 <= a.y <= 1 and a.xref == "x"
