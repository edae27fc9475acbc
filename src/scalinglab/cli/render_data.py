"""Rendering for the data commands (`inspect`, `import-harness`, `merge`) on the terminal:
the commands parse options and call the library, then hand the result here (issue 16: parse
-> call -> render, as `render.py` does for fit and predict). Every user string (file, column,
model, task and run names, queries) is escaped, so it is never read as rich markup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from rich.markup import escape
from rich.table import Table

from .common import err, out


def _lines(lines: Any, console: Any = out) -> None:
    for line in lines:
        console.print(escape(str(line)), highlight=False)


# -- inspect --------------------------------------------------------------------------------


def render_inspect(rep: Mapping[str, Any]) -> None:
    """`inspect_file`'s report: header, runs, column roles, ranges, duplicates, outliers,
    findings (stderr) and the laws the data can feed."""
    sel = rep.get("where")
    out.print(
        f"[bold]{escape(str(rep['source']))}[/]: {rep['rows']} rows"
        + (f" (of {sel['rows_before']}, --where {escape(repr(sel['query']))})" if sel else "")
        + f", {len(rep['columns'])} columns"
    )
    ident = rep.get("runs")
    if ident:
        out.print(escape(ident["text"]), highlight=False)
    _render_columns(rep["columns"])
    _render_ranges(rep["ranges"])
    dk = rep["duplicate_keys"]
    out.print(
        f"duplicate rows: {rep['duplicate_rows']}; rows repeating the same "
        f"({escape(', '.join(dk['columns']))}): {dk['count']}"
    )
    _render_outliers(rep.get("outliers"))
    for b in rep.get("bad_values", []):
        err.print(f"[bold yellow]finding[/]: {escape(b['text'])}", highlight=False)
    for msg in rep.get("plausibility", []):
        err.print(f"[bold yellow]check[/]: {escape(msg)}", highlight=False)
    out.print("laws this data can feed:")
    for law in rep["laws"]:
        out.print(escape(f"  {law['law']:<24} " + ("ready" if law["ready"] else law["note"])))


def _render_columns(columns: list[Mapping[str, Any]]) -> None:
    t = Table(title="columns")
    for head in ("column", "from", "role", "unit", "missing"):
        t.add_column(head)
    many = len(columns) > 30
    for c in columns:
        if c["role"] == "other" and many:
            continue
        name = c["column"] + (" (derived)" if c["derived"] else "")
        t.add_row(
            escape(name),
            escape(c["from"]) if c["from"] != c["column"] else "",
            escape(c["role"]),
            escape(c["unit"]),
            str(c["missing"]) if c["missing"] else "",
        )
    out.print(t)
    others = [c["column"] for c in columns if c["role"] == "other"]
    if others:
        out.print(
            escape(
                f"other columns ({len(others)}): {', '.join(others[:40])}"
                + (" ..." if len(others) > 40 else "")
            )
        )


def _render_ranges(ranges: list[Mapping[str, Any]]) -> None:
    t = Table(title="ranges")
    for head in ("column", "min", "max", "unique", "orders of magnitude"):
        t.add_column(head, justify="right")
    for r in ranges:
        oom = r["orders_of_magnitude"]
        t.add_row(
            escape(r["column"]),
            f"{r['min']:.4g}",
            f"{r['max']:.4g}",
            str(r["unique"]),
            f"{oom:.2f}" if oom is not None else "-",
        )
    out.print(t)


def _render_outliers(o: Mapping[str, Any] | None) -> None:
    if not o:
        return
    if o["rows"]:
        out.print(
            escape(
                f"suspected outliers ({o['law']} fit of {o['metric']}, robust |z| > "
                f"{o['threshold_z']:g}): "
                + ", ".join(
                    f"row {r} ({v:.4g}, z={z:+.1f})"
                    for r, v, z in zip(o["rows"], o["values"], o["z"], strict=True)
                )
            )
        )
    else:
        out.print(escape(f"no suspected outliers ({o['law']} fit of {o['metric']})"))


# -- import-harness -------------------------------------------------------------------------


def harness_file_lines(long: pd.DataFrame) -> list[str]:
    """What `import-harness --long` says: files read and skipped, side-table matching and
    duplicate files (with the rule applied)."""
    from ..io.harness import DUPLICATE_RULE

    a = long.attrs
    lines = [
        f"read {len(a.get('harness_files', []))} results file(s); "
        f"{len(a.get('harness_skipped', []))} other .json file(s) skipped"
    ]
    if a.get("harness_side_match") is not None:
        lines.extend(a["harness_side_match"].lines())
    if a.get("harness_duplicates"):
        lines.append(f"duplicate results; rule: {DUPLICATE_RULE}:")
        lines.extend(f"  {d}" for d in a["harness_duplicates"])
    return lines


def render_harness_long(long: pd.DataFrame) -> None:
    """The summary of `import-harness --long` (every task x metric row written)."""
    _lines(harness_file_lines(long))


def _names(ms: list[str]) -> str:
    return ", ".join(ms[:5]) + (f" and {len(ms) - 5} more" if len(ms) > 5 else "")


def missing_size_warnings(agg: pd.DataFrame) -> list[str]:
    """Rows without n_params or tokens, with the way to fill them. With a side table given,
    the models it did not provide for are named (asking for --side-table again would send the
    user in a circle)."""
    match = agg.attrs.get("harness_side_match")
    lines = []
    for col in ("n_params", "tokens"):
        missing = agg[col].isna() if col in agg else None
        if missing is not None and not missing.any():
            continue
        k = int(missing.sum()) if missing is not None else len(agg)
        per_step = " or --set tokens_per_step=..." if col == "tokens" else ""
        models = sorted(agg.loc[missing, "model"].astype(str).unique()) if k < len(agg) else []
        if match is None:  # which models: 'mera-mix-4x7B' is not a size to guess from
            which = f" ({_names(models)})" if models else ""
            lines.append(
                f"{k} row(s) have no {col}{which}: give --side-table, --set {col}=...{per_step}"
            )
            continue
        if missing is None or not models:
            models = sorted(agg["model"].astype(str).unique())
        unmatched = [m for m in models if m in match.unmatched]
        names = _names

        if unmatched:
            lines.append(
                f"{k} row(s) have no {col}: {names(unmatched)} not matched in the side table "
                "(closest names above): add a row for each"
            )
            continue
        what = f"{col} or tokens_per_step" if col == "tokens" else col
        lines.append(
            f"{k} row(s) have no {col}: the side table gives no {what} for {names(models)}: "
            "fill it in"
            + (f", or --set {col}=...{per_step} for every file" if k == len(agg) else "")
        )
    return lines


def render_import_harness(agg: pd.DataFrame, lines: list[str], chance_correct: bool) -> None:
    """The import summary (`harness.summary_lines`), then warnings on stderr: rows without
    sizes or tokens, and rows below chance after --chance-correct."""
    _lines(lines)
    for w in missing_size_warnings(agg):
        err.print(f"[yellow]warning[/]: {escape(w)}", highlight=False)
    below = agg["accuracy"] < 0
    if chance_correct and below.any():
        err.print(
            f"[yellow]warning[/]: {int(below.sum())} row(s) are below chance after "
            "--chance-correct (accuracy < 0, error > 1); scalinglab's table readers refuse "
            "accuracy outside [0, 1], so filter them before fitting",
            highlight=False,
        )


# -- merge ----------------------------------------------------------------------------------


def render_merge(report: Any) -> None:
    """A merge's report: what joined (stdout when every key matched, else stderr) and the
    values that break scalinglab's rules (stderr)."""
    _lines(report.lines(), out if report.complete else err)
    _lines(report.finding_lines(), err)
