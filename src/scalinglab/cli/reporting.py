"""`report` and `demo`: the HTML report and the main job."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from .._version import __version__
from ..errors import DataError, OutputPathError
from ..io import read_table
from ..io.tables import write_table
from ..query import select
from .common import (
    FORCE_HELP,
    POSITIVE_NUMBER,
    _command_line,
    _parse_numbers,
    _parse_pairs,
    _targets,
    handle_errors,
    main,
    out,
    output_path,
    preset_option,
)

# file name -> the demo's frame it holds (examples.split), written beside the report
DEMO_TABLES = {
    "runs": "all",
    "ladder": "ladder",
    "downstream": "downstream",
    "methods": "methods",
    "alignment": "alignment",
}


@main.command("report")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--law", "law_names", multiple=True, help="Law(s) to fit and plot (repeat).")
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
    type=click.Choice(["forecast", "choose-method", "transfer", "pretrain-choice", "plan"]),
    help="Workflow section(s) to add.",
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
@click.option("--force", is_flag=True, help=FORCE_HELP)
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
    force,
) -> None:
    """A self-contained HTML report: overview, fitted laws, audits, workflows.

    \b
    Examples:
      scalinglab report runs.csv --law chinchilla --leave-largest-out n_params -o report.html
      scalinglab report runs.csv --law chinchilla --holdout "n_params > 1e9" -o report.html
    """
    if holdout_q and axis:
        raise DataError(
            "give one of --holdout or --leave-largest-out, not both: the audit section runs "
            "one kind of audit (write two reports for both)"
        )
    output_path(out_path, inputs=[data], force=force, what="report")
    from ..fitting.prepare import apply_where
    from ..report import build
    from ..report.html import Report

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
            at_vals = _parse_numbers((at or "",), "--at")
            build.method_section(rep, df, factor, at_vals)
        elif wf == "transfer":
            build.transfer_section(rep, df)
        elif wf == "pretrain-choice":
            if not target_tokens:
                raise DataError("the pretrain-choice section needs --target-tokens")
            build.pretrain_section(rep, df, target_tokens)
        elif wf == "plan":
            if "chinchilla" not in fits:
                raise DataError("the plan section needs --law chinchilla")
            build.plan_section(rep, fits["chinchilla"], budget)
    path = rep.write(out_path, command=_command_line(), data_files=[data])
    out.print(
        f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB, "
        f"sections: {', '.join(build.section_names(rep))})"
    )


def _demo_files() -> list[str]:
    return ["report.html", "chinchilla_fit.json", *(f"{n}.csv" for n in DEMO_TABLES)]


def _demo_folder(folder: Path, force: bool) -> None:
    """The demo writes into a new or empty folder; one holding files only with --force, and
    then it replaces only the demo's own files (never through a link)."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputPathError("--out must be a folder (not a file or a link)", file=str(folder))
    if folder.is_dir():
        present = sorted(p.name for p in folder.iterdir())
        if present and not force:
            shown = ", ".join(present[:5]) + (" ..." if len(present) > 5 else "")
            raise OutputPathError(
                f"the demo's folder already holds {len(present)} file(s) ({shown}); pass "
                "--force to replace the demo's files there, or choose another --out",
                file=str(folder),
            )
        for name in _demo_files():
            output_path(folder / name, force=True, what="demo file")
    else:
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise OutputPathError(
                f"cannot create the folder ({exc.strerror})", file=str(folder)
            ) from None


@main.command("demo")
@click.option(
    "--out",
    "out_dir",
    default="scalinglab-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the report and the tables behind it.",
)
@click.option(
    "--quiet", is_flag=True, help="Accepted for scripts (the demo has no progress bar to hide)."
)
@click.option("--force", is_flag=True, help="Replace the demo's files in an existing --out folder.")
@handle_errors
def demo_cmd(out_dir: str, quiet: bool, force: bool) -> None:
    """Fit the papers' laws on built-in runs of scalinglab's own testbed (real training on
    2 CPU cores) and write an HTML report.

    \b
    Example:
      scalinglab demo --out scalinglab-demo
    """
    import time

    _demo_folder(Path(out_dir), force)

    from ..examples import (
        DOWNSTREAM_MIN_TOKENS,
        MIN_FIT_TOKENS,
        MIXTURE,
        TESTBED_FILE,
        example_path,
        testbed_runs,
    )
    from ..report import build
    from ..report.html import Report

    t0 = time.perf_counter()
    parts = testbed_runs()
    down = parts["downstream"][parts["downstream"]["finetune_size"] == 1000]
    lad = parts["ladder"][parts["ladder"]["tokens"] >= MIN_FIT_TOKENS]
    largest = lad["n_params"].max()
    out.print(
        f"[bold]scalinglab {__version__} demo[/]: {len(parts['all'])} runs "
        "of the cpu testbed preset (small transformers pretrained and finetuned on the KJV, "
        "Reina-Valera and Python corpora by scalinglab's testbed; real measurements)"
    )
    rep = Report("scalinglab demo report", "built-in testbed runs: the cpu preset")
    about = rep.section("about", "About this data")
    about.parts.append(
        "<p>Measured, not simulated: every row is a model trained by <code>scalinglab testbed "
        "run --preset cpu</code> on 2 CPU cores. Loss and downstream CE are nats per token of "
        "a shared 2,048-token BPE vocabulary; BLEU and chrF are greedy en&rarr;es "
        "translations of 100 held-out Bible verses (sacrebleu).</p>"
        f"<p>The laws are fitted on budgets of at least {MIN_FIT_TOKENS:,} tokens (60 "
        "optimizer steps): at the preset's smallest budget (31 steps) the larger models are "
        "still worse than smaller ones, an optimisation transient rather than scaling. The "
        f"downstream-CE law is fitted from {DOWNSTREAM_MIN_TOKENS:,} pretraining tokens on: "
        "below that, downstream CE after finetuning is flat (the finetuning set dominates), "
        "and the largest budget is held out to check the forecast.</p>"
    )
    build.overview_section(rep, lad)
    held = f"n_params >= {int(largest)}"  # exact: `:g` rounds to 6 digits
    res = build.law_section(
        rep,
        lad,
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
        lad,
        ["chinchilla"],
        holdout=None,
        axis="n_params",
        metric=None,
        mapping=None,
        preset=None,
        n_bootstrap=200,
        seed=0,
    )
    down_law = down[down["tokens"] >= DOWNSTREAM_MIN_TOKENS]
    top = down_law["tokens"].max()
    dce = build.law_section(
        rep,
        down_law,
        "downstream_ce",
        metric=None,
        mapping=None,
        holdout=f"tokens >= {int(top)}",
        preset=None,
        n_bootstrap=500,
        seed=0,
    )
    align = build.pretrain_section(rep, parts["alignment"], 4e6)
    methods = parts["methods"]
    # decide at the largest model finetuned with every method: the law's crossing can be
    # checked against the runs there (a larger, unmeasured size is pure extrapolation)
    mc = build.method_section(
        rep,
        methods.assign(loss=methods["downstream_ce"]),
        "n_params",
        {"n_params": float(methods["n_params"].max())},
    )
    build.plan_section(rep, res, 1e16)
    data_file = example_path(TESTBED_FILE)
    path = rep.write(
        Path(out_dir) / "report.html", command=_command_line(), data_files=[str(data_file)]
    )
    res.to_json(Path(out_dir) / "chinchilla_fit.json")
    for name, part in DEMO_TABLES.items():  # the tables behind each section, for the tour
        write_table(parts[part], Path(out_dir) / f"{name}.csv")
    test = select(lad, held)
    rel = np.abs(res.predict(test) - test["loss"].to_numpy()) / test["loss"].to_numpy()
    nxt = aud.folds["next_scale_rel_error"]
    out.print(
        f"chinchilla fitted on {res.n_points_} runs of the "
        f"{lad['n_params'].nunique() - 1} smaller models: "
        + ", ".join(f"{k}={res.params_[k]:.3f}" for k in ("E", "alpha", "beta"))
    )
    out.print(
        f"held-out largest model ({largest / 1e6:.2f}M params, {len(test)} budgets): mean "
        f"relative error {rel.mean():.2%} (max {rel.max():.2%}); leave-largest-out "
        f"next-scale error {nxt.mean():.2%} on average"
    )
    last = down_law[down_law["tokens"] == top]
    pred = float(dce.predict(last)[0])
    flat = down[down["tokens"] < DOWNSTREAM_MIN_TOKENS].sort_values("tokens")["downstream_ce"]
    out.print(
        f"downstream CE after FMT (1,000 pairs) vs pretraining tokens, Isik et al.'s law fitted "
        f"on {dce.n_points_} budgets from {DOWNSTREAM_MIN_TOKENS / 1e6:g}M: "
        f"E={dce.params_['E']:.3f}, alpha={dce.params_['alpha']:.3f}; predicts the held-out "
        f"{top / 1e6:.0f}M run at {pred:.3f} vs {last['downstream_ce'].iloc[0]:.3f} measured "
        f"({abs(pred / last['downstream_ce'].iloc[0] - 1):.1%} off)"
        + (
            f"; but {dce.n_points_} points for {dce.law.n_params} parameters is an exact "
            "interpolation with no interval: one check, not a forecast to rely on"
            if dce.exact_fit_
            else ""
        )
    )
    out.print(
        f"  below {DOWNSTREAM_MIN_TOKENS / 1e6:g}M pretraining tokens it is flat "
        f"({flat.iloc[0]:.2f} -> {flat.iloc[-1]:.2f}): the finetuning set dominates what the "
        "weak base model brings"
    )
    al = parts["alignment"]
    at = al[al["tokens"] == al["tokens"].max()].set_index("pretrain_data")
    out.print(
        f"pretraining corpus -> en->es after FMT at {at['tokens'].iloc[0] / 1e6:.1f}M tokens: "
        + "; ".join(
            f"{k}: CE {r['downstream_ce']:.3f}, chrF {r['chrf']:.1f}, BLEU {r['bleu']:.2f}"
            for k, r in at.sort_values("downstream_ce").iterrows()
        )
    )
    for note in align.notes:
        if "too low to rank" in note:
            out.print(f"  {note}")
    # the mixture was also pretrained to the forecast's target (downstream experiment): the
    # alignment forecast can be scored against a run it never saw
    mix = align.ranking.set_index("pretrain_data").loc[MIXTURE]
    nearest = (down["tokens"] - align.target_tokens).abs().idxmin()
    budgets = parts["alignment"]["tokens"]
    out.print(
        "  Isik et al.'s CE law fitted per corpus on these budgets "
        f"({budgets.min() / 1e3:.0f}k-{budgets.max() / 1e6:.1f}M) misses its own "
        f"data by up to {align.ranking['ce_fit_max_rel_error'].max():.1%}; its "
        f"{align.target_tokens / 1e6:g}M forecast for {MIXTURE} is {mix['ce_forecast']:.3f} vs "
        f"{down.loc[nearest, 'downstream_ce']:.3f} measured. The tool flags such forecasts "
        "(the report's notes); the law holds from 1M on (above)"
    )
    for note in mc.notes:
        if "fmt vs lora" in note or "lora is better below" in note:
            out.print(f"  {note}")
    out.print(f"report: {path.resolve()}  ({time.perf_counter() - t0:.1f} s)")
    out.print(
        f"data: {', '.join(f'{Path(out_dir) / n}.csv' for n in DEMO_TABLES)}; try "
        f"`scalinglab fit {Path(out_dir) / 'ladder.csv'} --law chinchilla "
        f"--where 'tokens >= {MIN_FIT_TOKENS}'`"
    )
