"""Figures of the papers' methods: factor effects, task selection, constant exponent, effective
data transferred."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go


from .fits import (  # noqa: F401
    _add_curve,
    inside_fit_range,
)
from .style import (  # noqa: F401
    GREY,
    PALETTE,
    _esc,
    _go,
    _hover,
    _layout,
    _num,
)
from .workflows import (  # noqa: F401
    _wrap,
)


def _forest_layout(fig: go.Figure, title: str, x: str, labels: list[str], n_title: int) -> None:
    """A forest plot's axes: rows top to bottom, labelled; the x axis linear (exponents)."""
    _layout(fig, title, x, "", logx=False)
    fig.update_layout(
        yaxis=dict(
            tickvals=list(range(len(labels))),
            ticktext=labels,
            autorange="reversed",
            title=None,
            zeroline=False,
        ),
        height=max(300, 150 + 34 * len(labels) + 16 * n_title),
        margin=dict(l=20, r=20, t=50 + 16 * n_title, b=50),
    )
    fig.update_yaxes(automargin=True)


def _title_lines(lines: list[str], width: int = 120) -> tuple[str, int]:
    """Sentences as a plotly title: the first as the title, wrapped, the rest as smaller
    lines; and how many lines it takes."""
    out, n = [], 0
    for i, s in enumerate(lines):
        w = _wrap(s, width)
        n += w.count("<br>") + 1
        out.append(w if i == 0 else "<sup>" + w.replace("<br>", "</sup><br><sup>") + "</sup>")
    return "<br>".join(out), n


def _interval_trace(
    fig: go.Figure,
    ys: Sequence[float],
    est: list[float],
    lo: list[float],
    hi: list[float],
    *,
    name: str,
    color: str,
    hover: list[str],
    meta: dict[str, Any],
    symbol: str = "circle",
) -> None:
    """Estimates as dots with their intervals as horizontal bars (ends exactly lo and hi)."""
    go = _go()
    e, lo_a, hi_a = (np.asarray(v, dtype=float) for v in (est, lo, hi))
    fig.add_trace(
        go.Scatter(
            x=e,
            y=ys,
            mode="markers",
            marker=dict(color=color, size=10, symbol=symbol),
            error_x=dict(
                type="data",
                symmetric=False,
                array=np.where(np.isfinite(hi_a), hi_a - e, np.nan),
                arrayminus=np.where(np.isfinite(lo_a), e - lo_a, np.nan),
                color=color,
                thickness=2,
                width=6,
            ),
            name=name,
            hovertext=hover,
            hoverinfo="text",
            meta={**meta, "lo": lo_a.tolist(), "hi": hi_a.tolist()},
        )
    )


def factor_effects_figure(res: Any, group: str | None = None) -> go.Figure:
    """Forest plot of each factor's exponent alpha_X with its interval, per method (rows
    grouped by method, one colour per factor), the verdict sentence as the title. Exponents
    on the bound (not identified) are open grey markers: present, but not to be ranked."""
    go = _go()
    t = res.table
    gcol = t.columns[0]  # the method (or `by`) column
    if group is not None:
        t = t[t[gcol].astype(str) == str(group)]
    groups = list(dict.fromkeys(t[gcol].astype(str)))
    fig = go.Figure()
    labels: list[str] = []
    pos: dict[tuple[str, str], int] = {}
    for g in groups:
        for f in t.loc[t[gcol].astype(str) == g, "factor"]:
            pos[(g, str(f))] = len(labels)
            labels.append(
                _esc(f"{g}: {_factor_word(str(f))}" if len(groups) > 1 else _factor_word(str(f)))
            )
    factors = list(dict.fromkeys(map(str, t["factor"])))
    level = f"{getattr(res, 'interval', 0.9):.0%}"
    for k, f in enumerate(factors):
        rows = t[t["factor"].astype(str) == f]
        for ident, sub in ((True, rows[rows["identified"]]), (False, rows[~rows["identified"]])):
            if sub.empty:
                continue
            _interval_trace(
                fig,
                [pos[(str(g), f)] for g in sub[gcol]],
                sub["alpha"].tolist(),
                sub["alpha_lo"].tolist(),
                sub["alpha_hi"].tolist(),
                name=_factor_word(f) + ("" if ident else " (not identified: on its bound)"),
                color=PALETTE[k % len(PALETTE)] if ident else "#999",
                symbol="circle" if ident else "circle-open",
                hover=[
                    f"<b>{_esc(g)}</b>: {_esc(f)}<br>alpha = {a:.4g} ({level} {lo:.4g} - "
                    f"{hi:.4g})<br>10x cuts reducible loss by {cut:.0%}<br>{n} runs"
                    for g, a, lo, hi, cut, n in zip(
                        sub[gcol],
                        sub["alpha"],
                        sub["alpha_lo"],
                        sub["alpha_hi"],
                        sub["loss_cut_per_10x"],
                        sub["n_runs"],
                        strict=True,
                    )
                ],
                meta={"role": "estimate", "series": f, "identified": ident},
            )
    verdicts = getattr(res, "verdicts", {})
    named = len(groups) > 1 or group is not None  # a figure of one method says which
    sentences = [(f"{g}: " if named else "") + str(verdicts[g]) for g in groups if g in verdicts]
    title, n = _title_lines(sentences or ["exponent per factor"])
    _forest_layout(fig, title, f"exponent alpha_X ({level} interval): larger helps more", labels, n)
    return fig


def _factor_word(f: str) -> str:
    return {
        "n_params": "model size",
        "tokens": "pretraining data",
        "lora_rank": "LoRA rank",
        "prompt_length": "prompt length",
        "pet_params": "PET parameters",
    }.get(f, f)


SELECTED = PALETTE[0]
NOT_SELECTED = "#c7c7c7"


def task_selection_figure(res: Any) -> go.Figure:
    """One bar per task: its best accuracy above chance at the reference runs, the margin
    as a line, the selected tasks coloured and the others grey (the rule's whole decision
    in one picture: which tasks enter the average error, and by how much they cleared it)."""
    go = _go()
    t = res.tasks.sort_values("above_chance", ascending=False)
    fig = go.Figure()
    for sel, name, color in (
        (True, f"selected ({int(t['selected'].sum())})", SELECTED),
        (False, f"not selected ({int((~t['selected']).sum())})", NOT_SELECTED),
    ):
        sub = t[t["selected"] == sel]
        if sub.empty:
            continue
        fig.add_trace(
            go.Bar(
                x=[_esc(v) for v in sub["task"]],
                y=sub["above_chance"],
                marker=dict(color=color),
                name=name,
                hovertext=[
                    f"<b>{_esc(task)}</b><br>best accuracy {b:.3f} vs chance {c:.3f}"
                    for task, b, c in zip(
                        sub["task"], sub["best_acc_at_reference"], sub["chance"], strict=True
                    )
                ],
                hoverinfo="text+y",
                meta={"role": "bars", "selected": sel},
            )
        )
    fig.add_hline(
        y=res.margin,
        line=dict(color="#d62728", dash="dash"),
        name="margin",
        annotation_text=f"margin {res.margin:g}",
        annotation_position="top right",
    )
    title, n = _title_lines(
        [
            f"{len(res.selected)} of {len(t)} tasks more than {res.margin:g} above chance at "
            f"{res.reference}",
        ]
    )
    _layout(fig, title, "task", "best accuracy at the reference runs - chance", logx=False)
    fig.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=[_esc(v) for v in t["task"]],
        tickangle=-60,
        tickfont=dict(size=10),
        automargin=True,
    )
    fig.update_layout(
        height=520,
        bargap=0.15,
        margin=dict(t=50 + 16 * n, b=60),
        legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"),
    )
    return fig


def constant_exponent_figure(res: Any, group: str | None = None) -> go.Figure:
    """Forest plot of the compute exponent eta per token multiplier M with its interval, per
    training set: the band is the range every interval shares (where one eta fits all M; no
    band when they share none) and the line the joint over-training fit's eta."""
    go = _go()
    t = res.table
    gcol = t.columns[0]
    if group is not None:
        t = t[t[gcol].astype(str) == str(group)]
    groups = list(dict.fromkeys(t[gcol].astype(str)))
    fig = go.Figure()
    labels: list[str] = []
    level = f"{getattr(res, 'interval', 0.9):.0%}"
    for k, g in enumerate(groups):
        sub = t[t[gcol].astype(str) == g].sort_values("M")
        color = PALETTE[k % len(PALETTE)]
        ys = list(range(len(labels), len(labels) + len(sub)))
        labels += [_esc(f"{g}: M={m:g}" if len(groups) > 1 else f"M={m:g}") for m in sub["M"]]
        y0, y1 = ys[0] - 0.4, ys[-1] + 0.4
        lo, hi = float(sub["eta_lo"].max()), float(sub["eta_hi"].min())
        if np.isfinite(lo) and np.isfinite(hi) and lo <= hi:
            fig.add_trace(
                go.Scatter(
                    x=[lo, hi, hi, lo, lo],
                    y=[y0, y0, y1, y1, y0],
                    fill="toself",
                    fillcolor=color,
                    opacity=0.15,
                    line=dict(width=0),
                    mode="lines",
                    name=(
                        f"{g}: range in every interval"
                        if len(groups) > 1
                        else "range in every interval"
                    ),
                    hoverinfo="skip",
                    meta={"role": "common-range", "series": g, "lo": lo, "hi": hi},
                )
            )
        joint = getattr(res, "joint", {}).get(g)
        if joint is not None and "eta" in joint.params_:
            eta = float(joint.params_["eta"])
            fig.add_trace(
                go.Scatter(
                    x=[eta, eta],
                    y=[y0, y1],
                    mode="lines",
                    line=dict(color=color, dash="dot", width=2),
                    name=(
                        f"{g}: joint fit eta = {eta:.3g}"
                        if len(groups) > 1
                        else f"joint fit eta = {eta:.3g}"
                    ),
                    meta={"role": "joint", "series": g, "eta": eta},
                )
            )
        _interval_trace(
            fig,
            ys,
            sub["eta"].tolist(),
            sub["eta_lo"].tolist(),
            sub["eta_hi"].tolist(),
            name=f"{g}: eta per M" if len(groups) > 1 else "eta per M",
            color=color,
            hover=[
                f"<b>{_esc(g)}</b> M={m:g}<br>eta = {e:.4g} ({level} {lo_:.4g} - {hi_:.4g})"
                f"<br>{n} runs"
                for m, e, lo_, hi_, n in zip(
                    sub["M"], sub["eta"], sub["eta_lo"], sub["eta_hi"], sub["n_runs"], strict=True
                )
            ],
            meta={"role": "estimate", "series": g, "M": sub["M"].tolist()},
        )
    verdicts = getattr(res, "verdicts", {})
    named = len(groups) > 1 or group is not None  # one training set's figure says which
    title, n = _title_lines(
        [(f"{g}: " if named else "") + str(verdicts[g]) for g in groups if g in verdicts]
        or ["compute exponent per token multiplier"]
    )
    _forest_layout(fig, title, f"compute exponent eta ({level} interval)", labels, n)
    return fig


def effective_data_figure(res: Any) -> go.Figure:
    """Effective data D_E vs the finetuning data D_F actually used, one colour per model
    size, with D_E = D_F (no transfer) as a line and the transfer law's D_F + D_T as curves:
    a run above the line gained from pretraining. Runs in the high-data regime (where the
    from-scratch loss has flattened and Hernandez et al.'s law does not apply) are grey, and
    the legend says so; runs left out of the fit by --where are open markers."""
    go = _go()
    r = res.runs
    fin = np.isfinite(r["effective_data"].to_numpy(dtype=float))
    high = r["high_data"].to_numpy(dtype=bool) if "high_data" in r else np.zeros(len(r), bool)
    in_fit = r["in_fit"].to_numpy(dtype=bool) if "in_fit" in r else np.ones(len(r), bool)
    fig = go.Figure()
    fit = getattr(res, "transfer_fit", None)
    for k, (n, g) in enumerate(r[fin & ~high].groupby("n_params")):
        color = PALETTE[k % len(PALETTE)]
        name = f"N={_num(float(n))}"
        used = in_fit[r.index.get_indexer(g.index)]
        for ok, suffix, sym in (
            (True, "", "circle"),
            (False, " (left out by --where)", "circle-open"),
        ):
            sub = g[used == ok]
            if sub.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=sub["finetune_size"],
                    y=sub["effective_data"],
                    mode="markers",
                    marker=dict(color=color, size=8, symbol=sym),
                    name=name + suffix,
                    legendgroup=name,
                    hovertext=_hover(
                        sub,
                        ["pretrain_data", "n_params", "finetune_size", "loss", "effective_data"],
                    ),
                    hoverinfo="text",
                    meta={"role": "points", "series": name, "high_data": False},
                )
            )
        if fit is not None:
            xs = np.geomspace(g["finetune_size"].min(), g["finetune_size"].max(), 50)
            inputs = {"finetune_size": xs, "n_params": np.full_like(xs, float(n))}
            _add_curve(
                fig,
                xs,
                xs + fit.law.evaluate(fit.params_, inputs),
                inside_fit_range(fit, inputs),
                color=color,
                name=f"{name}: D_F + D_T (law)",
                meta={"role": "curve", "series": name},
            )
    hd = r[fin & high]
    if not hd.empty:
        fig.add_trace(
            go.Scatter(
                x=hd["finetune_size"],
                y=hd["effective_data"],
                mode="markers",
                marker=dict(color=GREY, size=8, symbol="circle"),
                name="high-data regime (grey: the law does not apply)",
                hovertext=_hover(
                    hd, ["pretrain_data", "n_params", "finetune_size", "loss", "effective_data"]
                ),
                hoverinfo="text",
                meta={"role": "points", "series": "high-data", "high_data": True},
            )
        )
    pos = r.loc[fin, ["finetune_size", "effective_data"]].to_numpy(dtype=float)
    pos = pos[pos > 0]
    if pos.size:
        lo, hi = float(pos.min()), float(pos.max())
        fig.add_trace(
            go.Scatter(
                x=[lo, hi],
                y=[lo, hi],
                mode="lines",
                line=dict(color="#444", dash="dot", width=1),
                name="D_E = D_F (no transfer)",
                meta={"role": "identity"},
            )
        )
    n_inf = int((~fin).sum())
    title = "effective data D_E vs finetuning data D_F"
    if n_inf:
        title += f" ({n_inf} run(s) with infinite D_E not shown)"
    _layout(fig, title, "D_F (finetuning tokens)", "D_E (effective tokens)", logy=True)
    return fig
