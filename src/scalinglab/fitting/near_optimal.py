"""The range of a prediction over all near-optimal fits: the lowest and highest value the
law gives at a query among parameter sets whose objective is within a tolerance of the best.

Why not just the starts: a multi-start search ends in a handful of points, and in a flat
valley they sit where their starts led them, often all on one side (OLMo MMLU: the starts
within 5% gave 0.708-0.750 while the valley reaches 0.784). The ends of the range are two
small constrained problems per query: minimise (maximise) the prediction subject to
objective <= best x (1 + rel), inside the parameter bounds. They are searched along the
quadratic model's extreme direction (H^-1 grad prediction, the exact objective bisected to
the valley's edge) and polished by SLSQP from the optimum and from that edge. SLSQP alone is
not reliable here: at the optimum the objective's gradient is zero, so its first step is
unconstrained and can leave the valley for good. Every value reported comes from a parameter
set checked to be inside the valley, so the range is never wider than the truth; it may be
narrower where both searches stop short. The objective and its gradient are the fit's own
(`Problem.reduce`); the prediction's gradient is by central differences. This is a spread,
not an interval: it says how far the data let the forecast move, not how likely each value
is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .problem import Problem
from .result import FitResult


@dataclass
class NearOptimalRange:
    """Per query the lowest and highest prediction found among near-optimal fits, and the
    parameter sets (public units) that give them: each is checked to be inside the valley."""

    lower: np.ndarray  # (Q,)
    upper: np.ndarray  # (Q,)
    lower_params: np.ndarray  # (Q, P); NaN where nothing finite was found
    upper_params: np.ndarray  # (Q, P)
    cap: float  # the objective every reported fit is at or below: best x (1 + rel)


def near_optimal_range(
    result: FitResult,
    inputs: Mapping[str, np.ndarray],
    rel: float,
    starts: np.ndarray | None = None,
    center: np.ndarray | None = None,
) -> NearOptimalRange | None:
    """Per query, the min and max prediction over parameter sets with objective <= the
    best x (1 + rel); None when the fit carries no data to evaluate the objective on, or
    its curvature cannot be computed (the caller keeps what its starts show).

    Parameters
    ----------
    result : FitResult
        A fit made on data (its objective is re-evaluated on `result.data_`).
    inputs : mapping of str to array
        The law's variables at the queries (broadcast to a common length Q).
    rel : float
        Relative objective tolerance, finite and >= 0 (0.05: within 5% of the best).
    starts : array, optional
        (S, P) public parameter sets from the search; those inside the valley count too.
    center : array, optional
        The best parameter set known (public units), when a wider search found a lower
        objective than `result`'s own optimum; the valley is defined around it.

    Returns
    -------
    NearOptimalRange or None
    """
    if not (np.isfinite(rel) and rel >= 0):
        raise ValueError(f"the near-optimal tolerance must be a finite number >= 0, got {rel!r}")
    if result.data_ is None or not inputs:
        return None
    law = result.law
    problem = Problem(
        law,
        result.data_["x"],
        np.asarray(result.data_["y"], float),
        np.asarray(result.data_["weights"], float),
        result.delta_,
    )
    lo_b, hi_b = law.internal_bounds()
    theta = result.param_vector_ if center is None else np.asarray(center, float)
    z_hat = np.clip(law.to_internal(theta), lo_b, hi_b)
    best = float(problem.reduce(z_hat[None, :]).f[0])
    if not np.isfinite(best) or best <= 0:
        return None
    valley = _Valley(problem, best * (1 + rel), lo_b, hi_b)
    names = list(inputs)
    columns = np.broadcast_arrays(*(np.atleast_1d(np.asarray(inputs[k], float)) for k in names))
    queries = dict(zip(names, columns, strict=True))
    n_q = columns[0].shape[0]
    pool = [z_hat]
    if starts is not None and len(starts):
        pool += [z for z in np.clip(law.to_internal(np.asarray(starts, float)), lo_b, hi_b)]
    pool = [z for z in pool if valley.inside(z)]
    try:
        curvature = _curvature(problem, z_hat)
        lam, Q = np.linalg.eigh(curvature)
    except (np.linalg.LinAlgError, ValueError):
        return None
    lam = np.maximum(lam, max(float(lam.max()), 1e-300) * 1e-12)
    whiten = Q / np.sqrt(lam) * math.sqrt(2 * rel * best)  # valley ~ |v| <= 1
    P = len(z_hat)
    out = NearOptimalRange(
        np.full(n_q, np.nan),
        np.full(n_q, np.nan),
        np.full((n_q, P), np.nan),
        np.full((n_q, P), np.nan),
        valley.cap,
    )
    for q in range(n_q):
        pred = _Prediction(law, {k: v[q : q + 1] for k, v in queries.items()})
        found = list(pool)
        at_best = pred(z_hat)
        scale = abs(at_best) if np.isfinite(at_best) and at_best != 0 else 1.0
        try:
            step = np.linalg.lstsq(curvature, pred.gradient(z_hat), rcond=None)[0]
        except (np.linalg.LinAlgError, ValueError):
            step = None
        for sign in (1.0, -1.0):
            edge = None if step is None else valley.edge(z_hat, -sign * step)
            if edge is not None:
                found.append(edge)  # the quadratic model's extreme direction, to the edge
            for z0 in (z_hat,) if edge is None else (z_hat, edge):
                z = valley.polish(pred, sign / scale, z0, z_hat, whiten)
                if z is not None:
                    found.append(z)
        vals = np.array([pred(z) for z in found])
        ok = np.flatnonzero(np.isfinite(vals))
        if ok.size:
            lo_i, hi_i = ok[np.argmin(vals[ok])], ok[np.argmax(vals[ok])]
            out.lower[q], out.upper[q] = vals[lo_i], vals[hi_i]
            out.lower_params[q] = law.to_public(found[lo_i])
            out.upper_params[q] = law.to_public(found[hi_i])
    return out


def _curvature(problem: Problem, z: np.ndarray) -> np.ndarray:
    """The objective's Hessian at the optimum (exact Newton where positive definite, else
    the Gauss-Newton matrix the optimiser uses)."""
    red = problem.reduce(z[None, :], order=2)
    assert red.H is not None  # order >= 1 always fills the Gauss-Newton matrix
    H = red.Hn[0] if red.Hn is not None else red.H[0]
    try:
        np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        H = red.H[0]
    return H


class _Valley:
    """The set {z : objective(z) <= cap} inside the bounds, probed by exact evaluations."""

    def __init__(self, problem: Problem, cap: float, lo: np.ndarray, hi: np.ndarray) -> None:
        self.problem, self.cap, self.lo, self.hi = problem, cap, lo, hi

    def excess(self, z: np.ndarray) -> float:
        """log(objective / cap): <= 0 inside the valley."""
        f = float(self.problem.reduce(np.asarray(z, float)[None, :]).f[0])
        return math.log(f / self.cap) if np.isfinite(f) and f > 0 else math.inf

    def inside(self, z: np.ndarray) -> bool:
        return bool(np.all(np.isfinite(z))) and self.excess(z) <= 1e-9

    def edge(self, z: np.ndarray, direction: np.ndarray) -> np.ndarray | None:
        """Where the ray z + t d (t > 0) leaves the valley (bisection on exact objectives)."""
        norm = float(np.abs(direction).max())
        if not np.isfinite(norm) or norm == 0:
            return None
        d = direction / norm
        out = 1e-3
        while self.excess(np.clip(z + out * d, self.lo, self.hi)) <= 0:
            out *= 2
            if out > 1e3:
                return np.clip(z + out / 2 * d, self.lo, self.hi)
        inn = 0.0
        for _ in range(50):
            mid = 0.5 * (inn + out)
            if self.excess(np.clip(z + mid * d, self.lo, self.hi)) <= 0:
                inn = mid
            else:
                out = mid
        return np.clip(z + inn * d, self.lo, self.hi)

    def polish(
        self, pred: _Prediction, c: float, z0: np.ndarray, z_hat: np.ndarray, M: np.ndarray
    ) -> np.ndarray | None:
        """SLSQP on c x prediction inside the valley from z0, in whitened coordinates
        z = z_hat + M v (M from the curvature: the quadratic model's valley is |v| <= 1, so
        every direction is equally scaled; in raw coordinates log A and alpha differ by
        orders and SLSQP stalls). The end point only if it is inside the valley."""
        from scipy.optimize import minimize

        def at(v: np.ndarray) -> np.ndarray:
            return z_hat + M @ v

        def inside_jac(v: np.ndarray) -> np.ndarray:
            red = self.problem.reduce(at(v)[None, :], order=1)
            assert red.g is not None
            return -(red.g[0] / red.f[0]) @ M

        cons: list[dict] = [
            {"type": "ineq", "fun": lambda v: -self.excess(at(v)), "jac": inside_jac}
        ]
        for k in range(len(z_hat)):
            if np.isfinite(self.lo[k]):
                cons.append(
                    {
                        "type": "ineq",
                        "fun": lambda v, k=k: at(v)[k] - self.lo[k],
                        "jac": lambda v, k=k: M[k],
                    }
                )
            if np.isfinite(self.hi[k]):
                cons.append(
                    {
                        "type": "ineq",
                        "fun": lambda v, k=k: self.hi[k] - at(v)[k],
                        "jac": lambda v, k=k: -M[k],
                    }
                )
        v0 = np.linalg.lstsq(M, z0 - z_hat, rcond=None)[0]
        try:
            with np.errstate(all="ignore"):
                sol = minimize(
                    lambda v: c * pred(at(v)),
                    v0,
                    jac=lambda v: c * (pred.gradient(at(v)) @ M),
                    method="SLSQP",
                    constraints=cons,
                    options={"maxiter": 100, "ftol": 1e-12},
                )
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            return None
        z = np.clip(at(sol.x), self.lo, self.hi)
        return z if self.inside(z) else None


class _Prediction:
    """The law's prediction at one query as a function of internal parameters, with its
    gradient by central differences."""

    def __init__(self, law, query: Mapping[str, np.ndarray]) -> None:
        self.law, self.query = law, query

    def __call__(self, z: np.ndarray) -> float:
        public = self.law.to_public(np.asarray(z, float)[None, :])
        return float(self.law.evaluate(public, self.query)[0, 0])

    def gradient(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, float)
        g = np.empty_like(z)
        for i in range(len(z)):
            h = 1e-6 * max(1.0, abs(z[i]))
            up, dn = z.copy(), z.copy()
            up[i] += h
            dn[i] -= h
            g[i] = (self(up) - self(dn)) / (2 * h)
        return g
