"""One two-step downstream forecast from options, as `scalinglab forecast` runs it: the two
steps' laws (catalog names or expression laws, fixed parameters), new points or rows of the
table whose truth is known, one task or many (a long table's task column, several error or
accuracy columns). The command only parses its options, calls `run_forecast` and renders the
result (issue 16: parse -> call -> render), so a notebook gets the same forecast, refused for
the same reasons with the same messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..laws import expression_law, get_law
from ..laws.base import Law
from .downstream import ForecastResult, forecast
from .ladder_run import laws_json, user_names
from .many_tasks import TaskForecasts, forecast_tasks


def forecast_laws(
    loss_law: str = "overtrain",
    error_law: str = "loss_to_error",
    loss_expr: str | None = None,
    loss_params: Mapping[str, Any] | None = None,
    error_expr: str | None = None,
    error_params: Mapping[str, Any] | None = None,
    fixes: Mapping[str, float] | None = None,
    loss_col: str = "loss",
) -> tuple[Law, Law]:
    """The two steps' laws: catalog names, or expression laws (issue 21: a user-written law
    as step 1 or 2, e.g. a logistic with a 0.25 floor; `loss_params` / `error_params` are
    their parameter specs as `expression_law` takes them), with `fixes` applied where they
    fit (a fix neither law has is an error, not ignored)."""
    if loss_params and not loss_expr:
        raise DataError("--loss-param gives the bounds of a --loss-expr law; add --loss-expr")
    if error_params and not error_expr:
        raise DataError("--error-param gives the bounds of an --error-expr law; add --error-expr")
    step1 = (
        expression_law(loss_expr, dict(loss_params or {}), metric=loss_col or "y", space="log")
        if loss_expr
        else get_law(loss_law)
    )
    step2 = (
        expression_law(error_expr, dict(error_params or {}), metric="error", space="identity")
        if error_expr
        else get_law(error_law)
    )
    if fixes:
        values = dict(fixes)
        unused = [n for n in values if n not in step1.param_names + step2.param_names]
        if unused:
            raise DataError(
                f"--fix {', '.join(unused)}: neither step's law has such a parameter (step 1 "
                f"{', '.join(step1.param_names)}; step 2 {', '.join(step2.param_names)})"
            )
        fix1 = {k: v for k, v in values.items() if k in step1.param_names}
        fix2 = {k: v for k, v in values.items() if k in step2.param_names}
        step1 = step1.fix(**fix1) if fix1 else step1
        step2 = step2.fix(**fix2) if fix2 else step2
    return step1, step2


@dataclass
class ForecastRun:
    """A two-step forecast as `scalinglab forecast` prints it: one task (`forecast`) or many
    (`tasks`, with `names`: columns as fitted -> as the user named them, and `metric_label`:
    the one --acc-col / --error-col given, heading the prediction columns)."""

    forecast: ForecastResult | None = None
    tasks: TaskForecasts | None = None
    names: dict[str, str] = field(default_factory=dict)
    metric_label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What `scalinglab forecast --json` prints."""
        if self.tasks is not None:
            return self.tasks.to_dict()
        assert self.forecast is not None
        res = self.forecast
        return {**res.to_dict(), "laws": laws_json(res.loss_fit, res.error_fit)}


def run_forecast(
    data: pd.DataFrame | str | Path,
    targets: Sequence[Mapping[str, float]] | None = None,
    *,
    target_where: str | None = None,
    loss_law: str = "overtrain",
    error_law: str = "loss_to_error",
    loss_expr: str | None = None,
    loss_params: Mapping[str, Any] | None = None,
    error_expr: str | None = None,
    error_params: Mapping[str, Any] | None = None,
    fixes: Mapping[str, float] | None = None,
    loss_col: str = "loss",
    error_cols: Sequence[str] = (),
    acc_cols: Sequence[str] = (),
    task_col: str | None = None,
    tasks: Sequence[str] | None = None,
    where: str | None = None,
    run_col: str | None = None,
    params_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    fit_where: str | None = None,
    error_fit_where: str | None = None,
    preset: str | None = None,
    n_bootstrap: int = 1000,
    interval: float = 0.9,
    seed: int = 0,
) -> ForecastRun:
    """The two-step forecast with every option of `scalinglab forecast`, checked as the
    command checks it (DataError naming the option).

    One task (`forecast`) unless `task_col`, an accuracy column or more than one error column
    asks for many (`forecast_tasks`); `tasks` selects values of `task_col` and is refused
    without it.

    Parameters
    ----------
    data : table or path
        `where` is applied first, before any check.
    targets, target_where : new points (VAR -> value) or a query picking rows of `data`
        whose truth is known (exactly one)
    loss_law, error_law, loss_expr, loss_params, error_expr, error_params, fixes : the laws
        (`forecast_laws`)
    loss_col, error_cols, acc_cols, task_col, tasks : the loss and the task metrics
    run_col, params_col, final_only, min_tokens, min_step : runs, N and their checkpoints
    fit_where, error_fit_where, preset, n_bootstrap, interval, seed : as `forecast`

    Returns
    -------
    ForecastRun : the forecast (one task) or the table (many) and what the command prints
        beside it.
    """
    if targets and target_where:
        raise DataError(
            "give one of --target or --target-where, not both (--target names new points; "
            "--target-where picks runs of DATA whose truth is known)"
        )
    if not targets and not target_where:
        raise DataError("give one of --target VAR=VALUE,... (repeatable) or --target-where QUERY")
    step1, step2 = forecast_laws(
        loss_law, error_law, loss_expr, loss_params, error_expr, error_params, fixes, loss_col
    )
    common: dict[str, Any] = dict(
        loss_law=step1,
        error_law=step2,
        fit_where=fit_where,
        error_fit_where=error_fit_where,
        preset=preset,
        n_bootstrap=n_bootstrap,
        interval=interval,
        seed=seed,
        where=where,
        run_col=run_col,
        params_col=params_col,
        final_only=final_only,
        min_tokens=min_tokens,
        min_step=min_step,
    )
    goal: Any = [dict(t) for t in targets] if targets else target_where
    if task_col or acc_cols or len(error_cols) > 1:
        many = forecast_tasks(
            data,
            goal,
            task_col=task_col,
            tasks=list(tasks) if tasks is not None else None,
            acc_cols=list(acc_cols) or None,
            error_cols=list(error_cols) or (None if acc_cols else ["error"]),
            loss_col=loss_col,
            **common,
        )
        cols = (*acc_cols, *error_cols)
        return ForecastRun(
            tasks=many,
            names=user_names((*cols, loss_col)),
            metric_label=cols[0] if len(cols) == 1 else None,
        )
    if tasks is not None:  # even an empty list: it selects values of a task column
        raise DataError("--tasks selects values of --task-col; give --task-col too")
    res = forecast(
        data,
        goal,
        loss_col=loss_col,
        error_col=error_cols[0] if error_cols else "error",
        **common,
    )
    return ForecastRun(forecast=res)
