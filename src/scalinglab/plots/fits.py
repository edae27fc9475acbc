"""Figures of fits: the law against its data (solid where fitted, dashed beyond, fitted range
shaded). The residual and audit figures, which judge a fit, are in diagnostics.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..fitting import FitResult

from ..schema import RANGES, canonical_name
from .style import (  # noqa: F401
    AXES,
    PALETTE,
    SHADE,
    _esc,
    _go,
    _hover,
    _layout,
    _num,
    _sci,
    _series_values,
)


def _frame_for(res: FitResult, frame: pd.DataFrame | None) -> pd.DataFrame:
    """Law inputs (by variable name), the metric and derived series columns for a frame."""
    if frame is None:
        assert res.data_ is not None, "this fit carries no data to plot"
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
        elif v == "tokens_per_param" and svar == "n_params" and xvar == "flops" and s:
            data[v] = xs / (6.0 * s * s)  # C = 6ND: M = D/N = C/(6N^2) along a model
        else:
            data[v] = np.full_like(xs, fixed.get(v, np.nan))
    return data


# candidate (x axis, series) pairs per law, best first: a series whose values are few and
# exact (a token budget, a model size, an M) lets every curve pass through its own points
CANDIDATES = {
    "chinchilla": [
        ("n_params", "tokens"),
        ("n_params", "tokens_per_param"),
        ("tokens", "n_params"),
    ],
    "kaplan": [("n_params", "tokens"), ("n_params", "tokens_per_param"), ("tokens", "n_params")],
    # a checkpoint suite (Pythia: a few models, each at many steps) has as many M values as
    # rows, but few model sizes: one curve per model along its own compute
    "overtrain": [("flops", "tokens_per_param"), ("flops", "n_params")],
}


def _pair_usable(frame: pd.DataFrame, xvar: str, svar: str | None) -> bool:
    """Can the law be drawn along x at each series value? Both columns present; and a model
    size series along compute needs C = 6ND in the data (M is then C/(6N^2) on the curve)."""
    if xvar not in frame.columns or (svar is not None and svar not in frame.columns):
        return False
    if (xvar, svar) == ("flops", "n_params"):
        if "tokens_per_param" not in frame.columns:
            return False
        n = frame["n_params"].to_numpy(dtype=float)
        want = 6.0 * n * n * frame["tokens_per_param"].to_numpy(dtype=float)
        with np.errstate(all="ignore"):
            return bool(np.allclose(frame["flops"].to_numpy(dtype=float), want, rtol=0.01))
    return True


def _choose_axes(res: FitResult, frame: pd.DataFrame, max_series: int) -> tuple[str, str | None]:
    """The x variable and the series variable: the first candidate whose series takes at most
    `max_series` distinct values in the data; else the law's default axes (binned)."""
    default = AXES.get(res.law.name, (res.law.variables[0], None))
    for xvar, svar in [*CANDIDATES.get(res.law.name, []), default]:
        if _pair_usable(frame, xvar, svar):
            if svar is None or frame[svar].nunique() <= max_series:
                return xvar, svar
    xvar, svar = default
    if xvar not in frame.columns:
        return res.law.variables[0], None
    return xvar, svar if svar in frame.columns else None


def _law_inputs(res: FitResult, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {v: frame[v].to_numpy(dtype=float) for v in res.law.variables}


def fit_ranges(res: FitResult) -> dict[str, tuple[float, float]]:
    """(min, max) of each law variable over the points the law was fitted on."""
    if res.data_ is not None:
        xs = {v: np.asarray(a, dtype=float) for v, a in res.data_["x"].items()}
    else:
        f = _frame_for(res, res.frame_)
        xs = {v: f[v].to_numpy(dtype=float) for v in res.law.variables if v in f.columns}
    return {v: (float(np.nanmin(a)), float(np.nanmax(a))) for v, a in xs.items() if a.size}


def inside_fit_range(res: FitResult, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Per point: are all its law inputs within the fitted data's range? Outside, the
    curve is an extrapolation (drawn dashed)."""
    ranges = fit_ranges(res)
    n = len(next(iter(inputs.values()))) if inputs else 0
    ok = np.ones(n, dtype=bool)
    for v, a in inputs.items():
        if v not in ranges:
            continue
        lo, hi = ranges[v]
        a = np.asarray(a, dtype=float)
        tol = 1e-9 * max(abs(lo), abs(hi), 1e-300)
        ok &= (a >= lo - tol) & (a <= hi + tol)
    return ok


def _add_curve(
    fig: go.Figure,
    x: np.ndarray,
    y: np.ndarray,
    inside: np.ndarray,
    *,
    color: str,
    name: str,
    meta: dict[str, Any],
    yaxis: str | None = None,
) -> None:
    """A curve solid where it rests on fitted data and dashed where it extrapolates: the
    whole curve dashed (meta role 'curve'), the supported part drawn solid over it (role
    'curve-in-range', gaps elsewhere). The legend shows the solid line when there is one."""
    go = _go()
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    inside = np.asarray(inside, dtype=bool)
    extra = {"yaxis": yaxis} if yaxis else {}
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines",
            line=dict(color=color, dash="dash"),
            name=name if not inside.any() else f"{name} (extrapolated)",
            legendgroup=name,
            showlegend=not inside.any(),
            hoverinfo="skip" if inside.all() else None,
            meta={**meta, "role": meta.get("role", "curve"), "dash": "extrapolated"},
            **extra,
        )
    )
    if inside.any():
        fig.add_trace(
            go.Scatter(
                x=x,
                y=np.where(inside, y, np.nan),
                mode="lines",
                line=dict(color=color),
                name=name,
                legendgroup=name,
                connectgaps=False,
                meta={**meta, "role": "curve-in-range"},
                **extra,
            )
        )


def _shade_range(
    fig: go.Figure, lo: float, hi: float, what: str = "fitted data", dashed_key: bool = True
) -> None:
    """The x range the law was fitted on, shaded (shape name 'fit-range'), and a legend key
    for it and for the dashed style: beyond the shade a curve is an extrapolation."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return
    go = _go()
    fig.add_vrect(
        x0=lo, x1=hi, fillcolor=SHADE, opacity=0.15, line_width=0, layer="below", name="fit-range"
    )
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            marker=dict(symbol="square", size=13, color=SHADE, opacity=0.35),
            name=f"range of the {what}",
            meta={"role": "key"},
        )
    )
    if not dashed_key:  # a figure without curves
        return
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            line=dict(color="#666", dash="dash"),
            name="dashed: extrapolated",
            meta={"role": "key"},
        )
    )


def fit_figure(
    res: FitResult,
    heldout: pd.DataFrame | None = None,
    title: str | None = None,
    max_series: int = 8,
) -> go.Figure:
    """Fitted curves: fit points (circles) and held-out points (crosses), each in the colour
    of its own series (a token budget, model size or M), one curve per series drawn at that
    series' value, with the bootstrap 5-95% band when available. When a series takes too many
    values to draw one curve each, they are binned and each bin's curve is drawn through the
    law at its own points' values, so every point sits on (or its residual off) its own
    colour's curve."""
    go = _go()
    fitted = _frame_for(res, res.frame_)
    held = _frame_for(res, heldout) if heldout is not None and len(heldout) else None
    metric = res.metric_
    both = fitted if held is None else pd.concat([fitted, held], ignore_index=True)
    xvar, svar = _choose_axes(res, both, max_series)
    fig = go.Figure()
    allx = both[xvar].to_numpy(dtype=float)
    positive = bool(np.all(allx > 0))
    lo, hi = (allx.min(), allx.max())
    xs = np.geomspace(lo, hi * 1.5, 120) if positive else np.linspace(lo, hi, 120)
    fixed = {v: float(np.median(fitted[v])) for v in res.law.variables if v in fitted.columns}
    exact = svar is None or both[svar].nunique() <= max_series
    if not exact and svar is not None:
        # a colour scale: the candidate series with the fewest values, so that there is
        # one curve per value (through its own points) whenever some series allows it
        scale = _scale_axes(res, both, xvar, svar)
        if scale is not None:  # groups, many: else (every run its own) binned below
            return _fit_figure_continuous(res, fitted, held, *scale, title)
    if svar is None:
        reps = np.array([np.nan])
        idx_fit = np.zeros(len(fitted), dtype=int)
        idx_held = np.zeros(len(held) if held is not None else 0, dtype=int)
    else:
        idx_all, reps = _series_values(both[svar].to_numpy(dtype=float), max_series)
        idx_fit, idx_held = idx_all[: len(fitted)], idx_all[len(fitted) :]
    boot = res.bootstrap_
    # a rate or score has a range no band may leave (schema.RANGES: error, accuracy, BLEU)
    rng = RANGES.get(canonical_name(str(res.metric_))) or RANGES.get(str(res.law.metric))
    has_held = held is not None and metric in held.columns
    for k, s in enumerate(reps):
        if np.isnan(s) and svar is not None:
            continue
        color = PALETTE[k % len(PALETTE)]
        name = _series_name(both, svar, s, exact, idx_all == k if svar is not None else None)
        pts = fitted[idx_fit == k]
        hp = held[idx_held == k] if has_held and held is not None else None
        if exact:
            inputs = _inputs_along(res, xvar, svar, xs, s, fixed)
            line_x, line_y = xs, res.law.evaluate(res.params_, inputs)
            inside = inside_fit_range(res, inputs)
            if boot is not None and boot.usable.any():
                draws = boot.predict_draws(inputs)
                band_lo, band_hi = np.nanpercentile(draws, [5, 95], axis=0)
                if rng is not None:  # an error band reached 1.25: keep it to what can be
                    band_lo, band_hi = np.clip(band_lo, *rng), np.clip(band_hi, *rng)
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
                        meta={"role": "band", "series": name},
                    )
                )
        else:  # the law at this bin's own points, joined in x order
            own = pd.concat([pts, hp]) if hp is not None else pts
            own = own.sort_values(xvar)
            line_x = own[xvar].to_numpy(dtype=float)
            line_y = res.law.evaluate(res.params_, _law_inputs(res, own))
            inside = inside_fit_range(res, _law_inputs(res, own))
        _add_curve(
            fig,
            line_x,
            line_y,
            inside,
            color=color,
            name=name,
            meta={"role": "curve", "series": name, "exact": exact},
        )
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
                meta={"role": "points", "series": name},
            )
        )
        if hp is not None and len(hp):
            fig.add_trace(
                go.Scatter(
                    x=hp[xvar],
                    y=hp[metric],
                    mode="markers",
                    name=f"held out ({name})",
                    legendgroup=name,
                    marker=dict(symbol="x-thin-open", size=12, color=color, line=dict(width=2.5)),
                    hovertext=_hover(hp, [*res.law.variables, metric]),
                    hoverinfo="text",
                    meta={"role": "heldout", "series": name},
                )
            )
    _shade_range(fig, float(fitted[xvar].min()), float(fitted[xvar].max()))
    _layout(
        fig,
        title or f"{res.law.name}: {metric} vs {xvar}" + (f" by {svar}" if svar else ""),
        xvar,
        metric,
        logx=positive,
        logy=res.law.space == "log",
    )
    return fig


def _scale_axes(res: FitResult, both: pd.DataFrame, xvar: str, svar: str) -> tuple[str, str] | None:
    """For more groups than a palette tells apart: the candidate (x, series) whose series has
    the fewest values, so there is one curve per value; None when even that has more than
    MAX_CURVES (no groups: every run its own N and D)."""
    pairs = [*CANDIDATES.get(res.law.name, []), (xvar, svar)]
    ok = [
        (int(both[sv].nunique()), i, xv, sv)
        for i, (xv, sv) in enumerate(pairs)
        if _pair_usable(both, xv, sv)
    ]
    if not ok:
        return None
    n_values, _, xv, sv = min(ok)
    return (xv, sv) if n_values <= MAX_CURVES else None


COLORSCALE = "Viridis"
MAX_CURVES = 40  # distinct series values drawn one curve each on a colour scale


def _scale_values(v: np.ndarray) -> tuple[np.ndarray, bool]:
    """Values on the colour scale: log10 when all positive (token budgets, M, sizes span
    decades), else as they are."""
    v = np.asarray(v, dtype=float)
    if v.size and np.all(v > 0):
        return np.log10(v), True
    return v, False


def scale_color(c: float, cmin: float, cmax: float) -> str:
    """The colour the figure's continuous scale gives a value already on the scale."""
    from plotly.colors import sample_colorscale

    f = 0.5 if cmax <= cmin else float(np.clip((c - cmin) / (cmax - cmin), 0, 1))
    return str(sample_colorscale(COLORSCALE, [f])[0])


def _colorbar(svar: str, cmin: float, cmax: float, log: bool) -> dict[str, Any]:
    bar: dict[str, Any] = dict(title=dict(text=_esc(svar), side="right"), thickness=14, x=1.0)
    if log:
        ks = np.arange(np.ceil(cmin), np.floor(cmax) + 1)
        if ks.size < 2:
            ks = np.linspace(cmin, cmax, 4)
        bar.update(tickvals=ks.tolist(), ticktext=[_sci(float(10**k)) for k in ks])
    return bar


def _fit_figure_continuous(
    res: FitResult,
    fitted: pd.DataFrame,
    held: pd.DataFrame | None,
    xvar: str,
    svar: str,
    title: str | None,
) -> go.Figure:
    """The fit figure when the series takes more values than a palette can tell apart: every
    point coloured by its own series value on a continuous scale with a colour bar (not
    binned into 8 colours that each cover a range), and the law drawn at each distinct value
    in that value's colour, so a point lies on the curve of its own colour. (Data without
    groups, every run its own N and D, stay binned: there is no group to colour.)"""
    go = _go()
    metric = res.metric_
    has_held = held is not None and metric in held.columns and len(held) > 0
    both = fitted if not has_held or held is None else pd.concat([fitted, held], ignore_index=True)
    allx = both[xvar].to_numpy(dtype=float)
    positive = bool(np.all(allx > 0))
    lo, hi = allx.min(), allx.max()
    xs = np.geomspace(lo, hi * 1.5, 120) if positive else np.linspace(lo, hi, 120)
    fixed = {v: float(np.median(fitted[v])) for v in res.law.variables if v in fitted.columns}
    sv = both[svar].to_numpy(dtype=float)
    cv, log = _scale_values(sv)
    cmin, cmax = float(np.nanmin(cv)), float(np.nanmax(cv))
    reps = np.unique(sv)
    fig = go.Figure()
    for s in reps:
        if not np.isfinite(s):
            continue
        c = _scale_values(np.array([s]))[0][0] if log else s
        color = scale_color(float(c), cmin, cmax)
        inputs = _inputs_along(res, xvar, svar, xs, s, fixed)
        name = f"{svar}={_num(s)}"
        _add_curve(
            fig,
            xs,
            res.law.evaluate(res.params_, inputs),
            inside_fit_range(res, inputs),
            color=color,
            name=name,
            meta={"role": "curve", "series": name, "value": float(s), "scale": True},
        )
    for t in fig.data:  # one legend key for them all: the colour bar names the values
        t.showlegend = False
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            line=dict(color="#666"),
            name=f"law at each {_esc(svar)} (colour)",
            meta={"role": "key"},
        )
    )
    marker = dict(colorscale=COLORSCALE, cmin=cmin, cmax=cmax)
    fcv = cv[: len(fitted)]
    fig.add_trace(
        go.Scatter(
            x=fitted[xvar],
            y=fitted[metric],
            mode="markers",
            name="fit runs",
            marker=dict(
                **marker,
                color=fcv,
                size=7,
                line=dict(width=0.5, color="white"),
                showscale=True,
                colorbar=_colorbar(svar, cmin, cmax, log),
            ),
            hovertext=_hover(fitted, [*res.law.variables, metric]),
            hoverinfo="text",
            meta={"role": "points", "scale": True, "values": sv[: len(fitted)].tolist()},
        )
    )
    if has_held and held is not None:
        fig.add_trace(
            go.Scatter(
                x=held[xvar],
                y=held[metric],
                mode="markers",
                name="held out",
                marker=dict(
                    **marker,
                    color=cv[len(fitted) :],
                    symbol="x-thin-open",
                    size=12,
                    line=dict(width=2.5),
                    showscale=False,
                ),
                hovertext=_hover(held, [*res.law.variables, metric]),
                hoverinfo="text",
                meta={"role": "heldout", "scale": True, "values": sv[len(fitted) :].tolist()},
            )
        )
    _shade_range(fig, float(fitted[xvar].min()), float(fitted[xvar].max()))
    _layout(
        fig,
        title or f"{res.law.name}: {metric} vs {xvar}, coloured by {svar}",
        xvar,
        metric,
        logx=positive,
        logy=res.law.space == "log",
    )
    # the legend below the plot: the colour bar takes the right side
    fig.update_layout(
        legend=dict(orientation="h", x=0, y=-0.18, xanchor="left", yanchor="top"),
        margin=dict(l=60, r=20, t=50, b=110),
    )
    return fig


def _series_name(
    both: pd.DataFrame, svar: str | None, s: float, exact: bool, members: np.ndarray | None
) -> str:
    """A series' legend name: its value, or the range of a bin's values."""
    if svar is None:
        return "fit"
    if exact or members is None:
        return f"{svar}={_num(s)}"
    vals = both[svar].to_numpy(dtype=float)[members]
    return f"{svar} {_num(vals.min())}-{_num(vals.max())}"
