"""One law fitted on many row subsets of one table (audit folds), as one batched search.

Why: a leave-largest-out audit refits the law on nested subsets of the runs. Fitted one by
one, each subset repeats the preparation and runs its own search, and at a few hundred rows
a search is bound by the per-iteration overhead of numpy calls, not by arithmetic. Here the
starts of every fold are rows of one batched Levenberg-Marquardt, as bootstrap resamples
are: one evaluation per iteration serves all folds.

Where each start's rows live: the warm-up and refinement run on a `Problem.blocks` (fold k's
rows, or its 4,096-row search subsample on a long fold, as block k; shorter blocks padded
with zero-weight rows), so no start evaluates another fold's rows; the optimiser's
iterations are shared, each block evaluated as its own chunked problem. The all-rows stage of
long folds uses one copy of the table with each fold as a row-weight vector (0 outside the
fold). Row weights over the whole table for every stage were tried first: a start of a small
fold then evaluated the largest fold's rows, and an audit of 24,000 rows in 8 folds took
4.1-5.7 s against 2.0 s for separate fits.

Each fold gets the search `fit` would give it (`search.multistart`): the same starts (the
law's grid for that fold's data), the same screening rows and screened objective, the same
warm-up and refinement (pruning and Newton switching per fold, as if alone), and on a long
fold the same row subsample, re-scoring and all-rows refinement, with one difference: a fold
of 65,536 rows or more goes to the all-rows refinement straight from its subsample's
optimum, without `search.staged_refinement`'s intermediate subsamples (the folds share one
weighted copy of the table, which those subsamples would have to split). That costs a fold
an all-rows iteration or two, not its optimum: only rounding differs, so a fold's optimum
equals a separate fit's to ~1e-13 (tested to 1e-6), and its FitResult is built by the same
code (`fitter.fit_result`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..laws import get_law
from ..laws.base import Law
from .fitter import (
    _as_columns,
    _check_options,
    build_starts,
    fit,
    fit_result,
    objective_settings,
)
from .optimizer import LMResult, levenberg_marquardt
from .prepare import Prepared, prepare, source_of, validate_prepared
from .problem import Problem
from .result import FitResult
from .search import (
    BASIN_GAP,
    FULL_MARGIN,
    NEAR_LAMBDA,
    REFINE_NEWTON_FIRST,
    SCREEN_EXACT,
    SEARCH_ROWS,
    STATUS_PRUNED,
    STATUS_REFINED,
    STATUS_SCREENED,
    STATUS_SUBSAMPLE,
    STATUS_WARMED,
    WARM_ITER,
    SearchResult,
    _subsample,
    distinct_candidates,
    internal_starts,
    screen_objective,
    smallest,
)

# fit() options the batched search runs itself; any other option (a user grid, random
# starts, strategy="full", ...) makes fit_folds fit each fold separately with fit().
BATCHED_OPTIONS = {
    *("metric", "mapping", "delta", "weights", "preset", "fixed", "n_refine", "max_iter")
}
N_WARM, SCREEN_ROWS, PRUNE_RATIO = 32, 48, 1.5  # search.multistart's defaults


@dataclass
class _Fold:
    """One fold's search state (see search.multistart for the meaning of each array)."""

    idx: np.ndarray  # its rows, positions in the prepared table
    starts: np.ndarray  # (G, P) public
    z0: np.ndarray  # (G, P) internal
    screen: np.ndarray
    ends: np.ndarray
    obj: np.ndarray
    conv: np.ndarray
    iters: np.ndarray
    status: np.ndarray
    warm: np.ndarray  # indices of the warmed starts
    sub: np.ndarray | None  # long fold: its search-subsample rows (table positions)
    chosen: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))  # refined
    sub_res: LMResult | None = None  # long fold: its refinement on the subsample
    f_all: np.ndarray = field(
        default_factory=lambda: np.empty(0)
    )  # long fold: its candidates' objective on all its rows
    check: tuple[bool, float, bool] = (True, float("nan"), True)


def fit_folds(
    data: pd.DataFrame, law: str | Law, masks: np.ndarray, **fit_kw: Any
) -> list[FitResult]:
    """The fits of `law` on data[masks[k]] for every fold k, equal to
    `fit(data[masks[k]], law, **fit_kw)` (to rounding), in one batched search.

    masks: (K, len(data)) booleans. Options other than BATCHED_OPTIONS fall back to one
    fit() per fold (same results, no batching)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 2 or masks.shape[1] != len(data):
        raise DataError(f"fold masks must be (folds, {len(data)}), got {masks.shape}")
    if not masks.any(axis=1).all():
        raise DataError("a fold has no rows to fit", file=source_of(data))
    if set(fit_kw) - BATCHED_OPTIONS:
        return [fit(data[m], law, **fit_kw) for m in masks]
    law = get_law(law)
    if fit_kw.get("fixed"):
        law = law.fix(**dict(fit_kw["fixed"]))
    law, delta = objective_settings(law, fit_kw.get("delta"), None, fit_kw.get("preset"))
    n_refine, max_iter = int(fit_kw.get("n_refine", 8)), int(fit_kw.get("max_iter", 200))
    _check_options(delta, 0, "screen", n_refine, 0, max_iter)
    union = masks.any(axis=0)
    df = data[union]  # every row some fold fits: prepared and validated once
    opts = {k: fit_kw.get(k) for k in ("metric", "mapping", "weights")}
    if isinstance(opts["weights"], np.ndarray):
        opts["weights"] = np.asarray(opts["weights"])[union]
    prep = prepare(df, law, **opts)
    validate_prepared(df, prep)
    fold_rows = [np.flatnonzero(m[union]) for m in masks]
    if min(r.size for r in fold_rows) < law.n_params:  # fit() names the error for that fold
        return [fit(data[m], law, **fit_kw) for m in masks]
    t0 = time.perf_counter()
    try:
        folds, cols_of = _search(law, prep, fold_rows, delta, n_refine, max_iter)
    except _Fallback:
        return [fit(data[m], law, **fit_kw) for m in masks]
    elapsed = (time.perf_counter() - t0) / len(folds)
    out = []
    for k, fd in enumerate(folds):
        sub_prep = _subset(prep, fd.idx)
        res = _search_result(law, fd)
        out.append(
            fit_result(law, sub_prep, df.iloc[fd.idx], res, cols_of[k], delta, max_iter, elapsed)
        )
    return out


def _subset(prep: Prepared, idx: np.ndarray) -> Prepared:
    return Prepared(
        x={k: v[idx] for k, v in prep.x.items()},
        y=prep.y[idx],
        weights=prep.weights[idx],
        rows=prep.rows[idx],
        columns=prep.columns,
        metric=prep.metric,
    )


def _search(law: Law, prep: Prepared, fold_rows: list[np.ndarray], delta, n_refine, max_iter):
    """multistart's stages for every fold, the optimisations batched across folds."""
    lo, hi = law.internal_bounds()
    folds: list[_Fold] = []
    cols_of = []
    for idx in fold_rows:
        sub = _subset(prep, idx)
        cols = _as_columns(sub.x)
        cols_of.append(cols)
        starts = build_starts(law.grid_for(sub.x, sub.y))
        G = starts.shape[0]
        z0, _ = internal_starts(law, starts, lo, hi)
        n = idx.size
        if G <= n_refine:
            raise _Fallback
        rows = _subsample(n, SCREEN_ROWS)
        scr = Problem(
            law, {k: v[:, rows] for k, v in cols.items()}, sub.y[rows], sub.weights[rows],
            delta, aggregate=False,
        )  # fmt: skip
        screen = screen_objective(scr, z0, max(N_WARM, SCREEN_EXACT)) * (n / rows.size)
        top = smallest(screen, min(N_WARM, G))
        warm = top[np.isfinite(screen[top])]
        if warm.size == 0:
            warm = top
        folds.append(
            _Fold(
                idx=idx,
                starts=starts,
                z0=z0,
                screen=screen,
                ends=z0.copy(),
                obj=np.full(G, np.nan),
                conv=np.zeros(G, dtype=bool),
                iters=np.zeros(G, dtype=int),
                status=np.full(G, STATUS_SCREENED, dtype=object),
                warm=warm,
                sub=idx[_subsample(n, SEARCH_ROWS)] if n > SEARCH_ROWS else None,
            )
        )
    # The warm-up and refinement run on (folds, rows) blocks: each fold's rows (its search
    # subsample on a long fold), padded with zero-weight copies of its first row to the
    # longest block, so no start evaluates another fold's rows. Weights over the whole table
    # instead made every start of a small fold evaluate the largest fold's rows: an audit
    # of 24,000 rows in 8 folds took 4.1-5.7 s against 2.0 s for separate fits.
    for group in ([f for f in folds if f.sub is None], [f for f in folds if f.sub is not None]):
        if group:
            _warm_and_refine(_blocks(law, prep, group, delta), group, lo, hi, n_refine, max_iter)
    long = [f for f in folds if f.sub is not None]
    if long:  # the all-rows stage: one copy of the table, each fold its row weights
        full = Problem(law, _as_columns(prep.x), prep.y, prep.weights, delta)
        _refine_on_all_rows(full, long, prep.y.size, prep.weights, lo, hi, max_iter)
    return folds, cols_of


def _blocks(law: Law, prep: Prepared, folds: list[_Fold], delta: float) -> Problem:
    """A `Problem.blocks` of the folds' search rows, zero-weight padding to equal length."""
    rows = [f.idx if f.sub is None else f.sub for f in folds]
    m = max(r.size for r in rows)
    pad = [np.concatenate([r, np.full(m - r.size, r[0])]) for r in rows]
    w = np.stack([np.r_[prep.weights[r], np.zeros(m - r.size)] for r in rows])
    cols = {k: np.stack([v[r] for r in pad]) for k, v in prep.x.items()}
    return Problem.blocks(law, cols, np.stack([prep.y[r] for r in pad]), w, delta)


class _Fallback(Exception):
    """A fold the batched search does not cover (fewer starts than refined ones)."""


def _weights(problem: Problem, rows: list[np.ndarray], n: int, w: np.ndarray, reps) -> np.ndarray:
    """(sum reps, n) per-start row weights in the problem's internal order: fold k's rows
    carry their weights, every other row 0, repeated reps[k] times."""
    W = np.zeros((int(np.sum(reps)), n))
    a = 0
    for r, k in zip(rows, reps, strict=True):
        W[a : a + k, r] = w[r]
        a += k
    out = problem.row_weights(W)
    assert out is not None
    return out


def _warm_and_refine(work, folds, lo, hi, n_refine, max_iter) -> None:
    """Steps 2-3 of the search (warm-up, refinement) for every fold in one batch each, on
    `work`'s blocks (fold k's starts on block k)."""
    reps = [f.warm.size for f in folds]
    which = np.repeat(np.arange(len(folds)), reps)
    wr = levenberg_marquardt(
        work,
        np.concatenate([f.z0[f.warm] for f in folds]),
        which=which,
        delta=1e6,
        lower=lo,
        upper=hi,
        max_iter=WARM_ITER,
        newton=False,
    )
    f_warm = work.value(wr.z, which=which)
    is_full = all(f.sub is None for f in folds)  # else the long folds' subsample
    zc, a = [], 0
    for f, k in zip(folds, reps, strict=True):
        f.ends[f.warm], f.iters[f.warm] = wr.z[a : a + k], wr.n_iter[a : a + k]
        if is_full:
            f.obj[f.warm] = f_warm[a : a + k]
        f.status[f.warm] = STATUS_WARMED
        keep = np.argsort(f_warm[a : a + k], kind="stable")[:n_refine]
        f.chosen = f.warm[keep]
        zc.append(wr.z[a : a + k][keep])
        a += k
    reps = [f.chosen.size for f in folds]
    which = np.repeat(np.arange(len(folds)), reps)
    res = levenberg_marquardt(
        work,
        np.concatenate(zc),
        which=which,
        lower=lo,
        upper=hi,
        max_iter=max_iter,
        prune_ratio=PRUNE_RATIO,
        groups=np.repeat(np.arange(len(folds)), reps),
        near0=np.concatenate([np.arange(k) < REFINE_NEWTON_FIRST for k in reps]),
    )
    a = 0
    for f, k in zip(folds, reps, strict=True):
        c = f.chosen
        sl = slice(a, a + k)
        f.ends[c] = res.z[sl]
        f.iters[c] += res.n_iter[sl]
        if is_full:
            f.obj[c] = res.f[sl]
            f.conv[c] = res.converged[sl]
            f.status[c] = np.where(res.pruned[sl], STATUS_PRUNED, STATUS_REFINED)
        else:
            f.status[c] = np.where(res.pruned[sl], STATUS_PRUNED, STATUS_SUBSAMPLE)
            f.sub_res = _part(res, sl)
        a += k


def _part(res: LMResult, sl: slice) -> LMResult:
    return LMResult(
        z=res.z[sl],
        f=res.f[sl],
        converged=res.converged[sl],
        n_iter=res.n_iter[sl],
        grad_norm=res.grad_norm[sl],
        pruned=res.pruned[sl],
    )


def _refine_on_all_rows(full, folds, n, w, lo, hi, max_iter) -> None:
    """Steps 4-5 (search._refine_on_all_rows) for every long fold: candidates chosen per
    fold, re-scored on the fold's rows, the refinement on all its rows batched."""
    gos, zs = [], []
    for f in folds:
        res = f.sub_res
        assert res is not None
        cand = distinct_candidates(res)
        ca = np.array(cand)
        f_all = full.value(res.z[ca], _weights(full, [f.idx], n, w, [ca.size]))
        f.obj[f.chosen[ca]] = f_all
        best_all = float(np.min(f_all))
        go = ca[f_all <= best_all * (1 + FULL_MARGIN) + 1e-300]
        if not np.isfinite(best_all):
            go = ca[:1]
        f.f_all = f_all
        gos.append(go)
        zs.append(res.z[go])
    reps = [g.size for g in gos]
    fr = levenberg_marquardt(
        full,
        np.concatenate(zs),
        W=_weights(full, [f.idx for f in folds], n, w, reps),
        lower=lo,
        upper=hi,
        max_iter=max_iter,
        newton_below=np.inf,
        lam0=NEAR_LAMBDA,
    )
    a = 0
    for f, go, k in zip(folds, gos, reps, strict=True):
        sl = slice(a, a + k)
        idx = f.chosen[go]
        f.ends[idx] = fr.z[sl]
        f.obj[idx] = fr.f[sl]
        f.conv[idx] = fr.converged[sl]
        f.iters[idx] += fr.n_iter[sl]
        f.status[idx] = STATUS_REFINED
        f_all = f.f_all
        rank_ok = bool(np.argmin(f_all) == 0)
        f0, f_end = float(f_all[0]), float(np.min(fr.f[sl]))
        with np.errstate(invalid="ignore"):
            stays = not (f_end < f0 * (1 - BASIN_GAP))
        f.check = (rank_ok and stays, f0, rank_ok)
        a += k


def _search_result(law: Law, f: _Fold) -> SearchResult:
    best = int(np.argmin(np.where(np.isfinite(f.obj), f.obj, np.inf)))
    return SearchResult(
        starts=f.starts,
        ends=law.to_public(f.ends),
        objective=f.obj,
        screen_objective=f.screen,
        converged=f.conv,
        status=f.status,
        n_iter=f.iters,
        best=best,
        search_rows=f.idx.size if f.sub is None else f.sub.size,
        rows=f.idx.size,
        subsample_agrees=f.check[0],
        subsample_objective=f.check[1],
        subsample_rank_agrees=f.check[2],
    )
