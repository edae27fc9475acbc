"""Isik et al.'s figure for the pretraining-data choice: per finetuning size, the score panel
(measured points and the fitted log-law) beside the downstream-CE panel (measured points and
the fitted CE law), one colour per pretraining source, the misalignment verdict written on
each row. Why both panels: the paper's point is that CE can improve while the score does not,
which only shows when the two are read side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..laws import get_law
from .style import PALETTE, SHADE, _esc, _go, _ticks


def _curve(law: str, params: Any, tokens: np.ndarray) -> np.ndarray | None:
    """A fitted law's curve, or None where its fit failed (params hold the error)."""
    if not isinstance(params, dict) or "error" in params:
        return None
    return np.asarray(get_law(law).evaluate(params, {"tokens": tokens}), dtype=float)


def _token_axes(fig: Any) -> None:
    """Every panel's tokens axis log-scaled with the shared tick labels (plots.style._ticks:
    10^9, 2×10^9 ...), each over its own panel's values: plotly's own read '100k 1M' (SI
    prefixes) with '2 5' minor digits, unlike every other figure (issue 17 review)."""
    fig.update_xaxes(type="log")
    for name in sorted({t.xaxis or "x" for t in fig.data}):
        xs = [np.asarray(t.x, dtype=float) for t in fig.data if (t.xaxis or "x") == name]
        x = np.concatenate(xs)
        fig.layout["xaxis" + name[1:]].update(**_ticks(x[np.isfinite(x)], True))


def _shade_row(fig: Any, row: int, sub: pd.DataFrame) -> None:
    """Both panels of a row shaded over the tokens measured for every source in it (shape
    name 'fit-range', as in plots.fits), so a dashed curve (beyond its own source's data)
    always lies outside the shade: over the union of the sources' ranges, a source measured
    to 1e6 beside one measured to 8e6 had its dashed extrapolation drawn inside the shade."""
    t = sub[np.isfinite(sub["tokens"].astype(float)) & (sub["tokens"].astype(float) > 0)]
    ranges = t.groupby(t["pretrain_data"].astype(str))["tokens"].agg(["min", "max"])
    if ranges.empty:
        return
    lo, hi = float(ranges["min"].max()), float(ranges["max"].min())
    if not hi > lo:  # the sources share no range: no shade rather than a false one
        return
    for col in (1, 2):
        fig.add_vrect(
            x0=lo,
            x1=hi,
            fillcolor=SHADE,
            opacity=0.15,
            line_width=0,
            layer="below",
            name="fit-range",
            exclude_empty_subplots=False,  # drawn before the row's traces
            row=row,
            col=col,
        )


def isik_figure(res: Any, data: pd.DataFrame) -> Any:
    """Score and downstream CE vs pretraining tokens, one row of two panels per finetuning
    size: measured markers, fitted curves (solid over the measured tokens, dashed out to the
    target), the verdict per row ("misaligned: SOURCE" or "aligned")."""
    from plotly.subplots import make_subplots

    go = _go()
    m = res.metric
    label = {"bleu": "BLEU", "chrf": "chrF"}.get(m.lower(), m)
    sizes = sorted(res.ranking["finetune_size"].unique())
    sources = sorted(map(str, res.ranking["pretrain_data"].unique()))
    colour = {s: PALETTE[k % len(PALETTE)] for k, s in enumerate(sources)}
    titles = []
    for f in sizes:
        rows = res.ranking[res.ranking["finetune_size"] == f]
        bad = rows.loc[rows["misaligned"].astype(bool), "pretrain_data"].astype(str).tolist()
        verdict = f"misaligned: {', '.join(bad)}" if bad else "aligned (CE tracks the score)"
        titles += [f"{label}, finetune_size={f:g} — {verdict}", f"downstream CE, {f:g}"]
    fig = make_subplots(
        rows=len(sizes),
        cols=2,
        subplot_titles=[_esc(t) for t in titles],
        vertical_spacing=min(0.14, 0.9 / max(len(sizes) - 1, 1)),
    )
    for i, f in enumerate(sizes, start=1):
        sub = data[data["finetune_size"] == f]
        _shade_row(fig, i, sub)
        for src in sources:
            g = sub[sub["pretrain_data"].astype(str) == src]
            if g.empty:
                continue
            pts = g.groupby("tokens")[[m, "downstream_ce"]].mean().reset_index()
            r = res.ranking[
                (res.ranking["finetune_size"] == f)
                & (res.ranking["pretrain_data"].astype(str) == src)
            ].iloc[0]
            name = src + (" (misaligned)" if bool(r["misaligned"]) else "")
            lo, hi = float(pts["tokens"].min()), float(pts["tokens"].max())
            inside = np.geomspace(lo, hi, 60)
            beyond = np.geomspace(hi, max(hi, float(res.target_tokens)), 30)
            for col, (ycol, law, pkey) in enumerate(
                [
                    (m, "bleu_loglaw", f"{m}_params"),
                    ("downstream_ce", "downstream_ce", "ce_params"),
                ],
                start=1,
            ):
                first = i == 1 and col == 1
                fig.add_trace(
                    go.Scatter(
                        x=pts["tokens"],
                        y=pts[ycol],
                        mode="markers",
                        name=_esc(name),
                        legendgroup=src,
                        showlegend=first,
                        marker=dict(color=colour[src], size=7),
                        meta={"role": "points", "series": src},
                    ),
                    row=i,
                    col=col,
                )
                for xs, dash in ((inside, "solid"), (beyond, "dash")):
                    y = _curve(law, r.get(pkey), xs)
                    if y is None or (dash == "dash" and hi >= res.target_tokens):
                        continue
                    fig.add_trace(
                        go.Scatter(
                            x=xs,
                            y=y,
                            mode="lines",
                            name=_esc(f"{src} fitted"),
                            legendgroup=src,
                            showlegend=False,
                            line=dict(color=colour[src], dash=dash),
                            meta={
                                "role": "curve-in-range" if dash == "solid" else "curve",
                                "series": src,
                                "dash": "in-range" if dash == "solid" else "extrapolated",
                            },
                        ),
                        row=i,
                        col=col,
                    )
        fig.update_yaxes(title_text=_esc(label), row=i, col=1)
        fig.update_yaxes(title_text="downstream CE", row=i, col=2)
    fig.add_trace(  # the shade's legend key: a filled swatch, neither a point nor a curve
        go.Scatter(
            x=[None],
            y=[None],
            mode="none",
            fill="toself",
            fillcolor="rgba(138, 155, 176, 0.35)",  # SHADE at the key's opacity
            name="tokens measured for every source",
            meta={"role": "key"},
        ),
        row=1,
        col=1,
    )
    _token_axes(fig)
    for col in (1, 2):  # on the bottom row only: above, it ran into the next row's titles
        fig.update_xaxes(title_text="pretraining tokens", row=len(sizes), col=col)
    fig.update_layout(
        title=_esc(
            f"{label} and downstream CE vs pretraining tokens (points measured, lines fitted; "
            f"dashed: beyond the data, to {res.target_tokens:.3g})"
        ),
        template="plotly_white",
        height=max(430, 330 * len(sizes)),
        margin=dict(l=60, r=20, t=80, b=50),
        legend=dict(font=dict(size=10)),
    )
    return fig
