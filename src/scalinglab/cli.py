"""Command line: `scalinglab laws | fit | predict | demo`.

Thin by design: parse options, call the API, render. The JSON shapes printed with --json
are a contract other tools script against.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import DataError, ScalingLabError
from .fit import FitResult, fit
from .fit.presets import PRESETS, apply_preset
from .io import read_table
from .laws import CATALOG, expression_law, get_law
from .laws.expression import parse_param_option
from .schema import parse_number

# Piped output keeps whole numbers: rich would otherwise squeeze tables to 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _clean(o: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(_clean(obj), default=_json_default, indent=2))


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Named scalinglab errors become one clear line on stderr and exit status 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ScalingLabError as exc:
            err.print(
                f"[bold red]error[/] ({type(exc).__name__}): {exc}", markup=True, highlight=False
            )
            sys.exit(2)

    return wrapper


def _parse_pairs(items: tuple[str, ...], what: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise DataError(f"{what} {part!r}: expected NAME=VALUE")
            k, v = part.split("=", 1)
            pairs[k.strip()] = v.strip()
    return pairs


def _parse_grids(grids: tuple[str, ...]) -> dict[str, list[float]] | None:
    """--grid NAME=v1,v2,... (repeatable) -> {NAME: [v1, v2, ...]}."""
    out_grid: dict[str, list[float]] = {}
    for g in grids:
        if "=" not in g:
            raise DataError(f"--grid {g!r}: expected NAME=v1,v2,...")
        name, values = g.split("=", 1)
        try:
            out_grid[name.strip()] = [parse_number(v) for v in values.split(",") if v.strip()]
        except ValueError as exc:
            raise DataError(f"--grid {g!r}: {exc}") from None
    return out_grid or None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scalinglab")
def main() -> None:
    """Forecast downstream LLM performance from small runs (scaling laws)."""


@main.command("laws")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def laws_cmd(as_json: bool) -> None:
    """List the law catalog with formulas and citations."""
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
        "objective": res.objective_,
        "n_points": res.n_points_,
        "converged": res.converged_,
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


def print_intervals(res: FitResult, level: float) -> None:
    b = res.bootstrap_
    iv = res.intervals(level)
    t = Table(
        title=f"{level:.0%} bootstrap intervals ({b.n_resamples} resamples, {b.method}"
        + (f", by {b.group_by}" if b.group_by else "")
        + f", {b.time_s:.2f} s)"
    )
    for c in ("parameter", "estimate", "lower", "upper", "se"):
        t.add_column(c, justify="right")
    for name, row in iv.iterrows():
        t.add_row(name, *(f"{v:.6g}" for v in (row.estimate, row.lower, row.upper, row.se)))
    out.print(t)
    dropped = b.n_resamples - int(b.usable.sum())
    if dropped:
        err.print(
            f"[yellow]warning[/]: {dropped} resamples did not converge and are left out "
            "of the intervals"
        )


@contextmanager
def progress_bar(total: int, label: str, quiet: bool):
    """A rich progress bar on a terminal; nothing when quiet or not a TTY."""
    if quiet or not sys.stderr.isatty() or (total is not None and total <= 0):
        yield None
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as prog:
        task = prog.add_task(label, total=total)
        yield lambda k=1: prog.advance(task, k)


def print_fit(res: FitResult) -> None:
    t = Table(title=f"{res.law.name}: {res.metric_} = {res.law.formula_text}")
    t.add_column("parameter")
    t.add_column("value", justify="right")
    t.add_column("bounds")
    t.add_column("note")
    for p in res.law.parameters:
        t.add_row(
            p.name,
            f"{res.params_[p.name]:.6g}",
            f"[{p.lower:g}, {p.upper:g}]",
            "[red]at bound[/]" if p.name in res.at_bounds_ else "",
        )
    out.print(t)
    st = res.starts_["status"].value_counts().to_dict()
    out.print(
        f"{res.n_points_} points | objective {res.objective_:.12g} (Huber delta={res.delta_:g}, "
        f"{res.law.space} space) | converged: "
        + ("[green]yes[/]" if res.converged_ else "[bold red]NO[/]")
        + f" | {len(res.starts_)} starts ({', '.join(f'{v} {k}' for k, v in st.items())}) "
        f"in {res.fit_time_s_ * 1e3:.0f} ms"
    )
    for w in res.warnings_:
        err.print(f"[bold yellow]warning[/]: {w}", highlight=False)


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
@click.option("--where", default=None, help="Pandas query selecting the rows to fit.")
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
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default=None,
    help="paper: least squares on raw values (Gadre et al.'s code).",
)
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
    "--interval", default=0.95, show_default=True, type=float, help="Bootstrap interval level."
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def fit_cmd(
    data,
    law_name,
    expr,
    params,
    metric,
    maps,
    where,
    delta,
    weights,
    grids,
    random_starts,
    strategy,
    space,
    out_path,
    starts_path,
    preset,
    n_boot,
    group_by,
    bootstrap_method,
    interval,
    seed,
    quiet,
    as_json,
) -> None:
    """Fit a law to DATA (CSV, TSV, Parquet or JSONL)."""
    if law_name and expr:
        raise DataError("give either --law or --expr, not both")
    if group_by and not n_boot:
        raise DataError("--group-by applies to the bootstrap: add --bootstrap N")
    law = _build_law(law_name, expr, params, metric, space)
    law, preset_kw = apply_preset(law, preset)
    delta = preset_kw.get("delta", delta)
    res = fit(
        data,
        law,
        metric=metric,
        mapping=_parse_pairs(maps, "--map"),
        where=where,
        delta=delta,
        weights=weights,
        grid=_parse_grids(grids),
        n_random_starts=random_starts,
        strategy=strategy,
        seed=seed,
    )
    if n_boot:
        with progress_bar(n_boot, "bootstrap", quiet or as_json) as advance:
            res.bootstrap(
                n_boot, group_by=group_by, method=bootstrap_method, seed=seed, progress=advance
            )
    if out_path:
        res.to_json(out_path)
    if starts_path:
        res.starts_.to_csv(starts_path, index=False)
    if as_json:
        obj = _fit_json(res)
        if res.bootstrap_ is not None:
            obj["intervals"] = _intervals_json(res, interval)
        emit_json(obj)
        return
    print_fit(res)
    if res.bootstrap_ is not None:
        print_intervals(res, interval)
    if out_path:
        out.print(f"fit written to {out_path}")


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
@click.option("--json", "as_json", is_flag=True, help="Print JSON to stdout.")
@handle_errors
def predict_cmd(fit_json, at_path, sets, as_json) -> None:
    """Predict with a saved fit at new points."""
    res = FitResult.from_json(fit_json)
    if bool(at_path) == bool(sets):
        raise DataError("give exactly one of --at DATA or --set VAR=VALUE ...")
    if at_path:
        df = read_table(at_path)
    else:
        pairs = _parse_pairs(sets, "--set")
        try:
            df = pd.DataFrame({k: [parse_number(v)] for k, v in pairs.items()})
        except ValueError as exc:
            raise DataError(f"--set: {exc}") from None
        from .schema import add_derived, canonicalise

        df = add_derived(canonicalise(df))
    pred = res.predict(df)
    inputs = [res.columns_.get(v, v) for v in res.law.variables]
    rows = []
    for i in range(len(pred)):
        row = {}
        for v, c in zip(res.law.variables, inputs, strict=True):
            key = c if c in df.columns else v
            row[key] = float(df[key].iloc[i]) if len(df) > 1 else float(df[key].iloc[0])
        row["prediction"] = float(pred[i])
        rows.append(row)
    if as_json:
        emit_json({"law": res.law.name, "metric": res.metric_, "predictions": rows})
        return
    t = Table(title=f"{res.law.name} predictions of {res.metric_}")
    for c in rows[0]:
        t.add_column(c, justify="right")
    for r in rows:
        t.add_row(*(f"{v:.6g}" for v in r.values()))
    out.print(t)


@main.command("audit")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--law",
    "law_names",
    multiple=True,
    required=True,
    help="Law(s) to audit on the same splits (repeat to compare).",
)
@click.option("--holdout", "holdout_q", default=None, help="Pandas query of the held-out rows.")
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
@click.option("--fit-where", default=None, help="Pandas query restricting the fit set.")
@click.option("--by", default=None, help="Run the audit separately per value of this column.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None)
@click.option("--metric", default=None, help="Column to fit and score.")
@click.option("--map", "maps", multiple=True, help="VAR=COLUMN: law variable from a column.")
@click.option("--interval", default=0.9, show_default=True, type=float)
@click.option(
    "--bootstrap",
    "n_boot",
    default=1000,
    show_default=True,
    type=int,
    help="Resamples for the intervals (0: none).",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (points and summary).")
@handle_errors
def audit_cmd(
    data,
    law_names,
    holdout_q,
    axis,
    group,
    fit_where,
    by,
    preset,
    metric,
    maps,
    interval,
    n_boot,
    seed,
    quiet,
    as_json,
) -> None:
    """Held-out validation and extrapolation audits of one or more laws."""
    from .workflows import audit

    modes = [m for m in (holdout_q, axis, group) if m]
    if len(modes) != 1:
        raise DataError(
            "give exactly one of --holdout QUERY, --leave-largest-out COL, "
            "--leave-one-group-out COL"
        )
    if n_boot < 0:
        raise DataError(f"--bootstrap must be >= 0, got {n_boot}")
    kw = dict(
        preset=preset,
        interval=interval,
        n_bootstrap=n_boot,
        seed=seed,
        metric=metric,
        mapping=_parse_pairs(maps, "--map"),
    )
    laws = list(law_names)
    with progress_bar(None, "audit folds", quiet or as_json) as advance:
        kw["progress"] = advance
        if holdout_q:
            res = audit.holdout(data, laws, holdout_q, fit_where=fit_where, by=by, **kw)
        elif axis:
            if by:
                raise DataError("--by is for --holdout audits")
            res = audit.leave_largest_out(data, laws, axis, fit_where=fit_where, **kw)
        else:
            res = audit.leave_one_group_out(data, laws, group, **kw)
    if as_json:
        emit_json(res.to_dict())
        return
    pts = res.points
    t = Table(title=f"held-out points ({res.kind})")
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
    for c in show:
        t.add_column(c, justify="right")
    for _, r in pts.head(60).iterrows():
        t.add_row(*(_fmt(r[c], c) for c in show))
    out.print(t)
    if len(pts) > 60:
        out.print(f"... {len(pts) - 60} more points (use --json for all)")
    t = Table(title="summary per fold")
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
    for c in cols:
        t.add_column(c, justify="right")
    for _, r in res.summary.iterrows():
        t.add_row(*(_fmt(r[c], c) for c in cols))
    out.print(t)
    bl = res.by_law()
    t = Table(title="held-out error by law")
    for c in ["law", *bl.columns]:
        t.add_column(c, justify="right")
    for name, r in bl.iterrows():
        t.add_row(str(name), *(_fmt(r[c], c) for c in bl.columns))
    out.print(t)
    for _, r in res.summary.iterrows():
        if np.isfinite(r["compute_ratio_max"]):
            out.print(
                f"{r['fold']} / {r['law']}: predicted from "
                f"{r['compute_ratio_max']:.0f}x less compute than the largest target"
            )


def _fmt(v: Any, col: str) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "-"
        if col in ("rel_error", "mean_rel_error", "max_rel_error", "coverage"):
            return f"{v:.2%}"
        if col == "compute_ratio" or col == "compute_ratio_max":
            return f"{v:.0f}x"
        return f"{v:.5g}"
    return str(v)


@main.command("inspect")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--no-outliers", is_flag=True, help="Skip the outlier fit.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def inspect_cmd(data, no_outliers, as_json) -> None:
    """What scalinglab recognised in DATA and which laws it can feed."""
    from .inspect import inspect_table

    rep = inspect_table(read_table(data), outliers=not no_outliers)
    if as_json:
        emit_json(rep)
        return
    out.print(f"[bold]{rep['source']}[/]: {rep['rows']} rows, {len(rep['columns'])} columns")
    t = Table(title="columns")
    for c in ("column", "from", "role", "unit", "missing"):
        t.add_column(c)
    for c in rep["columns"]:
        if c["role"] == "other" and len(rep["columns"]) > 30:
            continue
        name = c["column"] + (" (derived)" if c["derived"] else "")
        t.add_row(
            name,
            c["from"] if c["from"] != c["column"] else "",
            c["role"],
            c["unit"],
            str(c["missing"]) if c["missing"] else "",
        )
    out.print(t)
    others = [c["column"] for c in rep["columns"] if c["role"] == "other"]
    if others:
        out.print(
            f"other columns ({len(others)}): {', '.join(others[:40])}"
            + (" ..." if len(others) > 40 else "")
        )
    t = Table(title="ranges")
    for c in ("column", "min", "max", "unique", "orders of magnitude"):
        t.add_column(c, justify="right")
    for r in rep["ranges"]:
        oom = r["orders_of_magnitude"]
        t.add_row(
            r["column"],
            f"{r['min']:.4g}",
            f"{r['max']:.4g}",
            str(r["unique"]),
            f"{oom:.2f}" if oom is not None else "-",
        )
    out.print(t)
    dk = rep["duplicate_keys"]
    out.print(
        f"duplicate rows: {rep['duplicate_rows']}; rows repeating the same "
        f"({', '.join(dk['columns'])}): {dk['count']}"
    )
    o = rep.get("outliers")
    if o:
        if o["rows"]:
            out.print(
                f"suspected outliers ({o['law']} fit of {o['metric']}, robust |z| > "
                f"{o['threshold_z']:g}): "
                + ", ".join(
                    f"row {r} ({v:.4g}, z={z:+.1f})"
                    for r, v, z in zip(o["rows"], o["values"], o["z"], strict=True)
                )
            )
        else:
            out.print(f"no suspected outliers ({o['law']} fit of {o['metric']})")
    out.print("laws this data can feed:")
    for law in rep["laws"]:
        out.print(f"  {law['law']:<24} " + ("ready" if law["ready"] else law["note"]))


def _write(df: pd.DataFrame, path: str) -> None:
    from .io.tables import write_table

    write_table(df, path)
    out.print(f"wrote {len(df)} rows to {path}")


@main.command("import-harness")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--side-table",
    default=None,
    type=click.Path(dir_okay=False),
    help="Table with n_params/tokens per model, joined on --on.",
)
@click.option("--on", default="model", show_default=True)
@click.option(
    "--set",
    "sets",
    multiple=True,
    help="VAR=VALUE for every file (n_params, tokens, tokens_per_step).",
)
@click.option(
    "--long",
    "long_format",
    is_flag=True,
    help="Write every task x metric row instead of one row per model/checkpoint.",
)
@click.option("--metric", default="acc", show_default=True, help="Metric to aggregate.")
@click.option("--tasks", default=None, help="Comma-separated task set (default: all).")
@click.option("--chance", "chances", multiple=True, help="TASK=ACC chance accuracy (repeat).")
@click.option(
    "--chance-table",
    default=None,
    type=click.Path(dir_okay=False),
    help="Table with task and random_baseline_acc (or chance) columns.",
)
@click.option("--chance-correct", is_flag=True, help="Average (acc-chance)/(1-chance).")
@click.option(
    "--min-above-chance",
    default=None,
    type=float,
    help="Keep tasks whose best accuracy beats chance by this margin.",
)
@handle_errors
def import_harness_cmd(
    paths,
    out_path,
    side_table,
    on,
    sets,
    long_format,
    metric,
    tasks,
    chances,
    chance_table,
    chance_correct,
    min_above_chance,
) -> None:
    """lm-evaluation-harness results (files or folders) -> a runs table."""
    from .io import aggregate_error, read_harness

    set_values = {k: parse_number(v) for k, v in _parse_pairs(sets, "--set").items()}
    long = read_harness(list(paths), side_table=side_table, on=on, set_values=set_values)
    if long_format:
        _write(long, out_path)
        return
    chance = {k: float(v) for k, v in _parse_pairs(chances, "--chance").items()} or None
    if chance_table:
        ct = read_table(chance_table)
        col = next((c for c in ("random_baseline_acc", "chance", "chance_acc") if c in ct), None)
        if col is None or "task" not in ct:
            raise DataError(
                "chance table needs 'task' and 'random_baseline_acc' (or 'chance') columns",
                file=chance_table,
            )
        chance = {**dict(zip(ct["task"], ct[col].astype(float), strict=True)), **(chance or {})}
    agg = aggregate_error(
        long,
        metric=metric,
        tasks=tasks.split(",") if tasks else None,
        chance=chance,
        correct_chance=chance_correct,
        min_above_chance=min_above_chance,
    )
    out.print(
        f"{len(agg['model'].unique())} model(s), {len(agg)} row(s), averaged over "
        f"{len(agg.attrs['tasks'])} task(s): {', '.join(agg.attrs['tasks'][:12])}"
    )
    for col in ("n_params", "tokens"):
        if agg[col].isna().any():
            err.print(
                f"[yellow]warning[/]: {int(agg[col].isna().sum())} row(s) have no {col}: "
                f"give --side-table, --set {col}=... or --set tokens_per_step=..."
            )
    _write(agg, out_path)


@main.command("import-tracker")
@click.argument("export", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--kind", type=click.Choice(["auto", "wandb", "mlflow"]), default="auto", show_default=True
)
@click.option(
    "--mapping",
    default=None,
    type=click.Path(dir_okay=False),
    help="YAML/JSON: columns: {canonical: export column}.",
)
@handle_errors
def import_tracker_cmd(export, out_path, kind, mapping) -> None:
    """A Weights & Biases or MLflow runs export -> a runs table."""
    from .io import read_tracker_export

    df = read_tracker_export(export, kind=kind, mapping=mapping)
    out.print(
        f"{df.attrs['scalinglab_tracker']} export: {len(df)} runs; columns: "
        f"{', '.join(map(str, df.columns))}"
    )
    _write(df, out_path)


@main.command("merge")
@click.argument("evals", type=click.Path(dir_okay=False))
@click.argument("meta", type=click.Path(dir_okay=False))
@click.option("--on", "on", required=True, help="Key column(s), comma-separated.")
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--how", type=click.Choice(["inner", "left", "outer"]), default="inner", show_default=True
)
@click.option("--strict", is_flag=True, help="Fail if any key is unmatched on either side.")
@handle_errors
def merge_cmd(evals, meta, on, out_path, how, strict) -> None:
    """Join eval results to run metadata; unmatched rows are listed, never dropped silently."""
    from .io import merge_runs

    merged, report = merge_runs(
        read_table(evals), read_table(meta), on.split(","), how=how, strict=strict
    )
    for line in report.lines():
        (out if report.complete else err).print(line, highlight=False)
    _write(merged, out_path)


def _table(df: pd.DataFrame, title: str, cols: list[str] | None = None) -> None:
    cols = [c for c in (cols or list(df.columns)) if c in df.columns]
    t = Table(title=title)
    for c in cols:
        t.add_column(c, justify="right")
    for _, r in df.iterrows():
        t.add_row(*(_fmt(r[c], c) for c in cols))
    out.print(t)


def _targets(items: tuple[str, ...]) -> list[dict[str, float]]:
    out_rows = []
    for item in items:
        row = {}
        for part in item.split(","):
            if "=" not in part:
                raise DataError(f"--target {item!r}: expected VAR=VALUE,VAR=VALUE")
            k, v = part.split("=", 1)
            try:
                row[k.strip()] = parse_number(v)
            except ValueError as exc:
                raise DataError(f"--target {item!r}: {exc}") from None
        out_rows.append(row)
    return out_rows


@main.command("forecast")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--target",
    "targets",
    multiple=True,
    help="VAR=VALUE,... e.g. n_params=6.9e9,tokens=138e9 (repeat).",
)
@click.option("--target-where", default=None, help="Pandas query: runs to predict (truth known).")
@click.option("--loss-law", default="overtrain", show_default=True)
@click.option("--error-law", default="loss_to_error", show_default=True)
@click.option("--loss-col", default="loss", show_default=True)
@click.option("--error-col", default="error", show_default=True)
@click.option("--fit-where", default=None, help="Pandas query: the loss-fit runs.")
@click.option("--error-fit-where", default=None, help="Pandas query: the error-fit runs.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None)
@click.option("--bootstrap", "n_boot", default=1000, show_default=True, type=int)
@click.option("--interval", default=0.9, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def forecast_cmd(
    data,
    targets,
    target_where,
    loss_law,
    error_law,
    loss_col,
    error_col,
    fit_where,
    error_fit_where,
    preset,
    n_boot,
    interval,
    seed,
    as_json,
) -> None:
    """Two-step forecast: (N, D) or (C, M) -> loss -> downstream error."""
    from .workflows.downstream import forecast

    if bool(targets) == bool(target_where):
        raise DataError("give --target VAR=VALUE,... (repeatable) or --target-where QUERY")
    res = forecast(
        data,
        _targets(targets) if targets else target_where,
        loss_law=loss_law,
        error_law=error_law,
        loss_col=loss_col,
        error_col=error_col,
        fit_where=fit_where,
        error_fit_where=error_fit_where,
        preset=preset,
        n_bootstrap=n_boot,
        interval=interval,
        seed=seed,
    )
    if as_json:
        emit_json(res.to_dict())
        return
    out.print(
        f"step 1: {res.loss_fit.law.name} on {res.loss_fit.n_points_} runs; step 2: "
        f"{res.error_fit.law.name} on {res.error_fit.n_points_} runs"
    )
    t = res.targets
    for _, r in t.iterrows():
        size = (
            f"N={r['n_params']:.3g}, D={r['tokens']:.3g}"
            if "n_params" in t
            else ", ".join(f"{c}={r[c]:.3g}" for c in res.loss_fit.columns_.values())
        )
        line = f"[bold]{size}[/]: loss {r['loss_pred']:.4f}"
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
            f"; predicted from {r['compute_ratio_loss']:.0f}x (loss) / "
            f"{r['compute_ratio_error']:.0f}x (error) less compute"
        )
        out.print(line, highlight=False)
    for note in res.notes:
        out.print(f"note: {note}")
    for w in res.loss_fit.warnings_ + res.error_fit.warnings_:
        err.print(f"[yellow]warning[/]: {w}")


@main.command("ladder")
@click.argument("checkpoints", type=click.Path(dir_okay=False))
@click.option("--target", "target", required=True, help="n_params=...,tokens=...")
@click.option("--train-where", default=None, help="Pandas query: checkpoints of the small runs.")
@click.option("--run-col", default="run", show_default=True)
@click.option("--loss-col", default="bpb", show_default=True, help="Task loss (step 1 and 2 x).")
@click.option("--acc-col", default="rc_acc", show_default=True, help="Task accuracy (step 2 y).")
@click.option("--last-k", default=5, show_default=True, type=int)
@click.option("--skip-frac", default=0.1, show_default=True, type=float)
@click.option("--window", default=5, show_default=True, type=int)
@click.option("--bootstrap", "n_boot", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def ladder_cmd(
    checkpoints,
    target,
    train_where,
    run_col,
    loss_col,
    acc_col,
    last_k,
    skip_frac,
    window,
    n_boot,
    as_json,
) -> None:
    """Model-ladder forecast (AI2 OLMo ladder): (N, D) -> task loss -> accuracy."""
    from .fit.prepare import apply_where
    from .workflows.ladder import ladder_forecast

    df = read_table(checkpoints)
    train = apply_where(df, train_where) if train_where else df
    tgt = _targets((target,))[0]
    res = ladder_forecast(
        train,
        tgt,
        run_col=run_col,
        loss_col=loss_col,
        acc_col=acc_col,
        last_k=last_k,
        skip_frac=skip_frac,
        window=window,
        n_bootstrap=n_boot,
    )
    if as_json:
        emit_json(res.to_dict())
        return
    out.print(
        f"target N={tgt['n_params']:.4g}, D={tgt['tokens']:.4g}: {loss_col} "
        f"{res.loss_pred:.4f} -> {acc_col} {res.acc_pred:.4f}"
    )
    out.print(
        f"near-optimal step-1 fits: {loss_col} {res.loss_spread[0]:.4f}-"
        f"{res.loss_spread[1]:.4f}, {acc_col} {res.acc_spread[0]:.4f}-"
        f"{res.acc_spread[1]:.4f} ({res.n_near_optimal} fits)"
    )
    if res.acc_interval:
        out.print(
            f"bootstrap interval: {acc_col} {res.acc_interval[0]:.4f}-{res.acc_interval[1]:.4f}"
        )


@main.command("pretrain-choice")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--target-tokens", required=True, help="Pretraining tokens to forecast at.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def pretrain_choice_cmd(data, target_tokens, as_json) -> None:
    """Rank pretraining sources by forecast BLEU / downstream CE; flag misalignment."""
    from .workflows.pretrain_choice import choose_pretraining_data

    res = choose_pretraining_data(data, parse_number(target_tokens))
    if as_json:
        emit_json(res.to_dict())
        return
    _table(
        res.ranking,
        f"forecast at {res.target_tokens:.3g} pretraining tokens",
        [
            "finetune_size",
            "pretrain_data",
            "bleu_forecast",
            "rank_bleu",
            "ce_forecast",
            "rank_ce",
            "bleu_r2",
            "bleu_max_drop",
            "ce_monotone",
            "misaligned",
        ],
    )
    for note in res.notes:
        out.print(f"note: {note}")


@main.command("choose-method")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--factor",
    "factors",
    multiple=True,
    default=("n_params",),
    show_default=True,
    help="Scaling factor X (repeat for a joint fit; rows then need a 'factor' column).",
)
@click.option("--at", "at", required=True, help="FACTOR=VALUE to decide at, e.g. n_params=16e9.")
@click.option("--metric", default="loss", show_default=True)
@click.option("--bootstrap", "n_boot", default=300, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def choose_method_cmd(data, factors, at, metric, n_boot, as_json) -> None:
    """FMT vs LoRA vs prompt tuning: per-method laws and the critical finetuning size."""
    from .workflows.finetune_choice import choose_method

    at_vals = {k: parse_number(v) for k, v in _parse_pairs((at,), "--at").items()}
    res = choose_method(data, list(factors), at_vals, metric=metric, n_bootstrap=n_boot)
    if as_json:
        emit_json(res.to_dict())
        return
    _table(res.comparison, "per-method fits (multiplicative law) and held-out error")
    _table(res.crossings.drop(columns=["all_crossings"]), "critical finetuning sizes")
    for note in res.notes:
        out.print(f"note: {note}")


@main.command("transfer")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--scratch-law", default="kaplan", show_default=True)
@click.option(
    "--data-col",
    default="finetune_size",
    show_default=True,
    help="Target-distribution tokens (D for from-scratch runs, D_F for finetuned).",
)
@click.option("--metric", default="loss", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def transfer_cmd(data, scratch_law, data_col, metric, as_json) -> None:
    """Effective data transferred by pretraining (Hernandez et al.)."""
    from .workflows.transfer import effective_data_transferred

    res = effective_data_transferred(
        data, scratch_law=scratch_law, data_col=data_col, metric=metric
    )
    if as_json:
        emit_json(res.to_dict())
        return
    _table(res.runs, "finetuned runs: effective data from the from-scratch law")
    for note in res.notes:
        out.print(f"note: {note}")


@main.command("plan")
@click.argument("fit_json", type=click.Path(exists=True, dir_okay=False))
@click.option("--budget", default=None, help="Training FLOPs, e.g. 1e23.")
@click.option("--tokens-per-param", default=None, type=float, help="Fixed over-training ratio M.")
@click.option("--inference-tokens", default=None, help="Tokens to serve over the model's life.")
@click.option("--target-loss", default=None, type=float)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def plan_cmd(fit_json, budget, tokens_per_param, inference_tokens, target_loss, as_json) -> None:
    """Compute-optimal and over-trained allocations from a saved chinchilla fit."""
    from .workflows.planning import plan

    res = plan(
        FitResult.from_json(fit_json),
        parse_number(budget) if budget else None,
        tokens_per_param=tokens_per_param,
        inference_tokens=parse_number(inference_tokens) if inference_tokens else None,
        target_loss=target_loss,
    )
    if as_json:
        emit_json(res.to_dict())
        return
    _table(pd.DataFrame(res.rows), "plans")
    out.print(", ".join(f"{k} = {v:.4f}" for k, v in res.exponents.items()))


def _command_line() -> str:
    import shlex

    return "scalinglab " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@main.command("report")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--law", "law_names", multiple=True, help="Law(s) to fit and plot (repeat).")
@click.option("--metric", default=None)
@click.option("--map", "maps", multiple=True, help="VAR=COLUMN.")
@click.option("--where", default=None, help="Pandas query: rows to use at all.")
@click.option("--holdout", "holdout_q", default=None, help="Pandas query: held-out rows.")
@click.option("--leave-largest-out", "axis", default=None, help="Audit along this column.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None)
@click.option(
    "--workflow",
    "workflows",
    multiple=True,
    type=click.Choice(["forecast", "choose-method", "transfer", "pretrain-choice", "plan"]),
    help="Workflow section(s) to add.",
)
@click.option("--target", "targets", multiple=True, help="forecast: VAR=VALUE,...")
@click.option("--target-where", default=None, help="forecast: runs to predict.")
@click.option("--fit-where", default=None, help="forecast: loss-fit runs.")
@click.option("--error-fit-where", default=None, help="forecast: error-fit runs.")
@click.option("--loss-law", default="overtrain", show_default=True)
@click.option("--loss-col", default="loss", show_default=True)
@click.option("--error-col", default="error", show_default=True)
@click.option("--factor", default="n_params", show_default=True, help="choose-method factor.")
@click.option("--at", "at", default=None, help="choose-method: FACTOR=VALUE.")
@click.option("--target-tokens", default=None, help="pretrain-choice: tokens to forecast at.")
@click.option("--budget", default="1e23", show_default=True, help="plan: FLOP budget.")
@click.option("--bootstrap", "n_boot", default=500, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "-o",
    "--out",
    "out_path",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
)
@handle_errors
def report_cmd(
    data,
    law_names,
    metric,
    maps,
    where,
    holdout_q,
    axis,
    preset,
    workflows,
    targets,
    target_where,
    fit_where,
    error_fit_where,
    loss_law,
    loss_col,
    error_col,
    factor,
    at,
    target_tokens,
    budget,
    n_boot,
    seed,
    out_path,
) -> None:
    """A self-contained HTML report: overview, fitted laws, audits, workflows."""
    from .fit.prepare import apply_where
    from .report import build
    from .report.html import Report

    df = apply_where(read_table(data), where)
    rep = Report(f"scalinglab report: {Path(data).name}", f"{len(df)} runs")
    build.overview_section(rep, df)
    mapping = _parse_pairs(maps, "--map")
    fits = {}
    for name in law_names:
        fits[name] = build.law_section(
            rep,
            df,
            name,
            metric=metric,
            mapping=mapping,
            holdout=holdout_q,
            preset=preset,
            n_bootstrap=n_boot,
            seed=seed,
        )
    if law_names and (holdout_q or axis):
        build.audit_section(
            rep,
            df,
            law_names,
            holdout=holdout_q,
            axis=axis,
            metric=metric,
            mapping=mapping,
            preset=preset,
            n_bootstrap=n_boot,
            seed=seed,
        )
    for wf in workflows:
        if wf == "forecast":
            if bool(targets) == bool(target_where):
                raise DataError("the forecast section needs --target or --target-where")
            build.forecast_section(
                rep,
                df,
                dict(
                    targets=_targets(targets) if targets else target_where,
                    loss_law=loss_law,
                    loss_col=loss_col,
                    error_col=error_col,
                    fit_where=fit_where,
                    error_fit_where=error_fit_where,
                    preset=preset,
                    n_bootstrap=n_boot,
                    seed=seed,
                ),
            )
        elif wf == "choose-method":
            at_vals = {k: parse_number(v) for k, v in _parse_pairs((at or "",), "--at").items()}
            build.method_section(rep, df, factor, at_vals)
        elif wf == "transfer":
            build.transfer_section(rep, df)
        elif wf == "pretrain-choice":
            if not target_tokens:
                raise DataError("the pretrain-choice section needs --target-tokens")
            build.pretrain_section(rep, df, parse_number(target_tokens))
        elif wf == "plan":
            if "chinchilla" not in fits:
                raise DataError("the plan section needs --law chinchilla")
            build.plan_section(rep, fits["chinchilla"], parse_number(budget))
    path = rep.write(out_path, command=_command_line(), data_files=[data])
    out.print(
        f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB, "
        f"sections: {', '.join(build.section_names(rep))})"
    )


@main.command("demo")
@click.option(
    "--out",
    "out_dir",
    default="scalinglab-demo",
    show_default=True,
    type=click.Path(file_okay=False),
)
@click.option("--quiet", is_flag=True)
def demo_cmd(out_dir: str, quiet: bool) -> None:
    """Fit the papers' laws on built-in (simulated) runs and write an HTML report."""
    import time

    from .examples import FINETUNE_FILE, TRUE_PARAMS, example_path
    from .report import build
    from .report.html import Report

    t0 = time.perf_counter()
    runs_path, ft_path = example_path(), example_path(FINETUNE_FILE)
    df = read_table(runs_path)
    ft = read_table(ft_path)
    out.print(
        f"[bold]scalinglab {__version__} demo[/]: {len(df)} pretraining runs and "
        f"{len(ft)} finetuning runs, [bold yellow]SIMULATED[/] from published laws"
    )
    rep = Report(
        "scalinglab demo report",
        "built-in example runs",
        banner="SIMULATED DATA: these runs were generated from published scaling-law "
        "parameters (see scalinglab/examples.py), not trained models.",
    )
    build.overview_section(rep, df)
    held = "n_params >= 1e9"
    res = build.law_section(
        rep,
        df,
        "chinchilla",
        metric=None,
        mapping=None,
        holdout=held,
        preset=None,
        n_bootstrap=1000,
        seed=0,
    )
    aud = build.audit_section(
        rep,
        df,
        ["chinchilla"],
        holdout=None,
        axis="n_params",
        metric=None,
        mapping=None,
        preset=None,
        n_bootstrap=200,
        seed=0,
    )
    target = {"n_params": 7e9, "tokens": 140e9}
    fc = build.forecast_section(
        rep,
        df,
        dict(
            targets=[target],
            loss_law="chinchilla",
            fit_where=f"not ({held})",
            n_bootstrap=1000,
            seed=0,
        ),
    )
    mc = build.method_section(rep, ft, "n_params", {"n_params": 16e9})
    build.plan_section(rep, res, 1e23)
    path = rep.write(
        Path(out_dir) / "report.html",
        command=_command_line(),
        data_files=[str(runs_path), str(ft_path)],
    )
    res.to_json(Path(out_dir) / "chinchilla_fit.json")
    test = df.query(held)
    pred = res.predict(test)
    rel = np.abs(pred - test["loss"].to_numpy()) / test["loss"].to_numpy()
    t = fc.targets.iloc[0]
    truth = get_law("chinchilla").evaluate(TRUE_PARAMS, {k: [v] for k, v in target.items()})[0]
    nxt = aud.summary["next_scale_rel_error"]
    out.print(
        f"chinchilla law fitted on {res.n_points_} runs (< 1B params): E={res.params_['E']:.3f}"
        f", alpha={res.params_['alpha']:.3f}, beta={res.params_['beta']:.3f}"
    )
    out.print(
        f"held-out 1.28B runs: mean relative error {rel.mean():.2%} (max {rel.max():.2%}); "
        f"leave-largest-out next-scale error {nxt.mean():.2%} on average"
    )
    out.print(
        f"forecast for 7B params on 140B tokens: loss {t['loss_pred']:.3f} "
        f"[{t['loss_lo']:.3f}, {t['loss_hi']:.3f}] (simulating law: {truth:.3f}), "
        f"downstream error {t['error_pred']:.3f} [{t['error_lo']:.3f}, "
        f"{t['error_hi']:.3f}], from {t['compute_ratio_loss']:.0f}x less compute"
    )
    for note in mc.notes:
        out.print(f"finetuning: {note}")
    out.print(f"report: {path.resolve()}  ({time.perf_counter() - t0:.1f} s)")


@main.group("testbed")
def testbed_group() -> None:
    """Train small transformers on real corpora and produce runs (needs scalinglab[testbed])."""


@testbed_group.command("corpora")
@click.option("--json", "as_json", is_flag=True)
def testbed_corpora_cmd(as_json: bool) -> None:
    """Which corpora are installed, and the command that installs each missing one."""
    from .testbed.corpora import status

    rows = status()
    if as_json:
        emit_json(rows)
        return
    t = Table(title="testbed corpora")
    for c in ("name", "language", "installed", "license", "install"):
        t.add_column(c)
    for r in rows:
        t.add_row(
            r["name"],
            r["language"],
            "[green]yes[/]" if r["installed"] else "[red]no[/]",
            r["license"],
            "" if r["installed"] else r["install"],
        )
    out.print(t)


@testbed_group.command("run")
@click.option("--preset", default="smoke", show_default=True, help="smoke, cpu or gpu.")
@click.option(
    "--out", "out_dir", default="testbed-runs", show_default=True, type=click.Path(file_okay=False)
)
@click.option("--device", default=None, help="cpu or cuda (default: cuda when available).")
@click.option("--quiet", is_flag=True)
@handle_errors
def testbed_run_cmd(preset: str, out_dir: str, device: str | None, quiet: bool) -> None:
    """Pretrain, finetune (FMT, LoRA, prompt tuning) and evaluate a preset's ladder."""
    from .testbed.presets import run_preset

    with progress_bar(None, f"testbed {preset}", quiet) as advance:

        def prog(k, msg=None):
            if advance is not None and k:
                advance(k)
            if msg and not quiet:
                err.print(msg, highlight=False)

        df = run_preset(preset, out_dir, device=device, progress=prog)
    out.print(f"{len(df)} runs written to {Path(out_dir) / 'runs.csv'}")


@testbed_group.command("transfer")
@click.option("--source", default="kjv", show_default=True, help="Pretraining corpus.")
@click.option("--target", default="python", show_default=True, help="Target corpus.")
@click.option("--source-tokens", default="2M", show_default=True)
@click.option("--finetune-sizes", default="50K,200K,800K", show_default=True)
@click.option(
    "--train-tokens",
    default="1M",
    show_default=True,
    help="Tokens seen while training on each target subset (early-stopped).",
)
@click.option("--d-models", default="32,64", show_default=True)
@click.option("--out", "out_path", default="transfer_runs.csv", show_default=True)
@handle_errors
def testbed_transfer_cmd(
    source, target, source_tokens, finetune_sizes, train_tokens, d_models, out_path
) -> None:
    """Hernandez et al.'s experiment: from scratch vs pretrained on SOURCE, trained on D_F
    tokens of TARGET. Feed the output to `scalinglab transfer`."""
    from .io.tables import write_table
    from .testbed.transfer_exp import run_transfer

    models = [dict(d_model=int(d), n_layers=2, n_heads=2) for d in d_models.split(",")]
    df = run_transfer(
        models,
        source,
        target,
        int(parse_number(source_tokens)),
        [int(parse_number(x)) for x in finetune_sizes.split(",")],
        int(parse_number(train_tokens)),
    )
    write_table(df, out_path)
    out.print(f"{len(df)} runs written to {out_path}; next: scalinglab transfer {out_path}")


@main.group("sweep")
def sweep_group() -> None:
    """Sweeps of testbed runs with a crash-safe run registry (SQLite)."""


@sweep_group.command("plan")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def sweep_plan_cmd(spec: str, as_json: bool) -> None:
    """The runs a spec expands to, their estimated FLOPs and time, and the total."""
    from .testbed.sweep import expand, load_spec, plan

    rows = plan(expand(load_spec(spec)))
    if as_json:
        emit_json(rows)
        return
    _table(pd.DataFrame(rows), f"{len(rows)} runs")
    out.print(
        f"total: {sum(r['flops'] for r in rows):.3g} FLOPs, about "
        f"{sum(r['est_seconds'] for r in rows) / 60:.1f} min on one CPU worker"
    )


@sweep_group.command("run")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False))
@click.option("--registry", default="runs.sqlite", show_default=True)
@click.option("--artifacts", default="artifacts", show_default=True)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="Local worker processes (each with --threads threads).",
)
@click.option("--threads", default=1, show_default=True, type=int)
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address ('auto' for a running one).")
@click.option("--gpus-per-run", default=0.0, show_default=True, type=float)
@handle_errors
def sweep_run_cmd(
    spec, registry, artifacts, workers, threads, executor, address, gpus_per_run
) -> None:
    """Run (or resume) a sweep: only runs not yet done are executed (a crash is resumed by
    running the same command again)."""
    from .testbed.sweep import run_sweep

    quiet = not sys.stderr.isatty()
    state = {"done": 0}

    with progress_bar(None, "sweep", quiet) as advance:

        def prog(info):
            done = info["counts"].get("done", 0)
            if advance is not None and done > state["done"]:
                advance(done - state["done"])
                state["done"] = done

        reg = run_sweep(
            spec,
            registry,
            artifacts,
            workers=workers,
            threads=threads,
            executor=executor,
            address=address,
            gpus_per_run=gpus_per_run,
            progress=None if quiet else prog,
        )
    out.print(f"registry {registry}: {reg.counts()}")


@sweep_group.command("status")
@click.option("--registry", default="runs.sqlite", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def sweep_status_cmd(registry, as_json) -> None:
    """Counts per status and failures with their last error."""
    from .testbed.registry import Registry
    from .testbed.sweep import eta

    reg = Registry(registry)
    rows = reg.rows()
    info = eta(reg)
    fails = [
        {
            "name": r["name"],
            "attempts": r["attempts"],
            "error": (r["error"] or "").strip().splitlines()[-1:] or [""],
        }
        for r in rows
        if r["status"] == "failed"
    ]
    if as_json:
        emit_json({"counts": reg.counts(), "eta_s": info["eta_s"], "failed": fails})
        return
    left = f", about {info['eta_s'] / 60:.1f} min left (one worker)" if info["eta_s"] else ""
    out.print(f"{len(rows)} runs: {reg.counts()}{left}")
    for f in fails:
        out.print(f"failed {f['name']} (attempts {f['attempts']}): {f['error'][0]}")


@sweep_group.command("export")
@click.option("--registry", default="runs.sqlite", show_default=True)
@click.option("--to", "to_path", required=True, type=click.Path(dir_okay=False))
@handle_errors
def sweep_export_cmd(registry, to_path) -> None:
    """Done runs as a table in the scalinglab schema (CSV, Parquet, JSONL)."""
    from .testbed.sweep import export

    df = export(registry, to_path)
    out.print(f"wrote {len(df)} runs to {to_path}")


if __name__ == "__main__":
    main()
