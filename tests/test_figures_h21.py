"""The figures of issue 21's methods (and issue 17's continuous colour scale), checked on
the figure objects: what each must show is read back from the traces and compared with the
result it draws."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab import plots


def _role(fig, role):
    return [t for t in fig.data if (t.meta or {}).get("role") == role]


def _bar_ends(t):
    """(lo, hi) of each point's horizontal error bar."""
    x = np.asarray(t.x, dtype=float)
    return x - np.asarray(t.error_x.arrayminus, dtype=float), x + np.asarray(
        t.error_x.array, dtype=float
    )


@pytest.fixture(scope="module")
def method_choice():
    from scalinglab.examples import testbed_runs
    from scalinglab.workflows.finetune_choice import choose_method

    m = testbed_runs()["methods"]
    return choose_method(
        m.assign(loss=m["downstream_ce"]),
        "n_params",
        {"n_params": float(m["n_params"].max())},
        n_bootstrap=60,
    )


def test_method_figure_draws_held_out_curves_dashed_and_both_crossings(method_choice):
    res = method_choice
    fig = res.plot()
    held = _role(fig, "heldout-curve")
    assert {t.meta["series"] for t in held} == set(res.heldout_curves.columns[1:])
    solid = {t.meta["series"]: t for t in _role(fig, "curve-in-range")}
    for t in held:
        assert t.line.dash == "dash"
        assert t.line.color == solid[t.meta["series"]].line.color  # its method's colour
        want = res.heldout_curves.set_index("finetune_size")[t.meta["series"]]
        assert np.allclose(np.asarray(t.y, dtype=float), want.loc[list(t.x)].to_numpy())
    cross = _role(fig, "crossing")
    ins = {t.meta["pair"]: t for t in cross if t.meta["kind"] == "in-sample"}
    out = {t.meta["pair"]: t for t in cross if t.meta["kind"] == "heldout"}
    crossing = res.crossings[np.isfinite(res.crossings["critical_finetune_size"])]
    pairs = zip(crossing["method_a"], crossing["method_b"], strict=True)
    assert set(ins) == {f"{a}/{b}" for a, b in pairs}
    for _, r in crossing.iterrows():  # a pair whose curves never cross has no marker
        t = ins[f"{r['method_a']}/{r['method_b']}"]
        assert t.x[0] == pytest.approx(r["critical_finetune_size"])
        lo, hi = _bar_ends(t)
        assert (lo[0], hi[0]) == pytest.approx((r["critical_lo"], r["critical_hi"]))
    held_cross = res.heldout[np.isfinite(res.heldout["critical_heldout"])]
    for _, r in held_cross.iterrows():
        t = out[f"{r['method_a']}/{r['method_b']}"]
        assert t.x[0] == pytest.approx(r["critical_heldout"])
        lo, hi = _bar_ends(t)
        assert (lo[0], hi[0]) == pytest.approx((r["heldout_lo"], r["heldout_hi"]))
    assert len(out) == len(held_cross) > 0
    # the law used and why are written on it
    title = fig.layout.title.text
    assert res.law in title and "held-out MAD" in title


def _factor_runs():
    from tests.test_zhang_joint import _long

    return _long()


def test_factor_effects_forest_plot_shows_each_exponent_and_interval():
    from scalinglab.workflows.factor_effects import factor_effects

    df = pd.concat([_factor_runs().assign(method=m) for m in ("fmt", "lora")])
    res = factor_effects(df, ["n_params", "tokens", "lora_rank"], n_bootstrap=40)
    fig = res.plot()
    est = _role(fig, "estimate")
    seen = 0
    labels = list(fig.layout.yaxis.ticktext)
    for t in est:
        lo, hi = _bar_ends(t)
        for y, x, a, b in zip(t.y, t.x, lo, hi, strict=True):
            method, word = labels[y].split(": ")
            row = res.table[
                (res.table["method"] == method) & (res.table["factor"] == t.meta["series"])
            ]
            assert len(row) == 1 and word == plots._factor_word(t.meta["series"])
            r = row.iloc[0]
            assert (x, a, b) == pytest.approx((r["alpha"], r["alpha_lo"], r["alpha_hi"]))
            seen += 1
    assert seen == len(res.table) == 6
    colours = {t.meta["series"]: t.marker.color for t in est}
    assert len(set(colours.values())) == 3  # one colour per factor, the same in every method
    # one method's figure has its verdict sentence as the title
    one = res.plot("fmt")
    assert one.layout.title.text.replace("<br>", " ").startswith("fmt: " + res.verdicts["fmt"][:60])


def test_task_selection_bars_colour_every_selected_task():
    from scalinglab.workflows.task_selection import select_tasks

    rng = np.random.default_rng(0)
    tasks = [f"t{i}" for i in range(12)]
    chance = {t: 0.25 for t in tasks}
    rows = []
    for n in (1e8, 1.54e8, 1e9):
        r = {"n_params": n}
        for i, t in enumerate(tasks):
            r[f"acc_{t}"] = 0.25 + 0.02 * i * (n / 1.54e8) ** 0.3 + 0.003 * rng.random()
        rows.append(r)
    res = select_tasks(pd.DataFrame(rows), chance, select_at="n_params=154M")
    fig = res.plot()
    bars = {t.meta["selected"]: t for t in fig.data if (t.meta or {}).get("role") == "bars"}
    assert sorted(bars[True].x) == sorted(res.selected) and len(res.selected) > 0
    assert bars[True].marker.color == plots.SELECTED != bars[False].marker.color
    assert not set(bars[False].x) & set(res.selected)
    above = res.tasks.set_index("task")["above_chance"]
    for sel in (True, False):
        assert np.allclose(list(bars[sel].y), above.loc[list(bars[sel].x)].to_numpy())
    (margin,) = [s for s in fig.layout.shapes if s.name == "margin"]
    assert margin.y0 == margin.y1 == pytest.approx(res.margin)


def test_constant_exponent_forest_plot_band_and_joint_line():
    from scalinglab.workflows.constant_exponent import constant_exponent
    from tests.test_gadre_exponent import _runs

    df = pd.concat([_runs().assign(ds="a"), _runs(seed=1).assign(ds="b")])
    res = constant_exponent(df, by="ds", n_bootstrap=60)
    fig = res.plot()
    for g, sub in res.table.groupby("ds"):
        (t,) = [t for t in _role(fig, "estimate") if t.meta["series"] == g]
        sub = sub.sort_values("M")
        lo, hi = _bar_ends(t)
        assert np.allclose(list(t.x), sub["eta"]) and list(t.meta["M"]) == list(sub["M"])
        assert np.allclose(lo, sub["eta_lo"]) and np.allclose(hi, sub["eta_hi"])
        (band,) = [b for b in _role(fig, "common-range") if b.meta["series"] == g]
        assert (min(band.x), max(band.x)) == pytest.approx(
            (sub["eta_lo"].max(), sub["eta_hi"].min())
        )
        (line,) = [b for b in _role(fig, "joint") if b.meta["series"] == g]
        assert list(line.x) == pytest.approx([res.joint[g].params_["eta"]] * 2)
        assert t.marker.color == line.line.color == band.fillcolor  # one colour per set


def test_constant_exponent_without_a_common_range_draws_no_band():
    from scalinglab.workflows.constant_exponent import constant_exponent
    from tests.test_gadre_exponent import _runs

    res = constant_exponent(_runs({5.0: 0.10, 20.0: 0.13, 80.0: 0.16, 320.0: 0.19}), n_bootstrap=60)
    fig = res.plot()
    assert not _role(fig, "common-range")
    assert fig.layout.title.text.startswith("one eta does not fit all M")


def test_effective_data_figure_greys_the_high_data_regime():
    from scalinglab.workflows.transfer import effective_data_transferred
    from tests.test_transfer_regimes import _runs

    res = effective_data_transferred(_runs(), where="not high_data")
    fig = res.plot("effective")
    pts = _role(fig, "points")
    high = [t for t in pts if t.meta["high_data"]]
    assert len(high) == 1 and high[0].marker.color == plots.GREY
    assert "high-data regime" in high[0].name and high[0].showlegend is not False
    runs = res.runs[np.isfinite(res.runs["effective_data"])]
    assert len(high[0].x) == int(runs["high_data"].sum()) == 4
    assert sorted(high[0].x) == sorted(runs.loc[runs["high_data"], "finetune_size"])
    normal = [t for t in pts if not t.meta["high_data"]]
    assert sum(len(t.x) for t in normal) == int((~runs["high_data"]).sum())
    assert all(t.marker.color != plots.GREY for t in normal)
    # each model size's points on its own colour's D_F + D_T curve
    curves = {t.meta["series"]: t for t in _role(fig, "curve")}
    for t in normal:
        assert curves[t.meta["series"]].line.color == t.marker.color
    assert _role(fig, "identity")


def test_fit_figure_with_many_groups_uses_a_colour_scale():
    """Issue 17: 20 token budgets were binned into 8 colours, each covering a range, so a
    point's colour did not say which budget it had; now each point is coloured by its own
    value on a continuous scale with a colour bar, and lies on the curve of its colour."""
    rng = np.random.default_rng(0)
    n = np.repeat(np.geomspace(1e6, 1e8, 12), 20)
    d = np.tile(np.geomspace(1e7, 1e10, 20), 12)
    loss = (1.8 + 480 / n**0.35 + 2100 / d**0.37) * np.exp(rng.normal(0, 0.005, n.size))
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": loss})
    big = df["n_params"] == df["n_params"].max()
    res = sl.fit(df[~big], law="chinchilla")
    fig = plots.fit_figure(res, df[big])
    (pts,) = _role(fig, "points")
    (held,) = _role(fig, "heldout")
    assert pts.marker.showscale and pts.marker.colorbar is not None
    svar = fig.layout.title.text.rsplit("coloured by ", 1)[1]
    assert svar == "n_params"  # 12 sizes: fewer than 20 budgets, and both more than 8
    frame = df.assign(tokens_per_param=df["tokens"] / df["n_params"])
    assert np.allclose(list(pts.marker.color), np.log10(frame.loc[~big, svar]))
    assert np.allclose(list(held.marker.color), np.log10(frame.loc[big, svar]))
    curves = _role(fig, "curve")
    assert len(curves) == frame[svar].nunique() > 8
    cmin, cmax = pts.marker.cmin, pts.marker.cmax
    for c in curves:
        assert c.line.color == plots.scale_color(np.log10(c.meta["value"]), cmin, cmax)
    legend = [t for t in fig.data if t.name and t.showlegend is not False]
    assert len(legend) <= 6  # not one entry per budget
    # a point sits on the curve drawn at its own value
    by_value = {round(c.meta["value"], 6): c for c in curves}
    for (_, r), x, y in zip(frame[~big].iterrows(), pts.x, pts.y, strict=True):
        c = by_value[round(r[svar], 6)]
        got = np.interp(np.log(x), np.log(np.asarray(c.x, dtype=float)), np.asarray(c.y))
        want = res.law.evaluate(res.params_, {"n_params": [r["n_params"]], "tokens": [r["tokens"]]})
        assert got == pytest.approx(float(want[0]), rel=2e-3)
        assert y == pytest.approx(r["loss"])
    # the residual figure colours by the same series on the same scale
    rfig = plots.residual_figure(res, df[big])
    (rp,) = _role(rfig, "points")
    (rh,) = _role(rfig, "heldout")
    assert rfig.layout.title.text.endswith(f"coloured by {svar}")
    assert np.allclose(list(rp.marker.color), np.log10(frame.loc[~big, svar]))
    assert np.allclose(list(rh.marker.color), np.log10(frame.loc[big, svar]))
    assert (rp.marker.cmin, rp.marker.cmax) == (cmin, cmax)


def test_transfer_figure_greys_the_high_data_regime_too():
    from scalinglab.workflows.transfer import effective_data_transferred
    from tests.test_transfer_regimes import _runs

    res = effective_data_transferred(_runs())
    fig = res.plot()
    pts = [t for t in fig.data if t.mode == "markers" and t.name]
    (high,) = [t for t in pts if (t.meta or {}).get("high_data")]
    assert high.marker.color == plots.GREY and len(high.x) == 4
    assert all(max(t.x) < 1e11 for t in pts if t is not high)
