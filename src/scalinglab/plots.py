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


def method_figure(res: Any) -> go.Figure:
    go = _go()
    fig = go.Figure()
    c = res.curves
    # curves over the measured sizes and the crossings, a decade either side: not to 1e15
    # on an axis the data never reach
    marks = [float(v) for v in res.measured.index if np.isfinite(v) and v > 0]
    marks += [float(v) for v in res.crossings["critical_finetune_size"] if np.isfinite(v) and v > 0]
    if marks:
        c = c[(c["finetune_size"] >= min(marks) / 10) & (c["finetune_size"] <= max(marks) * 10)]
    at_value = float(res.at[res.factor])
    lo_all, hi_all = np.inf, -np.inf
    for k, m in enumerate(c.columns[1:]):
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
            color=PALETTE[k % len(PALETTE)],
            name=m,
            meta={"role": "curve", "series": m},
        )
        if m in res.measured.columns:  # runs at this scale, if any
            fig.add_trace(
                go.Scatter(
                    x=res.measured.index,
                    y=res.measured[m],
                    mode="markers",
                    name=f"{m} (measured)",
                    marker=dict(color=PALETTE[k % len(PALETTE)], size=9),
                    meta={"role": "points", "series": m},
                )
            )
    _shade_range(fig, lo_all, hi_all)
    for j, (_, r) in enumerate(res.crossings.iterrows()):
        if np.isfinite(r["critical_finetune_size"]):
            x = float(r["critical_finetune_size"])
            fig.add_vline(x=x, line=dict(dash="dash", color="gray"))
            fig.add_annotation(  # at its line, inside the plot, stacked when lines are many
                x=np.log10(x),
                xref="x",
                y=1 - 0.07 * j,
                yref="paper",
                text=f"{r['method_a']}/{r['method_b']} cross at {_num(x)}",
                showarrow=False,
                xanchor="left",
                font=dict(size=10, color="#555"),
                bgcolor="rgba(255,255,255,0.7)",
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
            inputs = {"finetune_size": xs, "n_params": np.full_like(xs, n)}
            _add_curve(
                fig,
                xs,
                res.transfer_fit.law.evaluate(res.transfer_fit.params_, inputs),
                inside_fit_range(res.transfer_fit, inputs),
                color=color,
                name=f"N={n:.3g} (law)",
                meta={"role": "curve", "series": f"N={n:.3g}"},
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
