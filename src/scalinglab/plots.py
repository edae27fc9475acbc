"""Plotly figures of fits, audits and workflows. Every point's hover names its run.

The same functions back the HTML report and the notebook API (`FitResult.plot()`).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from .fitting import FitResult

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

# x axis and series (one curve per value) for each catalog law; generic laws use their
# first variable.
AXES = {
    "chinchilla": ("n_params", "tokens_per_param"),
    "kaplan": ("n_params", "tokens_per_param"),
    "overtrain": ("flops", "tokens_per_param"),
    "finetune_multiplicative": ("finetune_size", "x"),
    "finetune_additive": ("finetune_size", "x"),
    "transfer": ("finetune_size", "n_params"),
}


def _go():
    import plotly.graph_objects as go

    return go


def _layout(fig, title: str, x: str, y: str, logx: bool = True, logy: bool = False) -> None:
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=430,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(font=dict(size=10)),
        hovermode="closest",
    )
    fig.update_xaxes(title=x, type="log" if logx else "linear")
    fig.update_yaxes(title=y, type="log" if logy else "linear")


def _esc(v: object) -> str:
    """User text inside plotly's pseudo-HTML (hover, names): shown literally, never markup."""
    return html.escape(str(v), quote=False)


def _hover(frame: pd.DataFrame, cols: list[str]) -> list[str]:
    label = next((c for c in ("run_id", "run", "model", "name") if c in frame.columns), None)
    out = []
    for i, (_, r) in enumerate(frame.iterrows()):
        head = f"<b>{_esc(r[label])}</b><br>" if label else f"row {frame.index[i] + 1}<br>"
        out.append(
            head
            + "<br>".join(
                f"{_esc(c)} = {r[c]:.5g}"
                if isinstance(r[c], (int, float, np.floating))
                else f"{_esc(c)} = {_esc(r[c])}"
                for c in cols
                if c in frame.columns
            )
        )
    return out


def _series_values(values: np.ndarray, max_series: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """(per-row series label index, representative value per series): distinct values when
    few, else log-quantile bins with their median."""
    uniq = np.unique(values)
    if uniq.size <= max_series:
        return np.searchsorted(uniq, values), uniq
    edges = np.quantile(np.log(values), np.linspace(0, 1, max_series + 1))
    idx = np.clip(np.searchsorted(edges, np.log(values), side="right") - 1, 0, max_series - 1)
    reps = np.array(
        [
            np.exp(np.median(np.log(values[idx == k]))) if (idx == k).any() else np.nan
            for k in range(max_series)
        ]
    )
    return idx, reps


def _frame_for(res: FitResult, frame: pd.DataFrame | None) -> pd.DataFrame:
    """Law inputs (by variable name), the metric and derived series columns for a frame."""
    if frame is None:
        d = pd.DataFrame({v: np.asarray(a) for v, a in res.data_["x"].items()})
        d[res.metric_] = res.data_["y"]
        return d
    d = frame.copy()
    for var, col in res.columns_.items():
        if col in d.columns:
            d[var] = d[col]
    if "tokens_per_param" not in d.columns and {"tokens", "n_params"} <= set(d.columns):
        d["tokens_per_param"] = d["tokens"] / d["n_params"]
    return d


def _inputs_along(
    res: FitResult,
    xvar: str,
    svar: str | None,
    xs: np.ndarray,
    s: float | None,
    fixed: dict[str, float],
) -> dict[str, np.ndarray]:
    """Law inputs along a curve x = xs at series value s (tokens_per_param derives tokens)."""
    data: dict[str, np.ndarray] = {}
    for v in res.law.variables:
        if v == xvar:
            data[v] = xs
        elif v == svar:
            data[v] = np.full_like(xs, s)
        elif v == "tokens" and svar == "tokens_per_param" and xvar == "n_params":
            data[v] = xs * s
        else:
            data[v] = np.full_like(xs, fixed.get(v, np.nan))
    return data


def fit_figure(
    res: FitResult, heldout: pd.DataFrame | None = None, title: str | None = None
) -> go.Figure:
    """Fitted curves on log-log axes: fit points (circles) and held-out points (crosses),
    one curve per series value, with the bootstrap 5-95% band when available."""
    go = _go()
    fitted = _frame_for(res, res.frame_)
    held = _frame_for(res, heldout) if heldout is not None and len(heldout) else None
    xvar, svar = AXES.get(res.law.name, (res.law.variables[0], None))
    if xvar not in fitted.columns:
        xvar, svar = res.law.variables[0], None
    if svar is not None and svar not in fitted.columns:
        svar = None
    metric = res.metric_
    fig = go.Figure()
    allx = fitted[xvar].to_numpy(dtype=float)
    if held is not None and xvar in held.columns:
        allx = np.concatenate([allx, held[xvar].to_numpy(dtype=float)])
    positive = bool(np.all(allx > 0))
    lo, hi = (allx.min(), allx.max())
    xs = np.geomspace(lo, hi * 1.5, 120) if positive else np.linspace(lo, hi, 120)
    fixed = {v: float(np.median(fitted[v])) for v in res.law.variables if v in fitted.columns}
    if svar is not None:
        idx, reps = _series_values(fitted[svar].to_numpy(dtype=float))
    else:
        idx, reps = np.zeros(len(fitted), dtype=int), np.array([np.nan])
    boot = res.bootstrap_
    for k, s in enumerate(reps):
        if np.isnan(s) and svar is not None:
            continue
        color = PALETTE[k % len(PALETTE)]
        name = f"{svar}={s:.3g}" if svar is not None else "fit"
        inputs = _inputs_along(res, xvar, svar, xs, s, fixed)
        if boot is not None and boot.usable.any():
            draws = boot.predict_draws(inputs)
            band_lo, band_hi = np.nanpercentile(draws, [5, 95], axis=0)
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([xs, xs[::-1]]),
                    y=np.concatenate([band_hi, band_lo[::-1]]),
                    fill="toself",
                    fillcolor=color,
                    opacity=0.15,
                    line=dict(width=0),
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=name,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=res.law.evaluate(res.params_, inputs),
                mode="lines",
                line=dict(color=color),
                name=name,
                legendgroup=name,
            )
        )
        pts = fitted[idx == k]
        fig.add_trace(
            go.Scatter(
                x=pts[xvar],
                y=pts[metric],
                mode="markers",
                showlegend=False,
                legendgroup=name,
                marker=dict(color=color, size=7, line=dict(width=0.5, color="white")),
                hovertext=_hover(pts, [*res.law.variables, metric]),
                hoverinfo="text",
            )
        )
    if held is not None and metric in held.columns and xvar in held.columns:
        fig.add_trace(
            go.Scatter(
                x=held[xvar],
                y=held[metric],
                mode="markers",
                name="held out",
                marker=dict(symbol="x", size=11, color="black"),
                hovertext=_hover(held, [*res.law.variables, metric]),
                hoverinfo="text",
            )
        )
    _layout(
        fig,
        title or f"{res.law.name}: {metric} vs {xvar}",
        xvar,
        metric,
        logx=positive,
        logy=res.law.space == "log",
    )
    return fig


def residual_figure(res: FitResult) -> go.Figure:
    go = _go()
    d = _frame_for(res, res.frame_)
    r = res.residuals()
    xvar = res.law.variables[0]
    fig = go.Figure(
        go.Scatter(
            x=d[xvar],
            y=r,
            mode="markers",
            marker=dict(size=6),
            hovertext=_hover(d, [*res.law.variables, res.metric_]),
            hoverinfo="text+y",
            name="residual",
        )
    )
    fig.add_hline(y=0, line=dict(color="gray", dash="dot"))
    _layout(
        fig,
        f"{res.law.name}: residuals ({res.law.space} space)",
        xvar,
        "log(pred/obs)" if res.law.space == "log" else "pred - obs",
        logx=bool(np.all(d[xvar] > 0)),
    )
    return fig


def audit_figure(points: pd.DataFrame) -> go.Figure:
    """Relative error of held-out points vs extrapolation distance (orders of magnitude)."""
    go = _go()
    fig = go.Figure()
    xcol = "distance" if "distance" in points.columns else "compute_ratio"
    for k, (law, p) in enumerate(points.groupby("law", sort=False)):
        fig.add_trace(
            go.Scatter(
                x=p[xcol],
                y=p["rel_error"] * 100,
                mode="markers",
                name=law,
                marker=dict(color=PALETTE[k % len(PALETTE)], size=7),
                hovertext=[
                    f"fold {f}<br>row {r}<br>truth {t:.4g}<br>pred {q:.4g}"
                    for f, r, t, q in zip(
                        p["fold"], p["row"], p["truth"], p["prediction"], strict=True
                    )
                ],
                hoverinfo="text+y",
            )
        )
    _layout(
        fig,
        "held-out relative error vs extrapolation",
        "orders of magnitude beyond the fit set"
        if xcol == "distance"
        else "target compute / fit-set compute",
        "relative error (%)",
        logx=xcol != "distance",
    )
    return fig


def _add_targets(fig: go.Figure, x: Any, t: pd.DataFrame, stem: str, x_true: Any = None) -> None:
    """The forecast targets on a figure: `{stem}_pred` with its interval as asymmetric error
    bars (`{stem}_lo`/`{stem}_hi`, when bootstrapped) and `{stem}_true` where it is known."""
    go = _go()
    bars = None
    if f"{stem}_lo" in t:
        pred = t[f"{stem}_pred"]
        bars = dict(
            type="data",
            symmetric=False,
            array=t[f"{stem}_hi"] - pred,
            arrayminus=pred - t[f"{stem}_lo"],
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=t[f"{stem}_pred"],
            mode="markers",
            name="target (predicted)",
            marker=dict(symbol="diamond", size=11, color="orange"),
            error_y=bars,
        )
    )
    if f"{stem}_true" in t:
        fig.add_trace(
            go.Scatter(
                x=x if x_true is None else x_true,
                y=t[f"{stem}_true"],
                mode="markers",
                name="target (actual)",
                marker=dict(symbol="x", size=12, color="black"),
            )
        )


def forecast_figures(res: Any) -> tuple[go.Figure, go.Figure]:
    """Loss vs compute (fit runs and targets) and error vs loss (step 2 curve, targets)."""
    go = _go()
    lf, ef = res.loss_fit, res.error_fit
    fig1 = fit_figure(lf, title=f"step 1 ({lf.law.name}): loss")
    t = res.targets
    xvar = AXES.get(lf.law.name, (lf.law.variables[0], None))[0]
    xcol = lf.columns_.get(xvar, xvar)
    if xcol in t.columns:
        _add_targets(fig1, t[xcol], t, "loss")
    e = _frame_for(ef, ef.frame_)
    var = ef.law.variables[0]
    xs = np.linspace(
        min(e[var].min(), t["loss_pred"].min()) * 0.97,
        max(e[var].max(), t["loss_pred"].max()) * 1.03,
        200,
    )
    fig2 = go.Figure()
    fig2.add_trace(
        go.Scatter(
            x=xs, y=ef.law.evaluate(ef.params_, {var: xs}), mode="lines", name=f"{ef.law.name} fit"
        )
    )
    fig2.add_trace(
        go.Scatter(
            x=e[var],
            y=e[ef.metric_],
            mode="markers",
            name="fit runs",
            hovertext=_hover(e, [var, ef.metric_]),
            hoverinfo="text",
        )
    )
    _add_targets(fig2, t["loss_pred"], t, "error", x_true=t.get("loss_true"))
    _layout(fig2, f"step 2 ({ef.law.name}): {ef.metric_} vs loss", "loss", ef.metric_, logx=False)
    return fig1, fig2


def method_figure(res: Any) -> go.Figure:
    go = _go()
    fig = go.Figure()
    c = res.curves
    for k, m in enumerate(c.columns[1:]):
        fig.add_trace(
            go.Scatter(
                x=c["finetune_size"],
                y=c[m],
                mode="lines",
                name=m,
                line=dict(color=PALETTE[k % len(PALETTE)]),
            )
        )
        if m in res.measured.columns:  # runs at this scale, if any
            fig.add_trace(
                go.Scatter(
                    x=res.measured.index,
                    y=res.measured[m],
                    mode="markers",
                    name=f"{m} (measured)",
                    marker=dict(color=PALETTE[k % len(PALETTE)], size=9),
                )
            )
    for _, r in res.crossings.iterrows():
        if np.isfinite(r["critical_finetune_size"]):
            fig.add_vline(
                x=r["critical_finetune_size"],
                line=dict(dash="dash", color="gray"),
                annotation_text=f"{r['method_a']}/{r['method_b']} cross",
            )
    _layout(
        fig,
        f"predicted loss vs finetuning size at {res.factor}={res.at[res.factor]:.3g}",
        "finetune_size",
        "loss",
        logy=True,
    )
    return fig


def transfer_figure(res: Any) -> go.Figure:
    go = _go()
    fig = go.Figure()
    runs = res.runs[np.isfinite(res.runs["effective_data"]) & (res.runs["transferred"] > 0)]
    for k, (n, g) in enumerate(runs.groupby("n_params")):
        color = PALETTE[k % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=g["finetune_size"],
                y=g["transferred"],
                mode="markers",
                name=f"N={n:.3g}",
                marker=dict(color=color),
            )
        )
        if res.transfer_fit is not None:
            xs = np.geomspace(g["finetune_size"].min(), g["finetune_size"].max(), 50)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=res.transfer_fit.law.evaluate(
                        res.transfer_fit.params_,
                        {"finetune_size": xs, "n_params": np.full_like(xs, n)},
                    ),
                    mode="lines",
                    line=dict(color=color),
                    showlegend=False,
                )
            )
    _layout(fig, "effective data transferred D_T vs finetuning data D_F", "D_F", "D_T", logy=True)
    return fig


def plan_figure(res: FitResult, budgets: np.ndarray | None = None) -> go.Figure:
    """Compute-optimal frontier: loss, N* and D* vs compute budget."""
    go = _go()
    from .laws.optimum import compute_optimal

    budgets = budgets if budgets is not None else np.geomspace(1e18, 1e26, 60)
    rows = [compute_optimal(res.params_, c) for c in budgets]
    n, d, loss = (np.array(v) for v in zip(*rows, strict=True))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=budgets, y=n, name="N* (params)", mode="lines"))
    fig.add_trace(go.Scatter(x=budgets, y=d, name="D* (tokens)", mode="lines"))
    fig.add_trace(go.Scatter(x=budgets, y=loss, name="loss at optimum", mode="lines", yaxis="y2"))
    _layout(fig, "compute-optimal frontier", "training FLOPs", "N*, D*", logy=True)
    fig.update_layout(yaxis2=dict(title="loss", overlaying="y", side="right"))
    return fig


def pretrain_figure(res: Any, data: pd.DataFrame) -> go.Figure:
    go = _go()
    fig = go.Figure()
    small = data["finetune_size"].min()
    d = data[data["finetune_size"] == small]
    for k, (src, g) in enumerate(d.groupby("pretrain_data")):
        g = g.groupby("tokens")["bleu"].mean().reset_index()
        row = res.ranking[
            (res.ranking["pretrain_data"] == src) & (res.ranking["finetune_size"] == small)
        ].iloc[0]
        name = f"{src}" + (" (misaligned)" if row["misaligned"] else "")
        color = PALETTE[k % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=g["tokens"],
                y=g["bleu"],
                mode="markers+lines",
                name=name,
                line=dict(color=color, dash="dot"),
            )
        )
    _layout(
        fig, f"BLEU vs pretraining tokens (finetune_size={small:g})", "pretraining tokens", "BLEU"
    )
    return fig
