"""`fit()`: table + law -> FitResult. Glue between validation, the search and the result."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..diagnostics import has_errors
from ..errors import BoundsError, OptionError
from ..laws import get_law
from ..laws.autodiff import PositiveColumn
from ..laws.base import Law
from .diagnose import data_diagnostics, fit_diagnostics
from .prepare import Prepared, apply_where, prepare, source_of, validate_prepared
from .result import FitResult
from .search import SearchResult, _subsample, multistart, screening_diagnostics


def _as_columns(x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(1, n) arrays; strictly positive ones cache their log (fast powers)."""
    return {
        k: PositiveColumn(v[None, :]) if np.all(v > 0) else np.asarray(v, dtype=float)[None, :]
        for k, v in x.items()
    }


def build_starts(
    law: Law,
    grid: Mapping[str, Sequence[float]] | np.ndarray | None = None,
    n_random_starts: int = 0,
    seed: int = 0,
) -> np.ndarray:
    """Start points (G, P) in public units: the law's grid (or a user grid) plus random starts
    drawn uniformly, in internal coordinates, over the span of the grid.

    The multi-start search begins from every row, so a fit does not hang on one guess.

    Parameters
    ----------
    law : Law
        The law whose parameters the starts are for.
    grid : mapping of str to sequence of float, or ndarray, optional
        Per-parameter values replacing the law's own grid (their product is taken), or a
        ready (G, P) array of start points in the law's parameter order.
    n_random_starts : int, default 0
        Random starts added, drawn over the grid's span widened by a quarter each side and
        clipped to the bounds.
    seed : int, default 0
        Seed of the random starts.

    Returns
    -------
    ndarray
        Shape (G, P): one start per row, in public units.
    """
    if isinstance(grid, np.ndarray):
        starts = np.atleast_2d(np.asarray(grid, dtype=float))
        if starts.shape[1] != law.n_params:
            raise BoundsError(
                f"a start array for law '{law.name}' needs {law.n_params} columns "
                f"({', '.join(law.param_names)}), got {starts.shape[1]}"
            )
    else:
        if grid:
            law = law.with_grid(grid)
        starts = law.grid_points()
    if n_random_starts:
        rng = np.random.default_rng(seed)
        zg = law.to_internal(law.grid_points())
        lo, hi = zg.min(axis=0), zg.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        z = lo - 0.25 * span + 1.5 * span * rng.random((n_random_starts, law.n_params))
        blo, bhi = law.internal_bounds()
        starts = np.vstack([starts, law.to_public(np.clip(z, blo, bhi))])
    return starts


DIVERGED = 1e30  # a parameter without an upper bound past this has run off to infinity
# ... past it by 0.1% (on the log scale), not by rounding: a law fitted to exact data with
# A = 1e30 ends at 1e30 x (1 +- 3e-14)
PAST_DIVERGED = DIVERGED * float(np.exp(1e-3))


# A log-scale parameter with lower bound 0 is on that bound when setting it to 0 moves no
# prediction (in the residual space) by more than this share: no metric is measured to one
# part in a million, so the data cannot tell the value from 0.
ZERO_RTOL = 1e-6
BELOW_START = 1e-3  # log-scale margin: 'below every start' means below by 0.1% or more
ZERO_ROWS = 4096  # the zero test evaluates the law on at most this many evenly spread rows


def _bound_warnings(
    law: Law,
    params: np.ndarray,
    x: Mapping[str, np.ndarray] | None = None,
    lowest_start: np.ndarray | None = None,
) -> list[str]:
    """Parameters the optimum pressed onto a bound, or that ran off to infinity.

    The bounded search approaches a finite bound only asymptotically: on a flat accuracy
    ladder (issue 20's old testbed table) Gadre's loss -> error law ended at gamma = 49.9997
    of its bound 50 with k = 1.5e80 (a step function), and a tolerance of 1e-8 called that
    clean. A parameter within 1e-5 of its range from a finite bound is on it; one with no
    upper bound that grew past 1e30 has diverged (no law in the catalog needs such values;
    the largest published ones, Kaplan's D_c ~ 5e13, are far below).

    A log-scale parameter (optimised as log(v)) has its bounds on the log scale: its lower
    bound 0 lies infinitely far away, so "within 1e-8 of 0" (or below an absolute 1e-10)
    is a statement about units, not about the fit: transfer's k = 1.05e-15 and bleu_loglaw's
    A = 1.4e-17, recovered exactly, were flagged. Such a parameter is on its bound 0 when
    the search drove it below every start (`lowest_start`, public units; by BELOW_START)
    and the fit data cannot tell it from 0 (`_zero_equivalent`, with the fit data `x`;
    without them only an exact 0 is); a positive bound is compared relatively, on the log
    scale. Both are needed: Chinchilla's B = 148 at a single token count with beta = 1.5
    is as invisible as E = 1e-65, but it sits inside its grid because beta killed its
    term, not because the data want B < 0 (the Jacobian check names it not identified)."""
    out = []
    below = None
    if lowest_start is not None:
        # below by a real step, not by the rounding-level drift a term the data cannot see
        # takes along its flat direction (Chinchilla's B = 1 - 3e-7 from its grid corner 1);
        # only those are evaluated at 0
        floor = lowest_start * np.exp(-BELOW_START)
        below = {j for j in range(len(params)) if params[j] < floor[j]}
    zero_like = _zero_equivalent(law, params, x, below)
    for j, p in enumerate(law.parameters):
        v = params[j]
        if p.log:
            if _log_at_bound(p.lower, p.upper, v) or j in zero_like:
                out.append(p.name)
            elif not np.isfinite(p.upper) and abs(v) > PAST_DIVERGED:
                out.append(p.name)  # ran off towards +inf
            continue
        span = p.upper - p.lower if np.isfinite(p.upper) and np.isfinite(p.lower) else np.inf
        rel = 1e-5 * span if np.isfinite(span) else 0.0
        tol_lo = max(1e-8 * (1.0 + abs(p.lower)), rel) if np.isfinite(p.lower) else 0.0
        tol_hi = max(1e-8 * (1.0 + abs(p.upper)), rel) if np.isfinite(p.upper) else 0.0
        if np.isfinite(p.lower) and v <= p.lower + tol_lo:
            out.append(p.name)
        elif np.isfinite(p.upper) and v >= p.upper - tol_hi:
            out.append(p.name)
        elif not np.isfinite(p.upper) and abs(v) > PAST_DIVERGED:
            out.append(p.name)  # ran off towards +inf
    return out


def _log_at_bound(lower: float, upper: float, v: float) -> bool:
    """A log-scale value on a positive lower bound or a finite upper bound: within 1e-5 of
    the log-range (1e-8 relative when the range is unbounded). The bound 0 is not tested
    here (it is infinitely far on the log scale) except for an exact 0."""
    if v <= 0.0:
        return True
    lo = np.log(lower) if lower > 0 else -np.inf
    hi = np.log(upper) if np.isfinite(upper) else np.inf
    span = hi - lo
    tol = max(1e-8, 1e-5 * span) if np.isfinite(span) else 1e-8
    lv = np.log(v)
    return bool((np.isfinite(lo) and lv <= lo + tol) or (np.isfinite(hi) and lv >= hi - tol))


def _zero_equivalent(
    law: Law,
    params: np.ndarray,
    x: Mapping[str, np.ndarray] | None,
    only: set[int] | None = None,
) -> set[int]:
    """Indices of log-scale parameters with lower bound 0 that could be 0 without changing
    any prediction on the fit data by more than ZERO_RTOL (relative in log space, of the
    largest prediction in identity space): E -> 1e-65 in a Chinchilla fit whose data want
    E < 0. A scale constant such as transfer's k (a factor of every prediction) fails this
    however small it is. One batched evaluation on at most ZERO_ROWS rows, of the
    parameters in `only` (all when None)."""
    cand = [
        j
        for j, p in enumerate(law.parameters)
        if p.log and p.lower == 0 and params[j] > 0 and (only is None or j in only)
    ]
    if x is None or not cand or not law.variables:
        return set()
    n = np.asarray(x[law.variables[0]]).size
    rows = _subsample(n, ZERO_ROWS)
    xs = {v: np.asarray(x[v], dtype=float)[rows] for v in law.variables}
    theta = np.repeat(np.asarray(params, dtype=float)[None, :], len(cand) + 1, axis=0)
    for i, j in enumerate(cand):
        theta[i + 1, j] = 0.0
    with np.errstate(all="ignore"):
        pred = law.evaluate(theta, xs)
        if law.space == "log":
            diff = np.abs(np.log(pred[1:]) - np.log(pred[0]))
            tol = ZERO_RTOL
        else:
            diff = np.abs(pred[1:] - pred[0])
            tol = ZERO_RTOL * float(np.max(np.abs(pred[0]))) if pred.shape[1] else 0.0
        ok = np.all(np.isfinite(pred[0])) & np.all(np.isfinite(diff) & (diff <= tol), axis=1)
    return {j for j, z in zip(cand, ok, strict=True) if z}


def _starts_table(res: SearchResult, names: Sequence[str]) -> pd.DataFrame:
    """Every start: where it began and ended, its objective and status. Built from one dict
    of columns: inserting them one by one cost 2.4 ms of a 30 ms fit."""
    cols: dict[str, np.ndarray] = {f"start_{n}": res.starts[:, j] for j, n in enumerate(names)}
    cols.update({n: res.ends[:, j] for j, n in enumerate(names)})
    cols.update(
        objective=res.objective,
        screen_objective=res.screen_objective,
        converged=res.converged,
        status=res.status,
        n_iter=res.n_iter,
    )
    return pd.DataFrame(cols, copy=False)


def _stop_reason(res: SearchResult, max_iter: int) -> str:
    i = res.best
    if not np.isfinite(res.objective[i]):
        return "no start gave a finite objective"
    if res.converged[i]:
        return f"converged after {int(res.n_iter[i])} iterations (start status: {res.status[i]})"
    return f"stopped at the iteration limit ({max_iter}) without converging"


MAX_RANDOM_STARTS = 10_000_000


def _check_options(
    delta: float, n_random_starts: int, strategy: str, n_refine: int, seed: int, max_iter: int
) -> None:
    """Option ranges, as named errors (the CLI only parses them)."""

    def whole(v: object) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not (isinstance(delta, (int, float, np.number)) and delta > 0):  # inf: least squares
        raise OptionError(f"delta (the Huber threshold) must be a number > 0, got {delta}")
    if not whole(n_random_starts) or n_random_starts < 0:
        raise OptionError(f"n_random_starts must be a whole number >= 0, got {n_random_starts}")
    if n_random_starts > MAX_RANDOM_STARTS:  # 1e12 starts was a numpy MemoryError (186 GiB)
        raise OptionError(
            f"n_random_starts {n_random_starts:g} would need about "
            f"{n_random_starts * 8 * 8 / 1e9:.3g} GB for the starts alone; at most "
            f"{MAX_RANDOM_STARTS:,} (the default grid plus a few thousand random starts find "
            "every basin we have seen)"
        )
    if strategy not in ("screen", "full"):
        raise OptionError(f"strategy must be 'screen' or 'full', got {strategy!r}")
    if not whole(n_refine) or n_refine < 1:
        raise OptionError(f"n_refine must be a whole number >= 1, got {n_refine}")
    if not whole(seed) or seed < 0:
        raise OptionError(f"seed must be a whole number >= 0, got {seed}")
    if not whole(max_iter) or max_iter < 1:
        raise OptionError(f"max_iter must be a whole number >= 1, got {max_iter}")


def fit(
    data: pd.DataFrame | str | Path,
    law: str | Law = "chinchilla",
    *,
    metric: str | None = None,
    mapping: Mapping[str, str] | None = None,
    where: str | None = None,
    delta: float | None = None,
    space: str | None = None,
    weights: str | np.ndarray | None = None,
    grid: Mapping[str, Sequence[float]] | np.ndarray | None = None,
    n_random_starts: int = 0,
    strategy: str = "screen",
    n_refine: int = 8,
    seed: int = 0,
    max_iter: int = 200,
    preset: str | None = None,
    fixed: Mapping[str, float] | None = None,
) -> FitResult:
    """Fit `law` to a table of runs by multi-start robust (Huber) regression.

    Parameters
    ----------
    data : DataFrame, str or path
        A DataFrame, or a path to CSV/TSV/Parquet/JSONL.
    law : str or Law, default 'chinchilla'
        A catalog name (`scalinglab laws`) or a `Law`.
    metric : str, optional
        The column to fit (default: the law's metric).
    mapping : mapping of str to str, optional
        Law variable -> column, e.g. {"x": "n_params"}.
    where : str, optional
        A row query (`scalinglab.query`: column comparisons, and/or), rows to fit on.
    delta : float, optional
        Huber threshold in the law's residual space (inf: least squares); default 1e-3
        (Hoffmann et al.), or the preset's.
    space : {"log", "identity"}, optional
        The residual space (default the law's own: log for losses); with a preset that
        sets another, an OptionError.
    weights : str or ndarray, optional
        A column of per-row weights, or one weight per row (finite, >= 0); default 1 each.
        Not the metric itself: weights must be chosen before the outcome (a count of seeds
        or eval items).
    grid : mapping of str to sequence of float, or ndarray, optional
        Start values: per parameter (replacing the law's grid for it; the product of the
        grids is searched), or a (G, P) array of start points in public units.
    n_random_starts : int, default 0
        Random starts added to the grid, drawn uniformly (in the optimiser's coordinates)
        over a span 1.5 times the grid's, for objectives with basins between grid points.
    strategy : str, default 'screen'
        "screen" (fast staged search) or "full" (the optimiser from every start on all
        rows; a start still above 1.5x the best converged objective is stopped as
        "pruned").
    n_refine : int, default 8
        How many of the best screened starts the search optimises fully.
    seed : int, default 0
        Seed of the random starts.
    max_iter : int, default 200
        Iteration limit of each local optimisation (a fit that reaches it says so in
        `stop_reason_`).
    preset : str, optional
        "paper" for the papers' own procedure (least squares on raw values), or
        "default"; applied here, so every caller gets the same objective. A `delta` or
        `space` that contradicts the preset is an OptionError (it was silently overridden).
    fixed : mapping of str to float, optional
        Parameters held at a value (lmfit's ``vary=False``), e.g. ``{"beta": 0.12}``;
        the same as fitting ``law.fix(**fixed)``: fewer free parameters, reported as fixed.

    Returns
    -------
    FitResult, with `diagnostics_` saying whether the optimum means anything.

    Examples
    --------
    >>> import scalinglab as sl
    >>> res = sl.fit("runs.csv", law="chinchilla")            # doctest: +SKIP
    >>> res.predict({"n_params": 70e9, "tokens": 1.4e12})      # doctest: +SKIP
    """
    if isinstance(data, (str, Path)):
        from ..io import read_table
        from ..schema import validation_deferred

        with validation_deferred():  # --where first, then only the columns used are checked
            data = read_table(data)
    law = get_law(law)
    if fixed:
        law = law.fix(**dict(fixed))
    law, delta = objective_settings(law, delta, space, preset)
    _check_options(delta, n_random_starts, strategy, n_refine, seed, max_iter)
    df = apply_where(data, where)
    prep = prepare(df, law, metric=metric, mapping=mapping, weights=weights)
    validate_prepared(df, prep)
    starts = build_starts(law.grid_for(prep.x, prep.y), grid, n_random_starts, seed)
    cols = _as_columns(prep.x)
    t0 = time.perf_counter()
    res = multistart(
        law,
        cols,
        prep.y,
        prep.weights,
        starts,
        delta=delta,
        strategy=strategy,
        n_refine=n_refine,
        max_iter=max_iter,
    )
    elapsed = time.perf_counter() - t0
    return fit_result(law, prep, df, res, cols, delta, max_iter, elapsed)


def objective_settings(
    law: Law, delta: float | None, space: str | None, preset: str | None
) -> tuple[Law, float]:
    """(law in its residual space, Huber delta) from fit()'s objective options: `space`
    and `delta` as given, else the preset's, else the law's own space and 1e-3. A value
    given explicitly that the preset sets otherwise is an OptionError, never silently
    replaced (fit(preset="paper", delta=0.5) fitted least squares)."""
    from dataclasses import replace

    from .presets import apply_preset

    if space is not None:
        if space not in ("log", "identity"):
            raise OptionError(f"space must be 'log' or 'identity', not {space!r}")
        law = replace(law, space="log" if space == "log" else "identity")
    if preset is not None:
        preset_law, kw = apply_preset(law, preset)
        if space is not None and preset_law.space != space:
            raise OptionError(
                f"preset {preset!r} fits in {preset_law.space} space; space={space!r} "
                "contradicts it (give one or the other)"
            )
        if delta is not None and "delta" in kw and delta != kw["delta"]:
            raise OptionError(
                f"preset {preset!r} sets the Huber delta to {kw['delta']:g}; delta={delta:g} "
                "contradicts it (give one or the other)"
            )
        law = preset_law
        delta = kw.get("delta", delta)
    return law, 1e-3 if delta is None else delta


def fit_result(
    law: Law,
    prep: Prepared,
    df: pd.DataFrame,
    res: SearchResult,
    cols: Mapping[str, np.ndarray],
    delta: float,
    max_iter: int,
    elapsed: float,
) -> FitResult:
    """The FitResult of one search on one prepared table: the best start, its diagnostics
    (data, fit, screening) and the table of every start. Shared by `fit` and the batched
    fold fits (`fit_folds`), so a fold's result is built exactly as a separate fit's."""
    best = res.ends[res.best]
    names = law.param_names
    # column minima one column at a time: (4500, 5).min(axis=0) took 0.17 ms, this 0.04
    grid_min = np.array([col.min() for col in res.starts.T])
    at_bounds = _bound_warnings(law, best, prep.x, grid_min)
    converged = bool(res.converged[res.best])
    diagnostics = (
        data_diagnostics(law, prep.x, prep.y, prep.columns)
        + fit_diagnostics(
            law,
            best,
            cols,
            prep.y,
            prep.weights,
            objective=float(res.objective[res.best]),
            converged=converged,
            at_bounds=at_bounds,
            max_iter=max_iter,
        )
        + screening_diagnostics(res)
    )
    return FitResult(
        law=law,
        params_={n: float(v) for n, v in zip(names, best, strict=True)},
        objective_=float(res.objective[res.best]),
        converged_=converged and not has_errors(diagnostics),
        n_points_=int(prep.y.size),
        columns_=prep.columns,
        metric_=prep.metric,
        delta_=float(delta),
        starts_=lambda: _starts_table(res, names),  # type: ignore[arg-type]
        warnings_=[d.message for d in diagnostics if d.severity != "info"],
        at_bounds_=at_bounds,
        diagnostics_=diagnostics,
        stop_reason_=_stop_reason(res, max_iter),
        n_iter_=int(res.n_iter[res.best]),
        fit_time_s_=elapsed,
        data_={"x": prep.x, "y": prep.y, "weights": prep.weights},
        source_=source_of(df),
        frame_=df,
    )
