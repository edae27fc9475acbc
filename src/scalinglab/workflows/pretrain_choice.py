"""Pretraining-data choice (Isik et al. 2024): rank sources by a forecast translation score
(BLEU by default; chrF, ROUGE, COMET or any column with `metric=`) and downstream CE.

The score is whatever column `metric` names (higher is better); its log-law and every output
column are named after it (`chrf_forecast`, `rank_chrf`, ...; with BLEU, `bleu_forecast`).
Thresholds below are in BLEU points on a 0-100 scale; a score whose values all lie in [0, 1]
gets them divided by 100.

Per (pretraining source, finetuning size) the downstream cross-entropy law
L(D_p) = E + A/D_p^alpha and the BLEU log-law f(D_p) = (log(A D_p^alpha))^beta are fitted on
the pretraining-token axis and forecast at a target D_p.

Misalignment test (documented, deliberately simple): a series is flagged "CE is not a reliable
proxy here" when its cross-entropy improves monotonically with D_p (every step down, within a
tolerance of 1% of the CE range) while BLEU does not: BLEU drops by more than
`bleu_drop` points between consecutive D_p, or the BLEU log-law explains less than
`min_r2` of BLEU's variance (R^2). Isik et al. observe exactly this pattern under moderate
misalignment, and call a bad log-law fit itself a signal.

Below `min_bleu` (default 5) BLEU is not judged at all: a 100-sentence test set does not
resolve differences of a point or two there, so neither misalignment nor a BLEU ranking is
claimed and the sources are ranked by downstream CE instead (a note says so).

Every CE law is also checked the way it is used: refitted without the source's largest
budget, its forecast of that budget is scored (`ce_holdout_rel_error`). A target beyond the
measured budgets is named as an extrapolation, and when the forecast ranking disagrees with
the measured ranking at the largest budget every source shares, a note says so: with few
budgets a law's curvature, not the data, can decide the order.

"Pretraining barely matters" is reported for a finetuning size when BLEU across every source
and every D_p stays within `flat_bleu` points (and CE within `flat_ce_rel` relative): the
finetuning set then dominates, as the paper observes for large finetuning sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import DataError, MissingColumnError, OptionError, ScalingLabError
from ..fitting import fit
from ..results import Result, records
from .table_input import _load

NEEDED = ("pretrain_data", "tokens", "finetune_size", "downstream_ce")
# how a score is called in sentences
_SCORE_NAMES = {"bleu": "BLEU", "chrf": "chrF", "comet": "COMET", "ter": "TER"}


def _score_name(metric: str) -> str:
    if metric.lower().startswith("rouge"):
        return metric.upper().replace("_", "-")
    return _SCORE_NAMES.get(metric.lower(), metric)


def require_columns(df: pd.DataFrame, columns: tuple[str, ...] | list[str], workflow: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnError(
            f"the {workflow} workflow needs columns {list(columns)}; missing: {missing} "
            f"(have: {', '.join(map(str, df.columns))})",
            column=missing[0],
            file=df.attrs.get("scalinglab_source"),
        )


@dataclass
class PretrainChoice(Result):
    """Pretraining sources ranked by their forecast finetuned score (Isik et al. 2024).

    Built by `scalinglab.pretrain_choice`.

    Attributes
    ----------
    ranking : pandas.DataFrame
        One row per finetuning size and source: the score's and downstream CE's forecasts
        at `target_tokens` (``<metric>_forecast``, ``ce_forecast``) with their laws'
        parameters, the ranks (``rank_<metric>``, ``rank_ce``), the CE law's in-sample and
        held-out errors, ``ce_monotone`` and ``misaligned`` (CE improves, the score does
        not follow).
    flat_sizes : list of float
        Finetuning sizes at which the pretraining source barely matters.
    target_tokens : float
        The pretraining budget the forecasts are made at.
    notes : list of str
        Misaligned sources, laws not to trust, extrapolations, rankings that disagree with
        the measured one.
    data : pandas.DataFrame or None
        The runs, for `plot` (not needed for the ranking).
    metric : str
        The score column (``bleu``, ``chrf``, ...); ranking columns are named after it.
    """

    title: ClassVar[str] = "pretraining-data choice"
    ranking: pd.DataFrame  # one row per (finetune_size, source)
    flat_sizes: list[float]
    target_tokens: float
    notes: list[str] = field(default_factory=list)
    data: pd.DataFrame | None = field(default=None, repr=False)  # the runs, for plot()
    metric: str = "bleu"  # the score column; ranking columns are named after it

    def to_frame(self) -> pd.DataFrame:
        """The ranking (`ranking`): one row per finetuning size and source.

        Returns
        -------
        pandas.DataFrame
            The `ranking` table itself (not a copy).

        Examples
        --------
        >>> res = sl.pretrain_choice("alignment.csv", 1e9, metric="chrf")  # doctest: +SKIP
        >>> res.to_frame().sort_values("rank_chrf")  # doctest: +SKIP
        """
        return self.ranking

    def plot(self) -> Any:
        """Isik et al.'s figure, as the report draws it: score and CE panels per finetuning
        size with the fitted laws and the verdict (the simpler `pretrain_figure` joined the
        points with dotted lines and showed no law).

        Returns
        -------
        plotly.graph_objects.Figure

        Raises
        ------
        ValueError
            The result carries no runs (`data` is None).

        Examples
        --------
        >>> res = sl.pretrain_choice("alignment.csv", 1e9, metric="chrf")  # doctest: +SKIP
        >>> res.plot().write_html("isik.html")  # doctest: +SKIP
        """
        from ..plots.papers_isik import isik_figure

        if self.data is None:
            raise ValueError("this result carries no runs to plot (loaded without them)")
        return isik_figure(self, self.data)

    def to_dict(self) -> dict[str, Any]:
        """The ranking as JSON-ready data (``--json``).

        Returns
        -------
        dict
            ``metric``, ``target_tokens``, ``flat_finetune_sizes``, ``ranking`` (rows) and
            ``notes``.

        Examples
        --------
        >>> res = sl.pretrain_choice("alignment.csv", 1e9, metric="chrf")  # doctest: +SKIP
        >>> res.to_dict()["ranking"]  # doctest: +SKIP
        """
        return {
            "metric": self.metric,
            "target_tokens": self.target_tokens,
            "flat_finetune_sizes": self.flat_sizes,
            "ranking": records(self.ranking),
            "notes": self.notes,
        }


def _one(pred: Any) -> float:
    """The single value of a one-row prediction (an array, a Series or a float)."""
    return float(np.asarray(pred, dtype=float).ravel()[0])


def _monotone_down(y: np.ndarray, tol: float) -> bool:
    return bool(np.all(np.diff(y) <= tol))


def _holdout_error(g: pd.DataFrame) -> float:
    """Signed relative error of the CE law fitted without the largest budget, at it."""
    last = g["tokens"] == g["tokens"].max()
    try:
        res = fit(g[~last], "downstream_ce")
    except ScalingLabError:
        return np.nan
    measured = float(g.loc[last, "downstream_ce"].iloc[0])
    return float(np.asarray(res.predict(g[last]))[0]) / measured - 1


def _extrapolation_notes(df: pd.DataFrame, ranking: pd.DataFrame, target: float) -> list[str]:
    """Where the forecast leaves the data, and whether it reorders what was measured. Adds
    the measured CE at the largest budget all sources share to `ranking` (in place)."""
    notes = []
    top = float(df["tokens"].max())
    if target > top * 1.001:
        notes.append(
            f"target {target:.3g} tokens is {np.log10(target / top):.2g} orders of magnitude "
            f"beyond the largest measured budget ({top:.3g}): the ranking extrapolates the "
            "fitted laws (ce_holdout_rel_error shows how each law did one budget out)"
        )
    for fsize, sub in df.groupby("finetune_size", sort=True):
        shared = set.intersection(*(set(s["tokens"]) for _, s in sub.groupby("pretrain_data")))
        if not shared:
            continue
        at = max(shared)
        measured = (
            sub[sub["tokens"] == at].groupby("pretrain_data")["downstream_ce"].mean().sort_values()
        )
        rows = ranking["finetune_size"] == fsize
        ranking.loc[rows, "ce_measured_tokens"] = at
        ranking.loc[rows, "ce_measured"] = ranking.loc[rows, "pretrain_data"].map(measured)
        r = ranking[rows].sort_values("ce_forecast")
        forecast = list(r["pretrain_data"])
        if abs(target - at) > 1e-9 * at and forecast != list(measured.index):
            notes.append(
                f"finetune_size={fsize:g}: the forecast CE order at {target:.3g} tokens "
                f"({', '.join(forecast)}) differs from the measured order at {at:.3g} "
                f"({', '.join(f'{k} {v:.3f}' for k, v in measured.items())}); the laws' "
                "one-budget-out errors ("
                + ", ".join(
                    f"{p} {e:+.1%}"
                    for p, e in zip(r["pretrain_data"], r["ce_holdout_rel_error"], strict=True)
                )
                + ") say how far to trust the change"
            )
    return notes


def choose_pretraining_data(
    data: pd.DataFrame | str | Path,
    target_tokens: float,
    *,
    metric: str = "bleu",
    score_drop: float | None = None,
    min_r2: float = 0.9,
    flat_score: float | None = None,
    flat_ce_rel: float = 0.01,
    min_score: float | None = None,
    max_fit_error: float = 0.02,
) -> PretrainChoice:
    """Rank pretraining sources by their forecast finetuned score (Isik et al. 2024).

    Per source and finetuning size: the score's log-law (f(D_p) = (log(A * D_p^alpha))^beta)
    and downstream CE's power law in pretraining tokens, each forecast at `target_tokens`.
    Flags misalignment (CE keeps improving while the score stalls or drops), laws that miss
    their own data by more than `max_fit_error` (relative), and extrapolation.

    Parameters
    ----------
    data : DataFrame, str or path
        A DataFrame or table path with pretrain_data, tokens, finetune_size,
        downstream_ce and the score column.
    target_tokens : float
        The pretraining budget to forecast at.
    metric : str, default 'bleu'
        The score column (higher is better): "bleu", "chrf", a ROUGE or COMET column,
        any column.
    score_drop, flat_score, min_score : float, optional
        In the score's units; default 0.5 / 1 / 5 on a 0-100
        scale, divided by 100 for a score within [0, 1]: a drop that counts as misalignment,
        a change too small to call a trend, a score too low to rank sources.
    min_r2 : float, default 0.9
        The log-law's R^2 below which its forecast is not trusted.
    flat_ce_rel : float, default 0.01
        Relative CE change below which CE counts as flat.
    max_fit_error : float, default 0.02
        Relative in-sample error above which a law is flagged.

    Returns
    -------
    PretrainChoice
        `ranking` (one row per source and finetuning size: forecasts, ranks, flags), the
        chosen source, notes and diagnostics.

    Examples
    --------
    >>> import scalinglab as sl
    >>> sl.pretrain_choice("alignment.csv", 1e9, metric="chrf").ranking  # doctest: +SKIP
    """
    df = _load(data)
    if metric == "downstream_ce":
        raise OptionError(
            "metric is the translation score beside downstream CE (bleu, chrf, a column), "
            "not downstream_ce itself"
        )
    require_columns(df, [*NEEDED, metric], "pretraining-data choice")
    vals = pd.to_numeric(df[metric], errors="coerce")
    if vals.isna().any():
        first = df.index[vals.isna()][:5].tolist()
        raise DataError(
            f"score column '{metric}' has {int(vals.isna().sum())} values that are not numbers "
            f"(rows {first})",
            column=metric,
            file=df.attrs.get("scalinglab_source"),
        )
    df = df.assign(**{metric: vals.astype(float)})
    unit = 0.01 if float(df[metric].abs().max()) <= 1.0 else 1.0  # a 0-1 score
    score_drop = 0.5 * unit if score_drop is None else score_drop
    flat_score = 1.0 * unit if flat_score is None else flat_score
    min_score = 5.0 * unit if min_score is None else min_score
    m, name = metric, _score_name(metric)
    sources = df["pretrain_data"].dropna().unique()
    if len(sources) < 2:
        raise DataError(
            f"pretraining-data choice needs at least 2 sources in 'pretrain_data'; "
            f"found {len(sources)}: {list(sources)}"
        )
    rows, flat, unresolved = [], [], []
    for fsize, sub in df.groupby("finetune_size", sort=True):
        if sub[m].max() < min_score:
            unresolved.append((float(fsize), float(sub[m].max())))
        score_span = sub[m].max() - sub[m].min()
        ce_span = (sub["downstream_ce"].max() - sub["downstream_ce"].min()) / sub[
            "downstream_ce"
        ].mean()
        if score_span <= flat_score and ce_span <= flat_ce_rel:
            flat.append(float(fsize))
        for src, s in sub.groupby("pretrain_data", sort=True):
            g = s.groupby("tokens", sort=True)[["downstream_ce", m]].mean()
            if len(g) < 4:
                raise DataError(
                    f"source '{src}' at finetune_size={fsize:g} has {len(g)} distinct "
                    "pretraining token counts; at least 4 are needed to fit a 3-parameter law "
                    "and judge it"
                )
            tokens = g.index.to_numpy(dtype=float)
            ce, score = g["downstream_ce"].to_numpy(), g[m].to_numpy()
            gdf = pd.DataFrame({"tokens": tokens, "downstream_ce": ce, m: score})
            row: dict[str, Any] = {
                "finetune_size": float(fsize),
                "pretrain_data": src,
                "n_points": len(g),
            }
            try:
                ce_fit = fit(gdf, "downstream_ce")
                row["ce_forecast"] = _one(ce_fit.predict({"tokens": [target_tokens]}))
                row["ce_params"] = ce_fit.params_
                fitted = np.asarray(ce_fit.predict(gdf), dtype=float)
                row["ce_fit_max_rel_error"] = float(np.max(np.abs(fitted / ce - 1)))
            except ScalingLabError as exc:
                row["ce_forecast"], row["ce_params"] = np.nan, {"error": str(exc)}
                row["ce_fit_max_rel_error"] = np.nan
            row["ce_holdout_rel_error"] = _holdout_error(gdf)
            try:
                b_fit = fit(gdf[gdf[m] > 0], "bleu_loglaw", metric=m)
                pred = np.asarray(b_fit.predict(gdf), dtype=float)
                ss_res = float(np.sum((score - pred) ** 2))
                ss_tot = float(np.sum((score - score.mean()) ** 2))
                row[f"{m}_r2"] = 1 - ss_res / ss_tot if ss_tot > 0 else 1.0
                row[f"{m}_forecast"] = _one(b_fit.predict({"tokens": [target_tokens]}))
                row[f"{m}_params"] = b_fit.params_
            except ScalingLabError as exc:
                row[f"{m}_r2"], row[f"{m}_forecast"] = np.nan, np.nan
                row[f"{m}_params"] = {"error": str(exc)}
            ce_mono = _monotone_down(ce, 0.01 * max(np.ptp(ce), 1e-12))
            max_drop = float(np.max(-np.diff(score))) if len(score) > 1 else 0.0
            score_bad = max_drop > score_drop or not (row[f"{m}_r2"] >= min_r2)
            row["ce_monotone"] = ce_mono
            row[f"{m}_max_drop"] = max_drop
            row[f"{m}_resolved"] = bool(sub[m].max() >= min_score)
            row["misaligned"] = bool(ce_mono and score_bad and row[f"{m}_resolved"])
            row[f"{m}_observed_best"] = float(score.max())
            rows.append(row)
    ranking = pd.DataFrame(rows)
    ranking[f"rank_{m}"] = ranking.groupby("finetune_size")[f"{m}_forecast"].rank(
        ascending=False, method="min"
    )
    ranking["rank_ce"] = ranking.groupby("finetune_size")["ce_forecast"].rank(method="min")
    notes = _extrapolation_notes(df, ranking, float(target_tokens))
    for _, r in ranking[ranking["ce_fit_max_rel_error"] > max_fit_error].iterrows():
        notes.append(
            f"{r['pretrain_data']} @ finetune_size={r['finetune_size']:g}: the CE law misses "
            f"its own data by up to {r['ce_fit_max_rel_error']:.1%}: downstream CE does not "
            "follow E + A/D^alpha over these budgets, so its forecast is not to be trusted"
        )
    for _, r in ranking[ranking["misaligned"]].iterrows():
        notes.append(
            f"{r['pretrain_data']} @ finetune_size={r['finetune_size']:g}: CE improves "
            f"monotonically but {name} does not follow (max drop "
            f"{r[f'{m}_max_drop']:.2f}, log-law R^2 {r[f'{m}_r2']:.2f}): "
            "CE is not a reliable proxy here"
        )
    for f, best in unresolved:
        notes.append(
            f"finetune_size={f:g}: {name} is at most {best:.2f} for every source (below "
            f"{min_score:g}): too low to rank sources or judge misalignment; ranked by "
            "downstream CE instead"
        )
    # The decision: by the forecast score where it resolves differences, else by forecast CE.
    ranking["rank"] = ranking[f"rank_{m}"].where(ranking[f"{m}_resolved"], ranking["rank_ce"])
    for f in flat:
        notes.append(
            f"finetune_size={f:g}: {name} varies by <= {flat_score:g} points across all "
            "sources and pretraining sizes: pretraining barely matters at this "
            "finetuning size"
        )
    return PretrainChoice(
        ranking.sort_values(["finetune_size", "rank"]),
        flat,
        float(target_tokens),
        notes,
        df,
        metric=m,
    )
