"""`report` and `demo`: the HTML report and the main job."""

from __future__ import annotations

import click

from ..report.from_data import WORKFLOW_SECTIONS
from .common import (
    FORCE_HELP,
    POSITIVE_NUMBER,
    _command_line,
    _parse_numbers,
    _parse_pairs,
    _targets,
    expression_law_options,
    handle_errors,
    main,
    out,
    preset_option,
)
from .render import render_report_figures, render_report_written

plotly_option = click.option(
    "--plotly",
    type=click.Choice(["inline", "cdn"]),
    default="inline",
    show_default=True,
    help="plotly.js inlined (a self-contained file, ~4.7 MB) or loaded from plotly's CDN "
    "(~4.6 MB smaller; the figures then need the network).",
)
format_option = click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["html", "png", "svg", "pdf"], case_sensitive=False),
    default=("html",),
    show_default=True,
    help="Also write every figure as PNG, SVG or PDF in a figures folder beside the report "
    "(repeatable; needs kaleido: pip install 'scalinglab[export]').",
)


@main.command("report")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--law", "law_names", multiple=True, help="Law(s) to fit and plot (repeat).")
@expression_law_options(
    "Hold a parameter at a value in every law that has it (repeatable); the report names it "
    "as fixed."
)
@click.option("--metric", default=None, help="Column to fit (default: the law's metric).")
@click.option("--map", "maps", multiple=True, help="VAR=COLUMN: law variable from a column.")
@click.option(
    "--where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): rows to use at all.",
)
@click.option(
    "--holdout",
    "holdout_q",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): held-out rows.",
)
@click.option(
    "--leave-largest-out",
    "axis",
    default=None,
    help="Audit along this column: fit the smaller scales, predict the larger ones "
    "(not with --holdout).",
)
@preset_option
@click.option(
    "--workflow",
    "workflows",
    multiple=True,
    type=click.Choice(WORKFLOW_SECTIONS),
    help="Workflow section(s) to add.",
)
@click.option(
    "--factors",
    default="n_params,tokens,pet",
    show_default=True,
    help="factor-effects: the factors whose exponents are compared (comma-separated).",
)
@click.option(
    "--by",
    default=None,
    help="factor-effects, constant-exponent, transfer: one result per value of this column.",
)
@click.option(
    "--section-where",
    default=None,
    help="transfer, constant-exponent: rows of the section's own fit (a query).",
)
@click.option(
    "--chance-table",
    default=None,
    type=click.Path(dir_okay=False),
    help="select-tasks: table with task and random_baseline_acc (or chance) columns.",
)
@click.option(
    "--select-at",
    default=None,
    help="select-tasks: reference runs, NAME=VALUE (nearest size) or a query.",
)
@click.option("--target", "targets", multiple=True, help="forecast: VAR=VALUE,...")
@click.option("--target-where", default=None, help="forecast: runs to predict.")
@click.option("--fit-where", default=None, help="forecast: loss-fit runs.")
@click.option("--error-fit-where", default=None, help="forecast: error-fit runs.")
@click.option("--loss-law", default="overtrain", show_default=True, help="forecast: step 1 law.")
@click.option("--loss-col", default="loss", show_default=True, help="forecast: column of the loss.")
@click.option(
    "--error-col",
    default="error",
    show_default=True,
    help="forecast: column of the downstream error.",
)
@click.option("--factor", default="n_params", show_default=True, help="choose-method factor.")
@click.option("--at", "at", default=None, help="choose-method: FACTOR=VALUE.")
@click.option(
    "--target-tokens",
    default=None,
    type=POSITIVE_NUMBER,
    help="pretrain-choice: tokens to forecast at.",
)
@click.option(
    "--budget", default="1e23", show_default=True, type=POSITIVE_NUMBER, help="plan: FLOP budget."
)
@click.option(
    "--bootstrap",
    "n_boot",
    default=500,
    show_default=True,
    type=int,
    help="Bootstrap resamples for intervals (the audit section uses at most 300 per fold; "
    "the report states the count used).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed (starts, resamples)."
)
@click.option(
    "-o",
    "--out",
    "out_path",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The HTML file to write.",
)
@plotly_option
@format_option
@click.option("--force", is_flag=True, help=FORCE_HELP)
@handle_errors
def report_cmd(
    data,
    law_names,
    expr,
    params,
    fixes,
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
    factors,
    by,
    section_where,
    chance_table,
    select_at,
    n_boot,
    seed,
    out_path,
    plotly,
    formats,
    force,
) -> None:
    """A self-contained HTML report: overview, fitted laws, audits, workflows.

    \b
    Examples:
      scalinglab report runs.csv --law chinchilla --leave-largest-out n_params -o report.html
      scalinglab report runs.csv --law chinchilla --holdout "n_params > 1e9" --plotly cdn
      scalinglab report runs.csv --expr "E + A/n_params**alpha" --param E=0:10 \\
          --param A=1:1e6 --param alpha=0:2 --fix E=1.7 --leave-largest-out n_params
    """
    from ..laws.expression import parse_param_option
    from ..report.from_data import write_report

    # parse: option strings -> library arguments (syntax only; write_report checks the rest)
    written = write_report(
        data,
        out_path,
        force=force,
        plotly=plotly,
        formats=formats,
        command=_command_line(),
        on_written=render_report_written,
        law_names=law_names,
        expr=expr,
        params=dict(parse_param_option(p) for p in params),
        fixes=_parse_numbers(fixes, "--fix"),
        metric=metric,
        mapping=_parse_pairs(maps, "--map"),
        where=where,
        holdout=holdout_q,
        leave_largest_out=axis,
        preset=preset,
        workflows=workflows,
        targets=_targets(targets) if targets else None,
        target_where=target_where,
        fit_where=fit_where,
        error_fit_where=error_fit_where,
        loss_law=loss_law,
        loss_col=loss_col,
        error_col=error_col,
        factor=factor,
        at=_parse_numbers((at,), "--at") if at else None,
        target_tokens=target_tokens,
        budget=budget,
        factors=[f.strip() for f in factors.split(",") if f.strip()],
        by=by,
        section_where=section_where,
        chance_table=chance_table,
        select_at=select_at,
        n_bootstrap=n_boot,
        seed=seed,
    )
    render_report_figures(written)


@main.command("demo")
@click.option(
    "--out",
    "out_dir",
    default="scalinglab-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the report and the tables behind it.",
)
@plotly_option
@format_option
@click.option(
    "--quiet", is_flag=True, help="Accepted for scripts (the demo has no progress bar to hide)."
)
@click.option("--force", is_flag=True, help="Replace the demo's files in an existing --out folder.")
@handle_errors
def demo_cmd(out_dir: str, plotly: str, formats: tuple[str, ...], quiet: bool, force: bool) -> None:
    """Fit the papers' laws on built-in runs of scalinglab's own testbed (real training on
    2 CPU cores) and write an HTML report.

    \b
    Examples:
      scalinglab demo --out scalinglab-demo
      scalinglab demo --out demo-small --plotly cdn --format png
    """
    from ..report.demo import run_demo

    run_demo(
        out_dir,
        force=force,
        command=_command_line(),
        plotly=plotly,
        formats=formats,
        echo=lambda line: out.print(line, markup=False, highlight=False),
    )
