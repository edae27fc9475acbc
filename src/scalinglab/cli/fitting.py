"""`laws` and `fit`: the law catalog and fitting a law to a table (`predict` is in
predicting.py, `audit` in auditing.py)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import DataError
from ..io.safe_write import atomic_write
from ..laws import CATALOG
from ..laws.expression import parse_param_option
from ..workflows.fit_run import run_fit
from .common import (
    FORCE_HELP,
    LEVEL,
    _parse_grids,
    _parse_numbers,
    _parse_pairs,
    checkpoint_options,
    emit_json,
    handle_errors,
    main,
    out,
    output_path,
    preset_option,
    progress_bar,
)
from .n_choice import (
    params_col_option,
)
from .render import (
    fit_json,
    intervals_json,
    render_fit,
    render_intervals,
    render_laws,
    render_notes,
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
        emit_json([law.describe() for law in CATALOG.values()])
        return
    render_laws(CATALOG.values())


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
@checkpoint_options
@click.option(
    "--delta", default=None, type=float, help="Huber delta.  [default: 1e-3, or the preset's]"
)
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
    help="screen: fast staged search; full: run the optimiser from every start on all rows "
    "(a start still above 1.5x the best converged objective is stopped, status 'pruned').",
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
    final_only,
    min_tokens,
    min_step,
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
    with progress_bar(n_boot, "bootstrap", quiet or as_json) as advance:
        run = run_fit(
            data,
            law_name,
            expr=expr,
            params=dict(parse_param_option(p) for p in params) if expr else params,
            metric=metric,
            space=space,
            fixes=_parse_numbers(fixes, "--fix") if fixes else None,
            mapping=_parse_pairs(maps, "--map"),
            where=where,
            params_col=params_col,
            final_only=final_only,
            min_tokens=min_tokens,
            min_step=min_step,
            delta=delta,
            weights=weights,
            grid=_parse_grids(grids),
            n_random_starts=random_starts,
            strategy=strategy,
            preset=preset,
            n_bootstrap=n_boot,
            group_by=group_by,
            bootstrap_method=bootstrap_method,
            seed=seed,
            progress=advance,
        )
    res = run.result
    if out_path:
        res.to_json(out_path)
    if starts_path:
        with atomic_write(starts_path, newline="") as fh:
            res.starts_.to_csv(fh, index=False)
    if as_json:
        obj = fit_json(res)
        obj["n_params_col"] = run.n_col
        obj["notes"] = run.notes
        if res.bootstrap_ is not None:
            obj["intervals"] = intervals_json(res, interval)
        emit_json(obj)
        return
    render_fit(res)
    render_notes(run.notes)
    if res.bootstrap_ is not None:
        render_intervals(res, interval)
    if out_path:
        out.print(f"fit written to {out_path}")
