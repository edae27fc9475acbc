"""Assemble a report: data overview, one section per fitted law, audits, workflows."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .. import plots
from ..fitting import fit
from ..fitting.presets import apply_preset
from ..inspect import inspect_table
from ..laws import get_law
from ..workflows import audit as audit_mod
from .html import (
    Report,
    Section,
    coverage_label,
    id_column,
    interval_note,
    params_table,
    table_html,
    with_run_ids,
)


def overview_section(rep: Report, df: pd.DataFrame) -> None:
    info = inspect_table(df)
    sec = rep.section("overview", "Data overview")
    sec.parts.append(
        f"<p>{info['rows']} rows from <code>{html.escape(str(info['source']))}"
        f"</code>; duplicate rows: {info['duplicate_rows']}.</p>"
    )
    cols = pd.DataFrame([c for c in info["columns"] if c["role"] != "other"])
    if not cols.empty:
        sec.parts.append(
            "<h3>Recognised columns</h3>"
            + table_html(
                cols[["column", "from", "role", "unit", "derived", "missing"]], "table-columns"
            )
        )
    if info["ranges"]:
        sec.parts.append(
            "<h3>Ranges</h3>" + table_html(pd.DataFrame(info["ranges"]), "table-ranges")
        )
    for msg in info.get("plausibility", []):
        sec.parts.append(f"<div class='warn'>Check: {html.escape(msg)}</div>")
    o = info.get("outliers")
    if o and o["rows"]:
        sec.parts.append(
            f"<div class='warn'>Suspected outliers ({html.escape(str(o['law']))} fit of "
            f"{html.escape(str(o['metric']))}, robust "
            f"|z| &gt; {o['threshold_z']:g}): rows "
            + ", ".join(
                f"{r} ({_run_label(df, r)}z={z:+.1f})"
                for r, z in zip(o["rows"], o["z"], strict=True)
            )
            + "</div>"
        )
    laws = pd.DataFrame(info["laws"])
    if not laws.empty:
        sec.parts.append("<h3>Laws this data can feed</h3>" + table_html(laws, "table-laws"))


def _run_label(df: pd.DataFrame, row: int) -> str:
    """'pythia-70m, step 1000, ' for a 1-based data row when the data name their runs."""
    col = id_column(df)
    if col is None or (row - 1) not in df.index:
        return ""
    r = df.loc[row - 1]
    s = r["step"] if "step" in df.columns else None
    step = ""
    if s is not None and not pd.isna(s):
        step = f", step {s:g}" if isinstance(s, float) else f", step {s}"
    return html.escape(f"{r[col]}{step}, ")


def law_section(
    rep: Report,
    df: pd.DataFrame,
    law_name: str,
    *,
    metric: str | None,
    mapping: Mapping[str, str] | None,
    holdout: str | None,
    preset: str | None,
    n_bootstrap: int,
    seed: int,
) -> Any:
    law, kw = apply_preset(get_law(law_name), preset)
    held = df[audit_mod._mask(df, holdout, "--holdout")] if holdout else None
    train = df.drop(index=held.index) if held is not None else df
    res = fit(train, law, metric=metric, mapping=mapping, seed=seed, **kw)
    if n_bootstrap:
        res.bootstrap(n_bootstrap, seed=seed)
    sec = rep.section(f"law-{law.name}", f"Law: {law.name}")
    sec.parts.append(
        f"<p><b>{html.escape(res.metric_)} = {html.escape(law.formula_text)}</b>"
        f" — {html.escape(law.citation)}</p>"
    )
    sec.parts.append(
        f"<p>{res.n_points_} fit points; objective {res.objective_:.6g} "
        f"(Huber δ={res.delta_:g}, {law.space} space); converged: "
        f"{'yes' if res.converged_ else '<b>NO</b>'}.</p>"
    )
    for w in res.warnings_:
        sec.parts.append(f"<div class='warn'>{html.escape(w)}</div>")
    rep.figure(sec, plots.fit_figure(res, held), f"{law.name}-curves")
    rep.figure(sec, plots.residual_figure(res, held), f"{law.name}-residuals")
    if res.bootstrap_ is not None:
        sec.parts.append(
            f"<p class='interval-note'>Parameter intervals and the curves' bands: "
            f"{interval_note(0.9, res.bootstrap_.n_resamples)}.</p>"
        )
    sec.parts.append("<h3>Parameters</h3>" + table_html(params_table(res), f"params-{law.name}"))
    return res


def audit_section(
    rep: Report,
    df: pd.DataFrame,
    laws: Sequence[str],
    *,
    holdout: str | None,
    axis: str | None,
    metric: str | None,
    mapping: Mapping[str, str] | None,
    preset: str | None,
    n_bootstrap: int,
    seed: int,
) -> Any:
    n_resamples = min(n_bootstrap, 300)  # per fold: the report's audit stays quick
    level = 0.9
    kw = dict(
        metric=metric,
        mapping=mapping,
        preset=preset,
        n_bootstrap=n_resamples,
        interval=level,
        seed=seed,
    )
    if holdout:
        aud = audit_mod.holdout(df, list(laws), holdout, **kw)
    else:
        aud = audit_mod.leave_largest_out(df, list(laws), axis, **kw)
    sec = rep.section("audit", "Audit: error on held-out scale")
    sec.parts.append(
        f"<p class='interval-note'>Relative errors in percent. Coverage: the share of held-out "
        f"points inside their {html.escape(interval_note(level, n_resamples))} per fold "
        "(the CLI's <code>audit</code> states its own level and resample count; they differ "
        "when its <code>--interval</code> or <code>--bootstrap</code> do).</p>"
    )
    rep.figure(sec, plots.audit_figure(aud.points), "audit")
    cov = {"coverage": coverage_label(level, n_resamples)}
    by_law = aud.by_law().reset_index().rename(columns=cov)
    sec.parts.append("<h3>By law</h3>" + table_html(by_law, "audit-by-law"))
    folds = aud.folds.drop(columns=["params", "warnings"], errors="ignore").rename(columns=cov)
    sec.parts.append("<h3>Per fold</h3>" + table_html(folds, "audit-summary"))
    sec.parts.append(
        "<h3>Held-out points</h3>" + table_html(with_run_ids(aud.points, df), "audit-points")
    )
    return aud


def forecast_section(rep: Report, df: pd.DataFrame, opts: Mapping[str, Any]) -> Any:
    from ..workflows.downstream import forecast

    res = forecast(df, **opts)
    sec = rep.section("forecast", "Two-step downstream forecast")
    sec.parts.append(
        f"<p>Step 1: {html.escape(res.loss_fit.law.name)} on {res.loss_fit.n_points_} runs; "
        f"step 2: {html.escape(res.error_fit.law.name)} on {res.error_fit.n_points_} runs; "
        f"{res.interval:.0%} intervals from {res.n_bootstrap} joint bootstrap "
        "resamples.</p>"
    )
    f1, f2 = plots.forecast_figures(res)
    rep.figure(sec, f1, "forecast-loss")
    rep.figure(sec, f2, "forecast-error")
    sec.parts.append("<h3>Targets</h3>" + table_html(res.targets, "forecast-targets"))
    for n in res.notes:
        sec.parts.append(f"<div class='note'>{html.escape(n)}</div>")
    return res


def method_section(rep: Report, df: pd.DataFrame, factor: str, at: Mapping[str, float]) -> Any:
    from ..workflows.finetune_choice import choose_method

    res = choose_method(df, factor, at, n_bootstrap=200)
    sec = rep.section("method-choice", "Finetuning-method choice")
    rep.figure(sec, plots.method_figure(res), "method-crossing")
    sec.parts.append(table_html(res.comparison, "method-comparison"))
    sec.parts.append(table_html(res.crossings.drop(columns=["all_crossings"]), "method-crossings"))
    for n in res.notes:
        sec.parts.append(f"<div class='note'>{html.escape(n)}</div>")
    return res


def transfer_section(rep: Report, df: pd.DataFrame) -> Any:
    from ..workflows.transfer import effective_data_transferred

    res = effective_data_transferred(df)
    sec = rep.section("transfer", "Effective data transferred")
    rep.figure(sec, plots.transfer_figure(res), "transfer")
    sec.parts.append(table_html(res.runs, "transfer-runs"))
    for n in res.notes:
        sec.parts.append(f"<div class='note'>{html.escape(n)}</div>")
    return res


def pretrain_section(rep: Report, df: pd.DataFrame, target_tokens: float) -> Any:
    from ..workflows.pretrain_choice import choose_pretraining_data

    res = choose_pretraining_data(df, target_tokens)
    sec = rep.section("pretrain-choice", "Pretraining-data choice")
    rep.figure(sec, plots.pretrain_figure(res, df), "pretrain-bleu")
    sec.parts.append(
        table_html(
            res.ranking.drop(
                columns=[c for c in ("ce_params", f"{res.metric}_params") if c in res.ranking]
            ),
            "pretrain-ranking",
        )
    )
    for n in res.notes:
        sec.parts.append(f"<div class='note'>{html.escape(n)}</div>")
    return res


def plan_section(rep: Report, res: Any, budget: float) -> Any:
    from ..workflows.planning import plan

    pl = plan(res, budget)
    sec = rep.section("plan", "Planning: compute-optimal frontier")
    rep.figure(sec, plots.plan_figure(res, budget=budget), "plan-frontier")
    sec.parts.append(table_html(pd.DataFrame(pl.rows), "plan-table"))
    sec.parts.append("<p>" + ", ".join(f"{k} = {v:.4f}" for k, v in pl.exponents.items()) + "</p>")
    return pl


def section_names(rep: Report) -> list[str]:
    return [s.name for s in rep.sections]


__all__ = [
    "Report",
    "Section",
    "audit_section",
    "forecast_section",
    "law_section",
    "method_section",
    "overview_section",
    "plan_section",
    "pretrain_section",
    "section_names",
    "transfer_section",
]
