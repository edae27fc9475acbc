"""`inspect`, `import-harness`, `import-tracker`, `merge`: getting results into the schema."""

from __future__ import annotations

import click

from ..errors import DataError
from .common import (
    FORCE_HELP,
    _parse_numbers,
    _parse_pairs,
    _write,
    emit_json,
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
    from .render_data import render_inspect

    rep = inspect_file(data, where=where, outliers=not no_outliers, metric=metric)
    if as_json:
        emit_json(rep)
        return
    render_inspect(rep)


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
    from ..io.harness import summary_lines
    from ..workflows.harness_import import import_harness
    from .render_data import render_harness_long, render_import_harness

    inputs = [*paths, side_table, chance_table]
    output_path(out_path, inputs=inputs, force=force)
    set_values = _parse_numbers(sets, "--set")
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
        if bare and pairs:  # DataError is a ValueError: raised inside the try, it was lost
            raise DataError("--shots: give N or TASK=N, not both")
        try:
            shots = int(bare[-1]) if bare else {k: int(v) for k, v in pairs.items()}
        except ValueError:
            raise DataError(f"--shots {' '.join(shots_opt)}: shot counts are integers") from None
    table = import_harness(
        list(paths),
        side_table=side_table,
        on=on,
        set_values=set_values,
        long=long_format,
        metric=prefer,
        task_metrics=per_task,
        tasks=[t.strip() for t in tasks.split(",")] if tasks else None,
        chance=_parse_numbers(chances, "--chance") or None,
        chance_table=chance_table,
        correct_chance=chance_correct,
        min_above_chance=min_above_chance,
        level=level,
        shots=shots,
    )
    if long_format:
        render_harness_long(table)
    else:
        render_import_harness(table, summary_lines(table), chance_correct)
    _write(table, out_path, force=force, inputs=inputs)


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
    from .render_data import render_merge

    output_path(out_path, inputs=[evals, meta], force=force)
    merged, report = merge_files(evals, meta, on, how=how, strict=strict, where=where)
    render_merge(report)
    _write(merged, out_path, force=force, inputs=[evals, meta])
