"""The audit's result: held-out points and per-fold summaries, grouped per law and per factor
of a joint finetuning law (what `scalinglab audit` prints and the report tabulates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from ..diagnostics import Diagnostic
from ..results import Result, records


def _held_out_summary(pts: pd.DataFrame, keys: str | list[str]) -> pd.DataFrame:
    """Held-out points grouped by `keys`: count, mean absolute error, mean and max relative
    error, coverage. A point without an interval (--bootstrap 0) has unknown coverage, not
    0% (the per-fold table's '-')."""
    has_iv = pts["lower"].notna() & pts["upper"].notna()
    g = pts.assign(inside=pts["inside"].where(has_iv)).groupby(keys, sort=False)
    return pd.DataFrame(
        {
            "n_points": g.size(),
            "mad": g["abs_error"].mean(),
            "mean_rel_error": g["rel_error"].mean(),
            "max_rel_error": g["rel_error"].max(),
            "coverage": g["inside"].mean(),
        }
    )


@dataclass
class AuditResult(Result):
    """`points`: one row per (fold, law, held-out point); `folds`: one row per (fold, law)."""

    title: ClassVar[str] = "audit: error on held-out runs"
    kind: str
    points: pd.DataFrame
    folds: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def by_law(self) -> pd.DataFrame:
        """Held-out error per law across all folds: pick a law by this, not in-sample fit."""
        pts = self.points
        keys = ["task", "law"] if "task" in pts.columns else "law"
        return _held_out_summary(pts, keys)

    def by_factor(self) -> pd.DataFrame:
        """Held-out error per fold (the method, with `by`), law and factor of a joint
        finetuning law (Zhang et al.'s Table 2: which factor's extrapolation fails); empty
        when no audited law is one."""
        pts = self.points
        if "factor" not in pts.columns or pts["factor"].isna().all():
            return pd.DataFrame()
        pts = pts[pts["factor"].notna()]
        keys = [k for k in ("task", "fold", "law", "factor") if k in pts.columns]
        return _held_out_summary(pts, keys)

    def to_frame(self) -> pd.DataFrame:
        return self.points

    def summary(self) -> str:
        lines = [f"audit ({self.kind}): held-out error by law", self.by_law().to_string()]
        if not self.by_factor().empty:
            lines += ["held-out error by factor", self.by_factor().to_string()]
        lines += [f"{d.severity.upper():<8} [{d.code}] {d.message}" for d in self.diagnostics]
        return "\n".join(lines)

    def _own_diagnostics(self) -> list[Diagnostic]:
        if "converged" not in self.folds.columns:
            return []
        bad = self.folds[~self.folds["converged"].astype(bool)]
        return (
            [
                Diagnostic(
                    "not_converged",
                    "warning",
                    f"{len(bad)} of {len(self.folds)} fold fits did not converge cleanly "
                    "(their points are still scored)",
                )
            ]
            if len(bad)
            else []
        )

    def plot(self) -> Any:
        from ..plots import audit_figure

        return audit_figure(self.points)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "summary": records(self.folds),
            "by_law": records(self.by_law().reset_index()),
            "by_factor": records(self.by_factor().reset_index())
            if not self.by_factor().empty
            else [],
            "points": records(self.points),
            "notes": self.notes,
        }
