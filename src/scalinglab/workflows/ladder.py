"""Model-ladder two-step forecast (Bhagia et al. 2024, AI2's OLMo ladder).

Step 1 fits L(N, D) = E + A/N^alpha + B/D^beta to each small run's task loss (bits-per-byte),
averaged over its last `last_k` checkpoints. Step 2 fits accuracy = a/(1+exp(-k(L-x0))) + b
by least squares to every checkpoint of the small runs (the first `skip_frac` dropped, then a
trailing moving average of `window` checkpoints), plus the helper point (L=0, accuracy=1).
A target (N, D) is chained through both. Step 1 is multi-modal on some tasks (MMLU), so the
spread of predictions over near-optimal step-1 fits is reported along with a bootstrap over
runs. Either step may be a law the user writes (`expression_law`), with parameters held fixed
(e.g. a logistic with a 0.25 chance floor as step 2), through the same chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import DataError, OptionError
from ..fitting import FitResult, fit
from ..fitting.predict_inputs import check_prediction_inputs
from ..laws import get_law
from ..laws.base import Law
from ..results import Result
from ..schema import POSITIVE
from .calibration import (
    ExtrapolationTerm,
    calibrated_band,
    learn_chain_extrapolation,
    learn_extrapolation,
    propagate,
    uncalibrated,
)
from .downstream import near_optimal_spread, target_extrapolation
from .pretrain_choice import require_columns


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average; the first window-1 points average what exists so far."""
    c = np.cumsum(np.asarray(values, dtype=float))
    out = c.copy()
    if len(c) > window:
        out[window:] = c[window:] - c[:-window]
    counts = np.minimum(np.arange(1, len(c) + 1), window)
    return out / counts


def step1_points(
    ck: pd.DataFrame, run_col: str, loss_col: str, last_k: int, extra: Sequence[str] = ()
) -> pd.DataFrame:
    """Per run: tokens of the last checkpoint, loss averaged over the last `last_k`; `extra`
    columns (other inputs of a user-written step-1 law) at the last checkpoint."""
    rows = []
    for run, g in ck.groupby(run_col, sort=False):
        tail = g.tail(last_k)
        rows.append(
            {
                run_col: run,
                "n_params": float(g["n_params"].iloc[-1]),
                "tokens": float(tail["tokens"].iloc[-1]),
                **{c: float(tail[c].iloc[-1]) for c in extra},
                loss_col: float(tail[loss_col].mean()),
            }
        )
    return pd.DataFrame(rows)


def step2_points(
    ck: pd.DataFrame, run_col: str, loss_col: str, acc_col: str, skip_frac: float, window: int
) -> pd.DataFrame:
    """Per run: checkpoints after the first `skip_frac`, each series smoothed by a trailing
    moving average of `window`."""
    parts = []
    for run, g in ck.groupby(run_col, sort=False):
        g = g.iloc[int(np.ceil(skip_frac * len(g))) :]
        parts.append(
            pd.DataFrame(
                {
                    run_col: run,
                    loss_col: trailing_mean(g[loss_col], window),
                    acc_col: trailing_mean(g[acc_col], window),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@dataclass
class LadderForecast(Result):
    """The OLMo model-ladder forecast of one target run: loss, then task accuracy.

    Built by `scalinglab.ladder`.

    Attributes
    ----------
    step1 : FitResult
        The loss law fitted to the small runs' final losses.
    step2 : FitResult
        Loss -> accuracy, fitted on the small runs' smoothed checkpoints.
    target : dict of str to float
        The run forecast (``n_params``, ``tokens``).
    loss_pred, acc_pred : float
        The forecast loss and accuracy.
    loss_spread, acc_spread : (float, float)
        The range over near-optimal step-1 fits (not an interval).
    n_near_optimal : int
        How many step-1 fits that spread covers.
    acc_interval, loss_interval : (float, float) or None
        The intervals at level `interval`, None when none were computed.
    notes : list of str
        How the intervals were made, where step 2 extrapolates.
    calibrated : bool
        Whether calibration was asked for.
    extrapolation_term : ExtrapolationTerm or None
        Step 1's widening learned from leave-largest-out folds.
    step2_drift : float or None
        Step 2's learned widening per unit of loss below the small runs' lowest loss.
    interval : float
        The level of the intervals.
    n_bootstrap : int
        Resamples behind them (0: none).
    """

    title: ClassVar[str] = "model-ladder forecast"
    step1: FitResult
    step2: FitResult
    target: dict[str, float]
    loss_pred: float
    acc_pred: float
    loss_spread: tuple[float, float]
    acc_spread: tuple[float, float]
    n_near_optimal: int
    acc_interval: tuple[float, float] | None = None
    loss_interval: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)
    calibrated: bool = False
    extrapolation_term: ExtrapolationTerm | None = None
    step2_drift: float | None = None
    interval: float = 0.9  # the level of loss_interval and acc_interval
    n_bootstrap: int = 0

    components: ClassVar[dict[str, str]] = {
        "step1": "step 1 (loss fit)",
        "step2": "step 2 (accuracy fit)",
    }

    def _own_diagnostics(self) -> list[Diagnostic]:
        return target_extrapolation(self.step1, pd.DataFrame([self.target])) + uncalibrated(
            self.calibrated, self.extrapolation_term
        )

    def to_frame(self) -> pd.DataFrame:
        """The forecast as one row: the target, both predictions with their intervals,
        and the near-optimal loss spread.

        Returns
        -------
        pandas.DataFrame
            One row: the target's inputs, ``loss_pred``, ``loss_lo``, ``loss_hi``,
            ``acc_pred``, ``acc_lo``, ``acc_hi``, ``loss_spread_lo``, ``loss_spread_hi``
            (NaN bounds without intervals).

        Examples
        --------
        >>> res = sl.ladder(ck, {"n_params": 7e9, "tokens": 4e12})  # doctest: +SKIP
        >>> res.to_frame()[["acc_pred", "acc_lo", "acc_hi"]]  # doctest: +SKIP
        """
        li, ai = self.loss_interval or (np.nan, np.nan), self.acc_interval or (np.nan, np.nan)
        return pd.DataFrame(
            [
                {
                    **self.target,
                    "loss_pred": self.loss_pred,
                    "loss_lo": li[0],
                    "loss_hi": li[1],
                    "acc_pred": self.acc_pred,
                    "acc_lo": ai[0],
                    "acc_hi": ai[1],
                    "loss_spread_lo": self.loss_spread[0],
                    "loss_spread_hi": self.loss_spread[1],
                }
            ]
        )

    def plot(self) -> Any:
        """Step 2's fit, accuracy against loss (the figure `fit` draws for any law);
        ``res.step1.plot()`` draws step 1.

        Returns
        -------
        plotly.graph_objects.Figure

        Examples
        --------
        >>> res = sl.ladder(ck, {"n_params": 7e9, "tokens": 4e12})  # doctest: +SKIP
        >>> res.plot().show()  # doctest: +SKIP
        """
        return self.step2.plot()

    def to_dict(self) -> dict[str, Any]:
        """The forecast as JSON-ready data (``--json``).

        Returns
        -------
        dict
            The target, predictions, spreads and intervals, both laws with their fitted
            and fixed parameters, ``notes``, ``extrapolation_term``,
            ``step2_drift_per_unit_loss`` and ``diagnostics``.

        Examples
        --------
        >>> res = sl.ladder(ck, {"n_params": 7e9, "tokens": 4e12})  # doctest: +SKIP
        >>> res.to_dict()["acc_interval"]  # doctest: +SKIP
        """
        return {
            "target": self.target,
            "loss_pred": self.loss_pred,
            "acc_pred": self.acc_pred,
            "loss_spread": list(self.loss_spread),
            "acc_spread": list(self.acc_spread),
            "n_near_optimal": self.n_near_optimal,
            "loss_interval": list(self.loss_interval) if self.loss_interval else None,
            "acc_interval": list(self.acc_interval) if self.acc_interval else None,
            "interval": self.interval,
            "n_bootstrap": self.n_bootstrap,
            "step1_law": self.step1.law.name,
            "step2_law": self.step2.law.name,
            "step1_params": self.step1.params_,
            "step2_params": self.step2.params_,
            "fixed": {**self.step1.law.fixed_values, **self.step2.law.fixed_values},
            "notes": self.notes,
            "extrapolation_term": (
                self.extrapolation_term.to_dict() if self.extrapolation_term else None
            ),
            "step2_drift_per_unit_loss": self.step2_drift,
            "beyond_data": {
                k: float(v)
                for k, v in self.step1.extrapolation(pd.DataFrame([self.target])).max().items()
            },
            "diagnostics": [d.to_dict() for d in self.findings],
        }


def ladder_forecast(
    checkpoints: pd.DataFrame,
    target: dict[str, float],
    *,
    run_col: str = "run",
    loss_col: str = "bpb",
    acc_col: str = "rc_acc",
    train_runs: Sequence[str] | None = None,
    last_k: int = 5,
    skip_frac: float = 0.1,
    window: int = 5,
    helper_point: tuple[float, float] | None = (0.0, 1.0),
    near_optimal: float = 0.05,
    n_bootstrap: int = 0,
    interval: float = 0.9,
    seed: int = 0,
    calibrate: bool = True,
    loss_law: str | Law = "chinchilla",
    acc_law: str | Law | None = None,
    fixed: Mapping[str, float] | None = None,
) -> LadderForecast:
    """The OLMo model-ladder forecast: a target's task accuracy from small runs' checkpoints.

    Step 1 fits Chinchilla's law to each small run's final loss (the mean of its last
    `last_k` checkpoints); step 2 fits a sigmoid from loss to accuracy on every smoothed
    checkpoint after the first `skip_frac` of each run (Bhagia et al. 2024). The target's
    accuracy is step 2 at step 1's predicted loss. Why checkpoints: step 2 needs many
    (loss, accuracy) pairs, and intermediate checkpoints give them for free.

    Parameters
    ----------
    checkpoints : DataFrame
        One row per (run, checkpoint) in training order, with n_params, tokens,
        the loss and accuracy columns.
    target : mapping of str to float
        ``{"n_params": ..., "tokens": ...}`` of the run to forecast.
    run_col, loss_col, acc_col : str
        The run, loss (e.g. bits per byte) and accuracy columns (default ``run``, ``bpb``,
        ``rc_acc``).
    train_runs : sequence of str, optional
        The small runs to fit on (default: all).
    last_k : int, default 5
        Checkpoints averaged into a run's final loss (step 1).
    skip_frac : float, default 0.1
    window : int, default 5
        Step 2 skips each run's first `skip_frac` of checkpoints and
        smooths the rest by a trailing mean of `window`.
    helper_point : (float, float) or None, default (0.0, 1.0)
        An extra (loss, accuracy) point anchoring the sigmoid (the paper's
        (0, 1)); None: none.
    near_optimal : float, default 0.05
        Objective gap of the step-1 fits whose spread is reported.
    n_bootstrap : int, default 0
        Bootstrap resamples (runs resampled whole).
    interval : float, default 0.9
        The intervals' level.
    seed : int, default 0
        The bootstrap's seed.
    calibrate : bool, default True
        Add the extrapolation terms learned from leave-largest-out folds (see
        `scalinglab.workflows.calibration`); without enough history the result carries the
        `uncalibrated` diagnostic.
    loss_law : str or Law, default 'chinchilla'
        Step 1's law of the run-level inputs (default Chinchilla's); a catalog name
        or a `Law`, e.g. ``sl.expression_law("E + A/n_params**a + B/tokens**b", ...)``.
    acc_law : str or Law, optional
        Step 2's law of the loss, with one variable (the loss); default the paper's
        sigmoid with its bounds. Fitted by least squares, as the paper fits step 2.
    fixed : mapping of str to float, optional
        Parameter values held fixed, each in whichever step's law has it (e.g. a
        chance floor ``{"floor": 0.25}``); a name neither law has is an error.

    Returns
    -------
    LadderForecast
        Predicted loss and accuracy, their intervals and near-optimal spreads, both fits.

    Examples
    --------
    >>> import scalinglab as sl
    >>> res = sl.ladder(ck, {"n_params": 7e9, "tokens": 4e12})   # doctest: +SKIP
    >>> res.acc_pred, res.acc_interval                         # doctest: +SKIP
    """
    ok = isinstance(near_optimal, (int, float)) and not isinstance(near_optimal, bool)
    if not (ok and 0 <= near_optimal < np.inf):
        raise OptionError(
            f"near_optimal must be a finite number >= 0 (a relative objective tolerance, "
            f"0.05 = within 5% of the best), got {near_optimal!r}"
        )
    law1, law2, kw2 = ladder_laws(loss_law, acc_law, fixed)
    missing = [v for v in law1.variables if v not in target]
    if missing:  # a KeyError deep in the forecast before
        raise DataError(
            f"the target sets {', '.join(target) or 'nothing'} but not {', '.join(missing)}: "
            f"step 1's law '{law1.name}' needs {', '.join(law1.variables)}"
        )
    extra = [v for v in law1.variables if v not in ("n_params", "tokens")]
    require_columns(
        checkpoints,
        [run_col, "n_params", "tokens", *extra, loss_col, acc_col],
        "model-ladder forecast",
    )
    ck = (
        checkpoints
        if train_runs is None
        else checkpoints[checkpoints[run_col].isin(list(train_runs))]
    )
    if ck[run_col].nunique() < 4:
        raise DataError(
            f"the ladder forecast needs at least 4 runs to fit step 1; got {ck[run_col].nunique()}"
        )
    s1 = step1_points(ck, run_col, loss_col, last_k, extra)
    step1 = fit(s1, law1, metric=loss_col, n_refine=64)
    s2_runs = step2_points(ck, run_col, loss_col, acc_col, skip_frac, window)
    if loss_col in POSITIVE:
        # The helper point's loss is 0, which the schema rightly refuses in a column named
        # `loss` (a ladder with its loss column named so failed with "value 0 is not
        # positive"): step 2 reads the loss under a name that carries no such rule.
        x2_col = f"{loss_col}_x"
        s2_runs = s2_runs.rename(columns={loss_col: x2_col})
    else:
        x2_col = loss_col
    helper = (
        None
        if helper_point is None
        else pd.DataFrame({x2_col: [helper_point[0]], acc_col: [helper_point[1]]})
    )
    s2 = s2_runs if helper is None else pd.concat([s2_runs, helper], ignore_index=True)
    var2 = law2.variables[0]
    step2 = fit(s2, law2, mapping={var2: x2_col}, metric=acc_col, n_refine=16, **kw2)
    check_prediction_inputs(step1, pd.DataFrame([target]))
    inputs = {v: np.array([float(target[v])]) for v in law1.variables}
    loss_pred = float(step1.law.evaluate(step1.params_, inputs)[0])
    acc_pred = float(step2.law.evaluate(step2.params_, {var2: [loss_pred]})[0])
    lo, hi, n_near = near_optimal_spread(step1, inputs, rel=near_optimal)
    acc_ends = step2.law.evaluate(step2.params_, {var2: [lo[0], hi[0]]})
    res = LadderForecast(
        step1,
        step2,
        dict(target),
        loss_pred,
        acc_pred,
        (float(lo[0]), float(hi[0])),
        (float(min(acc_ends)), float(max(acc_ends))),
        n_near,
    )
    res.interval, res.n_bootstrap = interval, n_bootstrap
    res.notes.append(
        f"spread of near-optimal fits (not an interval): {n_near} step-1 fits with an "
        f"objective within {near_optimal:.0%} of the best put the target's {loss_col} in "
        f"[{lo[0]:.4f}, {hi[0]:.4f}]"
    )
    if n_bootstrap:
        step1.bootstrap(n_bootstrap, seed=seed, group_by=run_col)
        # a run's smoothed checkpoints are resampled together (they are one run's noise)
        runs2 = s2[run_col].astype(object).where(s2[run_col].notna(), "(helper point)")
        step2.bootstrap(n_bootstrap, seed=seed, group_by=runs2.rename(run_col))
    if calibrate or n_bootstrap:
        term = (
            learn_extrapolation(
                s1,
                step1.law,
                "n_params",
                level=interval,
                full_fit=step1,
                metric=loss_col,
                n_refine=64,
            )  # fmt: skip
            if calibrate
            else None
        )
        _, lo, hi = calibrated_band(step1, inputs, interval, term)
        b2 = None
        if calibrate:
            compute = dict(zip(s1[run_col], 6.0 * s1["n_params"] * s1["tokens"], strict=True))
            b2 = learn_chain_extrapolation(
                s2_runs, law2, x2_col, acc_col, run_col, compute, fixed=helper,
                level=interval, n_refine=16, **kw2,
            )  # fmt: skip
        # Step 2 extrapolates where the target's loss (its interval's low end) lies below
        # every loss the small runs reached; the helper point does not count as data there.
        floor = float(s2_runs[x2_col].min())
        gap = max(floor - float(lo[0]), 0.0)
        widen = (
            None
            if b2 is None
            else (np.array([b2 * gap]), np.array([b2 * max(floor - float(hi[0]), 0.0)]))
        )
        _, alo, ahi = propagate(
            step2, var2, np.array([loss_pred]), lo, hi, interval, (0.0, 1.0), widen
        )
        res.loss_interval = (float(lo[0]), float(hi[0]))
        res.acc_interval = (float(alo[0]), float(ahi[0]))
        res.calibrated, res.extrapolation_term, res.step2_drift = calibrate, term, b2
        if b2 is not None and gap > 0:
            res.notes.append(
                f"step 2 extrapolates: the target's {loss_col} (low end {float(lo[0]):.4g}) "
                f"lies {gap:.3g} below the lowest the fitted runs reached; the accuracy "
                f"interval adds {b2:.3g} per unit of that gap, learned from folds that hold "
                "out the largest runs"
            )
        if term is not None:
            res.notes.append(
                f"{interval:.0%} intervals include an extrapolation term from {term.n_folds} "
                f"leave-largest-out folds: half-width {term.a:.3g} + {term.b:.3g} per order "
                "of magnitude beyond the data (log space)"
            )
    return res


def ladder_laws(
    loss_law: str | Law = "chinchilla",
    acc_law: str | Law | None = None,
    fixed: Mapping[str, float] | None = None,
) -> tuple[Law, Law, dict[str, Any]]:
    """The ladder's two laws and step 2's fit options. Why a function: `ladder`, its CLI
    and the report build them the same way. Step 2 defaults to the paper's sigmoid (least
    squares, a in [-1, 0], x0 >= 0, b in [0, 1]); a user's step-2 law is fitted by least
    squares too and must have exactly one variable, the loss. `fixed` values go to whichever
    law has the parameter; a name neither has is an error (never silently ignored)."""
    law1 = get_law(loss_law)
    if acc_law is None:
        law2 = get_law("sigmoid")
        law2 = law2.with_parameter("a", lower=-1.0, upper=0.0, grid=(-1.0, -0.75, -0.5, -0.25))
        law2 = law2.with_parameter("b", lower=0.0, upper=1.0, grid=(0.25, 0.5, 0.75, 1.0))
        law2 = law2.with_parameter("x0", lower=0.0)
    else:
        law2 = get_law(acc_law)
    kw2: dict[str, Any] = {"preset": "paper"}  # least squares on raw accuracies, in fit()
    if len(law2.variables) != 1:
        raise DataError(
            f"the ladder's step-2 law maps the task loss to accuracy, so it takes one variable; "
            f"'{law2.name}' has {len(law2.variables)} ({', '.join(law2.variables)})"
        )
    if fixed:
        unused = [n for n in fixed if n not in law1.param_names + law2.param_names]
        if unused:
            raise DataError(
                f"fixed {', '.join(unused)}: neither step's law has such a parameter (step 1 "
                f"{', '.join(law1.param_names)}; step 2 {', '.join(law2.param_names)})"
            )
        fix1 = {k: float(v) for k, v in fixed.items() if k in law1.param_names}
        fix2 = {k: float(v) for k, v in fixed.items() if k in law2.param_names}
        law1 = law1.fix(**fix1) if fix1 else law1
        law2 = law2.fix(**fix2) if fix2 else law2
    return law1, law2, kw2
