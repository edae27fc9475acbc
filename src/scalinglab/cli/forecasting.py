"""Two-step downstream forecasts: `forecast` (loss law, then loss -> error) and `ladder`
(the OLMo model-ladder method on checkpoints)."""

from __future__ import annotations

import click

from ..errors import DataError
from ..io import read_table
from .common import (
    LEVEL,
    _targets,
    compute_saving,
    emit_json,
    err,
    handle_errors,
    interval_note,
    main,
    out,
    preset_option,
)


@main.command("forecast")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--target",
    "targets",
    multiple=True,
    help="VAR=VALUE,... e.g. n_params=6.9e9,tokens=138e9 (repeat).",
)
@click.option(
    "--target-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): runs to predict (truth known).",
)
@click.option(
    "--loss-law", default="overtrain", show_default=True, help="Step 1 law: (N, D) -> loss."
)
@click.option(
    "--error-law",
    default="loss_to_error",
    show_default=True,
    help="Step 2 law: loss -> downstream error.",
)
@click.option("--loss-col", default="loss", show_default=True, help="Column of the loss.")
@click.option(
    "--error-col", default="error", show_default=True, help="Column of the downstream error."
)
@click.option(
    "--fit-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): the loss-fit runs.",
)
@click.option(
    "--error-fit-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): the error-fit runs.",
)
@preset_option
@click.option(
    "--bootstrap",
    "n_boot",
    default=1000,
    show_default=True,
    type=int,
    help="Joint bootstrap resamples of both steps for the intervals (0: none).",
)
@click.option(
    "--interval",
    default=0.9,
    show_default=True,
    type=LEVEL,
    help="Level of the prediction intervals, between 0 and 1 (e.g. 0.9).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed (starts, resamples)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def forecast_cmd(
    data,
    targets,
    target_where,
    loss_law,
    error_law,
    loss_col,
    error_col,
    fit_where,
    error_fit_where,
    preset,
    n_boot,
    interval,
    seed,
    as_json,
) -> None:
    """Two-step forecast: (N, D) or (C, M) -> loss -> downstream error.

    Relative errors are printed in percent; intervals are bootstrap prediction intervals at
    --interval from --bootstrap joint resamples (both stated in the output).

    \b
    Examples:
      scalinglab forecast runs.csv --target n_params=6.9e9,tokens=138e9
      scalinglab forecast runs.csv --target-where "n_params > 1e9" --bootstrap 200
    """
    from ..workflows.downstream import forecast

    if targets and target_where:
        raise DataError(
            "give one of --target or --target-where, not both (--target names new points; "
            "--target-where picks runs of DATA whose truth is known)"
        )
    if not targets and not target_where:
        raise DataError("give one of --target VAR=VALUE,... (repeatable) or --target-where QUERY")
    res = forecast(
        data,
        _targets(targets) if targets else target_where,
        loss_law=loss_law,
        error_law=error_law,
        loss_col=loss_col,
        error_col=error_col,
        fit_where=fit_where,
        error_fit_where=error_fit_where,
        preset=preset,
        n_bootstrap=n_boot,
        interval=interval,
        seed=seed,
    )
    if as_json:
        emit_json(res.to_dict())
        return
    out.print(
        f"step 1: {res.loss_fit.law.name} on {res.loss_fit.n_points_} runs; step 2: "
        f"{res.error_fit.law.name} on {res.error_fit.n_points_} runs; "
        f"{interval_note(res.interval, res.n_bootstrap)}; relative errors in %"
    )
    t = res.targets
    for _, r in t.iterrows():
        size = (
            f"N={r['n_params']:.3g}, D={r['tokens']:.3g}"
            if "n_params" in t
            else ", ".join(f"{c}={r[c]:.3g}" for c in res.loss_fit.columns_.values())
        )
        line = f"[bold]{size}[/]: loss {r['loss_pred']:.4f}"
        if "loss_lo" in t:
            line += f" [{r['loss_lo']:.4f}, {r['loss_hi']:.4f}]"
        line += f" (near-optimal fits {r['loss_spread_lo']:.4f}-{r['loss_spread_hi']:.4f})"
        if "loss_true" in t:
            line += f", true {r['loss_true']:.4f} ({r['loss_rel_error']:.2%} off)"
        line += f"; error {r['error_pred']:.4f}"
        if "error_lo" in t:
            line += f" [{r['error_lo']:.4f}, {r['error_hi']:.4f}]"
        if "error_true" in t:
            line += f", true {r['error_true']:.4f} ({r['error_rel_error']:.2%} off)"
        line += (
            f"; predicted from {compute_saving(r['compute_ratio_loss'], 'loss')} / "
            f"{compute_saving(r['compute_ratio_error'], 'error')}"
        )
        out.print(line, highlight=False)
    for note in res.notes:
        out.print(f"note: {note}")
    for w in res.loss_fit.warnings_ + res.error_fit.warnings_:
        err.print(f"[yellow]warning[/]: {w}")


@main.command("ladder")
@click.argument("checkpoints", type=click.Path(dir_okay=False))
@click.option("--target", "target", required=True, help="n_params=...,tokens=...")
@click.option(
    "--train-where",
    default=None,
    help="Row query (e.g. 'n_params > 1e9 and tokens >= 2e10'): checkpoints of the small runs.",
)
@click.option("--run-col", default="run", show_default=True, help="Column naming each run.")
@click.option("--loss-col", default="bpb", show_default=True, help="Task loss (step 1 and 2 x).")
@click.option("--acc-col", default="rc_acc", show_default=True, help="Task accuracy (step 2 y).")
@click.option(
    "--last-k",
    default=5,
    show_default=True,
    type=int,
    help="Step 1 averages each run's loss over its last K checkpoints.",
)
@click.option(
    "--skip-frac",
    default=0.1,
    show_default=True,
    type=float,
    help="Step 2 drops this fraction of each run's first checkpoints.",
)
@click.option(
    "--window",
    default=5,
    show_default=True,
    type=int,
    help="Step 2: trailing moving average over this many checkpoints.",
)
@click.option(
    "--bootstrap",
    "n_boot",
    default=0,
    show_default=True,
    type=int,
    help="Bootstrap resamples for an accuracy interval (0: none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def ladder_cmd(
    checkpoints,
    target,
    train_where,
    run_col,
    loss_col,
    acc_col,
    last_k,
    skip_frac,
    window,
    n_boot,
    as_json,
) -> None:
    """Model-ladder forecast (AI2 OLMo ladder): (N, D) -> task loss -> accuracy.

    \b
    Example:
      scalinglab ladder checkpoints.csv --target n_params=7e9,tokens=4e12 \\
          --train-where "n_params < 2e9"
    """
    from ..fitting.prepare import apply_where
    from ..workflows.ladder import ladder_forecast

    df = read_table(checkpoints)
    train = apply_where(df, train_where) if train_where else df
    tgt = _targets((target,))[0]
    res = ladder_forecast(
        train,
        tgt,
        run_col=run_col,
        loss_col=loss_col,
        acc_col=acc_col,
        last_k=last_k,
        skip_frac=skip_frac,
        window=window,
        n_bootstrap=n_boot,
    )
    if as_json:
        emit_json(res.to_dict())
        return
    out.print(
        f"target N={tgt['n_params']:.4g}, D={tgt['tokens']:.4g}: {loss_col} "
        f"{res.loss_pred:.4f} -> {acc_col} {res.acc_pred:.4f}"
    )
    out.print(
        f"near-optimal step-1 fits: {loss_col} {res.loss_spread[0]:.4f}-"
        f"{res.loss_spread[1]:.4f}, {acc_col} {res.acc_spread[0]:.4f}-"
        f"{res.acc_spread[1]:.4f} ({res.n_near_optimal} fits)"
    )
    if res.acc_interval:
        out.print(
            f"bootstrap interval: {acc_col} {res.acc_interval[0]:.4f}-{res.acc_interval[1]:.4f}"
        )
