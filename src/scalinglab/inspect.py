"""`inspect`: what scalinglab recognised in a table, and what it can fit with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ScalingLabError
from .laws import CATALOG
from .schema import (
    CATEGORICAL,
    METRICS,
    VARIABLES,
    canonical_name,
    find_bad_values,
    resolve_column,
)

OUTLIER_Z = 5.0


def _roles(df: pd.DataFrame) -> list[dict[str, Any]]:
    original = df.attrs.get("scalinglab_original", {})
    derived = set(df.attrs.get("scalinglab_derived", []))
    out = []
    for col in df.columns:
        role = (
            "variable"
            if col in VARIABLES
            else "metric"
            if col in METRICS
            else "category"
            if col in CATEGORICAL
            else "other"
        )
        unit = VARIABLES.get(col) or METRICS.get(col) or CATEGORICAL.get(col) or ""
        out.append(
            {
                "column": col,
                "from": original.get(col, col),
                "role": role,
                "unit": unit,
                "derived": col in derived,
                "dtype": str(df[col].dtype),
                "missing": int(df[col].isna().sum()),
            }
        )
    return out


def _ranges(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for col in df.columns:
        if col not in VARIABLES and col not in METRICS:
            continue
        if not pd.api.types.is_numeric_dtype(df[col]):
            continue
        v = df[col].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        lo, hi = float(v.min()), float(v.max())
        span = float(np.log10(hi / lo)) if lo > 0 else None
        out.append(
            {
                "column": col,
                "min": lo,
                "max": hi,
                "unique": int(np.unique(v).size),
                "orders_of_magnitude": span,
            }
        )
    return out


_METRIC_HINTS = {
    "loss": ("loss",),
    "error": ("err",),
    "accuracy": ("acc",),
    "bleu": ("bleu",),
    "downstream_ce": ("ce", "loss"),
    "y": (),
}


def metric_candidates(df: pd.DataFrame, metric: str) -> list[str]:
    """Numeric columns that look like `metric` (e.g. loss_c4_val for loss)."""
    hints = _METRIC_HINTS.get(metric, (metric,))
    return [
        c
        for c in df.columns
        if c != metric
        and pd.api.types.is_numeric_dtype(df[c])
        and any(str(c).lower().startswith(h) for h in hints)
    ]


def feedable_laws(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Catalog laws whose variables are present, with what is still needed to fit them."""
    out = []
    for law in CATALOG.values():
        need = [v for v in law.variables if v != "x"]
        if any(v not in df.columns for v in need):
            continue
        notes = []
        if len(df) < law.n_params + 1:
            notes.append(
                f"too few rows: {len(df)} for {law.n_params} parameters "
                f"(at least {law.n_params + 1}, and many more to trust a fit)"
            )
        if "x" in law.variables:
            notes.append("map the factor with --map x=COLUMN")
        if law.metric not in df.columns:
            cands = metric_candidates(df, law.metric)
            if law.metric != "y" and not cands:
                continue
            notes.append("choose --metric" + (f" (e.g. {', '.join(cands[:4])})" if cands else ""))
        out.append({"law": law.name, "ready": not notes, "note": "; ".join(notes)})
    return out


def _outliers(df: pd.DataFrame, metric_col: str | None = None) -> dict[str, Any] | None:
    """Robust residual z-scores from the first catalog law the data feeds (two passes: fit,
    drop |z| > 5, refit, score every row). Flags runs the law cannot explain. `metric_col`:
    the metric being studied (default: the law's own metric, else its first candidate)."""
    from .fitting import fit

    for name in ("chinchilla", "overtrain", "downstream_ce"):
        law = CATALOG[name]
        if not all(v in df.columns for v in law.variables):
            continue
        metric = (
            resolve_column(df, metric_col)
            if metric_col
            else law.metric
            if law.metric in df.columns
            else next(iter(metric_candidates(df, law.metric)), None)
        )
        if metric is None:
            continue
        cols = [*law.variables, metric]
        vals = df[cols].apply(pd.to_numeric, errors="coerce")  # a text --metric: no outliers
        ok = vals.notna().all(axis=1) & (vals > 0).all(axis=1)
        sub = df[ok]
        if len(sub) < 3 * law.n_params:
            return None
        try:
            res = fit(sub, law, metric=metric, n_refine=4)
            z = _robust_z(res._predict_array(sub), sub[metric].to_numpy())
            keep = np.abs(z) <= OUTLIER_Z
            if (~keep).any() and keep.sum() >= 3 * law.n_params:
                res = fit(sub[keep], law, metric=metric, n_refine=4)
                z = _robust_z(res._predict_array(sub), sub[metric].to_numpy())
        except ScalingLabError:
            return None
        flagged = np.flatnonzero(np.abs(z) > OUTLIER_Z)
        order = flagged[np.argsort(-np.abs(z[flagged]))]
        return {
            "law": name,
            "metric": metric,
            "threshold_z": OUTLIER_Z,
            "rows": [int(sub.index[i]) + 1 for i in order],
            "z": [round(float(z[i]), 1) for i in order],
            "values": [float(sub[metric].iloc[i]) for i in order],
        }
    return None


def _robust_z(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = np.log(pred) - np.log(y)
    med = np.median(r)
    mad = 1.4826 * np.median(np.abs(r - med))
    # Most rows on the law exactly (mad 0): any row off it by more than rounding stands out
    # (a floor of 1.0 once hid a value 3x off behind z = 1.1).
    return (r - med) / max(mad, 1e-9)


def inspect_table(
    df: pd.DataFrame | str | Path,
    outliers: bool = True,
    where: str | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    """What scalinglab recognised in a table, before any fit.

    Columns (recognised, derived, unrecognised), runs and checkpoints ("7 runs, 189
    checkpoints"), ranges, duplicates, values breaking the schema's rules (reported as
    findings, never a refusal), plausibility (values that look like the wrong unit),
    outliers, and the laws the table can feed.

    Parameters
    ----------
    df : DataFrame, str or path
        A DataFrame, or a table path read as the CLI reads it.
    outliers : bool, default True
        Look for suspected outliers (robust z-scores of the metric within groups).
    metric : str, optional
        The metric being studied, whose outliers are looked for (default: the first
        loss-like column the catalog's laws recognise).
    where : str, optional
        A row query applied first (a safe query), so only the rows kept are checked.

    Returns
    -------
    dict
        ``rows``, ``columns``, ``derived``, ``unrecognised``, ``runs``, ``ranges``,
        ``duplicate_rows``, ``duplicate_keys``, ``bad_values`` (the findings),
        ``plausibility``, ``outliers``, ``laws`` (what each catalog law needs and whether
        the table has it), ``source`` and ``where``; ``inspect --json`` prints the same.

    Examples
    --------
    >>> import scalinglab as sl
    >>> info = sl.inspect_table("runs.csv", where="tokens > 0")  # doctest: +SKIP
    >>> info["findings"]                                          # doctest: +SKIP
    """
    if not isinstance(df, pd.DataFrame):
        return inspect_file(df, where=where, outliers=outliers, metric=metric)
    selection = None
    if where:
        from .fitting.prepare import apply_where

        before = len(df)
        df = apply_where(df, where)
        selection = {"query": where, "rows_before": before}
    keys = [
        c
        for c in (
            "run",
            "n_params",
            "tokens",
            "flops",
            "finetune_size",
            "method",
            "pretrain_data",
            "lora_rank",
            "prompt_length",
            "task",
            "seed",
            "step",
        )
        if c in df.columns
    ]
    dup_rows = int(df.duplicated().sum())
    dup_keys = int(df.duplicated(subset=keys).sum()) if keys else 0
    derived = set(df.attrs.get("scalinglab_derived", []))  # flops from a bad tokens: noise
    bad = find_bad_values(df, columns=[c for c in df.columns if c not in derived])
    report: dict[str, Any] = {
        "source": df.attrs.get("scalinglab_source"),
        "rows": len(df),
        "where": selection,
        "runs": run_identity(df),
        "columns": _roles(df),
        "derived": list(df.attrs.get("scalinglab_derived", [])),
        "ranges": _ranges(df),
        "duplicate_rows": dup_rows,
        "duplicate_keys": {"columns": keys, "count": dup_keys},
        "bad_values": [{**b.to_dict(), "text": _finding_text(b)} for b in bad],
        "laws": feedable_laws(df),
        "unrecognised": [
            c
            for c in df.columns
            if canonical_name(c) not in VARIABLES
            and canonical_name(c) not in METRICS
            and c not in CATEGORICAL
        ],
    }
    report["plausibility"] = plausibility(df)
    if outliers:
        report["outliers"] = _outliers(df, metric)
    return report


def _finding_text(b: Any) -> str:
    """A finding with its way out: 0 tokens are untrained checkpoints (step 0 of a suite such
    as Pythia's), true values a law of tokens cannot use; say how to leave them out."""
    text = str(b.message())
    if b.column == "tokens" and all(float(v) == 0 for v in b.values):
        text += (
            " (0 tokens: untrained checkpoints, e.g. step 0; leave them out with "
            "--where 'tokens > 0', which every command applies before it checks)"
        )
    return text


def inspect_file(
    path: str | Path,
    *,
    where: str | None = None,
    outliers: bool = True,
    metric: str | None = None,
) -> dict[str, Any]:
    """`scalinglab inspect FILE [--where Q]`: read without refusing rows that break the
    schema's rules, select, then report those rows as findings (issue 15: filter first)."""
    from .io import read_table
    from .schema import validation_deferred

    with validation_deferred():
        df = read_table(path)
    return inspect_table(df, outliers=outliers, where=where, metric=metric)


_CHECKPOINT_KEYS = ("step", "tokens")


def run_identity(df: pd.DataFrame) -> dict[str, Any] | None:
    """Runs and checkpoints: with a `run` column (or, without one, a `model` column) and
    several rows per run at different steps or token counts, the table is checkpoints of
    runs, and every count of "runs" must count runs, not rows (issue 15: 27 checkpoints of
    7 models are not 189 runs)."""
    col = "run" if "run" in df.columns else "model" if "model" in df.columns else None
    if col is None or df[col].isna().all():
        return None
    at = next((c for c in _CHECKPOINT_KEYS if c in df.columns), None)
    n_runs = int(df[col].nunique(dropna=True))
    if at is None:
        return {
            "column": col,
            "runs": n_runs,
            "checkpoints": None,
            "text": f"{n_runs} runs (column '{col}'; no step or tokens column for checkpoints)",
        }
    ck = df[[col, at]].drop_duplicates()
    n_ck = len(ck)
    per_run = ck.groupby(col, dropna=True)[at].size()
    text = f"{n_runs} runs, {n_ck} checkpoints (runs from '{col}', checkpoints by '{at}')"
    if len(per_run) and per_run.max() > 1:
        text += f"; {int(per_run.min())}-{int(per_run.max())} checkpoints per run"
    rows_per = len(df) / n_ck if n_ck else 0.0
    if rows_per > 1:
        text += f"; {rows_per:.3g} rows per checkpoint (tasks or splits)"
    return {
        "column": col,
        "runs": n_runs,
        "checkpoints": n_ck,
        "checkpoint_column": at,
        "checkpoints_per_run": {"min": int(per_run.min()), "max": int(per_run.max())}
        if len(per_run)
        else None,
        "text": text,
    }


def plausibility(df: pd.DataFrame) -> list[str]:
    """Values that look like the wrong unit, with the likely fix: a `flops` column far from
    6·N·D, parameter counts too small to be counts, accuracy above 1 (percent?)."""
    out = []
    num = {c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])}
    derived = set(df.attrs.get("scalinglab_derived", []))
    if {"flops", "n_params", "tokens"} <= num and "flops" not in derived:
        with np.errstate(all="ignore"):
            ratio = df["flops"] / (6.0 * df["n_params"] * df["tokens"])
        r = float(np.nanmedian(ratio)) if ratio.notna().any() else np.nan
        if np.isfinite(r) and r > 0 and abs(np.log10(r)) > 1:
            out.append(
                f"'flops' is {r:.3g}x 6*n_params*tokens (median over rows): a unit slip? "
                f"(FLOPs in 1e{int(round(-np.log10(r)))}s, or tokens/params in other units)"
            )
    if "n_params" in num and df["n_params"].max() < 1e5:
        out.append(
            f"'n_params' is at most {df['n_params'].max():.4g}: counts in millions or "
            "billions? write them with a suffix (70M, 1.4B) or as plain counts"
        )
    if {"n_params", "tokens"} <= num:
        # Tokens below a thousandth of the parameters: no real run trains on so little (even
        # a checkpoint's first logged step has more), but tokens written in billions or
        # millions look exactly so (issue 15: 2.6 tokens for a 1B model).
        with np.errstate(all="ignore"):
            m = df["tokens"] / df["n_params"]
        pos = m[(df["tokens"] > 0) & (df["n_params"] > 0)]
        if len(pos) and float(pos.median()) < 1e-3:
            out.append(
                f"'tokens' is a median {float(pos.median()):.3g}x 'n_params': tokens in "
                "billions or millions? write them with a suffix (300B, 1.4T) or as plain counts"
            )
    for col in ("accuracy", "error"):
        if col in num and df[col].max() > 1:
            out.append(f"'{col}' exceeds 1 (max {df[col].max():.4g}): percent? divide by 100")
    return out
