"""Multi-start search: screen every start cheaply, optimise the promising ones fully.

Why: Hoffmann's grid has 4,500 starts. Running a full local optimisation from each (what a
scipy loop does) costs ~25 s on Chinchilla's 240 points, yet most starts either land on the
same optimum or wander into degenerate corners (A -> 0, alpha -> 0). So:

1. screen: the objective at every start, in one batched evaluation on a 48-row subsample
   (a Cartesian grid is evaluated by broadcasting, so A/N^alpha is computed once per
   (A, alpha) pair, not once per start);
2. warm-up: a few least-squares Gauss-Newton steps from the best `n_warm` screened starts
   (plain least squares pulls a start into the right basin in a handful of steps, where the
   near-L1 Huber objective crawls);
3. refine: the best `n_refine` of those go to the Huber Levenberg-Marquardt with Newton
   steps near the optimum (from the first iteration for the best warmed start), pruning
   starts that stay far worse than the best converged one.

On a long table (more than `SEARCH_ROWS` rows) steps 2-3 run on an evenly spread row
subsample of that size, so their cost does not grow with the rows; then
4. check: the distinct subsample optima are re-scored on all rows and the best on all rows is
   chosen (so a basin that only looks best on the subsample is not taken);
5. full refinement: only the chosen one (and any other within 1% of it on all rows) is
   optimised on all rows, with Newton steps from the start (on a table long enough for a
   staged subsample, that stage's Hessian held fixed: `all_rows_refinement`).

The subsample agrees with all rows when its best optimum is also the best of the re-scored
ones on all rows and the full refinement lowers its all-rows objective by at most
`BASIN_GAP` (sampling alone moves it by ~0.1%; a change of basin by tens of percent). When it
does not, the screening and warm-up, which saw only the subsample, may have discarded the
basin that is best on all rows: `screening_diagnostics` says so on the FitResult.

`strategy="full"` skips screening and refines every start on all rows (slower; for
diagnosing multi-modality with the complete table of end points).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..diagnostics import Diagnostic
from ..laws.autodiff import PositiveColumn
from ..laws.base import Law
from .optimizer import LMResult, levenberg_marquardt
from .problem import Problem

STATUS_SCREENED = "screened"  # only its starting objective was evaluated
STATUS_WARMED = "warmed"  # took warm-up steps, not refined
STATUS_PRUNED = "pruned"  # refined, then stopped early as clearly worse than the best
STATUS_REFINED = "refined"  # refined to convergence (or max_iter) on all rows
STATUS_SUBSAMPLE = "subsample"  # refined on the row subsample only (long tables)

# Above this many rows, warm-up and refinement run on a row subsample of this size.
SEARCH_ROWS = 4096
# Screening works on blocks of at most this many (start x row) elements (512 KB
# temporaries): Hoffmann's grid on 48 rows is then 5 blocks, not 30. Measured on 2 loaded
# cores, min of 200: 2.7 ms against 4.0 ms for 16K-element blocks (1 MB blocks: 2.2 ms).
SCREEN_BLOCK = 1 << 16
# The screening values recomputed in double: at least this many best (the starts table's
# best-screened starts are what `near_optimal_spread` explores), with their near-ties.
SCREEN_EXACT = 64
# Distinct subsample optima re-scored on all rows before choosing.
N_CHECK = 3
# Candidates within this relative margin of the best on all rows are all refined there.
FULL_MARGIN = 1e-2
# Subsample optima closer than this (relative, internal coordinates) are the same optimum.
SAME_OPTIMUM = 1e-3
# The full refinement lowering the subsample optimum's all-rows objective by more than this
# (relative) means it left the subsample's basin (sampling noise: 1e-4 to 2e-3 measured).
BASIN_GAP = 5e-2
SUBSAMPLE_CODE = "subsample_basin"  # a subsample that disagrees with all rows
# Before the refinement on all rows, the chosen optimum is refined on evenly spread row
# subsamples growing by this factor from SEARCH_ROWS (32K, 256K, ... rows, each at most
# half the table): see `staged_refinement`.
STAGE_FACTOR = 8
# Least-squares warm-up iterations, and how many of the refined starts (the best after the
# warm-up first) take Newton steps from their first refinement iteration; the others switch
# from IRLS steps once a step improves the objective by < 10%. Measured by the iterations
# until the last start stops (what a fit costs), summed over two suites of 37 and 33 fits
# (Chinchilla folds and 50-70% subsets, Gadre's 8 losses with two laws and two deltas,
# OLMo's ladder): (8, 0), as before, 2080 and 1294; (8, 1) 2071 and 1242, and Chinchilla's
# 240 points in 15 iterations instead of 17. Newton steps from the first iteration for all
# refined starts (5, all) made stragglers crawl along flat valleys: 2327 and 1313. A warm-up
# of 7 gave 2003 and 1075 but moved a degenerate fit (a step function, gamma on its bound,
# tests/test_diagnostics_bounds.py) to a point 1.5e-10 worse, off the bound. The optima of
# 72 other fits are the same to ~1e-10 of the objective (iteration counts move chaotically
# with any such setting; these are sums, not a single fit).
WARM_ITER = 8
# Initial damping of the refinements that start at a subsample's optimum (the stages and
# the all-rows one): the law's parameters are strongly correlated (Chinchilla's Hessian has
# a condition number near 1e8), so the default 1e-4 x diagonal shortens the Newton step
# along the weak direction by ~90% and the refinement crawls (240,000 rows: 4 all-rows
# evaluations; with 1e-8, 3, to the same optimum within the 1e-10 tolerance). From points
# merely near an optimum on a small noisy table it is no better, so only these use it.
NEAR_LAMBDA = 1e-8
# Iterations of the all-rows refinement with the last stage's Hessian held fixed (see
# `all_rows_refinement`); from a stage's optimum it converges in 2-3.
STAGE_HESSIAN_ITER = 6
REFINE_NEWTON_FIRST = 1


@dataclass
class SearchResult:
    starts: np.ndarray  # (G, P) public
    ends: np.ndarray  # (G, P) public; equal to starts where never optimised
    objective: np.ndarray  # (G,) objective on all rows at the end point (NaN if not evaluated)
    screen_objective: np.ndarray  # (G,) objective at the start (row subsample if screened)
    converged: np.ndarray  # (G,) bool
    status: np.ndarray  # (G,) str
    n_iter: np.ndarray  # (G,) int
    best: int  # index of the best start
    search_rows: int = 0  # rows the warm-up and first refinement used
    rows: int = 0  # rows in the table
    subsample_agrees: bool = True  # the subsample's best optimum is the all-rows basin
    # All-rows objective at the subsample's best optimum (NaN without a subsample), and
    # whether that optimum ranked first among the re-scored ones on all rows.
    subsample_objective: float = float("nan")
    subsample_rank_agrees: bool = True


def smallest(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest values, smallest first, ties by index: exactly
    np.argsort(values, kind="stable")[:k], without sorting all of them (4,500 screened
    starts: 0.05 ms against 0.37 ms)."""
    if k >= values.size:
        return np.argsort(values, kind="stable")
    part = np.argpartition(values, k - 1)[:k]
    cand = np.flatnonzero(values <= values[part].max())  # every tie at the k-th value
    return cand[np.argsort(values[cand], kind="stable")][:k]


@functools.lru_cache(maxsize=64)
def _subsample(n: int, m: int) -> np.ndarray:
    """`m` evenly spread row indices of `n` (all of them when n <= m), increasing; read-only
    (cached: a fit asks for the same few twice or more, 25 us each)."""
    if n <= m:
        idx = np.arange(n)
    else:
        idx = np.linspace(0, n - 1, m).round().astype(np.int64)  # non-decreasing: no sort
        idx = idx[np.r_[True, idx[1:] != idx[:-1]]]
    idx.flags.writeable = False
    return idx


# The last start arrays _cartesian saw and its answer: a law's grid is the same for every
# fit, and building its mesh to compare cost 0.4 ms of a 25 ms fit (comparing the bytes of
# the stored copy decides that it is the same array). (shape, bytes, answer).
_CARTESIAN_SEEN: list[tuple[tuple, bytes, tuple[list[np.ndarray], int] | None]] = []


def _cartesian(z: np.ndarray):
    """(axes, Gc) when the first Gc rows of z are the Cartesian product of `axes` in
    np.meshgrid(indexing="ij") order (the last parameter varying fastest), else None."""
    # Compared as bytes: np.array_equal(equal_nan=True) took 0.2 ms on Hoffmann's 4,500
    # starts, this 11 us (equal bytes are equal values, NaNs included; -0.0 against 0.0
    # only misses the cache).
    key = z.tobytes()
    for shape, seen, answer in _CARTESIAN_SEEN:
        if shape == z.shape and seen == key:
            return answer
    answer = _find_cartesian(z)
    _CARTESIAN_SEEN[:] = [(z.shape, key, answer), *_CARTESIAN_SEEN[:3]]
    return answer


# The last start arrays seen, with their internal coordinates (clipped to the bounds) and
# those back in public units: Hoffmann's 4,500 starts are the same for every fit, and the
# two conversions (a log and an exp of 13,500 values) cost 0.4 ms of a 22 ms fit.
_STARTS_SEEN: list[tuple[tuple, np.ndarray, np.ndarray, np.ndarray]] = []


def internal_starts(
    law: Law, starts: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(z0, z0 in public units): the starts in the optimiser's coordinates, clipped to the
    bounds, read-only (a cached conversion when these starts were seen for this law; callers
    copy what they change: 180 KB for Hoffmann's grid)."""
    key = (tuple(law.log_mask), lo.tobytes(), hi.tobytes())
    for k, seen, z0, pub in _STARTS_SEEN:
        if k == key and seen.shape == starts.shape and np.array_equal(seen, starts):
            return z0, pub
    z0 = np.clip(law.to_internal(starts), lo, hi)
    pub = law.to_public(z0)
    z0.flags.writeable = pub.flags.writeable = False
    _STARTS_SEEN[:] = [(key, np.array(starts, copy=True), z0, pub), *_STARTS_SEEN[:3]]
    return z0, pub


def _rows_mask(G: int, *index_sets: np.ndarray | None) -> np.ndarray:
    """(G,) bools: True at every index of the given sets."""
    out = np.zeros(G, dtype=bool)
    for idx in index_sets:
        if idx is not None:
            out[idx] = True
    return out


def _public_ends(law: Law, ends: np.ndarray, z0_public: np.ndarray, moved: np.ndarray):
    """law.to_public(ends), converting only the rows that moved from their start (the
    others are the starts' own public values, the same numbers)."""
    out = np.array(z0_public, copy=True)
    out[moved] = law.to_public(ends[moved])
    return out


def _find_cartesian(z: np.ndarray):
    G, P = z.shape
    sizes, stride = [], 1
    for j in reversed(range(P)):
        col = z[::stride, j]
        rep = np.flatnonzero(col[1:] == col[0])
        L = int(rep[0]) + 1 if rep.size else col.size
        sizes.append(L)
        stride *= L
        if stride > G:
            return None
    sizes.reverse()
    Gc = int(np.prod(sizes))
    if Gc < 8:
        return None
    strides = np.cumprod([1, *sizes[::-1]])[:-1][::-1]
    axes = [z[np.arange(L) * s, j] for j, (L, s) in enumerate(zip(sizes, strides, strict=True))]
    mesh = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)
    if not np.array_equal(mesh, z[:Gc], equal_nan=True):
        return None
    return axes, Gc


def _grid_objective(problem: Problem, axes) -> np.ndarray | None:
    """Objective (Gc,) on a Cartesian grid of internal points, by broadcasting each
    parameter along its own axis (blocks of at most SCREEN_BLOCK elements, so temporaries
    stay small); None if the formula does not broadcast that way."""
    law = problem.law
    P = len(axes)
    cols = problem.cols
    m = next(iter(cols.values())).shape[1] if cols else 1
    sizes = [a.size for a in axes]
    lead = 0  # leading axes looped over, one value at a time
    while lead < P - 1 and int(np.prod(sizes[lead:])) * m > SCREEN_BLOCK:
        lead += 1
    mask = law.log_mask
    with np.errstate(over="ignore"):
        values = [np.exp(a) if mask[j] else a for j, a in enumerate(axes)]
    kw0 = {
        k: v.reshape_rows((1,) * P + (m,))
        if isinstance(v, PositiveColumn)
        else np.asarray(v).reshape((1,) * P + (m,))
        for k, v in cols.items()
    }
    for j in range(lead, P):
        shape = [1] * (P + 1)
        shape[j] = sizes[j]
        kw0[law.param_names[j]] = values[j].reshape(shape)
    block = int(np.prod(sizes[lead:]))
    out = np.empty(int(np.prod(sizes)))
    one = (1,) * (P + 1)
    # The residuals and their Huber loss in single precision (the prediction itself in
    # double; `_single_ok` keeps metrics and weights far inside float32's range, and a
    # prediction outside it becomes an infinite value that is recomputed in double): the
    # logarithm of every (start, row) was 1.8 of the screening's 3.1 ms in double. The best
    # starts are then recomputed in double (`screen_objective`), so the choice is double
    # precision's.
    delta, w = problem.delta, problem.w.astype(np.float32)
    target, log = problem.target.astype(np.float32), law.space == "log"
    full_shape = (1,) * lead + tuple(sizes[lead:]) + (m,)
    try:
        for b, idx in enumerate(np.ndindex(*sizes[:lead])):
            kw = dict(kw0)
            for j, i in enumerate(idx):
                kw[law.param_names[j]] = values[j][i : i + 1].reshape(one)
            with np.errstate(all="ignore"):
                pred = np.asarray(law.formula(**kw), dtype=float)
                if pred.shape != full_shape:
                    pred = np.broadcast_to(pred, full_shape)
                r = pred.reshape(block, m)
                if log:
                    r = np.log(r, dtype=np.float32)
                    r -= target
                else:  # the difference in double: its rounding then scales with r, not y
                    r = (r - problem.target).astype(np.float32)
                psi = np.clip(r, -delta, delta)
                r -= 0.5 * psi
                r *= psi
                out[b * block : (b + 1) * block] = r @ w
    except Exception:  # a formula that does not broadcast per parameter axis
        return None
    return out


@functools.lru_cache(maxsize=16)
def _check_rows(Gc: int) -> np.ndarray:
    """The grid starts whose broadcast objective is checked against a plain evaluation:
    the first, the last and 6 drawn with a fixed seed."""
    rng = np.random.default_rng(0)
    out = np.unique(np.r_[0, Gc - 1, rng.integers(0, Gc, 6)])
    out.flags.writeable = False
    return out


def screen_objective(problem: Problem, z0: np.ndarray, exact_best: int = 0) -> np.ndarray:
    """Objective of every start (G, P) on `problem` (a small row subsample), batched.

    A Cartesian grid is scored with single-precision residuals (`_grid_objective`), whose
    error (at most 3e-7 of the objective measured on Hoffmann's grid) can reorder starts
    that differ by less: neighbours at the 32nd place differ by ~1e-8. So the `exact_best`
    smallest values, and every value that within the rounding bound (`_single_error`) may
    be as small, are recomputed in double: the `exact_best` smallest are then exactly those
    double precision finds (ties aside, and given the bound)."""
    G = z0.shape[0]
    single = problem.gid is None and exact_best < G and _single_ok(problem)
    cart = _cartesian(z0) if single else None
    if cart is None:  # (every start wanted exact: double from the start)
        return problem.value(z0)
    axes, Gc = cart
    f = _grid_objective(problem, axes)
    if f is None:
        return problem.value(z0)
    f = np.where(np.isfinite(f), f, np.inf)
    if Gc < G:
        f = np.concatenate([f, problem.value(z0[Gc:])])
    near = np.zeros(0, dtype=np.int64)
    if exact_best > 0:
        t = np.partition(f, exact_best - 1)[exact_best - 1]
        # every start whose double value may lie at or below the k-th one's (t infinite:
        # every start)
        with np.errstate(invalid="ignore"):
            # not "<=": a single-precision infinity (inf - inf) is recomputed too
            near = np.flatnonzero(~(f - _single_error(problem, f) > t + _single_error(problem, t)))
    # One double evaluation for the check rows and the near ones (a call saved).
    check = _check_rows(Gc)
    exact = problem.value(z0[np.concatenate([check, near])])
    plain = exact[: check.size]
    fc = f[check]
    # Trust the broadcast evaluation only where it matches the plain one: within the
    # single-precision bound; a formula that does not broadcast per axis is off by far more.
    with np.errstate(invalid="ignore"):
        close = (fc == plain) | (np.abs(fc - plain) <= _single_error(problem, plain))
    if not np.all(close | (np.isnan(fc) & np.isnan(plain))):
        return problem.value(z0)
    f[near] = exact[check.size :]
    return f


# Metrics (their log in log space) and weights up to this size leave float32 (max 3.4e38,
# smallest normal 1.2e-38) many orders of magnitude of room.
SINGLE_LOG_RANGE, SINGLE_RANGE = 60.0, 1e30


def _single_ok(problem: Problem) -> bool:
    """Whether the metric and weights sit well inside float32's range (else: double)."""
    t = np.abs(problem.target)
    limit = SINGLE_LOG_RANGE if problem.space == "log" else SINGLE_RANGE
    w = problem.w
    return bool(t.size and t.max() <= limit and w.max() <= SINGLE_RANGE and w.min() >= 0)


def _single_error(problem: Problem, f):
    """A bound on |objective with single-precision residuals - double| at objective f (on
    the screening rows), 4x the rounding analysis: a residual r with target t is off by
    eps (0.5 + 1.5 |t| + 1.5 |r|) (the double difference rounded once in identity space:
    eps |r| / 2); a row's loss by |psi| times that plus 3 eps of itself, with
    |psi| <= sqrt(2 loss); summed over the rows by Cauchy-Schwarz, plus the float32 sum
    (m eps of it). No delta appears, so least squares (delta = inf) is bounded too."""
    eps = 4.0 * float(np.finfo(np.float32).eps)
    W = float(np.abs(problem.w).sum())
    T = float(np.abs(problem.target).max()) if problem.space == "log" else 0.0
    f = np.abs(f)
    return eps * ((1.0 + 2.0 * T) * np.sqrt(2.0 * W * f) + (8.0 + problem.w.size) * f)


def multistart(
    law: Law,
    cols: Mapping[str, np.ndarray],
    y: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    *,
    delta: float,
    strategy: str = "screen",
    n_warm: int = 32,
    warm_iter: int = WARM_ITER,
    n_refine: int = 8,
    screen_rows: int = 48,
    max_iter: int = 200,
    prune_ratio: float = 1.5,
    subsample: bool = True,
    problem: Problem | None = None,
) -> SearchResult:
    """Run the staged search from `starts` (public units, (G, P)); see module docstring.

    subsample=False makes warm-up and refinement use all rows however long the table
    (the reference the subsampled search is tested against)."""
    G, P = starts.shape
    lo, hi = law.internal_bounds()
    z0, z0_public = internal_starts(law, starts, lo, hi)
    full = problem if problem is not None else Problem(law, cols, y, w, delta)
    n = full.n
    status = np.empty(G, dtype=object)
    status[:] = STATUS_SCREENED  # np.full with an object: 0.35 ms at 4,500 starts, this 0.04
    ends = z0.copy()
    obj = np.full(G, np.nan)
    conv = np.zeros(G, dtype=bool)
    iters = np.zeros(G, dtype=int)
    search_rows, check = n, (True, float("nan"), True)

    warm = None
    if strategy == "full" or G <= n_refine:
        screen = np.full(G, np.nan)
        chosen = np.arange(G)
        zc = z0
        work = full
        near0 = None  # raw starts: Newton steps only once a step improves < 10%
    elif strategy == "screen":
        table_y, table_w = (np.asarray(y, dtype=float), np.asarray(w, dtype=float))
        table_cols = cols
        if problem is not None:
            table_y, table_w = full._table_y_w()
            table_cols = full._table_cols()
        rows = _subsample(n, screen_rows)
        sub_cols = {k: v[:, rows] for k, v in table_cols.items()}
        scr = Problem(law, sub_cols, table_y[rows], table_w[rows], delta, aggregate=False)
        screen = screen_objective(scr, z0, max(n_warm, SCREEN_EXACT)) * (n / rows.size)
        top = smallest(screen, min(n_warm, G))
        warm = top[np.isfinite(screen[top])]
        if warm.size == 0:
            warm = top
        work = full
        if subsample and n > SEARCH_ROWS:
            work = full.subset(_subsample(n, SEARCH_ROWS))
            search_rows = work.n
        # Least-squares warm-up: delta far above any residual makes the Huber loss quadratic.
        wr = levenberg_marquardt(
            work, z0[warm], delta=1e6, lower=lo, upper=hi, max_iter=warm_iter, newton=False
        )
        f_warm = work.value(wr.z)
        ends[warm], iters[warm] = wr.z, wr.n_iter
        if work is full:
            obj[warm] = f_warm
        status[warm] = STATUS_WARMED
        keep = np.argsort(f_warm, kind="stable")[:n_refine]
        chosen = warm[keep]
        zc = wr.z[keep]
        near0 = np.arange(zc.shape[0]) < REFINE_NEWTON_FIRST  # zc: best warmed first
    else:
        raise ValueError(f"strategy must be 'screen' or 'full', got {strategy!r}")

    res = levenberg_marquardt(
        work,
        zc,
        lower=lo,
        upper=hi,
        max_iter=max_iter,
        prune_ratio=prune_ratio,
        near0=near0,
    )
    ends[chosen] = res.z
    iters[chosen] += res.n_iter
    if work is full:
        obj[chosen] = res.f
        conv[chosen] = res.converged
        status[chosen] = np.where(res.pruned, STATUS_PRUNED, STATUS_REFINED)
    else:
        status[chosen] = np.where(res.pruned, STATUS_PRUNED, STATUS_SUBSAMPLE)
        check = _refine_on_all_rows(
            full, res, chosen, ends, obj, conv, iters, status, lo, hi, max_iter
        )
    # The best start is the lowest objective, converged or not: a non-converged best is
    # reported as such by FitResult, never silently swapped for a worse converged one.
    best = int(np.argmin(np.where(np.isfinite(obj), obj, np.inf)))
    return SearchResult(
        starts=starts,
        # the starts that moved: every warmed or refined one (comparing the 4,500 status
        # strings took 70 us)
        ends=_public_ends(law, ends, z0_public, _rows_mask(G, chosen, warm)),
        objective=obj,
        screen_objective=screen,
        converged=conv,
        status=status,
        n_iter=iters,
        best=best,
        search_rows=search_rows,
        rows=n,
        subsample_agrees=check[0],
        subsample_objective=check[1],
        subsample_rank_agrees=check[2],
    )


def distinct_candidates(res) -> list[int]:
    """The best N_CHECK distinct optima of a subsample search, best first: finite, not
    pruned, and not the same optimum reached from another start (the audit's folds and the
    single fit choose them alike)."""
    f_sub = np.where(np.isfinite(res.f) & ~res.pruned, res.f, np.inf)
    order = np.argsort(f_sub, kind="stable")
    cand: list[int] = []
    for i in order:
        if not np.isfinite(f_sub[i]):
            break
        zi = res.z[i]
        if any(np.allclose(zi, res.z[j], rtol=SAME_OPTIMUM, atol=SAME_OPTIMUM) for j in cand):
            continue
        cand.append(int(i))
        if len(cand) == N_CHECK:
            break
    return cand or [int(order[0])]  # nothing finite: the first start, to be re-scored


def _refine_on_all_rows(full, res, chosen, ends, obj, conv, iters, status, lo, hi, max_iter):
    """Steps 4-5: re-score the distinct subsample optima on all rows, refine the best there.
    Returns (agrees, all-rows objective at the subsample's best, rank agrees): see the
    module docstring."""
    cand = distinct_candidates(res)
    cand_arr = np.array(cand)
    f_all = full.value(res.z[cand_arr])
    obj[chosen[cand_arr]] = f_all
    best_all = float(np.min(f_all))
    go = cand_arr[f_all <= best_all * (1 + FULL_MARGIN) + 1e-300]
    if not np.isfinite(best_all):
        go = cand_arr[:1]
    z_go, staged_iter, H_stage = staged_refinement(full, res.z[go], lo, hi, max_iter)
    fr = all_rows_refinement(full, z_go, H_stage, lo, hi, max_iter)
    idx = chosen[go]
    ends[idx] = fr.z
    obj[idx] = fr.f
    conv[idx] = fr.converged
    iters[idx] += staged_iter + fr.n_iter
    status[idx] = STATUS_REFINED
    rank_ok = bool(np.argmin(f_all) == 0)
    f0, f_end = float(f_all[0]), float(np.min(fr.f))
    with np.errstate(invalid="ignore"):
        stays = not (f_end < f0 * (1 - BASIN_GAP))  # NaN/inf: nothing to compare, no claim
    return rank_ok and stays, f0, rank_ok


def all_rows_refinement(
    full: Problem,
    z: np.ndarray,
    H_stage: np.ndarray | None,
    lo: np.ndarray,
    hi: np.ndarray,
    max_iter: int,
) -> LMResult:
    """The Newton refinement on all rows from a subsample's optimum z (K, P).

    With the last stage's Newton Hessian (`staged_refinement`), the first STAGE_HESSIAN_ITER
    iterations keep it fixed and evaluate first derivatives only: at 240,000 rows 16 ms per
    evaluation instead of 31. The stage's Hessian is off by its sampling error (~2.5%: the
    Huber curvature rests on the ~8% of rows inside delta), so each step shrinks the
    gradient ~40x rather than quadratically: 4 first-order evaluations to the same 1e-10
    tolerance where the exact Hessian took 3 second-order ones (64 ms against 95). Starts
    not converged by then go on with the exact Hessian."""

    def newton(z0: np.ndarray, iters: int, H: np.ndarray | None = None):
        return levenberg_marquardt(
            full, z0, lower=lo, upper=hi, max_iter=iters, newton_below=np.inf,
            lam0=NEAR_LAMBDA, hessian=H,
        )  # fmt: skip

    if H_stage is None:
        return newton(z, max_iter)
    fr = newton(z, min(STAGE_HESSIAN_ITER, max_iter), H_stage)
    rest = np.flatnonzero(~fr.converged & np.isfinite(fr.f))
    if rest.size and max_iter > STAGE_HESSIAN_ITER:
        ex = newton(fr.z[rest], max_iter - STAGE_HESSIAN_ITER)
        fr.z[rest], fr.f[rest], fr.converged[rest] = ex.z, ex.f, ex.converged
        fr.n_iter[rest] += ex.n_iter
        fr.grad_norm[rest] = ex.grad_norm
    return fr


def staged_refinement(
    full: Problem, z: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_iter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """z (K, P) refined on evenly spread row subsamples of SEARCH_ROWS x STAGE_FACTOR^k rows
    (each at most half of `full`), smallest first; returns (z, iterations per start, the
    last stage's Newton Hessian at z scaled to all rows by the weight sums, or None when no
    stage ran, a start has none, or a start's stage did not converge).

    Why: the Newton refinement on all rows costs one evaluation of every row per iteration,
    and from the SEARCH_ROWS subsample's optimum it took 5 of them at 240,000 rows. The
    optima of a larger subsample and of all rows differ by sampling noise only, so from
    there the all-rows refinement converges in about 2, while the stages cost a fraction
    of one (each is STAGE_FACTOR x smaller than the next). A start whose stage ends
    non-finite keeps its previous point."""
    iters = np.zeros(z.shape[0], dtype=int)
    m = SEARCH_ROWS * STAGE_FACTOR
    H = None
    while 2 * m <= full.n:
        part = full.subset(_subsample(full.n, m))
        r = levenberg_marquardt(
            part, z, lower=lo, upper=hi, max_iter=max_iter, newton_below=np.inf, lam0=NEAR_LAMBDA
        )
        ok = np.isfinite(r.f)
        z = np.where(ok[:, None], r.z, z)
        H = None
        if r.hessian is not None and ok.all() and r.converged.all():
            H = r.hessian * (float(full.w.sum()) / float(part.w.sum()))
        iters += r.n_iter
        m *= STAGE_FACTOR
    return z, iters, H


def screening_diagnostics(res: SearchResult) -> list[Diagnostic]:
    """A warning when the long-table search's row subsample and all rows disagree on the
    basin: the screening and warm-up saw only the subsample, so a basin better on all rows
    may never have been refined."""
    if res.subsample_agrees or res.search_rows >= res.rows:
        return []
    f_end = float(res.objective[res.best])
    if res.subsample_rank_agrees:
        how = (
            f"refinement on all rows moved its optimum out of its basin (all-rows objective "
            f"{res.subsample_objective:.6g} -> {f_end:.6g}, "
            f"{1 - f_end / res.subsample_objective:.1%} lower)"
        )
    else:
        how = (
            f"another of its optima is better on all rows (all-rows objective "
            f"{res.subsample_objective:.6g} for the subsample's best, {f_end:.6g} chosen)"
        )
    return [
        Diagnostic(
            SUBSAMPLE_CODE,
            "warning",
            f"the search screened and refined on {res.search_rows:,} of {res.rows:,} rows, and "
            f"that subsample chose a different basin than all rows: {how}. A basin better "
            "on all rows may have been screened out; the rows are not alike across the "
            "table (sort order, groups, mixed runs?). Check with strategy='full' (--strategy "
            "full), which refines every start on all rows",
        )
    ]
