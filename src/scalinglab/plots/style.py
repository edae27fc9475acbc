"""Shared figure style: palette, axis ticks (plain or scientific, never SI prefixes), layout, hover
text."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    pass


GREY = "#b0b0b0"
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


def linear_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round ticks (a 1-2-2.5-5 step times a power of ten) covering [lo, hi] on a linear
    axis: for an axis plotly would otherwise tick in step with another one (a right axis
    overlaying a log left axis got 2.35, 3.36, 4.37 ...)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return []
    if hi <= lo:
        return [float(f"{lo:.6g}")]
    raw = (hi - lo) / max(target - 1, 1)
    base = 10.0 ** np.floor(np.log10(raw))
    step = next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw * 0.999)
    first = np.floor(lo / step + 1e-9) * step
    n = int(np.ceil((hi - first) / step - 1e-9)) + 1
    return [float(f"{first + k * step:.10g}") for k in range(n)]


def _ticks(values: np.ndarray, log: bool) -> dict[str, Any]:
    """Plain or scientific tick labels, never SI prefixes ('400f' for 4e-13, '2G' for a
    token count): powers of ten on a log axis spanning a decade or more, else 1-2-5 ticks
    labelled 2×10^5 (no '2 3 4 ... 9 0.1' minor digits, no crowded '9e+5 1e+6'); so does an
    axis of one or two decades, where powers of ten alone left a single labelled tick
    (the demo's residuals: tokens 2.4e5-7.9e6 read '10^6' and nothing else)."""
    kw: dict[str, Any] = dict(exponentformat="power", showexponent="all")
    if log:
        pos = values[values > 0]
        span = np.log10(pos.max() / pos.min()) if pos.size else 0.0
        lo, hi = (pos.min() / 1.06, pos.max() * 1.06) if pos.size else (1.0, 1.0)
        decades = int(np.floor(np.log10(hi))) - int(np.ceil(np.log10(lo))) + 1
        if span >= 1 and decades >= 3:
            kw.update(dtick=1 if span <= 10 else 2, minorloglabels="none")
        elif pos.size:
            vals = _log_ticks(float(pos.min()), float(pos.max()))
            kw.update(tickvals=vals, ticktext=[_sci(v) for v in vals])
        else:
            kw.update(tickformat=".3~g")
    return kw


def legend_height(fig) -> int:
    """A figure height at which its legend (on the right) fits, never one that scrolls:
    call again after adding traces to a laid-out figure (forecast targets)."""
    shown = sum(1 for t in fig.data if t.name and t.showlegend is not False)
    return max(430, 130 + 30 * shown)


def _layout(fig, title: str, x: str, y: str, logx: bool = True, logy: bool = False) -> None:
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=legend_height(fig),  # a legend that fits, never one that scrolls
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
