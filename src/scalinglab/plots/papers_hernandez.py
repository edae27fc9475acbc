"""Hernandez et al.'s figures for effective data transferred: the loss against the target
data D_F per model size, from scratch and pretrained, measured and fitted (the picture the
whole method reads D_E off), and the fraction of the effective data that pretraining
supplied against D_F. Why: the tables give D_E per run; these show whether the laws follow
the runs and where transfer stops paying."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .fits import fit_ranges, inside_fit_range
from .style import PALETTE, SHADE, _esc, _go, _layout, _num

SYMBOLS = ["diamond", "square", "triangle-up", "cross", "star", "x"]


def _transfer_fits(res: Any) -> dict[str, Any]:
    """The transfer law(s) to draw: one per source with --by, else the pooled one."""
    if getattr(res, "by_source", None):
        return dict(res.by_source)
    return {"pretrained": res.transfer_fit} if res.transfer_fit is not None else {}


def _d_t(fit: Any, n: float, d_f: np.ndarray) -> np.ndarray:
    return np.asarray(
        fit.law.evaluate(fit.params_, {"finetune_size": d_f, "n_params": np.full_like(d_f, n)}),
        dtype=float,
    )


def transfer_loss_figure(
    res: Any,
    data: pd.DataFrame,
    *,
    data_col: str = "finetune_size",
    metric: str = "loss",
    scratch_label: str = "none",
) -> Any:
    """Loss vs D_F, one colour per model size: from-scratch runs (open circles) with the
    from-scratch law (dotted), pretrained runs (filled, one symbol per source) with the
    from-scratch law at D_F + D_T (solid: what the transfer law predicts)."""
    go = _go()
    fig = go.Figure()
    scratch = data[data["pretrain_data"].astype(str) == scratch_label]
    runs = res.runs
    sizes = sorted(set(runs["n_params"].astype(float)) | set(scratch["n_params"].astype(float)))
    fits = _transfer_fits(res)
    sources = sorted(map(str, runs["pretrain_data"].unique()))
    sym = {s: SYMBOLS[k % len(SYMBOLS)] for k, s in enumerate(sources)}
    d_all = np.concatenate(
        [runs["finetune_size"].to_numpy(float), scratch[data_col].to_numpy(float)]
    )
    grid = np.geomspace(float(np.min(d_all)), float(np.max(d_all)), 80)
    sf = res.scratch_fit
    for k, n in enumerate(sizes):
        c = PALETTE[k % len(PALETTE)]
        s = scratch[np.isclose(scratch["n_params"].astype(float), n)]
        if not s.empty:
            fig.add_trace(
                go.Scatter(
                    x=s[data_col],
                    y=s[metric],
                    mode="markers",
                    name=f"N={_num(n)} from scratch",
                    legendgroup=f"n{k}",
                    marker=dict(color=c, symbol="circle-open", size=8),
                )
            )
        inputs = {"n_params": np.full_like(grid, n), "tokens": grid}
        y0 = np.asarray(sf.law.evaluate(sf.params_, inputs), dtype=float)
        _scratch_law(fig, grid, y0, inside_fit_range(sf, inputs), c, f"N={_num(n)}", f"n{k}")
        for src in sources:
            r = runs[np.isclose(runs["n_params"], n) & (runs["pretrain_data"].astype(str) == src)]
            if r.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=r["finetune_size"],
                    y=r["loss"],
                    mode="markers",
                    name=_esc(f"N={_num(n)} {src}"),
                    legendgroup=f"n{k}",
                    marker=dict(color=c, symbol=sym[src], size=8),
                )
            )
            fit = fits.get(src) or fits.get("pretrained")
            if fit is None:
                continue
            lo, hi = float(r["finetune_size"].min()), float(r["finetune_size"].max())
            xs = np.geomspace(lo, hi, 60) if hi > lo else np.array([lo])
            y = sf.law.evaluate(
                sf.params_, {"n_params": np.full_like(xs, n), "tokens": xs + _d_t(fit, n, xs)}
            )
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=y,
                    mode="lines",
                    name=_esc(f"N={_num(n)} {src} law"),
                    legendgroup=f"n{k}",
                    showlegend=False,
                    line=dict(color=c),
                )
            )
    _shade_scratch(fig, fit_ranges(sf).get("tokens"))
    _layout(
        fig,
        "Loss vs target data D_F: from scratch (open, dotted law) and pretrained (filled, "
        "solid: the from-scratch law at D_F + D_T)",
        "target-distribution tokens D_F",
        metric,
    )
    return fig


def _scratch_law(
    fig: Any, x: np.ndarray, y: np.ndarray, inside: np.ndarray, c: str, name: str, group: str
) -> None:
    """The from-scratch law for one model size: dotted over the tokens it was fitted on,
    dashed beyond (meta role 'curve', dash 'extrapolated'). Drawn dotted throughout, its
    part below the smallest from-scratch run read as measured where pretrained runs at small
    D_F are read off it (issue 17: extrapolated parts dashed, the data's range shaded)."""
    go = _go()
    out = ~inside
    edge = out | np.r_[out[1:], False] | np.r_[False, out[:-1]]  # join the two styles
    for part, dash, role in ((inside, "dot", "curve-in-range"), (edge, "dash", "curve")):
        if not (part & (out if dash == "dash" else inside)).any():
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=np.where(part, y, np.nan),
                mode="lines",
                name=name + " from-scratch law" + ("" if dash == "dot" else " (extrapolated)"),
                legendgroup=group,
                showlegend=False,
                line=dict(color=c, dash=dash),
                connectgaps=False,
                meta={"role": role, "series": name, "law": "from-scratch"},
            )
        )


def _shade_scratch(fig: Any, rng: tuple[float, float] | None) -> None:
    """The tokens the from-scratch law was fitted on, shaded (shape 'fit-range', as in
    plots.fits), with legend keys that are neither points nor curves (a filled swatch and a
    dashed line): pretrained runs left of the shade are read off an extrapolated law."""
    if rng is None or not (np.isfinite(rng[0]) and np.isfinite(rng[1])) or rng[1] <= rng[0]:
        return
    go = _go()
    fig.add_vrect(
        x0=rng[0],
        x1=rng[1],
        fillcolor=SHADE,
        opacity=0.15,
        line_width=0,
        layer="below",
        name="fit-range",
    )
    for key in (
        dict(
            mode="none",
            fill="toself",
            fillcolor="rgba(138, 155, 176, 0.35)",
            name="range of the from-scratch runs' tokens",
        ),
        dict(mode="lines", line=dict(color="#666", dash="dash"), name="dashed: extrapolated"),
    ):
        fig.add_trace(go.Scatter(x=[None], y=[None], meta={"role": "key"}, **key))


def fraction_transferred_figure(res: Any) -> Any:
    """Fraction of the effective data supplied by pretraining, D_T / D_E, vs D_F: one colour
    per model size, the transfer law's D_T / (D_F + D_T) as lines, high-data-regime runs
    grey (the law does not apply there)."""
    go = _go()
    fig = go.Figure()
    runs = res.runs[np.isfinite(res.runs["effective_data"])]
    fits = _transfer_fits(res)
    high = runs["high_data"].to_numpy(bool) if "high_data" in runs else np.zeros(len(runs), bool)
    for k, n in enumerate(sorted(runs["n_params"].unique())):
        c = PALETTE[k % len(PALETTE)]
        on = np.isclose(runs["n_params"].to_numpy(float), n)
        for grey, part in ((False, on & ~high), (True, on & high)):
            r = runs[part]
            if r.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=r["finetune_size"],
                    y=r["fraction_transferred"],
                    mode="markers",
                    name=f"N={_num(n)}" + (" (high-data regime)" if grey else ""),
                    legendgroup=f"n{k}",
                    marker=dict(color="#bbbbbb" if grey else c, size=8),
                )
            )
        d = runs.loc[on, "finetune_size"].to_numpy(float)
        xs = np.geomspace(float(d.min()), float(d.max()), 60) if len(d) else np.array([])
        for src, fit in fits.items():
            if not len(xs):
                continue
            dt = _d_t(fit, float(n), xs)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=dt / (xs + dt),
                    mode="lines",
                    name=_esc(f"N={_num(n)} law ({src})"),
                    legendgroup=f"n{k}",
                    showlegend=False,
                    line=dict(color=c, dash="solid" if len(fits) == 1 else None),
                )
            )
    _layout(
        fig,
        "Fraction of effective data from pretraining, D_T / D_E, vs D_F",
        "target-distribution tokens D_F",
        "fraction transferred",
    )
    return fig
