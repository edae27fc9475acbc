"""`scalinglab merge` as a function: two files joined as written, rows selected with a safe
query, values that break the schema's rules reported as findings (never a refused table)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError, MissingColumnError
from ..io.merge import MergeReport, integers_as_written, merge_runs, schema_view
from ..io.tables import read_table
from ..query import mask as query_mask
from ..schema import find_bad_values


def merge_files(
    evals: str | Path,
    meta: str | Path,
    on: str | list[str],
    *,
    how: str = "inner",
    strict: bool = False,
    where: str | None = None,
) -> tuple[pd.DataFrame, MergeReport]:
    """`scalinglab merge` as a function: read both files as written, join (`merge_runs`),
    keep the rows `where` selects (a safe query over the joined columns, names and numbers
    as scalinglab reads them: `tokens > 0`, `n_params >= 1e9`), then report values that
    break the schema's rules (count, first rows, column) as findings. The joined table keeps
    every value as written in the files."""
    on = [c.strip() for c in on.split(",")] if isinstance(on, str) else list(on)
    left = integers_as_written(read_table(evals, raw=True))
    right = integers_as_written(read_table(meta, raw=True))
    for side, df in ((evals, left), (meta, right)):
        missing = [c for c in on if c not in df.columns]
        if missing:
            raise MissingColumnError(
                f"no join column(s) {missing} (columns: {', '.join(map(str, df.columns))}); "
                "--on names columns as the files write them",
                file=str(side),
                column=missing[0],
            )
    merged, report = merge_runs(left, right, on, how=how, strict=strict)
    try:
        view = schema_view(merged)
    except DataError as exc:
        if where:
            raise
        report.notes.append(f"finding: {exc} (the merged table is written as it is)")
        return merged, report
    if where:
        keep = query_mask(view, where)
        report.where, report.n_before_where = where, len(merged)
        merged = merged[keep].reset_index(drop=True)
        view = view[keep].reset_index(drop=True)
        if merged.empty:
            raise DataError(f"--where {where!r} selects no rows (of {report.n_before_where})")
    report.n_written = len(merged)
    derived = set(view.attrs.get("scalinglab_derived", []))  # flops from a bad tokens: noise
    report.bad_values = find_bad_values(view, columns=[c for c in view.columns if c not in derived])
    return merged, report
