"""Effective data transferred (Hernandez et al. 2021).

From-scratch runs on the target distribution (`pretrain_data == "none"`) fit a from-scratch law
L(N, D) (Kaplan's by default). A finetuned run with N parameters, D_F target tokens and loss L
is worth D_E from-scratch tokens, where L(N, D_E) = L; the data transferred by pretraining is
D_T = D_E - D_F, and D_T = k D_F^alpha N^beta is fitted. A finetuned run worse than training
from scratch on the same N and D_F (D_T < 0) is flagged as ossification; one better than the
from-scratch law's infinite-data limit at its N has D_E = inf and is reported, not fitted.

Everything rests on the from-scratch law, so it is checked before it is used (`yardstick`):
its in-sample error, its error on the largest model held out, whether it falls with D as the
measured runs do (a degenerate fit, Dc = 9e36, is flat in D and made every D_E meaningless),
and measured from-scratch twins that beat it by more than its error are flagged; each failed
check is a `yardstick` diagnostic (text, --json and the report show it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ..diagnostics import Diagnostic
from ..errors import DataError, ScalingLabError
from ..fitting import FitResult, fit
from ..laws import get_law
from ..laws.base import Law
from ..query import mask
from ..results import Result
from .audit import _load
from .pretrain_choice import require_columns


@dataclass
class TransferResult(Result):
    """Hernandez et al.'s effective data transferred: what pretraining is worth in target data.

    Built by `scalinglab.transfer`.

    Attributes
    ----------
    scratch_fit : FitResult
        The from-scratch law L(N, D), fitted on the runs without pretraining.
    transfer_fit : FitResult or None
        D_T = k * D_F^alpha * N^beta pooled over the sources; None with one law per source
        (`by`) or when it could not be fitted (the notes say why).
    runs : pandas.DataFrame
        One row per finetuned run: ``pretrain_data``, ``n_params``, ``finetune_size``,
        ``loss``, ``scratch_loss``, ``effective_data`` (D_E), ``transferred`` (D_T),
        ``multiplier``, ``fraction_transferred``, ``ossified``, ``high_data`` and, with
        pretraining tokens, the compute comparison.
    notes : list of str
        What was assumed or left out.
    by_source : dict of str to FitResult
        One transfer law per value of `by`.
    comparison : pandas.DataFrame
        One row per source: k, alpha and beta with their intervals.
    flags : list of Diagnostic
        Findings: a from-scratch yardstick that fails its checks or that measured twins
        beat, runs in the high-data regime, several sources pooled into one law.
    yardstick : dict
        The from-scratch law's checks: in-sample and held-out error, and whether the
        loss still falls with D where runs are judged.
    interval : float
        The level of the comparison's intervals.
    n_bootstrap : int
        The resamples behind them (0: none, or no `by`).
    by : str or None
        The column `by_source` splits on (a column of `runs` too).
    """

    title: ClassVar[str] = "effective data transferred"
    scratch_fit: FitResult
    transfer_fit: FitResult | None
    runs: pd.DataFrame  # finetuned runs with D_E, D_T, fraction, ossified
    notes: list[str] = field(default_factory=list)
    by_source: dict[str, FitResult] = field(default_factory=dict)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per source
    flags: list[Diagnostic] = field(default_factory=list)
    # the from-scratch law's checks: in-sample and held-out error, fall with D (law vs data)
    yardstick: dict[str, Any] = field(default_factory=dict)
    interval: float = 0.9  # the level of the comparison's intervals on k, alpha, beta
    n_bootstrap: int = 0  # the resamples behind them (0: none, or no --by)
    by: str | None = None  # the column of `by_source` (a column of `runs` too)

    def _own_diagnostics(self) -> list[Diagnostic]:
        return list(self.flags)

    def to_frame(self) -> pd.DataFrame:
        """The finetuned runs with the data each is worth (`runs`).

        Returns
        -------
        pandas.DataFrame
            The `runs` table itself (not a copy).

        Examples
        --------
        >>> res = sl.transfer("transfer.csv")  # doctest: +SKIP
        >>> res.to_frame()[["n_params", "finetune_size", "transferred"]]  # doctest: +SKIP
        """
        return self.runs

    def for_source(self, source: str) -> TransferResult:
        """This result restricted to one source of a `by` fit: its runs and its own transfer
        law (the view the per-source figures and forecasts use).

        Parameters
        ----------
        source : str
            A value of the `by` column (a key of `by_source`).

        Returns
        -------
        TransferResult
            A copy with that source's runs and its law as `transfer_fit`, and no
            `by_source`.

        Raises
        ------
        DataError
            No law was fitted for `source`.

        Examples
        --------
        >>> res = sl.transfer("transfer.csv", by="pretrain_data")  # doctest: +SKIP
        >>> res.for_source("code").predict_loss("40M", "1M")  # doctest: +SKIP
        """
        if source not in self.by_source:
            raise DataError(
                f"no transfer law for source {source!r}; fitted: {', '.join(self.by_source)}"
            )
        runs = self.runs[self.runs[self.by or "pretrain_data"].astype(str) == source]
        return dataclasses.replace(
            self, transfer_fit=self.by_source[source], runs=runs, by_source={}
        )

    def plot(self, which: str = "transferred", source: str | None = None) -> Any:
        """'transferred': D_T vs D_F per N with the law; 'effective': D_E vs D_F with the
        high-data-regime runs greyed. With one law per source (`by`), name the `source`:
        no pooled law is drawn as the answer.

        Parameters
        ----------
        which : {"transferred", "effective"}
            The figure to draw.
        source : str, optional
            The source to draw; required when there is one law per source.

        Returns
        -------
        plotly.graph_objects.Figure

        Raises
        ------
        OptionError
            An unknown `which`, or no `source` with one law per source.

        Examples
        --------
        >>> res = sl.transfer("transfer.csv")  # doctest: +SKIP
        >>> res.plot("effective").show()  # doctest: +SKIP
        """
        from ..errors import OptionError
        from ..plots import effective_data_figure, transfer_figure

        if which not in ("transferred", "effective"):
            raise OptionError(f"which must be 'transferred' or 'effective', not {which!r}")
        view: TransferResult = self
        if self.by_source or source is not None:
            if source is None:
                raise OptionError(
                    "one transfer law per source: plot(which, source=...) with one of "
                    + ", ".join(self.by_source)
                )
            view = self.for_source(source)
        fig = effective_data_figure(view) if which == "effective" else transfer_figure(view)
        if source is not None:
            fig.update_layout(title_text=f"{source}: {fig.layout.title.text}")
        return fig

    def to_dict(self) -> dict[str, Any]:
        """The transfer analysis as JSON-ready data (``--json``).

        Returns
        -------
        dict
            ``scratch_law``, ``scratch_params``, ``transfer_params`` (None without a pooled
            law), ``runs`` (rows), ``by_source`` (the comparison's rows), ``interval``,
            ``n_bootstrap``, ``yardstick``, ``diagnostics`` and ``notes``.

        Examples
        --------
        >>> res = sl.transfer("transfer.csv")  # doctest: +SKIP
        >>> res.to_dict()["transfer_params"]  # doctest: +SKIP
        """
        import json

        return {
            "scratch_law": self.scratch_fit.law.name,
            "scratch_params": self.scratch_fit.params_,
            "transfer_params": self.transfer_fit.params_ if self.transfer_fit else None,
            "runs": json.loads(self.runs.to_json(orient="records", double_precision=15)),
            "by_source": json.loads(self.comparison.to_json(orient="records", double_precision=15)),
            "interval": self.interval,
            "n_bootstrap": self.n_bootstrap,
            "yardstick": self.yardstick,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "notes": self.notes,
        }

    def predict_loss(self, n_params: Any, finetune_size: Any) -> np.ndarray:
        """Forecast a pretrained-then-finetuned run's loss: the from-scratch law at
        D_F + D_T(D_F, N), the data it is worth. This is how the transfer law is used (and
        checked): "what will pretraining buy a model of size N with D_F target tokens".

        Parameters
        ----------
        n_params : float, str or array-like
            Model size(s) N; unit suffixes parse (``"40M"``).
        finetune_size : float, str or array-like
            Target-data size(s) D_F, as many as `n_params`.

        Returns
        -------
        numpy.ndarray
            The forecast loss per (N, D_F).

        Raises
        ------
        DataError
            No pooled transfer law (one per source: use `for_source`; or none fitted).
        NonPositiveValueError, NonNumericValueError
            A size that is not a finite number > 0.

        Examples
        --------
        >>> res = sl.transfer("transfer.csv")  # doctest: +SKIP
        >>> res.predict_loss(["40M", "400M"], ["1M", "1M"])  # doctest: +SKIP
        """
        if self.transfer_fit is None and self.by_source:
            raise DataError(
                "one transfer law per source: forecast with one of them, e.g. "
                f"res.for_source({next(iter(self.by_source))!r}).predict_loss(...)"
            )
        if self.transfer_fit is None:
            raise DataError("no transfer law was fitted (see the notes): nothing to forecast with")
        n, d_f = _sizes(n_params, "n_params"), _sizes(finetune_size, "finetune_size")
        d_t = self.transfer_fit.law.evaluate(
            self.transfer_fit.params_, {"finetune_size": d_f, "n_params": n}
        )
        return self.scratch_fit.law.evaluate(
            self.scratch_fit.params_, {"n_params": n, "tokens": d_f + d_t}
        )

    def forecast_table(self, points: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Forecasts beside their yardstick, as `scalinglab transfer --predict-loss` prints
        them: per point (n_params, finetune_size), the pretrained-then-finetuned loss
        (`predict_loss`) and the from-scratch law's loss on the same D_F.

        Parameters
        ----------
        points : sequence of mappings
            Each exactly {"n_params": N, "finetune_size": D_F}, both > 0.

        Returns
        -------
        pandas.DataFrame
            Columns n_params, finetune_size, loss_pretrained, loss_from_scratch.

        Raises
        ------
        DataError
            A point with other keys, or a size that is not > 0.

        Examples
        --------
        >>> res.forecast_table([{"n_params": 4e5, "finetune_size": 1e5}])  # doctest: +SKIP
        """
        check_forecast_points(points)
        n = _sizes([p["n_params"] for p in points], "n_params")
        d_f = _sizes([p["finetune_size"] for p in points], "finetune_size")
        scratch = self.scratch_fit.law.evaluate(
            self.scratch_fit.params_, {"n_params": n, "tokens": d_f}
        )
        return pd.DataFrame(
            {
                "n_params": n,
                "finetune_size": d_f,
                "loss_pretrained": self.predict_loss(n, d_f),
                "loss_from_scratch": scratch,
            }
        )


def check_forecast_points(points: Sequence[Mapping[str, Any]]) -> None:
    """Each point is exactly {n_params, finetune_size}, both > 0: checked before anything is
    fitted (the CLI's --predict-loss) and again by `TransferResult.forecast_table`."""
    for p in points:
        ok = set(p) == {"n_params", "finetune_size"}
        if ok:
            try:
                ok = min(float(_sizes(v, k)[0]) for k, v in p.items()) > 0
            except DataError:
                ok = False
        if not ok:
            raise DataError(f"give n_params=N,finetune_size=D_F, both > 0 (got {dict(p)})")


def _sizes(values: Any, name: str) -> np.ndarray:
    """Sizes as floats, unit suffixes parsed ('400K' -> 4e5, as the CLI reads them); each
    must be a finite number > 0 (a NonPositiveValueError / NonNumericValueError names it)."""
    from ..errors import NonNumericValueError, NonPositiveValueError
    from ..schema import parse_number

    raw = np.atleast_1d(np.asarray(values, dtype=object)).ravel()
    try:
        out = np.array([parse_number(v) for v in raw], dtype=float)
    except ValueError as exc:
        raise NonNumericValueError(f"{name}: {exc}", column=name) from None
    bad = ~(np.isfinite(out) & (out > 0))
    if bad.any():
        raise NonPositiveValueError(
            f"{name} must be finite and > 0; got {raw[bad][0]!r}", column=name
        )
    return out


def invert_data(res: FitResult, n_params: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """D such that the fitted from-scratch law gives `loss` at N (inf if unreachable)."""
    law = res.law
    d_var = "tokens"
    out = np.empty(len(loss))
    for i, (n, target) in enumerate(zip(n_params, loss, strict=True)):

        def g(logd, n=n, target=target):
            return law.evaluate(res.params_, {"n_params": [n], d_var: [np.exp(logd)]})[0] - target

        lo, hi = np.log(1.0), np.log(1e30)
        if g(hi) > 0:  # even infinite data from scratch does not reach this loss
            out[i] = np.inf
        elif g(lo) < 0:
            out[i] = 1.0
        else:
            out[i] = np.exp(brentq(g, lo, hi, xtol=1e-12))
    return out


def effective_data_transferred(
    data: pd.DataFrame | str | Path,
    *,
    scratch_law: str | Law = "kaplan",
    data_col: str = "finetune_size",
    metric: str = "loss",
    scratch_label: str = "none",
    params_col: str = "n_params",
    by: str | None = None,
    where: str | None = None,
    high_data_gain: float = 0.01,
    n_bootstrap: int = 200,
    interval: float = 0.9,
    pretrain_tokens_col: str = "pretrain_tokens",
) -> TransferResult:
    """Hernandez et al.'s effective data transferred: what pretraining is worth in target data.

    Fits the from-scratch law L(N, D) on runs without pretraining, inverts each finetuned
    run's loss to the data D_E a from-scratch model would need, and fits
    D_T = D_E - D_F = k * D_F^alpha * N^beta.

    Parameters
    ----------
    data : DataFrame, str or path
        One row per run with `data_col`, the metric, the parameter count and a
        ``pretrain_data`` column (`scratch_label` marks runs without pretraining).
    scratch_law : str or Law, default 'kaplan'
        The from-scratch law (``kaplan``: Kaplan et al.'s L(N, D)); a name or a
        `Law` (e.g. with fixed parameters).
    data_col : str, default 'finetune_size'
        The finetuning data size column.
    metric : str, default 'loss'
        The loss column.
    scratch_label : str, default 'none'
        The ``pretrain_data`` value of from-scratch runs.
    params_col : str, default 'n_params'
        The N of both laws, e.g. ``n_params_nonembedding`` as Hernandez et al. count.
    by : str, optional
        One transfer law per value of this column (e.g. ``pretrain_data``: alpha read as the
        source-to-target distance, beta as the size effect), with intervals in `comparison`;
        without it several sources are pooled and the result says so (``pooled_sources``).
    where : str, optional
        The finetuned runs the transfer law is fitted on (a query over the input and the
        computed columns, e.g. ``"not high_data"``); every from-scratch run fits the yardstick.
    high_data_gain : float, default 0.01
        A run is in the high-data regime when 10x its D_F would lower the
        from-scratch loss by less than this fraction (or than the yardstick's median error).
    n_bootstrap : int, default 200
        Resamples behind the intervals on k, alpha, beta (with `by`; 0: none).
    interval : float, default 0.9
        The intervals' level.
    pretrain_tokens_col : str, default 'pretrain_tokens'
        Pretraining tokens per run; where the column exists, the compute
        of pretraining + finetuning is set beside that of training from scratch to the same
        loss (6 N D each: `compute_ratio` < 1 means pretraining was the cheaper way there,
        counting its own cost).

    Returns
    -------
    TransferResult
        The from-scratch fit and its checks, per-run D_E and D_T (with regime flags), the
        transfer fit(s), the per-source comparison and ossification verdicts.

    Examples
    --------
    >>> import scalinglab as sl
    >>> res = sl.transfer("transfer.csv", by="pretrain_data")  # doctest: +SKIP
    >>> res.comparison                                         # doctest: +SKIP
    """
    df = _load(data)
    require_columns(df, ["pretrain_data", params_col, data_col, metric], "transfer")
    if params_col != "n_params":
        df = df.assign(n_params=df[params_col])
    scratch = df[df["pretrain_data"].astype(str) == scratch_label]
    tuned = df[df["pretrain_data"].astype(str) != scratch_label]
    if scratch.empty:
        raise DataError(f"transfer needs from-scratch runs (pretrain_data == '{scratch_label}')")
    if tuned.empty:
        raise DataError(
            f"transfer needs finetuned runs (pretrain_data other than '{scratch_label}')"
        )
    if scratch["n_params"].nunique() < 2 or scratch[data_col].nunique() < 2:
        raise DataError("the from-scratch runs need at least 2 model sizes and 2 data sizes")
    # the law's D is the target data, never a `tokens` column (tokens trained: several epochs
    # of D_F in an early-stopped run)
    scratch_fit = fit(scratch, get_law(scratch_law), metric=metric, mapping={"tokens": data_col})
    scratch_law = scratch_fit.law.name
    n = tuned["n_params"].to_numpy(dtype=float)
    d_f = tuned[data_col].to_numpy(dtype=float)
    loss = tuned[metric].to_numpy(dtype=float)
    d_e = invert_data(scratch_fit, n, loss)
    runs = pd.DataFrame(
        {
            "pretrain_data": tuned["pretrain_data"].to_numpy(),
            "n_params": n,
            "finetune_size": d_f,
            "loss": loss,
            "scratch_loss": scratch_fit.law.evaluate(
                scratch_fit.params_, {"n_params": n, "tokens": d_f}
            ),
            "effective_data": d_e,
        }
    )
    runs["transferred"] = d_e - d_f
    runs["multiplier"] = d_e / d_f  # D_E / D_F: how many times its target data a run is worth
    runs["fraction_transferred"] = np.where(np.isfinite(d_e), runs["transferred"] / d_e, 1.0)
    if pretrain_tokens_col != "pretrain_tokens" and pretrain_tokens_col not in tuned.columns:
        require_columns(df, [pretrain_tokens_col], "transfer's compute comparison")
    if pretrain_tokens_col in tuned.columns:
        p_tok = tuned[pretrain_tokens_col].to_numpy(dtype=float)
        runs["pretrain_compute"] = 6.0 * n * p_tok
        runs["finetune_compute"] = 6.0 * n * d_f
        runs["scratch_compute"] = 6.0 * n * d_e  # from scratch to the same loss
        runs["compute_ratio"] = (runs["pretrain_compute"] + runs["finetune_compute"]) / runs[
            "scratch_compute"
        ]
    runs["ossified"] = runs["transferred"] < 0
    # Judge ossification against a measured from-scratch twin (same N and D_F) where one
    # exists: the fitted law is only a yardstick, with its own error.
    twins = scratch.groupby(["n_params", data_col])[metric].mean()
    keys = list(zip(runs["n_params"], runs["finetune_size"], strict=True))
    runs["scratch_measured"] = [twins.get(k, np.nan) for k in keys]
    has_twin = runs["scratch_measured"].notna()
    runs.loc[has_twin, "ossified"] = (
        runs.loc[has_twin, "loss"] > runs.loc[has_twin, "scratch_measured"]
    )
    rel = np.abs(scratch_fit.residuals())
    yard = (
        float(np.median(np.exp(rel) - 1))
        if scratch_fit.law.space == "log"
        else float(np.median(rel))
    )
    checks, yard_flags = check_yardstick(scratch, scratch_fit, scratch_law, data_col, metric, yard)
    # a measured twin that beats the law by more than the law's error: the law understates
    # what training from scratch reaches there, so that run's D_E (and D_T) is overstated
    law_at_twin = runs["scratch_loss"].to_numpy()
    runs["twin_beats_law"] = has_twin & (
        runs["scratch_measured"] < law_at_twin * (1 - max(yard, checks["heldout_error"] or 0))
    )
    # the high-data regime: the from-scratch loss has flattened in D at this N
    at_10x = scratch_fit.law.evaluate(scratch_fit.params_, {"n_params": n, "tokens": 10 * d_f})
    runs["scratch_gain_10x"] = 1 - at_10x / runs["scratch_loss"].to_numpy()
    flat = max(high_data_gain, yard)
    runs["high_data"] = (runs["scratch_gain_10x"] < flat) | ~np.isfinite(d_e)
    runs["in_fit"] = True
    if where:
        frame = tuned.reset_index(drop=True).assign(**{c: runs[c] for c in runs.columns})
        runs["in_fit"] = mask(frame, where, "--where")
    notes = [
        f"from-scratch yardstick ({scratch_law}): median in-sample error {yard:.2%} on "
        f"{scratch_fit.n_points_} runs"
        + (
            f", {checks['heldout_error']:.2%} on its largest model held out"
            if checks["heldout_error"] is not None
            else ""
        )
        + f"; falls with D as the runs do: {'yes' if checks['falls_with_d'] else 'NO'}"
        + "; ossification judged against measured twins for "
        f"{int(has_twin.sum())} of {len(runs)} finetuned runs, against the law otherwise"
    ]
    if runs["ossified"].any():
        bad = runs[runs["ossified"]]
        notes.append(
            f"ossification: {len(bad)} finetuned run(s) are worse than training from "
            "scratch on the same N and D_F (e.g. N="
            f"{bad['n_params'].iloc[0]:.3g}, D_F={bad['finetune_size'].iloc[0]:.3g})"
        )
    inf = ~np.isfinite(d_e)
    if inf.any():
        notes.append(
            f"{int(inf.sum())} run(s) beat the from-scratch law's infinite-data limit "
            "at their size: D_E is infinite, left out of the transfer fit"
        )
    flags: list[Diagnostic] = list(yard_flags)
    if runs["twin_beats_law"].any():
        t = runs[runs["twin_beats_law"]]
        flags.append(
            Diagnostic(
                "yardstick",
                "warning",
                f"{len(t)} finetuned run(s) have a measured from-scratch twin (same N and D_F) "
                "that beats the fitted from-scratch law by more than its error (e.g. N="
                f"{t['n_params'].iloc[0]:.3g}, D_F={t['finetune_size'].iloc[0]:.3g}: measured "
                f"{t['scratch_measured'].iloc[0]:.4g} vs law {t['scratch_loss'].iloc[0]:.4g}); "
                "their D_E and D_T are overstated (column twin_beats_law)",
                ("twin_beats_law",),
            )
        )
    high = runs["high_data"]
    if high.any():
        h = runs[high]
        kept = int((high & runs["in_fit"]).sum())
        flags.append(
            Diagnostic(
                "note",
                "warning" if kept else "info",
                f"{int(high.sum())} finetuned run(s) are in the high-data regime (10x their "
                f"D_F would lower the from-scratch loss by less than {flat:.1%}, e.g. N="
                f"{h['n_params'].iloc[0]:.3g}, D_F={h['finetune_size'].iloc[0]:.3g}), where "
                "Hernandez et al.'s law does not apply and D_E is not determined; "
                + (
                    f"{kept} of them are in the transfer fit: leave them out with "
                    "--where 'not high_data'"
                    if kept
                    else "none of them is in the transfer fit"
                ),
            )
        )
    if where:
        notes.append(
            f"--where {where!r}: {int(runs['in_fit'].sum())} of {len(runs)} finetuned runs "
            "enter the transfer fit; the others are still listed with their D_E"
        )
    ok = runs[(runs["transferred"] > 0) & np.isfinite(runs["effective_data"]) & runs["in_fit"]]
    transfer_fit = None
    fit_rows = ok.assign(effective_data=ok["transferred"])
    if by is not None:
        pass  # one law per source below (_fit_by); a pooled law would not be the answer
    elif len(fit_rows) >= 4 and fit_rows["n_params"].nunique() >= 2:
        transfer_fit = fit(fit_rows, "transfer")
        notes.append(
            "D_T = k D_F^alpha N^beta: "
            + ", ".join(f"{k}={v:.4g}" for k, v in transfer_fit.params_.items())
        )
    else:
        notes.append(
            f"only {len(fit_rows)} run(s) with positive finite D_T: the transfer law "
            "needs >= 4 over >= 2 model sizes"
        )
    res = TransferResult(scratch_fit, transfer_fit, runs, notes, flags=flags, yardstick=checks)
    # the sources pooled are those of the runs in the fit (a --where may keep one), not
    # every source in the file
    sources = sorted(map(str, fit_rows["pretrain_data"].unique())) if transfer_fit else []
    if by is None and len(sources) > 1:
        res.flags.append(
            Diagnostic(
                "pooled_sources",
                "warning",
                f"{len(sources)} pretraining sources ({', '.join(sources)}) were pooled into one "
                "transfer law; each transfers differently (alpha is the source-to-target "
                "distance): fit them apart with by='pretrain_data' (--by pretrain_data)",
                tuple(sources),
            )
        )
    if by is not None:
        _fit_by(res, tuned, by, n_bootstrap, interval)
        res.interval, res.n_bootstrap = float(interval), int(n_bootstrap)
        res.notes.append(_by_note(res, by))
    return res


def _by_note(res: TransferResult, by: str) -> str:
    """The closing note under `by`: each source's law (no pooled one was fitted)."""
    parts = []
    for _, row in res.comparison.iterrows():
        src = row[by]
        if src in res.by_source:
            ps = res.by_source[src].params_
            parts.append(f"{src}: " + ", ".join(f"{k}={ps[k]:.4g}" for k in ("k", "alpha", "beta")))
        else:
            parts.append(f"{src}: no fit ({row.get('note', '')})")
    return f"D_T = k D_F^alpha N^beta, one law per {by} (none pooled): " + "; ".join(parts)


def _fit_by(
    res: TransferResult,
    tuned: pd.DataFrame,
    by: str,
    n_bootstrap: int,
    interval: float,
) -> None:
    """One transfer law per value of `by`, with bootstrap intervals, into res.comparison."""
    if by not in tuned.columns:
        raise DataError(f"--by column '{by}' is not in the data")
    labels = tuned[by].astype(str).to_numpy()
    res.by = by
    if by not in res.runs.columns:  # so each source's runs can be told apart (for_source)
        res.runs[by] = labels
    rows = []
    ok_mask = (
        (res.runs["transferred"] > 0) & np.isfinite(res.runs["effective_data"]) & res.runs["in_fit"]
    )
    for value in sorted(set(labels)):
        sel = (labels == value) & ok_mask.to_numpy()
        part = res.runs[sel].assign(effective_data=res.runs.loc[sel, "transferred"])
        row: dict[str, Any] = {by: value, "n_runs": int(sel.sum())}
        if len(part) < 4 or part["n_params"].nunique() < 2:
            row["note"] = "fewer than 4 runs over 2 model sizes with positive D_T: no fit"
            rows.append(row)
            continue
        f = fit(part, "transfer")
        res.by_source[value] = f
        iv = None
        if n_bootstrap and not f.exact_fit_:
            f.bootstrap(n_bootstrap, seed=0)
            iv = f.intervals(interval)
        for p in ("k", "alpha", "beta"):
            row[p] = f.params_[p]
            if iv is not None:
                row[f"{p}_lo"], row[f"{p}_hi"] = (
                    float(iv.loc[p, "lower"]),
                    float(iv.loc[p, "upper"]),
                )
        row["clean"] = f.clean_
        rows.append(row)
    res.comparison = pd.DataFrame(rows)


def check_yardstick(
    scratch: pd.DataFrame,
    scratch_fit: FitResult,
    scratch_law: str,
    data_col: str,
    metric: str,
    in_sample: float,
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The from-scratch law's checks, and a `yardstick` diagnostic for each that fails (an
    error when the law is flat in D, naming the check in its params). Why: every D_E is
    read off this law; a degenerate fit (Dc = 9e36, flat in D) silently gave k = 4.7e-12,
    alpha = 1.57, and ossification verdicts against a curve no run follows.

    - held-out error: the law fitted without the largest model's runs, its median relative
      error on them (None with fewer than 3 sizes);
    - fall with D: per model size, the relative loss drop from the smallest to the largest D
      of its runs, measured and by the law; the law must show at least half the measured
      drop (median over sizes), else it is flat in D where the runs are not;
    - the fit's own warnings (parameters at bounds, not converged).
    """
    flags: list[Diagnostic] = []
    heldout: float | None = None
    sizes = np.sort(scratch["n_params"].unique())
    if len(sizes) >= 3:
        small = scratch[scratch["n_params"] < sizes[-1]]
        big = scratch[scratch["n_params"] == sizes[-1]]
        try:
            part = fit(small, scratch_fit.law, metric=metric, mapping={"tokens": data_col})
            pred = part.law.evaluate(
                part.params_,
                {
                    "n_params": big["n_params"].to_numpy(float),
                    "tokens": big[data_col].to_numpy(float),
                },
            )
            truth = big[metric].to_numpy(float)
            heldout = float(np.median(np.abs(pred - truth) / np.abs(truth)))
        except ScalingLabError:
            heldout = None
    drops_m, drops_l = [], []
    for n, g in scratch.groupby("n_params"):
        if g[data_col].nunique() < 2:
            continue
        lo, hi = g.loc[g[data_col].idxmin()], g.loc[g[data_col].idxmax()]
        drops_m.append(1 - float(hi[metric]) / float(lo[metric]))
        law = scratch_fit.law.evaluate(
            scratch_fit.params_,
            {"n_params": [float(n)] * 2, "tokens": [float(lo[data_col]), float(hi[data_col])]},
        )
        drops_l.append(1 - float(law[1]) / float(law[0]))
    measured_drop = float(np.median(drops_m)) if drops_m else float("nan")
    law_drop = float(np.median(drops_l)) if drops_l else float("nan")
    falls = not (measured_drop > 0 and law_drop < 0.5 * measured_drop)
    if not falls:
        flags.append(  # an error: every D_E, D_T and verdict is read off this curve
            Diagnostic(
                "yardstick",
                "error",
                f"the from-scratch law ({scratch_law}) does not fall with D as the runs do: "
                f"over each size's D range the runs' loss drops {measured_drop:.1%} (median), "
                f"the law's {law_drop:.1%}; every D_E read off it is unreliable (params "
                + ", ".join(f"{k}={v:.3g}" for k, v in scratch_fit.params_.items())
                + ")",
                ("falls_with_d",),
            )
        )
    if heldout is not None and heldout > max(3 * in_sample, 0.02):
        flags.append(
            Diagnostic(
                "yardstick",
                "warning",
                f"the from-scratch law predicts its largest model ({sizes[-1]:.3g}) held out "
                f"with {heldout:.1%} median error, against {in_sample:.1%} in sample: D_E at "
                "sizes beyond the from-scratch runs is uncertain",
                ("heldout_error",),
            )
        )
    for w in scratch_fit.warnings_:
        flags.append(Diagnostic("yardstick", "warning", f"from-scratch fit: {w}", ("fit",)))
    checks = {
        "law": scratch_law,
        "n_runs": int(scratch_fit.n_points_),
        "in_sample_error": in_sample,
        "heldout_error": heldout,
        "heldout_size": float(sizes[-1]) if heldout is not None else None,
        "measured_drop_over_d": measured_drop,
        "law_drop_over_d": law_drop,
        "falls_with_d": bool(falls),
    }
    return checks, flags
