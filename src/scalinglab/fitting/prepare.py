"""Turn a table into validated arrays for one law: the only place fit inputs are checked.

Every failure names the file (when known), the row and the column, so a bad cell can never
turn into a silently wrong fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import (
    DataError,
    MissingColumnError,
    NonFiniteValueError,
    NonPositiveValueError,
    QueryError,
    TooFewPointsError,
)
from ..laws.base import Law
from ..query import column_expression, is_expression
from ..query import mask as query_mask
from ..schema import canonical_name, numeric_column, resolve_column, validate


@dataclass
class Prepared:
    x: dict[str, np.ndarray]  # law variable -> (n,) float
    y: np.ndarray  # (n,)
    weights: np.ndarray  # (n,)
    rows: np.ndarray  # (n,) 1-based row numbers in the source table
    columns: dict[str, str]  # law variable -> source column
    metric: str  # source column of the metric


def validate_prepared(df: pd.DataFrame, prep: Prepared) -> None:
    """The range checks of the columns a fit uses (`schema.validate`), on the values
    `prepare` already read (each pandas lookup again cost 10-150 us)."""
    values = {col: prep.x[var] for var, col in prep.columns.items()}
    values[prep.metric] = prep.y
    validate(df, file=source_of(df), columns=list(values), values=values)


def source_of(df: pd.DataFrame) -> str | None:
    return df.attrs.get("scalinglab_source")


def row_numbers(df: pd.DataFrame) -> np.ndarray:
    """1-based data-row numbers as in the source file: loaders give a RangeIndex, and
    filters keep the labels, so index + 1 is the source row."""
    idx = df.index
    if pd.api.types.is_integer_dtype(idx):
        return np.asarray(idx) + 1
    return np.arange(1, len(df) + 1)


def apply_where(df: pd.DataFrame, where: str | None, what: str = "--where") -> pd.DataFrame:
    """Rows selected by a safe query (see scalinglab.query); an empty selection is an error."""
    if not where:
        return df
    try:
        out = df[query_mask(df, where, what)]
    except QueryError as exc:
        raise QueryError(exc.message, file=source_of(df)) from None
    if out.empty:
        raise DataError(f"{what} {where!r} selects no rows (of {len(df)})", file=source_of(df))
    return out


def _column(df: pd.DataFrame, name: str, role: str, hint: str) -> str:
    found = resolve_column(df, name)
    if found is not None:
        return found
    # A DataFrame keeps the user's own names (N, D, val_loss); a file is read through the
    # alias table. Find an alias here too, so sl.fit(df) and the CLI on the same table agree.
    want = canonical_name(name)
    aliases = [c for c in df.columns if canonical_name(str(c)) == want]
    if len(aliases) == 1:
        return str(aliases[0])
    raise MissingColumnError(
        f"{role} needs column '{name}', which is not in the data (columns: "
        f"{', '.join(map(str, df.columns))}). {hint}",
        file=source_of(df),
        column=name,
    )


def _numeric(df: pd.DataFrame, col: str, rows: np.ndarray) -> np.ndarray:
    src = source_of(df)
    series = df[col]
    try:
        if isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiu":
            # plain numpy numbers (not nullable extension types): nothing to parse
            vals = np.array(series.to_numpy(), dtype=float)
        else:
            vals = numeric_column(series, col, file=src).to_numpy(dtype=float)
    except DataError as exc:
        # Re-anchor the row number to the source file's numbering.
        if exc.row is not None:
            raise type(exc)(exc.message, file=src, row=int(rows[exc.row - 1]), column=col) from None
        raise
    bad = ~np.isfinite(vals)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raw = df[col].iloc[i]
        what = "missing" if pd.isna(raw) else f"{vals[i]}"
        raise NonFiniteValueError(
            f"value is {what}; a finite number is needed ({int(bad.sum())} such rows)",
            file=src,
            row=int(rows[i]),
            column=col,
        )
    return vals


# Variables no single column holds, so --map cannot help: say what builds them.
_JOINT_HINT = (
    "finetune_joint's x_model / x_data / x_pet hold each row's own factor (model size, "
    "pretraining tokens or PET size; 0 in the others), built from a table tagged by a "
    "'factor' column, so --map cannot supply them. Build them with: scalinglab "
    "factor-effects DATA --factor n_params --factor tokens --factor lora_rank --joint-out "
    "joint.csv (--by '' if the table has no method column), then scalinglab fit joint.csv "
    "--law finetune_joint (in Python: "
    "scalinglab.workflows.factor_effects.joint_frame(df, joint_columns([...])))."
)
_BUILT_COLUMNS = {("finetune_joint", v): _JOINT_HINT for v in ("x_model", "x_data", "x_pet")}


def prepare(
    df: pd.DataFrame,
    law: Law,
    *,
    metric: str | None = None,
    mapping: Mapping[str, str] | None = None,
    weights: str | np.ndarray | None = None,
) -> Prepared:
    """Validate and extract the arrays `law` needs from `df`."""
    mapping = dict(mapping or {})
    unknown = [k for k in mapping if k not in law.variables and k != law.metric]
    if unknown:
        raise MissingColumnError(
            f"--map names {unknown}, which law '{law.name}' does not use; its variables are "
            f"{', '.join(law.variables)}",
            file=source_of(df),
        )
    if law.metric in mapping and metric is None:
        metric = mapping.pop(law.metric)
    mapping.pop(law.metric, None)
    # --map x=log10(flops): a transform of columns becomes a column named by its expression
    made = {
        col: column_expression(df, col, f"--map {var}=")
        for var, col in mapping.items()
        if col not in df.columns and is_expression(col)
    }
    if made:
        attrs = dict(df.attrs)
        df = df.assign(**made)
        df.attrs.update(attrs)
    rows = row_numbers(df)
    columns = {}
    for var in law.variables:
        col = mapping.get(var, var)
        hint = (
            _BUILT_COLUMNS.get((law.name, var))
            or f"Map it: mapping={{'{var}': 'COLUMN'}} in Python, --map {var}=COLUMN on the "
            "command line."
            if var not in mapping
            else "Check the --map option (mapping= in Python)."
        )
        columns[var] = _column(df, col, f"law '{law.name}' variable '{var}'", hint)
    metric_col = _column(
        df,
        metric or law.metric,
        f"law '{law.name}' metric",
        "Name the metric with --metric COLUMN (metric= in Python).",
    )
    same = [var for var, col in columns.items() if col == metric_col]
    if same:
        raise DataError(
            f"column '{metric_col}' is both the metric and law variable '{same[0]}': a law "
            "that reads its own output fits anything exactly; map the variable to another "
            "column",
            file=source_of(df),
            column=metric_col,
        )
    x = {var: _numeric(df, col, rows) for var, col in columns.items()}
    y = _numeric(df, metric_col, rows)
    for var in law.positive_variables:
        _require_positive(df, x[var], columns[var], rows, "the law raises it to a power")
    if law.space == "log":
        _require_positive(df, y, metric_col, rows, "residuals are taken in log space")
    if weights is None:
        w = np.ones_like(y)
    elif isinstance(weights, str):
        w_col = _column(df, weights, "weights", "")
        if w_col == metric_col:
            raise DataError(
                f"column '{w_col}' is both the metric and the weights: weighting each run by "
                "its own outcome tilts the fit toward the values it favours; give a column "
                "of weights chosen before the outcome (e.g. a count of seeds or eval items)",
                file=source_of(df),
                column=w_col,
            )
        w = _numeric(df, w_col, rows)
        _require_positive(df, w, weights, rows, "weights must be positive", allow_zero=True)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != y.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise DataError("weights must be finite, non-negative, one per row", file=source_of(df))
    if len(y) < law.n_params:
        raise TooFewPointsError(
            f"law '{law.name}' has {law.n_params} free parameters but only {len(y)} data "
            f"points were given; at least {law.n_params} are needed (and many more to trust "
            "the fit)",
            file=source_of(df),
        )
    return Prepared(x=x, y=y, weights=w, rows=rows, columns=columns, metric=metric_col)


def _require_positive(df, vals, col, rows, why, allow_zero=False):
    bad = vals < 0 if allow_zero else vals <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise NonPositiveValueError(
            f"value {vals[i]} is not positive, but {why} ({int(bad.sum())} such rows)",
            file=source_of(df),
            row=int(rows[i]),
            column=col,
        )
