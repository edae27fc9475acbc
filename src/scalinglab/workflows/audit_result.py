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


def fold_codes(diags: Any) -> str:
    """A fold's findings as its codes, for the per-fold tables' column.

    Parameters
    ----------
    diags : list of dict or other
        A fold's ``diagnostics`` cell (anything else: none).

    Returns
    -------
    str
        ``"at_bound, few_dof"``; ``""`` when none.
    """
    if not isinstance(diags, list):
        return ""
    return ", ".join(dict.fromkeys(str(d["code"]) for d in diags))


def fold_findings(folds: pd.DataFrame) -> list[Diagnostic]:
    """Per (task,) law and finding: which fold fits have it, with what each fold's fit says.

    Why: a fold whose parameter sits on its bound can predict an accuracy of 5.26 while its
    fit 'converged'; the audit's verdict rests on such folds, so it must say which they are.

    Parameters
    ----------
    folds : pandas.DataFrame
        `AuditResult.folds`, with a ``diagnostics`` column of each fold fit's warnings and
        errors (as `Diagnostic.to_dict` gives them).

    Returns
    -------
    list of Diagnostic
        One per (task, law, code, severity), its message naming the folds.
    """
    if "diagnostics" not in folds.columns:
        return []
    groups: dict[tuple[str, str, str, str], list[tuple[str, dict[str, Any]]]] = {}
    totals: dict[tuple[str, str], int] = {}
    for _, r in folds.iterrows():
        who = (str(r["task"]) if "task" in r.index else "", str(r["law"]))
        totals[who] = totals.get(who, 0) + 1
        for d in r["diagnostics"] if isinstance(r["diagnostics"], list) else []:
            key = (*who, str(d["code"]), str(d["severity"]))
            groups.setdefault(key, []).append((str(r["fold"]), d))
    out = []
    for (task, law, code, severity), hits in groups.items():
        per_fold: dict[str, list[str]] = {}
        for f, d in hits:
            msgs = per_fold.setdefault(f, [])
            if str(d["message"]) not in msgs:
                msgs.append(str(d["message"]))
        alike: dict[str, list[str]] = {}  # folds that say the same, together
        for f, msgs in per_fold.items():
            alike.setdefault("; ".join(msgs), []).append(f)
        said = "; ".join(f"{', '.join(fs)}: {text}" for text, fs in alike.items())
        params = tuple(dict.fromkeys(p for _, d in hits for p in d.get("params", [])))
        label = f"{task} / {law}" if task else law
        out.append(
            Diagnostic(
                code,
                severity,
                f"{label}: {len(per_fold)} of {totals[(task, law)]} fold fits: {said}",
                params,
            )
        )
    return out


@dataclass
class AuditResult(Result):
    """`points`: one row per (fold, law, held-out point); `folds`: one row per (fold, law).

    Built by `scalinglab.audit`.

    Attributes
    ----------
    kind : str
        The audit's mode: ``"holdout"``, ``"leave_largest_out"``, ``"leave_one_group_out"``
        or ``"largest_per_factor"``.
    points : pandas.DataFrame
        Per held-out point: ``fold``, ``law``, ``row``, the law's input columns, ``truth``,
        ``prediction``, ``abs_error``, ``rel_error``, ``lower``/``upper`` (NaN without a
        bootstrap), ``inside``, ``compute_ratio``; ``factor`` for a joint finetuning law,
        ``distance`` (orders of magnitude beyond the fitted scales) when leaving the
        largest out, ``task`` per task of a long table.
    folds : pandas.DataFrame
        Per fold and law: ``n_fit``, ``n_test``, the errors, ``coverage``, the fit's FLOPs
        and compute ratio, ``converged``, ``warnings``, ``diagnostics`` (the fit's warnings
        and errors, structured) and ``params``.
    notes : list of str
        What was left out and why (rows without a prediction, tasks not audited).
    """

    title: ClassVar[str] = "audit: error on held-out runs"
    kind: str
    points: pd.DataFrame
    folds: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def by_law(self) -> pd.DataFrame:
        """Held-out error per law across all folds: pick a law by this, not in-sample fit.

        Returns
        -------
        pandas.DataFrame
            Indexed by law (by task and law for a long table): ``n_points``, ``mad`` (mean
            absolute error), ``mean_rel_error``, ``max_rel_error`` and ``coverage`` (the
            share of points inside their interval; NaN where none was computed).

        Examples
        --------
        >>> aud = sl.audit("runs.csv", "chinchilla", leave_largest_out="n_params")  # doctest: +SKIP
        >>> aud.by_law()["mean_rel_error"]  # doctest: +SKIP
        """
        pts = self.points
        keys = ["task", "law"] if "task" in pts.columns else "law"
        return _held_out_summary(pts, keys)

    def by_factor(self) -> pd.DataFrame:
        """Held-out error per fold (the method, with `by`), law and factor of a joint
        finetuning law (Zhang et al.'s Table 2: which factor's extrapolation fails); empty
        when no audited law is one.

        Returns
        -------
        pandas.DataFrame
            Indexed by (task,) fold, law and factor, with the columns of `by_law`; empty
            when no audited law is a joint finetuning law.

        Examples
        --------
        >>> aud = sl.audit("ft.csv", "finetune_joint", largest_per_factor=True)  # doctest: +SKIP
        >>> aud.by_factor()  # doctest: +SKIP
        """
        pts = self.points
        if "factor" not in pts.columns or pts["factor"].isna().all():
            return pd.DataFrame()
        pts = pts[pts["factor"].notna()]
        keys = [k for k in ("task", "fold", "law", "factor") if k in pts.columns]
        return _held_out_summary(pts, keys)

    def to_frame(self) -> pd.DataFrame:
        """The held-out points (`points`): one row per fold, law and held-out row.

        Returns
        -------
        pandas.DataFrame
            The `points` table itself (not a copy).

        Examples
        --------
        >>> aud = sl.audit("runs.csv", "chinchilla", leave_largest_out="n_params")  # doctest: +SKIP
        >>> aud.to_frame()[["law", "truth", "prediction", "inside"]]  # doctest: +SKIP
        """
        return self.points

    def summary(self) -> str:
        """Plain text: held-out error by law (and by factor when there is one), then the
        findings.

        Returns
        -------
        str

        Examples
        --------
        >>> aud = sl.audit("runs.csv", "chinchilla", leave_largest_out="n_params")  # doctest: +SKIP
        >>> print(aud.summary())  # doctest: +SKIP
        """
        lines = [f"audit ({self.kind}): held-out error by law", self.by_law().to_string()]
        if not self.by_factor().empty:
            lines += ["held-out error by factor", self.by_factor().to_string()]
        lines += [f"{d.severity.upper():<8} [{d.code}] {d.message}" for d in self.diagnostics]
        return "\n".join(lines)

    def _own_diagnostics(self) -> list[Diagnostic]:
        if "converged" not in self.folds.columns:
            return []
        bad = self.folds[~self.folds["converged"].astype(bool)]
        out = (
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
        return out + fold_findings(self.folds)

    def plot(self) -> Any:
        """Every held-out point's prediction against its measurement, one colour per law.

        Returns
        -------
        plotly.graph_objects.Figure

        Examples
        --------
        >>> aud = sl.audit("runs.csv", "chinchilla", leave_largest_out="n_params")  # doctest: +SKIP
        >>> aud.plot().write_html("audit.html")  # doctest: +SKIP
        """
        from ..plots import audit_figure

        return audit_figure(self.points)

    def to_dict(self) -> dict[str, Any]:
        """The audit as JSON-ready data (the body of ``scalinglab audit --json``).

        Returns
        -------
        dict
            ``kind``, ``summary`` (the per-fold rows, each with its fit's ``diagnostics``),
            ``by_law``, ``by_factor``, ``points``, ``notes`` and ``diagnostics`` (per law,
            which folds' fits have which findings), numbers exactly as stored.

        Examples
        --------
        >>> aud = sl.audit("runs.csv", "chinchilla", leave_largest_out="n_params")  # doctest: +SKIP
        >>> aud.to_dict()["by_law"]  # doctest: +SKIP
        """
        return {
            "kind": self.kind,
            "summary": records(self.folds),
            "by_law": records(self.by_law().reset_index()),
            "by_factor": records(self.by_factor().reset_index())
            if not self.by_factor().empty
            else [],
            "points": records(self.points),
            "notes": self.notes,
            "diagnostics": [d.to_dict() for d in self.findings],
        }
