"""One audit from options, as `scalinglab audit` runs it: the laws (catalog names, an
expression law, fixed parameters), the mode (holdout, leave-largest-out, leave-one-group-out,
largest-per-factor, per task of a long table), which count N is, and the run of every
held-out point. The command only parses its options, calls `run_audit` and renders the
result (issue 16: parse -> call -> render), so a notebook gets the same audit, refused for
the same reasons with the same messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..laws import expression_law, get_law
from ..laws.base import Law
from . import audit as audit_mod
from .audit_result import AuditResult
from .checkpoints import run_ids, user_column
from .n_column import check_no_map_conflict, replace_n


@dataclass
class AuditRun:
    """An audit as the CLI prints it: the result (its points with the run of each held-out
    row, its notes with which count N is) and the N column used (None: no law reads N)."""

    result: AuditResult
    n_params_col: str | None

    def to_dict(self) -> dict[str, Any]:
        """What `scalinglab audit --json` prints."""
        return {**self.result.to_dict(), "n_params_col": self.n_params_col}


def audit_laws(
    law_names: Sequence[str] = (),
    expr: str | None = None,
    params: Mapping[str, Any] | None = None,
    fixes: Mapping[str, float] | None = None,
    metric: str | None = None,
) -> list[Law]:
    """The laws of an audit (or a report): catalog names, an expression law (`expr` with the
    parameter specs `params`, as `expression_law` takes them), each with `fixes` applied
    where it has the parameter (a fix no law has is an error, not ignored)."""
    if not law_names and not expr:
        raise DataError("give at least one --law NAME or an --expr EXPRESSION to audit")
    if params and not expr:
        raise DataError("--param gives the bounds of an --expr law; add --expr")
    laws: list[Law] = [get_law(n) for n in law_names]
    if expr:
        laws.append(expression_law(expr, dict(params or {}), metric=metric or "y", space="log"))
    if fixes:
        values = dict(fixes)
        unused = [n for n in values if not any(n in lw.param_names for lw in laws)]
        if unused:
            raise DataError(
                f"--fix {', '.join(unused)}: no audited law has such a parameter "
                f"({'; '.join(f'{lw.name}: ' + ', '.join(lw.param_names) for lw in laws)})"
            )
        laws = [
            lw.fix(**{k: v for k, v in values.items() if k in lw.param_names})
            if any(k in lw.param_names for k in values)
            else lw
            for lw in laws
        ]
    return laws


def points_with_runs(points: pd.DataFrame, data: pd.DataFrame, run_col: str | None) -> pd.DataFrame:
    """The held-out points with the run (and checkpoint step) of each row beside its row
    number, as the report's table has them: a row number alone sends the user to the file."""
    if "row" not in points.columns or "run" in points.columns or points.empty:
        return points
    runs = run_ids(data, run_col)
    if runs is None:
        named = next((c for c in ("model", "name", "model_id") if c in data.columns), None)
        if named is None:
            return points
        runs = data[named].astype(str)
    rows = pd.Index(points["row"].to_numpy()) - 1
    out = points.copy()
    at = list(out.columns).index("row") + 1
    out.insert(at, "run", runs.reindex(rows).to_numpy())
    if "step" in data.columns and "step" not in out.columns:
        step = pd.to_numeric(data["step"].reindex(rows), errors="coerce")
        whole = bool((step.dropna() % 1 == 0).all())  # int or float column
        out.insert(at + 1, "step", (step.astype("Int64") if whole else step).to_numpy())
    return out


def run_audit(
    data: pd.DataFrame | str | Path,
    law_names: Sequence[str] = (),
    *,
    expr: str | None = None,
    params: Mapping[str, Any] | None = None,
    fixes: Mapping[str, float] | None = None,
    holdout: str | None = None,
    leave_largest_out: str | None = None,
    leave_one_group_out: str | None = None,
    largest_per_factor: bool = False,
    where: str | None = None,
    fit_where: str | None = None,
    by: str | None = None,
    task_col: str | None = None,
    tasks: Sequence[str] | None = None,
    run_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    params_col: str | None = None,
    preset: str | None = None,
    metric: str | None = None,
    mapping: Mapping[str, str] | None = None,
    interval: float = 0.9,
    n_bootstrap: int = 1000,
    seed: int = 0,
    progress: Any = None,
) -> AuditRun:
    """Held-out error of one or more laws, every option of `scalinglab audit` checked as the
    command checks it (DataError naming the option), and the mode chosen from which of
    `holdout`, `leave_largest_out`, `leave_one_group_out`, `largest_per_factor` is given.

    Parameters
    ----------
    data : table or path
        `where` is applied first, before any check (rows to use at all, both sides of
        every fold).
    law_names : catalog laws to audit on the same folds
    expr, params : an expression law and its parameter specs (`expression_law`)
    fixes : parameter values held in every audited law that has the parameter
    holdout, leave_largest_out, leave_one_group_out, largest_per_factor : the mode
        (exactly one); `fit_where` restricts the fit set of the first two
    by : one audit per value of this column (holdout, largest_per_factor)
    task_col, tasks : a long table's task column (and the tasks to audit, default all): one
        audit per task, one table; `tasks` without `task_col` is an error
    run_col, final_only, min_tokens, min_step : runs and their checkpoints
    params_col : the parameter count to use as N (e.g. n_params_nonembedding)
    preset, metric, mapping, interval, n_bootstrap, seed, progress : as `audit.holdout`

    Returns
    -------
    AuditRun : the AuditResult (points with their runs, notes saying which count N is) and
        the N column used.
    """
    data = audit_mod.load(data, where)
    if metric:
        metric = user_column(data, metric, "--metric")
    axis = (
        user_column(data, leave_largest_out, "--leave-largest-out") if leave_largest_out else None
    )
    group = (
        user_column(data, leave_one_group_out, "--leave-one-group-out")
        if leave_one_group_out
        else None
    )
    if len([m for m in (holdout, axis, group, largest_per_factor) if m]) != 1:
        raise DataError(
            "give exactly one of --holdout QUERY, --leave-largest-out COL, "
            "--leave-one-group-out COL, --largest-per-factor"
        )
    if n_bootstrap < 0:
        raise DataError(f"--bootstrap must be >= 0, got {n_bootstrap}")
    if largest_per_factor and fit_where:
        raise DataError(
            "--fit-where is not used by --largest-per-factor (its fit set is every run below "
            "each factor's largest value); use --where"
        )
    mapping = dict(mapping or {})
    kw: dict[str, Any] = dict(
        preset=preset,
        interval=interval,
        n_bootstrap=n_bootstrap,
        seed=seed,
        metric=metric,
        mapping=mapping,
        run_col=run_col,
        final_only=final_only,
        min_tokens=min_tokens,
        min_step=min_step,
        progress=progress,
    )
    laws = audit_laws(law_names, expr, params, fixes, metric)
    check_no_map_conflict(params_col, mapping)
    variables = [v for lw in laws for v in lw.variables if v not in mapping]
    data, n_col, n_notes = replace_n(data, params_col, variables)
    res = _run_mode(
        data, laws, (holdout, axis, group, largest_per_factor), fit_where, by, task_col, tasks, kw
    )
    res.points = points_with_runs(res.points, data, run_col)
    res.notes = [*res.notes, *n_notes]
    return AuditRun(res, n_col)


def _run_mode(
    data: pd.DataFrame,
    laws: list[Law],
    modes: tuple[str | None, str | None, str | None, bool],
    fit_where: str | None,
    by: str | None,
    task_col: str | None,
    tasks: Sequence[str] | None,
    kw: dict[str, Any],
) -> AuditResult:
    """The one audit mode given (checked by `run_audit`), per task when `task_col` is."""
    holdout, axis, group, per_factor = modes
    if task_col:
        if by:
            raise DataError("give --task-col or --by, not both")
        mode: dict[str, Any] = (
            {"holdout": holdout, "fit_where": fit_where}
            if holdout
            else {"leave_largest_out": axis, "fit_where": fit_where}
            if axis
            else {"largest_per_factor": True}
            if per_factor
            else {"leave_one_group_out": group}
        )
        return audit_mod.audit(
            data, laws, task_col=task_col, tasks=list(tasks) if tasks else None, **mode, **kw
        )
    if tasks is not None:  # even an empty list: it selects values of a task column
        raise DataError("--tasks selects values of --task-col; give it too")
    if holdout:
        return audit_mod.holdout(data, laws, holdout, fit_where=fit_where, by=by, **kw)
    if axis:
        if by:
            raise DataError("--by is for --holdout and --largest-per-factor audits")
        return audit_mod.leave_largest_out(data, laws, axis, fit_where=fit_where, **kw)
    if per_factor:
        return audit_mod.largest_per_factor(data, laws, by=by, **kw)
    assert group is not None
    return audit_mod.leave_one_group_out(data, laws, group, **kw)
