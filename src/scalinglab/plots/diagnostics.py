"""Figures that judge a fit: residuals (fitted and held-out points in their series' colour,
the fitted range shaded) and the audit's held-out error against extrapolation distance."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..fitting import FitResult

from .fits import (
    COLORSCALE,
    _choose_axes,
    _colorbar,
    _frame_for,
    _law_inputs,
    _scale_axes,
    _scale_values,
    _series_name,
    _shade_range,
)
from .style import (
    PALETTE,
    _go,
    _hover,
    _layout,
    _series_values,
)


def residual_figure(res: FitResult, heldout: pd.DataFrame | None = None) -> go.Figure:
    """Residuals in the law's space against the fit figure's x, coloured by the same series
    (a token budget, model size, M): fit points as dots and, when given, held-out points as
    open crosses in their series' colour, which show how the law extrapolates. The fitted
    data's x range is shaded."""
    go = _go()
    d = _frame_for(res, res.frame_)
    r = np.asarray(res.residuals(), dtype=float)
    h = _frame_for(res, heldout) if heldout is not None and len(heldout) else None
    usable = h is not None and res.metric_ in h.columns and set(res.law.variables) <= set(h.columns)
    both = pd.concat([d, h], ignore_index=True) if usable and h is not None else d
    xvar, svar = _choose_axes(res, both, 8)
    hr = np.array([])
    if usable and h is not None:
        pred = res.law.evaluate(res.params_, _law_inputs(res, h))
        y = h[res.metric_].to_numpy(dtype=float)
        with np.errstate(all="ignore"):
            hr = np.log(pred / y) if res.law.space == "log" else pred - y
    if svar is None:
        idx_all, reps = np.zeros(len(both), dtype=int), np.array([np.nan])
    else:
        idx_all, reps = _series_values(both[svar].to_numpy(dtype=float), 8)
    exact = svar is None or both[svar].nunique() <= 8
    scale = None if exact or svar is None else _scale_axes(res, both, xvar, svar)
    if scale is not None:  # many groups: coloured by value, as the fit figure
        return _residuals_continuous(res, d, r, h if usable else None, hr, *scale)
    idx_fit, idx_held = idx_all[: len(d)], idx_all[len(d) :]
    fig = go.Figure()
    for k, s in enumerate(reps):
        if np.isnan(s) and svar is not None:
            continue
        color = PALETTE[k % len(PALETTE)]
        name = _series_name(both, svar, s, exact, idx_all == k)
        m = idx_fit == k
        fig.add_trace(
            go.Scatter(
                x=d[xvar][m],
                y=r[m],
                mode="markers",
                marker=dict(size=7, color=color, line=dict(width=0.5, color="white")),
                hovertext=_hover(d[m], [*res.law.variables, res.metric_]),
                hoverinfo="text+y",
                name=name,
                legendgroup=name,
                meta={"role": "points", "series": name},
            )
        )
        mh = idx_held == k
        if usable and h is not None and mh.any():
            fig.add_trace(
                go.Scatter(
                    x=h[xvar][mh],
                    y=hr[mh],
                    mode="markers",
                    marker=dict(symbol="x-thin-open", size=12, color=color, line=dict(width=2.5)),
                    hovertext=_hover(h[mh], [*res.law.variables, res.metric_]),
                    hoverinfo="text+y",
                    name=f"held out ({name})",
                    legendgroup=name,
                    meta={"role": "heldout", "series": name},
                )
            )
    fig.add_hline(y=0, line=dict(color="gray", dash="dot"))
    _shade_range(fig, float(d[xvar].min()), float(d[xvar].max()), dashed_key=False)
    allx = both[xvar].to_numpy(dtype=float)
    _layout(
        fig,
        f"{res.law.name}: residuals ({res.law.space} space)" + (f" by {svar}" if svar else ""),
        xvar,
        "log(pred/obs)" if res.law.space == "log" else "pred - obs",
        logx=bool(np.all(allx > 0)),
    )
    return fig


def _residuals_continuous(
    res: FitResult,
    d: pd.DataFrame,
    r: np.ndarray,
    h: pd.DataFrame | None,
    hr: np.ndarray,
    xvar: str,
    svar: str,
) -> go.Figure:
    """Residuals coloured by each point's own series value on the fit figure's colour scale
    (held out: open crosses), when the groups are too many for a palette."""
    go = _go()
    both = d if h is None else pd.concat([d, h], ignore_index=True)
    cv, log = _scale_values(both[svar].to_numpy(dtype=float))
    cmin, cmax = float(np.nanmin(cv)), float(np.nanmax(cv))
    marker = dict(colorscale=COLORSCALE, cmin=cmin, cmax=cmax)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=d[xvar],
            y=r,
            mode="markers",
            name="fit runs",
            marker=dict(
                **marker,
                color=cv[: len(d)],
                size=7,
                line=dict(width=0.5, color="white"),
                showscale=True,
                colorbar=_colorbar(svar, cmin, cmax, log),
            ),
            hovertext=_hover(d, [*res.law.variables, res.metric_]),
            hoverinfo="text+y",
            meta={"role": "points", "scale": True},
        )
    )
    if h is not None and len(h):
        fig.add_trace(
            go.Scatter(
                x=h[xvar],
                y=hr,
                mode="markers",
                name="held out",
                marker=dict(
                    **marker,
                    color=cv[len(d) :],
                    symbol="x-thin-open",
                    size=12,
                    line=dict(width=2.5),
                ),
                hovertext=_hover(h, [*res.law.variables, res.metric_]),
                hoverinfo="text+y",
                meta={"role": "heldout", "scale": True},
            )
        )
    fig.add_hline(y=0, line=dict(color="gray", dash="dot"))
    _shade_range(fig, float(d[xvar].min()), float(d[xvar].max()), dashed_key=False)
    allx = both[xvar].to_numpy(dtype=float)
    _layout(
        fig,
        f"{res.law.name}: residuals ({res.law.space} space), coloured by {svar}",
        xvar,
        "log(pred/obs)" if res.law.space == "log" else "pred - obs",
        logx=bool(np.all(allx > 0)),
    )
    fig.update_layout(
        legend=dict(orientation="h", x=0, y=-0.18, xanchor="left", yanchor="top"),
        margin=dict(l=60, r=20, t=50, b=100),
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
