"""`testbed` and `sweep`: training runs and crash-safe sweeps."""

from __future__ import annotations

import sys
from typing import Any

import click
from click.core import ParameterSource

from ..errors import FileFormatError
from ..schema import parse_number
from . import render_testbed as render
from .common import (
    FORCE_HELP,
    emit_json,
    handle_errors,
    main,
    output_path,
    progress_bar,
    redact_url,
)

REGISTRY_HELP = (
    "The run registry: an SQLite file, or a postgresql:// URL shared by several machines."
)
SET_HELP = (
    "KEY=VALUE: replace a spec default for every run that does not set it on an axis, "
    "repeatable: pretrain_data=text:/data/corpus, tokenizer=bpe:4096, n_test=200."
)


@main.group("testbed")
def testbed_group() -> None:
    """Train small transformers on real corpora and produce runs (needs scalinglab[testbed])."""


@testbed_group.command("corpora")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON (for scripts).")
def testbed_corpora_cmd(as_json: bool) -> None:
    """Which corpora are installed, and the command that installs each missing one.

    \b
    Examples:
      scalinglab testbed corpora
      scalinglab testbed corpora --json
    """
    from ..testbed.corpora import status

    rows = status()
    if as_json:
        emit_json(rows)
        return
    render.render_corpora(rows)


@testbed_group.command("run")
@click.option(
    "--preset",
    default="smoke",
    show_default=True,
    help="smoke (CI, minutes), cpu (2 cores, ~75 min) or gpu (one H100, ~1 h).",
)
@click.option(
    "--out",
    "out_dir",
    default="testbed-runs",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the run registry, checkpoints, runs.csv and preset.json.",
)
@click.option("--device", default=None, help="cpu or cuda (default: cuda when available).")
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes, 1 torch thread each.",
)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--quiet", is_flag=True, help="No progress line.")
@handle_errors
def testbed_run_cmd(
    preset: str, out_dir: str, device: str | None, workers: int, sets: tuple[str, ...], quiet: bool
) -> None:
    """Pretrain, finetune (FMT, LoRA, prompt tuning) and evaluate a preset's runs.

    Every preset (testbed/specs/NAME.yaml) runs as a resumable sweep, its registry and
    checkpoints under --out: after a crash, the same command finishes only what is missing.
    `scalinglab sweep plan NAME` lists a preset's runs and their estimated time.

    \b
    Examples:
      scalinglab testbed run --preset smoke --out smoke-runs
      scalinglab testbed run --preset cpu --workers 2 --set pretrain_data=text:/data/web.txt
    """
    from ..testbed.presets import run_preset

    progress = None if quiet else render.ProgressLine()
    df = run_preset(
        preset,
        out_dir,
        workers=workers,
        overrides=_key_values(sets, "--set"),
        device=device,
        progress=progress,
    )
    if progress is not None:
        progress.close()
    render.render_runs_written(len(df), out_dir)


@testbed_group.command("transfer")
@click.option(
    "--preset",
    default=None,
    help="A named design (cpu: 3 sizes x 4 D_F, kjv -> python; see "
    "scalinglab.testbed.transfer_presets): its values replace the defaults below, and any "
    "option given here replaces the preset's.",
)
@click.option("--source", default="kjv", show_default=True, help="Pretraining corpus.")
@click.option("--target", default="python", show_default=True, help="Target corpus.")
@click.option(
    "--source-tokens",
    default="2M",
    show_default=True,
    help="Tokens of pretraining on --source (suffixes K, M, B).",
)
@click.option(
    "--finetune-sizes",
    default="50K,200K,800K",
    show_default=True,
    help="Comma-separated D_F: tokens of --target each model is trained on.",
)
@click.option(
    "--train-tokens",
    default="1M",
    show_default=True,
    help="Tokens seen while training on each target subset (early-stopped).",
)
@click.option(
    "--min-epochs",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Train at least this many passes over each D_F (so early stopping sees overfitting).",
)
@click.option(
    "--eval-every",
    default=None,
    help="Early stopping: evaluate every this many tokens (constant rate; --train-tokens caps).",
)
@click.option(
    "--patience",
    default=None,
    type=click.IntRange(min=1),
    help="Early stopping: evaluations to wait.",
)
@click.option(
    "--d-models",
    default="32,64",
    show_default=True,
    help="Comma-separated model widths (2 layers, 2 heads each): one model size per width.",
)
@click.option(
    "--out",
    "out_path",
    default="transfer_runs.csv",
    show_default=True,
    help="Table of runs, rewritten after each run is measured.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the experiment in --out: its runs are kept and not repeated.",
)
@handle_errors
def testbed_transfer_cmd(preset: str | None, out_path: str, resume: bool, **options: Any) -> None:
    """Hernandez et al.'s experiment: from scratch vs pretrained on SOURCE, trained on D_F
    tokens of TARGET. Feed the output to `scalinglab transfer`. Each run is written to --out
    as soon as it is measured; after a crash, the same command with --resume goes on.

    \b
    Examples:
      scalinglab testbed transfer --preset cpu --out transfer_runs.csv
      scalinglab testbed transfer --preset cpu --d-models 32,64 --out two_sizes.csv
      scalinglab testbed transfer --source kjv --target python --out transfer_runs.csv
      scalinglab testbed transfer --out transfer_runs.csv --resume
    """
    from ..testbed.transfer_run import run_transfer_design

    design = _transfer_design(preset, options)
    n_new, n_all = run_transfer_design(
        design,
        out_path,
        resume=resume,
        on_start=lambda: render.render_transfer_design(design.settings(), preset),
        on_run=render.render_transfer_run,
    )
    render.render_transfer_done(n_new, n_all, out_path)


def _transfer_design(preset: str | None, options: dict[str, Any]):
    """The transfer design to run: the preset's (when --preset is given) with the options
    the user set on the command line; without --preset, every option's value. Parsing only:
    the design checks its own values (`TransferPreset.check`)."""
    from ..testbed.transfer_presets import TransferPreset, get_transfer_preset, with_options

    ctx = click.get_current_context()
    given = {
        k: v
        for k, v in options.items()
        if preset is None or ctx.get_parameter_source(k) is not ParameterSource.DEFAULT
    }
    parsed: dict[str, Any] = {}
    for key, value in given.items():
        flag = "--" + key.replace("_", "-")
        if key in ("source_tokens", "train_tokens", "eval_every"):
            parsed[key] = None if value is None else _count(value, flag)
        elif key in ("finetune_sizes", "d_models"):
            parsed[key] = tuple(_count(x, flag) for x in str(value).split(","))
        else:
            parsed[key] = value
    if preset is None:
        design = TransferPreset(name="custom", **parsed)
    else:
        design = with_options(get_transfer_preset(preset), **parsed)
    design.check()
    return design


def _count(text: str, flag: str) -> int:
    """A token or size count ('50K', '2M', '800000'): a whole number, refused otherwise."""
    try:
        value = parse_number(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a number (suffixes K, M, B)", param_hint=flag
        ) from None
    if not value == value or value in (float("inf"), float("-inf")) or value != int(value):
        raise click.BadParameter(f"{text!r} is not a whole number", param_hint=flag)
    return int(value)


@main.group("sweep")
def sweep_group() -> None:
    """Sweeps of testbed runs with a crash-safe run registry (SQLite)."""


def _registry_errors(fn):
    """A registry (--registry) that is not a readable database (corrupt, not SQLite) is a
    named error naming it, not a DatabaseError traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import sqlite3

        try:
            return fn(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise FileFormatError(
                f"not a readable run registry (SQLite: {exc}); pass the registry of your "
                "sweep with --registry",
                file=redact_url(kwargs.get("registry", "")),
            ) from None

    return wrapper


@sweep_group.command("plan")
@click.argument("spec")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option(
    "--tflops",
    default=None,
    type=float,
    help="Estimate time at this sustained rate (e.g. 400: an H100 at 40% MFU in bf16) "
    "instead of one CPU worker's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON (for scripts).")
@handle_errors
def sweep_plan_cmd(spec: str, sets: tuple[str, ...], tflops: float | None, as_json: bool) -> None:
    """The runs a spec (a YAML file or a built-in name: cpu, gpu) expands to, their estimated
    FLOPs and time, and the total.

    \b
    Examples:
      scalinglab sweep plan cpu
      scalinglab sweep plan my_sweep.yaml --tflops 400 --set tokens=2e6
    """
    from ..testbed.sweep import expand, load_spec, plan, with_defaults
    from ..testbed.sweep.validate import check_finetune_sizes

    runs = expand(with_defaults(load_spec(spec), _key_values(sets, "--set")))
    unchecked = check_finetune_sizes(runs)
    rows = plan(runs, tflops=tflops)
    if as_json:
        emit_json(rows)
        return
    render.render_plan(rows, unchecked, tflops)


@sweep_group.command("run")
@click.argument("spec")
@click.option("--registry", default="runs.sqlite", show_default=True, help=REGISTRY_HELP)
@click.option(
    "--artifacts",
    default="artifacts",
    show_default=True,
    help="Folder for each run's checkpoints and outputs (kept for resumes).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes (local) or SLURM jobs (slurm), each with --threads threads.",
)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Torch threads per worker.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray", "slurm"]),
    default="local",
    show_default=True,
    help="Where runs execute: local processes, a Ray cluster or SLURM jobs (submitit).",
)
@click.option("--address", default=None, help="Ray cluster address ('auto' for a running one).")
@click.option(
    "--gpus-per-run",
    default=0.0,
    show_default=True,
    type=float,
    help="GPUs Ray reserves for each run (--executor ray; fractions share a GPU).",
)
@click.option(
    "--slurm",
    "slurm_opts",
    multiple=True,
    metavar="KEY=VALUE",
    help="submitit parameter for --executor slurm, repeatable: slurm_partition=gpu, "
    "timeout_min=240, gpus_per_node=1, cluster=local (run the jobs here).",
)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@handle_errors
@_registry_errors
def sweep_run_cmd(
    spec, registry, artifacts, workers, threads, executor, address, gpus_per_run, slurm_opts, sets
) -> None:
    """Run (or resume) a sweep: only runs not yet done are executed (a crash is resumed by
    running the same command again). Exit status 0 only when every run of the spec is done;
    1, with the failed runs and their last error, when any is not.

    \b
    Examples:
      scalinglab sweep run cpu --registry runs.sqlite --workers 2
      scalinglab sweep run my_sweep.yaml --executor slurm --slurm slurm_partition=gpu
    """
    from ..testbed.sweep import expand, load_spec, run_sweep, summary, with_defaults

    spec = with_defaults(load_spec(spec), _key_values(sets, "--set"))

    quiet = not sys.stderr.isatty()
    state = {"done": 0}

    with progress_bar(None, "sweep", quiet) as advance:

        def prog(info):
            done = info["counts"].get("done", 0)
            if advance is not None and done > state["done"]:
                advance(done - state["done"])
                state["done"] = done

        reg = run_sweep(
            spec,
            registry,
            artifacts,
            workers=workers,
            threads=threads,
            executor=executor,
            address=address,
            gpus_per_run=gpus_per_run,
            progress=None if quiet else prog,
            slurm=_key_values(slurm_opts, "--slurm"),
        )
    info = summary(reg, [r.key for r in expand(spec)])
    render.render_sweep_end(redact_url(registry), reg.counts(), info)
    if not info["all_done"]:
        sys.exit(1)


def _key_values(items: tuple[str, ...], flag: str) -> dict[str, object]:
    """KEY=VALUE pairs; numbers become numbers (timeout_min=240, lr=1e-3), everything else
    stays text (pretrain_data=text:/data/corpus)."""
    opts: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{flag} expects KEY=VALUE, got '{item}'")
        for kind in (int, float, str):
            try:
                opts[key] = kind(value)
                break
            except ValueError:
                continue
    return opts


@sweep_group.command("status")
@click.option("--registry", default="runs.sqlite", show_default=True, help=REGISTRY_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print counts and failures as JSON.")
@handle_errors
@_registry_errors
def sweep_status_cmd(registry, as_json) -> None:
    """Counts per status and failures with their last error.

    \b
    Examples:
      scalinglab sweep status --registry runs.sqlite
      scalinglab sweep status --registry runs.sqlite --json
    """
    from ..testbed.registry import Registry
    from ..testbed.sweep import eta

    reg = Registry(registry, create=False)  # a mistyped path is an error, not a new registry
    rows = reg.rows()
    info = eta(reg)
    fails = [
        {
            "name": r["name"],
            "attempts": r["attempts"],
            "error": (r["error"] or "").strip().splitlines()[-1:] or [""],
        }
        for r in rows
        if r["status"] == "failed"
    ]
    if as_json:
        emit_json({"counts": reg.counts(), "eta_s": info["eta_s"], "failed": fails})
        return
    render.render_sweep_status(len(rows), reg.counts(), info["eta_s"], fails)


@sweep_group.command("export")
@click.option("--registry", default="runs.sqlite", show_default=True, help=REGISTRY_HELP)
@click.option(
    "--to",
    "to_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Table to write; its suffix picks the format (.csv, .parquet, .jsonl).",
)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@handle_errors
@_registry_errors
def sweep_export_cmd(registry, to_path, force) -> None:
    """Done runs as a table in the scalinglab schema (CSV, Parquet, JSONL).

    \b
    Examples:
      scalinglab sweep export --registry runs.sqlite --to runs.csv
    """
    from ..testbed.sweep import export

    output_path(to_path, inputs=[registry], force=force)

    df = export(registry, to_path)
    render.render_exported(len(df), to_path)


@sweep_group.command("compare")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--registry", default="runs.sqlite", show_default=True, help=REGISTRY_HELP)
@click.option(
    "--metric",
    type=click.Choice(["chrf", "bleu"]),
    default="chrf",
    show_default=True,
    help="The translation score compared on the test verses both runs translated.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@handle_errors
@_registry_errors
def sweep_compare_cmd(run_a: str, run_b: str, registry: str, metric: str, as_json: bool) -> None:
    """Paired bootstrap of two finetuning runs' chrF (or BLEU) on the same test verses: the
    difference B - A with its 95% interval, narrower than the two runs' own intervals
    because the verses' spread is shared.

    \b
    Example:
      scalinglab sweep compare ft-d64L2-kjv-250000-s0-fmt-250 \\
          ft-d64L2-kjv-4000000-s0-fmt-250 --registry runs.sqlite
    """
    from ..testbed.sweep import compare_runs

    r = compare_runs(registry, run_a, run_b, metric)
    if as_json:
        emit_json(r)
        return
    render.render_compare(r, metric)
