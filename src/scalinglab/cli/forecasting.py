"""Two-step downstream forecasts: `forecast` (loss law, then loss -> error) and `ladder`
(the OLMo model-ladder method on checkpoints)."""

from __future__ import annotations

from typing import Any

import click
import numpy as np

from ..errors import DataError
from .common import (
    LEVEL,
    _parse_numbers,
    _targets,
    checkpoint_options,
    handle_errors,
    main,
    preset_option,
)
from .render import render_forecast_run, render_ladder_run


def task_options(fn: Any) -> Any:
    """--task-col and --tasks: many tasks in one command."""
    fn = click.option(
        "--tasks",
        default=None,
        help="Comma-separated tasks of --task-col to forecast (default: all).",
    )(fn)
    fn = click.option(
        "--task-col",
        default=None,
        help="Column naming the task of each row (a long table): one forecast per task.",
    )(fn)
    return fn


def _tasks(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


@main.command("forecast")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--target",
    "targets",
    multiple=True,
    help="VAR=VALUE,... e.g. n_params=6.9e9,tokens=138e9 (repeat).",
)
@click.option(
    "--target-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): runs to predict (truth known).",
)
@click.option(
    "--loss-law", default="overtrain", show_default=True, help="Step 1 law: (N, D) -> loss."
)
@click.option(
    "--error-law",
    default="loss_to_error",
    show_default=True,
    help="Step 2 law: loss -> downstream error.",
)
@click.option(
    "--loss-expr", default=None, help="Step 1 as an expression law (bounds: --loss-param)."
)
@click.option(
    "--loss-param", "loss_params", multiple=True, metavar="NAME=LO:HI", help="--loss-expr bounds."
)
@click.option(
    "--error-expr",
    default=None,
    help="Step 2 as an expression law of the loss, written with variable x "
    "(e.g. '0.25 + 0.75/(1 + exp(k*(x - x0)))'; bounds: --error-param).",
)
@click.option(
    "--error-param",
    "error_params",
    multiple=True,
    metavar="NAME=LO:HI",
    help="--error-expr bounds.",
)
@click.option(
    "--fix",
    "fixes",
    multiple=True,
    metavar="NAME=VALUE",
    help="Hold a parameter of step 1 or step 2 at a value (repeatable).",
)
@click.option("--loss-col", default="loss", show_default=True, help="Column of the loss.")
@click.option(
    "--error-col",
    "error_cols",
    multiple=True,
    help="Column of the downstream error [default: error]; repeat for several tasks.",
)
@click.option(
    "--acc-col",
    "acc_cols",
    multiple=True,
    help="Column of a downstream accuracy (forecast as 1 - accuracy); repeat for several tasks.",
)
@task_options
@click.option(
    "--where",
    default=None,
    help="Row query applied first, before any check: the rows to use at all.",
)
@click.option("--run-col", default=None, help="Column naming each run [default: run, else model].")
@click.option(
    "--params-col",
    default=None,
    help="Parameter count to use as N (e.g. n_params_nonembedding) [default: n_params].",
)
@checkpoint_options
@click.option(
    "--fit-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): the loss-fit runs.",
)
@click.option(
    "--error-fit-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): the error-fit runs.",
)
@preset_option
@click.option(
    "--bootstrap",
    "n_boot",
    default=1000,
    show_default=True,
    type=int,
    help="Joint bootstrap resamples of both steps for the intervals (0: none).",
)
@click.option(
    "--interval",
    default=0.9,
    show_default=True,
    type=LEVEL,
    help="Level of the prediction intervals, between 0 and 1 (e.g. 0.9).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed (starts, resamples)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def forecast_cmd(
    data,
    targets,
    target_where,
    loss_law,
    error_law,
    loss_expr,
    loss_params,
    error_expr,
    error_params,
    fixes,
    loss_col,
    error_cols,
    acc_cols,
    task_col,
    tasks,
    where,
    run_col,
    params_col,
    final_only,
    min_tokens,
    min_step,
    fit_where,
    error_fit_where,
    preset,
    n_boot,
    interval,
    seed,
    as_json,
) -> None:
    """Two-step forecast: (N, D) or (C, M) -> loss -> downstream error.

    Many tasks in one command: a long table with --task-col (one --error-col or --acc-col),
    or several --error-col / --acc-col (one per task, sharing --loss-col): one row per task
    x target, with truth and error where --target-where picks rows that hold the truth.
    Runs: a run's checkpoints are resampled together, counted once in compute ratios (at
    the largest) and held out together; --final-only, --min-tokens, --min-step select them.

    Relative errors are printed in percent; intervals are bootstrap prediction intervals at
    --interval from --bootstrap joint resamples (both stated in the output).

    \b
    Examples:
      scalinglab forecast runs.csv --target n_params=6.9e9,tokens=138e9
      scalinglab forecast runs.csv --target-where "n_params > 1e9" --bootstrap 200
      scalinglab forecast pythia.csv --loss-col ce_lambada_openai --acc-col score_piqa \\
          --acc-col score_sciq --fit-where "n_params < 2e9" --min-step 1 \\
          --target-where "n_params > 2e9 and step == 143000"
    """
    from ..laws.expression import parse_param_option
    from ..workflows.forecast_run import run_forecast

    # parse: option strings -> library arguments (syntax only; run_forecast checks the rest)
    run = run_forecast(
        data,
        _targets(targets) or None,
        target_where=target_where,
        loss_law=loss_law,
        error_law=error_law,
        loss_expr=loss_expr,
        loss_params=dict(parse_param_option(p) for p in loss_params),
        error_expr=error_expr,
        error_params=dict(parse_param_option(p) for p in error_params),
        fixes=_parse_numbers(fixes, "--fix"),
        loss_col=loss_col,
        error_cols=error_cols,
        acc_cols=acc_cols,
        task_col=task_col,
        tasks=_tasks(tasks),
        where=where,
        run_col=run_col,
        params_col=params_col,
        final_only=final_only,
        min_tokens=min_tokens,
        min_step=min_step,
        fit_where=fit_where,
        error_fit_where=error_fit_where,
        preset=preset,
        n_bootstrap=n_boot,
        interval=interval,
        seed=seed,
    )
    render_forecast_run(run, interval, n_boot, as_json)


@main.command("ladder")
@click.argument("checkpoints", type=click.Path(dir_okay=False))
@click.option("--target", "target", default=None, help="n_params=...,tokens=...")
@click.option(
    "--target-where",
    default=None,
    help="Row query picking target runs of the table (truth known): each is predicted at its "
    "last checkpoint, its truth the mean of its last --last-k.",
)
@click.option(
    "--train-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): checkpoints of the small runs.",
)
@click.option(
    "--where", default=None, help="Row query applied first, before any check: rows to use at all."
)
@click.option("--run-col", default="run", show_default=True, help="Column naming each run.")
@click.option(
    "--params-col",
    default=None,
    help="Parameter count to use as N (e.g. n_params_nonembedding) [default: n_params].",
)
@click.option(
    "--runs",
    "runs_table",
    type=click.Path(dir_okay=False),
    default=None,
    help="Table with one row per run (n_params, roles, ...) joined on --run-col.",
)
@click.option(
    "--loss-col",
    "loss_cols",
    multiple=True,
    help="Task loss (step 1 and 2 x) [default: bpb]; repeat, paired with --acc-col.",
)
@click.option(
    "--acc-col",
    "acc_cols",
    multiple=True,
    help="Task accuracy (step 2 y) [default: rc_acc]; repeat for several tasks.",
)
@task_options
@click.option(
    "--combine",
    "combines",
    multiple=True,
    help="NAME=TASK:W,TASK:W: a task that is the weighted mean of others per checkpoint "
    "(e.g. mmlu=mmlu_stem:0.215,mmlu_humanities:0.335,...).",
)
@checkpoint_options
@click.option(
    "--last-k",
    default=5,
    show_default=True,
    type=int,
    help="Step 1 averages each run's loss over its last K checkpoints.",
)
@click.option(
    "--skip-frac",
    default=0.1,
    show_default=True,
    type=float,
    help="Step 2 drops this fraction of each run's first checkpoints.",
)
@click.option(
    "--window",
    default=5,
    show_default=True,
    type=int,
    help="Step 2: trailing moving average over this many checkpoints.",
)
@click.option(
    "--loss-expr",
    default=None,
    help="Step 1 as your own law of n_params and tokens (bounds: --loss-param), e.g. "
    "'E + A/n_params**alpha + B/tokens**beta'.",
)
@click.option(
    "--loss-param", "loss_params", multiple=True, metavar="NAME=LO:HI", help="--loss-expr bounds."
)
@click.option(
    "--acc-expr",
    default=None,
    help="Step 2 as your own law of the task loss, written with variable x (e.g. "
    "'floor + (1 - floor)/(1 + exp(k*(x - x0)))'; bounds: --acc-param).",
)
@click.option(
    "--acc-param", "acc_params", multiple=True, metavar="NAME=LO:HI", help="--acc-expr bounds."
)
@click.option(
    "--fix",
    "fixes",
    multiple=True,
    metavar="NAME=VALUE",
    help="Hold a parameter of step 1 or step 2 at a value (repeatable), e.g. --fix floor=0.25.",
)
@click.option(
    "--bootstrap",
    "n_boot",
    default=0,
    show_default=True,
    type=int,
    help="Bootstrap resamples for an accuracy interval (0: none).",
)
@click.option(
    "--interval",
    default=0.9,
    show_default=True,
    type=LEVEL,
    help="Level of the loss and accuracy intervals.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def ladder_cmd(
    checkpoints,
    target,
    target_where,
    train_where,
    where,
    run_col,
    params_col,
    runs_table,
    loss_cols,
    acc_cols,
    task_col,
    tasks,
    combines,
    final_only,
    min_tokens,
    min_step,
    last_k,
    skip_frac,
    window,
    loss_expr,
    loss_params,
    acc_expr,
    acc_params,
    fixes,
    n_boot,
    interval,
    as_json,
) -> None:
    """Model-ladder forecast (AI2 OLMo ladder): (N, D) -> task loss -> accuracy.

    Many tasks in one command: --task-col on a long table (--combine builds weighted
    tasks such as the paper's MMLU), or paired --loss-col / --acc-col: one row per task x
    target, with the truth where --target-where picks target runs of the table.

    \b
    Examples:
      scalinglab ladder checkpoints.csv --target n_params=7e9,tokens=4e12 \\
          --train-where "n_params < 2e9"
      scalinglab ladder tasks.csv --runs runs.csv --task-col task \\
          --where "split == 'test' or task in ('hellaswag', 'piqa')" \\
          --train-where "paper_role == 'train'" --target-where "run == '13B-5T'"
      scalinglab ladder checkpoints.csv --target n_params=1e9,tokens=2e10 \\
          --acc-expr "floor + (1 - floor)/(1 + exp(k*(x - x0)))" --acc-param k=0:50 \\
          --acc-param x0=0:10 --acc-param floor=0:1 --fix floor=0.25
    """
    from ..laws.expression import parse_param_option
    from ..workflows.ladder_run import run_ladder

    # parse: option strings -> library arguments (syntax only; run_ladder checks the rest)
    run = run_ladder(
        checkpoints,
        target=_targets((target,))[0] if target is not None else None,
        target_where=target_where,
        train_where=train_where,
        where=where,
        run_col=run_col,
        params_col=params_col,
        runs_table=runs_table,
        loss_cols=loss_cols,
        acc_cols=acc_cols,
        task_col=task_col,
        tasks=_tasks(tasks),
        combine=_combine(combines),
        final_only=final_only,
        min_tokens=min_tokens,
        min_step=min_step,
        last_k=last_k,
        skip_frac=skip_frac,
        window=window,
        loss_expr=loss_expr,
        loss_params=dict(parse_param_option(p) for p in loss_params),
        acc_expr=acc_expr,
        acc_params=dict(parse_param_option(p) for p in acc_params),
        fixes=_parse_numbers(fixes, "--fix"),
        n_bootstrap=n_boot,
        interval=interval,
    )
    render_ladder_run(run, interval, n_boot, as_json)


def _combine(items: tuple[str, ...]) -> dict[str, dict[str, float]] | None:
    """--combine NAME=TASK:W,TASK:W (repeatable) -> {NAME: {TASK: W}}."""
    if not items:
        return None
    out_: dict[str, dict[str, float]] = {}
    for item in items:
        name, eq, rest = item.partition("=")
        weights: dict[str, float] = {}
        for part in rest.split(","):
            task, colon, w = part.strip().rpartition(":")
            try:
                weights[task.strip()] = float(w) if colon else float("nan")
            except ValueError:
                weights[task.strip()] = float("nan")
            if not colon or not task.strip() or not np.isfinite(weights[task.strip()]):
                raise DataError(
                    f"--combine {item!r}: each part must be TASK:WEIGHT (e.g. "
                    "mmlu=mmlu_stem:0.215,mmlu_humanities:0.335)"
                )
        if not eq or not name.strip() or not weights or sum(weights.values()) <= 0:
            raise DataError(f"--combine {item!r}: give NAME=TASK:WEIGHT,TASK:WEIGHT")
        out_[name.strip()] = weights
    return out_
