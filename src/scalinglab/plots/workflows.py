"""Figures of the workflows: two-step forecasts, method choice, transfer, planning frontier,
pretraining choice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..fitting import FitResult

from .fits import (  # noqa: F401
    _add_curve,
    _choose_axes,
    _frame_for,
    _shade_range,
    fit_figure,
    fit_ranges,
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
    _sci,
    legend_height,
    linear_ticks,
)

# one colour per forecast target, none of them the fit series' PALETTE colours (a target
# coloured like a fit curve would read as one of its runs); more targets than these get
# evenly spaced colours of a continuous scale, smallest compute first
TARGET_COLOURS = ["#e6ab02", "#1b9e77", "#e7298a", "#7570b3", "#a6761d", "#66a61e", "#666666"]
_TARGET_LABEL_COLUMNS = ("run_id", "run", "name", "model")


def target_labels(t: pd.DataFrame, data: pd.DataFrame | None = None) -> list[str]:
    """A name per forecast target: its run id (from the targets, else from `data` by its
    1-based `row`), else its source row, else its inputs ('N=2.5e9, D=3e11'). Repeated
    names get their step or row appended: two targets must never share a legend entry."""
    col = next((c for c in _TARGET_LABEL_COLUMNS if c in t.columns), None)
    ids: list[Any] = list(t[col]) if col else [None] * len(t)
    if col is None and data is not None and "row" in t.columns:
        dcol = next((c for c in _TARGET_LABEL_COLUMNS if c in data.columns), None)
        if dcol is not None:
            rows = pd.Index(pd.to_numeric(t["row"], errors="coerce")) - 1
            ids = list(data[dcol].reindex(rows))
    out = []
    for i in range(len(t)):
        r = t.iloc[i]
        if ids[i] is not None and not (isinstance(ids[i], float) and np.isnan(ids[i])):
            out.append(str(ids[i]))
            continue
        size = [
            f"{k}={_num(float(r[c]))}" for k, c in (("N", "n_params"), ("D", "tokens")) if c in t
        ]
        if "row" in t.columns:  # the row, and the size that says which model it is
            out.append(f"row {r['row']}" + (f" ({size[0]})" if size else ""))
        else:
            out.append(", ".join(size) or f"target {i + 1}")
    step = "step" if "step" in t.columns else ("row" if "row" in t.columns else None)
    base = list(out)
    for i, name in enumerate(base):
        if base.count(name) > 1:
            out[i] = f"{name} ({step} {t[step].iloc[i]})" if step else f"{name} #{i + 1}"
    return out


def _target_order(t: pd.DataFrame) -> np.ndarray:
    """The targets' positions by compute (else size, else tokens, else as listed): the order
    of their colours and legend entries, smallest first."""
    key = next((c for c in ("flops", "n_params", "tokens") if c in t.columns), None)
    if key is None:
        return np.arange(len(t))
    v = pd.to_numeric(t[key], errors="coerce").to_numpy(dtype=float)
    return np.argsort(np.where(np.isfinite(v), v, np.inf), kind="stable")


def target_colours(t: pd.DataFrame) -> list[str]:
    """A distinct colour per forecast target, in the targets' order of compute (else size,
    else as listed), the same in both forecast figures (see TARGET_COLOURS)."""
    n = len(t)
    rank = np.argsort(_target_order(t), kind="stable")
    if n <= len(TARGET_COLOURS):
        palette = TARGET_COLOURS[:n]
    else:
        from plotly.colors import sample_colorscale

        palette = list(sample_colorscale("Plasma", list(np.linspace(0, 0.9, n))))
    return [palette[k] for k in rank]


def _add_targets(
    fig: go.Figure,
    x: Any,
    t: pd.DataFrame,
    stem: str,
    x_true: Any = None,
    *,
    labels: list[str] | None = None,
    colours: list[str] | None = None,
    level: float | None = None,
) -> None:
    """The forecast targets on a figure, each in its own colour and legend entry (its
    name): `{stem}_pred` as a diamond with its interval as an error bar
    (`{stem}_lo`/`{stem}_hi`, when bootstrapped), `{stem}_true` as a cross where it is known,
    joined to its prediction by a dotted line. All targets in one orange and one black once
    left a reader unable to tell which prediction belonged to which model (issue 17 review).
    Two grey legend-only entries say what the shapes mean."""
    go = _go()
    xs = np.asarray(x, dtype=float)
    xt = xs if x_true is None else np.asarray(x_true, dtype=float)
    pred = t[f"{stem}_pred"].to_numpy(dtype=float)
    has_lo = f"{stem}_lo" in t.columns and f"{stem}_hi" in t.columns
    lo = t[f"{stem}_lo"].to_numpy(dtype=float) if has_lo else None
    hi = t[f"{stem}_hi"].to_numpy(dtype=float) if has_lo else None
    true = t[f"{stem}_true"].to_numpy(dtype=float) if f"{stem}_true" in t.columns else None
    names = labels if labels is not None else target_labels(t)
    colours = colours if colours is not None else target_colours(t)
    band = f"{level:.0%} interval" if level else "interval"
    for key, symbol, what in (("predicted", "diamond", "diamond"), ("actual", "x", "cross")):
        if key == "actual" and (true is None or not np.isfinite(true).any()):
            continue
        fig.add_trace(  # the legend's key to the shapes: no data of its own
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=f"target ({key})",
                marker=dict(symbol=symbol, size=11, color=GREY),
                hoverinfo="skip",
                legendgroup="target-key",
                meta={"role": "target-key", "kind": key, "shape": what},
            )
        )
    for i in _target_order(t).tolist():  # legend entries from the smallest target up
        colour, name = colours[i], names[i]
        group = f"target-{i}"
        bars = None
        hover = f"<b>{_esc(name)}</b><br>predicted {_esc(stem)} = {_num(pred[i])}"
        if lo is not None and hi is not None and np.isfinite(lo[i]) and np.isfinite(hi[i]):
            bars = dict(
                type="data",
                symmetric=False,
                array=[hi[i] - pred[i]],
                arrayminus=[pred[i] - lo[i]],
                color=colour,
                thickness=1.5,
            )
            hover += f"<br>{band} {_num(lo[i])} - {_num(hi[i])}"
        fig.add_trace(
            go.Scatter(
                x=[xs[i]],
                y=[pred[i]],
                mode="markers",
                name=_esc(name),
                legendgroup=group,
                marker=dict(
                    symbol="diamond", size=11, color=colour, line=dict(width=1, color="#333")
                ),
                error_y=bars,
                hovertext=[hover],
                hoverinfo="text",
                meta={"role": "target", "kind": "predicted", "target": name},
            )
        )
        if true is None or not np.isfinite(true[i]):
            continue
        fig.add_trace(  # prediction to truth, so a pair reads as one even where targets crowd
            go.Scatter(
                x=[xs[i], xt[i]],
                y=[pred[i], true[i]],
                mode="lines",
                line=dict(color=colour, dash="dot", width=1),
                showlegend=False,
                legendgroup=group,
                hoverinfo="skip",
                meta={"role": "target-link", "target": name},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[xt[i]],
                y=[true[i]],
                mode="markers",
                name=_esc(f"{name} (actual)"),
                showlegend=False,
                legendgroup=group,
                marker=dict(symbol="x", size=12, color=colour),
                hovertext=[f"<b>{_esc(name)}</b><br>actual {_esc(stem)} = {_num(true[i])}"],
                hoverinfo="text",
                meta={"role": "target", "kind": "actual", "target": name},
            )
        )


def forecast_figures(res: Any, data: pd.DataFrame | None = None) -> tuple[go.Figure, go.Figure]:
    """Loss vs compute (fit runs and targets) and error vs loss (step 2 curve, targets), each
    target in its own colour under its name: its run id when the targets or `data` (the
    table the forecast ran on, whose 1-based rows the targets' `row` counts) carry one."""
    go = _go()
    lf, ef = res.loss_fit, res.error_fit
    fig1 = fit_figure(lf, title=f"step 1 ({lf.law.name}): loss")
    t = res.targets
    names, colours = target_labels(t, data), target_colours(t)
    level = getattr(res, "interval", None)
    xvar = _choose_axes(lf, _frame_for(lf, lf.frame_), 8)[0]  # as fit_figure chose it
    xcol = lf.columns_.get(xvar, xvar)
    if xcol in t.columns:
        _add_targets(fig1, t[xcol], t, "loss", labels=names, colours=colours, level=level)
        if fig1.layout.legend.orientation != "h":  # two more legend entries: room for them
            fig1.update_layout(height=max(fig1.layout.height or 0, legend_height(fig1)))
    e = _frame_for(ef, ef.frame_)
    var = ef.law.variables[0]
    xs = np.linspace(
        min(e[var].min(), t["loss_pred"].min()) * 0.97,
        max(e[var].max(), t["loss_pred"].max()) * 1.03,
        200,
    )
    fig2 = go.Figure()
    _add_curve(
        fig2,
        xs,
        ef.law.evaluate(ef.params_, {var: xs}),
        inside_fit_range(ef, {var: xs}),
        color=PALETTE[0],
        name=f"{ef.law.name} fit",
        meta={"role": "curve", "series": "fit"},
    )
    fig2.add_trace(
        go.Scatter(
            x=e[var],
            y=e[ef.metric_],
            mode="markers",
            name="fit runs",
            marker=dict(color=PALETTE[0]),
            hovertext=_hover(e, [var, ef.metric_]),
            hoverinfo="text",
            meta={"role": "points", "series": "fit"},
        )
    )
    _add_targets(
        fig2,
        t["loss_pred"],
        t,
        "error",
        x_true=t.get("loss_true"),
        labels=names,
        colours=colours,
        level=level,
    )
    _shade_range(fig2, float(e[var].min()), float(e[var].max()))
    _layout(fig2, f"step 2 ({ef.law.name}): {ef.metric_} vs loss", "loss", ef.metric_, logx=False)
    return fig1, fig2


def _wrap(text: str, width: int = 110) -> str:
    """A long sentence for a plotly title or note, broken at spaces with <br>. Like every
    title here it is user text as is: the report escapes titles, names and annotations
    (report.html.escape_figure_text) and keeps only this <br>/<sup> layout markup."""
    import textwrap

    return "<br>".join(textwrap.wrap(str(text), width))


def _at_x(curves: pd.DataFrame, col: str, x: float) -> float:
    """A curve's value at x (interpolated in log x): where a crossing marker sits."""
    fs = curves["finetune_size"].to_numpy(dtype=float)
    y = curves[col].to_numpy(dtype=float)
    ok = np.isfinite(y) & (fs > 0)
    if not ok.any() or not np.isfinite(x) or x <= 0:
        return float("nan")
    return float(np.interp(np.log(x), np.log(fs[ok]), y[ok]))


def _crossing_marker(
    fig: go.Figure,
    x: float,
    lo: float,
    hi: float,
    y: float,
    *,
    name: str,
    color: str,
    symbol: str,
    meta: dict[str, Any],
) -> None:
    """A crossing as a marker on the curves with its interval as a horizontal error bar
    (ends exactly the result's lo and hi; none when the bootstrap gave no interval)."""
    go = _go()
    bars = None
    if np.isfinite(lo) and np.isfinite(hi):
        bars = dict(type="data", symmetric=False, array=[hi - x], arrayminus=[x - lo], color=color)
    fig.add_trace(
        go.Scatter(
            x=[x],
            y=[y],
            mode="markers",
            marker=dict(symbol=symbol, size=13, color=color, line=dict(width=1.5, color="white")),
            error_x=bars,
            name=name,
            hovertext=[
                f"{_esc(name)}<br>D_f = {_num(x)}"
                + (f"<br>interval {_num(lo)} - {_num(hi)}" if bars else "")
            ],
            hoverinfo="text",
            meta={**meta, "lo": lo, "hi": hi, "x": x},
        )
    )


def method_figure(res: Any) -> go.Figure:
    """Predicted loss vs finetuning size at the decision scale, per method: the in-sample
    curves (solid over the fitted finetuning sizes, dashed beyond), the held-out curves
    (fitted without the runs at that scale: dashed throughout, since at that scale they are
    an extrapolation by construction), the measured runs there, and both crossings as
    markers with their intervals. The law used and why is the subtitle: a reader must know
    which fit the crossing rests on and whether it survived being held out."""
    go = _go()
    fig = go.Figure()
    c = res.curves
    hc = getattr(res, "heldout_curves", None)
    hc = hc if isinstance(hc, pd.DataFrame) and not hc.empty else None
    held = getattr(res, "heldout", None)
    held = held if isinstance(held, pd.DataFrame) and not held.empty else None
    # curves over the measured sizes and the crossings, a decade either side: not to 1e15
    # on an axis the data never reach
    marks = [float(v) for v in res.measured.index if np.isfinite(v) and v > 0]
    marks += [float(v) for v in res.crossings["critical_finetune_size"] if np.isfinite(v) and v > 0]
    if marks:
        keep = (c["finetune_size"] >= min(marks) / 10) & (c["finetune_size"] <= max(marks) * 10)
        c = c[keep]
        if hc is not None:
            hc = hc[
                (hc["finetune_size"] >= min(marks) / 10) & (hc["finetune_size"] <= max(marks) * 10)
            ]
    at_value = float(res.at[res.factor])
    lo_all, hi_all = np.inf, -np.inf
    colors: dict[str, str] = {}
    for k, m in enumerate(c.columns[1:]):
        color = colors[m] = PALETTE[k % len(PALETTE)]
        fs = c["finetune_size"].to_numpy(dtype=float)
        fit = res.fits.get(m) if isinstance(getattr(res, "fits", None), dict) else None
        inside = np.ones(len(fs), dtype=bool)
        if fit is not None:
            ranges = fit_ranges(fit)
            inputs = {"finetune_size": fs}
            for v in ranges:  # the factor (x, or x_<factor> in a joint fit) at `at`
                if v in ("x", f"x_{res.factor}"):
                    inputs[v] = np.full_like(fs, at_value)
            inside = inside_fit_range(fit, inputs)
            if "finetune_size" in ranges:
                lo_all = min(lo_all, ranges["finetune_size"][0])
                hi_all = max(hi_all, ranges["finetune_size"][1])
        _add_curve(
            fig,
            fs,
            c[m].to_numpy(dtype=float),
            inside,
            color=color,
            name=f"{m} (in-sample fit)",
            meta={"role": "curve", "series": m},
        )
        if hc is not None and m in hc.columns:
            fig.add_trace(
                go.Scatter(
                    x=hc["finetune_size"],
                    y=hc[m],
                    mode="lines",
                    line=dict(color=color, dash="dash", width=1.5),
                    opacity=0.75,
                    name=f"{m} (held out: fitted without {res.factor}={_num(at_value)})",
                    meta={"role": "heldout-curve", "series": m},
                )
            )
        if m in res.measured.columns:  # runs at this scale, if any
            fig.add_trace(
                go.Scatter(
                    x=res.measured.index,
                    y=res.measured[m],
                    mode="markers",
                    name=f"{m} (measured)",
                    marker=dict(color=color, size=9),
                    meta={"role": "points", "series": m},
                )
            )
    _shade_range(fig, lo_all, hi_all)
    full = res.curves
    for j, (_, r) in enumerate(res.crossings.iterrows()):
        x = float(r["critical_finetune_size"])
        if not np.isfinite(x):
            continue
        pair = f"{r['method_a']}/{r['method_b']}"
        fig.add_vline(x=x, line=dict(dash="dot", color="gray", width=1))
        _crossing_marker(
            fig,
            x,
            float(r.get("critical_lo", np.nan)),
            float(r.get("critical_hi", np.nan)),
            _at_x(full, str(r["method_a"]), x),
            name=f"{pair} crossing (in-sample)",
            color="#333",
            symbol="diamond",
            meta={"role": "crossing", "kind": "in-sample", "pair": pair},
        )
        fig.add_annotation(  # at its line, inside the plot, stacked when lines are many
            x=np.log10(x),
            xref="x",
            y=1 - 0.07 * j,
            yref="paper",
            text=f"{pair} cross at {_num(x)}",
            showarrow=False,
            xanchor="left",
            font=dict(size=10, color="#555"),
            bgcolor="rgba(255,255,255,0.7)",
        )
    if held is not None and hc is not None:
        for _, r in held.iterrows():
            x = float(r["critical_heldout"])
            if not np.isfinite(x):
                continue
            pair = f"{r['method_a']}/{r['method_b']}"
            _crossing_marker(
                fig,
                x,
                float(r.get("heldout_lo", np.nan)),
                float(r.get("heldout_hi", np.nan)),
                _at_x(res.heldout_curves, str(r["method_a"]), x),
                name=f"{pair} crossing (held out)",
                color="#888",
                symbol="diamond-open",
                meta={"role": "crossing", "kind": "heldout", "pair": pair},
            )
    law = getattr(res, "law", "")
    why = getattr(res, "law_reason", "")
    title = f"predicted loss vs finetuning size at {res.factor}={res.at[res.factor]:.3g}"
    note = _wrap(f"law: {law}" + (f" ({why})" if why else ""), 120) if law else ""
    if note:  # the law and why, under the title: the crossings rest on it
        title += "<br><sup>" + note.replace("<br>", "</sup><br><sup>") + "</sup>"
    _layout(fig, title, "finetune_size", "loss", logy=True)
    if note:
        lines = note.count("<br>") + 1
        # the title from the top edge down, its sub-lines ~20 px each: the old 16 px a line
        # let a four-line note run into the plot over the top y tick
        fig.update_layout(
            margin=dict(t=70 + 20 * lines),
            height=(fig.layout.height or 430) + 20 * lines,
            title=dict(y=1.0, yanchor="top", yref="container", pad=dict(t=12)),
        )
    return fig


def transfer_figure(res: Any) -> go.Figure:
    go = _go()
    fig = go.Figure()
    runs = res.runs[np.isfinite(res.runs["effective_data"]) & (res.runs["transferred"] > 0)]
    high = (
        runs["high_data"].to_numpy(dtype=bool) if "high_data" in runs else np.zeros(len(runs), bool)
    )
    if high.any():  # grey, as in the effective-data figure: the law does not apply there
        fig.add_trace(
            go.Scatter(
                x=runs.loc[high, "finetune_size"],
                y=runs.loc[high, "transferred"],
                mode="markers",
                name="high-data regime (grey: the law does not apply)",
                marker=dict(color=GREY),
                meta={"role": "points", "series": "high-data", "high_data": True},
            )
        )
    runs = runs[~high]
    for k, (n, g) in enumerate(runs.groupby("n_params")):
        color = PALETTE[k % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=g["finetune_size"],
                y=g["transferred"],
                mode="markers",
                name=f"N={_num(float(n))}",
                marker=dict(color=color),
                meta={"role": "points", "series": f"N={_num(float(n))}"},
            )
        )
        if res.transfer_fit is not None:
            xs = np.geomspace(g["finetune_size"].min(), g["finetune_size"].max(), 50)
            inputs = {"finetune_size": xs, "n_params": np.full_like(xs, n)}
            _add_curve(
                fig,
                xs,
                res.transfer_fit.law.evaluate(res.transfer_fit.params_, inputs),
                inside_fit_range(res.transfer_fit, inputs),
                color=color,
                name=f"N={_num(float(n))} (law)",
                meta={"role": "curve", "series": f"N={_num(float(n))}"},
            )
    _layout(fig, "effective data transferred D_T vs finetuning data D_F", "D_F", "D_T", logy=True)
    return fig


def plan_figure(
    res: FitResult, budgets: np.ndarray | None = None, budget: float | None = None
) -> go.Figure:
    """Compute-optimal frontier: loss, N* and D* vs compute budget, from a decade below the
    fitted runs' compute to well past the planned `budget` (marked): solid where N* and D*
    both lie within the fitted runs' sizes and token counts, dashed beyond; the fitted runs'
    compute (6ND) shaded. (It once spanned 1e18-1e26 whatever the data and the budget.)"""
    go = _go()
    from ..laws.optimum import compute_optimal

    ranges = fit_ranges(res)
    c_lo = c_hi = np.nan
    if {"n_params", "tokens"} <= set(ranges):
        f = _frame_for(res, res.frame_)
        if {"n_params", "tokens"} <= set(f.columns):
            flops = 6 * f["n_params"].to_numpy(dtype=float) * f["tokens"].to_numpy(dtype=float)
            c_lo, c_hi = float(flops.min()), float(flops.max())
    if budgets is None:
        known = [v for v in (c_lo, c_hi, budget) if v is not None and np.isfinite(v) and v > 0]
        lo, hi = (min(known), max(known)) if known else (1e18, 1e24)
        budgets = np.geomspace(lo / 10, max(hi * 100, lo * 1e4), 80)
    rows = [compute_optimal(res.params_, c) for c in budgets]
    n, d, loss = (np.array(v) for v in zip(*rows, strict=True))
    inside = inside_fit_range(res, {"n_params": n, "tokens": d})
    fig = go.Figure()
    for k, (y, name, axis) in enumerate(
        [(n, "N* (params)", None), (d, "D* (tokens)", None), (loss, "loss at optimum", "y2")]
    ):
        _add_curve(
            fig,
            budgets,
            y,
            inside,
            color=PALETTE[k],
            name=name,
            meta={"role": "curve", "series": name},
            yaxis=axis,
        )
    _shade_range(fig, c_lo, c_hi, "fitted runs' compute")
    if budget:
        fig.add_vline(x=budget, line=dict(color="black", dash="dot"), name="budget")
        fig.add_annotation(  # on a log x axis an annotation's x is log10 of the value
            x=float(np.log10(budget)),
            y=1,
            xref="x",
            yref="paper",
            text=f"budget {_sci(float(budget))} FLOPs",
            showarrow=False,
            xanchor="right",
            yanchor="top",
            font=dict(size=11),
            name="budget-label",
        )
    _layout(fig, "compute-optimal frontier", "training FLOPs", "N*, D*", logy=True)
    fig.update_layout(
        yaxis2=dict(title="loss at optimum", overlaying="y", side="right", **_loss_axis(loss)),
        # below the plot: on the right it covered the loss axis
        legend=dict(orientation="h", x=0, y=-0.18, xanchor="left", yanchor="top"),
        margin=dict(l=60, r=70, t=50, b=110),
    )
    return fig


def _loss_axis(loss: np.ndarray) -> dict[str, Any]:
    """The frontier's right (loss) axis: its own round ticks over the loss range, padded as
    plotly pads, and no grid of its own. Left to plotly, an axis overlaying the log N*/D*
    axis was ticked in step with it, at 2.35, 3.36, 4.37 ... (issue 17)."""
    v = np.asarray(loss, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return {}
    lo, hi = float(v.min()), float(v.max())
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(lo) * 0.05, 0.05)
    lo, hi = lo - pad, hi + pad
    ticks = [t for t in linear_ticks(lo, hi) if lo <= t <= hi]
    return dict(
        range=[lo, hi],
        tickvals=ticks,
        ticktext=[_sci(t) for t in ticks],
        showgrid=False,
        zeroline=False,
    )


def pretrain_figure(res: Any, data: pd.DataFrame) -> go.Figure:
    """The score (BLEU, chrF, any column the choice was made on) vs pretraining tokens, one
    line per source at the smallest finetuning size, misaligned sources named."""
    go = _go()
    fig = go.Figure()
    metric = getattr(res, "metric", "bleu")
    label = {"bleu": "BLEU", "chrf": "chrF"}.get(metric.lower(), metric)
    small = data["finetune_size"].min()
    d = data[data["finetune_size"] == small]
    for k, (src, g) in enumerate(d.groupby("pretrain_data")):
        g = g.groupby("tokens")[metric].mean().reset_index()
        row = res.ranking[
            (res.ranking["pretrain_data"] == src) & (res.ranking["finetune_size"] == small)
        ].iloc[0]
        name = f"{src}" + (" (misaligned)" if row["misaligned"] else "")
        color = PALETTE[k % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=g["tokens"],
                y=g[metric],
                mode="markers+lines",
                name=name,
                # the marker's colour set, not left to plotly's default: its curve's colour
                marker=dict(color=color),
                line=dict(color=color, dash="dot"),
                meta={"role": "points", "series": str(src)},
            )
        )
    _layout(
        fig,
        f"{label} vs pretraining tokens (finetune_size={small:g})",
        "pretraining tokens",
        label,
    )
    return fig
