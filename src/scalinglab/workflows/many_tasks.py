"""Many tasks in one forecast: the two-step `forecast` or the model `ladder`, once per task,
gathered into one table with one row per task x target (truth and error beside each
prediction where the target rows hold the truth).

Tasks come either from a long table (`task_col`: one row per run x checkpoint x task, one
accuracy or error column) or from a wide one (several accuracy / error columns, one per
task). Each task is forecast on its own rows; rows are filtered (`where`) and warm-up or
non-final checkpoints dropped once, before anything is validated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import DataError, MissingColumnError, NonNumericValueError
from ..fitting import FitResult
from ..fitting.prepare import row_numbers, source_of
from ..results import Result
from .checkpoints import (
    check_used,
    last_checkpoints,
    load,
    run_ids,
    select_checkpoints,
    user_column,
    whole_runs,
)


@dataclass
class TaskForecasts(Result):
    """`table`: one row per task x target; `results`: each task's own result object.

    Built by `forecast_tasks` and `ladder_tasks` (``scalinglab forecast``/``ladder`` with
    several tasks).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per task and target: the forecast and its interval.
    method : str
        ``"forecast"`` (the two-step forecast) or ``"ladder"``.
    metric : str
        What is forecast: ``"accuracy"`` or ``"error"``.
    notes : list of str
        Per-task notes, tasks left out and why.
    results : dict of str to ForecastResult or LadderForecast
        Each task's own result (per task @ target for a ladder with several targets).
    """

    title: ClassVar[str] = "forecasts per task"
    table: pd.DataFrame
    method: str
    metric: str
    notes: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    components: ClassVar[dict[str, str]] = {"results": ""}  # each task's findings, by task

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Each task's warnings and errors, named by task ("mmlu_stem: step 1 (loss fit):
        ..."); one every task gave alike (a shared step-1 fit) is said once, unnamed; then
        the notes.

        Returns
        -------
        list of Diagnostic
        """
        diags = super().diagnostics
        keys = list(self.results)
        out: list[Diagnostic] = []
        for d in diags:
            key = next((k for k in keys if d.message.startswith(f"{k}: ")), None)
            if key is not None and len(keys) > 1:
                body = d.message[len(key) + 2 :]
                same = [Diagnostic(d.code, d.severity, f"{k}: {body}", d.params) for k in keys]
                if all(x in diags for x in same):
                    d = Diagnostic(d.code, d.severity, body, d.params)
            if d not in out:
                out.append(d)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The forecasts of every task (`table`).

        Returns
        -------
        pandas.DataFrame
            The `table` itself (not a copy).

        Examples
        --------
        >>> from scalinglab.workflows.many_tasks import forecast_tasks
        >>> res = forecast_tasks(  # doctest: +SKIP
        ...     "runs.csv", [{"n_params": 7e9, "tokens": 1.4e11}], acc_cols=["piqa", "arc"]
        ... )
        >>> res.to_frame()  # doctest: +SKIP
        """
        return self.table

    def plot(self) -> Any:
        """The first task's figure (each task's own is ``results[task].plot()``).

        Returns
        -------
        plotly.graph_objects.Figure or None
            None when no task was forecast.

        Examples
        --------
        >>> from scalinglab.workflows.many_tasks import forecast_tasks
        >>> res = forecast_tasks(  # doctest: +SKIP
        ...     "runs.csv", [{"n_params": 7e9, "tokens": 1.4e11}], acc_cols=["piqa", "arc"]
        ... )
        >>> res.results["piqa"].plot()  # doctest: +SKIP
        """
        first = next(iter(self.results.values()), None)
        return first.plot() if first is not None else None

    @property
    def laws(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per task (per task @ target run for a ladder with several targets): the step-1
        and step-2 law actually fitted, each as `law_record` gives it. Why: a table of
        forecasts is only reproducible, and only comparable across tasks, with the laws,
        their fitted and fixed parameters and a user-written law's expression beside it.

        Returns
        -------
        dict
            task -> {"step1": record, "step2": record}, each record as `law_record` gives
            it: name, formula, variables and columns, parameters fitted and fixed, spec.
        """
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for task, res in self.results.items():
            one, two = _step_fits(res)
            out[task] = {"step1": law_record(one), "step2": law_record(two)}
        return out

    def law_lines(self) -> list[str]:
        """The laws in words, one line per step when every task used the same law (else
        one per task and step): name, formula and fixed parameters; values are in --json.

        Returns
        -------
        list of str
            Lines such as ``"step 1: chinchilla: loss = ..."``.
        """
        laws = self.laws
        lines = []
        for step, what in (("step1", "step 1"), ("step2", "step 2")):
            seen: dict[str, list[str]] = {}
            for task, rec in laws.items():
                seen.setdefault(_law_words(rec[step]), []).append(task)
            for words, tasks in seen.items():
                who = "" if len(seen) == 1 else f" ({', '.join(tasks)})"
                lines.append(f"{what}{who}: {words}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The forecasts as JSON-ready data (``--json``).

        Returns
        -------
        dict
            ``method``, ``metric``, ``rows`` (the table), ``laws`` (as `laws`),
            ``notes`` and ``diagnostics`` (each task's findings, named by task).

        Examples
        --------
        >>> from scalinglab.workflows.many_tasks import forecast_tasks
        >>> res = forecast_tasks(  # doctest: +SKIP
        ...     "runs.csv", [{"n_params": 7e9, "tokens": 1.4e11}], acc_cols=["piqa", "arc"]
        ... )
        >>> res.to_dict()["laws"]["piqa"]["step2"]["params"]  # doctest: +SKIP
        """
        import json

        return {
            "method": self.method,
            "metric": self.metric,
            "rows": json.loads(self.table.to_json(orient="records", double_precision=15)),
            "laws": self.laws,
            "notes": self.notes,
            "diagnostics": [d.to_dict() for d in self.findings],
        }


def _step_fits(res: Any) -> tuple[FitResult, FitResult]:
    """(step 1, step 2) fits of a two-step forecast or of a ladder forecast."""
    if hasattr(res, "loss_fit"):
        return res.loss_fit, res.error_fit
    return res.step1, res.step2


def law_record(f: FitResult) -> dict[str, Any]:
    """One fitted law as a JSON-ready record: its name, formula (a user-written law's
    expression as written), variables and the columns they were read from, the column it
    was fitted to, fitted and fixed parameters, those on a bound, the points fitted, and
    `spec` (the law's own serialisation, which rebuilds it: `Law.to_dict`)."""
    law = f.law
    spec = law.to_dict()
    rec: dict[str, Any] = {
        "name": law.name,
        "formula": law.formula_text,
        "user_written": "expression" in spec,
        "variables": list(law.variables),
        "columns": dict(f.columns_),
        "fitted_to": f.metric_,
        "space": law.space,
        "params": {k: float(v) for k, v in f.params_.items()},
        "fixed": {k: float(v) for k, v in law.fixed_values.items()},
        "at_bounds": list(f.at_bounds_),
        "n_points": int(f.n_points_),
        "spec": spec,
    }
    if "expression" in spec:
        rec["expression"] = str(spec["expression"])
    return rec


def _law_words(rec: Mapping[str, Any]) -> str:
    """'chinchilla: loss = E + A/n_params^alpha + ...' (the formula names fixed values)."""
    name = "your law" if rec["user_written"] else rec["name"].split("[")[0]
    return f"{name}: {rec['fitted_to']} = {rec['formula']}"


# -- tasks from a long or a wide table ----------------------------------------------------


def _metric_spec(
    df: pd.DataFrame, acc_cols: Sequence[str] | None, error_cols: Sequence[str] | None
) -> tuple[str, list[str]]:
    """('accuracy' | 'error', the columns), each a name the user gave, resolved."""
    if acc_cols and error_cols:
        raise DataError("give accuracy columns or error columns, not both")
    for given, what in (
        (acc_cols, _opt("--acc-col", "acc_cols")),
        (error_cols, _opt("--error-col", "error_cols")),
    ):
        if given:
            cols = [user_column(df, c, what) for c in given]
            again = sorted({c for c in cols if cols.count(c) > 1})
            if again:  # `--acc-col accuracy --acc-col accuracy` forecast one task twice
                raise DataError(f"{what} names {', '.join(again)} more than once")
            return ("accuracy" if given is acc_cols else "error"), cols
    raise DataError(
        "give the task metric: --acc-col COL or --error-col COL, repeatable (acc_cols=[COL] "
        "or error_cols=[COL] in Python)"
    )


def task_names(
    df: pd.DataFrame,
    task_col: str,
    tasks: Sequence[str] | None,
    consumed: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """The tasks to forecast: those asked for (each must be in the table), else every task
    in the table except those folded into a combination."""
    present = [str(t) for t in pd.unique(df[task_col].astype(str))]
    if tasks:
        missing = [t for t in tasks if t not in present]
        if missing:
            raise DataError(
                f"task(s) {', '.join(missing)} not in column '{task_col}' (tasks: "
                f"{', '.join(present[:20])}{', ...' if len(present) > 20 else ''})",
                column=task_col,
                file=source_of(df),
            )
        return list(tasks)
    return [t for t in present if t not in consumed]


def combine_tasks(
    df: pd.DataFrame,
    task_col: str,
    combine: Mapping[str, Mapping[str, float]],
    value_cols: Sequence[str],
    run_col: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Add combined tasks: NAME = weighted mean of its member tasks' values, per run x
    checkpoint (e.g. MMLU from its four categories). A checkpoint missing a member is left
    out of the combination and counted."""
    notes = []
    order = next((c for c in ("step", "tokens") if c in df.columns), None)
    if order is None:
        raise MissingColumnError(
            "combining tasks needs a 'step' or 'tokens' column to align checkpoints",
            file=source_of(df),
        )
    parts = [df]
    tv = df[task_col].astype(str)
    for name, weights in combine.items():
        members = df[tv.isin(list(weights))]
        missing = [m for m in weights if m not in set(tv)]
        if missing:
            raise DataError(
                f"--combine {name}: task(s) {', '.join(missing)} not in column '{task_col}'",
                column=task_col,
                file=source_of(df),
            )
        w = members[task_col].astype(str).map(dict(weights)).astype(float)
        keys = [run_col, order]
        g = members.assign(_w=w).groupby(keys, sort=False)
        total = g["_w"].sum()
        n_members = g[task_col].nunique()
        full = n_members == len(weights)
        out = g.first()
        for c in value_cols:
            out[c] = (members[c] * w).groupby([members[k] for k in keys], sort=False).sum() / total
        out = out[full.to_numpy()].reset_index()
        out[task_col] = name
        out = out.drop(columns=["_w"], errors="ignore")
        if (~full).any():
            notes.append(
                f"--combine {name}: {int((~full).sum())} checkpoint(s) lack one of "
                f"{', '.join(weights)} and are left out of it"
            )
        parts.append(out[[c for c in df.columns if c in out.columns]])
    return pd.concat(parts, ignore_index=True), notes


def join_runs(
    checkpoints: pd.DataFrame, runs_table: pd.DataFrame | str | Path, run_col: str
) -> pd.DataFrame:
    """Run-level columns (n_params, roles, ...) from a table with one row per run, joined on
    the run column; the checkpoints' own columns win."""
    runs = load(runs_table)
    rc = user_column(runs, run_col, _opt("--run-col", "run_col") + " (in the runs table)")
    dup = runs[rc][runs[rc].duplicated()]
    if len(dup):
        raise DataError(
            f"the runs table has several rows for run {dup.iloc[0]!s} (one row per run)",
            column=rc,
            file=source_of(runs),
        )
    extra = [c for c in runs.columns if c not in checkpoints.columns and c != rc]
    right = runs[[rc, *extra]].rename(columns={rc: run_col})
    right[run_col] = right[run_col].astype(str)
    left = checkpoints.assign(**{run_col: checkpoints[run_col].astype(str)})
    out = left.reset_index().merge(right, on=run_col, how="left").set_index("index")
    out.index.name = None
    out.attrs = dict(checkpoints.attrs)
    unknown = out[run_col][out[extra[0]].isna()].unique() if extra else []
    if len(unknown) == out[run_col].nunique():
        raise DataError(
            f"the runs table names none of the runs (e.g. {out[run_col].iloc[0]!s})",
            column=run_col,
        )
    return out


# -- the two-step forecast, per task --------------------------------------------------------


def _target_label(rows: pd.DataFrame, runs: pd.Series | None) -> list[str]:
    if runs is not None:
        return [str(r) for r in runs.loc[rows.index]]
    if {"n_params", "tokens"} <= set(rows.columns):
        return [
            f"N={n:.3g}, D={d:.3g}" for n, d in zip(rows["n_params"], rows["tokens"], strict=True)
        ]
    return [f"row {r}" for r in row_numbers(rows)]


def forecast_tasks(
    data: pd.DataFrame | str | Path,
    targets: pd.DataFrame | Sequence[Mapping[str, float]] | str,
    *,
    task_col: str | None = None,
    tasks: Sequence[str] | None = None,
    acc_cols: Sequence[str] | None = None,
    error_cols: Sequence[str] | None = None,
    loss_col: str = "loss",
    where: str | None = None,
    run_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    **forecast_kw: Any,
) -> TaskForecasts:
    """The two-step forecast (loss law, then loss -> error) for each task; one table.

    Long table: `task_col` and one metric column (`acc_cols=[col]` or `error_cols=[col]`),
    every task forecast on its own rows. Wide table: several metric columns, one per task,
    sharing `loss_col` as the intermediate (e.g. LAMBADA CE -> PIQA, ARC, SciQ accuracy).
    Accuracy columns are forecast as error = 1 - accuracy and reported as accuracy.
    """
    from .downstream import forecast

    targets = _parse_targets(targets)
    df = load(data, where)
    df, notes = select_checkpoints(
        df, run_col=run_col, final_only=final_only, min_tokens=min_tokens, min_step=min_step
    )
    kind, cols = _metric_spec(df, acc_cols, error_cols)
    loss = user_column(df, loss_col, _opt("--loss-col", "loss_col"))
    if loss in cols:  # `forecast --acc-col loss`: step 2 would fit the loss on itself
        raise DataError(
            f"column '{loss}' is both step 1's loss and a task metric: the two-step forecast "
            "predicts a downstream metric from the loss; name another --acc-col / --error-col",
            column=loss,
        )
    frames: dict[str, tuple[pd.DataFrame, str]] = {}
    if task_col:
        tc = user_column(df, task_col, _opt("--task-col", "task_col"))
        if len(cols) != 1:
            raise DataError(
                "with --task-col (task_col=) give one metric column: --acc-col or --error-col "
                "(one name in acc_cols= or error_cols= in Python)"
            )
        for t in task_names(df, tc, tasks):
            frames[t] = (df[df[tc].astype(str) == t], cols[0])
    else:
        if tasks:
            raise DataError(
                "--tasks (tasks=) selects values of --task-col (task_col=); give it too"
            )
        # each task is named as the user named its column (an 'acc' read as 'accuracy')
        given = list(acc_cols or error_cols or cols)
        frames = {str(g): (df, c) for g, c in zip(given, cols, strict=True)}
    rows, results = [], {}
    step1: dict[Any, Any] = {}  # one step-1 fit for tasks that share the loss rows
    for task, (sub, col) in frames.items():
        check_used(sub, [loss, col], roles={loss: "loss", col: kind})
        err_col = col
        if kind == "accuracy":
            err_col = f"error_of_{col}"
            sub = sub.copy()
            sub[err_col] = 1.0 - pd.to_numeric(sub[col], errors="coerce")
            sub.attrs = dict(df.attrs)
        res = forecast(
            sub,
            targets,
            loss_col=loss,
            error_col=err_col,
            run_col=run_col,
            step1_cache=step1,
            **forecast_kw,
        )
        results[task] = res
        t = res.targets
        runs = run_ids(sub, run_col)
        tgt_rows = sub[_query(sub, targets, "--target-where")] if isinstance(targets, str) else None
        block = pd.DataFrame(
            {
                "task": [task] * len(t),
                "target": (
                    _target_label(tgt_rows, runs)
                    if tgt_rows is not None
                    else _target_label(t, None)
                ),
            }
        )
        for c in ("row", "n_params", "tokens"):
            if c in t.columns:
                block[c] = t[c].to_numpy()
        block["loss_pred"] = t["loss_pred"].to_numpy()
        if "loss_true" in t.columns:
            block["loss_true"] = t["loss_true"].to_numpy()
        flip = kind == "accuracy"
        pred = t["error_pred"].to_numpy()
        block["pred"] = 1.0 - pred if flip else pred
        if "error_lo" in t.columns:
            lo, hi = t["error_lo"].to_numpy(), t["error_hi"].to_numpy()
            block["lo"], block["hi"] = (1.0 - hi, 1.0 - lo) if flip else (lo, hi)
        if "error_true" in t.columns:
            truth = t["error_true"].to_numpy()
            block["true"] = 1.0 - truth if flip else truth
            block["error"] = block["pred"] - block["true"]
            if "lo" in block.columns:
                block["inside"] = (block["true"] >= block["lo"]) & (block["true"] <= block["hi"])
        block["compute_ratio"] = t["compute_ratio_loss"].to_numpy()
        if "n_params" in block.columns:  # smallest target first
            block = block.sort_values("n_params", kind="stable")
        rows.append(block)
        for n in res.notes:
            line = f"{task}: {n}"
            if n not in notes and line not in notes:
                notes.append(n if len(frames) == 1 else line)
    table = pd.concat(rows, ignore_index=True)
    notes = _fold_notes(notes, list(frames))
    return TaskForecasts(table, "forecast", kind, notes, results)


def _fold_notes(notes: list[str], tasks: list[str]) -> list[str]:
    """A note every task gave once, without its task prefix; the rest as they are."""
    if len(tasks) < 2:
        return notes
    out: list[str] = []
    for n in notes:
        for t in tasks:
            if n.startswith(f"{t}: "):
                body = n[len(t) + 2 :]
                if all(f"{u}: {body}" in notes for u in tasks):
                    if body not in out:
                        out.append(body)
                    break
                out.append(n)
                break
        else:
            out.append(n)
    return out


# -- the model ladder, per task ----------------------------------------------------------


def ladder_tasks(
    checkpoints: pd.DataFrame | str | Path,
    *,
    target: Mapping[str, float] | None = None,
    target_where: str | None = None,
    train_where: str | None = None,
    task_col: str | None = None,
    tasks: Sequence[str] | None = None,
    acc_cols: Sequence[str] | None = None,
    loss_cols: Sequence[str] | None = None,
    acc_col: str = "rc_acc",
    loss_col: str = "bpb",
    run_col: str = "run",
    runs_table: pd.DataFrame | str | Path | None = None,
    combine: Mapping[str, Mapping[str, float]] | None = None,
    where: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    last_k: int = 5,
    params_col: str | None = None,
    **ladder_kw: Any,
) -> TaskForecasts:
    """The model-ladder forecast (Bhagia et al. 2024) for each task; one table.

    Long table: `task_col` with one loss (`loss_col`, task bits-per-byte) and one accuracy
    column (`acc_col`); wide: `loss_cols` and `acc_cols` paired, one pair per task.
    `runs_table`: one row per run (n_params, roles) joined on `run_col`. `combine`: NAME ->
    {task: weight}, a weighted mean of tasks per checkpoint (the paper's MMLU).
    Targets: `target` (n_params, tokens), or `target_where` selecting target runs of the
    table; each such run is predicted at its last checkpoint's tokens and its truth is the
    mean of its last `last_k` checkpoints (the paper's convention). Training runs:
    `train_where` (default: every run that is not a target). `params_col`: the parameter
    count used as N (e.g. ``n_params_nonembedding``); which one was used is in the notes.
    """
    from ..fitting.prepare import apply_where
    from .ladder import ladder_forecast

    if (target is None) == (target_where is None):
        raise DataError(
            "give one of --target n_params=...,tokens=... or --target-where QUERY (target= or "
            "target_where= in Python)"
        )
    if target is not None:
        target = _numbers(target, "target")
    df = load(checkpoints)
    rc = user_column(df, run_col, _opt("--run-col", "run_col"))
    if runs_table is not None:
        df = join_runs(df, runs_table, rc)
    if where:
        df = apply_where(df, where)
    df, notes = select_checkpoints(
        df, run_col=rc, final_only=final_only, min_tokens=min_tokens, min_step=min_step
    )
    df, n_note = _params_as_n(df, params_col)
    notes += n_note
    order = [c for c in ("step", "tokens") if c in df.columns]
    if order:  # the ladder reads each run's checkpoints in training order
        df = df.sort_values([rc, *order], kind="stable")
    pairs: dict[str, tuple[pd.DataFrame, str, str]] = {}
    if task_col:
        tc = user_column(df, task_col, _opt("--task-col", "task_col"))
        lc = user_column(df, loss_col, _opt("--loss-col", "loss_col"))
        ac = user_column(df, acc_col, _opt("--acc-col", "acc_col"))
        consumed: set[str] = set()
        if combine:
            df, more = combine_tasks(df, tc, combine, [lc, ac], rc)
            notes += more
            consumed = {m for w in combine.values() for m in w}
        for t in task_names(df, tc, tasks, consumed):
            pairs[t] = (df[df[tc].astype(str) == t], lc, ac)
    else:
        if tasks or combine:
            raise DataError(
                "--tasks and --combine (tasks=, combine=) select values of --task-col "
                "(task_col=); give it too"
            )
        lcs = [
            user_column(df, c, _opt("--loss-col", "loss_cols")) for c in (loss_cols or [loss_col])
        ]
        acs = [user_column(df, c, _opt("--acc-col", "acc_cols")) for c in (acc_cols or [acc_col])]
        if len(lcs) == 1:
            lcs = lcs * len(acs)
        if len(lcs) != len(acs):
            raise DataError(
                f"give one --loss-col per --acc-col (or one for all): {len(lcs)} and {len(acs)}"
            )
        names = [str(a) for a in (acc_cols or [acc_col])]  # the user's names, not aliases
        pairs = {n: (df, lc, a) for n, lc, a in zip(names, lcs, acs, strict=True)}
    rows, results = [], {}
    for task, (sub, lc, ac) in pairs.items():
        runs = sub[rc].astype(str)
        if target_where:
            hit = sub[_query(sub, target_where, "--target-where")]
            if hit.empty:
                raise DataError(f"--target-where {target_where!r} selects no rows for {task}")
            held = whole_runs(sub.index.isin(hit.index), runs)
            tgt_runs = sub[held]
            train = sub[~held]
        else:
            tgt_runs, train = sub.iloc[:0], sub
        if train_where:
            train = apply_where(train, train_where, "--train-where")
        check_used(train, [lc, ac], roles={lc: "loss", ac: "accuracy"})
        goals: list[tuple[str, dict[str, float], float, float]] = []
        if target is not None:
            goals.append(("target", dict(target), np.nan, np.nan))
        else:
            for run, g in tgt_runs.groupby(rc, sort=False):
                last = last_checkpoints(g, g[rc].astype(str))
                tail = g.tail(last_k)
                goals.append(
                    (
                        str(run),
                        {
                            "n_params": float(last["n_params"].iloc[0]),
                            "tokens": float(last["tokens"].iloc[0]),
                        },
                        float(pd.to_numeric(tail[lc], errors="coerce").mean()),
                        float(pd.to_numeric(tail[ac], errors="coerce").mean()),
                    )
                )
        for label, goal, loss_true, acc_true in goals:
            res = ladder_forecast(
                train, goal, run_col=rc, loss_col=lc, acc_col=ac, last_k=last_k, **ladder_kw
            )
            results[task if len(goals) == 1 else f"{task} @ {label}"] = res
            row: dict[str, Any] = {
                "task": task,
                "target": label,
                "n_params": goal["n_params"],
                "tokens": goal["tokens"],
                "loss_pred": res.loss_pred,
                "loss_true": loss_true,
                "pred": res.acc_pred,
            }
            if res.acc_interval:
                row["lo"], row["hi"] = res.acc_interval
            row["true"] = acc_true
            row["error"] = res.acc_pred - acc_true
            if res.acc_interval:
                row["inside"] = bool(row["lo"] <= acc_true <= row["hi"])
            row["loss_spread_lo"], row["loss_spread_hi"] = res.loss_spread
            row["n_train_runs"] = int(train[rc].nunique())
            rows.append(row)
    table = pd.DataFrame(rows)
    if target is not None:
        table = table.drop(columns=["loss_true", "true", "error", "inside"], errors="ignore")
    else:
        notes.append(
            f"truth: the mean of each target run's last {last_k} checkpoints (as step 1 "
            "averages the training runs), at the tokens of its last checkpoint"
        )
    return TaskForecasts(table, "ladder", "accuracy", notes, results)


def _params_as_n(df: pd.DataFrame, params_col: str | None) -> tuple[pd.DataFrame, list[str]]:
    """The table with `params_col` as N, and a note saying which count N is (a table with
    total and non-embedding counts must say which one the fit used)."""
    from ..schema import add_derived

    if params_col:
        pc = user_column(df, params_col, _opt("--params-col", "params_col"))
        if pc != "n_params":
            attrs = dict(df.attrs)
            df = add_derived(
                df.drop(columns=["flops", "tokens_per_param"], errors="ignore")
                .assign(n_params=df[pc])
                .copy()
            )
            df.attrs = attrs
        return df, [f"N is the '{pc}' column (--params-col)"]
    if {"n_params", "n_params_nonembedding"} <= set(df.columns):
        return df, ["N is the 'n_params' column (total); --params-col picks another"]
    return df, []


def _numbers(point: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A target's values with unit suffixes parsed ('70B' -> 7e10), as the CLI parses them
    (issue 23: suffixes parse everywhere in the API); a value that is no number is named."""
    from ..schema import parse_number

    out: dict[str, Any] = {}
    for k, v in point.items():
        try:
            out[k] = parse_number(v) if isinstance(v, str) else v
        except ValueError as exc:
            raise NonNumericValueError(f"{what} '{k}': {exc}", column=str(k)) from None
    return out


def _parse_targets(
    targets: pd.DataFrame | Sequence[Mapping[str, Any]] | str,
) -> pd.DataFrame | Sequence[Mapping[str, Any]] | str:
    """Targets with unit suffixes parsed: a query stays a query; a table's text columns and
    each mapping's text values become numbers."""
    if isinstance(targets, str):
        return targets
    if isinstance(targets, pd.DataFrame):
        from ..schema import numeric_column

        out = targets.copy()
        for c in out.columns:
            if not pd.api.types.is_numeric_dtype(out[c]):
                out[c] = numeric_column(out[c], str(c))
        return out
    return [_numbers(t, f"target {i + 1}") for i, t in enumerate(targets)]


def _opt(cli: str, python: str) -> str:
    """An option as both interfaces spell it (issue 23: a hint names the option of the
    interface in use; this module serves both): '--acc-col (acc_cols= in Python)'."""
    return f"{cli} ({python}= in Python)"


def _query(df: pd.DataFrame, query: str, what: str) -> np.ndarray:
    from .audit import selected_rows

    return selected_rows(df, query, what)
