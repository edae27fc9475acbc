"""Tidy tables: CSV, TSV, Parquet, JSONL -> a DataFrame in the scalinglab schema.

Cells may carry unit suffixes (1.4B, 900B, 20K); aliases (N, D, C, params, ...) become
canonical names; derived columns (flops = 6ND, tokens_per_param, error) are filled. Problems
are named errors that cite the file, row/line and column.
"""

from __future__ import annotations

import csv
import json
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, DuplicateColumnError, FileFormatError
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
from .encoding import Detected, ReadNote, detect, legacy, open_text
from .safe_write import atomic_write

_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
_COMPRESSION_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz")


def _format_of(p: Path) -> str | None:
    """The table format from the name; a compression suffix (runs.csv.gz) is looked past."""
    suffixes = [s.lower() for s in p.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    return _FORMATS.get(suffixes[-1]) if suffixes else None


def _json_loads(text: str, path: Path, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"not valid JSON ({exc.msg})", file=str(path), line=line or exc.lineno
        ) from None
    except RecursionError:
        raise FileFormatError(
            "JSON nested too deeply to be a table (a table holds one number or text per cell)",
            file=str(path),
            line=line,
        ) from None


def _read_jsonl(path: Path, det: Detected) -> pd.DataFrame:
    records = []
    with open_text(path, det) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            rec = _json_loads(line, path, lineno)
            if not isinstance(rec, dict):
                raise FileFormatError(
                    "each JSONL line must be a JSON object", file=str(path), line=lineno
                )
            records.append(rec)
    return pd.DataFrame.from_records(records)


def _check_header(path: Path, det: Detected, sep: str) -> None:
    """Two columns with one name: pandas would rename the second 'loss.1' and the first
    would be used without a word. Named here, with both positions."""
    try:
        with open_text(path, det) as fh:
            first = fh.readline()
        header = next(csv.reader([first], delimiter=sep, skipinitialspace=True))
    except UnicodeDecodeError:
        raise  # named by the reader with the position and encoding
    except UnicodeError as exc:  # e.g. --encoding utf-16 on a file with no BOM
        raise FileFormatError(
            f"cannot be read in the encoding given ({exc}); drop --encoding to let "
            "scalinglab detect it",
            file=str(path),
        ) from None
    except (csv.Error, StopIteration):
        return
    names = [h.strip() for h in header]
    dup = [n for n, k in Counter(names).items() if k > 1 and n]
    if dup:
        where = [i + 1 for i, n in enumerate(names) if n == dup[0]]
        raise DuplicateColumnError(
            f"the header names column '{dup[0]}' {len(where)} times (positions "
            f"{', '.join(map(str, where))}); rename all but one",
            file=str(path),
            column=dup[0],
        )


def _read_csv(path: Path, fmt: str, det: Detected) -> pd.DataFrame:
    sep = "," if fmt == "csv" else "\t"
    _check_header(path, det, sep)
    return pd.read_csv(
        path,
        sep=sep,
        skipinitialspace=True,
        encoding=det.encoding,
        compression=det.compression,
    )


def _note(det: Detected) -> None:
    if det.note:
        warnings.warn(det.note, ReadNote, stacklevel=4)


def _read_text_format(path: Path, fmt: str, det: Detected) -> pd.DataFrame:
    if fmt in ("csv", "tsv"):
        return _read_csv(path, fmt, det)
    if fmt == "jsonl":
        return _read_jsonl(path, det)
    with open_text(path, det) as fh:
        obj = _json_loads(fh.read(), path)
    if isinstance(obj, list):
        if not all(isinstance(r, dict) for r in obj):
            raise FileFormatError("a .json table must be a list of objects", file=str(path))
        return pd.DataFrame.from_records(obj)
    raise FileFormatError("a .json table must be a list of records (or use .jsonl)", file=str(path))


def _read_raw(path: Path, fmt: str, encoding: str | None = None) -> pd.DataFrame:
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
    if fmt not in ("csv", "tsv", "jsonl", "json"):
        raise FileFormatError(f"unknown format {fmt!r}", file=str(path))
    det = detect(path, encoding)
    try:
        try:
            df = _read_text_format(path, fmt, det)
        except UnicodeDecodeError:
            if encoding or det.encoding != "utf-8":
                raise
            det = legacy(path, det.compression)  # invalid UTF-8 past the sampled start
            df = _read_text_format(path, fmt, det)
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"cannot be decoded as {det.encoding} ({exc.reason} at byte {exc.start}); give "
            "the file's encoding: scalinglab --encoding ENCODING ...",
            file=str(path),
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError("file is empty (no header, no rows)", file=str(path)) from None
    except pd.errors.ParserError as exc:
        raise FileFormatError(f"cannot parse as {fmt.upper()}: {exc}", file=str(path)) from None
    except (EOFError, OSError) as exc:  # a damaged compressed stream, a read error
        raise FileFormatError(f"cannot read ({exc})", file=str(path)) from None
    _note(det)
    df.attrs["scalinglab_encoding"] = det.encoding
    return df


def _nested(v: Any) -> bool:
    return isinstance(v, (dict, list, tuple, set, np.ndarray))


def check_flat(df: pd.DataFrame, source: str | None = None) -> None:
    """Every cell one number or text: a nested value (a JSON object or list, a Parquet
    list/struct/map column) is a named error naming the column and row."""
    for col in df.columns:
        s = df[col]
        if s.dtype != object:
            continue
        bad = s.map(_nested).to_numpy(dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            kind = type(s.iloc[i]).__name__
            kind = {"ndarray": "list", "tuple": "list"}.get(kind, kind)
            raise FileFormatError(
                f"column '{col}' holds nested values (a {kind} at row {i + 1}, "
                f"{int(bad.sum())} rows); a table needs one number or text per cell: "
                "flatten it (e.g. pandas.json_normalize) or drop the column",
                file=source,
                column=str(col),
            )


def read_table(
    path: str | Path,
    *,
    format: str | None = None,
    raw: bool = False,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read one table file into the scalinglab schema (see the module docstring).

    Column names are mapped to canonical names (``N`` -> ``n_params``, ``val_loss`` ->
    ``loss``), number-like text (``70B``, ``1.4T``) is parsed, and derived columns (flops,
    tokens_per_param) are added; every value is checked with errors naming file, row and
    column.

    Parameters
    ----------
    path : str or path
        A CSV, TSV, Parquet or JSONL file (gzip, bz2 and xz are read as they are).
    format : str, optional
        The format when the suffix does not say ("csv", "tsv", "parquet", "jsonl").
    raw : bool, default False
        The file's own columns, no renames or derived columns (to continue a file
        scalinglab wrote).
    encoding : str, optional
        The text encoding (default: detected; see `scalinglab.io.encoding`).

    Returns
    -------
    pandas.DataFrame
        With ``attrs["scalinglab_source"]`` naming the file.

    Examples
    --------
    >>> import scalinglab as sl
    >>> df = sl.read_table("runs.csv")                          # doctest: +SKIP
    """
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", file=str(p))
    if p.is_dir():
        raise DataError("is a folder, not a table file", file=str(p))
    fmt = format or _format_of(p)
    if fmt is None:
        raise FileFormatError(
            f"unknown file type '{p.suffix}'; use .csv, .tsv, .parquet or .jsonl", file=str(p)
        )
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise DataError(f"cannot read ({exc.strerror or exc})", file=str(p)) from None
    if size == 0:
        raise DataError("file is empty (no header, no rows)", file=str(p))
    df = _read_raw(p, fmt, encoding)
    if df.shape[1] == 0:
        raise DataError("file has no columns", file=str(p))
    if len(df) == 0:
        raise DataError(
            f"file has a header ({', '.join(map(str, df.columns))}) but no rows", file=str(p)
        )
    check_flat(df, str(p))
    if raw:
        return df
    enc = df.attrs.get("scalinglab_encoding")
    df = to_schema(df, source=str(p), line_offset=2 if fmt in ("csv", "tsv") else 1)
    if enc:
        df.attrs["scalinglab_encoding"] = enc
    return df


def to_schema(
    df: pd.DataFrame, *, source: str | None = None, line_offset: int | None = None
) -> pd.DataFrame:
    """Canonical names, numeric columns (suffixes parsed), derived columns: the one step
    every reader ends with, so all tables reach the fitter in the same shape.

    Parameters
    ----------
    df : DataFrame
        A table as read, with the user's column names and text cells.
    source : str, optional
        The file it came from, named in errors and kept in ``attrs``.
    line_offset : int, optional
        Added to a row's position to give its line in the file, for error messages.

    Returns
    -------
    DataFrame
        A new table: canonical column names, numeric columns parsed and validated, derived
        columns (e.g. ``flops``) added; ``attrs`` record the source and the renames.
    """
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
    df = add_derived(df.copy())  # one block again after the column-by-column conversion
    df.attrs["scalinglab_source"] = source
    df.attrs["scalinglab_original"] = renamed
    df.attrs["scalinglab_derived"] = [c for c in df.columns if c not in before]
    return df


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write CSV, TSV, Parquet or JSONL, chosen by the file extension. Atomic and safe
    (scalinglab.io.safe_write): a uniquely named temporary file in the target's folder,
    fsynced and renamed over the target, so a crash or a full disk never leaves half a table
    and a symbolic link (at the target or a planted temporary name) is never written through.
    Replaces an existing file: commands check with `check_output` (--force) first."""
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt not in ("csv", "tsv", "parquet", "jsonl"):
        raise FileFormatError(
            f"cannot write '{p.suffix}': use .csv, .tsv, .parquet or .jsonl", file=str(p)
        )
    if fmt == "parquet":
        with atomic_write(p, "wb") as fh:
            df.to_parquet(fh, index=False)
        return
    with atomic_write(p, "w", newline="") as fh:
        if fmt == "jsonl":
            df.to_json(fh, orient="records", lines=True)
        else:
            df.to_csv(fh, index=False, sep="," if fmt == "csv" else "\t")
