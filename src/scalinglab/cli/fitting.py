"""`laws`, `fit`, `predict`, `audit`: fitting laws and checking them on held-out runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.table import Table

from ..errors import DataError
from ..fitting import FitResult, fit
from ..fitting.predict_inputs import checked_predict
from ..fitting.presets import apply_preset
from ..io import read_table
from ..io.safe_write import atomic_write
from ..laws import CATALOG, expression_law, get_law
from ..laws.expression import parse_param_option
from ..query import column_expression, is_expression
from ..schema import parse_number
from .common import (
    FORCE_HELP,
    LEVEL,
    _parse_grids,
    _parse_numbers,
    _parse_pairs,
    checkpoint_options,
    emit_json,
    err,
    expression_law_options,
    handle_errors,
    main,
    out,
    output_path,
    preset_option,
    print_diagnostics,
    progress_bar,
    refit_bootstrap_option,
)
from .n_choice import (
    check_no_map_conflict,
    choose_n,
    fit_n_column,
    n_phrase,
    params_col_option,
    replace_n,
)
from .render import (
    render_audit,
    render_audit_factors,
    render_fit,
    render_intervals,
    render_notes,
    render_predictions,
)


@main.command("laws")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def laws_cmd(as_json: bool) -> None:
    """List the law catalog with formulas and citations.

    \b
    Example:
      scalinglab laws
      scalinglab laws --json
    """
    if as_json:
        emit_json(
            [
                {
                    "name": law.name,
                    "metric": law.metric,
                    "variables": list(law.variables),
                    "formula": law.formula_text,
                    "space": law.space,
                    "citation": law.citation,
                    "parameters": [p.to_dict() for p in law.parameters],
                }
                for law in CATALOG.values()
            ]
        )
        return
    t = Table(title="scalinglab law catalog", show_lines=True)
    for c in ("name", "formula", "variables", "fit space", "citation"):
        t.add_column(c, overflow="fold")
    for law in CATALOG.values():
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


def _build_law(
    law: str | None,
    expr: str | None,
    params: tuple[str, ...],
    metric: str | None,
    space: str | None,
):
    if expr:
        specs = dict(parse_param_option(p) for p in params)
        return expression_law(expr, specs, metric=metric or "y", space=space or "log")
    if params:
        raise DataError(
            "--param is for expression laws (--expr); catalog laws carry their "
            "own bounds and grids (use --grid NAME=v1,v2,... to change a grid)"
        )
    from dataclasses import replace

    base = get_law(law or "chinchilla")
    return replace(base, space=space) if space else base


def _fit_json(res: FitResult) -> dict[str, Any]:
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


def _intervals_json(res: FitResult, level: float) -> dict[str, Any]:
    b = res.bootstrap_
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


@main.command("fit")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--law", "law_name", default=None, help="Catalog law (see `scalinglab laws`).")
@click.option("--expr", default=None, help="Your own law, e.g. 'E + A/tokens**alpha'.")
@click.option(
    "--param",
    "params",
    multiple=True,
    help="For --expr: NAME=LOWER:UPPER[:g1,g2,...][:log] (repeat).",
)
@click.option("--metric", default=None, help="Column to fit (default: the law's metric).")
@click.option("--map", "maps", multiple=True, help="VAR=COLUMN: law variable from a column.")
@click.option(
    "--where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10') selecting the rows to fit.",
)
@params_col_option
@click.option("--delta", default=1e-3, show_default=True, type=float, help="Huber delta.")
@click.option("--weights", default=None, help="Column of per-point weights.")
@click.option("--grid", "grids", multiple=True, help="NAME=v1,v2,...: replace a start grid.")
@click.option(
    "--random-starts", default=0, show_default=True, type=int, help="Extra uniformly drawn starts."
)
@click.option(
    "--strategy",
    type=click.Choice(["screen", "full"]),
    default="screen",
    show_default=True,
    help="screen: fast staged search; full: optimise every start.",
)
@click.option(
    "--space",
    type=click.Choice(["log", "identity"]),
    default=None,
    help="Override the residual space.",
)
@click.option(
    "--out",
    "out_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the fit to FIT.json (for `scalinglab predict`).",
)
@click.option(
    "--starts",
    "starts_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write every start's end point and objective to a CSV.",
)
@click.option(
    "--fix",
    "fixes",
    multiple=True,
    metavar="NAME=VALUE",
    help="Hold a parameter at a value (lmfit's vary=False), e.g. --fix beta=0.12; repeatable. "
    "Fixed parameters are not fitted and are reported as fixed.",
)
@preset_option
@click.option(
    "--bootstrap",
    "n_boot",
    default=0,
    show_default=True,
    type=int,
    help="Bootstrap resamples for parameter intervals (0: none).",
)
@click.option("--group-by", default=None, help="Bootstrap: resample whole groups of this column.")
@click.option(
    "--bootstrap-method",
    type=click.Choice(["warm", "grid"]),
    default="warm",
    show_default=True,
    help="grid: re-run the full multi-start search per resample.",
)
@click.option(
    "--interval", default=0.95, show_default=True, type=LEVEL, help="Bootstrap interval level."
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed (starts, resamples)."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@click.option("--force", is_flag=True, help=FORCE_HELP)
@handle_errors
def fit_cmd(
    data,
    law_name,
    expr,
    params,
    metric,
    maps,
    where,
    params_col,
    delta,
    weights,
    grids,
    random_starts,
    strategy,
    space,
    out_path,
    starts_path,
    fixes,
    preset,
    n_boot,
    group_by,
    bootstrap_method,
    interval,
    seed,
    quiet,
    as_json,
    force,
) -> None:
    """Fit a law to DATA (CSV, TSV, Parquet or JSONL).

    \b
    Examples:
      scalinglab fit runs.csv --law chinchilla --where "tokens >= 1e8" --out fit.json
      scalinglab fit runs.csv --law chinchilla --fix beta=0.28 --fix E=1.69
      scalinglab fit runs.csv --expr "E + A/tokens**alpha" --param E=0:inf \\
          --param A=0:inf --param alpha=0:3 --metric loss
    """
    output_path(out_path, inputs=[data], force=force, what="--out file")
    output_path(starts_path, inputs=[data, out_path], force=force, what="--starts file")
    if out_path and starts_path and Path(out_path).absolute() == Path(starts_path).absolute():
        raise DataError("--out and --starts name the same file")
    if law_name and expr:
        raise DataError("give either --law or --expr, not both")
    if group_by and not n_boot:
        raise DataError("--group-by applies to the bootstrap: add --bootstrap N")
    law = _build_law(law_name, expr, params, metric, space)
    if fixes:
        law = law.fix(**_parse_numbers(fixes, "--fix"))
    law, preset_kw = apply_preset(law, preset)
    delta = preset_kw.get("delta", delta)
    from ..workflows.checkpoints import load

    mapping = _parse_pairs(maps, "--map")
    check_no_map_conflict(params_col, mapping)
    table = load(data, where)  # --where first; fit then checks only the columns it uses
    mapping, n_col, n_notes = choose_n(table, params_col, law.variables, mapping)
    res = fit(
        table,
        law,
        metric=metric,
        mapping=mapping,
        delta=delta,
        weights=weights,
        grid=_parse_grids(grids),
        n_random_starts=random_starts,
        strategy=strategy,
        seed=seed,
    )
    if n_boot:
        groups, run_note = _bootstrap_groups(res, group_by)
        n_notes += run_note
        with progress_bar(n_boot, "bootstrap", quiet or as_json) as advance:
            res.bootstrap(
                n_boot, group_by=groups, method=bootstrap_method, seed=seed, progress=advance
            )
    if out_path:
        res.to_json(out_path)
    if starts_path:
        with atomic_write(starts_path, newline="") as fh:
            res.starts_.to_csv(fh, index=False)
    if as_json:
        obj = _fit_json(res)
        obj["n_params_col"] = n_col
        obj["notes"] = n_notes
        if res.bootstrap_ is not None:
            obj["intervals"] = _intervals_json(res, interval)
        emit_json(obj)
        return
    render_fit(res)
    render_notes(n_notes)
    if res.bootstrap_ is not None:
        render_intervals(res, interval)
    if out_path:
        out.print(f"fit written to {out_path}")


def _bootstrap_groups(res: FitResult, group_by: str | None) -> tuple[Any, list[str]]:
    """What the bootstrap resamples: --group-by, else whole runs when the fitted rows are
    checkpoints of runs (issue 15 item 4: resampling a run's checkpoints as independent
    points made its intervals too narrow), else rows."""
    from ..workflows.checkpoints import describe_runs, run_ids

    frame = res.frame_
    if group_by or frame is None or len(frame) != res.n_points_:
        return group_by, []
    runs = run_ids(frame)
    if runs is None or not runs.duplicated().any():
        return None, []
    labels = pd.Series(runs.to_numpy(), name="run")
    return labels, [
        f"the bootstrap resamples whole runs ({describe_runs(frame, runs)}; --group-by picks "
        "another grouping)"
    ]


def _check_set_names(res: FitResult, pairs: dict[str, str]) -> None:
    """A --set name the law cannot use was ignored (`--set zz=1`); now it is an error naming
    what the law takes. Allowed: its variables, their columns (and aliases), what the
    schema derives them from (n_params, tokens, flops), names inside a --map transform."""
    import re

    from ..schema import canonical_name

    cols = [res.columns_.get(v, v) for v in res.law.variables]
    allowed = {*res.law.variables, *cols, "n_params", "tokens", "flops", "tokens_per_param"}
    for c in cols:
        allowed.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", c))
    unknown = [k for k in pairs if k not in allowed and canonical_name(k) not in allowed]
    if unknown:
        raise DataError(
            f"--set {', '.join(unknown)}: law '{res.law.name}' does not use "
            f"{'it' if len(unknown) == 1 else 'them'}; it takes {', '.join(dict.fromkeys(cols))}"
        )


def _predict_n(res: FitResult, df: pd.DataFrame, table: bool) -> tuple[pd.DataFrame, list[str]]:
    """Say which parameter count the fit's N is, and read the same one: a fit on
    n_params_nonembedding given an --at table with only n_params would have read the total
    count as N without a word; now that is an error. A --set n_params=V is N itself."""
    col = fit_n_column(res.columns_, res.law.variables)
    if col is None:
        return df, []
    note = f"N is the fit's {n_phrase(col)} column"
    if col == "n_params" or col in df.columns:
        return df, [note]
    if "n_params" not in df.columns:
        return df, [note]  # the prediction names the missing column
    if table:
        raise DataError(
            f"the fit's N is {n_phrase(col)}, and the --at table has only n_params: add a "
            f"'{col}' column (or refit with the count this table holds)",
            column=col,
        )
    df = df.assign(**{col: df["n_params"]})
    return df, [f"{note}: --set n_params is read as {col}"]


@main.command("predict")
@click.argument("fit_json", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--at",
    "at_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Table of points to predict at.",
)
@click.option("--set", "sets", multiple=True, help="VAR=VALUE (repeat, or comma-separate).")
@click.option(
    "--interval",
    type=LEVEL,
    default=None,
    help="Interval level (default 0.9 whenever the fit file holds bootstrap draws, from "
    "`fit --bootstrap N --out FIT.json`, or with --bootstrap).",
)
@refit_bootstrap_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON to stdout.")
@handle_errors
def predict_cmd(fit_json, at_path, sets, interval, n_boot, as_json) -> None:
    """Predict with a saved fit at new points; says how far each point lies beyond the data.

    \b
    Example:
      scalinglab predict fit.json --set n_params=70B --set tokens=1.4T --interval 0.9
    """
    res = FitResult.from_json(fit_json)
    if bool(at_path) == bool(sets):
        raise DataError("give exactly one of --at DATA or --set VAR=VALUE ...")
    if at_path:
        df = read_table(at_path)
    else:
        pairs = _parse_pairs(sets, "--set")
        _check_set_names(res, pairs)
        try:
            df = pd.DataFrame({k: [parse_number(v)] for k, v in pairs.items()})
        except ValueError as exc:
            raise DataError(f"--set: {exc}") from None
        from ..schema import add_derived, canonicalise

        df = add_derived(canonicalise(df))
    if interval is not None and not (0 < interval < 1):
        raise DataError(f"--interval must be between 0 and 1 (e.g. 0.9), got {interval}")
    if n_boot:
        if res.data_ is None:
            raise DataError(f"{fit_json} holds no data to resample: refit with --bootstrap N")
        res.bootstrap(n_boot)
        err.print(f"{n_boot} bootstrap resamples of the fit's rows run now (--bootstrap)")
    if interval is None and res.bootstrap_ is not None and not res.exact_fit_:
        interval = 0.9  # the draws are there: use them (issue 23 item 1)
    if interval is not None and res.bootstrap_ is None:
        raise DataError(
            f"{fit_json} holds no bootstrap, so no interval: refit with "
            "`scalinglab fit ... --bootstrap 1000 --out FIT.json`"
        )
    df, n_notes = _predict_n(res, df, bool(at_path))
    for v in res.law.variables:  # a --map transform (log10(flops)) as its own column
        c = res.columns_.get(v, v)
        if c not in df.columns and v not in df.columns and is_expression(c):
            df[c] = column_expression(df, c, f"--map {v}=")
    band = res.predict(df, interval=interval) if interval is not None else None
    pred = checked_predict(res, df)  # inputs checked as fit checks them
    diags = list(res.check_inputs(df))
    if band is not None and res.exact_fit_:
        band[["lower", "upper"]] = float("nan")
    ext = res.extrapolation(df)
    inputs = [res.columns_.get(v, v) for v in res.law.variables]
    rows = []
    for i in range(len(pred)):
        row = {}
        for v, c in zip(res.law.variables, inputs, strict=True):
            key = c if c in df.columns else v
            row[key] = float(df[key].iloc[i]) if len(df) > 1 else float(df[key].iloc[0])
        row["prediction"] = float(pred[i])
        if band is not None:
            row["lower"], row["upper"] = float(band["lower"][i]), float(band["upper"][i])
        row["beyond_data"] = {
            v: round(float(ext[v].iloc[i]), 3) for v in ext.columns if ext[v].iloc[i] > 0
        }
        rows.append(row)
    fit_diags = [d for d in res.diagnostics_ if d.severity != "info"]
    if as_json:
        obj: dict[str, Any] = {"law": res.law.name, "metric": res.metric_, "predictions": rows}
        obj["n_params_col"] = fit_n_column(res.columns_, res.law.variables)
        obj["notes"] = n_notes
        if band is not None:
            obj["interval"] = {
                "level": interval,
                "kind": "confidence (bootstrap of the fit's parameters)",
                "n_resamples": int(band.attrs["n_resamples"]),  # the usable draws
            }
        obj["diagnostics"] = [d.to_dict() for d in fit_diags + diags]
        emit_json(obj)
        return
    render_predictions(res, rows, interval if band is not None else None)
    render_notes(n_notes)
    print_diagnostics(fit_diags + diags)


def _audit_laws(
    law_names: tuple[str, ...],
    expr: str | None,
    params: tuple[str, ...],
    fixes: tuple[str, ...],
    metric: str | None,
) -> list[Any]:
    """The laws of an audit: catalog names, an expression law, each with --fix applied
    where it has the parameter (a --fix no law has is an error, not ignored)."""
    if not law_names and not expr:
        raise DataError("give at least one --law NAME or an --expr EXPRESSION to audit")
    if params and not expr:
        raise DataError("--param gives the bounds of an --expr law; add --expr")
    laws: list[Any] = [get_law(n) for n in law_names]
    if expr:
        laws.append(_build_law(None, expr, params, metric, None))
    if fixes:
        values = _parse_numbers(fixes, "--fix")
        unused = [n for n in values if not any(n in lw.param_names for lw in laws)]
        if unused:
            raise DataError(
                f"--fix {', '.join(unused)}: no audited law has such a parameter "
                f"({'; '.join(f'{lw.name}: ' + ', '.join(lw.param_names) for lw in laws)})"
            )
        laws = [
            lw.fix(**{k: v for k, v in values.items() if k in lw.param_names})
            if any(k in lw.param_names for k in values)
            else lw
            for lw in laws
        ]
    return laws


def _points_with_runs(
    points: pd.DataFrame, data: pd.DataFrame, run_col: str | None
) -> pd.DataFrame:
    """The held-out points with the run (and checkpoint step) of each row beside its row
    number, as the report's table has them: a row number alone sends the user to the file."""
    from ..workflows.checkpoints import run_ids

    if "row" not in points.columns or "run" in points.columns or points.empty:
        return points
    runs = run_ids(data, run_col)
    if runs is None:
        named = next((c for c in ("model", "name", "model_id") if c in data.columns), None)
        if named is None:
            return points
        runs = data[named].astype(str)
    rows = pd.Index(points["row"].to_numpy()) - 1
    out = points.copy()
    at = list(out.columns).index("row") + 1
    out.insert(at, "run", runs.reindex(rows).to_numpy())
    if "step" in data.columns and "step" not in out.columns:
        step = pd.to_numeric(data["step"].reindex(rows), errors="coerce")
        whole = step.dropna().apply(float.is_integer).all()
        out.insert(at + 1, "step", (step.astype("Int64") if whole else step).to_numpy())
    return out


@main.command("audit")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--law",
    "law_names",
    multiple=True,
    help="Catalog law(s) to audit on the same splits (repeat to compare).",
)
@expression_law_options(
    "Hold a parameter at a value in every audited law that has it (repeatable)."
)
@click.option(
    "--holdout",
    "holdout_q",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10') of the held-out rows.",
)
@click.option(
    "--leave-largest-out",
    "axis",
    default=None,
    help="Fit on the smallest scales of this column, predict the larger ones.",
)
@click.option(
    "--leave-one-group-out",
    "group",
    default=None,
    help="Fit on all groups of this column but one, predict that one.",
)
@click.option(
    "--largest-per-factor",
    "per_factor",
    is_flag=True,
    help="A joint finetuning law (finetune_joint): hold out each factor's largest value "
    "(model size, pretraining data, PET size) and report the error per factor (Zhang et al.'s "
    "Table 2). Takes the finetune_joint table or the factor-tagged one; --by method for one "
    "fit per method.",
)
@click.option(
    "--where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): rows to use at all "
    "(fitted and held out).",
)
@click.option(
    "--fit-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10') restricting the fit set.",
)
@click.option("--by", default=None, help="Run the audit separately per value of this column.")
@click.option(
    "--task-col",
    default=None,
    help="A long table's task column: the same audit per task, one table (any mode).",
)
@click.option("--tasks", default=None, help="With --task-col: the tasks to audit (a,b,c).")
@click.option(
    "--run-col",
    default=None,
    help="Column naming each run [default: run, else model]: folds hold out whole runs.",
)
@checkpoint_options
@params_col_option
@preset_option
@click.option("--metric", default=None, help="Column to fit and score.")
@click.option("--map", "maps", multiple=True, help="VAR=COLUMN: law variable from a column.")
@click.option(
    "--interval",
    default=0.9,
    show_default=True,
    type=LEVEL,
    help="Level of the prediction intervals whose coverage is reported.",
)
@click.option(
    "--bootstrap",
    "n_boot",
    default=1000,
    show_default=True,
    type=int,
    help="Resamples for the intervals (0: none).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed (starts, resamples)."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (points and summary).")
@handle_errors
def audit_cmd(
    data,
    law_names,
    expr,
    params,
    fixes,
    holdout_q,
    axis,
    group,
    per_factor,
    where,
    fit_where,
    by,
    task_col,
    tasks,
    run_col,
    final_only,
    min_tokens,
    min_step,
    params_col,
    preset,
    metric,
    maps,
    interval,
    n_boot,
    seed,
    quiet,
    as_json,
) -> None:
    """Held-out validation and extrapolation audits of one or more laws.

    Runs with several checkpoints: a held-out run is held out with all its checkpoints, the
    bootstrap resamples runs and compute ratios count each run once (its largest checkpoint).

    Relative errors are printed in percent; coverage is the share of held-out points inside
    their --interval prediction interval, built from --bootstrap resamples.

    \b
    Examples:
      scalinglab audit runs.csv --law chinchilla --law kaplan --holdout "n_params > 1e9"
      scalinglab audit runs.csv --law chinchilla --leave-largest-out n_params
      scalinglab audit finetune.csv --law finetune_joint --largest-per-factor --by method
    """
    from ..workflows import audit
    from ..workflows.checkpoints import user_column

    # --where first, before any check (e.g. leave out optimisation transients from both
    # sides of every fold); then only the columns the audit uses are validated
    data = audit.load(data, where)
    if metric:
        metric = user_column(data, metric, "--metric")
    if axis:
        axis = user_column(data, axis, "--leave-largest-out")
    if group:
        group = user_column(data, group, "--leave-one-group-out")
    modes = [m for m in (holdout_q, axis, group, per_factor) if m]
    if len(modes) != 1:
        raise DataError(
            "give exactly one of --holdout QUERY, --leave-largest-out COL, "
            "--leave-one-group-out COL, --largest-per-factor"
        )
    if n_boot < 0:
        raise DataError(f"--bootstrap must be >= 0, got {n_boot}")
    if per_factor and fit_where:
        raise DataError(
            "--fit-where is not used by --largest-per-factor (its fit set is every run below "
            "each factor's largest value); use --where"
        )
    kw = dict(
        preset=preset,
        interval=interval,
        n_bootstrap=n_boot,
        seed=seed,
        metric=metric,
        mapping=_parse_pairs(maps, "--map"),
        run_col=run_col,
        final_only=final_only,
        min_tokens=min_tokens,
        min_step=min_step,
    )
    laws = _audit_laws(law_names, expr, params, fixes, metric)
    check_no_map_conflict(params_col, kw["mapping"])
    variables = [v for lw in laws for v in lw.variables if v not in kw["mapping"]]
    data, n_col, n_notes = replace_n(data, params_col, variables)
    with progress_bar(None, "audit folds", quiet or as_json) as advance:
        kw["progress"] = advance
        if task_col:
            if by:
                raise DataError("give --task-col or --by, not both")
            mode = (
                {"holdout": holdout_q, "fit_where": fit_where}
                if holdout_q
                else {"leave_largest_out": axis, "fit_where": fit_where}
                if axis
                else {"largest_per_factor": True}
                if per_factor
                else {"leave_one_group_out": group}
            )
            task_list = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
            res = audit.audit(data, laws, task_col=task_col, tasks=task_list, **mode, **kw)
        elif tasks:
            raise DataError("--tasks selects values of --task-col; give it too")
        elif holdout_q:
            res = audit.holdout(data, laws, holdout_q, fit_where=fit_where, by=by, **kw)
        elif axis:
            if by:
                raise DataError("--by is for --holdout and --largest-per-factor audits")
            res = audit.leave_largest_out(data, laws, axis, fit_where=fit_where, **kw)
        elif per_factor:
            res = audit.largest_per_factor(data, laws, by=by, **kw)
        else:
            res = audit.leave_one_group_out(data, laws, group, **kw)
    res.points = _points_with_runs(res.points, data, run_col)
    res.notes = [*res.notes, *n_notes]
    if as_json:
        emit_json({**res.to_dict(), "n_params_col": n_col})
        return
    render_audit(res, interval, n_boot)
    render_audit_factors(res, interval, n_boot)
