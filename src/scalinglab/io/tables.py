"""Tidy tables: CSV, TSV, Parquet, JSONL -> a DataFrame in the scalinglab schema.

Cells may carry unit suffixes (1.4B, 900B, 20K); aliases (N, D, C, params, ...) become
canonical names; derived columns (flops = 6ND, tokens_per_param, error) are filled. Problems
are named errors that cite the file, row/line and column.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..errors import DataError, FileFormatError
from ..schema import (
    CATEGORICAL,
    METRICS,
    VARIABLES,
    add_derived,
    canonicalise,
    looks_numeric,
    numeric_column,
    validate,
)

_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FileFormatError(
                    f"not valid JSON ({exc.msg})", file=str(path), line=lineno
                ) from None
            if not isinstance(rec, dict):
                raise FileFormatError(
                    "each JSONL line must be a JSON object", file=str(path), line=lineno
                )
            records.append(rec)
    return pd.DataFrame.from_records(records)


def _read_raw(path: Path, fmt: str) -> pd.DataFrame:
    if fmt in ("csv", "tsv"):
        try:
            return pd.read_csv(
                path,
                sep="," if fmt == "csv" else "\t",
                skipinitialspace=True,
            )
        except pd.errors.EmptyDataError:
            raise DataError("file is empty (no header, no rows)", file=str(path)) from None
        except pd.errors.ParserError as exc:
            raise FileFormatError(f"cannot parse as {fmt.upper()}: {exc}", file=str(path)) from None
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise FileFormatError(
                "reading Parquet needs pyarrow: pip install 'scalinglab[parquet]'", file=str(path)
            ) from None
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid and friends
            raise FileFormatError(f"not a readable Parquet file ({exc})", file=str(path)) from None
    if fmt == "jsonl":
        return _read_jsonl(path)
    if fmt == "json":
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FileFormatError(
                f"not valid JSON ({exc.msg})", file=str(path), line=exc.lineno
            ) from None
        if isinstance(obj, list):
            return pd.DataFrame.from_records(obj)
        raise FileFormatError(
            "a .json table must be a list of records (or use .jsonl)", file=str(path)
        )
    raise FileFormatError(f"unknown format {fmt!r}", file=str(path))


def read_table(path: str | Path, *, format: str | None = None, raw: bool = False) -> pd.DataFrame:
    """Read one table file into the scalinglab schema (see module docstring). raw: the file's
    own columns, no renames or derived columns (to continue a file scalinglab wrote)."""
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", file=str(p))
    fmt = format or _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise FileFormatError(
            f"unknown file type '{p.suffix}'; use .csv, .tsv, .parquet or .jsonl", file=str(p)
        )
    if p.stat().st_size == 0:
        raise DataError("file is empty (no header, no rows)", file=str(p))
    df = _read_raw(p, fmt)
    if df.shape[1] == 0:
        raise DataError("file has no columns", file=str(p))
    if len(df) == 0:
        raise DataError(
            f"file has a header ({', '.join(map(str, df.columns))}) but no rows", file=str(p)
        )
    if raw:
        return df
    return to_schema(df, source=str(p), line_offset=2 if fmt in ("csv", "tsv") else 1)


def to_schema(
    df: pd.DataFrame, *, source: str | None = None, line_offset: int | None = None
) -> pd.DataFrame:
    """Canonical names, numeric columns (suffixes parsed), derived columns."""
    original = [str(c) for c in df.columns]
    df = canonicalise(df.reset_index(drop=True), file=source)
    renamed = {new: old for old, new in zip(original, df.columns, strict=True) if old != new}
    for col in df.columns:
        s = df[col]
        if col in VARIABLES or col in METRICS:
            df[col] = numeric_column(s, col, file=source, line_offset=line_offset)
        elif col not in CATEGORICAL and not pd.api.types.is_numeric_dtype(s) and looks_numeric(s):
            try:  # other columns become numeric only if every cell parses
                df[col] = numeric_column(s, col, file=source)
            except DataError:
                pass
    validate(df, file=source, line_offset=line_offset)
    before = set(df.columns)
    df = add_derived(df)
    df.attrs["scalinglab_source"] = source
    df.attrs["scalinglab_original"] = renamed
    df.attrs["scalinglab_derived"] = [c for c in df.columns if c not in before]
    return df


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write CSV, TSV, Parquet or JSONL, chosen by the file extension. Atomic: written beside
    the target and renamed over it, so a crash mid-write never leaves half a table."""
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    tmp = p.with_name(f".{p.name}.partial")
    if fmt == "csv":
        df.to_csv(tmp, index=False)
    elif fmt == "tsv":
        df.to_csv(tmp, index=False, sep="\t")
    elif fmt == "parquet":
        df.to_parquet(tmp, index=False)
    elif fmt == "jsonl":
        df.to_json(tmp, orient="records", lines=True)
    else:
        raise FileFormatError(
            f"cannot write '{p.suffix}': use .csv, .tsv, .parquet or .jsonl", file=str(p)
        )
    os.replace(tmp, p)
