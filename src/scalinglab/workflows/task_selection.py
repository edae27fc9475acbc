"""Downstream task selection and averaging as Gadre et al. (2024) do it.

The paper predicts the average top-1 error over the tasks that small models can already do:
tasks on which at least one model of a *reference size* (0.154B parameters) is more than 10
accuracy points above chance. Selecting by the best accuracy over every model instead lets
the large models decide which tasks count, so tasks that are at chance for every model the
laws are fitted on enter the average (on the paper's 46 tasks: 24 instead of 17), and the
forecast of that average is scored on tasks its fit runs cannot see.

`select_tasks` takes a wide table (one row per run, an `acc_<task>` column per task), the
chance accuracy of each task and the reference rows (`select_at="n_params=154M"`: the runs
of the model size nearest to 154M, within 10%; or any query), keeps the tasks above chance by
`margin` there, and adds the average error over them (`err_avg`) to the table, so
`forecast --error-col err_avg` runs on the tool's own average.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import DataError, MissingColumnError
from ..query import mask
from ..results import Result, records
from ..schema import numeric_column
from .audit import _load

CHANCE_COLUMNS = ("random_baseline_acc", "chance", "chance_acc")
_NAME_VALUE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^=<>!].*)$")


@dataclass
class TaskSelection(Result):
    """Which tasks count, why, and the table with their average error added.

    Built by `scalinglab.select_tasks`.

    Attributes
    ----------
    tasks : pandas.DataFrame
        One row per task: ``chance``, ``best_acc_at_reference``, ``above_chance`` and
        ``selected`` (above chance by more than `margin`), selected tasks first.
    selected : list of str
        The selected tasks, sorted.
    data : pandas.DataFrame
        The input rows with `err_col` (the selected tasks' average error) added: the table
        to forecast from.
    reference : str
        Which rows the rule looked at, in words.
    n_reference_rows : int
        How many rows that is.
    margin : float
        How far above chance a task must be at the reference.
    err_col : str
        The name of the added average-error column.
    notes : list of str
        How many tasks were selected and on which runs, how many would count if judged on
        the largest runs, rows lacking a selected task's accuracy.
    """

    title: ClassVar[str] = "task selection"
    tasks: pd.DataFrame  # task, chance, best accuracy at the reference, margin, selected
    selected: list[str]
    data: pd.DataFrame  # the input rows with `err_col` (and `acc_col`) added
    reference: str  # which rows the rule looked at, in words
    n_reference_rows: int
    margin: float
    err_col: str = "err_avg"
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The per-task decision (`tasks`).

        Returns
        -------
        pandas.DataFrame
            The `tasks` table itself (not a copy).

        Examples
        --------
        >>> res = sl.select_tasks(  # doctest: +SKIP
        ...     "runs.csv", "tasks.csv", select_at="n_params=154M"
        ... )
        >>> res.to_frame()[["task", "above_chance", "selected"]]  # doctest: +SKIP
        """
        return self.tasks

    def plot(self) -> Any:
        """A bar per task (accuracy above chance at the reference), the margin, the chosen.

        Returns
        -------
        plotly.graph_objects.Figure

        Examples
        --------
        >>> res = sl.select_tasks(  # doctest: +SKIP
        ...     "runs.csv", "tasks.csv", select_at="n_params=154M"
        ... )
        >>> res.plot().show()  # doctest: +SKIP
        """
        from ..plots import task_selection_figure

        return task_selection_figure(self)

    def to_dict(self) -> dict[str, Any]:
        """The selection as JSON-ready data (``--json``; the rows with `err_col` are not in
        it: take them from `data`).

        Returns
        -------
        dict
            ``reference``, ``n_reference_rows``, ``margin``, ``selected``, ``n_selected``,
            ``n_tasks``, ``err_col``, ``tasks`` (rows) and ``notes``.

        Examples
        --------
        >>> res = sl.select_tasks(  # doctest: +SKIP
        ...     "runs.csv", "tasks.csv", select_at="n_params=154M"
        ... )
        >>> res.to_dict()["selected"]  # doctest: +SKIP
        """
        return {
            "reference": self.reference,
            "n_reference_rows": self.n_reference_rows,
            "margin": self.margin,
            "selected": self.selected,
            "n_selected": len(self.selected),
            "n_tasks": len(self.tasks),
            "err_col": self.err_col,
            "tasks": records(self.tasks),
            "notes": self.notes,
        }


def chance_table(source: pd.DataFrame | str | Path | Mapping[str, float]) -> dict[str, float]:
    """task -> chance accuracy, from a mapping or a table with `task` and one of
    random_baseline_acc / chance / chance_acc (Gadre et al.'s tasks.csv has the first)."""
    if isinstance(source, Mapping):
        return {str(k): float(v) for k, v in source.items()}
    df = _load(source)
    col = next((c for c in CHANCE_COLUMNS if c in df.columns), None)
    if col is None or "task" not in df.columns:
        raise MissingColumnError(
            f"a chance table needs 'task' and one of {', '.join(CHANCE_COLUMNS)} "
            f"(have: {', '.join(map(str, df.columns))})",
            column="task" if "task" not in df.columns else CHANCE_COLUMNS[0],
            file=df.attrs.get("scalinglab_source"),
        )
    vals = numeric_column(df[col], col)
    return dict(zip(df["task"].astype(str), vals.astype(float), strict=True))


def reference_rows(df: pd.DataFrame, select_at: str | None) -> tuple[np.ndarray, str]:
    """The rows the rule looks at, and how to say which. None: every row (best over all
    models). NAME=VALUE: the rows whose NAME is the value nearest VALUE (unit suffixes as
    everywhere: 154M), refused if none lies within 10%. Anything else: a query."""
    if select_at is None:
        return np.ones(len(df), dtype=bool), "every run (best over all models)"
    m = _NAME_VALUE.match(select_at)
    if m is None:
        rows = mask(df, select_at, "--select-at")
        return rows, f"the runs where {select_at}"
    name, raw = m.group(1), m.group(2).strip()
    if name not in df.columns:
        raise MissingColumnError(
            f"--select-at {select_at}: no column '{name}' "
            f"(have: {', '.join(map(str, df.columns))})",
            column=name,
            file=df.attrs.get("scalinglab_source"),
        )
    target = float(numeric_column(pd.Series([raw]), "--select-at").iloc[0])
    col = numeric_column(df[name], name).to_numpy(dtype=float)
    values = np.unique(col[np.isfinite(col)])
    if not values.size:
        raise DataError(f"--select-at {select_at}: '{name}' has no values", column=name)
    nearest = float(values[np.argmin(np.abs(values - target))])
    if abs(nearest - target) > 0.1 * abs(target):
        raise DataError(
            f"--select-at {select_at}: no run has {name} within 10% of {target:g} (nearest "
            f"{nearest:g}; values: {', '.join(f'{v:g}' for v in values[:12])})",
            column=name,
        )
    rows = np.isclose(col, nearest, rtol=1e-12, atol=0.0)
    return rows, f"the runs with {name} = {nearest:g} (nearest to {target:g})"


def select_tasks(
    data: pd.DataFrame | str | Path,
    chance: pd.DataFrame | str | Path | Mapping[str, float],
    *,
    select_at: str | None = None,
    margin: float = 0.10,
    acc_prefix: str = "acc_",
    err_col: str = "err_avg",
) -> TaskSelection:
    """Gadre et al.'s task selection: the tasks above chance by a margin at a reference size.

    A task whose accuracy never leaves chance adds only noise to an average error; the paper
    keeps the tasks more than `margin` above chance in some run of a reference model size
    and averages their top-1 error into the downstream metric.

    Parameters
    ----------
    data : DataFrame, str or path
        One row per run, an ``acc_<task>`` column per task (accuracy in [0, 1]).
    chance : DataFrame, str, path or mapping of str to float
        Task -> chance accuracy (a mapping, or a table: see `chance_table`).
    select_at : str, optional
        ``"n_params=154M"`` (the runs of the nearest size), a query, or None (every
        run).
    margin : float, default 0.1
        How far above chance (absolute accuracy) a task must be.
    acc_prefix : str, default 'acc_'
        The prefix of the accuracy columns.
    err_col : str, default 'err_avg'
        The name of the average-error column added to the data.

    Returns
    -------
    TaskSelection
        `tasks` (per task: best accuracy above chance at the reference rows, kept or not, and
        why), `data` (the input with `err_col`), the reference and notes.

    Examples
    --------
    >>> import scalinglab as sl
    >>> res = sl.select_tasks("runs.csv", "tasks.csv", select_at="n_params=154M")  # doctest: +SKIP
    >>> sl.forecast(res.data, "paper_role == 'heldout'", error_col="err_avg")      # doctest: +SKIP
    """
    df = _load(data)
    if not 0 <= margin < 1:
        raise DataError(f"margin is an accuracy difference in [0, 1), got {margin}")
    cols = [c for c in df.columns if str(c).startswith(acc_prefix)]
    if not cols:
        raise MissingColumnError(
            f"no accuracy columns named {acc_prefix}<task> (have: "
            f"{', '.join(map(str, df.columns[:20]))}{', ...' if len(df.columns) > 20 else ''})",
            column=f"{acc_prefix}<task>",
            file=df.attrs.get("scalinglab_source"),
        )
    if err_col in df.columns:
        raise DataError(
            f"the table already has a column '{err_col}'; name the average otherwise (--err-col)",
            column=err_col,
        )
    chances = chance_table(chance)
    names = {c: str(c)[len(acc_prefix) :] for c in cols}
    no_chance = [t for t in names.values() if t not in chances]
    if no_chance:
        raise DataError(
            f"{len(no_chance)} task(s) have no chance accuracy: {', '.join(no_chance[:10])}"
            + (", ..." if len(no_chance) > 10 else "")
            + " (add them to the chance table, or leave their columns out)"
        )
    acc = pd.DataFrame({c: numeric_column(df[c], str(c)) for c in cols}, index=df.index)
    bad = acc.lt(0) | acc.gt(1)
    if bad.any().any():
        c = str(bad.any()[bad.any()].index[0])
        raise DataError(
            f"accuracy must lie in [0, 1]; '{c}' has {int(bad[c].sum())} values outside "
            f"(first row {int(np.flatnonzero(bad[c].to_numpy())[0])}; percent?)",
            column=c,
            file=df.attrs.get("scalinglab_source"),
        )
    ref, said = reference_rows(df, select_at)
    if not ref.any():
        raise DataError(f"--select-at {select_at}: selects no rows")
    best = acc[ref].max(axis=0)
    rows = []
    for c in cols:
        t = names[c]
        above = float(best[c]) - chances[t]
        rows.append(
            {
                "task": t,
                "chance": chances[t],
                "best_acc_at_reference": float(best[c]),
                "above_chance": above,
                "selected": bool(above > margin),
            }
        )
    tasks = pd.DataFrame(rows).sort_values(["selected", "above_chance"], ascending=False)
    selected = sorted(tasks.loc[tasks["selected"], "task"])
    if not selected:
        raise DataError(
            f"no task is more than {margin:g} above chance at {said}: nothing to average"
        )
    chosen = [f"{acc_prefix}{t}" for t in selected]
    out = df.copy()
    out[err_col] = 1.0 - acc[chosen].mean(axis=1, skipna=False)
    notes = [
        f"selected {len(selected)} of {len(cols)} tasks: accuracy more than {margin:g} above "
        f"chance in at least one of {int(ref.sum())} reference runs ({said}); '{err_col}' is "
        "their mean top-1 error, every task weighted alike"
    ]
    if select_at is not None:
        every = acc.max(axis=0)
        n_all = sum(float(every[c]) - chances[names[c]] > margin for c in cols)
        if n_all != len(selected):
            notes.append(
                f"judged on the best run of all sizes instead, {n_all} tasks would count: "
                "tasks only the large models can do would enter an average the small runs "
                "cannot see"
            )
    gaps = out[err_col].isna()
    if gaps.any():
        notes.append(
            f"{int(gaps.sum())} row(s) lack an accuracy for a selected task: their "
            f"'{err_col}' is empty (rows {df.index[gaps][:5].tolist()})"
        )
    return TaskSelection(
        tasks.reset_index(drop=True), selected, out, said, int(ref.sum()), margin, err_col, notes
    )
