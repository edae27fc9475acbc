"""`report` and `demo`: the HTML report and the main job."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from .. import __version__
from ..errors import DataError
from ..fit.presets import PRESETS
from ..io import read_table
from ..laws import get_law
from ..schema import parse_number
from .common import _command_line, _parse_pairs, _targets, handle_errors, main, out


@main.command("report")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--law", "law_names", multiple=True, help="Law(s) to fit and plot (repeat).")
@click.option("--metric", default=None)
@click.option("--map", "maps", multiple=True, help="VAR=COLUMN.")
@click.option("--where", default=None, help="Pandas query: rows to use at all.")
@click.option("--holdout", "holdout_q", default=None, help="Pandas query: held-out rows.")
@click.option("--leave-largest-out", "axis", default=None, help="Audit along this column.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None)
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
@click.option("--loss-law", default="overtrain", show_default=True)
@click.option("--loss-col", default="loss", show_default=True)
@click.option("--error-col", default="error", show_default=True)
@click.option("--factor", default="n_params", show_default=True, help="choose-method factor.")
@click.option("--at", "at", default=None, help="choose-method: FACTOR=VALUE.")
@click.option("--target-tokens", default=None, help="pretrain-choice: tokens to forecast at.")
@click.option("--budget", default="1e23", show_default=True, help="plan: FLOP budget.")
@click.option("--bootstrap", "n_boot", default=500, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "-o",
    "--out",
    "out_path",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
)
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
) -> None:
    """A self-contained HTML report: overview, fitted laws, audits, workflows."""
    from ..fit.prepare import apply_where
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
            at_vals = {k: parse_number(v) for k, v in _parse_pairs((at or "",), "--at").items()}
            build.method_section(rep, df, factor, at_vals)
        elif wf == "transfer":
            build.transfer_section(rep, df)
        elif wf == "pretrain-choice":
            if not target_tokens:
                raise DataError("the pretrain-choice section needs --target-tokens")
            build.pretrain_section(rep, df, parse_number(target_tokens))
        elif wf == "plan":
            if "chinchilla" not in fits:
                raise DataError("the plan section needs --law chinchilla")
            build.plan_section(rep, fits["chinchilla"], parse_number(budget))
    path = rep.write(out_path, command=_command_line(), data_files=[data])
    out.print(
        f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB, "
        f"sections: {', '.join(build.section_names(rep))})"
    )


@main.command("demo")
@click.option(
    "--out",
    "out_dir",
    default="scalinglab-demo",
    show_default=True,
    type=click.Path(file_okay=False),
)
@click.option("--quiet", is_flag=True)
def demo_cmd(out_dir: str, quiet: bool) -> None:
    """Fit the papers' laws on built-in (simulated) runs and write an HTML report."""
    import time

    from ..examples import FINETUNE_FILE, TRUE_PARAMS, example_path
    from ..report import build
    from ..report.html import Report

    t0 = time.perf_counter()
    runs_path, ft_path = example_path(), example_path(FINETUNE_FILE)
    df = read_table(runs_path)
    ft = read_table(ft_path)
    out.print(
        f"[bold]scalinglab {__version__} demo[/]: {len(df)} pretraining runs and "
        f"{len(ft)} finetuning runs, [bold yellow]SIMULATED[/] from published laws"
    )
    rep = Report(
        "scalinglab demo report",
        "built-in example runs",
        banner="SIMULATED DATA: these runs were generated from published scaling-law "
        "parameters (see scalinglab/examples.py), not trained models.",
    )
    build.overview_section(rep, df)
    held = "n_params >= 1e9"
    res = build.law_section(
        rep,
        df,
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
        df,
        ["chinchilla"],
        holdout=None,
        axis="n_params",
        metric=None,
        mapping=None,
        preset=None,
        n_bootstrap=200,
        seed=0,
    )
    target = {"n_params": 7e9, "tokens": 140e9}
    fc = build.forecast_section(
        rep,
        df,
        dict(
            targets=[target],
            loss_law="chinchilla",
            fit_where=f"not ({held})",
            n_bootstrap=1000,
            seed=0,
        ),
    )
    mc = build.method_section(rep, ft, "n_params", {"n_params": 16e9})
    build.plan_section(rep, res, 1e23)
    path = rep.write(
        Path(out_dir) / "report.html",
        command=_command_line(),
        data_files=[str(runs_path), str(ft_path)],
    )
    res.to_json(Path(out_dir) / "chinchilla_fit.json")
    test = df.query(held)
    pred = res.predict(test)
    rel = np.abs(pred - test["loss"].to_numpy()) / test["loss"].to_numpy()
    t = fc.targets.iloc[0]
    truth = get_law("chinchilla").evaluate(TRUE_PARAMS, {k: [v] for k, v in target.items()})[0]
    nxt = aud.summary["next_scale_rel_error"]
    out.print(
        f"chinchilla law fitted on {res.n_points_} runs (< 1B params): E={res.params_['E']:.3f}"
        f", alpha={res.params_['alpha']:.3f}, beta={res.params_['beta']:.3f}"
    )
    out.print(
        f"held-out 1.28B runs: mean relative error {rel.mean():.2%} (max {rel.max():.2%}); "
        f"leave-largest-out next-scale error {nxt.mean():.2%} on average"
    )
    out.print(
        f"forecast for 7B params on 140B tokens: loss {t['loss_pred']:.3f} "
        f"[{t['loss_lo']:.3f}, {t['loss_hi']:.3f}] (simulating law: {truth:.3f}), "
        f"downstream error {t['error_pred']:.3f} [{t['error_lo']:.3f}, "
        f"{t['error_hi']:.3f}], from {t['compute_ratio_loss']:.0f}x less compute"
    )
    for note in mc.notes:
        out.print(f"finetuning: {note}")
    out.print(f"report: {path.resolve()}  ({time.perf_counter() - t0:.1f} s)")
