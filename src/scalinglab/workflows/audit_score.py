"""Scoring one audit fold: fit on the fold's runs, predict the held-out ones with the
calibrated interval, and tabulate error, coverage, compute ratio and (for a joint finetuning
law) the factor each held-out run belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MissingColumnError, QueryError
from ..fitting import FitResult, fit
from ..fitting.prepare import row_numbers, source_of
from ..laws.base import Law
from ..query import mask as query_mask
from ..schema import canonical_name
from .calibration import calibrated_band, learn_extrapolation, value_bounds
from .checkpoints import check_used, flops_per_run


def run_flops(df: pd.DataFrame) -> np.ndarray:
    """Training FLOPs per run: the `flops` column, else 6·N·D; NaN where neither is known."""
    if "flops" in df.columns:
        return df["flops"].to_numpy(dtype=float)
    if {"n_params", "tokens"} <= set(df.columns):
        return 6.0 * df["n_params"].to_numpy(dtype=float) * df["tokens"].to_numpy(dtype=float)
    return np.full(len(df), np.nan)


def _law_of_compute(res: FitResult) -> bool:
    """Whether the law scales with training compute (inputs N and D, or C): only then is
    'predicted from k x less compute' a saving (issue 21: audit printed pretraining
    compute ratios for finetuning and downstream laws, where they mean nothing)."""
    used = {canonical_name(str(c)) for c in res.columns_.values()} | set(res.law.variables)
    return {"n_params", "tokens"} <= used or "flops" in used


def compute_ratio(fit_set: pd.DataFrame, target: pd.DataFrame) -> np.ndarray:
    """Per target run: its FLOPs / the total FLOPs of the fit set, the compute ratio an
    audit reports so an error can be read against how far the forecast reached.

    Parameters
    ----------
    fit_set : DataFrame
        The rows the law was fitted on (FLOPs from `flops`, else 6·N·D).
    target : DataFrame
        The held-out rows.

    Returns
    -------
    ndarray
        One ratio per row of `target`; all NaN when the fit set has no FLOPs.
    """
    total = np.nansum(run_flops(fit_set))
    return run_flops(target) / total if total > 0 else np.full(len(target), np.nan)


def selected_rows(df: pd.DataFrame, query: str, what: str) -> np.ndarray:
    """`query.mask`, its error naming the file the rows came from."""
    try:
        return query_mask(df, query, what)
    except QueryError as exc:
        raise QueryError(exc.message, file=source_of(df)) from None


def _score(
    train: pd.DataFrame,
    test: pd.DataFrame,
    law: Law,
    *,
    fold: Any,
    fit_kw: Mapping[str, Any],
    interval: float,
    n_bootstrap: int,
    seed: int,
    axis: str | None = None,
    runs: pd.Series | None = None,
    fitted: FitResult | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    res = fitted if fitted is not None else fit(train, law, **fit_kw)
    check_used(train, [res.metric_])
    check_used(test, [res.metric_])
    train_runs = None if runs is None else runs.loc[train.index]
    by_run = train_runs is not None and bool(train_runs.duplicated().any())
    truth_col = res.metric_
    if truth_col not in test.columns:
        raise MissingColumnError(
            f"held-out rows have no '{truth_col}' column to score against", column=truth_col
        )
    out_of_range, bounds = 0, None  # predictions past the metric's range (with intervals)
    if n_bootstrap:
        # a run's checkpoints are resampled together
        res.bootstrap(
            n_bootstrap,
            seed=seed,
            group_by=train_runs.to_numpy() if by_run and train_runs is not None else None,
        )
        # A held-out run is a new noisy observation, often beyond the fitted range: score it
        # against the calibrated interval (bootstrap, local scatter, extrapolation term
        # learned from folds inside this fold's own fit set), as forecasts give it.
        scale = axis or next((c for c in ("flops", "n_params") if c in train.columns), None)
        term = (
            learn_extrapolation(train, law, scale, level=interval, full_fit=res, **fit_kw)
            if scale
            else None
        )
        # an accuracy, error or BLEU interval is built on its logit scale, inside its range
        bounds = value_bounds(res.metric_, np.asarray(res.data_["y"]) if res.data_ else [])
        p, lo, hi = calibrated_band(res, test, interval, term, bounds)
        if bounds is not None:
            with np.errstate(invalid="ignore"):
                out_of_range = int(np.sum((p < bounds[0]) | (p > bounds[1])))
    else:
        p = res._predict_array(test)  # positional: pts has its own index
        lo = hi = np.full(len(test), np.nan)
    # A held-out row the law cannot take (tokens 0 at a checkpoint suite's step 0, when only
    # the fit set was filtered) has no prediction: scored, it would blank every mean.
    ok = np.isfinite(p)
    n_unpredictable = int((~ok).sum())
    if n_unpredictable:
        test, p, lo, hi = test[ok], p[ok], lo[ok], hi[ok]
    truth = test[truth_col].to_numpy(dtype=float)
    fit_flops = flops_per_run(train, train_runs)  # each run once, at its largest checkpoint
    ratio = run_flops(test) / fit_flops if fit_flops > 0 else np.full(len(test), np.nan)
    if not _law_of_compute(res):  # a finetuning or loss->error law: pretraining compute
        ratio = np.full(len(test), np.nan)  # says nothing about what its fit saved
    pts = pd.DataFrame({"fold": fold, "law": law.name, "row": row_numbers(test)})
    for var, col in res.columns_.items():
        pts[col] = test[col].to_numpy() if col in test.columns else test[var].to_numpy()
    pts["truth"] = truth
    pts["prediction"] = p
    pts["abs_error"] = np.abs(p - truth)
    pts["rel_error"] = np.abs(p - truth) / np.abs(truth)
    pts["lower"], pts["upper"] = lo, hi
    pts["inside"] = (truth >= lo) & (truth <= hi)
    pts["compute_ratio"] = ratio
    factor = factor_labels(test, res.law, res.columns_)
    if factor is not None:
        pts["factor"] = factor
    if axis is not None:
        top = train[axis].max()
        pts["distance"] = np.log10(test[axis].to_numpy(dtype=float) / top)
    summary = {
        "fold": fold,
        "law": law.name,
        "n_fit": len(train),
        "n_test": len(test),
        "mad": float(pts["abs_error"].mean()),
        "mean_rel_error": float(pts["rel_error"].mean()),
        "max_rel_error": float(pts["rel_error"].max()),
        "coverage": float(pts["inside"].mean()) if n_bootstrap else np.nan,
        "fit_flops": fit_flops,
        "compute_ratio_max": float(np.nanmax(ratio)) if np.isfinite(ratio).any() else np.nan,
        "converged": res.converged_,
        "warnings": "; ".join(res.warnings_),
        # structured, so the audit can say per law which folds have which findings
        "diagnostics": [d.to_dict() for d in res.diagnostics_ if d.severity != "info"],
        "params": dict(res.params_),
        "n_unpredictable": n_unpredictable,
        "n_out_of_range": out_of_range,
        "range": bounds,
    }
    return pts, summary


# The factors of a joint finetuning law (catalog finetune_joint): a row's own factor's value
# stands in its x_<factor> column, 0 in the others.
JOINT_FACTORS = ("model", "data", "pet")


def factor_labels(
    rows: pd.DataFrame, law: Law, columns: Mapping[str, str] | None = None
) -> np.ndarray | None:
    """Per row, the factor a joint finetuning law scores it under ('model', 'data', 'pet':
    the x_<factor> that is > 0); None for a law without those variables."""
    cols = {
        f: (columns or {}).get(f"x_{f}", f"x_{f}")
        for f in JOINT_FACTORS
        if f"x_{f}" in law.variables
    }
    if len(cols) < 2:
        return None
    out = np.full(len(rows), None, dtype=object)
    for f, c in cols.items():
        if c in rows.columns:
            on = rows[c].to_numpy(dtype=float) > 0
            out[on & (out == None)] = f  # noqa: E711 (elementwise)
    return out
