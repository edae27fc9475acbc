"""Two-step downstream forecast (Gadre et al. 2024; Bhagia et al. 2024).

Step 1 fits a loss law on cheap runs ((N, D) or (C, M) -> loss). Step 2 fits a loss ->
downstream-error law on runs with measured loss and error. A target is chained through both.
Intervals come from one bootstrap over the runs of both fit sets together (a resampled run
enters both fits), so they carry the uncertainty of both steps. The spread of near-optimal
step-1 fits (from the start table) is reported too: these objectives are often multi-modal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import (
    DataError,
    MissingColumnError,
    NonFiniteValueError,
    NonPositiveValueError,
    ScalingLabError,
)
from ..fitting import FitResult, fit
from ..fitting.bootstrap import check_bootstrap_size, resample_counts
from ..fitting.near_optimal import near_optimal_range
from ..fitting.predict_inputs import check_prediction_inputs
from ..fitting.prepare import row_numbers, source_of
from ..laws import get_law
from ..laws.base import Law
from ..results import Result
from ..schema import add_derived, resolve_column
from .audit import run_flops, selected_rows
from .calibration import (
    calibrated_band,
    learn_extrapolation,
    propagate,
    uncalibrated,
    value_bounds,
)
from .checkpoints import (
    check_used,
    describe_runs,
    flops_per_run,
    load,
    plain,
    run_ids,
    select_checkpoints,
    user_column,
    whole_runs,
)

NEAR_OPTIMAL = 0.05  # relative objective gap for "near-optimal" step-1 fits


def target_extrapolation(step1: FitResult, targets: pd.DataFrame) -> list[Diagnostic]:
    """An `extrapolation` diagnostic per variable of step 1's law on which a target lies
    more than one order of magnitude beyond the fitted runs (message and distance from
    `FitResult.check_inputs`). Why: a forecast 2.4 orders of magnitude beyond its data rests
    on the law holding there, which no interval fully prices in."""
    return [
        Diagnostic(d.code, d.severity, f"target: {d.message}", d.params)
        for d in step1.check_inputs(targets)
    ]


@dataclass
class ForecastResult(Result):
    """The two-step downstream forecast: a loss law, then loss -> error, at each target.

    Built by `scalinglab.forecast`.

    Attributes
    ----------
    loss_fit : FitResult
        Step 1: the loss law fitted on the training runs.
    error_fit : FitResult
        Step 2: the downstream error as a function of the loss.
    targets : pandas.DataFrame
        One row per target: its inputs, ``loss_pred`` and ``error_pred``, the near-optimal
        spread (``loss_spread_lo``/``_hi``, not an interval), ``loss_lo``/``_hi`` and
        ``error_lo``/``_hi`` when intervals were computed, the compute ratios, and, for
        targets taken from the data, ``row``, ``*_true``, ``*_rel_error`` and ``*_inside``.
    interval : float
        The intervals' level.
    n_bootstrap : int
        Resamples behind them (0: none).
    loss_col, error_col : str
        The columns fitted in steps 1 and 2.
    notes : list of str
        How the intervals and spreads were made; what was left out.
    extrapolation_term : ExtrapolationTerm or None
        The widening learned from leave-largest-out folds (with ``calibrate=True``).
    calibrated : bool
        Whether calibration was asked for (an ``uncalibrated`` warning when it was but
        no term could be learned).
    """

    title: ClassVar[str] = "two-step downstream forecast"
    loss_fit: FitResult
    error_fit: FitResult
    targets: pd.DataFrame
    interval: float
    n_bootstrap: int
    loss_col: str
    error_col: str
    notes: list[str] = field(default_factory=list)
    extrapolation_term: Any = None
    calibrated: bool = False  # calibrate=True was asked for

    components: ClassVar[dict[str, str]] = {
        "loss_fit": "step 1 (loss fit)",
        "error_fit": "step 2 (error fit)",
    }

    def _own_diagnostics(self) -> list[Diagnostic]:
        return target_extrapolation(self.loss_fit, self.targets) + uncalibrated(
            self.calibrated, self.extrapolation_term
        )

    def to_frame(self) -> pd.DataFrame:
        """The forecast at every target (`targets`).

        Returns
        -------
        pandas.DataFrame
            The `targets` table itself (not a copy).

        Examples
        --------
        >>> res = sl.forecast("runs.csv", "n_params > 1e9", loss_law="chinchilla")  # doctest: +SKIP
        >>> res.to_frame()[["n_params", "error_pred", "error_lo", "error_hi"]]  # doctest: +SKIP
        """
        return self.targets

    def plot(self) -> Any:
        """The two steps' figures: loss against compute (the fitted runs and the targets),
        and error against loss (step 2's curve and the targets), each target in its own
        colour.

        Returns
        -------
        tuple of plotly.graph_objects.Figure
            (step 1's figure, step 2's figure).

        Examples
        --------
        >>> res = sl.forecast("runs.csv", "n_params > 1e9", loss_law="chinchilla")  # doctest: +SKIP
        >>> loss_fig, error_fig = res.plot()  # doctest: +SKIP
        >>> error_fig.show()  # doctest: +SKIP
        """
        from ..plots import forecast_figures

        return forecast_figures(self)

    def to_dict(self) -> dict[str, Any]:
        """The forecast as JSON-ready data (``--json``).

        Returns
        -------
        dict
            Both laws and their parameters and point counts, ``interval``,
            ``n_bootstrap``, ``targets`` (rows), ``notes``, ``extrapolation_term``,
            ``warnings``, ``beyond_data`` (per target, how many orders of magnitude each
            step-1 variable lies beyond the fitted runs) and ``diagnostics``.

        Examples
        --------
        >>> res = sl.forecast("runs.csv", "n_params > 1e9", loss_law="chinchilla")  # doctest: +SKIP
        >>> res.to_dict()["targets"][0]["error_pred"]  # doctest: +SKIP
        """
        import json

        return {
            "loss_law": self.loss_fit.law.name,
            "error_law": self.error_fit.law.name,
            "loss_params": self.loss_fit.params_,
            "error_params": self.error_fit.params_,
            "loss_fit_points": self.loss_fit.n_points_,
            "error_fit_points": self.error_fit.n_points_,
            "interval": self.interval,
            "n_bootstrap": self.n_bootstrap,
            "targets": json.loads(self.targets.to_json(orient="records")),
            "notes": self.notes,
            "extrapolation_term": (
                self.extrapolation_term.to_dict() if self.extrapolation_term else None
            ),
            "warnings": self.loss_fit.warnings_ + self.error_fit.warnings_,
            # per target and step-1 variable: orders of magnitude beyond the fitted runs
            "beyond_data": [
                {k: float(v) for k, v in row.items()}
                for row in self.loss_fit.extrapolation(self.targets).to_dict("records")
            ],
            "diagnostics": [d.to_dict() for d in self.findings],
        }


def _target_frame(
    df: pd.DataFrame, targets: pd.DataFrame | Sequence[Mapping[str, float]] | str | None
) -> tuple[pd.DataFrame, bool]:
    """Targets as rows with canonical inputs; True when they come from the data (truth known)."""
    if targets is None:
        raise DataError(
            "forecast needs targets: --target n_params=...,tokens=... or --target-where QUERY"
        )
    if isinstance(targets, str):
        rows = df[selected_rows(df, targets, "--target-where")]
        if rows.empty:
            raise DataError(f"--target-where {targets!r} selects no rows", file=source_of(df))
        return rows, True
    t = pd.DataFrame(list(targets)) if not isinstance(targets, pd.DataFrame) else targets.copy()
    if t.empty:
        raise DataError("no targets given")
    for col in ("n_params", "tokens", "flops"):  # named before derived columns hide them
        if col in t.columns:
            vals = pd.to_numeric(t[col], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(vals) | (vals <= 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                kind = NonFiniteValueError if not np.isfinite(vals[i]) else NonPositiveValueError
                raise kind(
                    f"target {i + 1}: '{col}' is {plain(t[col].iloc[i])}; it must be a finite "
                    "number > 0",
                    column=col,
                )
    return add_derived(t), False


def near_optimal_spread(
    res: FitResult,
    inputs: Mapping[str, np.ndarray],
    rel: float = NEAR_OPTIMAL,
    n_explore: int = 64,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Min/max prediction over fits whose objective lies within `rel` of the best: the
    search's optimised starts, the `n_explore` best-screened starts each optimised to its own
    end point, and the valley's two ends at each query found by constrained optimisation
    (`fitting.near_optimal.near_optimal_range`: min/max prediction s.t. objective <= best x
    (1 + rel)). Starts alone end where their starting points led them, often on one side of
    a flat valley. A spread, not an interval; the count is of the search's fits within the
    tolerance (the constrained ends come on top of them)."""
    names = list(res.law.param_names)
    st = res.starts_
    tables = [st]
    start_cols = [f"start_{n}" for n in names]
    if res.frame_ is not None and n_explore and set(start_cols) <= set(st.columns):
        key = st["screen_objective"] if "screen_objective" in st else st["objective"]
        pick = st.loc[key.sort_values(kind="stable").index[:n_explore], start_cols]
        try:
            more = fit(
                res.frame_,
                res.law,
                metric=res.metric_,
                mapping={v: c for v, c in res.columns_.items() if v != c} or None,
                grid=pick.to_numpy(dtype=float),
                strategy="full",
                delta=res.delta_,
            )
            tables.append(more.starts_)
        except ScalingLabError:
            pass
    best = min(float(t["objective"].min()) for t in tables)
    center = None  # the best fit found, when the exploration beat the search's own
    if best < res.objective_:
        t = min(tables, key=lambda t: float(t["objective"].min()))
        center = t.loc[t["objective"].idxmin(), names].to_numpy(dtype=float)
    params = []
    for t in tables:
        ok = np.isfinite(t["objective"]) & (t["objective"] <= best * (1 + rel) + 1e-300)
        ok &= t["status"] != "screened"
        params.append(t.loc[ok, names].to_numpy(dtype=float))
    allp = np.vstack(params) if params else np.empty((0, len(names)))
    if len(allp) == 0:
        allp = res.param_vector_[None, :]
    preds = res.law.evaluate(allp, inputs)
    lo, hi = preds.min(axis=0), preds.max(axis=0)
    ends = near_optimal_range(res, inputs, rel, starts=allp, center=center)
    if ends is None:
        return lo, hi, len(allp)
    return np.fmin(lo, ends.lower), np.fmax(hi, ends.upper), len(allp)


def forecast(
    data: pd.DataFrame | str | Path,
    targets: pd.DataFrame | Sequence[Mapping[str, float]] | str | None = None,
    *,
    loss_law: str | Law = "overtrain",
    error_law: str | Law = "loss_to_error",
    loss_col: str = "loss",
    error_col: str = "error",
    fit_where: str | None = None,
    error_fit_where: str | None = None,
    preset: str | None = None,
    n_bootstrap: int = 1000,
    interval: float = 0.9,
    seed: int = 0,
    n_refine: int = 32,
    calibrate: bool = True,
    where: str | None = None,
    run_col: str | None = None,
    final_only: bool = False,
    min_tokens: float | None = None,
    min_step: float | None = None,
    params_col: str | None = None,
    step1_cache: dict[Any, Any] | None = None,
) -> ForecastResult:
    """Two-step downstream forecast: a loss law on the runs, a loss -> error law, chained.

    Step 1 fits `loss_law` (inputs such as N and D, or C and M) to `loss_col`; step 2 fits
    `error_law` (error as a function of loss) to `error_col`; a target's error is step 2 at
    step 1's predicted loss (Gadre et al. 2024; the OLMo ladder). Why two steps: error is
    noisy and saturating in N and D, but smooth in loss.

    Parameters
    ----------
    data : DataFrame, str or path
        A DataFrame or a table path (CSV, TSV, Parquet, JSONL) with one row per run or
        checkpoint: the loss law's inputs, `loss_col` and `error_col`.
    targets : DataFrame, sequence of mappings or str
        Rows (dicts or a DataFrame) with the loss law's inputs, or a row query (see
        `scalinglab.query`) selecting runs of `data`, whose truth is then known and whose
        errors are reported. Selected runs are left out of both fits.
    loss_law, error_law : str or Law
        Catalog names or `Law` objects (default ``overtrain``, ``loss_to_error``).
    loss_col, error_col : str
        The columns of step 1's and step 2's metrics (user names are
        resolved through the schema's aliases).
    fit_where, error_fit_where : str, optional
        Row queries selecting the step-1 runs and the step-2 runs
        (default: the step-1 runs).
    preset : str, optional
        "paper" for the papers' own objective (least squares on raw values).
    n_bootstrap : int, default 1000
        Joint bootstrap resamples (runs resampled together for both steps); 0: none.
    interval : float, default 0.9
        The level of every interval (0 < interval < 1).
    calibrate : bool, default True
        Add the extrapolation term learned from leave-largest-out folds (see
        `scalinglab.workflows.calibration`); False gives the bootstrap's interval alone.
    where : str, optional
        Rows to use at all, applied before any validation.
    run_col : str, optional
    final_only : bool, default False
    min_tokens, min_step : float, optional
        Runs and checkpoints (see
        `scalinglab.workflows.checkpoints`): the run of a row; keep each run's last checkpoint;
        drop warm-up checkpoints (the counts are stated in the notes).
    params_col : str, optional
        The parameter count used as N (e.g. ``n_params_nonembedding``); flops and
        tokens_per_param are recomputed from it.
    seed : int, default 0
    n_refine : int, default 32
        The fits' random seed and refined starts.
    step1_cache : dict, optional
        A dict shared by calls that forecast several error columns from the same
        loss rows, so step 1, its bootstrap and extrapolation term are computed once.

    Returns
    -------
    ForecastResult
        `targets` (one row per target: predictions, intervals, compute ratios, and truth and
        errors when the targets come from the data), both fits, notes and diagnostics.

    Examples
    --------
    >>> import scalinglab as sl
    >>> res = sl.forecast("runs.csv", "n_params > 1e9", loss_law="chinchilla")  # doctest: +SKIP
    >>> res.targets[["error_pred", "error_lo", "error_hi", "error_true"]]  # doctest: +SKIP
    """
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)):
        raise DataError(f"n_bootstrap must be a whole number, got {n_bootstrap!r}")
    if n_bootstrap < 0:  # -1 was a numpy error about negative dimensions
        raise DataError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    df = load(data, where)
    df, notes = select_checkpoints(
        df, run_col=run_col, final_only=final_only, min_tokens=min_tokens, min_step=min_step
    )
    runs = run_ids(df, run_col)
    if params_col:
        pc = user_column(df, params_col, "--params-col")
        if pc != "n_params":
            df = add_derived(
                df.drop(columns=["flops", "tokens_per_param"], errors="ignore")
                .assign(n_params=df[pc])
                .copy()
            )
        notes.append(f"N is the '{pc}' column (--params-col); flops = 6 N D")
    elif "n_params_nonembedding" in df.columns and "n_params" in df.columns:
        notes.append("N is the 'n_params' column (total); --params-col picks another")
    for col, what in ((loss_col, "--loss-col"), (error_col, "--error-col")):
        if resolve_column(df, col) is None:
            raise MissingColumnError(
                f"the two-step forecast needs a loss and an error column; {what} '{col}' is "
                f"not in the data (columns: {', '.join(map(str, df.columns))})",
                column=col,
                file=source_of(df),
            )
    loss_col, error_col = str(resolve_column(df, loss_col)), str(resolve_column(df, error_col))
    if loss_col == error_col:  # `forecast --acc-col loss`: step 2 would fit loss on itself
        raise DataError(
            f"column '{loss_col}' is both step 1's loss and step 2's metric: the two-step "
            "forecast predicts a downstream metric from the loss; name another --error-col / "
            "--acc-col (or --loss-col)",
            column=loss_col,
            file=source_of(df),
        )
    target_rows, known = _target_frame(df, targets)
    pool = df
    if known:
        held = whole_runs(df.index.isin(target_rows.index), runs)
        pool = df[~held]
        n_more = int(held.sum()) - len(target_rows)
        if n_more:
            notes.append(
                f"the target runs' {n_more} other checkpoint(s) are left out of the fits too"
            )
    loss_set = pool[selected_rows(pool, fit_where, "--fit-where")] if fit_where else pool
    err_set = (
        pool[selected_rows(pool, error_fit_where, "--error-fit-where")]
        if error_fit_where
        else loss_set
    )
    if loss_set.empty or err_set.empty:
        raise DataError(
            "the fit set is empty after --fit-where / --error-fit-where", file=source_of(df)
        )
    check_used(loss_set, [loss_col])
    check_used(err_set, [loss_col, error_col])
    if known:
        check_used(target_rows, [loss_col, error_col])
    notes.append(
        f"loss fit: {describe_runs(loss_set, _runs_of(loss_set, runs))}; error fit: "
        f"{describe_runs(err_set, _runs_of(err_set, runs))}"
    )
    l_law, e_law = get_law(loss_law), get_law(error_law)
    e_var = e_law.variables[0]
    cache = step1_cache if step1_cache is not None else {}
    key = (
        tuple(loss_set.index), tuple(err_set.index), tuple(target_rows.index), loss_col,
        l_law.name, preset, seed, n_refine, n_bootstrap, interval, calibrate,
    )  # fmt: skip
    step1 = cache.setdefault(key, {})
    if "fit" not in step1:
        step1["fit"] = fit(
            loss_set, l_law, metric=loss_col, n_refine=n_refine, seed=seed, preset=preset
        )
    loss_fit = step1["fit"]
    err_fit = fit(
        err_set,
        e_law,
        metric=error_col,
        mapping={e_var: loss_col},
        seed=seed,
        n_refine=n_refine,
        preset=preset,
    )

    check_prediction_inputs(loss_fit, target_rows)
    inputs = loss_fit.law_inputs(target_rows)
    loss_pred = loss_fit.law.evaluate(loss_fit.params_, inputs)
    err_pred = err_fit.law.evaluate(err_fit.params_, {e_var: loss_pred})
    shown = [c for c in ("n_params", "tokens") if c in target_rows.columns]
    shown += [c for c in loss_fit.columns_.values() if c not in shown]
    out = pd.DataFrame({c: target_rows[c].to_numpy() for c in shown})
    if known:
        out.insert(0, "row", row_numbers(target_rows))
    out["loss_pred"] = loss_pred
    out["error_pred"] = err_pred
    if "spread" not in step1:
        step1["spread"] = near_optimal_spread(loss_fit, inputs)
    lo, hi, n_near = step1["spread"]
    out["loss_spread_lo"], out["loss_spread_hi"] = lo, hi
    notes.append(
        f"spread of near-optimal fits (not an interval): {n_near} step-1 fits with an "
        f"objective within {NEAR_OPTIMAL:.0%} of the best give loss_spread_lo/hi"
    )
    if n_bootstrap:
        _joint_bootstrap(
            out,
            loss_fit,
            err_fit,
            loss_set,
            err_set,
            inputs,
            e_var,
            n_bootstrap,
            interval,
            seed,
            runs,
            step1,
        )
    term = None
    if calibrate:
        # folds along size (and compute, see fold_axes): a forecast goes to bigger models,
        # and compute folds alone hold out only rows inside the size and token ranges
        # (Pythia: every size's early checkpoints are kept), which teach no slope
        axis = "n_params" if "n_params" in loss_set.columns else "flops"
        if "term" not in step1:
            step1["term"] = learn_extrapolation(
                loss_set, l_law, axis, level=interval, full_fit=loss_fit, metric=loss_col,
                n_refine=n_refine, seed=seed, preset=preset,
            )  # fmt: skip
        term = step1["term"]
        _, lo, hi = calibrated_band(loss_fit, inputs, interval, term)
        errs = err_set[error_col].to_numpy(dtype=float)
        # the metric's own range by name (BLEU, chrF: [0, 100]) where the values keep to
        # it, else [0, 1] where every value lies there (see value_bounds)
        bounds = value_bounds(error_col, errs, infer=True)
        _, elo, ehi = propagate(err_fit, e_var, loss_pred, lo, hi, interval, bounds)
        out["loss_lo"], out["loss_hi"], out["error_lo"], out["error_hi"] = lo, hi, elo, ehi
        if term is not None:
            notes.append(
                f"{interval:.0%} intervals: bootstrap of the runs plus an extrapolation term "
                f"learned from {term.n_folds} leave-largest-out folds along {term.axis} "
                f"({term.n_heldout} held-out rows): half-width {term.a:.3g} + {term.b:.3g} per "
                f"order of magnitude beyond the data ({term.space} space)"
            )
    flops = run_flops(target_rows)  # each run once, at its largest checkpoint
    out["compute_ratio_loss"] = flops / flops_per_run(loss_set, _runs_of(loss_set, runs))
    out["compute_ratio_error"] = flops / flops_per_run(err_set, _runs_of(err_set, runs))
    if known:
        for what, col in (("loss", loss_col), ("error", error_col)):
            truth = target_rows[col].to_numpy(dtype=float)
            out[f"{what}_true"] = truth
            out[f"{what}_rel_error"] = np.abs(out[f"{what}_pred"] - truth) / np.abs(truth)
            if n_bootstrap or calibrate:
                out[f"{what}_inside"] = (truth >= out[f"{what}_lo"]) & (truth <= out[f"{what}_hi"])
    res = ForecastResult(loss_fit, err_fit, out, interval, n_bootstrap, loss_col, error_col, notes)
    res.extrapolation_term = term
    res.calibrated = calibrate
    return res


def _runs_of(rows: pd.DataFrame, runs: pd.Series | None) -> pd.Series | None:
    return None if runs is None else runs.loc[rows.index]


def _joint_bootstrap(
    out, loss_fit, err_fit, loss_set, err_set, inputs, e_var, B, interval, seed, runs=None,
    step1=None,
):  # fmt: skip
    """Resample the union of both fit sets' runs once; each fit sees its own runs' counts."""
    union = loss_set.index.union(err_set.index)
    groups = runs.loc[union].to_numpy() if runs is not None else None  # a run goes whole
    check_bootstrap_size(B, len(union), loss_fit.law.n_params + err_fit.law.n_params)
    counts = resample_counts(len(union), B, np.random.default_rng(seed), groups=groups)
    pos = {lab: i for i, lab in enumerate(union)}
    c_loss = counts[:, [pos[i] for i in loss_set.index]]
    c_err = counts[:, [pos[i] for i in err_set.index]]
    step1 = {} if step1 is None else step1
    if "bootstrap" not in step1:
        step1["bootstrap"] = loss_fit.bootstrap(counts=c_loss, seed=seed)
    bl = step1["bootstrap"]
    loss_fit.bootstrap_ = bl
    be = err_fit.bootstrap(counts=c_err, seed=seed)
    ok = bl.usable & be.usable
    loss_draws = loss_fit.law.evaluate(bl.params[ok], inputs)
    err_draws = err_fit.law.evaluate_paired(be.params[ok], {e_var: loss_draws})
    q = [50 * (1 - interval), 50 * (1 + interval)]
    out["loss_lo"], out["loss_hi"] = np.nanpercentile(loss_draws, q, axis=0)
    out["error_lo"], out["error_hi"] = np.nanpercentile(err_draws, q, axis=0)
    out["bootstrap_usable"] = int(ok.sum())
