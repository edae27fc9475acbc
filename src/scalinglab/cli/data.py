"""`inspect`, `import-harness`, `import-tracker`, `merge`: getting results into the schema."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from ..errors import DataError
from ..io import read_table
from ..schema import parse_number
from .common import (
    FORCE_HELP,
    _parse_pairs,
    _write,
    emit_json,
    err,
    handle_errors,
    main,
    out,
    output_path,
)


@main.command("inspect")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--no-outliers", is_flag=True, help="Skip the outlier fit.")
@click.option(
    "--metric",
    default=None,
    help="The metric being studied: outliers are looked for in it (default: the first "
    "loss-like column).",
)
@click.option(
    "--where",
    default=None,
    help="Inspect only the rows matching a query, e.g. 'tokens > 0' (applied before any "
    "check of the values).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def inspect_cmd(data, no_outliers, metric, where, as_json) -> None:
    """What scalinglab recognised in DATA and which laws it can feed.

    Columns and their roles, runs and checkpoints, ranges, duplicates, values that break
    scalinglab's rules (reported, not refused), suspected outliers and the laws that are
    ready to fit.

    \b
    Example:
      scalinglab inspect runs.csv
      scalinglab inspect runs.csv --where "tokens > 0" --no-outliers --json
    """
    from ..inspect import inspect_file

    rep = inspect_file(data, where=where, outliers=not no_outliers, metric=metric)
    if as_json:
        emit_json(rep)
        return
    sel = rep.get("where")
    out.print(
        f"[bold]{escape(str(rep['source']))}[/]: {rep['rows']} rows"
        + (f" (of {sel['rows_before']}, --where {escape(repr(sel['query']))})" if sel else "")
        + f", {len(rep['columns'])} columns"
    )
    ident = rep.get("runs")
    if ident:
        out.print(ident["text"], highlight=False)
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
    for b in rep.get("bad_values", []):
        err.print(f"[bold yellow]finding[/]: {escape(b['text'])}", highlight=False)
    for msg in rep.get("plausibility", []):
        err.print(f"[bold yellow]check[/]: {escape(msg)}", highlight=False)
    out.print("laws this data can feed:")
    for law in rep["laws"]:
        out.print(f"  {law['law']:<24} " + ("ready" if law["ready"] else law["note"]))


@main.command("import-harness")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The runs table to write (CSV, TSV, Parquet or JSONL by extension).",
)
@click.option(
    "--side-table",
    default=None,
    type=click.Path(dir_okay=False),
    help="Table with n_params (and n_params_nonembedding, tokens or tokens_per_step) per "
    "model, matched on --on; with it no size or token count is parsed from names.",
)
@click.option("--on", default="model", show_default=True, help="The side table's model column.")
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
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="TASK=METRIC for one task, or METRIC to prefer for every task (repeat; a metric may "
    "name a filter: gsm8k=exact_match,flexible-extract). Default: acc_norm > acc > "
    "exact_match, filter none > strict-match.",
)
@click.option("--tasks", default=None, help="Comma-separated tasks to average (default: all).")
@click.option(
    "--level",
    type=click.Choice(["top", "leaves"]),
    default="top",
    show_default=True,
    help="Average top-level tasks (groups by their own value) or leaf tasks (no groups).",
)
@click.option(
    "--shots",
    "shots_opt",
    multiple=True,
    help="Keep results at N shots (N, or TASK=N; repeat) when a task has several.",
)
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
@click.option("--force", is_flag=True, help=FORCE_HELP)
@handle_errors
def import_harness_cmd(
    paths,
    out_path,
    side_table,
    on,
    sets,
    long_format,
    metrics,
    tasks,
    level,
    shots_opt,
    chances,
    chance_table,
    chance_correct,
    min_above_chance,
    force,
) -> None:
    """lm-evaluation-harness results (files or folders, found by content) -> a runs table.

    One row per model x checkpoint: score_<task> (the task's metric, a fraction as the files
    hold it), shots_<task>, ce_<task> and ce_<task>_unit for perplexities and bits per byte
    (in nats), accuracy / error / chance averaged over tasks, n_params (and
    n_params_nonembedding), tokens, and where each came from (*_source). The summary names
    the metric chosen per task, every task left out and why, and duplicate files.

    \b
    Example:
      scalinglab import-harness lm_eval_out/ --side-table models.csv -o runs.csv
    """
    from ..io import aggregate_error, read_harness
    from ..io.harness import summary_lines

    inputs = [*paths, side_table, chance_table]
    output_path(out_path, inputs=inputs, force=force)

    set_values = {k: parse_number(v) for k, v in _parse_pairs(sets, "--set").items()}
    long = read_harness(list(paths), side_table=side_table, on=on, set_values=set_values)
    if long_format:
        for line in _file_lines(long):
            out.print(line, highlight=False)
        _write(long, out_path, force=force, inputs=inputs)
        return
    prefer, per_task = [], {}
    for m in metrics:
        head = m.split(",", 1)[0]
        if "=" in head:
            task, spec = m.split("=", 1)
            per_task[task.strip()] = spec.strip()
        else:
            prefer.append(m.strip())
    shots = None
    if shots_opt:
        bare = [s for s in shots_opt if "=" not in s]
        pairs = _parse_pairs(tuple(s for s in shots_opt if "=" in s), "--shots")
        try:
            if bare and pairs:
                raise DataError("--shots: give N or TASK=N, not both")
            shots = int(bare[-1]) if bare else {k: int(v) for k, v in pairs.items()}
        except ValueError:
            raise DataError(f"--shots {' '.join(shots_opt)}: shot counts are integers") from None
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
        metric=prefer or None,
        task_metrics=per_task,
        tasks=[t.strip() for t in tasks.split(",")] if tasks else None,
        chance=chance,
        correct_chance=chance_correct,
        min_above_chance=min_above_chance,
        level=level,
        shots=shots,
    )
    for line in summary_lines(agg):
        out.print(line, highlight=False, markup=False)
    for col in ("n_params", "tokens"):
        missing = agg[col].isna() if col in agg else None
        if missing is not None and f"{col}_source" in agg:  # step 0 is said in the summary
            missing &= ~agg[f"{col}_source"].astype(str).str.startswith("0 at step 0")
        if missing is None or missing.any():
            k = int(missing.sum()) if missing is not None else len(agg)
            err.print(
                f"[yellow]warning[/]: {k} row(s) have no {col}: "
                f"give --side-table, --set {col}=... or --set tokens_per_step=...",
                highlight=False,
            )
    below = agg["accuracy"] < 0
    if chance_correct and below.any():
        err.print(
            f"[yellow]warning[/]: {int(below.sum())} row(s) are below chance after "
            "--chance-correct (accuracy < 0, error > 1); scalinglab's table readers refuse "
            "accuracy outside [0, 1], so filter them before fitting",
            highlight=False,
        )
    _write(agg, out_path, force=force, inputs=inputs)


def _file_lines(long) -> list[str]:
    a = long.attrs
    lines = [
        f"read {len(a.get('harness_files', []))} results file(s); "
        f"{len(a.get('harness_skipped', []))} other .json file(s) skipped"
    ]
    if a.get("harness_side_match") is not None:
        lines.extend(a["harness_side_match"].lines())
    from ..io.harness import DUPLICATE_RULE

    if a.get("harness_duplicates"):
        lines.append(f"duplicate results; rule: {DUPLICATE_RULE}:")
        lines.extend(f"  {d}" for d in a["harness_duplicates"])
    return lines


@main.command("import-tracker")
@click.argument("export", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The runs table to write (CSV, TSV, Parquet or JSONL by extension).",
)
@click.option(
    "--kind",
    type=click.Choice(["auto", "wandb", "mlflow"]),
    default="auto",
    show_default=True,
    help="Which tracker wrote the export (auto: told by its columns).",
)
@click.option(
    "--mapping",
    default=None,
    type=click.Path(dir_okay=False),
    help="YAML/JSON: columns: {canonical: export column}.",
)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@handle_errors
def import_tracker_cmd(export, out_path, kind, mapping, force) -> None:
    """A Weights & Biases or MLflow runs export -> a runs table.

    \b
    Example:
      scalinglab import-tracker wandb_export.csv -o runs.csv
    """
    from ..io import read_tracker_export

    output_path(out_path, inputs=[export, mapping], force=force)

    df = read_tracker_export(export, kind=kind, mapping=mapping)
    out.print(
        f"{df.attrs['scalinglab_tracker']} export: {len(df)} runs; columns: "
        f"{', '.join(map(str, df.columns))}"
    )
    _write(df, out_path, force=force, inputs=[export, mapping])


@main.command("merge")
@click.argument("evals", type=click.Path(dir_okay=False))
@click.argument("meta", type=click.Path(dir_okay=False))
@click.option("--on", "on", required=True, help="Key column(s), comma-separated.")
@click.option(
    "-o",
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The merged table to write (CSV, TSV, Parquet or JSONL by extension).",
)
@click.option(
    "--how",
    type=click.Choice(["inner", "left", "outer"]),
    default="inner",
    show_default=True,
    help="Join kind: inner keeps matched rows, left every eval row, outer every row.",
)
@click.option("--strict", is_flag=True, help="Fail if any key is unmatched on either side.")
@click.option(
    "--where",
    default=None,
    help="Keep the joined rows matching a query over either table's columns, e.g. "
    "'tokens > 0' (names and numbers as scalinglab reads them; applied before any check).",
)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@handle_errors
def merge_cmd(evals, meta, on, out_path, how, strict, where, force) -> None:
    """Join eval results to run metadata; unmatched rows are listed, never dropped silently.

    Both files are joined as written (labels such as size "190M" stay as they are); a blank
    key matches a blank key, as in pandas, and the count of such rows is printed. Values that
    break scalinglab's rules (tokens 0, accuracy above 1) are reported with their rows and
    the table is still written: filter them with --where here or when fitting.

    \b
    Example:
      scalinglab merge evals.csv models.csv --on model -o runs.csv
      scalinglab merge tasks.csv checkpoints.csv --on run,step --where "tokens > 0" -o t.csv
    """
    from ..workflows.merge_files import merge_files

    output_path(out_path, inputs=[evals, meta], force=force)
    merged, report = merge_files(evals, meta, on, how=how, strict=strict, where=where)
    for line in report.lines():
        (out if report.complete else err).print(line, highlight=False, markup=False)
    for line in report.finding_lines():
        err.print(escape(line), highlight=False)
    _write(merged, out_path, force=force, inputs=[evals, meta])
