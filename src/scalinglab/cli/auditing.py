"""`audit`: held-out validation and extrapolation audits of one or more laws, folds
holding out whole runs."""

from __future__ import annotations

from typing import Any

import click
import pandas as pd

from ..errors import DataError
from ..laws import get_law
from .common import (
    LEVEL,
    _parse_numbers,
    _parse_pairs,
    checkpoint_options,
    emit_json,
    expression_law_options,
    handle_errors,
    main,
    preset_option,
    progress_bar,
)
from .fitting import _build_law
from .n_choice import (
    check_no_map_conflict,
    params_col_option,
    replace_n,
)
from .render import (
    render_audit,
    render_audit_factors,
)


def _audit_laws(
    law_names: tuple[str, ...],
    expr: str | None,
    params: tuple[str, ...],
    fixes: tuple[str, ...],
    metric: str | None,
) -> list[Any]:
    """The laws of an audit: catalog names, an expression law, each with --fix applied
    where it has the parameter (a --fix no law has is an error, not ignored)."""
    if not law_names and not expr:
        raise DataError("give at least one --law NAME or an --expr EXPRESSION to audit")
    if params and not expr:
        raise DataError("--param gives the bounds of an --expr law; add --expr")
    laws: list[Any] = [get_law(n) for n in law_names]
    if expr:
        laws.append(_build_law(None, expr, params, metric, None))
    if fixes:
        values = _parse_numbers(fixes, "--fix")
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


def _points_with_runs(
    points: pd.DataFrame, data: pd.DataFrame, run_col: str | None
) -> pd.DataFrame:
    """The held-out points with the run (and checkpoint step) of each row beside its row
    number, as the report's table has them: a row number alone sends the user to the file."""
    from ..workflows.checkpoints import run_ids

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


@main.command("audit")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--law",
    "law_names",
    multiple=True,
    help="Catalog law(s) to audit on the same splits (repeat to compare).",
)
@expression_law_options(
    "Hold a parameter at a value in every audited law that has it (repeatable)."
)
@click.option(
    "--holdout",
    "holdout_q",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10') of the held-out rows.",
)
@click.option(
    "--leave-largest-out",
    "axis",
    default=None,
    help="Fit on the smallest scales of this column, predict the larger ones.",
)
@click.option(
    "--leave-one-group-out",
    "group",
    default=None,
    help="Fit on all groups of this column but one, predict that one.",
)
@click.option(
    "--largest-per-factor",
    "per_factor",
    is_flag=True,
    help="A joint finetuning law (finetune_joint): hold out each factor's largest value "
    "(model size, pretraining data, PET size) and report the error per factor (Zhang et al.'s "
    "Table 2). Takes the finetune_joint table or the factor-tagged one; --by method for one "
    "fit per method.",
)
@click.option(
    "--where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): rows to use at all "
    "(fitted and held out).",
)
@click.option(
    "--fit-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10') restricting the fit set.",
)
@click.option("--by", default=None, help="Run the audit separately per value of this column.")
@click.option(
    "--task-col",
    default=None,
    help="A long table's task column: the same audit per task, one table (any mode).",
)
@click.option("--tasks", default=None, help="With --task-col: the tasks to audit (a,b,c).")
@click.option(
    "--run-col",
    default=None,
    help="Column naming each run [default: run, else model]: folds hold out whole runs.",
)
@checkpoint_options
@params_col_option
@preset_option
@click.option("--metric", default=None, help="Column to fit and score.")
@click.option("--map", "maps", multiple=True, help="VAR=COLUMN: law variable from a column.")
@click.option(
    "--interval",
    default=0.9,
    show_default=True,
    type=LEVEL,
    help="Level of the prediction intervals whose coverage is reported.",
)
@click.option(
    "--bootstrap",
    "n_boot",
    default=1000,
    show_default=True,
    type=int,
    help="Resamples for the intervals (0: none).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed (starts, resamples)."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (points and summary).")
@handle_errors
def audit_cmd(
    data,
    law_names,
    expr,
    params,
    fixes,
    holdout_q,
    axis,
    group,
    per_factor,
    where,
    fit_where,
    by,
    task_col,
    tasks,
    run_col,
    final_only,
    min_tokens,
    min_step,
    params_col,
    preset,
    metric,
    maps,
    interval,
    n_boot,
    seed,
    quiet,
    as_json,
) -> None:
    """Held-out validation and extrapolation audits of one or more laws.

    Runs with several checkpoints: a held-out run is held out with all its checkpoints, the
    bootstrap resamples runs and compute ratios count each run once (its largest checkpoint).

    Relative errors are printed in percent; coverage is the share of held-out points inside
    their --interval prediction interval, built from --bootstrap resamples.

    \b
    Examples:
      scalinglab audit runs.csv --law chinchilla --law kaplan --holdout "n_params > 1e9"
      scalinglab audit runs.csv --law chinchilla --leave-largest-out n_params
      scalinglab audit finetune.csv --law finetune_joint --largest-per-factor --by method
    """
    from ..workflows import audit
    from ..workflows.checkpoints import user_column

    # --where first, before any check (e.g. leave out optimisation transients from both
    # sides of every fold); then only the columns the audit uses are validated
    data = audit.load(data, where)
    if metric:
        metric = user_column(data, metric, "--metric")
    if axis:
        axis = user_column(data, axis, "--leave-largest-out")
    if group:
        group = user_column(data, group, "--leave-one-group-out")
    modes = [m for m in (holdout_q, axis, group, per_factor) if m]
    if len(modes) != 1:
        raise DataError(
            "give exactly one of --holdout QUERY, --leave-largest-out COL, "
            "--leave-one-group-out COL, --largest-per-factor"
        )
    if n_boot < 0:
        raise DataError(f"--bootstrap must be >= 0, got {n_boot}")
    if per_factor and fit_where:
        raise DataError(
            "--fit-where is not used by --largest-per-factor (its fit set is every run below "
            "each factor's largest value); use --where"
        )
    kw = dict(
        preset=preset,
        interval=interval,
        n_bootstrap=n_boot,
        seed=seed,
        metric=metric,
        mapping=_parse_pairs(maps, "--map"),
        run_col=run_col,
        final_only=final_only,
        min_tokens=min_tokens,
        min_step=min_step,
    )
    laws = _audit_laws(law_names, expr, params, fixes, metric)
    check_no_map_conflict(params_col, kw["mapping"])
    variables = [v for lw in laws for v in lw.variables if v not in kw["mapping"]]
    data, n_col, n_notes = replace_n(data, params_col, variables)
    # an open-ended bar: the number of folds is known only once the audit splits the data
    with progress_bar(None, "audit folds", quiet or as_json) as advance:
        kw["progress"] = advance
        if task_col:
            if by:
                raise DataError("give --task-col or --by, not both")
            mode = (
                {"holdout": holdout_q, "fit_where": fit_where}
                if holdout_q
                else {"leave_largest_out": axis, "fit_where": fit_where}
                if axis
                else {"largest_per_factor": True}
                if per_factor
                else {"leave_one_group_out": group}
            )
            task_list = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
            res = audit.audit(data, laws, task_col=task_col, tasks=task_list, **mode, **kw)
        elif tasks:
            raise DataError("--tasks selects values of --task-col; give it too")
        elif holdout_q:
            res = audit.holdout(data, laws, holdout_q, fit_where=fit_where, by=by, **kw)
        elif axis:
            if by:
                raise DataError("--by is for --holdout and --largest-per-factor audits")
            res = audit.leave_largest_out(data, laws, axis, fit_where=fit_where, **kw)
        elif per_factor:
            res = audit.largest_per_factor(data, laws, by=by, **kw)
        else:
            res = audit.leave_one_group_out(data, laws, group, **kw)
    res.points = _points_with_runs(res.points, data, run_col)
    res.notes = [*res.notes, *n_notes]
    if as_json:
        emit_json({**res.to_dict(), "n_params_col": n_col})
        return
    render_audit(res, interval, n_boot)
    render_audit_factors(res, interval, n_boot)
