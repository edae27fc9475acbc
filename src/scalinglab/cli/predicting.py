"""`predict`: a saved fit at new points, saying how far each lies beyond the data and
which parameter count is N."""

from __future__ import annotations

from typing import Any

import click
import pandas as pd

from ..errors import DataError
from ..fitting import FitResult
from ..fitting.predict_inputs import checked_predict
from ..io import read_table
from ..query import column_expression, is_expression
from ..schema import parse_number
from .common import (
    LEVEL,
    _parse_pairs,
    emit_json,
    err,
    handle_errors,
    main,
    print_diagnostics,
    refit_bootstrap_option,
)
from .n_choice import (
    fit_n_column,
    n_phrase,
)
from .render import (
    render_notes,
    render_predictions,
)


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
        row: dict[str, Any] = {}
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
