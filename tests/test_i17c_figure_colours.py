"""Issue 17 item 1, for the figure kinds the fit/residual tests do not reach: every group's
points share its curve's colour (read from the figure object), dashed parts lie beyond the
data, and the Isik figure shades the measured tokens' range as plots.fits does."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from scalinglab import plots
from scalinglab.plots.papers_hernandez import fraction_transferred_figure, transfer_loss_figure
from scalinglab.plots.papers_isik import isik_figure


def _role(fig, role):
    return [t for t in fig.data if (t.meta or {}).get("role") == role]


def _isik():
    from scalinglab.workflows.pretrain_choice import choose_pretraining_data
    from tests.test_i21_isik_figure import _two_sizes

    df = _two_sizes()
    return choose_pretraining_data(df, 1e11, metric="chrf"), df


def test_isik_points_share_their_curves_colour_dashes_beyond_the_data_and_shade_it():
    res, df = _isik()
    fig = isik_figure(res, df)
    panels: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for t in fig.data:
        meta = t.meta or {}
        if "series" in meta:
            panels[(t.xaxis, meta["series"])][meta["role"]].append(t)
    assert len(panels) == 4 * 3  # 4 panels x 3 sources
    for (_, _src), roles in panels.items():
        (pts,) = roles["points"]
        curves = roles["curve-in-range"] + roles["curve"]
        assert curves and {c.line.color for c in curves} == {pts.marker.color}
        lo, hi = float(min(pts.x)), float(max(pts.x))
        (solid,) = roles["curve-in-range"]
        assert solid.line.dash == "solid"
        assert min(solid.x) >= lo * (1 - 1e-9) and max(solid.x) <= hi * (1 + 1e-9)
        (dashed,) = roles["curve"]  # the data end at 3.2e10, the target is 1e11
        assert dashed.line.dash == "dash" and min(dashed.x) >= hi * (1 - 1e-9)
        assert max(dashed.x) == np.float64(res.target_tokens)
    colours = {
        s: {pts.marker.color for (_, s2), r in panels.items() if s2 == s for pts in r["points"]}
        for (_, s) in panels
    }
    assert (
        all(len(c) == 1 for c in colours.values()) and len({*map(frozenset, colours.values())}) == 3
    )
    # the tokens measured for every source shaded in every panel, exactly over the data
    _assert_shade_is_the_shared_range(fig, expect=4)
    assert [t.name for t in _role(fig, "key")] == ["tokens measured for every source"]


def _assert_shade_is_the_shared_range(fig, expect: int) -> None:
    """Each panel's shade spans the tokens every source was measured at, and every dashed
    (extrapolated) curve in the panel starts at or beyond the shade's right edge."""
    shades = [s for s in fig.layout.shapes if s.name == "fit-range"]
    assert len(shades) == expect
    for sh in shades:
        pts = [t for t in _role(fig, "points") if t.xaxis == sh.xref]
        lo = max(float(min(t.x)) for t in pts)
        hi = min(float(max(t.x)) for t in pts)
        assert (sh.x0, sh.x1) == (lo, hi) and lo < hi
        for c in _role(fig, "curve"):
            if c.xaxis == sh.xref:
                assert c.line.dash == "dash" and min(c.x) >= sh.x1 * (1 - 1e-9)


def test_isik_shade_is_the_range_every_source_shares_so_no_dash_falls_inside_it():
    """The demo's sources stop at 1e6 and 8e6 tokens: shaded over the union, the shorter
    source's dashed extrapolation was drawn inside the shade."""
    from scalinglab.workflows.pretrain_choice import choose_pretraining_data
    from tests.test_isik_metric import _runs

    df = _runs("chrf")
    df = df[(df["pretrain_data"] != "code") | (df["tokens"] <= 8.1e9)]  # code measured to 8e9
    res = choose_pretraining_data(df, 1e11, metric="chrf")
    fig = isik_figure(res, df)
    _assert_shade_is_the_shared_range(fig, expect=2)
    sh = next(s for s in fig.layout.shapes if s.name == "fit-range")
    assert (sh.x0, sh.x1) == pytest.approx((1e9, 8e9))
    code = [t for t in _role(fig, "curve") if t.meta["series"] == "code" and t.xaxis == "x"]
    assert len(code) == 1 and min(code[0].x) == pytest.approx(8e9)


def test_pretrain_figure_marker_and_line_share_the_source_colour():
    res, df = _isik()
    fig = plots.pretrain_figure(res, df)
    pts = _role(fig, "points")
    assert len(pts) == 3
    for t in pts:
        assert t.marker.color == t.line.color  # old code left the marker colour unset
    assert len({t.marker.color for t in pts}) == 3


def _transfer():
    from scalinglab.workflows.transfer import effective_data_transferred
    from tests.test_transfer_regimes import _runs

    return effective_data_transferred(_runs())


def test_transfer_figure_points_share_their_law_colour_and_solid_stays_in_range():
    res = _transfer()
    fig = plots.transfer_figure(res)
    pts = [t for t in _role(fig, "points") if not t.meta.get("high_data")]
    curves = {t.meta["series"]: t for t in _role(fig, "curve")}
    inner = {t.meta["series"]: t for t in _role(fig, "curve-in-range")}
    assert len(pts) >= 2 and set(curves) == {t.meta["series"] for t in pts}
    for t in pts:
        c = curves[t.meta["series"]]
        assert c.line.color == t.marker.color != plots.GREY
        assert c.line.dash == "dash"  # the whole curve dashed, the fitted part drawn over it
        if t.meta["series"] in inner:
            assert inner[t.meta["series"]].line.color == t.marker.color
    assert len({t.marker.color for t in pts}) == len(pts)


def test_effective_data_figure_points_share_their_curve_colour():
    from scalinglab.workflows.transfer import effective_data_transferred
    from tests.test_transfer_regimes import _runs

    fig = plots.effective_data_figure(effective_data_transferred(_runs(), where="not high_data"))
    curves = {t.meta["series"]: t.line.color for t in _role(fig, "curve")}
    pts = [t for t in _role(fig, "points") if not t.meta["high_data"]]
    assert pts and all(curves[t.meta["series"]] == t.marker.color for t in pts)


def test_hernandez_figures_colour_each_model_size_once():
    from scalinglab.workflows.transfer import effective_data_transferred
    from tests.test_workflows import _two_source_runs

    df, _ = _two_source_runs()
    res = effective_data_transferred(df, by="pretrain_data")
    for fig in (transfer_loss_figure(res, df), fraction_transferred_figure(res)):
        groups: dict[str, set] = defaultdict(set)
        for t in fig.data:
            if (t.meta or {}).get("role") == "key":
                continue
            if t.mode == "markers" and "high-data" in (t.name or ""):
                assert t.marker.color == "#bbbbbb"
                continue
            groups[t.legendgroup].add(t.marker.color if t.mode == "markers" else t.line.color)
        assert len(groups) == 5  # 5 model sizes
        assert all(len(c) == 1 for c in groups.values())  # points and laws one colour
        assert len(set.union(*groups.values())) == 5
        # each transfer law drawn only over its own pretrained runs' D_F: nothing extrapolated
        laws = [
            t
            for t in fig.data
            if t.mode == "lines"
            and (t.meta or {}).get("law") != "from-scratch"
            and (t.meta or {}).get("role") != "key"
        ]
        assert len(laws) == 10  # 5 sizes x 2 sources
        for t in laws:
            runs_x = [
                x
                for p in fig.data
                if p.mode == "markers"
                and p.legendgroup == t.legendgroup
                and "from scratch" not in p.name
                for x in p.x
            ]
            assert min(runs_x) * (1 - 1e-9) <= min(t.x) <= max(t.x) <= max(runs_x) * (1 + 1e-9)


def test_transfer_loss_figure_dashes_the_from_scratch_law_outside_its_fitted_tokens():
    """The from-scratch law was dotted from D_F = 1e5 although its runs start at 1e6: the
    pretrained runs below 1e6 are read off an extrapolation, now dashed and unshaded."""
    from scalinglab.workflows.transfer import effective_data_transferred
    from tests.test_workflows import _two_source_runs

    df, _ = _two_source_runs()
    res = effective_data_transferred(df, by="pretrain_data")
    fig = transfer_loss_figure(res, df)
    (shade,) = [s for s in fig.layout.shapes if s.name == "fit-range"]
    scratch = df[df["pretrain_data"] == "none"]["finetune_size"]
    assert (shade.x0, shade.x1) == (scratch.min(), scratch.max()) == (1e6, 1e11)
    dotted = _role(fig, "curve-in-range")
    dashed = _role(fig, "curve")
    assert len(dotted) == len(dashed) == 5
    for t in dotted:
        x = np.asarray(t.x, float)[np.isfinite(np.asarray(t.y, float))]
        assert t.line.dash == "dot" and x.min() >= 1e6 * (1 - 1e-9)
    for t in dashed:
        x = np.asarray(t.x, float)[np.isfinite(np.asarray(t.y, float))]
        assert t.line.dash == "dash" and x.min() == pytest.approx(1e5)
        assert x.max() <= 1.2e6  # it joins the dotted part at the shade's edge
    assert {t.name for t in _role(fig, "key")} == {
        "range of the from-scratch runs' tokens",
        "dashed: extrapolated",
    }


def test_factor_effects_marker_and_interval_share_the_factor_colour():
    from scalinglab.workflows.factor_effects import factor_effects
    from tests.test_zhang_joint import _long

    df = pd.concat([_long().assign(method=m) for m in ("fmt", "lora")])
    res = factor_effects(df, ["n_params", "tokens", "lora_rank"], n_bootstrap=0)
    fig = plots.factor_effects_figure(res)
    est = _role(fig, "estimate")
    by_factor: dict[str, set] = defaultdict(set)
    for t in est:
        assert t.error_x.color == t.marker.color
        if t.meta["identified"]:
            by_factor[t.meta["series"]].add(t.marker.color)
        else:
            assert t.marker.color == "#999" and t.marker.symbol == "circle-open"
    assert all(len(c) == 1 for c in by_factor.values())
    assert len(set.union(*by_factor.values())) == len(by_factor) >= 1


def test_constant_exponent_estimate_interval_band_and_joint_line_share_a_colour():
    from scalinglab.workflows.constant_exponent import constant_exponent
    from tests.test_gadre_exponent import _runs

    df = pd.concat([_runs().assign(ds="a"), _runs(seed=1).assign(ds="b")])
    fig = constant_exponent(df, by="ds", n_bootstrap=20).plot()
    seen = {}
    for t in fig.data:
        meta = t.meta or {}
        c = {
            "estimate": lambda t: t.marker.color,
            "joint": lambda t: t.line.color,
            "common-range": lambda t: t.fillcolor,
        }[meta["role"]](t)
        if meta["role"] == "estimate":
            assert t.error_x.color == c
        seen.setdefault(meta["series"], set()).add(c)
    assert set(seen) == {"a", "b"} and all(len(c) == 1 for c in seen.values())
    assert seen["a"] != seen["b"]


def test_task_selection_bars_one_colour_per_decision():
    from scalinglab.workflows.task_selection import select_tasks

    rows = [
        {"n_params": n, **{f"acc_t{i}": 0.25 + 0.02 * i * (n / 1.54e8) ** 0.3 for i in range(8)}}
        for n in (1e8, 1.54e8, 1e9)
    ]
    res = select_tasks(
        pd.DataFrame(rows), {f"t{i}": 0.25 for i in range(8)}, select_at="n_params=154M"
    )
    fig = res.plot()
    bars = {t.meta["selected"]: t for t in _role(fig, "bars")}
    assert (
        bars[True].marker.color == plots.SELECTED and bars[False].marker.color == plots.NOT_SELECTED
    )
    assert sorted(bars[True].x) == sorted(res.selected)
    # the legend says the count in the colour it names
    assert bars[True].name == f"selected ({len(res.selected)})"


def test_audit_figure_one_colour_per_law_and_every_point_drawn():
    """The audit figure has points only (no curves): one colour per law, none dropped."""
    pts = pd.DataFrame(
        {
            "law": ["chinchilla"] * 3 + ["kaplan"] * 2,
            "distance": [0.1, 0.3, 0.5, 0.2, 0.4],
            "rel_error": [0.01, -0.02, 0.03, 0.05, -0.01],
            "fold": [0, 1, 2, 0, 1],
            "row": [3, 4, 5, 3, 4],
            "truth": [3.0, 2.9, 2.8, 3.0, 2.9],
            "prediction": [3.03, 2.84, 2.88, 3.15, 2.87],
        }
    )
    fig = plots.audit_figure(pts)
    by_law = {t.name: t for t in fig.data}
    assert set(by_law) == {"chinchilla", "kaplan"}
    assert by_law["chinchilla"].marker.color != by_law["kaplan"].marker.color
    assert list(by_law["kaplan"].y) == pytest.approx([5.0, -1.0])  # in percent
    assert sum(len(t.x) for t in fig.data) == 5


def test_pretrain_choice_plot_is_the_isik_figure_the_report_draws():
    """PretrainChoice.plot() gave a notebook the simpler figure (dotted lines joining the
    points, no fitted law); it is now Isik et al.'s, as in the report."""
    from scalinglab.examples import testbed_runs
    from scalinglab.workflows.pretrain_choice import choose_pretraining_data

    res = choose_pretraining_data(testbed_runs()["alignment"], 4e6, metric="chrf")
    fig = res.plot()
    assert "lines fitted" in fig.layout.title.text
    roles = {(t.meta or {}).get("role") for t in fig.data}
    assert {"curve", "points"} <= roles  # fitted laws beside the measured points
