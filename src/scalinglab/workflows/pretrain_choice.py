"""Pretraining-data choice (Isik et al. 2024): rank sources by forecast BLEU and downstream CE.

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

from ..errors import DataError, MissingColumnError, ScalingLabError
from ..fitting import fit
from ..results import Result
from .audit import _load

NEEDED = ("pretrain_data", "tokens", "finetune_size", "downstream_ce", "bleu")


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
    title: ClassVar[str] = "pretraining-data choice"
    ranking: pd.DataFrame  # one row per (finetune_size, source)
    flat_sizes: list[float]
    target_tokens: float
    notes: list[str] = field(default_factory=list)
    data: pd.DataFrame | None = field(default=None, repr=False)  # the runs, for plot()

    def to_frame(self) -> pd.DataFrame:
        return self.ranking

    def plot(self) -> Any:
        from ..plots import pretrain_figure

        if self.data is None:
            raise ValueError("this result carries no runs to plot (loaded without them)")
        return pretrain_figure(self, self.data)

    def to_dict(self) -> dict[str, Any]:
        import json

        return {
            "target_tokens": self.target_tokens,
            "flat_finetune_sizes": self.flat_sizes,
            "ranking": json.loads(self.ranking.to_json(orient="records")),
            "notes": self.notes,
        }


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
    return float(res.predict(g[last])[0]) / measured - 1


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
    bleu_drop: float = 0.5,
    min_r2: float = 0.9,
    flat_bleu: float = 1.0,
    flat_ce_rel: float = 0.01,
    min_bleu: float = 5.0,
    max_fit_error: float = 0.02,
) -> PretrainChoice:
    """Fit and rank every pretraining source per finetuning size; flag misalignment, laws that
    miss their own data by more than `max_fit_error` (relative), and extrapolation."""
    df = _load(data)
    require_columns(df, NEEDED, "pretraining-data choice")
    sources = df["pretrain_data"].dropna().unique()
    if len(sources) < 2:
        raise DataError(
            f"pretraining-data choice needs at least 2 sources in 'pretrain_data'; "
            f"found {len(sources)}: {list(sources)}"
        )
    rows, flat, unresolved = [], [], []
    for fsize, sub in df.groupby("finetune_size", sort=True):
        if sub["bleu"].max() < min_bleu:
            unresolved.append((float(fsize), float(sub["bleu"].max())))
        bleu_span = sub["bleu"].max() - sub["bleu"].min()
        ce_span = (sub["downstream_ce"].max() - sub["downstream_ce"].min()) / sub[
            "downstream_ce"
        ].mean()
        if bleu_span <= flat_bleu and ce_span <= flat_ce_rel:
            flat.append(float(fsize))
        for src, s in sub.groupby("pretrain_data", sort=True):
            g = s.groupby("tokens", sort=True)[["downstream_ce", "bleu"]].mean()
            if len(g) < 4:
                raise DataError(
                    f"source '{src}' at finetune_size={fsize:g} has {len(g)} distinct "
                    "pretraining token counts; at least 4 are needed to fit a 3-parameter law "
                    "and judge it"
                )
            tokens = g.index.to_numpy(dtype=float)
            ce, bleu = g["downstream_ce"].to_numpy(), g["bleu"].to_numpy()
            gdf = pd.DataFrame({"tokens": tokens, "downstream_ce": ce, "bleu": bleu})
            row: dict[str, Any] = {
                "finetune_size": float(fsize),
                "pretrain_data": src,
                "n_points": len(g),
            }
            try:
                ce_fit = fit(gdf, "downstream_ce")
                row["ce_forecast"] = float(ce_fit.predict({"tokens": [target_tokens]})[0])
                row["ce_params"] = ce_fit.params_
                row["ce_fit_max_rel_error"] = float(np.max(np.abs(ce_fit.predict(gdf) / ce - 1)))
            except ScalingLabError as exc:
                row["ce_forecast"], row["ce_params"] = np.nan, {"error": str(exc)}
                row["ce_fit_max_rel_error"] = np.nan
            row["ce_holdout_rel_error"] = _holdout_error(gdf)
            try:
                b_fit = fit(gdf[gdf["bleu"] > 0], "bleu_loglaw")
                pred = b_fit.predict(gdf)
                ss_res = float(np.sum((bleu - pred) ** 2))
                ss_tot = float(np.sum((bleu - bleu.mean()) ** 2))
                row["bleu_r2"] = 1 - ss_res / ss_tot if ss_tot > 0 else 1.0
                row["bleu_forecast"] = float(b_fit.predict({"tokens": [target_tokens]})[0])
                row["bleu_params"] = b_fit.params_
            except ScalingLabError as exc:
                row["bleu_r2"], row["bleu_forecast"] = np.nan, np.nan
                row["bleu_params"] = {"error": str(exc)}
            ce_mono = _monotone_down(ce, 0.01 * max(np.ptp(ce), 1e-12))
            max_drop = float(np.max(-np.diff(bleu))) if len(bleu) > 1 else 0.0
            bleu_bad = max_drop > bleu_drop or not (row["bleu_r2"] >= min_r2)
            row["ce_monotone"] = ce_mono
            row["bleu_max_drop"] = max_drop
            row["bleu_resolved"] = bool(sub["bleu"].max() >= min_bleu)
            row["misaligned"] = bool(ce_mono and bleu_bad and row["bleu_resolved"])
            row["bleu_observed_best"] = float(bleu.max())
            rows.append(row)
    ranking = pd.DataFrame(rows)
    ranking["rank_bleu"] = ranking.groupby("finetune_size")["bleu_forecast"].rank(
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
            "monotonically but BLEU does not follow (max drop "
            f"{r['bleu_max_drop']:.2f}, log-law R^2 {r['bleu_r2']:.2f}): "
            "CE is not a reliable proxy here"
        )
    for f, best in unresolved:
        notes.append(
            f"finetune_size={f:g}: BLEU is at most {best:.2f} for every source (below "
            f"{min_bleu:g}): too low to rank sources or judge misalignment; ranked by "
            "downstream CE instead"
        )
    # The decision: by forecast BLEU where BLEU resolves differences, else by forecast CE.
    ranking["rank"] = ranking["rank_bleu"].where(ranking["bleu_resolved"], ranking["rank_ce"])
    for f in flat:
        notes.append(
            f"finetune_size={f:g}: BLEU varies by <= {flat_bleu:g} points across all "
            "sources and pretraining sizes: pretraining barely matters at this "
            "finetuning size"
        )
    return PretrainChoice(
        ranking.sort_values(["finetune_size", "rank"]), flat, float(target_tokens), notes, df
    )
