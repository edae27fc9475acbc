"""`report` and `demo`: the HTML report and the main job."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import DataError
from ..io import read_table
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
    output_path,
    preset_option,
)

# --law values the choose-method section decides with (per method), rather than law sections
CHOICE_LAWS = ("finetune_multiplicative", "finetune_additive")

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


def _check_section_options(
    workflows: tuple[str, ...], given: dict[str, tuple[bool, tuple[str, ...]]]
) -> None:
    """An option of a workflow section given without that section was ignored without a
    word (`report --target-where Q` without `--workflow forecast`): now it is an error."""
    for option, (used, sections) in given.items():
        if used and not set(sections) & set(workflows):
            raise DataError(
                f"{option} applies to the {' / '.join(sections)} section; add "
                f"--workflow {sections[0]} (or drop {option})"
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
    type=click.Choice(
        [
            "forecast",
            "choose-method",
            "transfer",
            "pretrain-choice",
            "plan",
            "factor-effects",
            "select-tasks",
            "constant-exponent",
        ]
    ),
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
    if holdout_q and axis:
        raise DataError(
            "give one of --holdout or --leave-largest-out, not both: the audit section runs "
            "one kind of audit (write two reports for both)"
        )
    _check_section_options(
        workflows,
        {
            "--target": (bool(targets), ("forecast",)),
            "--target-where": (bool(target_where), ("forecast",)),
            "--error-fit-where": (bool(error_fit_where), ("forecast",)),
            "--at": (bool(at), ("choose-method",)),
            "--target-tokens": (bool(target_tokens), ("pretrain-choice",)),
            "--chance-table": (bool(chance_table), ("select-tasks",)),
            "--select-at": (bool(select_at), ("select-tasks",)),
            "--section-where": (bool(section_where), ("transfer", "constant-exponent")),
            "--by": (bool(by), ("factor-effects", "constant-exponent", "transfer")),
        },
    )
    from .auditing import _audit_laws

    laws = _audit_laws(law_names, expr, params, fixes, metric) if (law_names or expr) else []
    output_path(out_path, inputs=[data], force=force, what="report")
    from ..fitting.prepare import apply_where
    from ..report import build
    from ..report.export import check_formats, export_figures

    static = check_formats(formats)  # a missing kaleido is named before the fits
    from ..report.html import Report
    from ..schema import validation_deferred

    with validation_deferred():  # --where first; each section checks the columns it uses
        df = read_table(data)
    n_file = len(df)
    df = apply_where(df, where)
    from ..workflows.checkpoints import describe_runs, run_ids

    runs = run_ids(df)
    subtitle = f"{len(df)} rows" + (f" of {n_file} (--where {where})" if where else "")
    if runs is not None and runs.duplicated().any():  # '8 runs, 128 checkpoints'
        subtitle = describe_runs(df, runs) + (f" (--where {where})" if where else "")
    rep = Report(f"scalinglab report: {Path(data).name}", subtitle)
    build.overview_section(rep, df, metric=metric, where=(where, n_file) if where else None)
    mapping = _parse_pairs(maps, "--map")
    fits = {}
    for law in laws:
        if "choose-method" in workflows and law.name in CHOICE_LAWS:
            continue  # the method-choice section's per-method law, not a pooled fit
        fits[law.name] = build.law_section(
            rep,
            df,
            law,
            metric=metric,
            mapping=mapping,
            holdout=holdout_q,
            preset=preset,
            n_bootstrap=n_boot,
            seed=seed,
        )
    if laws and (holdout_q or axis):
        build.audit_section(
            rep,
            df,
            laws,
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
            if targets and target_where:
                raise DataError(
                    "give --target or --target-where, not both: the forecast section predicts "
                    "either the points you list or the runs a query selects"
                )
            if not (targets or target_where):
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
            at_vals = _parse_numbers((at or "",), "--at")
            cands = [n for n in law_names if n in CHOICE_LAWS]
            if len(cands) > 1:
                raise DataError(
                    "the choose-method section decides with one law: give one of "
                    "--law finetune_multiplicative / finetune_additive, or neither (the one "
                    "with the lower held-out error)"
                )
            build.method_section(
                rep,
                df,
                factor,
                at_vals,
                metric=metric or "loss",
                law=cands[0] if cands else None,
                n_bootstrap=n_boot,
                seed=seed,
            )
        elif wf == "transfer":
            build.transfer_section(rep, df, by=by, where=section_where)
        elif wf == "factor-effects":
            names = [f.strip() for f in factors.split(",") if f.strip()]
            build.factor_effects_section(
                rep, df, names, metric=metric or "loss", by=by or "method", n_bootstrap=n_boot
            )
        elif wf == "select-tasks":
            if not chance_table:
                raise DataError("the select-tasks section needs --chance-table")
            from ..workflows.task_selection import chance_table as read_chances

            build.task_selection_section(rep, df, read_chances(chance_table), select_at=select_at)
        elif wf == "constant-exponent":
            build.constant_exponent_section(
                rep, df, loss_col=loss_col, by=by, where=section_where, n_bootstrap=n_boot
            )
        elif wf == "pretrain-choice":
            if not target_tokens:
                raise DataError("the pretrain-choice section needs --target-tokens")
            build.pretrain_section(rep, df, target_tokens, metric=metric or "bleu")
        elif wf == "plan":
            if "chinchilla" not in fits:
                raise DataError("the plan section needs --law chinchilla")
            build.plan_section(rep, fits["chinchilla"], budget)
    path = rep.write(out_path, command=_command_line(), data_files=[data], plotly=plotly)
    out.print(
        f"report written to {path} ({path.stat().st_size / 1e6:.2f} MB, plotly.js {plotly}; "
        f"sections: {', '.join(build.section_names(rep))})"
    )
    if static:
        folder = path.with_name(f"{path.stem}_figures")
        files = export_figures(rep.figures, folder, static)
        out.print(f"{len(files)} figure files ({', '.join(static)}) written to {folder}")


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
