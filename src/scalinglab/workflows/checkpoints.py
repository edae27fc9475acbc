"""Runs and checkpoints: which rows belong to one training run, which checkpoints to keep,
and reading a table so that filters come before validation.

A table of evaluations often holds many checkpoints of each run (Pythia: 27 per model). They
are not independent runs: a bootstrap must resample runs, a compute ratio must count each run
once (its largest checkpoint, not the sum over checkpoints), and a held-out run must be held
out with all its checkpoints. The run of a row is the `run` column (or `--run-col`), else
`run_id`, else the model id without its revision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, MissingColumnError, NonPositiveValueError, OutOfRangeError
from ..fitting.prepare import apply_where, row_numbers, source_of
from ..schema import (
    CATEGORICAL,
    METRICS,
    POSITIVE,
    RANGES,
    VARIABLES,
    add_derived,
    canonicalise,
    looks_numeric,
    numeric_column,
    resolve_column,
)

RUN_COLUMNS = ("run", "run_id")
# A revision or checkpoint written into a model id: 'org/m@step1000', 'm,revision=step1000',
# 'm-step-1431k-3T', 'm-intermediate-step1000'.
_REVISION = re.compile(r"(?:@|,\s*revision=).*$")
_STEP_IN_NAME = re.compile(r"[-_.](?:intermediate[-_.]?)?step[-_.]?\d+(?:\.\d+)?[kKmM]?(?:\b.*)?$")


def read_unvalidated(path: str | Path) -> pd.DataFrame:
    """A table with canonical names, numeric columns and derived columns, but no range
    checks: the caller filters first and validates only the columns it uses (`check_used`).
    Row labels stay the file's data-row positions, so messages name the file's rows."""
    from ..io import read_table

    raw = read_table(path, raw=True)
    src = str(path)
    df = canonicalise(raw.reset_index(drop=True), file=src)
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s):
            continue
        numeric_role = col in VARIABLES or col in METRICS
        if numeric_role or (col not in CATEGORICAL and looks_numeric(s)):
            try:
                df[col] = numeric_column(s, col, file=src)
            except DataError:
                pass  # left as text: a command that uses it refuses it, naming the row
    df = add_derived(df.copy())  # one block again after the column-by-column conversion
    df.attrs["scalinglab_source"] = src
    return df


def load(
    data: pd.DataFrame | str | Path, where: str | None = None, what: str = "--where"
) -> pd.DataFrame:
    """`data` as a table, `where` applied first (a bad row outside the selection is no error)."""
    if isinstance(data, (str, Path)):
        df = read_unvalidated(data)
    else:  # a DataFrame gets what a file gets (canonical names, derived columns): CLI = API
        attrs = dict(data.attrs)
        df = canonicalise(data, file=attrs.get("scalinglab_source"))
        missing = _derivable(df)
        if missing:
            with np.errstate(divide="ignore", invalid="ignore"):
                df = add_derived(df.copy())
        df.attrs = attrs
    return apply_where(df, where, what) if where else df


def _derivable(df: pd.DataFrame) -> bool:
    """Whether `add_derived` would add a column (a table already complete is not copied)."""
    cols = set(df.columns)
    return bool(
        ({"n_params", "tokens"} <= cols and not {"flops", "tokens_per_param"} <= cols)
        or ({"n_params", "flops"} <= cols and "tokens" not in cols)
        or ("accuracy" in cols and "error" not in cols)
        or ("perplexity" in cols and "loss" not in cols)
        or ("loss" in cols and "perplexity" not in cols)
    )


def plain(v: object) -> str:
    """A cell as a user wrote it: 0 and 95.5, never np.float64(0.0)."""
    if isinstance(v, (int, float, np.integer, np.floating)):
        return f"{float(v):g}"
    return repr(str(v))


def check_used(
    df: pd.DataFrame, columns: Iterable[str], roles: Mapping[str, str] | None = None
) -> None:
    """Range checks of the schema, on the given columns of these rows only.

    `roles`: column -> the canonical column whose rule it follows, for columns a command uses
    in a role whatever their name (an --acc-col is an accuracy, in [0, 1]; a --loss-col a
    loss, > 0). A derived `error` (1 - accuracy) is checked as the `accuracy` the user wrote,
    so the message names their column and value (and says when it looks like percent).
    """
    src = source_of(df)
    rows = row_numbers(df)
    roles = dict(roles or {})
    for col in dict.fromkeys(columns):
        if col not in df.columns or not pd.api.types.is_numeric_dtype(df[col]):
            continue
        rule = roles.get(col, col)
        if rule == "error" and _is_derived_error(df, col):
            col, rule = "accuracy", "accuracy"
        v = df[col].to_numpy(dtype=float)
        checks: list[tuple[type[DataError], np.ndarray, str]] = []
        if rule in POSITIVE:
            checks.append((NonPositiveValueError, v <= 0, f"is not positive; '{col}' must be > 0"))
        if rule in RANGES:
            lo, hi = RANGES[rule]
            why = f"is outside [{lo:g}, {hi:g}] for '{col}'"
            if rule != col:
                why += f" (used as {'an' if rule[0] in 'aeiou' else 'a'} {rule})"
            if hi == 1.0 and np.nanmax(v, initial=0) <= 100 and (v > 1).any():
                why += " (looks like percent: divide by 100)"
            checks.append((OutOfRangeError, (v < lo) | (v > hi), why))
        for cls, bad, why in checks:
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise cls(
                    f"value {plain(df[col].iloc[i])} {why} ({int(bad.sum())} such rows)",
                    file=src,
                    row=int(rows[i]),
                    column=col,
                )


def _is_derived_error(df: pd.DataFrame, col: str) -> bool:
    """`col` is 1 - accuracy row for row (the schema's derived error)."""
    if "accuracy" not in df.columns or not pd.api.types.is_numeric_dtype(df["accuracy"]):
        return False
    acc = df["accuracy"].to_numpy(dtype=float)
    err = df[col].to_numpy(dtype=float)
    return bool(np.allclose(1.0 - acc, err, equal_nan=True))


def user_column(df: pd.DataFrame, name: str, option: str) -> str:
    """The column the user means by `name` (their own spelling or its canonical form)."""
    found = resolve_column(df, name)
    if found is None:
        raise MissingColumnError(
            f"{option} '{name}' is not in the data (columns: {', '.join(map(str, df.columns))})",
            column=name,
            file=source_of(df),
        )
    return found


def run_ids(df: pd.DataFrame, run_col: str | None = None) -> pd.Series | None:
    """The run of every row: `run_col` (the user's name, resolved), else `run` / `run_id`,
    else, in a table of checkpoints, the model id without its revision; None when the table
    names no run (each row is then its own run)."""
    if run_col:
        return df[user_column(df, run_col, "--run-col")].astype(str)
    for c in RUN_COLUMNS:
        if c in df.columns:
            return df[c].astype(str)
    if "model" in df.columns:
        models = df["model"].astype(str)
        uniq = {m: _STEP_IN_NAME.sub("", _REVISION.sub("", m)) or m for m in models.unique()}
        # a model column names runs only in a table of checkpoints (a step or revision
        # column, or revisions in the ids); elsewhere it can name a base model shared by
        # many runs (fine-tuning sizes, methods)
        if {"step", "revision"} & set(df.columns) or any(k != v for k, v in uniq.items()):
            return models.map(uniq)
    return None


def _order_key(df: pd.DataFrame) -> str | None:
    return next((c for c in ("step", "tokens") if c in df.columns), None)


def last_checkpoints(df: pd.DataFrame, runs: pd.Series) -> pd.DataFrame:
    """Each run's last checkpoint (largest step, else tokens, else its last row)."""
    key = _order_key(df)
    if key is None:
        return df[~runs.duplicated(keep="last")]
    order = df[key].to_numpy(dtype=float)
    tmp = pd.DataFrame({"run": runs.to_numpy(), "k": np.nan_to_num(order, nan=-np.inf)})
    tmp["pos"] = np.arange(len(df))
    pick = tmp.sort_values(["run", "k", "pos"], kind="stable").groupby("run").tail(1)["pos"]
    return df.iloc[np.sort(pick.to_numpy())]


def select_checkpoints(
    df: pd.DataFrame,
    *,
    run_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Drop warm-up checkpoints (tokens < min_tokens, step < min_step) and, with
    `final_only`, keep each run's last checkpoint. Returns the rows and what was dropped."""
    notes: list[str] = []
    for col, bound, opt in (
        ("tokens", min_tokens, "--min-tokens"),
        ("step", min_step, "--min-step"),
    ):
        if bound is None:
            continue
        if col not in df.columns:
            raise MissingColumnError(
                f"{opt} needs a '{col}' column", column=col, file=source_of(df)
            )
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        keep = v >= bound  # a missing value is no evidence of being past warm-up
        n_drop = int((~keep).sum())
        if keep.sum() == 0:
            raise DataError(f"{opt} {bound:g} drops every row", column=col, file=source_of(df))
        runs = run_ids(df, run_col)
        n_runs = runs[~keep].nunique() if runs is not None else n_drop
        notes.append(
            f"{opt} {bound:g}: dropped {n_drop} warm-up checkpoint(s) of {n_runs} run(s) "
            f"({col} < {bound:g} or missing)"
        )
        df = df[keep]
    if final_only:
        runs = run_ids(df, run_col)
        if runs is None:
            raise DataError(
                "--final-only needs to know which rows are one run: give --run-col, or a "
                "'run' or 'model' column",
                file=source_of(df),
            )
        last = last_checkpoints(df, runs)
        notes.append(
            f"--final-only: kept the last checkpoint of each of {len(last)} run(s) "
            f"({len(df) - len(last)} earlier checkpoint(s) dropped)"
        )
        df = last
    return df, notes


def flops_per_run(df: pd.DataFrame, runs: pd.Series | None) -> float:
    """Training compute of the runs behind these rows, each run counted once at its
    largest checkpoint (6·N·D where no flops column)."""
    if "flops" in df.columns:
        f = pd.to_numeric(df["flops"], errors="coerce")
    elif {"n_params", "tokens"} <= set(df.columns):
        f = (
            6.0
            * pd.to_numeric(df["n_params"], errors="coerce")
            * pd.to_numeric(df["tokens"], errors="coerce")
        )
    else:
        return float("nan")
    if runs is None:
        return float(np.nansum(f.to_numpy(dtype=float)))
    return float(np.nansum(f.groupby(runs.to_numpy()).max().to_numpy(dtype=float)))


def whole_runs(mask: np.ndarray, runs: pd.Series | None) -> np.ndarray:
    """`mask` widened to every row of each run it touches (a held-out run is held out
    with all its checkpoints)."""
    if runs is None:
        return np.asarray(mask, dtype=bool)
    touched = set(runs[np.asarray(mask, dtype=bool)])
    return runs.isin(touched).to_numpy()


def describe_runs(df: pd.DataFrame, runs: pd.Series | None) -> str:
    """'7 runs, 189 checkpoints' (or 'N runs' when each row is one)."""
    if runs is None or runs.nunique() == len(df):
        return f"{len(df)} runs"
    return f"{runs.nunique()} runs, {len(df)} checkpoints"
