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
    assert sum(len(t.x) for t in h) == len(held)
    got = {(float(t.x[i]), t.meta["series"]): float(t.y[i]) for t in h for i in range(len(t.x))}
    pred = res.law.evaluate(res.params_, {v: held[v].to_numpy() for v in res.law.variables})
    want = np.log(pred / held["loss"].to_numpy())
    for (_, r), w in zip(held.iterrows(), want, strict=True):
        assert got[(r["n_params"], f"tokens={plots._num(r['tokens'])}")] == pytest.approx(w)
    # the residuals' colours are the fit figure's: one colour per token budget, held out too
    curves = {
        t.meta["series"]: t.line.color
        for t in plots.fit_figure(res, held).data
        if (t.meta or {}).get("role") == "curve"
    }
    for t in fig.data:
        if (t.meta or {}).get("role") in ("points", "heldout"):
            assert t.marker.color == curves[t.meta["series"]], t.meta
    assert len({t.marker.color for t in h}) == len(h) == 4


def test_no_si_prefixes_and_no_minor_digit_labels():
    """'400f' for 4e-13 and '2 3 4 ... 9 0.1' on a log axis under a decade wide."""
    go = plots._go()
    fig = go.Figure(go.Scatter(x=[2e-13, 4e-13, 8e-13], y=[1e-13, 5e-13, 9e-13]))
    plots._layout(fig, "t", "x", "y", logx=True, logy=False)
    for ax in (fig.layout.xaxis, fig.layout.yaxis):
        assert ax.exponentformat == "power"
    # under a decade: 1-2-5 ticks labelled m×10^k, no minor digits, no '9e+5 1e+6' crowding
    assert list(fig.layout.xaxis.tickvals) == [2e-13, 3e-13, 5e-13]
    assert fig.layout.xaxis.ticktext[0] == "2×10<sup>-13</sup>"
    narrow = go.Figure(go.Scatter(x=[9e5, 8e6], y=[3.5, 6.5]))
    plots._layout(narrow, "t", "x", "y", logx=True, logy=True)
    assert not any("e+" in t for t in narrow.layout.xaxis.ticktext)
    assert list(narrow.layout.yaxis.ticktext) == ["4", "5", "6"]
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
        if t.mode == "lines" and (t.meta or {}).get("role") != "key":
            assert min(t.x) >= min(marks) / 10 and max(t.x) <= max(marks) * 10
    for a in fig.layout.annotations:
        assert a.yref == "paper" and 0 <= a.y <= 1 and a.xref == "x"


def _dashed_beyond_the_data(fig, res_by_series, lo, hi):
    """Every curve: its solid part ('curve-in-range') lies within the shaded fitted range
    and within every fitted variable's range; its dashed part covers the rest; the shade is
    the fitted data's x range."""
    shade = [sh for sh in fig.layout.shapes if sh.name == "fit-range"]
    assert len(shade) == 1
    assert (shade[0].x0, shade[0].x1) == pytest.approx((lo, hi))
    role = [(t.meta or {}).get("role") for t in fig.data]
    curves = [t for t, r in zip(fig.data, role, strict=True) if r == "curve"]
    pairs = list(zip(fig.data, role, strict=True))
    solid = {t.meta["series"]: t for t, r in pairs if r == "curve-in-range"}
    assert curves
    n_dashed_points = 0
    for c in curves:
        assert c.line.dash == "dash"
        s = solid.get(c.meta["series"])
        if s is None:  # wholly extrapolated: the legend shows the dashed line
            assert c.showlegend is not False
            n_dashed_points += len(c.x)
            continue
        assert s.line.dash is None and c.showlegend is False
        y = np.asarray(s.y, dtype=float)
        xin = np.asarray(s.x, dtype=float)[np.isfinite(y)]
        assert xin.min() >= lo * (1 - 1e-9) and xin.max() <= hi * (1 + 1e-9), c.meta
        np.testing.assert_allclose(y[np.isfinite(y)], np.asarray(c.y, dtype=float)[np.isfinite(y)])
        n_dashed_points += int((~np.isfinite(y)).sum())
    return n_dashed_points


def test_extrapolated_curves_are_dashed_and_the_fitted_range_shaded():
    """Issue 17: curves ran to 1.5x the largest x (and held-out models' curves were wholly
    extrapolated) drawn solid like the fitted part; nothing marked where the data end."""
    n = np.repeat(np.geomspace(1e6, 1e8, 5), 5)
    d = np.tile(np.geomspace(1e7, 1e9, 5), 5)
    df = _chinchilla(n, d, 0.01)
    big = df["n_params"] == df["n_params"].max()
    res = sl.fit(df[~big], law="chinchilla")
    fit_lo, fit_hi = df.loc[~big, "n_params"].min(), df.loc[~big, "n_params"].max()
    fig = plots.fit_figure(res, df[big])
    assert _dashed_beyond_the_data(fig, res, fit_lo, fit_hi) > 0
    # the held-out model at 1e8: its point is on the dashed part, never on a solid one
    for t in fig.data:
        if (t.meta or {}).get("role") == "curve-in-range":
            y = np.asarray(t.y, dtype=float)
            assert not np.any((np.asarray(t.x) > fit_hi * 1.0001) & np.isfinite(y))
    # residuals: the fitted range shaded
    rfig = plots.residual_figure(res, df[big])
    shade = [sh for sh in rfig.layout.shapes if sh.name == "fit-range"]
    assert (shade[0].x0, shade[0].x1) == pytest.approx((fit_lo, fit_hi))
    # frontier: dashed where N* or D* leave the fitted sizes / tokens; shade = runs' 6ND
    pfig = plots.plan_figure(res, budget=1e20)
    flops = 6 * df.loc[~big, "n_params"] * df.loc[~big, "tokens"]
    assert _dashed_beyond_the_data(pfig, res, flops.min(), flops.max()) > 0
    xs = np.asarray(pfig.data[0].x)
    assert xs.min() < flops.min() and xs.max() >= 1e20  # spans the data and the budget
    assert any(sh.x0 == 1e20 for sh in pfig.layout.shapes if sh.type == "line")


def test_method_curves_are_dashed_beyond_their_fits():
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
    lo = min(plots.fit_ranges(f)["finetune_size"][0] for f in res.fits.values())
    hi = max(plots.fit_ranges(f)["finetune_size"][1] for f in res.fits.values())
    assert _dashed_beyond_the_data(fig, res, lo, hi) > 0


def test_forecast_error_curve_is_dashed_beyond_the_error_fit():
    from scalinglab.workflows.downstream import forecast

    rng = np.random.default_rng(0)
    n = np.repeat(np.geomspace(1e7, 1e9, 4), 4)
    d = np.tile(np.geomspace(2e8, 2e10, 4), 4)
    loss = 1.8 + 480 / n**0.35 + 2100 / d**0.37
    err = 1 - 0.95 / (1 + np.exp(-3 * (3.5 - loss)))
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": loss, "error": err})
    df["loss"] *= np.exp(rng.normal(0, 0.003, len(df)))
    targets = pd.DataFrame({"n_params": [3e9], "tokens": [6e10]})
    res = forecast(df, targets, loss_law="chinchilla", n_bootstrap=0)
    f1, f2 = plots.forecast_figures(res)
    e = res.error_fit
    var = e.law.variables[0]
    lo, hi = plots.fit_ranges(e)[var]
    assert _dashed_beyond_the_data(f2, e, lo, hi) > 0  # the target's loss is below the fit's


def test_pretrain_figure_plots_the_score_the_choice_was_made_on():
    """pretrain_figure read data['bleu'] whatever `metric=` chose (issue 21: any score)."""
    from scalinglab.examples import testbed_runs
    from scalinglab.workflows.pretrain_choice import choose_pretraining_data

    df = testbed_runs()["alignment"].drop(columns=["bleu"])
    res = choose_pretraining_data(df, 1e6, metric="chrf")
    fig = plots.pretrain_figure(res, df)
    assert fig.layout.title.text.startswith("chrF vs pretraining tokens")
    small = df["finetune_size"].min()
    for tr in fig.data:
        src = tr.name.replace(" (misaligned)", "")
        want = df[(df["pretrain_data"] == src) & (df["finetune_size"] == small)]
        want = want.groupby("tokens")["chrf"].mean()
        assert np.allclose(np.asarray(tr.y, dtype=float), want.to_numpy())


def test_a_log_axis_of_one_or_two_decades_gets_more_than_one_label():
    """Issue 17 review (demo screenshot): residuals over tokens 2.4e5-7.9e6 had one labelled
    tick, '10^6', because only powers of ten were labelled; now 1-2-5 ticks."""
    go = plots._go()
    fig = go.Figure(go.Scatter(x=[2.4e5, 1e6, 7.9e6], y=[1, 2, 3]))
    plots._layout(fig, "t", "x", "y", logx=True)
    assert list(fig.layout.xaxis.tickvals) == [5e5, 1e6, 2e6, 5e6]
    assert list(fig.layout.xaxis.ticktext) == [
        "5×10<sup>5</sup>", "10<sup>6</sup>", "2×10<sup>6</sup>", "5×10<sup>6</sup>"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "target, want",
    [
        (1e11, None),  # 1e9-1e11: three decades, powers of ten
        (3.2e10, [1e9, 2e9, 5e9, 1e10, 2e10]),  # one and a half: 1-2-5 ticks
    ],
)
def test_isik_token_axes_use_the_shared_ticks_not_si_prefixes(target, want):
    """Issue 17 review (Pythia/demo screenshots): the Isik figure's tokens axes read
    '100k 1M' with '2 5' minor digits (plotly's own log axis); now the shared ticks."""
    from scalinglab.plots.papers_isik import isik_figure
    from scalinglab.workflows.pretrain_choice import choose_pretraining_data
    from tests.test_i21_isik_figure import _two_sizes

    df = _two_sizes()
    fig = isik_figure(choose_pretraining_data(df, target, metric="chrf"), df)
    axes = [fig.layout[k] for k in ("xaxis", "xaxis2", "xaxis3", "xaxis4")]
    for ax in axes:
        assert ax.type == "log" and ax.exponentformat == "power"
        if want is None:
            assert ax.dtick == 1 and ax.minorloglabels == "none" and ax.tickvals is None
        else:
            assert list(ax.tickvals) == want
            assert list(ax.ticktext) == [
                "10<sup>9</sup>", "2×10<sup>9</sup>", "5×10<sup>9</sup>", "10<sup>10</sup>",
                "2×10<sup>10</sup>",
            ]  # fmt: skip
