"""A saved fit at new points, as `scalinglab predict` runs it: the points (a table, or
VAR=VALUE pairs checked against what the law uses), the interval (a stored bootstrap, or one
run now), which parameter count is N, and how far each point lies beyond the data. The
command only parses its options, calls `run_predict` and renders the result (issue 16:
parse -> call -> render), so a notebook gets the same predictions, refused for the same
reasons with the same messages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import DataError
from ..fitting import FitResult
from ..fitting.predict_inputs import checked_predict
from ..io import read_table
from ..query import column_expression, is_expression
from ..schema import add_derived, canonical_name, canonicalise, parse_number


def fit_n_column(columns: Mapping[str, str], variables: Iterable[str]) -> str | None:
    """The N column a saved fit used (its law variable n_params, after --map), if any."""
    return columns.get("n_params", "n_params") if "n_params" in list(variables) else None


def n_phrase(col: str) -> str:
    """'n_params' (total) / 'n_params_nonembedding' (non-embedding), for predict's note."""
    kind = {"n_params": "total", "n_params_nonembedding": "non-embedding"}.get(col)
    return f"'{col}'" + (f" ({kind} parameters)" if kind else "")


def check_set_names(res: FitResult, pairs: Mapping[str, Any]) -> None:
    """A --set name the law cannot use was ignored (`--set zz=1`); now it is an error naming
    what the law takes. Allowed: its variables, their columns (and aliases), what the
    schema derives them from (n_params, tokens, flops), names inside a --map transform."""
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


def predict_n(res: FitResult, df: pd.DataFrame, table: bool) -> tuple[pd.DataFrame, list[str]]:
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


@dataclass
class PredictRun:
    """Predictions as `scalinglab predict` prints them: one row per point (inputs,
    prediction, lower/upper when there is an interval, how many orders of magnitude beyond
    the fitted data), the interval's level and usable resamples (None: no interval), the N
    column, notes and the diagnostics of the fit and of the points."""

    fit: FitResult
    rows: list[dict[str, Any]]
    interval: float | None
    n_resamples: int | None
    n_params_col: str | None
    notes: list[str]
    diagnostics: list[Diagnostic]

    def to_dict(self) -> dict[str, Any]:
        """What `scalinglab predict --json` prints."""
        obj: dict[str, Any] = {
            "law": self.fit.law.name,
            "metric": self.fit.metric_,
            "predictions": self.rows,
        }
        obj["n_params_col"] = self.n_params_col
        obj["notes"] = self.notes
        if self.interval is not None:
            obj["interval"] = {
                "level": self.interval,
                "kind": "confidence (bootstrap of the fit's parameters)",
                "n_resamples": self.n_resamples,  # the usable draws
            }
        obj["diagnostics"] = [d.to_dict() for d in self.diagnostics]
        return obj


def run_predict(
    fit: FitResult | str | Path,
    *,
    at: pd.DataFrame | str | Path | None = None,
    sets: Mapping[str, Any] | None = None,
    interval: float | None = None,
    n_bootstrap: int = 0,
    on_resampled: Callable[[int], None] | None = None,
) -> PredictRun:
    """A saved fit's predictions at new points, every option of `scalinglab predict` checked
    as the command checks it (DataError naming the option).

    Parameters
    ----------
    fit : FitResult or path of a fit file (`fit --out FIT.json`)
    at, sets : the points: a table (or its path), or one point as VAR -> value (numbers or
        text such as '70B'); exactly one. A name the law cannot use is an error.
    interval : the interval level; default 0.9 whenever the fit holds bootstrap draws
    n_bootstrap : resample the fit's stored rows first (replacing any draws);
        `on_resampled(n)` is called once they are run
    """
    res = FitResult.from_json(fit) if isinstance(fit, (str, Path)) else fit
    name = str(fit) if isinstance(fit, (str, Path)) else "the fit"
    if (at is None) == (sets is None):
        raise DataError("give exactly one of --at DATA or --set VAR=VALUE ...")
    if at is not None:
        df = read_table(at) if isinstance(at, (str, Path)) else add_derived(canonicalise(at))
    else:
        assert sets is not None
        check_set_names(res, sets)
        try:
            df = pd.DataFrame({k: [parse_number(v)] for k, v in sets.items()})
        except ValueError as exc:
            raise DataError(f"--set: {exc}") from None
        df = add_derived(canonicalise(df))
    if interval is not None and not (0 < interval < 1):
        raise DataError(f"--interval must be between 0 and 1 (e.g. 0.9), got {interval}")
    if n_bootstrap:
        if res.data_ is None:
            raise DataError(f"{name} holds no data to resample: refit with --bootstrap N")
        res.bootstrap(n_bootstrap)
        if on_resampled is not None:
            on_resampled(n_bootstrap)
    if interval is None and res.bootstrap_ is not None and not res.exact_fit_:
        interval = 0.9  # the draws are there: use them (issue 23 item 1)
    if interval is not None and res.bootstrap_ is None:
        raise DataError(
            f"{name} holds no bootstrap, so no interval: refit with "
            "`scalinglab fit ... --bootstrap 1000 --out FIT.json`"
        )
    df, n_notes = predict_n(res, df, at is not None)
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
    return PredictRun(
        fit=res,
        rows=rows,
        interval=interval if band is not None else None,
        n_resamples=int(band.attrs["n_resamples"]) if band is not None else None,
        n_params_col=fit_n_column(res.columns_, res.law.variables),
        notes=n_notes,
        diagnostics=fit_diags + diags,
    )
