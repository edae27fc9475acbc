"""Bootstrap intervals for a training plan: every bootstrap draw of the fit replans.

A plan's point values come from the fit's point estimate; a researcher also needs to know
how far the data pin them down (Besiroglu et al. 2024 report the optimal allocation's
interval, not only its value). Each usable draw of `FitResult.bootstrap_` is a complete
law, so each draw gives its own compute-optimal N* and D*, its own cheapest allocation for
a target loss, and its own loss at the planned allocation. The percentiles of those
per-draw answers are the plan's intervals, at a stated level, with the number of draws
behind them. Everything is vectorised over draws (closed forms, and a golden-section search
over log N for the inference-aware plan), so 1,000 draws cost milliseconds.

What each interval means (kind "confidence": the fit's parameter uncertainty, without the
scatter of a single new run):
- `n_params`/`tokens` of an optimum: the spread of the optimum's location across draws;
- `loss` of a planned allocation: the loss each draw predicts at that (N, D), so it matches
  `scalinglab predict --set n_params=N --set tokens=D --interval LEVEL`;
- `loss_vs_optimal` of a fixed-M plan: per draw, its loss at the fixed-M allocation minus
  its own compute-optimal loss at the same budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..fitting import FitResult

KIND = "confidence (bootstrap of the fit's parameters)"
# Golden-section steps over a 30-nat bracket in log N: 30 * 0.618^80 is ~6e-16 nats.
_GOLDEN_ITERS = 80


@dataclass(frozen=True)
class Draws:
    """The fit's usable bootstrap draws as parameter arrays (fixed parameters broadcast)."""

    params: dict[str, np.ndarray]
    theta: np.ndarray  # (B, P) free parameters, for law.evaluate
    n_usable: int
    n_resamples: int
    method: str
    group_by: str | None

    def describe(self, level: float) -> dict[str, Any]:
        """The interval's provenance, as `--json` and the report state it."""
        return {
            "level": level,
            "kind": KIND,
            "n_resamples": self.n_usable,
            "n_draws": self.n_resamples,
            "method": self.method,
            "group_by": self.group_by,
        }


def usable_draws(res: FitResult) -> Draws | None:
    """The fit's usable bootstrap draws, or None when it holds none (or is an exact fit,
    whose resamples measure nothing)."""
    boot = res.bootstrap_
    if boot is None or res.exact_fit_:
        return None
    ok = boot.usable
    if not ok.any():
        return None
    theta = boot.params[ok]
    params = {n: theta[:, j] for j, n in enumerate(res.law.param_names)}
    for name, value in res.law.fixed_values.items():
        params[name] = np.full(theta.shape[0], float(value))
    return Draws(
        params=params,
        theta=theta,
        n_usable=int(ok.sum()),
        n_resamples=boot.n_resamples,
        method=boot.method,
        group_by=boot.group_by,
    )


def run_groups(res: FitResult, group_by: str | None = None) -> tuple[Any, str]:
    """What a fresh bootstrap of the fit resamples whole, and how to say it: `group_by` if
    given (a column of the fitted rows, or a law variable a fit file keeps, e.g. n_params),
    else the fitted rows' runs where several rows share one (a `run` column, or the model of
    a table of checkpoints: `checkpoints.run_ids`, as forecast, ladder and audit resample),
    else the rows. Why: a run's checkpoints are not independent observations; resampling them
    one by one as if they were makes the intervals too narrow.

    Returns (what to pass to `FitResult.bootstrap(group_by=...)`, or None for rows; words)."""
    from ..errors import DataError
    from .checkpoints import run_ids

    if group_by:
        return group_by, f"whole groups of '{group_by}'"
    frame = res.frame_
    if frame is not None and len(frame) == res.n_points_:
        runs = run_ids(frame)
        if runs is not None and runs.duplicated().any():
            return runs, f"whole runs ({runs.nunique()} runs, by '{runs.name}')"
    stored = res.bootstrap_.group_by if res.bootstrap_ is not None else None
    kept = set(frame.columns) if frame is not None else set()
    if res.data_ is not None:
        kept |= set(res.columns_) | set(res.columns_.values())
    if stored in kept:  # as the stored draws were grouped
        return stored, f"whole groups of '{stored}', as the fit's stored draws"
    if stored:
        raise DataError(
            f"the fit's stored draws resample whole groups ('{stored}'), but the fit file "
            "keeps no group labels to resample that way again: use its stored draws (leave "
            "out --bootstrap / n_bootstrap), or give --group-by COLUMN (group_by=) with a "
            "variable the file keeps (e.g. n_params when each size is one run)"
        )
    if frame is None:
        return None, (
            "rows (the fit file keeps no run column: if its rows are checkpoints of fewer "
            "runs, resample them whole with --group-by n_params, group_by= in Python)"
        )
    return None, "rows (each row its own run)"


def bounds(values: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of per-draw values; a draw with no answer (+inf: the target
    is out of its reach) counts as unbounded above, so a bound it reaches is inf."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    big = np.finfo(float).max
    lo, hi = np.percentile(np.where(np.isposinf(v), big, v), [50 * (1 - level), 50 * (1 + level)])
    return tuple(float("inf") if x >= big / 2 else float(x) for x in (lo, hi))  # type: ignore[return-value]


def optimum_draws(p: dict[str, np.ndarray], budget: float) -> tuple[np.ndarray, ...]:
    """Per draw: the closed-form compute-optimal (N*, D*, loss*) at `budget`."""
    a, b = p["alpha"], p["beta"]
    with np.errstate(all="ignore"):
        g = (a * p["A"] / (b * p["B"])) ** (1 / (a + b))
        n = g * (budget / 6) ** (b / (a + b))
        d = budget / (6 * n)
    return n, d, loss_draws(p, n, d)


def loss_draws(p: dict[str, np.ndarray], n: Any, d: Any) -> np.ndarray:
    """Per draw: E + A/N^alpha + B/D^beta at (n, d) (scalars or per-draw arrays)."""
    with np.errstate(all="ignore"):
        return np.asarray(p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"])


def _tokens_for_loss(p: dict[str, np.ndarray], n: np.ndarray, target: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        gap = target - p["E"] - p["A"] / n ** p["alpha"]
        return np.where(gap > 0, (p["B"] / np.where(gap > 0, gap, 1.0)) ** (1 / p["beta"]), np.inf)


def cheapest_draws(
    p: dict[str, np.ndarray], target: float, inference_tokens: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per draw: (N, D, total FLOPs) minimising 6ND + 2N*inference_tokens on the draw's
    iso-loss curve L = target; N = D = total = inf where the draw's E is at or above the
    target (no size reaches it). Same bracket as `planning.cheapest_for_loss`."""
    with np.errstate(all="ignore"):
        reach = target > p["E"]
        gap = np.where(reach, target - p["E"], 1.0)
        lo = np.log((p["A"] / gap) ** (1 / p["alpha"]) * 1.0001)
    lo = np.where(reach & np.isfinite(lo), lo, 0.0)
    hi = lo + 30.0

    def total(ln: np.ndarray) -> np.ndarray:
        n = np.exp(ln)
        d = _tokens_for_loss(p, n, target)
        with np.errstate(all="ignore"):
            return np.where(np.isfinite(d), 6 * n * d + 2 * n * inference_tokens, np.inf)

    r = (np.sqrt(5.0) - 1) / 2
    for _ in range(_GOLDEN_ITERS):  # both inner points anew each step: simple, and cheap
        x1, x2 = hi - r * (hi - lo), lo + r * (hi - lo)
        left = total(x1) < total(x2)  # the minimum lies in [lo, x2]
        lo, hi = np.where(left, lo, x1), np.where(left, x2, hi)
    ln = (lo + hi) / 2
    n = np.exp(ln)
    d = _tokens_for_loss(p, n, target)
    tot = total(ln)
    n, d, tot = (np.where(reach, x, np.inf) for x in (n, d, tot))
    return n, d, tot


def add_bounds(row: dict[str, Any], key: str, values: np.ndarray, level: float) -> None:
    """`row[key + '_lower']`, `row[key + '_upper']` from per-draw values."""
    row[f"{key}_lower"], row[f"{key}_upper"] = bounds(values, level)
