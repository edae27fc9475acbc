"""Bootstrap: parameter and prediction intervals from refits on resampled data.

Resamples are a batch dimension of the optimiser, not a loop: resample b is expressed as
per-point weights (multinomial counts times the user's weights), so all resamples share one
copy of the data and one batched evaluation per iteration. Two refit modes:

- "warm": every resample starts from the full-data optimum and takes exact-Hessian
  Levenberg-Marquardt steps (resample optima lie close to the full-data one);
- "grid": every resample re-runs the full multi-start search. The screening objective of all
  grid starts under all resamples is one matrix product (Huber terms at the starts, G x n,
  times the count matrix, n x B), so the robust option costs little more than a few warm
  refits per resample.

Group resampling (whole model sizes, whole seeds) draws groups with replacement, since runs of
one size are correlated and row resampling would understate the uncertainty.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..laws.base import Law
from .objective import huber, residual, total
from .optimizer import levenberg_marquardt, residual_curvature
from .search import make_evaluator

if TYPE_CHECKING:
    from .result import FitResult


@dataclass
class Bootstrap:
    """Refits on resampled data: `params` is (B, P) in public units."""

    law: Law
    params: np.ndarray
    objective: np.ndarray
    converged: np.ndarray
    method: str
    seed: int
    group_by: str | None
    n_groups: int | None
    time_s: float
    estimate: dict[str, float] = field(default_factory=dict)

    @property
    def n_resamples(self) -> int:
        return int(self.params.shape[0])

    @property
    def usable(self) -> np.ndarray:
        """Draws that converged to a finite objective (the others are reported, not used)."""
        return self.converged & np.isfinite(self.objective)

    def intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Percentile intervals per parameter, with the bootstrap standard error."""
        _check_level(level)
        draws = self.params[self.usable]
        lo, hi = np.percentile(draws, [50 * (1 - level), 50 * (1 + level)], axis=0)
        return pd.DataFrame(
            {
                "estimate": [self.estimate.get(n, np.nan) for n in self.law.param_names],
                "lower": lo,
                "upper": hi,
                "se": draws.std(axis=0, ddof=1),
            },
            index=pd.Index(self.law.param_names, name="parameter"),
        )

    def predict_draws(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """(B_usable, n) predictions, one row per usable resample."""
        return self.law.evaluate(self.params[self.usable], inputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "seed": self.seed,
            "group_by": self.group_by,
            "n_groups": self.n_groups,
            "n_resamples": self.n_resamples,
            "n_usable": int(self.usable.sum()),
            "time_s": self.time_s,
            "params": self.params.tolist(),
            "objective": self.objective.tolist(),
            "converged": self.converged.tolist(),
        }

    @classmethod
    def from_dict(cls, law: Law, d: dict[str, Any], estimate: dict[str, float]) -> Bootstrap:
        return cls(
            law=law,
            params=np.asarray(d["params"], dtype=float).reshape(-1, law.n_params),
            objective=np.asarray(d["objective"], dtype=float),
            converged=np.asarray(d["converged"], dtype=bool),
            method=d["method"],
            seed=int(d["seed"]),
            group_by=d.get("group_by"),
            n_groups=d.get("n_groups"),
            time_s=float(d.get("time_s", np.nan)),
            estimate=estimate,
        )


def _check_level(level: float) -> None:
    if not (0 < level < 1):
        raise ValueError(f"interval level must be in (0, 1), got {level}")


def resample_counts(
    n: int, n_resamples: int, rng: np.random.Generator, groups: np.ndarray | None = None
) -> np.ndarray:
    """(B, n) multiplicities: rows drawn with replacement, or whole groups."""
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(float)
    _, inv = np.unique(groups, return_inverse=True)
    g = inv.max() + 1
    group_counts = rng.multinomial(g, np.full(g, 1.0 / g), size=n_resamples).astype(float)
    return group_counts[:, inv]


def run_bootstrap(
    result: FitResult,
    n_resamples: int = 1000,
    *,
    groups: np.ndarray | None = None,
    group_by: str | None = None,
    method: str = "warm",
    seed: int = 0,
    max_iter: int = 100,
    chunk: int = 250,
    n_warm: int = 8,
    n_refine: int = 2,
    progress: Any = None,
    counts: np.ndarray | None = None,
) -> Bootstrap:
    """Refit `result`'s law on `n_resamples` resamples of its fit data.

    counts: a (B, n) matrix of multiplicities to use instead of drawing them, so that two
    fits on overlapping runs can be bootstrapped together (the same resampled runs in both).
    """
    if counts is not None:
        n_resamples = int(counts.shape[0])
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise DataError(f"the number of bootstrap resamples must be >= 1, got {n_resamples!r}")
    if method not in ("warm", "grid"):
        raise ValueError(f"bootstrap method must be 'warm' or 'grid', got {method!r}")
    if result.data_ is None:
        raise DataError("this fit carries no data to resample (it was loaded without data)")
    law = result.law
    x = result.data_["x"]
    y = np.asarray(result.data_["y"], dtype=float)
    w0 = np.asarray(result.data_["weights"], dtype=float)
    n_groups = None
    if groups is not None:
        groups = np.asarray(groups)
        n_groups = len(np.unique(groups))
        if n_groups < 2:
            raise DataError(
                f"group bootstrap by '{group_by}' needs at least 2 groups; the fit data has "
                f"{n_groups}",
                column=group_by,
            )
    rng = np.random.default_rng(seed)
    from .fitter import _as_columns

    cols = _as_columns(x)
    evaluate = make_evaluator(law, cols)
    lo, hi = law.internal_bounds()
    z_hat = law.to_internal(result.param_vector_)
    t0 = time.perf_counter()
    if counts is None:
        counts = resample_counts(len(y), n_resamples, rng, groups)
    elif counts.shape != (n_resamples, len(y)):
        raise DataError(f"bootstrap counts must be ({n_resamples}, {len(y)}), got {counts.shape}")
    curv = residual_curvature(evaluate, z_hat, y, law.space)
    Z = np.empty((n_resamples, law.n_params))
    F = np.empty(n_resamples)
    C = np.zeros(n_resamples, dtype=bool)
    if method == "grid":
        starts = law.to_internal(law.grid_points())
        pred, _ = evaluate(np.clip(starts, lo, hi), False)
        r = residual(pred, y, law.space)
        terms = np.where(np.isfinite(r), huber(r, result.delta_), np.inf)
    for a in range(0, n_resamples, chunk):
        b = min(a + chunk, n_resamples)
        W = counts[a:b] * w0
        if method == "warm":
            z0 = np.broadcast_to(z_hat, (b - a, law.n_params))
        else:
            # n_refine starts from this resample's own screen, plus the full-data optimum.
            z0 = _grid_starts(
                evaluate, law, starts, terms, W, y, result.delta_, n_warm, n_refine, lo, hi
            )
            z0 = np.concatenate(
                [z0.reshape(b - a, n_refine, -1), np.broadcast_to(z_hat, (b - a, 1, z_hat.size))],
                axis=1,
            ).reshape(-1, z_hat.size)
        k = z0.shape[0] // (b - a)
        Wk = np.repeat(W, k, axis=0)
        res = levenberg_marquardt(
            evaluate,
            z0,
            y,
            Wk,
            delta=result.delta_,
            space=law.space,
            lower=lo,
            upper=hi,
            max_iter=max_iter,
            newton_below=np.inf,
            curvature=curv,
        )
        f = np.where(np.isfinite(res.f), res.f, np.inf).reshape(b - a, k)
        pick = np.argmin(f, axis=1)
        sel = np.arange(b - a) * k + pick
        Z[a:b], F[a:b], C[a:b] = res.z[sel], res.f[sel], res.converged[sel]
        if progress is not None:
            progress(b - a)
    return Bootstrap(
        law=law,
        params=law.to_public(Z),
        objective=F,
        converged=C,
        method=method,
        seed=seed,
        group_by=group_by,
        n_groups=n_groups,
        time_s=time.perf_counter() - t0,
        estimate=dict(result.params_),
    )


def _grid_starts(evaluate, law, starts, terms, W, y, delta, n_warm, n_refine, lo, hi):
    """Per resample: screen all grid starts (one matrix product), least-squares warm-up of
    the best `n_warm`, keep the best `n_refine`. Returns (B * n_refine, P) start points."""
    B = W.shape[0]
    with np.errstate(invalid="ignore"):
        screen = terms @ W.T  # (G, B)
    screen = np.where(np.isfinite(screen), screen, np.inf)
    top = np.argsort(screen, axis=0, kind="stable")[:n_warm].T  # (B, n_warm)
    z = np.clip(starts[top.ravel()], lo, hi)
    Wr = np.repeat(W, n_warm, axis=0)
    warm = levenberg_marquardt(
        evaluate,
        z,
        y,
        Wr,
        delta=1e6,
        space=law.space,
        lower=lo,
        upper=hi,
        max_iter=8,
        newton=False,
    )
    pred, _ = evaluate(warm.z, False)
    f = total(residual(pred, y, law.space), Wr, delta).reshape(B, n_warm)
    keep = np.argsort(f, axis=1, kind="stable")[:, :n_refine]
    idx = (np.arange(B)[:, None] * n_warm + keep).ravel()
    return warm.z[idx]
