"""`audit`: held-out validation and extrapolation audits of one or more laws, folds
holding out whole runs."""

from __future__ import annotations

import click

from .common import (
    LEVEL,
    _parse_numbers,
    _parse_pairs,
    checkpoint_options,
    expression_law_options,
    handle_errors,
    main,
    preset_option,
    progress_bar,
)
from .n_choice import params_col_option
from .render import render_audit_run


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
    from ..laws.expression import parse_param_option
    from ..workflows.audit_run import run_audit

    # parse: option strings -> library arguments (syntax only; run_audit checks the rest)
    with progress_bar(None, "audit folds", quiet or as_json) as advance:  # folds not known yet
        run = run_audit(
            data,
            law_names,
            expr=expr,
            params=dict(parse_param_option(p) for p in params),
            fixes=_parse_numbers(fixes, "--fix"),
            holdout=holdout_q,
            leave_largest_out=axis,
            leave_one_group_out=group,
            largest_per_factor=per_factor,
            where=where,
            fit_where=fit_where,
            by=by,
            task_col=task_col,
            tasks=[t.strip() for t in tasks.split(",") if t.strip()] if tasks else None,
            run_col=run_col,
            final_only=final_only,
            min_tokens=min_tokens,
            min_step=min_step,
            params_col=params_col,
            preset=preset,
            metric=metric,
            mapping=_parse_pairs(maps, "--map"),
            interval=interval,
            n_bootstrap=n_boot,
            seed=seed,
            progress=advance,
        )
    render_audit_run(run, interval, n_boot, as_json)
