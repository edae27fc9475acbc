"""lm-evaluation-harness output files -> a runs table, as `scalinglab import-harness` makes
it: the long rows (`read_harness`) or one row per model x checkpoint (`aggregate_error`),
with chance levels from `--chance` values and a chance table together. The command only
parses its options, calls `import_harness` and renders the table (issue 16: parse -> call
-> render), so a notebook gets the same table, refused for the same reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..io import aggregate_error, read_harness
from .task_selection import chance_table as read_chance_table


def import_harness(
    paths: str | Path | Sequence[str | Path],
    *,
    side_table: pd.DataFrame | str | Path | None = None,
    on: str = "model",
    set_values: Mapping[str, float] | None = None,
    long: bool = False,
    metric: str | Sequence[str] | None = None,
    task_metrics: Mapping[str, str] | None = None,
    tasks: Sequence[str] | None = None,
    chance: Mapping[str, float] | None = None,
    chance_table: pd.DataFrame | str | Path | None = None,
    correct_chance: bool = False,
    min_above_chance: float | None = None,
    level: str = "top",
    shots: int | Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """The harness files under `paths` as a table.

    Parameters
    ----------
    paths : path or paths
        Results files or folders (searched recursively; files found by content).
    side_table, on, set_values : model sizes and tokens (see `read_harness`)
    long : bool
        One row per model x checkpoint x task x metric (`read_harness`'s rows) instead of
        one per model x checkpoint.
    metric, task_metrics, tasks, correct_chance, min_above_chance, level, shots :
        passed to `aggregate_error`
    chance : mapping, optional
        task -> chance accuracy; wins over `chance_table` for the tasks it names.
    chance_table : table or path, optional
        `task` and one of random_baseline_acc / chance / chance_acc (Gadre et al.'s
        tasks.csv has the first).

    Returns
    -------
    pandas.DataFrame
        The long rows, or one row per model x checkpoint with score_<task>, accuracy,
        error and where each value came from.

    Examples
    --------
    >>> from scalinglab.workflows.harness_import import import_harness
    >>> runs = import_harness("lm_eval_out/", side_table="models.csv")  # doctest: +SKIP
    """
    rows = read_harness(
        paths,
        side_table=side_table,
        on=on,
        set_values=dict(set_values or {}),
    )
    if long:
        return rows
    unknown = sorted(str(t) for t in (chance or {}) if t not in set(rows["task"]))
    if unknown:  # a chance table may list more tasks than were run; a value given may not
        raise DataError(
            f"chance names {'a task' if len(unknown) == 1 else 'tasks'} not in the results: "
            f"{', '.join(unknown)}"
        )
    chances: dict[str, Any] | None = dict(chance) if chance else None
    if chance_table is not None:
        chances = {**read_chance_table(chance_table), **(chances or {})}
    return aggregate_error(
        rows,
        metric=metric or None,
        task_metrics=task_metrics,
        tasks=tasks,
        chance=chances,
        correct_chance=correct_chance,
        min_above_chance=min_above_chance,
        level=level,
        shots=shots,
    )
