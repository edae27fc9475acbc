"""Bootstrap: parameter and prediction intervals from refits on resampled data.

Resamples are a batch dimension of the optimiser, not a loop: resample b is expressed as
per-point weights (multinomial counts times the user's weights), so all resamples share one
copy of the data and one batched evaluation per iteration. Two refit modes:

- "warm": every resample starts from the full-data optimum and takes Newton
  Levenberg-Marquardt steps whose Hessian is exact in its Gauss-Newton part and uses the
  residual curvature frozen at the full-data optimum (resample optima lie close to it);
- "grid": every resample re-runs the multi-start search. The screening objective of all
  grid starts under all resamples is one matrix product (Huber terms at the starts, G x n,
  times the count matrix, n x B; on a row subsample for long tables), so the robust option
  costs little more than a few warm refits per resample.

Memory is bounded whatever the table: count matrices are drawn a chunk of resamples at a time
(the same draws as all at once), sized so that a chunk's weights stay near
`BOOTSTRAP_MEMORY`, and every evaluation is chunked over rows (see problem.Problem). An
absurd number of resamples is refused up front with an estimate (`BootstrapSizeError`).

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
from .objective import huber
from .optimizer import levenberg_marquardt
from .problem import Problem
from .search import SEARCH_ROWS, _subsample

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
    # Draws kept although the optimiser had not met its tolerance: they were still moving,
    # by less than DRIFT_RTOL of the objective over DRIFT_ITERS iterations, along a direction
    # the resample does not fix (typically E -> 0 on a log scale). Dropping them would keep
    # only the resamples that happen to identify every parameter: too narrow intervals.
    drifting: np.ndarray | None = None
    drift_params: tuple[str, ...] = ()

    @property
    def n_drifting(self) -> int:
        return 0 if self.drifting is None else int(self.drifting.sum())

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
            "drifting": None if self.drifting is None else self.drifting.tolist(),
            "drift_params": list(self.drift_params),
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
            drifting=None if d.get("drifting") is None else np.asarray(d["drifting"], dtype=bool),
            drift_params=tuple(d.get("drift_params", ())),
        )


def _check_level(level: float) -> None:
    if not (0 < level < 1):
        raise ValueError(f"interval level must be in (0, 1), got {level}")


# More resamples than this are refused: 1e6 percentile draws are far past any use (the
# 95% interval's Monte Carlo error is ~1e-3 of its width at 1e4).
MAX_RESAMPLES = 1_000_000
# Resamples x rows above this are refused (hours of refits on 2 cores).
MAX_RESAMPLE_ROWS = 2e9
# Bytes of count/weight matrices per chunk of resamples (a chunk holds a few copies).
BOOTSTRAP_MEMORY = 256 << 20
# Grid bootstrap: the (starts x rows) screening terms use this many evenly spread rows of a
# longer table (every row of a shorter one).
GRID_SCREEN_ROWS = 512


class BootstrapSizeError(DataError):
    """A bootstrap too large to run: too many resamples, or resamples x rows too large.
    The message carries the estimate (memory of the results, refit work) and the way out."""


def check_bootstrap_size(n_resamples: int, n_rows: int, n_params: int) -> None:
    """Refuse, with an estimate, a bootstrap that would not finish or not fit in memory."""
    result_bytes = n_resamples * (n_params + 2) * 8
    work = float(n_resamples) * n_rows
    # ~3 microseconds per resample-row on 2 cores (Chinchilla: 1,000 warm resamples of 240
    # rows in ~0.9 s; 4 of 2,000,000 rows in ~20 s); a rough guide, printed as such.
    seconds = work * 3e-6
    if n_resamples > MAX_RESAMPLES or work > MAX_RESAMPLE_ROWS:
        raise BootstrapSizeError(
            f"{n_resamples:,} bootstrap resamples of {n_rows:,} rows is too large: the "
            f"results alone take {_bytes(result_bytes)} and the refits about "
            f"{_duration(seconds)} (roughly {work:.3g} resample-rows). The limits are "
            f"{MAX_RESAMPLES:,} resamples and {MAX_RESAMPLE_ROWS:.0e} resample-rows; "
            "1,000-10,000 resamples give stable 95% intervals. For a long table, resample "
            "whole groups (group_by / --group-by) or fit a row subsample (--where)."
        )


def _bytes(b: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if b < 1024 or unit == "TB":
            return f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} TB"


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} days"


def resample_counts(
    n: int, n_resamples: int, rng: np.random.Generator, groups: np.ndarray | None = None
) -> np.ndarray:
    """(B, n) multiplicities: rows drawn with replacement, or whole groups."""
    if groups is None:
        return _draw(n, n_resamples, rng, None, 0)
    _, inv = np.unique(groups, return_inverse=True)
    return _draw(n, n_resamples, rng, inv, int(inv.max()) + 1)


def _draw(n: int, b: int, rng: np.random.Generator, inv, n_groups: int) -> np.ndarray:
    """b resamples' counts; drawing in chunks gives the same counts as drawing at once."""
    if inv is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(float)
    g = n_groups
    group_counts = rng.multinomial(g, np.full(g, 1.0 / g), size=b).astype(float)
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
    n = len(y)
    check_bootstrap_size(int(n_resamples), n, law.n_params)
    n_groups, inv = None, None
    if groups is not None:
        groups = np.asarray(groups)
        _, inv = np.unique(groups, return_inverse=True)
        n_groups = int(inv.max()) + 1 if inv.size else 0
        if n_groups < 2:
            raise DataError(
                f"group bootstrap by '{group_by}' needs at least 2 groups; the fit data has "
                f"{n_groups}",
                column=group_by,
            )
    if counts is not None and counts.shape != (n_resamples, n):
        raise DataError(f"bootstrap counts must be ({n_resamples}, {n}), got {counts.shape}")
    rng = np.random.default_rng(seed)
    problem = Problem(law, x, y, w0, result.delta_)
    lo, hi = law.internal_bounds()
    z_hat = law.to_internal(result.param_vector_)
    t0 = time.perf_counter()
    problem.set_curvature(z_hat)
    k = 1 if method == "warm" else n_refine + 1
    # A chunk holds its counts, weights and the per-start copies the optimiser indexes.
    per_resample = n * 8 * (2 + 2 * k)
    chunk = max(1, min(chunk, BOOTSTRAP_MEMORY // max(per_resample, 1)))
    Z = np.empty((n_resamples, law.n_params))
    F = np.empty(n_resamples)
    C = np.zeros(n_resamples, dtype=bool)
    D = np.zeros(n_resamples, dtype=bool)
    moved = np.zeros(law.n_params)  # which parameters the drifting draws move along
    if method == "grid":
        starts = np.clip(law.to_internal(law.grid_points()), lo, hi)
        screen_rows = _subsample(n, GRID_SCREEN_ROWS)
        scr = Problem(
            law,
            {k_: np.asarray(v)[screen_rows] for k_, v in x.items()},
            y[screen_rows],
            np.ones(screen_rows.size),
            result.delta_,
            aggregate=False,
        )
        terms = np.empty((len(starts), screen_rows.size))
        step = max(1, (1 << 16) // screen_rows.size)  # starts per block: small temporaries
        for s0 in range(0, len(starts), step):
            pred, _ = law.evaluate_internal(starts[s0 : s0 + step], scr.cols, False)
            with np.errstate(all="ignore"):
                r = (np.log(pred) if law.space == "log" else pred) - scr.target
                terms[s0 : s0 + step] = np.where(np.isfinite(r), huber(r, result.delta_), np.inf)
        # Long tables: the warm-up runs on the fit's row subsample, as in the search.
        warm_rows = _subsample(n, SEARCH_ROWS) if n > SEARCH_ROWS else None
        warm_problem = problem if warm_rows is None else problem.subset(warm_rows)
    for a in range(0, n_resamples, chunk):
        b = min(a + chunk, n_resamples)
        cnt = counts[a:b] if counts is not None else _draw(n, b - a, rng, inv, n_groups or 0)
        W = cnt * w0 if problem.perm is None else cnt[:, problem.perm] * w0[problem.perm]
        if method == "warm":
            z0 = np.broadcast_to(z_hat, (b - a, law.n_params))
            Wk = W
        else:
            # n_refine starts from this resample's own screen, plus the full-data optimum.
            Wt = cnt * w0
            Wwarm = W if warm_rows is None else warm_problem.row_weights(Wt[:, warm_rows])
            assert Wwarm is not None
            z0 = _grid_starts(
                warm_problem,
                law,
                starts,
                terms,
                Wt[:, screen_rows],
                Wwarm,
                n_warm,
                n_refine,
                lo,
                hi,
            )
            kr = n_refine
            if warm_rows is not None:
                # Long tables: refine the candidates on the subsample, keep each resample's
                # best for the full-data refinement (beside the full-data optimum).
                sub = levenberg_marquardt(
                    warm_problem,
                    z0,
                    W=np.repeat(Wwarm, n_refine, axis=0),
                    delta=result.delta_,
                    lower=lo,
                    upper=hi,
                    max_iter=max_iter,
                )
                fs = np.where(np.isfinite(sub.f), sub.f, np.inf).reshape(b - a, n_refine)
                best = np.arange(b - a) * n_refine + np.argmin(fs, axis=1)
                z0, kr = sub.z[best], 1
            z0 = np.concatenate(
                [z0.reshape(b - a, kr, -1), np.broadcast_to(z_hat, (b - a, 1, z_hat.size))],
                axis=1,
            ).reshape(-1, z_hat.size)
            k = kr + 1
            Wk = np.repeat(W, k, axis=0)
        res = levenberg_marquardt(
            problem,
            z0,
            W=Wk,
            delta=result.delta_,
            lower=lo,
            upper=hi,
            max_iter=max_iter,
            newton_below=np.inf,
            frozen=True,
        )
        f = np.where(np.isfinite(res.f), res.f, np.inf).reshape(b - a, k)
        pick = np.argmin(f, axis=1)
        sel = np.arange(b - a) * k + pick
        Z[a:b], F[a:b], C[a:b] = res.z[sel], res.f[sel], res.converged[sel]
        _finish_stragglers(
            problem, W, Z[a:b], F[a:b], C[a:b], D[a:b], moved, result.delta_, lo, hi, max_iter
        )
        if progress is not None:
            progress(b - a)
    return Bootstrap(
        law=law,
        params=law.to_public(Z),
        objective=F,
        converged=C,
        drifting=D,
        drift_params=tuple(law.param_names[i] for i in np.flatnonzero(moved >= 0.5 * moved.max()))
        if D.any()
        else (),
        method=method,
        seed=seed,
        group_by=group_by,
        n_groups=n_groups,
        time_s=time.perf_counter() - t0,
        estimate=dict(result.params_),
    )


DRIFT_ITERS = 25
DRIFT_RTOL = 1e-5


def _finish_stragglers(problem, W, Z, F, C, D, moved, delta, lo, hi, max_iter) -> None:
    """Resamples not converged after `max_iter` (in place on the chunk's views): continue
    them for 2 x max_iter more; those still moving are kept as drifting (`D`) when their
    objective changed by less than DRIFT_RTOL over the last DRIFT_ITERS iterations, and
    `moved` accumulates how far each parameter went over those iterations."""
    j = np.flatnonzero(~C & np.isfinite(F))
    if not j.size:
        return
    kw = dict(delta=delta, lower=lo, upper=hi, newton_below=np.inf, frozen=True)
    more = levenberg_marquardt(problem, Z[j], W=W[j], max_iter=2 * max_iter, **kw)
    z, f, c = more.z, more.f, more.converged
    k = np.flatnonzero(~c & np.isfinite(f))
    if k.size:
        last = levenberg_marquardt(problem, z[k], W=W[j[k]], max_iter=DRIFT_ITERS, **kw)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = (f[k] - last.f) / np.abs(last.f)
        drift = ~last.converged & np.isfinite(last.f) & (rel <= DRIFT_RTOL)
        step = np.abs(last.z - z[k])[drift]
        if step.size:
            moved += (step / np.maximum(step.max(axis=1, keepdims=True), 1e-300)).mean(axis=0)
        z[k], f[k] = last.z, last.f
        c[k] = last.converged | drift
        D[j[k]] = drift
    Z[j], F[j], C[j] = z, f, c


def _grid_starts(problem, law, starts, terms, Ws, W, n_warm, n_refine, lo, hi):
    """Per resample: screen all grid starts (one matrix product of the Huber terms at the
    starts with the resample's counts on the screening rows), least-squares warm-up of the
    best `n_warm` on `problem` (all rows, or the row subsample of a long table, W its
    weights), keep the best `n_refine`. Returns (B * n_refine, P) start points."""
    B = W.shape[0]
    with np.errstate(invalid="ignore"):
        screen = terms @ Ws.T  # (G, B)
    screen = np.where(np.isfinite(screen), screen, np.inf)
    top = np.argsort(screen, axis=0, kind="stable")[:n_warm].T  # (B, n_warm)
    z = np.clip(starts[top.ravel()], lo, hi)
    Wr = np.repeat(W, n_warm, axis=0)
    warm = levenberg_marquardt(
        problem, z, W=Wr, delta=1e6, lower=lo, upper=hi, max_iter=8, newton=False
    )
    f = problem.value(warm.z, Wr).reshape(B, n_warm)
    keep = np.argsort(f, axis=1, kind="stable")[:, :n_refine]
    idx = (np.arange(B)[:, None] * n_warm + keep).ravel()
    return warm.z[idx]
