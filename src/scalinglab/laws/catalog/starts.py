"""Start grids derived from the data, for parameters with a location or scale meaning.

A fixed grid works for exponents (0.05-1.6 covers every published law) but not for a
midpoint or a scale constant: a sigmoid's midpoint grid of 0.25-6 suits losses and misses
log10 FLOPs at 21-25 entirely, and the search then converges on a flat curve. These
functions place starts across the data's own range; `Law.grid_for` clips them to bounds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def _span(v: np.ndarray) -> float:
    s = float(np.ptp(v)) if v.size else 0.0
    return s if s > 0 else max(abs(float(np.mean(v))) if v.size else 1.0, 1.0)


def sigmoid_grid(x: Mapping[str, np.ndarray], y: np.ndarray) -> dict[str, Sequence[float]]:
    """a/(1 + exp(-k (x - x0))) + b: midpoints across and beyond the data, slopes that turn
    over the data's width, heights and offsets from the metric's range."""
    xv = np.asarray(x["x"], dtype=float)
    sx, sy = _span(xv), _span(y)
    x0 = [*np.quantile(xv, [0.0, 0.25, 0.5, 0.75, 1.0]), xv.min() - sx / 2, xv.max() + sx / 2]
    k = [c / sx for c in (1.0, 4.0, 16.0, 64.0)]
    a = [-2 * sy, -sy, sy, 2 * sy]
    b = [float(y.min()), float(np.median(y)), float(y.max())]
    return {"a": a, "k": k, "x0": x0, "b": b}


def loss_to_error_grid(x: Mapping[str, np.ndarray], y: np.ndarray) -> dict[str, Sequence[float]]:
    """eps - k exp(-gamma L): gamma on the scale of the loss range; k so that the curve
    passes near the median run for each (eps, gamma)."""
    lv = np.asarray(x["loss"], dtype=float)
    sl = _span(lv)
    gammas = [c / sl for c in (0.5, 1.0, 2.0, 4.0, 8.0)]
    eps = [float(y.max()), float((y.max() + 1.0) / 2), 1.0]
    ym, lm = float(np.median(y)), float(np.median(lv))
    ks = [max(e - ym, 1e-3) * np.exp(g * lm) * f for e in eps for g in gammas for f in (0.5, 2.0)]
    return {"gamma": gammas, "eps": eps, "k": ks}


def saturating_power_grid(
    var: str, alphas: Sequence[float], fixed_A: Sequence[float], fixed_E: Sequence[float]
):
    """E + A/v^alpha: besides the law's fixed grids, A such that A/v^alpha is about the
    metric's reducible part at the median run for each alpha, and E below the smallest value
    (a fixed A grid of e^0..e^16 misses A when v is 1e12 and alpha is large)."""

    def grid(x: Mapping[str, np.ndarray], y: np.ndarray) -> dict[str, Sequence[float]]:
        v = np.asarray(x[var], dtype=float)
        vm, ym, y0 = float(np.median(v)), float(np.median(y)), float(y.min())
        reducible = max(ym - 0.5 * y0, 1e-6)
        A = [*fixed_A, *(reducible * vm**a * f for a in alphas for f in (0.3, 3.0))]
        E = [*fixed_E, 0.5 * y0, 0.9 * y0]
        return {"A": A, "E": E}

    return grid


def transfer_grid(alphas: Sequence[float], betas: Sequence[float], fixed_k: Sequence[float]):
    """k D_F^alpha N^beta: besides the fixed grid, k so that the law passes the median run
    for each (alpha, beta)."""

    def grid(x: Mapping[str, np.ndarray], y: np.ndarray) -> dict[str, Sequence[float]]:
        df = float(np.median(x["finetune_size"]))
        n = float(np.median(x["n_params"]))
        ym = float(np.median(y))
        return {"k": [*fixed_k, *(ym / (df**a * n**b) for a in alphas for b in betas)]}

    return grid
