"""Assemble a report: data overview, one section per fitted law, audits, workflows."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .. import plots
from ..errors import OptionError
from ..fitting import fit
from ..inspect import inspect_table
from ..laws.base import Law
from ..workflows import audit as audit_mod
from ..workflows.audit_result import fold_codes
from ..workflows.audit_score import selected_rows
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


def overview_section(
    rep: Report, df: pd.DataFrame, metric: str | None = None, where: tuple[str, int] | None = None
) -> None:
    """The data at a glance; `where` = (the --where query, the file's row count), so '128
    rows' is not read as the whole file.

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    metric : str, optional
        The metric column to describe (default: the table's own).
    where : tuple of (str, int), optional
        The --where query and the file's row count before it.
    """
    info = inspect_table(df, metric=metric)
    sec = rep.section("overview", "Data overview")
    sel = (
        f" (of {where[1]}, selected by <code>--where {html.escape(where[0])}</code>)"
        if where
        else ""
    )
    sec.parts.append(
        f"<p>{info['rows']} rows{sel} from <code>{html.escape(str(info['source']))}"
        f"</code>; duplicate rows: {info['duplicate_rows']}."
        + (
            f" {html.escape(str(info['runs']['text']))}."
            if isinstance(info.get("runs"), dict) and info["runs"].get("text")
            else ""
        )
        + "</p>"
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
    law_name: str | Law,
    *,
    metric: str | None,
    mapping: Mapping[str, str] | None,
    holdout: str | None,
    preset: str | None,
    n_bootstrap: int,
    seed: int,
) -> Any:
    """One fitted law: its formula, fit quality, curves, residuals and parameters. `law_name`
    is a catalog name or a `Law` (a user's expression law, a law with fixed parameters).

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    law_name : str or Law
        The law to fit.
    metric : str or None
        The metric column to fit.
    mapping : mapping of str to str or None
        Law variable -> column (the CLI's --map).
    holdout : str or None
        A query for rows left out of the fit and drawn as held out.
    preset : str or None
        A fit preset.
    n_bootstrap : int
        Resamples for the parameter intervals and curve bands (0: none).
    seed : int
        Seed of the fit and the resampling.

    Returns
    -------
    FitResult
        The fit the section shows.
    """
    held = df[selected_rows(df, holdout, "--holdout")] if holdout else None
    train = df.drop(index=held.index) if held is not None else df
    res = fit(train, law_name, metric=metric, mapping=mapping, seed=seed, preset=preset)
    law = res.law  # with the preset's residual space, as fitted
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
        + ("<b>NO</b>" if not res.converged_ else html.escape(res.convergence_text()))
        + ".</p>"
    )
    n_col = res.columns_.get("n_params", "n_params") if "n_params" in law.variables else None
    if n_col and {"n_params", "n_params_nonembedding"} <= set(df.columns):  # issue 15 item 3
        other = "n_params_nonembedding" if n_col == "n_params" else "n_params"
        kind = {"n_params": "total", "n_params_nonembedding": "non-embedding"}.get(n_col, "")
        sec.parts.append(
            f"<p class='n-note'>N is the <code>{html.escape(n_col)}</code> column "
            f"({kind + ' ' if kind else ''}parameters); the table also has <code>{other}"
            f"</code> (<code>--map n_params={other}</code> fits on that one).</p>"
        )
    if law.fixed_values:  # held, not fitted: said beside the fitted parameters
        held_text = ", ".join(f"{k} = {v:g}" for k, v in law.fixed_values.items())
        sec.parts.append(
            f"<p class='fixed-params'>Fixed (held at these values, not fitted): "
            f"{html.escape(held_text)}.</p>"
        )
    for w in res.warnings_:
        sec.parts.append(f"<div class='warn'>{html.escape(w)}</div>")
    rep.figure(sec, plots.fit_figure(res, held), f"{law.name}-curves")
    rep.figure(sec, plots.residual_figure(res, held), f"{law.name}-residuals")
    if res.bootstrap_ is not None and not res.exact_fit_:  # an interpolation has none
        sec.parts.append(
            f"<p class='interval-note'>Parameter intervals and the curves' bands: "
            f"{interval_note(0.9, res.bootstrap_.n_resamples)}.</p>"
        )
    sec.parts.append("<h3>Parameters</h3>" + table_html(params_table(res), f"params-{law.name}"))
    return res


def audit_section(
    rep: Report,
    df: pd.DataFrame,
    laws: Sequence[str | Law],
    *,
    holdout: str | None,
    axis: str | None,
    metric: str | None,
    mapping: Mapping[str, str] | None,
    preset: str | None,
    n_bootstrap: int,
    seed: int,
) -> Any:
    """The audit of one or more laws on held-out scale: figure, tables by law, factor and
    fold, and the held-out points.

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    laws : sequence of str or Law
        The laws audited on the same folds.
    holdout : str or None
        A query selecting the held-out rows; else `axis` is used.
    axis : str or None
        The column to leave the largest scales out along.
    metric : str or None
        The metric column to fit.
    mapping : mapping of str to str or None
        Law variable -> column (the CLI's --map).
    preset : str or None
        A fit preset.
    n_bootstrap : int
        Resamples per fold (at most 300, so the report stays quick).
    seed : int
        Seed of the fits and the resampling.

    Returns
    -------
    AuditResult
        The audit the section shows.
    """
    n_resamples = min(n_bootstrap, 300)  # per fold: the report's audit stays quick
    level = 0.9
    kw: dict[str, Any] = dict(
        metric=metric,
        mapping=mapping,
        preset=preset,
        n_bootstrap=n_resamples,
        interval=level,
        seed=seed,
    )
    if holdout:
        aud = audit_mod.holdout(df, list(laws), holdout, **kw)
    elif axis:
        aud = audit_mod.leave_largest_out(df, list(laws), axis, **kw)
    else:  # neither: say so (leave_largest_out would report "axis 'None' is not in the data")
        raise OptionError("the audit section needs a holdout query or a leave-largest-out axis")
    sec = rep.section("audit", "Audit: error on held-out scale")
    sec.parts.append(
        f"<p class='interval-note'>Relative errors in percent. Coverage: the share of held-out "
        f"points inside their {html.escape(interval_note(level, n_resamples, True))} per fold "
        "(the CLI's <code>audit</code> states its own level and resample count; they differ "
        "when its <code>--interval</code> or <code>--bootstrap</code> do).</p>"
    )
    rep.figure(sec, plots.audit_figure(aud.points), "audit")
    cov = {"coverage": coverage_label(level, n_resamples)}
    by_law = aud.by_law().reset_index().rename(columns=cov)
    sec.parts.append("<h3>By law</h3>" + table_html(by_law, "audit-by-law"))
    by_factor = aud.by_factor()
    if not by_factor.empty:  # a joint finetuning law: which factor's extrapolation fails
        sec.parts.append(
            "<h3>By factor</h3>"
            + table_html(by_factor.reset_index().rename(columns=cov), "audit-by-factor")
        )
    folds = aud.folds.drop(columns=["params", "warnings"], errors="ignore").rename(columns=cov)
    if "diagnostics" in folds.columns:  # each fold fit's findings, as their codes
        folds = folds.assign(diagnostics=[fold_codes(x) for x in folds["diagnostics"]])
    sec.parts.append("<h3>Per fold</h3>" + table_html(folds, "audit-summary"))
    sec.parts.append(
        "<h3>Held-out points</h3>" + table_html(with_run_ids(aud.points, df), "audit-points")
    )
    _diagnostics(sec, aud)  # per law, which folds' fits have which findings; the notes
    return aud


def forecast_section(rep: Report, df: pd.DataFrame, opts: Mapping[str, Any]) -> Any:
    """The two-step downstream forecast: both steps' figures and the targets table.

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    opts : mapping of str to Any
        Keyword arguments of `scalinglab.forecast` (targets, laws, resamples, ...).

    Returns
    -------
    ForecastResult
        The forecast the section shows.
    """
    from ..workflows.downstream import forecast

    res = forecast(df, **opts)
    sec = rep.section("forecast", "Two-step downstream forecast")
    sec.parts.append(
        f"<p>Step 1: {html.escape(res.loss_fit.law.name)} on {res.loss_fit.n_points_} rows; "
        f"step 2: {html.escape(res.error_fit.law.name)} on {res.error_fit.n_points_} rows; "
        f"{html.escape(interval_note(res.interval, res.n_bootstrap, calibrated='always'))} "
        "(the two steps resampled jointly).</p>"
    )
    f1, f2 = plots.forecast_figures(res, df)  # targets named by their run ids
    rep.figure(sec, f1, "forecast-loss")
    rep.figure(sec, f2, "forecast-error")
    sec.parts.append(
        "<h3>Targets</h3>" + table_html(with_run_ids(res.targets, df), "forecast-targets")
    )
    _diagnostics(sec, res)  # both step fits' warnings and errors, extrapolation, notes
    return res


def method_section(
    rep: Report,
    df: pd.DataFrame,
    factor: str,
    at: Mapping[str, float],
    *,
    metric: str = "loss",
    law: str | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> Any:
    """Zhang et al.'s method choice, with the same metric, law and resamples as
    `scalinglab choose-method` (the CLI's --metric/--law/--bootstrap/--seed reach it).

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    factor : str
        The scaled factor the methods are compared along (e.g. ``n_params``).
    at : mapping of str to float
        The point to decide at.
    metric : str, default 'loss'
        The metric column fitted.
    law : str, optional
        The law fitted per method (default: chosen by `choose_method`).
    n_bootstrap : int, default 200
        Resamples behind the crossing intervals.
    seed : int, default 0
        Seed of the resampling.

    Returns
    -------
    MethodChoice
        The choice the section shows.
    """
    from ..workflows.finetune_choice import choose_method

    res = choose_method(df, factor, at, metric=metric, law=law, n_bootstrap=n_bootstrap, seed=seed)
    sec = rep.section("method-choice", "Finetuning-method choice")
    sec.parts.append(
        f"<p>Every method's <b>{html.escape(metric)}</b> fitted with the "
        f"<b>{html.escape(res.law)}</b> law: "
        f"{html.escape(res.law_reason)}.</p>"
    )
    rep.figure(sec, plots.method_figure(res), "method-crossing")
    sec.parts.append(
        "<p class='interval-note'>Solid: the in-sample fits over their fitted finetuning "
        "sizes (dashed beyond). Thin dashed: the same laws fitted without the runs at "
        f"{html.escape(res.factor)}={res.at[res.factor]:.3g}, i.e. the decision a held-out "
        "scale would have made. Diamonds: the crossings, filled in-sample and open held out, "
        "with their bootstrap intervals as bars.</p>"
    )
    sec.parts.append("<h3>Laws per method</h3>" + table_html(res.comparison, "method-comparison"))
    sec.parts.append(
        f"<h3>Crossings (in-sample; intervals: {html.escape(res.interval_label())})</h3>"
        + table_html(res.crossings.drop(columns=["all_crossings"]), "method-crossings")
    )
    if not res.heldout.empty:
        sec.parts.append(
            "<h3>The decision held out (intervals: "
            + html.escape(res.interval_label())
            + ")</h3>"
            + table_html(res.heldout, "method-heldout")
        )
    _diagnostics(sec, res)
    return res


def _diagnostics(sec: Section, res: Any) -> None:
    """A result's warnings (its `flags`, else its `findings`: a workflow's own and its
    step fits'), then its notes, escaped."""
    flags = getattr(res, "flags", None)
    for d in flags if flags is not None else getattr(res, "findings", []):
        kind = "warn" if d.severity in ("warning", "error") else "note"
        code = html.escape(d.code, quote=True)  # which check, for a reader and a script
        sec.parts.append(f"<div class='{kind}' data-code='{code}'>{html.escape(d.message)}</div>")
    for n in getattr(res, "notes", []):
        sec.parts.append(f"<div class='note'>{html.escape(n)}</div>")


def _shared_range(table: pd.DataFrame, col: str) -> list[float] | None:
    """An x range holding every estimate and interval end of `col` in the table, padded."""
    vals = pd.concat([table[c] for c in (col, f"{col}_lo", f"{col}_hi") if c in table])
    vals = vals[pd.notna(vals)].astype(float)
    if vals.empty:
        return None
    lo, hi = float(vals.min()), float(vals.max())
    pad = 0.05 * (hi - lo) if hi > lo else 0.05 * abs(hi) or 0.05
    return [lo - pad, hi + pad]


def factor_effects_section(
    rep: Report,
    df: pd.DataFrame,
    factors: Sequence[str],
    *,
    metric: str = "loss",
    by: str | None = "method",
    n_bootstrap: int = 200,
) -> Any:
    """Zhang et al.: which scaling helps finetuning more, one forest plot per method.

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    factors : sequence of str
        The scaled factors whose exponents are compared.
    metric : str, default 'loss'
        The metric column fitted.
    by : str or None, default 'method'
        One fit per value of this column.
    n_bootstrap : int, default 200
        Resamples behind the exponent intervals.

    Returns
    -------
    FactorEffects
        The result the section shows.
    """
    from ..workflows.factor_effects import factor_effects

    res = factor_effects(df, factors, metric=metric, by=by, n_bootstrap=n_bootstrap)
    sec = rep.section("factor-effects", "Which scaling helps finetuning more")
    sec.parts.append(
        "<p>Per method, Zhang et al.'s Eq. 2 (A_X, alpha_X per factor; beta and E shared). "
        "A 10x larger factor multiplies the reducible loss by 10^-alpha_X, so the larger "
        f"exponent helps more; bars are {res.interval:.0%} bootstrap intervals "
        f"({n_bootstrap} resamples).</p>"
    )
    span = _shared_range(res.table, "alpha")
    for g in res.verdicts:
        fig = plots.factor_effects_figure(res, g)
        fig.update_xaxes(range=span)  # one scale for every method: comparable by eye
        rep.figure(sec, fig, f"factor-effects-{g}")
    sec.parts.append(table_html(res.table, "factor-effects"))
    _diagnostics(sec, res)
    return res


def task_selection_section(
    rep: Report,
    df: pd.DataFrame,
    chance: Any,
    *,
    select_at: str | None = None,
    margin: float = 0.10,
) -> Any:
    """Gadre et al.: which tasks enter the average error, and by how much they cleared the
    margin at the reference size.

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    chance : Any
        Chance accuracy per task, as `scalinglab.select_tasks` takes it.
    select_at : str, optional
        A query choosing the reference rows (default: `select_tasks`'s).
    margin : float, default 0.1
        How far above chance a task must score at the reference to be kept.

    Returns
    -------
    TaskSelection
        The selection the section shows.
    """
    from ..workflows.task_selection import select_tasks

    res = select_tasks(df, chance, select_at=select_at, margin=margin)
    sec = rep.section("task-selection", "Downstream task selection")
    sec.parts.append(
        f"<p>{len(res.selected)} of {len(res.tasks)} tasks selected; reference: "
        f"{html.escape(res.reference)} ({res.n_reference_rows} runs); the average top-1 "
        f"error over them is the column <code>{html.escape(res.err_col)}</code>.</p>"
    )
    rep.figure(sec, plots.task_selection_figure(res), "task-selection")
    sec.parts.append(table_html(res.tasks, "task-selection"))
    _diagnostics(sec, res)
    return res


def constant_exponent_section(
    rep: Report,
    df: pd.DataFrame,
    *,
    loss_col: str = "loss",
    by: str | None = None,
    where: str | None = None,
    n_bootstrap: int = 200,
) -> Any:
    """Gadre et al.'s constant-exponent assumption, one forest plot per training set.

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    loss_col : str, default 'loss'
        The loss column fitted.
    by : str, optional
        One test per value of this column (e.g. training set).
    where : str, optional
        A row query applied first.
    n_bootstrap : int, default 200
        Resamples behind the exponent intervals.

    Returns
    -------
    ConstantExponent
        The result the section shows.
    """
    from ..workflows.constant_exponent import constant_exponent

    res = constant_exponent(df, loss_col=loss_col, by=by, where=where, n_bootstrap=n_bootstrap)
    sec = rep.section("constant-exponent", "One compute exponent for every token multiplier?")
    sec.parts.append(
        f"<p>Per token multiplier M: L = E + A_M C^-eta_M on {html.escape(loss_col)}, E shared; "
        f"bars are {res.interval:.0%} bootstrap intervals ({n_bootstrap} resamples); the band "
        "is the range every interval contains, the dotted line the joint over-training fit's "
        "eta.</p>"
    )
    span = _shared_range(res.table, "eta")
    for g in res.verdicts:
        fig = plots.constant_exponent_figure(res, g)
        fig.update_xaxes(range=span)  # one scale for every training set
        rep.figure(sec, fig, f"constant-exponent-{g}")
    sec.parts.append(table_html(res.table, "constant-exponent"))
    _diagnostics(sec, res)
    return res


def transfer_section(
    rep: Report, df: pd.DataFrame, *, by: str | None = None, where: str | None = None
) -> Any:
    """Hernandez et al.: the loss per N from scratch and pretrained (measured and fitted),
    D_E and D_T vs D_F, the fraction transferred, the from-scratch yardstick's checks.

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    by : str, optional
        The column naming each run's pretraining source (one law per source).
    where : str, optional
        A row query applied first.

    Returns
    -------
    TransferResult
        The result the section shows.
    """
    from ..plots.papers_hernandez import fraction_transferred_figure, transfer_loss_figure
    from ..workflows.transfer import effective_data_transferred

    res = effective_data_transferred(df, by=by, where=where)
    sec = rep.section("transfer", "Effective data transferred")
    rep.figure(sec, transfer_loss_figure(res, df), "transfer-loss")
    if res.by_source:  # one law per source: one D_E and one D_T figure each, none pooled
        for src in res.by_source:
            rep.figure(sec, res.plot("effective", source=src), f"transfer-effective-{src}")
            rep.figure(sec, res.plot("transferred", source=src), f"transfer-{src}")
    else:
        rep.figure(sec, plots.effective_data_figure(res), "transfer-effective")
        rep.figure(sec, plots.transfer_figure(res), "transfer")
    rep.figure(sec, fraction_transferred_figure(res), "transfer-fraction")
    y = res.yardstick
    if y:
        held = (
            f"{y['heldout_error']:.2%} on its largest model ({y['heldout_size']:.3g}) held out"
            if y.get("heldout_error") is not None
            else "no held-out check (fewer than 3 model sizes)"
        )
        sec.parts.append(
            f"<p>From-scratch yardstick ({html.escape(str(y['law']))}, {y['n_runs']} runs): "
            f"median error {y['in_sample_error']:.2%} in sample, {held}; over each size's "
            f"D range the runs' loss falls {y['measured_drop_over_d']:.1%}, the law's "
            f"{y['law_drop_over_d']:.1%}"
            + ("" if y["falls_with_d"] else " — <b>the law does not follow the runs in D</b>")
            + ".</p>"
        )
    if not res.comparison.empty:
        sec.parts.append(
            f"<h3>Per pretraining source ({interval_note(res.interval, res.n_bootstrap)} on k, "
            "alpha, beta)</h3>" + table_html(res.comparison, "transfer-sources")
        )
    sec.parts.append("<h3>Finetuned runs</h3>" + table_html(res.runs, "transfer-runs"))
    _diagnostics(sec, res)
    return res


def pretrain_section(
    rep: Report, df: pd.DataFrame, target_tokens: float, metric: str = "bleu"
) -> Any:
    """Isik et al.: rank pretraining sources by the forecast score (`metric`) and CE, with
    the misalignment verdict per finetuning size written on the figure.

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    df : DataFrame
        The runs.
    target_tokens : float
        The finetuning size to forecast at.
    metric : str, default 'bleu'
        The score column forecast beside CE.

    Returns
    -------
    PretrainChoice
        The ranking the section shows.
    """
    from ..plots.papers_isik import isik_figure
    from ..workflows.pretrain_choice import choose_pretraining_data

    res = choose_pretraining_data(df, target_tokens, metric=metric)
    sec = rep.section("pretrain-choice", "Pretraining-data choice")
    # Isik et al.'s figures: score and CE side by side, measured and fitted, every size
    rep.figure(sec, isik_figure(res, df), f"pretrain-{res.metric}")
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
    """The compute-optimal frontier of a fitted law at a budget: figure, table, exponents.

    Parameters
    ----------
    rep : Report
        The report the section is appended to.
    res : FitResult
        A fit of a law in N and D.
    budget : float
        The compute budget in FLOPs.

    Returns
    -------
    Plan
        The plan the section shows.
    """
    from ..workflows.planning import plan

    pl = plan(res, budget)
    sec = rep.section("plan", "Planning: compute-optimal frontier")
    rep.figure(sec, plots.plan_figure(res, budget=budget), "plan-frontier")
    sec.parts.append(table_html(pd.DataFrame(pl.rows), "plan-table"))
    ivs = pl.exponent_intervals
    sec.parts.append(
        "<p>"
        + html.escape(
            ", ".join(
                f"{k} = {v:.4f}" + (f" [{ivs[k][0]:.4f}, {ivs[k][1]:.4f}]" if k in ivs else "")
                for k, v in pl.exponents.items()
            )
        )
        + "</p>"
    )
    if pl.interval_note:  # the level and draws behind the *_lower/*_upper columns, or why none
        sec.parts.append(
            f"<p class='note'>{html.escape(pl.interval_label)}: {html.escape(pl.interval_note)}</p>"
        )
    return pl


def section_names(rep: Report) -> list[str]:
    """The names of the report's sections, in page order (what a caller asserts on).

    Parameters
    ----------
    rep : Report
        The report.

    Returns
    -------
    list of str
        One name per section.
    """
    return [s.name for s in rep.sections]


__all__ = [
    "Report",
    "Section",
    "audit_section",
    "constant_exponent_section",
    "factor_effects_section",
    "forecast_section",
    "law_section",
    "method_section",
    "overview_section",
    "plan_section",
    "pretrain_section",
    "section_names",
    "task_selection_section",
    "transfer_section",
]
