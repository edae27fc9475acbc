"""Held-out validation and extrapolation audits: a law's track record on scale it never saw.

Every audit fits on one part of the runs and predicts the rest, reporting per held-out point
the prediction, the truth, absolute and relative error and whether the truth lies inside the
bootstrap interval, plus per-fold summaries (mean absolute deviation, the metric of Zhang et
al.; mean relative error; interval coverage) and the compute ratio of target vs fit set
("predicted from N x less compute", as Gadre et al. report it).

A law over several finetuning factors (Zhang et al.'s Eq. 2, catalog `finetune_joint`) is
scored per factor too (`by_factor()`: model size, pretraining data, PET size), and
`largest_per_factor` runs the paper's Table 2 check: each factor's largest value held out, so
a user sees which factor's extrapolation fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, MissingColumnError, ScalingLabError
from ..fitting import FitResult
from ..fitting.fold_fits import fit_folds
from ..fitting.prepare import apply_where, source_of
from ..fitting.presets import check_preset
from ..laws import get_law
from ..laws.base import Law
from ..schema import resolve_column
from .audit_result import AuditResult, _held_out_summary  # noqa: F401 (re-exported)
from .audit_score import (  # noqa: F401 (re-exported: the report and transfer use them)
    JOINT_FACTORS,
    _law_of_compute,
    _score,
    compute_ratio,
    factor_labels,
    run_flops,
    selected_rows,
)
from .checkpoints import (
    describe_runs,
    load,
    plain,
    run_ids,
    select_checkpoints,
    whole_runs,
)
from .table_input import _load  # noqa: F401 (re-exported: other workflows import it here)


def _laws(
    law: str | Law | Sequence[str | Law], preset: str | None
) -> list[tuple[Law, dict[str, Any]]]:
    """Each law with the fit options it is audited under (the preset goes to `fit()`)."""
    items = [law] if isinstance(law, (str, Law)) else list(law)
    if preset is not None:
        check_preset(preset)  # named before any fold is fitted
    kw: dict[str, Any] = {} if preset is None else {"preset": preset}
    return [(get_law(item), dict(kw)) for item in items]


def _groups(df: pd.DataFrame, by: str | None):
    if by is None:
        return [(None, df)]
    col = resolve_column(df, by)
    if col is None:
        raise MissingColumnError(
            f"--by column '{by}' is not in the data", column=by, file=source_of(df)
        )
    return list(df.groupby(col, sort=True))


class _Folds:
    """Scores splits with the audit's shared settings and collects points and summaries."""

    def __init__(
        self,
        fit_kw: Mapping[str, Any],
        interval: float,
        n_bootstrap: int,
        seed: int,
        progress: Any,
        runs: pd.Series | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.fit_kw, self.progress = dict(fit_kw), progress
        self.runs, self.notes = runs, list(notes or [])
        self.score_kw: dict[str, Any] = dict(interval=interval, n_bootstrap=n_bootstrap, seed=seed)
        self.points: list[pd.DataFrame] = []
        self.rows: list[dict[str, Any]] = []

    def score(
        self,
        train: pd.DataFrame,
        test: pd.DataFrame,
        law: Law,
        law_kw: Mapping[str, Any],
        fold: Any,
        axis: str | None = None,
        fitted: FitResult | None = None,
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        pts, summ = _score(
            train,
            test,
            law,
            fold=fold,
            fit_kw={**self.fit_kw, **law_kw},
            axis=axis,
            runs=self.runs,
            fitted=fitted,
            **self.score_kw,
        )
        n_bad = summ.pop("n_unpredictable", 0)
        n_out, rng = summ.pop("n_out_of_range", 0), summ.pop("range", None)
        if n_out:
            self.notes.append(
                f"{fold} ({law.name}): {n_out} held-out prediction(s) lie outside the "
                f"metric's range [{rng[0]:g}, {rng[1]:g}]: the law leaves the range there, "
                "so those predictions are impossible values; their intervals run from the "
                "bound inward"
            )
        if n_bad:
            self.notes.append(
                f"{fold} ({law.name}): {n_bad} held-out row(s) have no prediction (an input "
                "outside the law's domain, e.g. tokens 0 at step 0) and are left out of the "
                "scores; filter them with --where"
            )
        self.points.append(pts)
        self.rows.append(summ)
        if self.progress is not None:
            self.progress(1)
        return pts, summ

    def result(self, kind: str) -> AuditResult:
        return AuditResult(
            kind, pd.concat(self.points, ignore_index=True), pd.DataFrame(self.rows), self.notes
        )


def _prepare(
    data: pd.DataFrame | str | Path,
    where: str | None,
    run_col: str | None,
    final_only: bool,
    min_tokens: float | None,
    min_step: float | None,
) -> tuple[pd.DataFrame, pd.Series | None, list[str]]:
    """Rows to audit (`where` first, then warm-up / non-final checkpoints dropped), the run
    of each row and what was dropped."""
    df = load(data, where)
    df, notes = select_checkpoints(
        df, run_col=run_col, final_only=final_only, min_tokens=min_tokens, min_step=min_step
    )
    runs = run_ids(df, run_col)
    if runs is not None and runs.duplicated().any():
        notes.append(
            f"{describe_runs(df, runs)}: folds hold out whole runs, the bootstrap resamples "
            "runs and compute ratios count each run once"
        )
    return df, runs, notes


def holdout(
    data: pd.DataFrame | str | Path,
    law: str | Law | Sequence[str | Law] = "chinchilla",
    query: str = "",
    *,
    fit_where: str | None = None,
    by: str | None = None,
    preset: str | None = None,
    interval: float = 0.9,
    n_bootstrap: int = 1000,
    seed: int = 0,
    where: str | None = None,
    run_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    progress: Any = None,
    **fit_kw: Any,
) -> AuditResult:
    """Fit on the rows not matching `query` (and matching `fit_where`), predict the rest.

    A run the query touches is held out with all its checkpoints.

    Parameters
    ----------
    data : DataFrame, str or path
        The runs: a DataFrame or a table path.
    law : str, Law or sequence of them, default 'chinchilla'
        A law name, a Law, or several (scored on the same folds).
    query : str
        Query selecting the held-out rows, e.g. ``"n_params > 1e9"`` (required).
    fit_where : str, optional
        A further query the fit rows must match (the rest are neither fitted nor scored).
    by : str, optional
        Run the audit separately within each value of this column (e.g. per training set).
    preset : str, optional
        A fit preset passed to `fit()` for every law (checked before any fold is fitted).
    interval : float, default 0.9
        Coverage of the prediction intervals the held-out points are scored against.
    n_bootstrap : int, default 1000
        Bootstrap resamples behind those intervals.
    seed : int, default 0
        Seed of the resampling, so an audit repeats exactly.
    where : str, optional
        Row query applied before anything else (the CLI's --where).
    run_col : str, optional
        The column naming each row's run (default: `run` / `run_id`, else the model id);
        folds hold out whole runs.
    final_only : bool, default False
        Keep only each run's last checkpoint.
    min_tokens, min_step : float, optional
        Drop warm-up checkpoints below this many tokens / steps.
    progress : callable, optional
        Called with 1 after each fold is scored (a progress bar's update).
    **fit_kw
        Further `fit()` options, used for every fold's fit.

    Returns
    -------
    AuditResult
        One row per held-out point and one summary row per fold and law.
    """
    if not query:
        raise DataError('a holdout query is needed, e.g. "n_params > 1e9"')
    df, runs, notes = _prepare(data, where, run_col, final_only, min_tokens, min_step)
    folds = _Folds(fit_kw, interval, n_bootstrap, seed, progress, runs, notes)
    for key, sub in _groups(df, by):
        held = selected_rows(sub, query, "--holdout")
        if runs is not None:
            held = whole_runs(held, runs.loc[sub.index])
        where = f" within {by} == {plain(key)}" if by else ""
        if not held.any():
            raise DataError(f"--holdout {query!r} selects no rows{where}", file=source_of(df))
        if held.all():
            raise DataError(
                f"--holdout {query!r} selects every row{where}, leaving none to fit",
                file=source_of(df),
            )
        train = sub[~held]
        if fit_where:
            train = apply_where(train, fit_where, "--fit-where")
        for lw, kw in _laws(law, preset):
            folds.score(train, sub[held], lw, kw, fold=key if by else "holdout")
    return folds.result("holdout")


def leave_largest_out(
    data: pd.DataFrame | str | Path,
    law: str | Law | Sequence[str | Law] = "chinchilla",
    axis: str = "n_params",
    *,
    fit_where: str | None = None,
    preset: str | None = None,
    interval: float = 0.9,
    n_bootstrap: int = 1000,
    seed: int = 0,
    min_fit_points: int | None = None,
    max_folds: int = 8,
    min_fit_scales: int = 3,
    where: str | None = None,
    run_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    progress: Any = None,
    **fit_kw: Any,
) -> AuditResult:
    """For each k: fit on the k smallest scales of `axis`, predict every larger scale.

    `distance` in the points table is log10(held-out scale / largest fitted scale): the
    orders of magnitude extrapolated. Error vs distance tells how far the law can be trusted.
    An axis with more than `max_folds` distinct values (e.g. sizes read off a figure) is cut
    into `max_folds` + 1 blocks of consecutive scales; each cut is one fold. A fold needs
    `min_fit_scales` distinct scales in its fit set: a law cannot learn how the metric moves
    along an axis it has seen at one or two values. A run's scale is its largest checkpoint's:
    a run beyond the cut is held out with all its checkpoints.

    Parameters
    ----------
    data : DataFrame, str or path
        The runs: a DataFrame or a table path.
    law : str, Law or sequence of them, default 'chinchilla'
        A law name, a Law, or several (scored on the same folds).
    axis : str, default 'n_params'
        The scale column to extrapolate along.
    fit_where : str, optional
        A further query each fold's fit rows must match.
    min_fit_points : int, optional
        Fewest rows a fold may fit on (default: the law's parameter count + 1).
    max_folds : int, default 8
        Most folds; a longer axis is cut into blocks of consecutive scales.
    min_fit_scales : int, default 3
        Fewest distinct `axis` values a fold's fit set must span.
    preset : str, optional
        A fit preset passed to `fit()` for every law (checked before any fold is fitted).
    interval : float, default 0.9
        Coverage of the prediction intervals the held-out points are scored against.
    n_bootstrap : int, default 1000
        Bootstrap resamples behind those intervals.
    seed : int, default 0
        Seed of the resampling, so an audit repeats exactly.
    where : str, optional
        Row query applied before anything else (the CLI's --where).
    run_col : str, optional
        The column naming each row's run (default: `run` / `run_id`, else the model id);
        folds hold out whole runs.
    final_only : bool, default False
        Keep only each run's last checkpoint.
    min_tokens, min_step : float, optional
        Drop warm-up checkpoints below this many tokens / steps.
    progress : callable, optional
        Called with 1 after each fold is scored (a progress bar's update).
    **fit_kw
        Further `fit()` options, used for every fold's fit.

    Returns
    -------
    AuditResult
        One row per held-out point and one summary row per fold and law.
    """
    df, runs, notes = _prepare(data, where, run_col, final_only, min_tokens, min_step)
    if axis not in df.columns:
        raise MissingColumnError(
            f"--leave-largest-out axis '{axis}' is not in the data", column=axis, file=source_of(df)
        )
    scales = np.unique(df[axis].to_numpy(dtype=float))
    if scales.size < 2:
        raise DataError(
            f"axis '{axis}' has a single value; nothing to extrapolate to",
            column=axis,
            file=source_of(df),
        )
    if scales.size - 1 > max_folds:
        cut_idx = np.unique(np.linspace(0, scales.size - 1, max_folds + 2).round().astype(int))
        cuts = scales[cut_idx[:-1]]
    else:
        cuts = scales[:-1]
    folds = _Folds(fit_kw, interval, n_bootstrap, seed, progress, runs, notes)
    scale = df[axis].astype(float)
    if runs is not None:
        scale = scale.groupby(runs.to_numpy()).transform("max")
    for lw, kw in _laws(law, preset):
        need = min_fit_points or lw.n_params + 1
        splits = []
        for k, cut in enumerate(cuts):
            on = np.array(scale <= cut, dtype=bool)
            train = df[on]
            if fit_where:
                keep = selected_rows(train, fit_where, "--fit-where")
                train, on[on] = train[keep], np.asarray(keep, dtype=bool)
            if len(train) < need or train[axis].nunique() < min_fit_scales:
                continue
            test = df[scale > cut]
            if test.empty:
                continue
            splits.append((k, cut, train, test, on))
        # Every fold's fit in one batched search (fitting.fold_fits: the folds' starts share
        # each optimiser iteration, as bootstrap resamples do): equal to one fit() per fold.
        masks = np.array([sp[4] for sp in splits]).reshape(-1, len(df))
        fits = fit_folds(df, lw, masks, **{**fit_kw, **kw}) if splits else []
        for (k, cut, train, test, _), res in zip(splits, fits, strict=True):
            nxt_hi = cuts[k + 1] if k + 1 < len(cuts) else np.inf
            pts, summ = folds.score(
                train, test, lw, kw, fold=f"{axis}<={cut:.4g}", axis=axis, fitted=res
            )
            nxt = pts[(test[axis].to_numpy(dtype=float) <= nxt_hi)]
            summ["fit_max_scale"] = float(cut)
            summ["next_scale_rel_error"] = float(nxt["rel_error"].mean())
    if not folds.rows:
        raise DataError(
            f"no split along '{axis}' leaves enough points to fit (need >= "
            f"{min_fit_points or 'n_params + 1'} points and {min_fit_scales} distinct scales "
            "in the fit set)",
            file=source_of(df),
        )
    return folds.result("leave_largest_out")


def leave_one_group_out(
    data: pd.DataFrame | str | Path,
    law: str | Law | Sequence[str | Law] = "chinchilla",
    group: str = "n_params",
    *,
    preset: str | None = None,
    interval: float = 0.9,
    n_bootstrap: int = 1000,
    seed: int = 0,
    where: str | None = None,
    run_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    progress: Any = None,
    **fit_kw: Any,
) -> AuditResult:
    """Fit on all groups but one, predict that one; for every group. A run with a row in the
    held-out group is held out with all its checkpoints (group by the run column to leave
    one run out at a time).

    Parameters
    ----------
    data : DataFrame, str or path
        The runs: a DataFrame or a table path.
    law : str, Law or sequence of them, default 'chinchilla'
        A law name, a Law, or several (scored on the same folds).
    group : str, default 'n_params'
        The column whose values are left out one at a time.
    preset : str, optional
        A fit preset passed to `fit()` for every law (checked before any fold is fitted).
    interval : float, default 0.9
        Coverage of the prediction intervals the held-out points are scored against.
    n_bootstrap : int, default 1000
        Bootstrap resamples behind those intervals.
    seed : int, default 0
        Seed of the resampling, so an audit repeats exactly.
    where : str, optional
        Row query applied before anything else (the CLI's --where).
    run_col : str, optional
        The column naming each row's run (default: `run` / `run_id`, else the model id);
        folds hold out whole runs.
    final_only : bool, default False
        Keep only each run's last checkpoint.
    min_tokens, min_step : float, optional
        Drop warm-up checkpoints below this many tokens / steps.
    progress : callable, optional
        Called with 1 after each fold is scored (a progress bar's update).
    **fit_kw
        Further `fit()` options, used for every fold's fit.

    Returns
    -------
    AuditResult
        One row per held-out point and one summary row per fold and law.
    """
    df, runs, notes = _prepare(data, where, run_col, final_only, min_tokens, min_step)
    if group not in df.columns:
        raise MissingColumnError(
            f"group column '{group}' is not in the data", column=group, file=source_of(df)
        )
    values = df[group].unique()
    if len(values) < 2:
        raise DataError(
            f"group column '{group}' has a single group; nothing to leave out",
            column=group,
            file=source_of(df),
        )
    folds = _Folds(fit_kw, interval, n_bootstrap, seed, progress, runs, notes)
    skipped = []
    for lw, kw in _laws(law, preset):
        splits = []
        for v in values:
            held = whole_runs((df[group] == v).to_numpy(), runs)
            if held.all():
                skipped.append(f"{group}={v}")
                continue
            splits.append((v, held))
        masks = np.array([~h for _, h in splits]).reshape(-1, len(df))
        fits = fit_folds(df, lw, masks, **{**fit_kw, **kw}) if splits else []  # one batch
        for (v, held), res in zip(splits, fits, strict=True):
            folds.score(df[~held], df[held], lw, kw, fold=f"{group}={v}", fitted=res)
    if skipped:
        folds.notes.append(
            f"{len(skipped)} fold(s) hold out every run with all its checkpoints, leaving "
            f"nothing to fit, and are skipped: {', '.join(dict.fromkeys(skipped))}"
        )
    if not folds.rows:
        raise DataError(
            f"every {group} group touches every run: leave-one-group-out along '{group}' has "
            "nothing to fit (group by a run-level column, e.g. the run or n_params)",
            file=source_of(df),
        )
    return folds.result("leave_one_group_out")


def largest_per_factor(
    data: pd.DataFrame | str | Path,
    law: str | Law | Sequence[str | Law] = "finetune_joint",
    *,
    by: str | None = None,
    min_values: int = 3,
    preset: str | None = None,
    interval: float = 0.9,
    n_bootstrap: int = 1000,
    seed: int = 0,
    where: str | None = None,
    run_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    progress: Any = None,
    **fit_kw: Any,
) -> AuditResult:
    """Zhang et al.'s Table 2 check of a joint finetuning law: hold out the runs at each
    factor's largest value (model size, pretraining data, PET size) together, fit the rest,
    and score the held-out runs per factor (`by_factor()`), so the factor whose extrapolation
    fails is named rather than averaged away.

    `data` is a finetune_joint table (x_model / x_data / x_pet, 0 where a row is not that
    factor's run) or the factor-tagged layout of `choose-method` / `factor-effects` (a
    `factor` column naming n_params, tokens or the PET column), converted here. `by`: one
    fit per value (e.g. the finetuning method, as the paper fits each method). A factor with
    fewer than `min_values` values in a group is not held out (the fit left would not
    determine its exponent), and the note says so.
    """
    df, runs, notes = _prepare(data, where, run_col, final_only, min_tokens, min_step)
    laws = _laws(law, preset)
    mapping = dict(fit_kw.get("mapping") or {})
    for lw, _ in laws:
        if factor_labels(df.head(0), lw, mapping) is None:
            raise DataError(
                f"largest per factor audits a joint finetuning law (x_model / x_data / x_pet, "
                f"e.g. finetune_joint); '{lw.name}' has variables {', '.join(lw.variables)}"
            )
    df = _joint_table(df, mapping)
    folds = _Folds(fit_kw, interval, n_bootstrap, seed, progress, runs, notes)
    for key, sub in _groups(df, by):
        within = f"{by} == {plain(key)}: " if by else ""
        held = np.zeros(len(sub), dtype=bool)
        for f in JOINT_FACTORS:
            col = mapping.get(f"x_{f}", f"x_{f}")
            if col not in sub.columns:
                continue
            x = sub[col].to_numpy(dtype=float)
            on = x > 0
            n_vals = len(np.unique(x[on]))
            if n_vals >= min_values:
                held |= on & np.isclose(x, x[on].max())
            elif n_vals:
                folds.notes.append(
                    f"{within}factor {f} has {n_vals} value(s), fewer than {min_values}: its "
                    "largest is not held out (the fit left would not determine its exponent)"
                )
        if runs is not None:
            held = whole_runs(held, runs.loc[sub.index])
        if not held.any():
            folds.notes.append(f"{within}no factor has {min_values}+ values: nothing held out")
            continue
        for lw, kw in laws:
            folds.score(sub[~held], sub[held], lw, kw, fold=key if by else "largest per factor")
    if not folds.rows:
        raise DataError(
            f"no factor has {min_values} or more values to hold its largest out "
            f"({'; '.join(folds.notes)})",
            file=source_of(df),
        )
    return folds.result("largest_per_factor")


def _joint_table(df: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """A finetune_joint table as it is, or one built from the factor-tagged layout (a
    `factor` column naming n_params / tokens / a PET column per row)."""
    if any(mapping.get(f"x_{f}", f"x_{f}") in df.columns for f in JOINT_FACTORS):
        return df
    if "factor" not in df.columns:
        raise MissingColumnError(
            "a joint finetuning audit needs x_model / x_data / x_pet columns (see "
            "`factor-effects --joint-out`) or a 'factor' column naming each row's factor",
            column="factor",
            file=source_of(df),
        )
    from .factor_effects import joint_columns, joint_frame

    factors = [str(f) for f in dict.fromkeys(df["factor"].dropna())]
    out = joint_frame(df, joint_columns(factors))
    out.attrs.update(df.attrs)
    return out


def compare_laws(
    data: pd.DataFrame | str | Path, laws: Sequence[str | Law], **kwargs: Any
) -> pd.DataFrame:
    """Held-out error per law on the same split(s), so laws are compared on equal terms.

    Parameters
    ----------
    data : DataFrame, str or path
        The runs: a DataFrame or a table path.
    laws : sequence of str or Law
        The laws to compare.
    **kwargs
        ``query=`` runs `holdout`, else ``axis=`` runs `leave_largest_out`, else ``group=``
        runs `leave_one_group_out` (one of them is required); the rest go to that function.

    Returns
    -------
    DataFrame
        One row per law: the audit's `AuditResult.by_law` table.
    """
    if "query" in kwargs:
        audit = holdout(data, laws, **kwargs)
    elif "axis" in kwargs:
        audit = leave_largest_out(data, laws, **kwargs)
    elif "group" in kwargs:
        audit = leave_one_group_out(data, laws, **kwargs)
    else:
        raise ValueError("compare_laws needs query=, axis= or group=")
    return audit.by_law()


# The audit modes by keyword (audit()'s keywords shadow the function names inside it).
_AUDIT_MODES: dict[str, Callable[..., AuditResult]] = {
    "holdout": holdout,
    "leave_largest_out": leave_largest_out,
    "leave_one_group_out": leave_one_group_out,
    "largest_per_factor": lambda data, law, _flag, **kw: largest_per_factor(data, law, **kw),
}


def audit(
    data: pd.DataFrame | str | Path,
    law: str | Law | Sequence[str | Law] = "chinchilla",
    *,
    holdout: str | None = None,
    leave_largest_out: str | None = None,
    leave_one_group_out: str | None = None,
    largest_per_factor: bool = False,
    task_col: str | None = None,
    tasks: Sequence[str] | None = None,
    **kwargs: Any,
) -> AuditResult:
    """Held-out error of one or more laws: the one entry point behind `scalinglab audit`.

    Parameters
    ----------
    data : DataFrame, str or path
        The runs: a DataFrame or a table path.
    law : str, Law or sequence of them, default 'chinchilla'
        A law name, a Law, or several (compared on the same folds)
    holdout : str, optional
        Query selecting the held-out rows (fit on the rest)
    leave_largest_out : str, optional
        Column; fit on the k smallest scales, predict every larger one
    leave_one_group_out : str, optional
        Column; fit on all groups but one, for every group
    largest_per_factor : bool, default False
        A joint finetuning law (finetune_joint): each factor's largest
        value held out, error per factor (Zhang et al.'s Table 2; see `largest_per_factor`)
    task_col : str, optional
        A long table's task column: the same audit per task (its rows only), one
        table with a `task` column (`tasks`: the task values to audit, default all)
    tasks : sequence of str, optional
        With `task_col`, the task values to audit (default all); without it, an error.
    **kwargs
        Passed on (fit_where, preset, interval, n_bootstrap, seed, fit options)

    Returns
    -------
    AuditResult with one row per held-out point and one summary row per fold and law.

    Examples
    --------
    >>> import scalinglab as sl
    >>> laws = ["chinchilla", "kaplan"]
    >>> aud = sl.audit("runs.csv", laws, holdout="n_params > 1e9")  # doctest: +SKIP
    >>> aud.by_law()  # doctest: +SKIP
    """
    modes = {
        "holdout": holdout,
        "leave_largest_out": leave_largest_out,
        "leave_one_group_out": leave_one_group_out,
        "largest_per_factor": largest_per_factor,
    }
    given = [k for k, v in modes.items() if v]
    if len(given) != 1:
        raise DataError(
            "audit needs exactly one of holdout=QUERY, leave_largest_out=COLUMN, "
            "leave_one_group_out=COLUMN, largest_per_factor=True "
            f"(got {', '.join(given) or 'none'})"
        )
    run = _AUDIT_MODES[given[0]]
    if task_col is None:
        if tasks:
            raise DataError("tasks= selects values of task_col (--task-col); give it too")
        return run(data, law, modes[given[0]], **kwargs)
    return _per_task(run, data, law, str(modes[given[0]]), task_col, tasks, kwargs)


def _per_task(
    run: Any,
    data: pd.DataFrame | str | Path,
    law: Any,
    mode_arg: str,
    task_col: str,
    tasks: Sequence[str] | None,
    kwargs: dict[str, Any],
) -> AuditResult:
    """One audit per task of a long table, in one result: each task's rows alone (a law
    fitted to one task's metric), its points and folds tagged with the task."""
    df = _load(data)
    col = resolve_column(df, task_col)
    if col is None:
        raise MissingColumnError(
            f"--task-col '{task_col}' is not in the data", column=task_col, file=source_of(df)
        )
    have = list(dict.fromkeys(df[col].astype(str)))
    want = list(tasks) if tasks else have
    unknown = [t for t in want if t not in have]
    if unknown:
        raise DataError(
            f"task(s) {unknown} are not values of '{col}' (have: {', '.join(have[:20])})",
            column=col,
            file=source_of(df),
        )
    points, folds, notes = [], [], []
    kind = ""
    for t in want:
        sub = df[df[col].astype(str) == t]
        sub.attrs.update(df.attrs)
        try:
            res = run(sub, law, mode_arg, **kwargs)
        except ScalingLabError as exc:
            notes.append(f"task {t}: not audited ({getattr(exc, 'message', exc)})")
            continue
        kind = res.kind
        points.append(res.points.assign(task=t))
        folds.append(res.folds.assign(task=t))
        notes += [f"task {t}: {n}" for n in res.notes]
    if not points:
        raise DataError(f"no task could be audited: {'; '.join(notes)}", file=source_of(df))
    front = lambda f: f[["task", *[c for c in f.columns if c != "task"]]]  # noqa: E731
    return AuditResult(
        kind,
        front(pd.concat(points, ignore_index=True)),
        front(pd.concat(folds, ignore_index=True)),
        notes,
    )
