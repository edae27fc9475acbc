"""Shared pieces of the speed benchmarks: data and the scipy references.

Everything here is independent of scalinglab's fitter, so a benchmark can run the same
reference against any version of scalinglab (e.g. an old checkout on PYTHONPATH).

Parameters are in scalinglab's internal order for Chinchilla: z = (e, a, b, alpha, beta) with
E = e^e, A = e^a, B = e^b (Hoffmann's log-sum-exp parameterisation).

References:
- (a) `scipy_loop`: L-BFGS-B with the analytic gradient from every start of Hoffmann's 4,500
  grid, scipy's default tolerances (the public tools' procedure);
- (b) `scipy_screened`: the same screening as scalinglab (every start scored in one batched
  numpy evaluation on the same 48-row subsample), then L-BFGS-B from the best `n_refine`
  starts on all rows, with its tolerance tightened to about ours (relative objective decrease
  1e-10, projected gradient 1e-12 x max(1, f)) so that it reaches the same optimum.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import huber

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chinchilla" / "points.csv"
DELTA = 1e-3
TRUTH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}


def load_chinchilla() -> pd.DataFrame:
    """Epoch AI's reconstruction of the Chinchilla runs, 240-point subset (the 5 highest
    losses dropped, as Epoch does)."""
    df = pd.read_csv(DATA)
    return df[df["loss"] < df["loss"].nlargest(5).min()].reset_index(drop=True)


def synthetic(n: int, seed: int = 0, noise: float = 0.01) -> pd.DataFrame:
    """n checkpoint-like rows: N log-uniform 1e7-1e10, D log-uniform 1e8-1e11, Chinchilla
    loss with multiplicative log-normal noise (sd `noise`) and 1% outliers (x1.2). Every row
    has its own (N, D): no aggregation of identical inputs applies."""
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), n))
    D = np.exp(rng.uniform(np.log(1e8), np.log(1e11), n))
    t = TRUTH
    loss = t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]
    loss = loss * np.exp(noise * rng.standard_normal(n))
    out = rng.random(n) < 0.01
    loss[out] *= 1.2
    return pd.DataFrame({"n_params": N, "tokens": D, "loss": loss})


def hoffmann_grid() -> np.ndarray:
    """(4500, 5) starts in z order, the same points as scalinglab's chinchilla grid."""
    g = itertools.product(
        np.arange(-1, 1.5, 0.5),  # e
        np.arange(0, 30, 5),  # a
        np.arange(0, 30, 5),  # b
        np.arange(0, 2.5, 0.5),  # alpha
        np.arange(0, 2.5, 0.5),  # beta
    )
    return np.array(list(g), dtype=float)


def logs(df: pd.DataFrame):
    return tuple(np.log(df[c].to_numpy(dtype=float)) for c in ("n_params", "tokens", "loss"))


def make_obj_grad(logN, logD, logL, w=None):
    """Summed weighted Huber of log residuals and its analytic gradient, for scipy."""

    def obj_grad(z):
        e, a, b, alpha, beta = z
        terms = np.stack([a - alpha * logN, b - beta * logD, np.full_like(logN, e)])
        m = terms.max(axis=0)
        lse = m + np.log(np.exp(terms - m).sum(axis=0))
        r = lse - logL
        sm = np.exp(terms - lse)  # d lse / d term
        psi = np.clip(r, -DELTA, DELTA)
        hub = huber(DELTA, r)
        if w is not None:
            psi, hub = w * psi, w * hub
        g = np.array(
            [
                psi @ sm[2],
                psi @ sm[0],
                psi @ sm[1],
                -(psi * sm[0]) @ logN,
                -(psi * sm[1]) @ logD,
            ]
        )
        return hub.sum(), g

    return obj_grad


def objective(df: pd.DataFrame, z: np.ndarray) -> float:
    return float(make_obj_grad(*logs(df))(np.asarray(z, dtype=float))[0])


def subsample_rows(n: int, m: int = 48) -> np.ndarray:
    """scalinglab's screening subsample: m rows evenly spread over the table."""
    return np.arange(n) if n <= m else np.unique(np.linspace(0, n - 1, m).round().astype(int))


def screen(logN, logD, logL, starts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Huber objective of every start on the subsample rows, one batched numpy evaluation."""
    e, a, b, al, be = (starts[:, j : j + 1] for j in range(5))
    t0 = a - al * logN[rows]
    t1 = b - be * logD[rows]
    t2 = np.broadcast_to(e, t0.shape)
    m = np.maximum(np.maximum(t0, t1), t2)
    lse = m + np.log(np.exp(t0 - m) + np.exp(t1 - m) + np.exp(t2 - m))
    return huber(DELTA, lse - logL[rows]).sum(axis=1)


def tight_options(f_scale: float) -> dict:
    """L-BFGS-B options matching scalinglab's stopping rule at objective scale f_scale:
    relative decrease 1e-10 (scipy's ftol is relative to max(|f|, 1)), gradient 1e-12."""
    return {"ftol": 1e-10 * min(f_scale, 1.0), "gtol": 1e-12 * max(1.0, f_scale), "maxiter": 15000}


def scipy_loop(df: pd.DataFrame, n_starts: int | None = None):
    """(a): L-BFGS-B from every grid start, scipy defaults. Returns (seconds, f, z, starts)."""
    obj_grad = make_obj_grad(*logs(df))
    grid = hoffmann_grid()
    if n_starts:
        grid = grid[:n_starts]
    best = (np.inf, None)
    t = time.perf_counter()
    for x0 in grid:
        r = minimize(obj_grad, x0, jac=True, method="L-BFGS-B")
        if r.success and r.fun < best[0]:
            best = (r.fun, r.x)
    return time.perf_counter() - t, best[0], best[1], len(grid)


def scipy_screened(df: pd.DataFrame, n_refine: int = 8, screen_rows: int = 48, tight=True):
    """(b): screen all 4,500 starts on the same row subsample, L-BFGS-B from the best
    n_refine on all rows. Returns (seconds, f, z, n_lbfgs_iterations)."""
    logN, logD, logL = logs(df)
    t = time.perf_counter()
    grid = hoffmann_grid()
    rows = subsample_rows(logL.size, screen_rows)
    s = screen(logN, logD, logL, grid, rows)
    best_starts = grid[np.argsort(s, kind="stable")[:n_refine]]
    obj_grad = make_obj_grad(logN, logD, logL)
    best, nit = (np.inf, None), 0
    for x0 in best_starts:
        r = minimize(obj_grad, x0, jac=True, method="L-BFGS-B")
        nit += r.nit
        if tight and np.isfinite(r.fun):
            # Polish with our stopping rule, scaled to the objective it reached.
            r = minimize(obj_grad, r.x, jac=True, method="L-BFGS-B", options=tight_options(r.fun))
            nit += r.nit
        if np.isfinite(r.fun) and r.fun < best[0]:
            best = (r.fun, r.x)
    return time.perf_counter() - t, best[0], best[1], nit


def z_of(params: dict) -> np.ndarray:
    """scalinglab public Chinchilla parameters -> z order."""
    return np.array(
        [
            np.log(params["E"]),
            np.log(params["A"]),
            np.log(params["B"]),
            params["alpha"],
            params["beta"],
        ]
    )
