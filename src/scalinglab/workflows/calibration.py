"""Intervals that widen with extrapolation at the rate the data's own history shows.

A bootstrap interval measures how much the fitted curve moves when the runs are resampled.
It does not measure how wrong the law's *form* is beyond the data, and that error grows with
distance: on real ladders the 90% bootstrap intervals held the truth in about 60% of cases.
So the interval here has two parts, taken side by side (the wider wins on each side):

1. the bootstrap's own spread (parameter uncertainty; runs resampled whole where the caller
   gives groups), and
2. a conformal-style term learned from the fit set itself: leave-largest-out folds along a
   scale axis and along compute give held-out residuals r_i at distances d_i (orders of
   magnitude beyond the fold's fitted range). The half-width is h(d) = s + b·max(d, d_min)
   beyond the data (s alone inside it), with s the local conformal quantile of |residuals|
   of the fitted points nearest the query (inflated by sqrt(n / dof)) and b the smallest
   slope under which 90% of the held-out rows at least d_min beyond their fold's data lie
   within that fold's s + b·d. Nearer rows are the scatter's regime and do not set b.

A chained forecast adds step 2's own drift where the target's loss lies below every loss
the fitted runs reached (learn_chain_extrapolation), and combines the loss interval, the
step-2 bootstrap and the step-2 scatter in quadrature on the logit scale of a bounded
metric (propagate).

Where the fit set has too few scales for two folds, only part 1 is used and the result says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import ScalingLabError
from ..fitting import FitResult, fit
from ..laws.base import Law
from ..results import register

# d_min (orders of magnitude): a held-out row nearer than this to its fold's data tells the
# scatter, not a slope (an excess of 0.02 at 0.05 decades would read as 0.4 per decade),
# and a query beyond the data but nearer than this gets the width at d_min.
MIN_DISTANCE = 0.25


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ceil((n + 1) level)-th smallest score (finite-sample conformal quantile); the
    largest score when n is too small for that rank."""
    s = np.sort(np.asarray(scores, dtype=float)[np.isfinite(scores)])
    if s.size == 0:
        return math.nan
    k = math.ceil((s.size + 1) * level)
    return float(s[min(k, s.size) - 1])


@dataclass
class ExtrapolationTerm:
    """h(d) = a + b·d in the law's residual space, learned from leave-largest-out folds."""

    a: float
    b: float
    level: float
    axis: str
    n_folds: int
    n_heldout: int
    space: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b_per_order_of_magnitude": self.b,
            "level": self.level,
            "axis": self.axis,
            "n_folds": self.n_folds,
            "n_heldout": self.n_heldout,
            "space": self.space,
        }


register(
    ExtrapolationTerm,
    lambda t: t.to_dict(),
    lambda d: ExtrapolationTerm(
        d["a"], d["b_per_order_of_magnitude"], d["level"], d["axis"], d["n_folds"],
        d["n_heldout"], d["space"],
    ),
)  # fmt: skip


def distance(res: FitResult, inputs: Mapping[str, Any]) -> np.ndarray:
    """Orders of magnitude (or fitted spans) beyond the fit's data, the largest over the
    law's variables, per query row."""
    ext = res.extrapolation(inputs)
    return ext.max(axis=1).to_numpy() if len(ext.columns) else np.zeros(len(ext))


def extrapolated_distance(d: np.ndarray) -> np.ndarray:
    """The distance the extrapolation term is charged at: 0 inside the data, else at least
    MIN_DISTANCE. The slope is learned only from rows that far out, so a query just past
    the edge gets the width measured there, not a linear shrink to the scatter alone that
    no fold showed (Chinchilla's held-out sizes lie 0.06-0.7 decades out)."""
    d = np.maximum(np.asarray(d, dtype=float), 0.0)
    return np.where(d > 0, np.maximum(d, MIN_DISTANCE), 0.0)


def _predicted(res: FitResult, inputs: Any) -> np.ndarray:
    """The fit's predictions as a bare array, by position: the bands below do array
    arithmetic with them, whatever index the query carried."""
    return np.asarray(res.law.evaluate(res.params_, res.law_inputs(inputs)), dtype=float)


def _space(v: np.ndarray, space: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.log(v) if space == "log" else np.asarray(v, dtype=float)


def fold_axis_values(data: pd.DataFrame, axis: str) -> np.ndarray | None:
    """The values of a fold direction: a column, or "compute" (6·N·D from n_params and
    tokens) where the table has no flops column. None when the table cannot give it."""
    if axis in data.columns:
        return data[axis].to_numpy(dtype=float)
    if axis == "compute" and {"n_params", "tokens"} <= set(data.columns):
        return 6.0 * data["n_params"].to_numpy(dtype=float) * data["tokens"].to_numpy(dtype=float)
    return None


def fold_axes(data: pd.DataFrame, axis: str) -> list[str]:
    """`axis` and, where it is a different direction, compute: a forecast usually goes
    beyond the data in size and tokens at once, and a ladder with only four model sizes has
    too few size folds to learn from, while its runs' compute budgets are all distinct."""
    axes = [axis]
    if axis not in ("flops", "compute"):
        axes.append("flops" if "flops" in data.columns else "compute")
    return [a for a in axes if fold_axis_values(data, a) is not None]


def learn_extrapolation(
    data: pd.DataFrame,
    law: Law,
    axis: str,
    *,
    level: float = 0.9,
    full_fit: FitResult | None = None,
    max_folds: int = 6,
    min_fit_scales: int = 3,
    min_train_frac: float = 0.35,
    axes: list[str] | None = None,
    **fit_kw: Any,
) -> ExtrapolationTerm | None:
    """Learn h(d) from leave-largest-out folds of `data` (the rows a forecast is fitted on)
    along `axis` and along compute (see fold_axes). A fold keeps at least `min_train_frac`
    of the rows and `min_fit_scales` distinct values along its direction: a fit on a
    handful of the smallest runs extrapolates far worse than the forecast's own fit on all
    of them, and would make every interval needlessly wide (no floor: Chinchilla's
    held-out coverage 0.84 at 3.4x the error), while folds that hold out only the top
    half see too little distance. Each held-out row at least MIN_DISTANCE beyond the fold's
    data scores (|r| - s)+ / d, with s the fold fit's local conformal scatter at that row
    (what calibrated_band adds anyway) and d its distance beyond the fold's data; b is the
    conformal quantile of the scores. Nearer rows (inside the fold's range in every
    variable, or just past its edge) do not score: a miss there is the scatter's, and no
    slope covers it. Counted as infinite slopes, they made b the largest slope of any row
    whenever over 10% of rows were such misses (a 90% scatter misses ~10% by construction;
    Chinchilla and OLMo intervals were 2.6x the error). None when no fold yields three
    scored rows."""
    directions = axes if axes is not None else fold_axes(data, axis)
    if not directions:
        return None
    full = full_fit if full_fit is not None else fit(data, law, **fit_kw)
    inflate = math.sqrt(full.n_points_ / full.dof_) if full.dof_ > 0 else math.inf
    a = conformal_quantile(np.abs(full.residuals()), level) * inflate
    scores: list[float] = []
    n_folds = 0
    seen: set[tuple[int, ...]] = set()
    for direction in directions:
        vals = fold_axis_values(data, direction)
        assert vals is not None
        scales = np.unique(vals)
        if scales.size < min_fit_scales + 1:
            continue
        cuts = np.array(
            [c for c in scales[min_fit_scales - 1 : -1] if np.mean(vals <= c) >= min_train_frac]
        )
        if cuts.size > max_folds:
            cuts = cuts[np.unique(np.linspace(0, cuts.size - 1, max_folds).round().astype(int))]
        for cut in cuts:
            keep = vals <= cut
            key = tuple(int(i) for i in np.flatnonzero(keep))
            if key in seen:  # the same split reached along another direction
                continue
            seen.add(key)
            train, test = data[keep], data[~keep]
            if len(train) <= law.n_params or test.empty:
                continue
            try:
                res = fit(train, law, **fit_kw)
            except ScalingLabError:
                continue
            if not res.converged_ or res.dof_ <= 0:
                continue
            n_folds += 1
            truth = test[res.metric_].to_numpy(dtype=float)
            space = res.law.space  # the fitted law's: a preset (fit_kw) may change it
            r = np.abs(_space(_predicted(res, test), space) - _space(truth, space))
            excess = np.maximum(r - local_scatter(res, test, level), 0.0)
            d = distance(res, test)
            far = d >= MIN_DISTANCE
            scores.extend(excess[far] / d[far])
    if n_folds < 1 or len(scores) < 3 or not math.isfinite(a):
        return None
    # the smallest b under which `level` of the scored rows lie within s + b·d
    b = conformal_quantile(np.asarray(scores), level)
    return ExtrapolationTerm(
        a, b, level, "+".join(directions), n_folds, len(scores), full.law.space
    )


def learn_chain_extrapolation(
    points: pd.DataFrame,
    law: Law,
    var: str,
    metric: str,
    run_col: str,
    run_scale: Mapping[Any, float],
    *,
    fixed: pd.DataFrame | None = None,
    level: float = 0.9,
    max_folds: int = 4,
    min_train_frac: float = 0.5,
    min_gap_share: float = 0.05,
    **fit_kw: Any,
) -> float | None:
    """Slope b2 (metric units per unit of `var`) of step 2's extrapolation error: a large
    target's loss lies below every loss the small runs reached, and a loss->accuracy law
    drifts there (OLMo ARC-Easy: the ladder's lowest bpb is 0.68, the 13B's 0.51), which
    the step-2 scatter near the fitted points cannot show and an anchor row such as the
    ladder's helper point (loss 0, accuracy 1) hides from the fitted range. Folds hold out
    the runs largest by `run_scale` (keeping `min_train_frac` of the runs), refit step 2 on
    the rest plus `fixed` rows, and score each held-out row below the fold's lowest loss by
    its excess over the fold's local scatter per unit of that gap (gaps under
    `min_gap_share` of the fold's loss span count as that share). b2 is the conformal
    quantile of the scores; None without a fold or three scored rows."""
    runs = sorted(points[run_col].dropna().unique(), key=lambda r: run_scale.get(r, math.inf))
    n_keep_min = math.ceil(min_train_frac * len(runs))
    keeps = list(range(max(n_keep_min, 2), len(runs)))
    if len(keeps) > max_folds:
        pick = np.unique(np.linspace(0, len(keeps) - 1, max_folds).round().astype(int))
        keeps = [keeps[i] for i in pick]
    scores: list[float] = []
    for k in keeps:
        small = set(runs[:k])
        inside = points[run_col].isin(small).to_numpy()
        train, test = points[inside], points[~inside]
        fit_rows = train if fixed is None else pd.concat([train, fixed], ignore_index=True)
        try:
            res = fit(fit_rows, law, mapping={law.variables[0]: var}, metric=metric, **fit_kw)
        except ScalingLabError:
            continue
        if not res.converged_ or res.dof_ <= 0:
            continue
        x = test[var].to_numpy(dtype=float)
        lo, span = float(train[var].min()), float(np.ptp(train[var].to_numpy(dtype=float)))
        gap = lo - x
        below = gap > 0
        if not below.any() or span <= 0:
            continue
        q = {law.variables[0]: x[below]}
        r = np.abs(_predicted(res, q) - test[metric].to_numpy(dtype=float)[below])
        excess = np.maximum(r - local_scatter(res, q, level), 0.0)
        scores.extend(excess / np.maximum(gap[below], min_gap_share * span))
    if len(scores) < 3:
        return None
    return conformal_quantile(np.asarray(scores), level)


def _features(values: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
    cols = []
    for v in names:
        a = np.asarray(values[v], dtype=float)
        with np.errstate(all="ignore"):
            cols.append(np.log10(a) if np.all(a > 0) else a)
    return np.column_stack(cols) if cols else np.zeros((0, 0))


def local_scatter(res: FitResult, inputs: Mapping[str, Any], level: float) -> np.ndarray:
    """Per query row: the conformal quantile of |residuals| of the fitted points nearest to
    it (in log units of the law's variables), inflated for degrees of freedom. Residuals are
    rarely homoscedastic: early checkpoints miss a law by 10% where final ones miss by 1%,
    and a target is a run like its nearest neighbours, not like the average row."""
    r = np.abs(np.asarray(res.residuals(), dtype=float))
    n = r.size
    inflate = math.sqrt(n / res.dof_) if res.dof_ > 0 else math.inf
    names = list(res.law.variables)
    q = res.law_inputs(inputs)
    m = len(next(iter(q.values()))) if q else 1
    if n == 0 or res.data_ is None:
        return np.full(m, np.nan)
    fx = _features(res.data_["x"], names)
    fq = _features(q, names)
    k = min(n, max(8, math.ceil(n / 5)))
    if fx.size == 0 or not np.all(np.isfinite(fx)) or not np.all(np.isfinite(fq)):
        return np.full(m, conformal_quantile(r, level) * inflate)
    scale = fx.std(axis=0)
    scale[scale == 0] = 1.0
    d = np.linalg.norm((fq[:, None, :] - fx[None, :, :]) / scale, axis=2)  # (m, n)
    near = np.argsort(d, axis=1)[:, :k]
    return np.array([conformal_quantile(r[idx], level) for idx in near]) * inflate


def _mad_halfwidth(draws: np.ndarray, center: np.ndarray, level: float) -> np.ndarray:
    """A `level` half-width from refits' draws (B, m) on the scale they are given in: their
    median absolute deviation scaled to a normal quantile, plus how far their median lies
    from `center` (the fit's own prediction)."""
    from scipy.stats import norm

    med = np.nanmedian(draws, axis=0)
    mad = np.nanmedian(np.abs(draws - med), axis=0) * 1.4826
    return norm.ppf(0.5 + level / 2) * mad + np.abs(med - center)


def robust_spread(res: FitResult, inputs: Mapping[str, Any], level: float) -> np.ndarray:
    """Half-width of the bootstrap's parameter uncertainty in the law's space, from the
    median absolute deviation of the refits' predictions (scaled to a normal quantile), not
    their percentiles: with few runs, a handful of resamples that keep two or three model
    sizes extrapolate wildly, and percentiles would let them set the width."""
    assert res.bootstrap_ is not None
    draws = _space(res.bootstrap_.predict_draws(res.law_inputs(inputs)), res.law.space)
    return _mad_halfwidth(draws, _space(_predicted(res, inputs), res.law.space), level)


def calibrated_band(
    res: FitResult,
    inputs: Mapping[str, Any],
    level: float,
    term: ExtrapolationTerm | None,
    bounds: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prediction, lower, upper) in the metric's units. Per side, in the law's residual
    space: max(bootstrap half-width, scatter + b·d) with a learned term (the folds' errors
    already hold parameter uncertainty, so adding both would count it twice), else
    sqrt(bootstrap half-width^2 + scatter^2). The bootstrap half-width is the parameter
    uncertainty (robust spread of the refits), scatter the local conformal residual
    quantile (a new run's own noise), b·d the extrapolation term at the query's distance
    beyond the data (at least MIN_DISTANCE, the nearest the slope was learned at; none
    inside the data). An exact fit gets NaN.

    `bounds` (a metric that cannot leave a range: an error rate, BLEU): the band is built
    on the logit scale of the position inside the range, as `propagate` builds a chained
    one. The bootstrap's spread is taken from the refits' logits, the scatter-plus-slope
    ends are mapped there (an end past the range maps to the bound), and the wider side
    wins there; the ends come back inside the range, never clipped onto it afterwards."""
    pred = _predicted(res, inputs)
    n = pred.shape[0]
    if res.exact_fit_:
        return pred, np.full(n, np.nan), np.full(n, np.nan)
    if bounds is not None:
        return pred, *_bounded_band(res, inputs, level, term, pred, bounds)
    ps = _space(pred, res.law.space)
    down = up = np.zeros(n)
    if res.bootstrap_ is not None and res.bootstrap_.usable.any():
        down = up = robust_spread(res, inputs, level)
    h = local_scatter(res, inputs, level)
    if term is not None:
        h = h + term.b * extrapolated_distance(distance(res, inputs))
    if term is None:  # no history to learn from: parameter and noise terms add up
        down, up = np.sqrt(down**2 + h**2), np.sqrt(up**2 + h**2)
    else:  # the folds' errors already hold parameter uncertainty: the wider side wins
        down, up = np.maximum(down, h), np.maximum(up, h)
    lo_s, hi_s = ps - down, ps + up
    if res.law.space == "log":
        return pred, np.exp(lo_s), np.exp(hi_s)
    return pred, lo_s, hi_s


def _bounded_band(
    res: FitResult,
    inputs: Mapping[str, Any],
    level: float,
    term: ExtrapolationTerm | None,
    pred: np.ndarray,
    bounds: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """calibrated_band's (lower, upper) for a metric in `bounds`, combined on the logit
    scale (see calibrated_band)."""
    tp = _bounded(pred, bounds)
    boot = np.zeros(pred.shape[0])
    if res.bootstrap_ is not None and res.bootstrap_.usable.any():
        draws = _bounded(res.bootstrap_.predict_draws(res.law_inputs(inputs)), bounds)
        boot = _mad_halfwidth(draws, tp, level)
    h = local_scatter(res, inputs, level)
    if term is not None:
        h = h + term.b * extrapolated_distance(distance(res, inputs))
    # A prediction past the range (a linear accuracy law beyond 1) is scattered from the
    # bound it passed, so the band still spans where the metric can lie, not one point.
    pc = np.clip(pred, *bounds)
    if res.law.space == "log":  # h is in log units: the scatter ends are p e^-h, p e^h
        with np.errstate(over="ignore"):
            s_lo, s_hi = pc * np.exp(-h), pc * np.exp(h)
    else:
        s_lo, s_hi = pc - h, pc + h
    h_down = tp - _bounded(s_lo, bounds)
    h_up = _bounded(s_hi, bounds) - tp
    if term is None:  # parameter and noise terms add up (as calibrated_band)
        down, up = np.sqrt(boot**2 + h_down**2), np.sqrt(boot**2 + h_up**2)
    else:
        down, up = np.maximum(boot, h_down), np.maximum(boot, h_up)
    return _unbounded(tp - down, bounds), _unbounded(tp + up, bounds)


# Metrics whose values cannot leave a range, by column name: their intervals are built on
# the logit scale of that range (an accuracy interval once reached 1.031).
_FRACTIONS = ("accuracy", "error", "rc_acc", "acc", "acc_norm", "exact_match")
_SCORES_0_100 = ("bleu", "chrf")


def metric_range(metric: str) -> tuple[float, float] | None:
    """The range a metric's values lie in, by its column name: (0, 1) for accuracies and
    error rates (``accuracy``, ``error``, ``rc_acc``, ``acc_*``, ``score_*``), (0, 100) for
    BLEU and chrF; None for losses and anything else."""
    name = str(metric).lower()
    if name in _SCORES_0_100 or name.startswith(("bleu_", "chrf_")):
        return (0.0, 100.0)
    if name in _FRACTIONS or name.startswith(("acc_", "error_", "score_", "rc_acc_")):
        return (0.0, 1.0)
    return None


def value_bounds(metric: str, values: Any, *, infer: bool = False) -> tuple[float, float] | None:
    """The range an interval of `metric` is kept in, checked against its `values`: the
    name's range (`metric_range`) where the values keep to it (an "accuracy" column in
    percent gets none rather than a band squeezed under 1); with `infer`, [0, 1] for a name
    without a range whose values all lie there (a forecast's step 2 is an error or accuracy
    under any name). A BLEU or chrF column keeps [0, 100] even when every value is below 1:
    small models score BLEU 0.1-0.9 on sacrebleu's scale, and a band capped at 1 would call
    their larger runs impossible; a BLEU given as a fraction only gets a looser band."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    rng = metric_range(metric)
    if rng is not None and v.size and np.all((v >= rng[0]) & (v <= rng[1])):
        return rng
    if rng is None and infer and v.size and np.all((v >= 0) & (v <= 1)):
        return (0.0, 1.0)
    return None


def _bounded(v: np.ndarray, bounds: tuple[float, float] | None) -> np.ndarray:
    """The scale intervals are combined on: logit of the position inside `bounds` (an
    error or accuracy cannot leave [0, 1], and near either end the room shrinks), else the
    metric itself."""
    v = np.asarray(v, dtype=float)
    if bounds is None:
        return v
    lo, hi = bounds
    u = np.clip((v - lo) / (hi - lo), 1e-9, 1 - 1e-9)
    return np.log(u / (1 - u))


def _unbounded(t: np.ndarray, bounds: tuple[float, float] | None) -> np.ndarray:
    if bounds is None:
        return t
    lo, hi = bounds
    with np.errstate(over="ignore"):
        return lo + (hi - lo) / (1 + np.exp(-t))


def propagate(
    step2: FitResult,
    var: str,
    loss_pred: np.ndarray,
    loss_lo: np.ndarray,
    loss_hi: np.ndarray,
    level: float,
    bounds: tuple[float, float] | None,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chain a loss interval through a downstream law. Three independent parts, each a
    `level` half-width per side, are added in quadrature (adding them outright, or taking
    the union of their ends, double-counts and gave intervals 4-13x the realised error):
    the law's values at the loss interval's ends, the step-2 bootstrap's spread at the
    predicted loss (parameter uncertainty), and the step-2 local residual scatter (a new
    run's own noise). With `bounds` the parts are combined on the logit scale of the
    metric's range, so the interval stays inside it without clipping. `extra`: half-widths
    (metric units) of step 2's own extrapolation at the loss interval's low and high ends,
    each added to the scatter on the side that end bounds (a lower loss lies further
    beyond the fitted runs, so the side it bounds widens more)."""
    p = step2.law.evaluate(step2.params_, {var: loss_pred})
    if step2.dof_ <= 0:
        return p, np.full_like(p, np.nan), np.full_like(p, np.nan)
    tp = _bounded(p, bounds)
    ends = np.vstack(
        [_bounded(step2.law.evaluate(step2.params_, {var: v}), bounds) for v in (loss_lo, loss_hi)]
    )
    ends = np.where(np.isfinite(ends), ends, tp)
    down2 = [np.maximum(tp - ends.min(axis=0), 0.0) ** 2]
    up2 = [np.maximum(ends.max(axis=0) - tp, 0.0) ** 2]
    if step2.bootstrap_ is not None and step2.bootstrap_.usable.any():
        draws = _bounded(step2.bootstrap_.predict_draws({var: loss_pred}), bounds)
        boot = _mad_halfwidth(draws, tp, level)
        down2.append(boot**2)
        up2.append(boot**2)
    scatter = local_scatter(step2, {var: loss_pred}, level)
    sc_down, sc_up = scatter, scatter
    if extra is not None:  # step 2's own extrapolation term (learn_chain_extrapolation)
        at_lo, at_hi = (np.nan_to_num(np.asarray(e, dtype=float)) for e in extra)
        lo_is_up = ends[0] >= ends[1]  # the low-loss end bounds the upper side
        sc_up = scatter + np.where(lo_is_up, at_lo, at_hi)
        sc_down = scatter + np.where(lo_is_up, at_hi, at_lo)
    if step2.law.space == "log":
        s_lo, s_hi = p * np.exp(-sc_down), p * np.exp(sc_up)
    else:
        s_lo, s_hi = p - sc_down, p + sc_up
    down2.append((tp - _bounded(s_lo, bounds)) ** 2)
    up2.append((_bounded(s_hi, bounds) - tp) ** 2)
    down, up = np.sqrt(np.sum(down2, axis=0)), np.sqrt(np.sum(up2, axis=0))
    return p, _unbounded(tp - down, bounds), _unbounded(tp + up, bounds)


def uncalibrated(calibrated: bool, term: Any) -> list[Diagnostic]:
    """The `uncalibrated` warning every calibrated workflow gives when its history was too
    short to learn an extrapolation term (forecast, ladder): said once, the same way."""
    if not calibrated or term is not None:
        return []
    return [
        Diagnostic(
            "uncalibrated",
            "warning",
            "too few model sizes and compute budgets to learn how the error grows with "
            "extrapolation: the intervals are the bootstrap's and the scatter's alone and "
            "likely too narrow",
        )
    ]
