"""Command line: `scalinglab laws | fit | predict | demo`.

Thin by design: parse options, call the API, render. The JSON shapes printed with --json
are a contract other tools script against.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
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
from .io import read_table
from .laws import CATALOG, expression_law, get_law
from .laws.expression import parse_param_option
from .schema import parse_number

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


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
    as_json,
) -> None:
    """Fit a law to DATA (CSV, TSV, Parquet or JSONL)."""
    if law_name and expr:
        raise DataError("give either --law or --expr, not both")
    law = _build_law(law_name, expr, params, metric, space)
    mapping = _parse_pairs(maps, "--map")
    grid = _parse_grids(grids)
    res = fit(
        data,
        law,
        metric=metric,
        mapping=mapping,
        where=where,
        delta=delta,
        weights=weights,
        grid=grid,
        n_random_starts=random_starts,
        strategy=strategy,
    )
    if out_path:
        res.to_json(out_path)
    if starts_path:
        res.starts_.to_csv(starts_path, index=False)
    if as_json:
        emit_json(_fit_json(res))
        return
    print_fit(res)
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


@main.command("demo")
@click.option(
    "--out",
    "out_dir",
    default="scalinglab-demo",
    show_default=True,
    type=click.Path(file_okay=False),
)
def demo_cmd(out_dir: str) -> None:
    """Fit the Chinchilla law on built-in example runs and forecast a larger model."""
    from .examples import TRUE_PARAMS, example_path

    path = example_path()
    df = read_table(path)
    out.print(
        f"[bold]scalinglab {__version__} demo[/] on {path.name} "
        f"({len(df)} runs, [yellow]SIMULATED[/] from the Chinchilla law)"
    )
    held = "n_params >= 1e9"
    res = fit(df, "chinchilla", where=f"not ({held})")
    print_fit(res)
    test = df.query(held)
    pred = res.predict(test)
    rel = np.abs(pred - test["loss"].to_numpy()) / test["loss"].to_numpy()
    out.print(
        f"held-out runs ({held}): mean relative error {rel.mean():.2%} "
        f"(max {rel.max():.2%}) over {len(test)} runs"
    )
    target = {"n_params": 7e9, "tokens": 140e9}
    truth = get_law("chinchilla").evaluate(TRUE_PARAMS, {k: [v] for k, v in target.items()})
    out.print(
        f"forecast: a 7B model on 140B tokens reaches loss {float(res.predict(target)[0]):.4f}"
        f" (the simulating law gives {float(truth[0]):.4f})"
    )
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    fit_path = Path(out_dir) / "chinchilla_fit.json"
    res.to_json(fit_path)
    out.print(f"fit written to {fit_path}")


if __name__ == "__main__":
    main()
