"""Robust objective: Huber of residuals taken in the law's space (log for losses).

Why Huber with a tiny delta (1e-3, Hoffmann et al.): in log space the residuals of a good fit
are ~1e-2, so almost every point sits in the linear (L1-like) part and a few bad runs cannot
drag the fit. Summed, not averaged: averaging makes the objective ~1e-6 and L-BFGS stops
early (Besiroglu et al. 2024).
"""

from __future__ import annotations

import numpy as np


def huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Elementwise Huber loss, identical to scipy.special.huber(delta, r)."""
    a = np.abs(r)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def residual(pred: np.ndarray, y: np.ndarray, space: str) -> np.ndarray:
    """Residual in the law's space; NaN where the prediction is invalid there."""
    if space == "log":
        with np.errstate(all="ignore"):
            return np.where(pred > 0, np.log(np.where(pred > 0, pred, 1.0)), np.nan) - np.log(y)
    return pred - y


def total(r: np.ndarray, w: np.ndarray, delta: float) -> np.ndarray:
    """Summed weighted Huber over the last axis; +inf for any invalid residual."""
    with np.errstate(invalid="ignore", over="ignore"):
        f = np.sum(w * huber(r, delta), axis=-1)
    bad = ~np.isfinite(r).all(axis=-1)
    return np.where(bad | ~np.isfinite(f), np.inf, f)
