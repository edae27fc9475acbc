"""Join evaluation results to run metadata, reporting every row that found no partner.

The join is pandas' own (`DataFrame.merge`), vectorised: a blank key matches a blank key, as
in pandas, and the report says how many rows joined that way. Reading both files as written,
`--where` and the findings are `scalinglab.workflows.merge_files` (it needs the query layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, MissingColumnError
from ..schema import BadValues, numeric_column, validation_deferred

_SHOW_KEYS = 20


@dataclass
class MergeReport:
    """What a join of evals with run metadata matched and lost, so no row vanishes unseen.

    Attributes
    ----------
    on : list of str
        The key column(s).
    n_left, n_right : int
        Rows in the eval and metadata tables.
    n_matched : int
        Rows in the joined table.
    unmatched_left, unmatched_right : list of str
        Keys only in the evals / only in the metadata.
    n_blank_key_rows : int
        Matched rows whose key has a blank (a blank matched a blank).
    blank_key_columns : list of str
        The key columns holding those blanks.
    where : str or None
        The row query applied after the join (``scalinglab merge --where``), if any.
    n_before_where : int or None
        Rows before that query.
    n_written : int or None
        Rows written out.
    bad_values : list of BadValues
        Columns of the written table with values that break the column's rule (findings).
    notes : list of str
        Further findings to show the user.
    """

    on: list[str]
    n_left: int
    n_right: int
    n_matched: int
    unmatched_left: list[str] = field(default_factory=list)  # keys only in the evals
    unmatched_right: list[str] = field(default_factory=list)  # keys only in the metadata
    n_blank_key_rows: int = 0  # matched rows whose key has a blank (a blank matched a blank)
    blank_key_columns: list[str] = field(default_factory=list)
    where: str | None = None
    n_before_where: int | None = None
    n_written: int | None = None
    bad_values: list[BadValues] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unmatched_left and not self.unmatched_right

    def lines(self) -> list[str]:
        out = [
            f"joined on {', '.join(self.on)}: {self.n_matched} rows matched "
            f"({self.n_left} eval rows, {self.n_right} metadata rows)"
        ]
        if self.unmatched_left:
            out.append(
                f"{len(self.unmatched_left)} eval key(s) with no metadata: "
                + ", ".join(self.unmatched_left[:_SHOW_KEYS])
                + (" ..." if len(self.unmatched_left) > _SHOW_KEYS else "")
            )
        if self.unmatched_right:
            out.append(
                f"{len(self.unmatched_right)} metadata key(s) with no evals: "
                + ", ".join(self.unmatched_right[:_SHOW_KEYS])
                + (" ..." if len(self.unmatched_right) > _SHOW_KEYS else "")
            )
        return out

    def finding_lines(self) -> list[str]:
        """What the user should know beyond the match counts: blank keys, the --where
        selection, values that break the schema's rules (the table is written anyway)."""
        out = []
        if self.n_blank_key_rows:
            out.append(
                f"{self.n_blank_key_rows} row(s) joined on a blank "
                f"{'/'.join(self.blank_key_columns)} (a blank matches a blank, as in pandas)"
            )
        if self.where is not None:
            out.append(
                f"--where {self.where!r} kept {self.n_written} of {self.n_before_where} joined rows"
            )
        out.extend(self.notes)
        for b in self.bad_values:
            out.append(f"finding: {b.message()} (row numbers of the merged table)")
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "on": self.on,
            "n_left": self.n_left,
            "n_right": self.n_right,
            "n_matched": self.n_matched,
            "unmatched_left": self.unmatched_left,
            "unmatched_right": self.unmatched_right,
            "n_blank_key_rows": self.n_blank_key_rows,
            "where": self.where,
            "n_written": self.n_written,
            "bad_values": [b.to_dict() for b in self.bad_values],
            "notes": self.notes,
        }


def _show_key(values: tuple[object, ...]) -> str:
    return " | ".join("(blank)" if pd.isna(v) else str(v) for v in values)


def _align_keys(
    evals: pd.DataFrame, meta: pd.DataFrame, on: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make each key column comparable on both sides without changing what is written: a
    number on one side and text on the other ("1.4B" vs 1.4e9, "50" vs 50) are compared as
    numbers when the text parses, else both as text. Only the key columns are touched."""
    for col in on:
        a, b = evals[col], meta[col]
        na, nb = pd.api.types.is_numeric_dtype(a), pd.api.types.is_numeric_dtype(b)
        if na and nb:
            if a.dtype != b.dtype:  # int64 step vs Int64 (blanks) or float64: one dtype
                both_int = pd.api.types.is_integer_dtype(a) and pd.api.types.is_integer_dtype(b)
                kind = "Int64" if both_int else "float64"  # whole steps stay whole
                evals = evals.assign(**{col: a.astype(kind)})
                meta = meta.assign(**{col: b.astype(kind)})
            continue
        if na != nb:
            try:
                a2 = numeric_column(a, col) if not na else a.astype("float64")
                b2 = numeric_column(b, col) if not nb else b.astype("float64")
            except DataError:
                a2 = a.where(a.isna(), a.astype(str))
                b2 = b.where(b.isna(), b.astype(str))
            evals, meta = evals.assign(**{col: a2}), meta.assign(**{col: b2})
    return evals, meta


def merge_runs(
    evals: pd.DataFrame,
    meta: pd.DataFrame,
    on: str | list[str],
    *,
    how: str = "inner",
    strict: bool = False,
) -> tuple[pd.DataFrame, MergeReport]:
    """Merge `evals` with `meta` on key column(s); the report lists unmatched keys both ways.

    Metadata keys must be unique (one run, one row), or the join would multiply eval rows.
    Blank keys match blank keys (pandas' rule); the report counts the rows joined that way.

    Parameters
    ----------
    evals : DataFrame
        The evaluation rows (one or more per run).
    meta : DataFrame
        Run metadata, one row per key.
    on : str or list of str
        The key column(s), present in both tables.
    how : {'inner', 'left', 'outer'}, default 'inner'
        "inner" keeps matched rows only (unmatched are reported, never silently lost).
    strict : bool, default False
        Raise if any key on either side is unmatched.

    Returns
    -------
    tuple of (DataFrame, MergeReport)
        The joined table and what the join matched and left out.
    """
    on = [on] if isinstance(on, str) else list(on)
    if how not in ("inner", "left", "outer"):
        raise ValueError(f"how must be inner, left or outer, got {how!r}")
    for side, df in (("eval", evals), ("metadata", meta)):
        missing = [c for c in on if c not in df.columns]
        if missing:
            raise MissingColumnError(
                f"{side} table has no join column(s) {missing} (columns: "
                f"{', '.join(map(str, df.columns))})",
                column=missing[0],
            )
    ev, mt = _align_keys(evals, meta, on)
    dup = mt.duplicated(subset=on, keep=False)
    if dup.any():
        first = mt.loc[dup, on].iloc[0]
        n_dup = int(mt.loc[dup, on].drop_duplicates().shape[0])
        raise DataError(
            f"metadata has {n_dup} duplicated key(s) on {on}, e.g. "
            f"{_show_key(tuple(first))!r} ({int(dup.sum())} rows): one row per run is needed"
        )
    # One left join with an indicator gives the matched rows and the eval-only keys; the
    # metadata-only keys come from the (small) unique key tables.
    joined = ev.merge(mt, on=on, how="left", suffixes=("", "_meta"), indicator="_merge")
    matched = (joined["_merge"] == "both").to_numpy()
    left_keys = joined.loc[~matched, on].drop_duplicates()
    ek = ev[on].drop_duplicates()
    right = mt[on].merge(ek, on=on, how="left", indicator="_side")
    right_keys = right.loc[right["_side"] == "left_only", on]
    blank = joined[on].isna().to_numpy() & matched[:, None]
    report = MergeReport(
        on,
        len(evals),
        len(meta),
        int(matched.sum()),
        sorted(_show_key(tuple(k)) for k in left_keys.itertuples(index=False)),
        sorted(_show_key(tuple(k)) for k in right_keys.itertuples(index=False)),
        n_blank_key_rows=int(blank.any(axis=1).sum()),
        blank_key_columns=[c for c, b in zip(on, blank.any(axis=0), strict=True) if b],
    )
    if strict and not report.complete:
        raise DataError("merge is incomplete: " + "; ".join(report.lines()[1:]))
    if how == "inner":
        merged = joined[matched].drop(columns="_merge").reset_index(drop=True)
    elif how == "left":
        merged = joined
    else:
        merged = ev.merge(mt, on=on, how="outer", suffixes=("", "_meta"), indicator=True)
    overlap = [c for c in meta.columns if c in evals.columns and c not in on]
    if overlap:
        merged.attrs["overlapping_columns"] = overlap
    return merged, report


def integers_as_written(df: pd.DataFrame) -> pd.DataFrame:
    """A column of whole numbers with blanks (step: 50, 100, blank) is read by pandas as
    floats and would be written back as 50.0; keep it whole (nullable integers)."""
    for col in df.columns:
        s = df[col]
        if s.dtype != "float64" or not s.hasnans:
            continue
        v = s.to_numpy()
        fin = v[~np.isnan(v)]
        if fin.size and np.all(np.isfinite(fin)) and np.all(fin == np.round(fin)):
            if np.abs(fin).max() < 2**53:
                df[col] = s.astype("Int64")
    return df


def schema_view(df: pd.DataFrame) -> pd.DataFrame:
    """The merged table as scalinglab reads it (canonical names, parsed numbers), for the
    --where selection and the findings; the table written keeps the files' own values."""
    from .tables import to_schema

    with validation_deferred():
        return to_schema(df.copy())
