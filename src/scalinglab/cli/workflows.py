"""The papers' other workflows: `pretrain-choice`, `choose-method`, `factor-effects`,
`transfer`, `plan`."""

from __future__ import annotations

import click

from ..errors import DataError
from ..fitting import FitResult
from .common import (
    FORCE_HELP,
    LEVEL,
    NUMBER,
    POSITIVE_NUMBER,
    FiniteRange,
    _parse_numbers,
    _write,
    emit_json,
    handle_errors,
    main,
    output_path,
    refit_bootstrap_option,
)
from .render import (
    render_constant_exponent,
    render_factor_effects,
    render_method_choice,
    render_pet_size,
    render_plan,
    render_pretrain_choice,
    render_task_selection,
    render_transfer,
)


@main.command("pretrain-choice")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--target-tokens",
    required=True,
    type=POSITIVE_NUMBER,
    help="Pretraining tokens to forecast at.",
)
@click.option(
    "--metric",
    default="bleu",
    show_default=True,
    help="The score beside downstream CE: bleu, chrf, a rouge or comet column, any column "
    "(higher is better).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def pretrain_choice_cmd(data, target_tokens, metric, as_json) -> None:
    """Rank pretraining sources by a forecast score (BLEU, chrF, any column) and downstream
    CE; flag misalignment.

    \b
    Example:
      scalinglab pretrain-choice alignment.csv --target-tokens 1M --metric chrf
    """
    from ..workflows.pretrain_choice import choose_pretraining_data

    res = choose_pretraining_data(data, target_tokens, metric=metric)
    if as_json:
        emit_json(res.to_dict())
        return
    render_pretrain_choice(res)


@main.command("choose-method")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--factor",
    "factors",
    multiple=True,
    default=("n_params",),
    show_default=True,
    help="Scaling factor X (repeat for a joint fit; rows then need a 'factor' column).",
)
@click.option("--at", "at", required=True, help="FACTOR=VALUE to decide at, e.g. n_params=16e9.")
@click.option("--metric", default="loss", show_default=True, help="Column to fit and compare.")
@click.option(
    "--law",
    type=click.Choice(["finetune_multiplicative", "finetune_additive"]),
    default=None,
    help="Decide with this law (default: whichever has the lower held-out error; a "
    "requested law that loses held out is said).",
)
@click.option(
    "--bootstrap",
    "n_boot",
    default=300,
    show_default=True,
    type=int,
    help="Bootstrap resamples for the crossing's interval (0: none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def choose_method_cmd(data, factors, at, metric, law, n_boot, as_json) -> None:
    """FMT vs LoRA vs prompt tuning: per-method laws and the critical finetuning size,
    checked in-sample and held out (fitted without the decision scale's runs).

    \b
    Example:
      scalinglab choose-method ft.csv --factor n_params --at n_params=16e9
    """
    from ..workflows.finetune_choice import choose_method

    at_vals = _parse_numbers((at,), "--at")
    res = choose_method(data, list(factors), at_vals, metric=metric, law=law, n_bootstrap=n_boot)
    if as_json:
        emit_json(res.to_dict())
        return
    render_method_choice(res)


@main.command("factor-effects")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--factor",
    "factors",
    multiple=True,
    required=True,
    help="A factor column (repeat, at least twice); rows name theirs in a 'factor' column.",
)
@click.option("--metric", default="loss", show_default=True, help="Column to fit.")
@click.option(
    "--by", default="method", show_default=True, help="One joint fit per value of this column."
)
@click.option(
    "--bootstrap",
    "n_boot",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Bootstrap resamples for the exponents' 90% intervals (0: none).",
)
@click.option(
    "--joint-out",
    default=None,
    help="Also write the table with x_model / x_data / x_pet for `fit --law finetune_joint` "
    "and `audit` (n_params is model size, tokens pretraining data, the other factor PET size).",
)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def factor_effects_cmd(data, factors, metric, by, n_boot, joint_out, force, as_json) -> None:
    """Which scaling helps finetuning more: model size, pretraining data or PET size, per
    method (Zhang et al.'s joint law), exponents side by side with intervals, and a verdict.

    \b
    Example:
      scalinglab factor-effects ft.csv --factor n_params --factor tokens --factor lora_rank \\
          --joint-out joint.csv
      scalinglab fit joint.csv --law finetune_joint --where "method == 'lora'"
    """
    from ..workflows.factor_effects import factor_effects, joint_columns, joint_frame

    if joint_out:
        output_path(joint_out, inputs=[data], force=force, what="--joint-out file")
    res = factor_effects(data, list(factors), metric=metric, by=by, n_bootstrap=n_boot)
    if joint_out:
        from ..io import read_table
        from ..io.tables import write_table

        frame = joint_frame(read_table(data), joint_columns(list(factors)))
        write_table(frame, joint_out)
    if as_json:
        emit_json(res.to_dict())
        return
    render_factor_effects(res, joint_out, n_boot)


@main.command("select-tasks")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--chance-table",
    default=None,
    type=click.Path(dir_okay=False),
    help="Table with task and random_baseline_acc (or chance) columns.",
)
@click.option("--chance", "chances", multiple=True, help="TASK=ACC chance accuracy (repeat).")
@click.option(
    "--select-at",
    default=None,
    help="Reference runs: NAME=VALUE (the nearest size, e.g. n_params=154M) or a query; "
    "default: every run.",
)
@click.option(
    "--margin",
    default=0.10,
    show_default=True,
    type=FiniteRange(0, 1, max_open=True),
    help="Keep tasks more than this above chance in some reference run.",
)
@click.option("--acc-prefix", default="acc_", show_default=True, help="Accuracy columns.")
@click.option("--err-col", default="err_avg", show_default=True, help="Average error column.")
@click.option("-o", "--out", "out_path", default=None, help="Write the table with the average.")
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def select_tasks_cmd(
    data, chance_table, chances, select_at, margin, acc_prefix, err_col, out_path, force, as_json
) -> None:
    """Gadre et al.'s task selection: keep the tasks above chance by a margin at a reference
    model size, and average their top-1 error into one column for `forecast --error-col`.

    \b
    Example:
      scalinglab select-tasks runs.csv --chance-table tasks.csv \\
          --select-at n_params=154M -o runs_err.csv
    """
    from ..workflows.task_selection import chance_table as read_chances
    from ..workflows.task_selection import select_tasks

    chance: dict[str, float] = read_chances(chance_table) if chance_table else {}
    chance.update(_parse_numbers(chances, "--chance"))
    if not chance:
        raise DataError("select-tasks needs chance accuracies: --chance-table or --chance")
    if out_path:
        output_path(out_path, inputs=[data, chance_table], force=force)
    res = select_tasks(
        data, chance, select_at=select_at, margin=margin, acc_prefix=acc_prefix, err_col=err_col
    )
    if as_json:
        emit_json(res.to_dict())
    else:
        render_task_selection(res)
    if out_path and as_json:  # stdout holds the JSON object alone
        from ..io.tables import write_table

        write_table(res.data, out_path)
    elif out_path:
        _write(res.data, out_path, force=force, inputs=[data, chance_table])


@main.command("constant-exponent")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--metric",
    "--loss-col",
    "loss_col",
    default="loss",
    show_default=True,
    help="Column of the loss (--loss-col is the same option, kept for old scripts).",
)
@click.option("--where", default=None, help="Rows to use (a query).")
@click.option("--by", default=None, help="Run the test per value of this column.")
@click.option(
    "--bootstrap",
    "n_boot",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Bootstrap resamples for each exponent's 90% interval (0: no verdict).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def constant_exponent_cmd(data, loss_col, where, by, n_boot, as_json) -> None:
    """One compute exponent for every token multiplier M? Per-M fits of the loss in compute
    with intervals, side by side, and a verdict (Gadre et al.'s assumption).

    \b
    Example:
      scalinglab constant-exponent runs.csv --metric loss_c4_val --by train_dataset
    """
    from ..workflows.constant_exponent import constant_exponent

    res = constant_exponent(data, loss_col=loss_col, where=where, by=by, n_bootstrap=n_boot)
    if as_json:
        emit_json(res.to_dict())
        return
    render_constant_exponent(res, n_boot)


@main.command("pet-size")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--pet",
    default="lora_rank",
    show_default=True,
    help="The PET-size column (lora_rank, prompt_length, a PET parameter count); its rows "
    "are those whose 'factor' names it.",
)
@click.option(
    "--factor",
    "factors",
    multiple=True,
    help="A factor whose rows fix beta and E (repeatable) [default: n_params and tokens].",
)
@click.option("--metric", default="loss", show_default=True, help="Column of the loss.")
@click.option(
    "--bootstrap",
    "n_boot",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Bootstrap resamples for the intervals (0: none).",
)
@click.option("--interval", default=0.9, show_default=True, type=LEVEL, help="Interval level.")
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed of the resamples."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def pet_size_cmd(data, pet, factors, metric, n_boot, interval, seed, as_json) -> None:
    """How finetuning loss scales with the PET size (Zhang et al.'s recipe): fit the joint
    law's beta and E on the rows varying model size / pretraining data, hold them fixed,
    then fit the PET exponent on the rows varying the PET size (a 'factor' column tags which
    factor each row varies).

    \b
    Example:
      scalinglab pet-size lora.csv --pet lora_rank --factor n_params --factor tokens
    """
    from ..workflows.pet_size import pet_size_recipe

    res = pet_size_recipe(
        data,
        pet=pet,
        factors=list(factors) or ("n_params", "tokens"),
        metric=metric,
        n_bootstrap=n_boot,
        interval=interval,
        seed=seed,
    )
    if as_json:
        emit_json(res.to_dict())
        return
    render_pet_size(res, interval, n_boot)


@main.command("transfer")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--scratch-law",
    default="kaplan",
    show_default=True,
    help="Law fitted to the from-scratch runs (see `scalinglab laws`).",
)
@click.option(
    "--fix",
    "fixes",
    multiple=True,
    metavar="NAME=VALUE",
    help="Hold a parameter of the from-scratch law at a value (repeatable), e.g. --fix Dc=5.4e13.",
)
@click.option(
    "--data-col",
    default="finetune_size",
    show_default=True,
    help="Target-distribution tokens (D for from-scratch runs, D_F for finetuned).",
)
@click.option("--metric", default="loss", show_default=True, help="Column of the loss.")
@click.option(
    "--params-col",
    default="n_params",
    show_default=True,
    help="Model size column for both laws (e.g. n_params_nonembedding).",
)
@click.option(
    "--by",
    default=None,
    help="Fit one transfer law per value of this column (e.g. pretrain_data), with "
    "bootstrap intervals on k, alpha, beta; without it several sources are pooled (flagged).",
)
@click.option(
    "--where",
    default=None,
    help="Finetuned runs to fit the transfer law on (a query; computed columns too, e.g. "
    '"not high_data" leaves out the high-data regime).',
)
@click.option(
    "--high-data-gain",
    default=0.01,
    show_default=True,
    type=FiniteRange(0, 1),
    help="High-data regime: 10x D_F would lower the from-scratch loss by less than this.",
)
@click.option(
    "--predict-loss",
    "predict_at",
    multiple=True,
    metavar="n_params=N,finetune_size=D_F",
    help="Forecast a pretrained-then-finetuned run's loss at this size and D_F (repeatable): "
    "the from-scratch law at D_F + D_T, beside the from-scratch loss at D_F alone.",
)
@click.option(
    "--bootstrap",
    "n_boot",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="With --by: bootstrap resamples for the intervals on k, alpha, beta (0: none).",
)
@click.option(
    "--interval", default=0.9, show_default=True, type=LEVEL, help="With --by: interval level."
)
@click.option(
    "--pretrain-tokens-col",
    default="pretrain_tokens",
    show_default=True,
    help="Pretraining tokens per finetuned run; where the column exists, each run's compute "
    "(pretraining + finetuning, 6ND each) is set beside training from scratch to the same loss.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def transfer_cmd(
    data,
    scratch_law,
    fixes,
    data_col,
    metric,
    params_col,
    by,
    where,
    high_data_gain,
    predict_at,
    n_boot,
    interval,
    pretrain_tokens_col,
    as_json,
) -> None:
    """Effective data transferred by pretraining (Hernandez et al.).

    \b
    Columns: pretrain_data ('none' marks from-scratch runs), n_params,
    finetune_size (D, D_F), loss; optional pretrain_tokens (pretraining
    tokens per run) adds the compute comparison: pretraining + finetuning vs
    from scratch to the same loss (compute_ratio < 1: pretraining was cheaper).

    \b
    Examples:
      scalinglab transfer transfer.csv --scratch-law kaplan --by pretrain_data \\
          --where "not high_data"
      scalinglab transfer transfer.csv --predict-loss n_params=400K,finetune_size=100K
    """
    from ..laws import get_law
    from ..workflows.transfer import check_forecast_points, effective_data_transferred

    if predict_at and by:
        raise click.BadParameter(
            "--predict-loss uses one transfer law: run it without --by, on one source "
            "(e.g. --where \"pretrain_data == 'kjv'\")",
            param_hint="--predict-loss",
        )
    points = [_parse_numbers((p,), "--predict-loss") for p in predict_at]
    check_forecast_points(points)  # before the fit, not after it

    law = get_law(scratch_law)
    if fixes:  # a named error for a parameter the law lacks (issue 21: --fix on every law)
        law = law.fix(**_parse_numbers(fixes, "--fix"))
    res = effective_data_transferred(
        data,
        scratch_law=law,
        data_col=data_col,
        metric=metric,
        params_col=params_col,
        by=by,
        where=where,
        high_data_gain=high_data_gain,
        n_bootstrap=n_boot,
        interval=interval,
        pretrain_tokens_col=pretrain_tokens_col,
    )
    forecasts = res.forecast_table(points) if points else None
    if as_json:
        obj = res.to_dict()
        if forecasts is not None:
            obj["predictions"] = forecasts.to_dict("records")
        emit_json(obj)
        return
    render_transfer(res, by, forecasts)


@main.command("plan")
@click.argument("fit_json", type=click.Path(exists=True, dir_okay=False))
@click.option("--budget", default=None, type=POSITIVE_NUMBER, help="Training FLOPs, e.g. 1e23.")
@click.option(
    "--tokens-per-param", default=None, type=POSITIVE_NUMBER, help="Fixed over-training ratio M."
)
@click.option(
    "--inference-tokens",
    default=None,
    type=NUMBER,
    help="Tokens to serve over the model's life.",
)
@click.option(
    "--target-loss",
    default=None,
    type=POSITIVE_NUMBER,
    help="With --inference-tokens: the loss to reach (default: the budget's optimum).",
)
@click.option(
    "--interval",
    default=0.9,
    show_default=True,
    type=LEVEL,
    help="Level of the intervals on N, D, loss and FLOPs, from the fit file's bootstrap "
    "draws (each draw replans).",
)
@refit_bootstrap_option
@click.option(
    "--group-by",
    default=None,
    help="With --bootstrap: resample whole groups of this column (a variable the fit file "
    "keeps, e.g. n_params when each size is one run) [default: runs where the fit names them].",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
def plan_cmd(
    fit_json,
    budget,
    tokens_per_param,
    inference_tokens,
    target_loss,
    interval,
    n_boot,
    group_by,
    as_json,
) -> None:
    """Compute-optimal and over-trained allocations from a saved chinchilla or overtrain fit,
    with intervals from its bootstrap draws; each row says how far it lies beyond the data.

    \b
    Examples:
      scalinglab plan fit.json --budget 1e23 --inference-tokens 2T --interval 0.9
      scalinglab plan fit.json --budget 1e23 --tokens-per-param 200
      (fit.json from: scalinglab fit runs.csv --law chinchilla --bootstrap 1000 --out fit.json)
    """
    from ..workflows.planning import plan

    res = plan(
        FitResult.from_json(fit_json),
        budget,
        tokens_per_param=tokens_per_param,
        inference_tokens=inference_tokens,
        target_loss=target_loss,
        interval=interval,
        n_bootstrap=n_boot,
        group_by=group_by,
    )
    if as_json:
        emit_json(res.to_dict())
        return
    render_plan(res)
