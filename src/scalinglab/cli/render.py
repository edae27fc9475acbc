"""Rendering of command results on the terminal (rich tables and lines), in one module:
commands parse options, call the library, and hand the result to a `render_*` function here
(issue 16: parse -> call -> render). Every user string (column, law, task and run names,
notes quoting queries) is escaped, so it is never read as rich markup."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table

from ..fitting import FitResult
from ..laws import Law
from ..workflows.audit_result import fold_codes
from .common import (
    _fmt,
    _table,
    compute_saving,
    emit_json,
    err,
    interval_note,
    out,
    print_diagnostics,
)


def render_notes(notes: Any) -> None:
    """Notes on stdout, escaped: they quote column names and queries from the user."""
    for note in notes:
        out.print(f"note: {escape(str(note))}", highlight=False)


def render_laws(laws: Iterable[Law]) -> None:
    """`scalinglab laws`: the catalog's names, formulas, variables, spaces and citations."""
    t = Table(title="scalinglab law catalog", show_lines=True)
    for c in ("name", "formula", "variables", "fit space", "citation"):
        t.add_column(c, overflow="fold")
    for law in laws:
        t.add_row(
            law.name,
            f"{law.metric} = {law.formula_text}",
            ", ".join(law.variables),
            law.space,
            law.citation,
        )
    out.print(t)
    out.print(
        "Your own law: scalinglab fit DATA --expr 'E + A/tokens**alpha' "
        "--param E=0:inf --param A=0:inf --param alpha=0:3 --metric loss"
    )


def render_fit(res: FitResult) -> None:
    """A fit: parameters (fixed ones said), objective, convergence, starts, diagnostics."""
    t = Table(title=escape(f"{res.law.name}: {res.metric_} = {res.law.formula_text}"))
    t.add_column("parameter")
    t.add_column("value", justify="right")
    t.add_column("bounds")
    t.add_column("note")
    for p in res.law.parameters:
        t.add_row(
            escape(p.name),
            f"{res.params_[p.name]:.6g}",
            escape(f"[{p.lower:g}, {p.upper:g}]"),
            "[red]at bound[/]" if p.name in res.at_bounds_ else "",
        )
    for name, value in res.law.fixed_values.items():
        t.add_row(escape(name), f"{value:.6g}", "", "fixed")
    out.print(t)
    st = res.starts_["status"].value_counts().to_dict()
    out.print(
        f"{res.n_points_} points | objective {res.objective_:.12g} (Huber delta={res.delta_:g}, "
        f"{res.law.space} space) | converged: "
        + (
            "[bold red]NO[/]"
            if not res.converged_
            else "[green]yes[/]"
            if res.clean_
            else f"[yellow]{escape(res.convergence_text())}[/]"
        )
        + f" | {len(res.starts_)} starts ({', '.join(f'{v} {k}' for k, v in st.items())}) "
        f"in {res.fit_time_s_ * 1e3:.0f} ms"
    )
    print_diagnostics(res.diagnostics_ or res.warnings_)


def render_intervals(res: FitResult, level: float) -> None:
    """The bootstrap intervals of a fit's parameters, unidentified ones and bounds said."""
    b = res.bootstrap_
    if b is None:
        return
    iv = res.intervals(level)
    t = Table(
        title=f"{level:.0%} bootstrap intervals ({b.n_resamples} resamples, {b.method}"
        + (f", by {escape(str(b.group_by))}" if b.group_by else "")
        + f", {b.time_s:.2f} s)"
    )
    for c in ("parameter", "estimate", "lower", "upper", "se", "note"):
        t.add_column(c, justify="right")
    unidentified = {
        p
        for d in res.diagnostics_
        if d.code in ("not_identified", "single_value")
        for p in d.params
    }
    for name, row in iv.iterrows():
        note = "[red]not identified[/]" if name in unidentified else ""
        note = note or ("[red]at bound[/]" if name in res.at_bounds_ else "")
        t.add_row(
            escape(str(name)),
            *(f"{v:.6g}" for v in (row.estimate, row.lower, row.upper, row.se)),
            note,
        )
    out.print(t)
    dropped = b.n_resamples - int(b.usable.sum())
    if dropped:
        err.print(
            f"[yellow]warning[/]: {dropped} resamples did not converge and are left out "
            "of the intervals"
        )


def render_audit(res: Any, interval: float, n_boot: int) -> None:
    """An audit: held-out points (first 60), one row per fold, one per law, notes."""
    pts = res.points
    ivs = interval_note(interval, n_boot, calibrated=True)
    t = Table(title=f"held-out points ({res.kind}; relative errors in %; {ivs})")
    show = [
        "fold",
        "law",
        "row",
        "truth",
        "prediction",
        "rel_error",
        "lower",
        "upper",
        "inside",
        "compute_ratio",
    ]
    if "distance" in pts.columns:
        show.insert(3, "distance")
    for k, c in enumerate(c for c in ("run", "step") if c in pts.columns):
        show.insert(show.index("row") + 1 + k, c)  # the run beside its row number
    if "task" in pts.columns:
        show.insert(0, "task")
    for c in show:
        t.add_column(c, justify="left" if c == "run" else "right", overflow="fold")
    for _, r in pts.head(60).iterrows():
        no_iv = not (np.isfinite(r["lower"]) and np.isfinite(r["upper"]))
        t.add_row(
            *(
                escape(str(r[c]))
                if c == "run"
                else "-"  # no interval (--bootstrap 0): not a miss
                if c == "inside" and no_iv
                else _fmt(r[c], c)
                for c in show
            )
        )
    out.print(t)
    if len(pts) > 60:
        out.print(f"... {len(pts) - 60} more points (use --json for all)")
    t = Table(title=f"summary per fold (coverage of {ivs})")
    cols = [
        "fold",
        "law",
        "n_fit",
        "n_test",
        "mad",
        "mean_rel_error",
        "max_rel_error",
        "coverage",
        "compute_ratio_max",
        "converged",
    ]
    if "task" in res.folds.columns:
        cols.insert(0, "task")
    findings = "diagnostics" in res.folds.columns and any(
        fold_codes(x) for x in res.folds["diagnostics"]
    )
    for c in cols:
        t.add_column(c, justify="right")
    if findings:  # the fit's own warnings and errors: 'converged' alone hid an at_bound fold
        t.add_column("findings", justify="left", overflow="fold")
    for _, r in res.folds.iterrows():
        cells = [_fmt(r[c], c) for c in cols]
        if findings:
            cells.append(escape(fold_codes(r["diagnostics"]) or "-"))
        t.add_row(*cells)
    out.print(t)
    bl = res.by_law()
    t = Table(title=f"held-out error by law (coverage of {ivs})")
    for c in ["task / law" if bl.index.nlevels > 1 else "law", *bl.columns]:
        t.add_column(c, justify="right")
    for name, r in bl.iterrows():
        label = " / ".join(map(str, name)) if isinstance(name, tuple) else str(name)
        t.add_row(escape(label), *(_fmt(r[c], c) for c in bl.columns))
    out.print(t)
    render_notes(res.notes)
    print_diagnostics(res.findings)  # per law, which folds' fits have which findings
    for _, r in res.folds.iterrows():
        if np.isfinite(r["compute_ratio_max"]):
            who = f"{r['task']} / " if "task" in r.index else ""
            out.print(
                escape(f"{who}{r['fold']} / {r['law']}") + ": predicted from "
                f"{compute_saving(r['compute_ratio_max'])} than the largest target"
            )


def render_audit_factors(res: Any, interval: float, n_boot: int) -> None:
    """A joint finetuning law's held-out error per factor (Zhang et al.'s Table 2), when the
    audit has one: which factor's extrapolation fails."""
    bf = res.by_factor() if hasattr(res, "by_factor") else None
    if bf is None or bf.empty:
        return
    keys = list(bf.index.names)
    t = Table(
        title=f"held-out error by factor (coverage of {interval_note(interval, n_boot, True)})"
    )
    for c in [*keys, *bf.columns]:
        t.add_column(escape(str(c)), justify="right")
    for name, r in bf.iterrows():
        labels = name if isinstance(name, tuple) else (name,)
        t.add_row(*(escape(str(v)) for v in labels), *(_fmt(r[c], c) for c in bf.columns))
    out.print(t)


def _num(v: Any, fmt: str = ".4f") -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "" if not np.isfinite(f) else format(f, fmt)


def render_task_table(
    res: Any,
    interval_text: str,
    names: Mapping[str, str] | None = None,
    metric_label: str | None = None,
) -> None:
    """One row per task x target: prediction, interval, truth and error where known.

    `names` maps a column as fitted (after aliasing: 'accuracy') to the user's own name
    ('acc', from --acc-col acc), and `metric_label` heads the prediction columns (the one
    --acc-col given), so the output speaks of the columns the user named."""
    t = res.table
    metric = metric_label or res.metric
    names = dict(names or {})
    tab = Table(title=escape(f"{res.method}: {metric} per task x target ({interval_text})"))
    cols = [("task", "task"), ("target", "target")]
    cols += [("loss_pred", "loss pred"), ("loss_true", "loss true")]
    cols += [("pred", f"{metric} pred"), ("lo", "lo"), ("hi", "hi")]
    cols += [("true", f"{metric} true"), ("error", "error (pred-true)"), ("inside", "inside")]
    cols = [(c, h) for c, h in cols if c in t.columns]
    for _, head in cols:
        tab.add_column(head, justify="left" if head in ("task", "target") else "right")
    for _, r in t.iterrows():
        cells = []
        for c, _ in cols:
            v = r[c]
            if c in ("task", "target"):
                cells.append(escape(str(v)))
            elif c == "error":
                cells.append(_num(v, "+.3f"))
            else:
                cells.append(_num(v, ".4f" if "loss" in c else ".3f"))
        tab.add_row(*cells)
    out.print(tab)
    if "error" in t.columns and t["error"].notna().any() and t["task"].duplicated().any():
        for task, g in t.groupby("task", sort=False):
            e = g["error"].to_numpy(dtype=float)
            out.print(
                f"{escape(str(task))}: mean |error| {np.nanmean(np.abs(e)):.3f}"
                + (f", inside {int(g['inside'].sum())} of {len(g)}" if "inside" in g else ""),
                highlight=False,
            )
    for line in res.law_lines():  # the laws behind every row (their values: --json)
        for fitted, user in names.items():
            line = line.replace(f": {fitted} = ", f": {user} = ")
        out.print(escape(line), highlight=False)
    render_notes(res.notes)


def render_many_warnings(many: Any) -> None:
    """The findings of a many-task forecast or ladder: each task's step fits' warnings and
    errors and its own (extrapolation, calibration), named by task and step; one every
    task shares once."""
    print_diagnostics(many.findings)


def render_forecast(res: Any) -> None:
    """A two-step forecast: one line per target (loss and error, intervals, truth, compute)."""
    out.print(
        f"step 1: {res.loss_fit.law.name} on {res.loss_fit.n_points_} rows; step 2: "
        f"{res.error_fit.law.name} on {res.error_fit.n_points_} rows; "
        f"{interval_note(res.interval, res.n_bootstrap, calibrated='always')}; "
        "relative errors in %"
    )
    t = res.targets
    for _, r in t.iterrows():
        size = (
            f"N={r['n_params']:.3g}, D={r['tokens']:.3g}"
            if "n_params" in t
            else ", ".join(f"{c}={r[c]:.3g}" for c in res.loss_fit.columns_.values())
        )
        line = f"[bold]{escape(size)}[/]: loss {r['loss_pred']:.4f}"
        if "loss_lo" in t:
            line += f" [{r['loss_lo']:.4f}, {r['loss_hi']:.4f}]"
        line += f" (near-optimal fits {r['loss_spread_lo']:.4f}-{r['loss_spread_hi']:.4f})"
        if "loss_true" in t:
            line += f", true {r['loss_true']:.4f} ({r['loss_rel_error']:.2%} off)"
        line += f"; error {r['error_pred']:.4f}"
        if "error_lo" in t:
            line += f" [{r['error_lo']:.4f}, {r['error_hi']:.4f}]"
        if "error_true" in t:
            line += f", true {r['error_true']:.4f} ({r['error_rel_error']:.2%} off)"
        line += (
            f"; predicted from {compute_saving(r['compute_ratio_loss'], 'loss')} / "
            f"{compute_saving(r['compute_ratio_error'], 'error')}"
        )
        out.print(line, highlight=False)
    render_notes(res.notes)
    print_diagnostics(res.findings)  # both step fits' warnings and errors, named by step


def render_ladder(res: Any, tgt: dict[str, float], loss_col: str, acc_col: str) -> None:
    """A one-task ladder forecast: the chained prediction, the near-optimal spread, the
    bootstrap interval when there is one."""
    loss_col, acc_col = escape(loss_col), escape(acc_col)
    out.print(
        f"target N={tgt['n_params']:.4g}, D={tgt['tokens']:.4g}: {loss_col} "
        f"{res.loss_pred:.4f} -> {acc_col} {res.acc_pred:.4f}"
    )
    out.print(
        f"near-optimal step-1 fits: {loss_col} {res.loss_spread[0]:.4f}-"
        f"{res.loss_spread[1]:.4f}, {acc_col} {res.acc_spread[0]:.4f}-"
        f"{res.acc_spread[1]:.4f} ({res.n_near_optimal} fits)"
    )
    iv = ladder_interval_note(getattr(res, "interval", 0.9), getattr(res, "n_bootstrap", 0))
    for name, band in ((loss_col, res.loss_interval), (acc_col, res.acc_interval)):
        if not band:
            continue
        lo, hi = band
        if np.isfinite(lo) and np.isfinite(hi):
            out.print(f"{name} interval: {lo:.4f}-{hi:.4f} ({iv})", highlight=False)
        else:  # an exact step fit: no scatter and no draws to size it ("nan-nan" before)
            out.print(
                f"{name} interval: none (the fit reproduces its points exactly: nothing to "
                "size an interval from: no scatter, no spread of draws)",
                highlight=False,
            )
    render_notes(res.notes)
    print_diagnostics(res.findings)  # both step fits' warnings and errors, named by step


def ladder_interval_note(level: float, n_boot: int) -> str:
    """The ladder's intervals exist without a bootstrap too (the local scatter and the
    extrapolation term learned from folds); say which parts they rest on."""
    if n_boot:
        return f"{level:.0%} intervals from {n_boot} bootstrap resamples, scatter and folds"
    return f"{level:.0%} intervals from the scatter and leave-largest-out folds (no bootstrap)"


def render_pretrain_choice(res: Any) -> None:
    """A pretraining-data choice: the ranking per finetuning size, notes."""
    m = res.metric
    _table(
        res.ranking,
        f"forecast at {res.target_tokens:.3g} pretraining tokens ({m})",
        [
            "finetune_size",
            "pretrain_data",
            f"{m}_forecast",
            f"rank_{m}",
            "ce_forecast",
            "rank_ce",
            f"{m}_r2",
            f"{m}_max_drop",
            "ce_monotone",
            "misaligned",
        ],
    )
    for note in res.notes:
        out.print(f"note: {escape(note)}", highlight=False)


def render_method_choice(res: Any) -> None:
    """A method choice: the law used and why, per-method fits, crossings, the held-out check."""
    out.print(f"law: {escape(res.law_reason)}")
    _table(res.comparison, f"per-method fits ({res.law}) and held-out error of both laws")
    _table(
        res.crossings.drop(columns=["all_crossings"]),
        f"critical finetuning sizes (intervals: {res.interval_label()})",
    )
    if not res.heldout.empty:
        x_at = res.at[res.factor]
        _table(
            res.heldout,
            f"the decision held out: fitted without {res.factor}={x_at:g} "
            f"(intervals: {res.interval_label()})",
        )
    for note in res.notes:
        if not note.startswith("law: "):
            out.print(f"note: {escape(note)}", highlight=False)
    print_diagnostics(res.flags)


def render_factor_effects(res: Any, joint_out: str | None = None, n_boot: int = 0) -> None:
    """Factor effects: exponents per factor and method, one verdict per method."""
    _table(res.table, f"exponent per factor ({interval_note(res.interval, n_boot)})")
    for m, v in res.verdicts.items():
        out.print(f"{escape(m)}: {escape(v)}")
    if joint_out:
        out.print(f"wrote the finetune_joint columns to {escape(str(joint_out))}")
    print_diagnostics(res.flags)


def render_constant_exponent(res: Any, n_boot: int = 0) -> None:
    """The constant-exponent test: eta per token multiplier, a verdict per group."""
    ivs = interval_note(res.interval, n_boot)
    _table(res.table, f"compute exponent per token multiplier ({ivs})")
    for g, v in res.verdicts.items():
        out.print(f"{escape(g)}: {escape(v)}")
    print_diagnostics(res.flags)


def render_pet_size(res: Any, level: float, n_boot: int) -> None:
    """The PET-size recipe: every parameter with its interval and where it comes from."""
    _table(res.table, f"PET-size scaling of {res.pet} ({interval_note(level, n_boot)})")
    for note in res.notes:
        out.print(f"note: {escape(note)}", highlight=False)
    print_diagnostics([d for d in res.diagnostics if d.message not in res.notes])


def render_transfer(res: Any, by: str | None = None, forecasts: Any = None) -> None:
    """Effective data transferred: per-run D_E, the per-source comparison, notes, and the
    loss forecasts asked for with --predict-loss."""
    _table(res.runs, "finetuned runs: effective data from the from-scratch law")
    if forecasts is not None:
        _table(forecasts, "forecast loss: pretrained then finetuned vs from scratch at D_F")
    if not res.comparison.empty:
        ivs = interval_note(res.interval, res.n_bootstrap)
        _table(res.comparison, f"one transfer law per {by} ({ivs})")
    for note in res.notes:
        out.print(f"note: {escape(note)}", highlight=False)
    print_diagnostics(res.flags)


def _plan_cell(row: dict[str, Any], key: str) -> Any:
    """A plan value with its interval beside it: '7.319e+10 [5.368e+10, 1.042e+11]'."""
    v = row.get(key, float("nan"))
    lo, hi = row.get(f"{key}_lower"), row.get(f"{key}_upper")
    if lo is None or hi is None or not np.isfinite(v):
        return v
    b = [f"{x:.4g}" if np.isfinite(x) else ("inf" if x > 0 else "-") for x in (lo, hi)]
    return f"{v:.4g} [{b[0]}, {b[1]}]"


def render_plan(res: Any) -> None:
    """A training plan: one row per allocation with its intervals (level and resamples in
    the title), the fitted exponents with theirs."""
    keys = [
        k
        for k in dict.fromkeys(k for r in res.rows for k in r)
        if not k.endswith(("_lower", "_upper"))
    ]
    frame = pd.DataFrame([{k: _plan_cell(r, k) for k in keys} for r in res.rows])
    title = f"plans (in brackets: {res.interval_label})" if res.interval else "plans"
    _table(frame, title)
    ivs = res.exponent_intervals
    out.print(
        escape(
            ", ".join(
                f"{k} = {v:.4f}" + (f" [{ivs[k][0]:.4f}, {ivs[k][1]:.4f}]" if k in ivs else "")
                for k, v in res.exponents.items()
            )
        )
    )
    if res.interval_note:
        out.print(escape(f"intervals: {res.interval_note}"))
    print_diagnostics(res.diagnostics)


def render_task_selection(res: Any) -> None:
    """Task selection: per task, accuracy above chance at the reference rows, kept or not."""
    _table(res.tasks, f"tasks judged at {res.reference}")
    render_notes(res.notes)


def render_predictions(res: FitResult, rows: list[dict[str, Any]], level: float | None) -> None:
    """`predict`: one row per query point (inputs, prediction, interval when asked, how far
    beyond the fitted data), the interval's level and resamples in the title."""
    title = f"{res.law.name} predictions of {res.metric_}"
    if level is not None and res.bootstrap_ is not None:
        title += f" ({level:.0%} bootstrap interval, {res.bootstrap_.n_resamples} resamples)"
    t = Table(title=escape(title))
    cols = [c for c in rows[0] if c != "beyond_data"] + ["beyond data (orders of magnitude)"]
    for c in cols:
        t.add_column(escape(str(c)), justify="right")
    for r in rows:
        far = ", ".join(f"{k} {v:.1f}" for k, v in r["beyond_data"].items()) or "inside"
        t.add_row(*(f"{v:.6g}" for k, v in r.items() if k != "beyond_data"), escape(far))
    out.print(t)


def render_audit_run(run: Any, interval: float, n_boot: int, as_json: bool = False) -> None:
    """`audit`: the result as JSON (points, folds, summary and the N column used) or as the
    tables (held-out points, folds, laws, the error per factor of a joint finetuning law)."""
    if as_json:
        emit_json(run.to_dict())
        return
    render_audit(run.result, interval, n_boot)
    render_audit_factors(run.result, interval, n_boot)


def render_report_written(written: Any) -> None:
    """`report`: the file written, its size, how plotly.js is loaded and its sections."""
    out.print(
        f"report written to {written.path} ({written.size_bytes / 1e6:.2f} MB, plotly.js "
        f"{written.plotly}; sections: {', '.join(written.sections)})"
    )


def render_report_figures(written: Any) -> None:
    """`report --format png/svg/pdf`: how many figure files were written, and where."""
    if written.static_formats:
        out.print(
            f"{len(written.figure_files)} figure files ({', '.join(written.static_formats)}) "
            f"written to {written.figures_folder}"
        )


def render_ladder_run(run: Any, interval: float, n_boot: int, as_json: bool = False) -> None:
    """`ladder`: the result as JSON, or one task's chained prediction (after the notes on
    the checkpoints used and N), or the many-task table with the user's own column names."""
    if as_json:
        emit_json(run.to_dict())
        return
    if run.tasks is not None:
        render_task_table(
            run.tasks, ladder_interval_note(interval, n_boot), run.names, run.metric_label
        )
        render_many_warnings(run.tasks)
        return
    render_notes(run.notes)
    render_ladder(run.forecast, run.target, run.loss_col, run.acc_col)


def render_predict_resampled(n_boot: int) -> None:
    """`predict --bootstrap N`: say on stderr that the fit's rows were resampled now."""
    err.print(f"{n_boot} bootstrap resamples of the fit's rows run now (--bootstrap)")


def render_predict_run(run: Any, as_json: bool = False) -> None:
    """`predict`: the predictions as JSON (rows, interval, N column, notes, diagnostics) or
    as the table, then the notes and the diagnostics of the fit and of the points."""
    if as_json:
        emit_json(run.to_dict())
        return
    render_predictions(run.fit, run.rows, run.interval)
    render_notes(run.notes)
    print_diagnostics(run.diagnostics)


def render_forecast_run(run: Any, interval: float, n_boot: int, as_json: bool = False) -> None:
    """`forecast`: the result as JSON, or one task's line per target, or the many-task table
    with the user's own column names and each task's warnings."""
    if as_json:
        emit_json(run.to_dict())
        return
    if run.tasks is not None:
        render_task_table(run.tasks, interval_note(interval, n_boot), run.names, run.metric_label)
        render_many_warnings(run.tasks)
        return
    render_forecast(run.forecast)


def fit_json(res: FitResult) -> dict[str, Any]:
    """`fit --json`: the fit's estimates, quality and findings as one JSON object."""
    return {
        "law": res.law.name,
        "params": res.params_,
        "fixed": res.law.fixed_values,
        "objective": res.objective_,
        "n_points": res.n_points_,
        "converged": res.converged_,
        "clean": res.clean_,
        "stop_reason": res.stop_reason_,
        "dof": res.dof_,
        "aic": res.aic_,
        "bic": res.bic_,
        "diagnostics": [d.to_dict() for d in res.diagnostics_],
        "warnings": res.warnings_,
        "at_bounds": res.at_bounds_,
        "metric": res.metric_,
        "columns": res.columns_,
        "fit_time_s": res.fit_time_s_,
    }


def intervals_json(res: FitResult, level: float) -> dict[str, Any]:
    """`fit --bootstrap --json`: the parameters' bootstrap intervals at `level`."""
    b = res.bootstrap_
    # the command adds intervals only to a fit it bootstrapped (`res.bootstrap_` is set)
    assert b is not None, "intervals are reported for a bootstrapped fit only"
    iv = res.intervals(level)
    return {
        "level": level,
        "n_resamples": b.n_resamples,
        "n_usable": int(b.usable.sum()),
        "method": b.method,
        "group_by": b.group_by,
        "time_s": b.time_s,
        "params": {
            name: {"lower": row.lower, "upper": row.upper, "se": row.se}
            for name, row in iv.iterrows()
        },
    }
