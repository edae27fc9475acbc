"""Join evaluation results to run metadata, reporting every row that found no partner."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..errors import DataError, MissingColumnError


@dataclass
class MergeReport:
    on: list[str]
    n_left: int
    n_right: int
    n_matched: int
    unmatched_left: list[str] = field(default_factory=list)  # keys only in the evals
    unmatched_right: list[str] = field(default_factory=list)  # keys only in the metadata

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
                + ", ".join(self.unmatched_left[:20])
                + (" ..." if len(self.unmatched_left) > 20 else "")
            )
        if self.unmatched_right:
            out.append(
                f"{len(self.unmatched_right)} metadata key(s) with no evals: "
                + ", ".join(self.unmatched_right[:20])
                + (" ..." if len(self.unmatched_right) > 20 else "")
            )
        return out


def _key(df: pd.DataFrame, on: list[str]) -> pd.Series:
    return df[on].astype(str).agg(" | ".join, axis=1)


def merge_runs(
    evals: pd.DataFrame,
    meta: pd.DataFrame,
    on: str | list[str],
    *,
    how: str = "inner",
    strict: bool = False,
) -> tuple[pd.DataFrame, MergeReport]:
    """Merge `evals` with `meta` on key column(s); the report lists unmatched keys both ways.

    how: "inner" (matched rows only; unmatched are reported, never silently lost), "left" or
    "outer". strict: raise if any key on either side is unmatched. Metadata keys must be
    unique (one run, one row), or the join would multiply eval rows.
    """
    on = [on] if isinstance(on, str) else list(on)
    for side, df in (("eval", evals), ("metadata", meta)):
        missing = [c for c in on if c not in df.columns]
        if missing:
            raise MissingColumnError(
                f"{side} table has no join column(s) {missing} (columns: "
                f"{', '.join(map(str, df.columns))})",
                column=missing[0],
            )
    mk = _key(meta, on)
    dup = mk[mk.duplicated(keep=False)]
    if not dup.empty:
        raise DataError(
            f"metadata has {dup.nunique()} duplicated key(s) on {on}, e.g. "
            f"{dup.iloc[0]!r}: one row per run is needed"
        )
    ek = _key(evals, on)
    left_only = sorted(set(ek) - set(mk))
    right_only = sorted(set(mk) - set(ek))
    report = MergeReport(
        on, len(evals), len(meta), int(ek.isin(set(mk)).sum()), left_only, right_only
    )
    if strict and not report.complete:
        raise DataError("merge is incomplete: " + "; ".join(report.lines()[1:]))
    if how not in ("inner", "left", "outer"):
        raise ValueError(f"how must be inner, left or outer, got {how!r}")
    overlap = [c for c in meta.columns if c in evals.columns and c not in on]
    merged = evals.merge(meta, on=on, how=how, suffixes=("", "_meta"), indicator=how != "inner")
    if overlap:
        merged.attrs["overlapping_columns"] = overlap
    return merged, report
