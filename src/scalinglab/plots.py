"""Plotly figures of fits, audits and workflows. Every point's hover names its run.

The same functions back the HTML report and the notebook API (`FitResult.plot()`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from .fitting import FitResult

SHADE = "#8a9bb0"  # the fitted data's range
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


def _num(v: float) -> str:
    """A series value for a legend: 3 significant digits, exponent without '+0'."""
    return f"{v:.3g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def _axis_values(fig, axis: str) -> np.ndarray:
    """Every finite value plotted on the x or the left y axis (the right axis y2 excluded)."""
    vals = []
    for t in fig.data:
        if axis == "y" and getattr(t, "yaxis", None) not in (None, "y"):
            continue
        v = getattr(t, axis, None)
        if v is not None:
            a = pd.to_numeric(pd.Series(np.asarray(v, dtype=object)), errors="coerce")
            vals.append(a.to_numpy(dtype=float))
    if not vals:
        return np.array([])
    a = np.concatenate(vals)
    return a[np.isfinite(a)]


def _sci(v: float) -> str:
    """A tick label: plain digits between 1e-3 and 1e5, else m×10^k (never '2e+05', never
    an SI prefix)."""
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.4g}"
    k = int(np.floor(np.log10(abs(v))))
    m = v / 10**k
    mant = f"{m:.3g}"
    if mant == "10":
        mant, k = "1", k + 1
    return f"10<sup>{k}</sup>" if mant == "1" else f"{mant}×10<sup>{k}</sup>"


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks (1-2-3-5 when that gives too few) on a log axis narrower than a decade,
    over the data and plotly's padding: plotly's own put '2 3 4 ... 9' minor digits or
    crowded '9e+5 1e+6'. A very narrow axis gets evenly spaced round values (3.8, 4, 4.2)."""
    lo, hi = lo / 1.06, hi * 1.06  # plotly pads a log axis by about this much
    for mults in ((1, 2, 5), (1, 2, 3, 5), (1, 1.5, 2, 3, 4, 5, 7)):
        ticks = [
            float(f"{m}e{k}")
            for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
            for m in mults
            if lo <= m * 10.0**k <= hi
        ]
        if len(ticks) >= 3:
            return ticks
    raw = (hi - lo) / 4
    base = 10.0 ** np.floor(np.log10(raw))
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
    first = np.ceil(lo / step) * step
    return [float(f"{v:.6g}") for v in np.arange(first, hi, step)]


def _ticks(values: np.ndarray, log: bool) -> dict[str, Any]:
    """Plain or scientific tick labels, never SI prefixes ('400f' for 4e-13, '2G' for a
    token count): powers of ten on a log axis spanning a decade or more, else 1-2-5 ticks
    labelled 2×10^5 (no '2 3 4 ... 9 0.1' minor digits, no crowded '9e+5 1e+6')."""
    kw: dict[str, Any] = dict(exponentformat="power", showexponent="all")
    if log:
        pos = values[values > 0]
        span = np.log10(pos.max() / pos.min()) if pos.size else 0.0
        if span >= 1:
            kw.update(dtick=1 if span <= 10 else 2, minorloglabels="none")
        elif pos.size:
            vals = _log_ticks(float(pos.min()), float(pos.max()))
            kw.update(tickvals=vals, ticktext=[_sci(v) for v in vals])
        else:
            kw.update(tickformat=".3~g")
    return kw


def _layout(fig, title: str, x: str, y: str, logx: bool = True, logy: bool = False) -> None:
    shown = sum(1 for t in fig.data if t.name and t.showlegend is not False)
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=max(430, 130 + 30 * shown),  # a legend that fits, never one that scrolls
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(font=dict(size=10)),
        hovermode="closest",
    )
    fig.update_xaxes(
        title=x, type="log" if logx else "linear", **_ticks(_axis_values(fig, "x"), logx)
    )
    fig.update_layout(
        yaxis=dict(
            title=y, type="log" if logy else "linear", **_ticks(_axis_values(fig, "y"), logy)
        )
    )


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
}


def _choose_axes(res: FitResult, frame: pd.DataFrame, max_series: int) -> tuple[str, str | None]:
    """The x variable and the series variable: the first candidate whose series takes at most
    `max_series` distinct values in the data; else the law's default axes (binned)."""
    default = AXES.get(res.law.name, (res.law.variables[0], None))
    for xvar, svar in [*CANDIDATES.get(res.law.name, []), default]:
        if xvar in frame.columns and (svar is None or svar in frame.columns):
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
        if xv in both.columns and sv in both.columns
    ]
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
    xvar = _choose_axes(lf, _frame_for(lf, lf.frame_), 8)[0]  # as fit_figure chose it
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
    _add_targets(fig2, t["loss_pred"], t, "error", x_true=t.get("loss_true"))
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
        fig.update_layout(
            margin=dict(t=60 + 16 * lines), height=(fig.layout.height or 430) + 16 * lines
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
    from .laws.optimum import compute_optimal

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
    _layout(fig, "compute-optimal frontier", "training FLOPs", "N*, D*", logy=True)
    fig.update_layout(
        yaxis2=dict(title="loss", overlaying="y", side="right", exponentformat="power"),
        # below the plot: on the right it covered the loss axis
        legend=dict(orientation="h", x=0, y=-0.18, xanchor="left", yanchor="top"),
        margin=dict(l=60, r=60, t=50, b=110),
    )
    return fig


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
                line=dict(color=color, dash="dot"),
            )
        )
    _layout(
        fig,
        f"{label} vs pretraining tokens (finetune_size={small:g})",
        "pretraining tokens",
        label,
    )
    return fig


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


GREY = "#b0b0b0"


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
