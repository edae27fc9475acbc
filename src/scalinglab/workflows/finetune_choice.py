"""Finetuning-method choice (Zhang et al. 2024): which of FMT / LoRA / prompt tuning wins at
a given scale, and the critical finetuning size D_f at which one overtakes another.

Per method, the multiplicative joint law L = A X^-alpha D_f^-beta + E is fitted (and the
additive law for comparison, with held-out error for both: the runs at the largest X are
held out, as the paper holds out its largest settings). With several factors (e.g. model size
and pretraining tokens, rows tagged by a `factor` column), the paper's Eq. 2 joint fit is
used: A_X and alpha_X per factor, beta and E shared.

The critical D_f between two methods at X is where their fitted curves cross, found by a scan
over log D_f and bisection (every crossing in [1, 1e15] is reported); its interval comes from
the crossings of bootstrap draws of both fits.

Forecasts are only as good as their distance from the data, so the result says where it
extrapolates: a scale X outside the measured range, a crossing outside the measured
finetuning sizes. When X is a measured scale, the runs there are compared with the laws:
who actually won at each measured D_f, and whether the fitted curves agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import DataError, OptionError
from ..fitting import FitResult
from ..results import Result, records
from .audit import holdout
from .finetune_crossings import (  # noqa: F401 (joint_* re-exported)
    LOG_DF,
    _boot_draws,
    _crossing_note,
    _curve,
    _fit_flags,
    _fit_methods,
    _heldout_check,
    _joint_frame,
    _num,
    _pair_crossing,
    _Setup,
    _short,
    _winners,
    joint_multiplicative_law,
)
from .pretrain_choice import require_columns
from .table_input import _load

# The candidate laws choose-method compares held out (Zhang et al. fit the multiplicative
# one; the additive one is the Hoffmann-style baseline they compare it with).
CANDIDATES = ("finetune_multiplicative", "finetune_additive")


@dataclass
class MethodChoice(Result):
    """Which finetuning method to use, and where the choice flips: Zhang et al.'s crossings.

    Built by `scalinglab.choose_method`.

    Attributes
    ----------
    factor : str
        The scaling factor the methods were compared along (e.g. ``n_params``).
    at : dict of str to float
        The decision scale (the factor's value) the curves and crossings are read at.
    fits : dict of str to FitResult
        Per method, the finetuning law fitted.
    comparison : pandas.DataFrame
        Per method: parameters and the held-out MAD of each candidate law.
    crossings : pandas.DataFrame
        Per method pair: ``critical_finetune_size`` (with ``critical_lo``/``critical_hi``
        after a bootstrap), every crossing, and which method is better at small and at large
        finetuning data.
    curves : pandas.DataFrame
        Predicted metric against finetuning size per method, at `at`.
    notes : list of str
        What was assumed or left out.
    measured : pandas.DataFrame
        Mean measured metric per finetuning size (rows) and method (columns) at `at`;
        empty when no runs were made there.
    law, law_reason : str
        The law every method was fitted with, and why (held-out comparison or the user's
        choice).
    heldout : pandas.DataFrame
        Per method pair, the decision checked out of sample: the crossing fitted without
        the runs at `at` beside the in-sample one, and how many measured winners each
        gets right.
    flags : list of Diagnostic
        Every per-method fit's findings, named with the method and the law.
    heldout_curves : pandas.DataFrame
        The curves of the held-out fits, for the figure.
    interval : float
        The level of the crossings' intervals.
    n_bootstrap : int
        Resamples per fit behind them (0: no intervals).
    """

    title: ClassVar[str] = "finetuning-method choice"
    factor: str
    at: dict[str, float]
    fits: dict[str, FitResult]
    comparison: pd.DataFrame  # per method: params, held-out MAD multiplicative vs additive
    crossings: pd.DataFrame  # per method pair: critical D_f (+ interval), who wins below/above
    curves: pd.DataFrame  # predicted loss vs D_f per method at `at`
    notes: list[str] = field(default_factory=list)
    # mean measured metric per finetune_size (rows) and method (columns) at `at`; empty when
    # no runs were made at that scale
    measured: pd.DataFrame = field(default_factory=pd.DataFrame)
    law: str = "finetune_multiplicative"  # the law every method was fitted with
    law_reason: str = ""  # why that law (held-out comparison, or the user's choice)
    # per method pair: the decision checked out of sample (fitted without the runs at `at`):
    # crossing in-sample vs held out (+ interval), measured winners the laws get right
    heldout: pd.DataFrame = field(default_factory=pd.DataFrame)
    flags: list[Diagnostic] = field(default_factory=list)
    # predicted metric vs D_f per method at `at` from the held-out fits (for the figure:
    # the curves a decision at an unmeasured scale would have used, beside `curves`)
    heldout_curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    interval: float = 0.9  # level of the crossings' intervals
    n_bootstrap: int = 0  # resamples per fit behind them (0: no intervals)

    def interval_label(self) -> str:
        """'90%, 300 resamples': what every crossing interval of this result rests on.

        Returns
        -------
        str
            ``"no intervals (--bootstrap 0)"`` when no bootstrap ran.
        """
        if not self.n_bootstrap:
            return "no intervals (--bootstrap 0)"
        return f"{self.interval:.0%}, {self.n_bootstrap} resamples"

    def to_frame(self) -> pd.DataFrame:
        """The crossings per method pair (`crossings`): the decision itself.

        Returns
        -------
        pandas.DataFrame
            The `crossings` table itself (not a copy).

        Examples
        --------
        >>> res = sl.choose_method("finetune.csv", "n_params", {"n_params": 1e9})  # doctest: +SKIP
        >>> res.to_frame()[["method_a", "method_b", "critical_finetune_size"]]  # doctest: +SKIP
        """
        return self.crossings

    def _own_diagnostics(self) -> list[Diagnostic]:
        return list(self.flags)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """The flags (which carry every per-method fit's diagnostics, named with the method
        and the law) and the notes; the fits' own copies would say 'the best start did not
        converge' without saying whose, so they are not repeated.

        Returns
        -------
        list of Diagnostic
        """
        return list(self.flags) + [Diagnostic("note", "info", n) for n in self.notes]

    def plot(self) -> Any:
        """Predicted metric against finetuning size at the decision scale, per method: the
        in-sample curves, the held-out ones, the measured runs there and the crossings with
        their intervals; the law used and why as the subtitle.

        Returns
        -------
        plotly.graph_objects.Figure

        Examples
        --------
        >>> res = sl.choose_method("finetune.csv", "n_params", {"n_params": 1e9})  # doctest: +SKIP
        >>> res.plot().show()  # doctest: +SKIP
        """
        from ..plots import method_figure

        return method_figure(self)

    def to_dict(self) -> dict[str, Any]:
        """The choice as JSON-ready data (``--json``).

        Returns
        -------
        dict
            ``factor``, ``at``, ``law``, ``law_reason``, ``interval``, ``n_bootstrap``, the
            ``comparison``, ``crossings``, ``heldout`` and ``measured`` tables as rows,
            ``diagnostics`` and ``notes``.

        Examples
        --------
        >>> res = sl.choose_method("finetune.csv", "n_params", {"n_params": 1e9})  # doctest: +SKIP
        >>> res.to_dict()["crossings"]  # doctest: +SKIP
        """
        return {
            "factor": self.factor,
            "at": self.at,
            "law": self.law,
            "law_reason": self.law_reason,
            "interval": self.interval,
            "n_bootstrap": self.n_bootstrap,
            "comparison": records(self.comparison),
            "crossings": records(self.crossings),
            "heldout": records(self.heldout),
            "measured": records(self.measured.reset_index()),
            "diagnostics": [d.to_dict() for d in self.flags],
            "notes": self.notes,
        }


def _heldout_mads(df: pd.DataFrame, methods: Sequence[str], st: _Setup) -> pd.DataFrame | None:
    """Per method, held-out MAD of each candidate law: fitted without the runs at the largest
    measured scale, scored on them (the paper holds out its largest settings). None when a
    method has fewer than 3 scales (2 left to fit would be an interpolation). The columns
    `converged_<law>` say whether that held-out fit converged (its MAD is otherwise an
    accident of where the optimizer stopped)."""
    rows = []
    for m in methods:
        sub = df[df["method"] == m]
        if sub[st.main].nunique() < 3:
            return None
        q = f"{st.main} >= {float(sub[st.main].max())!r}"
        aud = holdout(
            sub, list(CANDIDATES), q, mapping={"x": st.main}, metric=st.metric, n_bootstrap=0
        )
        bl = aud.by_law()
        conv = aud.folds.groupby("law")["converged"].all()
        rows.append(
            {
                "method": m,
                **{c: float(bl.loc[c, "mad"]) for c in CANDIDATES},
                **{f"converged_{c}": bool(conv.get(c, False)) for c in CANDIDATES},
            }
        )
    return pd.DataFrame(rows).set_index("method")


def _unconverged(
    mads: pd.DataFrame | None, full: Mapping[str, Mapping[str, FitResult]], law: str
) -> list[str]:
    """Which fits of `law` did not converge, as 'METHOD (all runs)' / 'METHOD (held out)'."""
    out = [f"{m} (all runs)" for m, r in full.get(law, {}).items() if not r.converged_]
    if mads is not None and f"converged_{law}" in mads:
        out += [f"{m} (held out)" for m, ok in mads[f"converged_{law}"].items() if not ok]
    return out


def _pick_law(
    mads: pd.DataFrame | None,
    requested: str | None,
    full: Mapping[str, Mapping[str, FitResult]] | None = None,
) -> tuple[str, str, list[Diagnostic]]:
    """The law to decide with, why, and a warning when the user's law loses held out.

    Default: the lower mean held-out MAD over methods, among the laws whose fits converged
    for every method (fitted on all runs and held out). Why not the MAD alone: the crossings
    are read off the all-runs fits, and a fit that did not converge stopped where the
    iteration limit left it (on the demo's FMT runs the additive law's B and E trade off,
    E drifting to 0), so another start or more iterations move its parameters and the
    crossing with them; its held-out MAD is equally an accident of where it stopped. A
    decision must not rest on that silently. So a law that did not converge for some method
    loses to one that converged for all, and the reason says what it cost (the held-out
    MADs of both); when neither law converged everywhere, or the user asked for the law,
    it is kept and the reason says which fits did not converge.
    """
    full = full or {}
    if mads is None:
        law = requested or CANDIDATES[0]
        unsettled = _unconverged(None, full, law)
        return (
            law,
            f"{_short(law)} law ("
            + ("requested" if requested else "Zhang et al.'s")
            + "); no held-out comparison: a method has fewer than 3 scales"
            + _rests_on(unsettled),
            [],
        )
    mads_only = mads[list(CANDIDATES)]
    mean = mads_only.mean()
    best = str(mean.idxmin())
    other = CANDIDATES[1] if best == CANDIDATES[0] else CANDIDATES[0]
    n_best = int((mads[best] < mads[other]).sum())
    by = (mean[other] - mean[best]) / mean[other]
    evidence = (
        f"held-out MAD (fitted without the largest scale) {mean[best]:.4g} for the "
        f"{_short(best)} law vs {mean[other]:.4g} for the {_short(other)} law, mean over "
        f"methods ({by:.0%} lower; lower for {n_best} of {len(mads)} methods)"
    )
    bad = {c: _unconverged(mads, full, c) for c in CANDIDATES}
    if requested is None and bad[best] and not bad[other]:
        why = (
            f"{_short(other)} law: it converged for every method, the {_short(best)} law "
            f"did not for {', '.join(bad[best])}, so its lower held-out error rests on "
            f"parameters the optimizer had not settled ({evidence})"
        )
        flag = Diagnostic(
            "law_choice",
            "warning",
            f"the {_short(best)} law wins held out but its fit did not converge for "
            f"{', '.join(bad[best])}: deciding with the {_short(other)} law, which converged "
            f"for every method ({evidence}); --law {best} decides with it anyway",
        )
        return other, why, [flag]
    if requested is None or requested == best:
        why = (
            f"{_short(best)} law: "
            + ("requested; " if requested else "")
            + evidence
            + _rests_on(bad[best])
        )
        return best, why, []
    why = f"{_short(requested)} law, as requested, although the {_short(best)} law wins held out: "
    flag = Diagnostic(
        "law_choice",
        "warning",
        f"the requested {_short(requested)} law loses held out: {evidence}; "
        f"--law {best} would decide with the better-checked law",
    )
    return requested, why + evidence + _rests_on(bad[requested]), [flag]


def _rests_on(bad: Sequence[str]) -> str:
    """The law reason's clause for fits that did not converge (empty when all did)."""
    if not bad:
        return ""
    return (
        f"; the decision rests on fits that did not converge for {', '.join(bad)}: "
        "treat its crossings as unreliable"
    )


def choose_method(
    data: pd.DataFrame | str | Path,
    factor: str | Sequence[str] = "n_params",
    at: Mapping[str, float] | None = None,
    *,
    metric: str = "loss",
    law: str | None = None,
    n_bootstrap: int = 300,
    interval: float = 0.9,
    seed: int = 0,
) -> MethodChoice:
    """Which finetuning method (FMT, LoRA, prompt tuning) to use, and from what data size.

    Fits Zhang et al.'s per-method laws L(X, D_f) in one scaling factor (model size,
    pretraining data, PET size) and the finetuning data size, and finds where the methods'
    curves cross at the decision scale `at`: the critical D_f beyond which one method wins.

    Parameters
    ----------
    data : DataFrame, str or path
        One row per finetuning run with `method`, the factor column(s), `finetune_size`
        and the metric.
    factor : str or sequence of str, default 'n_params'
        The scaling factor(s) (``n_params``, ``tokens``, a PET size column).
    at : mapping of str to float, optional
        The decision scale of the first factor, e.g. ``{"n_params": 1e9}`` (required).
    metric : str, default 'loss'
        The finetuning loss column.
    law : str, optional
        None (default) decides with whichever of the multiplicative and additive laws has
        the lower held-out error (fitted without the largest scale); a name keeps that law
        and says, in the result, when the other one wins held out and by how much.
    n_bootstrap : int, default 300
        Resamples per fit behind the intervals on the crossings (0: none).
    interval : float, default 0.9
        The intervals' level.
    seed : int, default 0
        The bootstrap's seed.

    Returns
    -------
    MethodChoice
        Per-method fits, the crossings with intervals, the winners per finetuning size, and,
        when runs were measured at the decision scale, an in-sample check (laws fitted on
        every run) and a held-out one (fitted without the decision scale, predicting its
        winners and crossing): the held-out check says how far a decision at an unmeasured
        scale can be trusted.

    Examples
    --------
    >>> import scalinglab as sl
    >>> res = sl.choose_method("finetune.csv", "n_params", {"n_params": 1e9})  # doctest: +SKIP
    >>> res.summary()                                                          # doctest: +SKIP
    """
    df = _load(data)
    factors = [factor] if isinstance(factor, str) else list(factor)
    joint = len(factors) > 1
    if law is not None and law not in CANDIDATES:
        raise OptionError(f"choose-method law must be one of {', '.join(CANDIDATES)}; got {law!r}")
    require_columns(
        df,
        ["method", "finetune_size", metric, *factors] + (["factor"] if joint else []),
        "finetuning-method choice",
    )
    main = factors[0]
    if at is None or main not in at:
        raise DataError(f"choose-method needs --at {main}=VALUE (the scale to decide at)")
    df_range = (float(df["finetune_size"].min()), float(df["finetune_size"].max()))
    st = _Setup(
        main, factors, joint, metric, float(at[main]), n_bootstrap, interval, seed, df_range
    )
    methods = sorted(df["method"].dropna().unique())
    if len(methods) < 2:
        raise DataError(
            f"finetuning-method choice needs at least 2 methods in 'method'; found {methods}"
        )
    for m in methods:  # named before any fit runs
        sub = df[df["method"] == m]
        if sub[main].nunique() < 2 or sub["finetune_size"].nunique() < 2:
            raise DataError(
                f"method '{m}' needs at least 2 values of {main} and of "
                "finetune_size to fit a joint law"
            )
    flags: list[Diagnostic] = []
    if joint:
        mads = None
        fits = _fit_methods(df, methods, "finetune_multiplicative", st)
        chosen = "finetune_multiplicative"
        why = "Zhang et al.'s Eq. 2 (joint over factors)" + _rests_on(
            [f"{m} (all runs)" for m, r in fits.items() if not r.converged_]
        )
    else:
        mads = _heldout_mads(df, methods, st)
        # both laws on all runs: which converged for every method is part of the choice
        full = {c: _fit_methods(df, methods, c, st) for c in ((law,) if law else CANDIDATES)}
        chosen, why, flags = _pick_law(mads, law, full)
        fits = full[chosen]
    comp = []
    for m, res in fits.items():
        row: dict[str, Any] = {
            "method": m,
            "n_runs": int((df["method"] == m).sum()),
            **res.params_,
            "converged": res.converged_,
            "at_bound": ", ".join(res.at_bounds_),
        }
        if mads is not None:
            for c in CANDIDATES:
                row[f"heldout_mad_{_short(c)}"] = float(mads.loc[m, c])
        comp.append(row)
        flags += _fit_flags(m, res)
    x_at = st.x_at
    curves = pd.DataFrame({"finetune_size": np.exp(LOG_DF)})
    for m, res in fits.items():
        curves[m] = _curve(res, x_at, main, joint, LOG_DF)
    notes: list[str] = []
    own = df[df["factor"] == main] if joint else df  # joint fits: rows that vary `main`
    x_lo, x_hi = float(own[main].min()), float(own[main].max())
    df_lo, df_hi = float(df["finetune_size"].min()), float(df["finetune_size"].max())
    if not x_lo <= x_at <= x_hi:
        orders = abs(np.log10(x_at / (x_hi if x_at > x_hi else x_lo)))
        notes.append(
            f"{main}={x_at:g} is {orders:.2g} orders of magnitude outside the measured "
            f"{_num(x_lo)}-{_num(x_hi)}: every curve and crossing here extrapolates the fitted laws"
        )
    at_mask = np.isclose(own[main].to_numpy(dtype=float), x_at, rtol=1e-9)
    at_runs = own[at_mask]
    measured = (
        at_runs.groupby(["finetune_size", "method"])[metric].mean().unstack("method")
        if len(at_runs)
        else pd.DataFrame()
    )
    boots = _boot_draws(fits, st)
    cross_rows = []
    for m1, m2 in combinations(methods, 2):
        row = _pair_crossing(fits, boots, m1, m2, st)
        xs = row["all_crossings"]
        crit = row["critical_finetune_size"]
        row["crossing_within_measured_df"] = bool(xs) and df_lo <= crit <= df_hi
        cross_rows.append(row)
        notes.append(_crossing_note(row, st, df_lo, df_hi))
        if {m1, m2} <= set(measured.columns):
            agree, wins = _winners(measured[[m1, m2]].dropna(), fits, st)
            n = len(measured[[m1, m2]].dropna())
            notes.append(
                f"measured at {main}={x_at:g}, {m1} vs {m2}: {wins}; in-sample (laws fitted "
                f"on these runs too), the fitted laws pick the same winner at {agree} of "
                f"{n} sizes"
            )
    crossings = pd.DataFrame(cross_rows)
    held, held_curves = pd.DataFrame(), pd.DataFrame()
    if len(measured) and not joint:
        held, held_notes, held_curves, held_flags = _heldout_check(
            df, methods, chosen, st, measured, crossings, fits
        )
        notes += held_notes
        flags += held_flags
    elif len(measured):
        notes.append("no held-out check of the decision: it is made for single-factor fits only")
    notes.append(f"law: {why}")
    return MethodChoice(
        main,
        dict(at),
        fits,
        pd.DataFrame(comp),
        crossings,
        curves,
        notes,
        measured,
        law=chosen,
        law_reason=why,
        heldout=held,
        flags=flags,
        heldout_curves=held_curves,
        interval=interval,
        n_bootstrap=n_bootstrap,
    )
