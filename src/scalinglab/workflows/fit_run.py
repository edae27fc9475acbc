"""One law fitted to a table from options, as `scalinglab fit` runs it: the law (a catalog
name or an expression with its parameter specs, fixed parameters), the rows (a query, the
checkpoints used), which parameter count is N, and the bootstrap (whole runs resampled when
the rows are checkpoints of runs). The command only parses its options, calls `run_fit` and
renders the result (issue 16: parse -> call -> render), so a notebook gets the same fit,
refused for the same reasons with the same messages."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..fitting import FitResult, fit
from ..laws import Law, expression_law, get_law
from ..laws.base import Space
from .checkpoints import describe_runs, load, run_ids, select_checkpoints
from .n_column import check_no_map_conflict, choose_n


def build_law(
    law: str | Law | None = None,
    expr: str | None = None,
    params: Mapping[str, Any] | None = None,
    metric: str | None = None,
    space: Space | None = None,
    fixes: Mapping[str, float] | None = None,
) -> Law:
    """The law `fit` is asked for: a catalog law (default chinchilla) or `expr` with its
    parameter specs, its residual space overridden by `space`, `fixes` held fixed.

    Parameters
    ----------
    law : catalog name or Law, optional
        Refused beside `expr`.
    expr, params : str and mapping, optional
        A user-written law and its parameters' specs (as `expression_law` takes them);
        specs without `expr` are refused (catalog laws carry their own bounds and grids).
    metric : str, optional
        The column an expression law predicts (default "y").
    space : {"log", "identity"}, optional
        Residual space, overriding the law's.
    fixes : mapping, optional
        Parameters held at a value (lmfit's vary=False).

    Returns
    -------
    Law
    """
    if law is not None and expr:
        raise DataError("give either --law or --expr, not both")
    if expr:
        built = expression_law(expr, dict(params or {}), metric=metric or "y", space=space or "log")
    else:
        if params:
            raise DataError(
                "--param is for expression laws (--expr); catalog laws carry their "
                "own bounds and grids (use --grid NAME=v1,v2,... to change a grid)"
            )
        base = law if isinstance(law, Law) else get_law(law or "chinchilla")
        built = replace(base, space=space) if space else base
    return built.fix(**fixes) if fixes else built


def bootstrap_groups(res: FitResult, group_by: str | None) -> tuple[Any, list[str]]:
    """What the bootstrap resamples: `group_by`, else whole runs when the fitted rows are
    checkpoints of runs (issue 15 item 4: resampling a run's checkpoints as independent
    points made its intervals too narrow), else rows; and the note saying so."""
    frame = res.frame_
    if group_by or frame is None or len(frame) != res.n_points_:
        return group_by, []
    runs = run_ids(frame)
    if runs is None or not runs.duplicated().any():
        return None, []
    labels = pd.Series(runs.to_numpy(), name="run")
    return labels, [
        f"the bootstrap resamples whole runs ({describe_runs(frame, runs)}; --group-by picks "
        "another grouping)"
    ]


@dataclass
class FitRun:
    """A fit as `scalinglab fit` prints it: the fitted `result` (with its bootstrap when
    one was asked for), the N column used (None when the law reads no N) and the `notes`
    on the checkpoint selection, N and what the bootstrap resampled."""

    result: FitResult
    n_col: str | None = None
    notes: list[str] = field(default_factory=list)


def run_fit(
    data: pd.DataFrame | str | Path,
    law: str | Law | None = None,
    *,
    expr: str | None = None,
    params: Mapping[str, Any] | None = None,
    metric: str | None = None,
    space: Space | None = None,
    fixes: Mapping[str, float] | None = None,
    mapping: Mapping[str, str] | None = None,
    where: str | None = None,
    params_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    delta: float | None = None,
    weights: str | None = None,
    grid: Mapping[str, Sequence[float]] | None = None,
    n_random_starts: int = 0,
    strategy: str = "screen",
    preset: str | None = None,
    n_bootstrap: int = 0,
    group_by: str | None = None,
    bootstrap_method: str = "warm",
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> FitRun:
    """A fit with every option of `scalinglab fit`, checked as the command checks it
    (DataError naming the option).

    Parameters
    ----------
    data : table or path
        CSV, TSV, Parquet or JSONL; `where` selects rows before anything is checked.
    law, expr, params, metric, space, fixes : the law (see `build_law`)
    mapping : mapping, optional
        Law variable -> column (or expression of columns).
    params_col : str, optional
        The parameter count used as N (e.g. n_params_nonembedding).
    final_only, min_tokens, min_step : which checkpoints to fit
    delta, weights, grid, n_random_starts, strategy, preset, seed : passed to `fit`
    n_bootstrap : int
        Bootstrap resamples (0: none); whole runs are resampled when the rows are
        checkpoints of runs, unless `group_by` names another column.
    group_by, bootstrap_method : what the bootstrap resamples, and "warm" or "grid"
    progress : callable, optional
        Called with the number of resamples done.

    Returns
    -------
    FitRun

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scalinglab.workflows.fit_run import run_fit
    >>> N, D = np.repeat([1e7, 1e8, 1e9], 3), np.tile([1e9, 1e10, 1e11], 3)
    >>> df = pd.DataFrame({"n_params": N, "tokens": D, "loss": 1.7 + 400 / N**0.34 + 410 / D**0.28})
    >>> run = run_fit(df, "chinchilla", fixes={"E": 1.7})
    >>> round(run.result.params_["alpha"], 2)
    0.34
    """
    if group_by and not n_bootstrap:
        raise DataError("--group-by applies to the bootstrap: add --bootstrap N")
    built = build_law(law, expr, params, metric, space, fixes)
    mapping = dict(mapping or {})
    check_no_map_conflict(params_col, mapping)
    table = load(data, where)  # the query first; fit then checks only the columns it uses
    table, ck_notes = select_checkpoints(
        table, final_only=final_only, min_tokens=min_tokens, min_step=min_step
    )
    mapping, n_col, n_notes = choose_n(table, params_col, built.variables, mapping)
    res = fit(
        table,
        built,
        metric=metric,
        mapping=mapping,
        delta=delta,
        weights=weights,
        grid=grid,
        n_random_starts=n_random_starts,
        strategy=strategy,
        seed=seed,
        preset=preset,
    )
    notes = [*ck_notes, *n_notes]
    if n_bootstrap:
        groups, run_note = bootstrap_groups(res, group_by)
        notes += run_note
        res.bootstrap(
            n_bootstrap, group_by=groups, method=bootstrap_method, seed=seed, progress=progress
        )
    return FitRun(result=res, n_col=n_col, notes=notes)
