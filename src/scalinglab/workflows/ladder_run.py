"""One model-ladder forecast from options, as `scalinglab ladder` runs it: the two steps' laws
(expression laws, fixed parameters), one task or many (a long table's task column, paired
loss and accuracy columns, a runs table, target runs picked by a query), the checkpoints
used and which count N is. The command only parses its options, calls `run_ladder` and
renders the result (issue 16: parse -> call -> render), so a notebook gets the same forecast,
refused for the same reasons with the same messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..fitting import FitResult
from ..laws import expression_law
from ..schema import canonical_name
from .checkpoints import check_used, load, select_checkpoints, user_column
from .ladder import LadderForecast, ladder_forecast, ladder_laws
from .many_tasks import TaskForecasts, ladder_tasks, law_record


def laws_json(step1: FitResult, step2: FitResult) -> dict[str, Any]:
    """Both steps' laws as the many-task --json records them (a user-written law's
    expression, fitted and fixed parameters), so one task's JSON says as much as many."""
    return {"step1": law_record(step1), "step2": law_record(step2)}


def user_names(given: Sequence[str]) -> dict[str, str]:
    """Columns as the loader renamed them ('accuracy') -> as the user named them ('acc')."""
    return {canonical_name(c): c for c in given if canonical_name(c) != c}


def ladder_law_options(
    loss_expr: str | None = None,
    loss_params: Mapping[str, Any] | None = None,
    acc_expr: str | None = None,
    acc_params: Mapping[str, Any] | None = None,
    fixes: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """`ladder_forecast`'s loss_law / acc_law / fixed from the command's options (issue 21: a
    user-written law and fixed parameters in the ladder as in fit, audit and forecast),
    checked before any data is read, and once for many tasks: `loss_params` / `acc_params`
    are the expression laws' parameter specs (as `expression_law` takes them)."""
    if loss_params and not loss_expr:
        raise DataError("--loss-param gives the bounds of a --loss-expr law; add --loss-expr")
    if acc_params and not acc_expr:
        raise DataError("--acc-param gives the bounds of an --acc-expr law; add --acc-expr")
    out: dict[str, Any] = {}
    if loss_expr:
        out["loss_law"] = expression_law(
            loss_expr, dict(loss_params or {}), metric="loss", space="log"
        )
    if acc_expr:
        out["acc_law"] = expression_law(
            acc_expr, dict(acc_params or {}), metric="accuracy", space="identity"
        )
    if fixes:
        out["fixed"] = dict(fixes)
    ladder_laws(**out)  # a --fix neither law has, a step-2 law of two variables: named now
    return out


@dataclass
class LadderRun:
    """A ladder forecast as `scalinglab ladder` prints it.

    One task: `forecast` (its `target`, the `notes` of the checkpoint selection and N
    column, and the loss and accuracy columns as the user named them, `loss_col` and
    `acc_col`). Many tasks: `tasks`, with `names` (columns as fitted -> as the user named
    them) and `metric_label` (the one --acc-col given, heading the prediction columns)."""

    forecast: LadderForecast | None = None
    tasks: TaskForecasts | None = None
    target: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)
    loss_col: str = "bpb"
    acc_col: str = "rc_acc"
    names: dict[str, str] = field(default_factory=dict)
    metric_label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What `scalinglab ladder --json` prints."""
        if self.tasks is not None:
            return self.tasks.to_dict()
        assert self.forecast is not None
        res = self.forecast
        return {**res.to_dict(), "laws": laws_json(res.step1, res.step2)}


def run_ladder(
    checkpoints: pd.DataFrame | str | Path,
    *,
    target: Mapping[str, float] | None = None,
    target_where: str | None = None,
    train_where: str | None = None,
    where: str | None = None,
    run_col: str = "run",
    params_col: str | None = None,
    runs_table: pd.DataFrame | str | Path | None = None,
    loss_cols: Sequence[str] = (),
    acc_cols: Sequence[str] = (),
    task_col: str | None = None,
    tasks: Sequence[str] | None = None,
    combine: Mapping[str, Mapping[str, float]] | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    last_k: int = 5,
    skip_frac: float = 0.1,
    window: int = 5,
    loss_expr: str | None = None,
    loss_params: Mapping[str, Any] | None = None,
    acc_expr: str | None = None,
    acc_params: Mapping[str, Any] | None = None,
    fixes: Mapping[str, float] | None = None,
    n_bootstrap: int = 0,
    interval: float = 0.9,
) -> LadderRun:
    """The model-ladder forecast with every option of `scalinglab ladder`, checked as the
    command checks it (DataError naming the option).

    One task (`ladder_forecast`) unless `task_col`, `target_where`, `runs_table` or more than
    one loss or accuracy column asks for many (`ladder_tasks`); `tasks` and `combine` select
    values of `task_col` and are refused without it.

    Parameters
    ----------
    checkpoints : table or path
        One row per (run, checkpoint); `where` is applied first.
    target, target_where : the target (n_params, tokens) or a query picking target runs
        (exactly one)
    train_where : the small runs' checkpoints
    run_col, params_col, runs_table : the run column, the count used as N, a table of runs
    loss_cols, acc_cols : task loss and accuracy columns (default bpb, rc_acc), paired
    task_col, tasks, combine : a long table's tasks, those to forecast, weighted tasks
    final_only, min_tokens, min_step : which checkpoints to use
    last_k, skip_frac, window, n_bootstrap, interval : as `ladder_forecast`
    loss_expr, loss_params, acc_expr, acc_params, fixes : the laws (`ladder_law_options`)

    Returns
    -------
    LadderRun : the forecast (one task) or the table (many) and what the command prints
        beside it.
    """
    if (target is None) == (target_where is None):
        raise DataError("give one of --target n_params=...,tokens=... or --target-where QUERY")
    laws = ladder_law_options(loss_expr, loss_params, acc_expr, acc_params, fixes)
    loss_col = loss_cols[0] if len(loss_cols) == 1 else "bpb"
    acc_col = acc_cols[0] if len(acc_cols) == 1 else "rc_acc"
    many = task_col or target_where or runs_table is not None
    if many or len(acc_cols) > 1 or len(loss_cols) > 1:
        res_many = ladder_tasks(
            checkpoints,
            target=dict(target) if target is not None else None,
            target_where=target_where,
            train_where=train_where,
            task_col=task_col,
            tasks=list(tasks) if tasks is not None else None,
            acc_cols=list(acc_cols) or None,
            loss_cols=list(loss_cols) or None,
            acc_col=acc_col,
            loss_col=loss_col,
            run_col=run_col,
            params_col=params_col,
            runs_table=runs_table,
            combine=combine,
            where=where,
            final_only=final_only,
            min_tokens=min_tokens,
            min_step=min_step,
            last_k=last_k,
            skip_frac=skip_frac,
            window=window,
            n_bootstrap=n_bootstrap,
            interval=interval,
            **laws,
        )
        return LadderRun(
            tasks=res_many,
            names=user_names((*acc_cols, *loss_cols)),
            metric_label=acc_cols[0] if len(acc_cols) == 1 else None,
        )
    if tasks is not None or combine:  # even an empty list: it selects values of a task column
        raise DataError("--tasks and --combine select values of --task-col; give it too")
    assert target is not None
    df = load(checkpoints, where)
    run_col = user_column(df, run_col, "--run-col")
    df, notes = select_checkpoints(
        df, run_col=run_col, final_only=final_only, min_tokens=min_tokens, min_step=min_step
    )
    loss_col = user_column(df, loss_col, "--loss-col")
    acc_col = user_column(df, acc_col, "--acc-col")
    if params_col and params_col != "n_params":
        n_col = user_column(df, params_col, "--params-col")
        df = df.assign(n_params=df[n_col])
        notes = [*notes, f"N is '{n_col}' (--params-col), not the table's n_params"]
    train = load(df, train_where, "--train-where")
    check_used(train, [loss_col, acc_col], roles={loss_col: "loss", acc_col: "accuracy"})
    tgt = dict(target)
    res = ladder_forecast(
        train,
        tgt,
        run_col=run_col,
        loss_col=loss_col,
        acc_col=acc_col,
        last_k=last_k,
        skip_frac=skip_frac,
        window=window,
        n_bootstrap=n_bootstrap,
        interval=interval,
        **laws,
    )
    return LadderRun(
        forecast=res,
        target=tgt,
        notes=list(notes),
        # the user's own names (an --acc-col 'acc' is read as the canonical 'accuracy')
        loss_col=loss_cols[0] if loss_cols else loss_col,
        acc_col=acc_cols[0] if acc_cols else acc_col,
    )
