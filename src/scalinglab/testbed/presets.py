"""Presets and the sequential runner: pretrain a ladder, finetune each checkpoint, evaluate,
and write one row per run in the scalinglab schema (so `scalinglab fit` reads it directly).

The sweep machinery (run registry, resume, Ray) builds on `run_preset`'s pieces later; this
runner is a plain loop.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from ..io.safe_write import write_text
from ..io.tables import write_table
from .corpora import parse_mixture
from .data import ByteTokenizer, accuracy_items, get_task, token_stream
from .evaluate import cloze_accuracy, translate, translation_metrics
from .model import GPT, GPTConfig
from .rows import frame, run_row
from .sweep.grid import run_key
from .train import METHODS, TestbedError, TrainConfig, finetune, pick_device, pretrain, target_ce


@dataclass
class Preset:
    name: str
    models: list[dict[str, int]]
    pretrain_data: list[str]
    token_budgets: list[int]  # the largest is trained; smaller ones are checkpoints
    methods: list[str]
    finetune_sizes: list[int]
    seeds: list[int]
    context: int = 96
    batch_size: int = 16
    lr: float = 3e-3
    ft_steps: int = 40
    ft_lr: float = 2e-3
    lora_rank: int = 4
    prompt_length: int = 16
    n_test: int = 24
    max_chars: int | None = 400_000
    cloze_items: int = 40
    task: str = "translation_en_es"
    finetune_at: list[int] | None = None  # checkpoints (token budgets) to finetune; None: all
    one_run_per_budget: bool = False  # True: separate runs per budget (not checkpoints)
    threads: int | None = None
    notes: list[str] = field(default_factory=list)


PRESETS: dict[str, Preset] = {
    "smoke": Preset(
        name="smoke",
        models=[dict(d_model=32, n_layers=1, n_heads=2), dict(d_model=48, n_layers=2, n_heads=2)],
        pretrain_data=["kjv:0.5,rv1909:0.5"],
        token_budgets=[30_000, 60_000],
        methods=list(METHODS),
        finetune_sizes=[64],
        seeds=[0],
        context=192,
        batch_size=8,
        ft_steps=20,
        n_test=16,
        max_chars=300_000,
        cloze_items=20,
    ),
}


# Presets defined as sweep specs (testbed/specs/NAME.yaml): run through the run registry, so
# an hour-long preset survives a crash and uses a pool of worker processes.
SWEEP_PRESETS = ("cpu", "gpu")


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        known = sorted({*PRESETS, *SWEEP_PRESETS})
        raise TestbedError(f"unknown preset '{name}'; choose from {', '.join(known)}") from None


def run_sweep_preset(
    name: str,
    out_dir: str | Path,
    workers: int = 2,
    quiet: bool = True,
    overrides: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Run (or resume) a preset defined as a sweep spec; rows to OUT/runs.csv.

    overrides: spec defaults to replace, e.g. {"pretrain_data": "text:/data/corpus"}."""
    from .sweep import expand, export, load_spec, run_sweep, with_defaults

    spec = with_defaults(load_spec(name), overrides)
    wanted = os.environ.get("SCALINGLAB_DEVICE")
    if spec.get("requires") == "cuda" and not torch.cuda.is_available() and wanted != "cpu":
        raise TestbedError(
            f"preset '{name}' is sized for a GPU (about an hour on one H100, weeks on a CPU) "
            "and no CUDA device is visible; `scalinglab sweep plan "
            f"{name} --tflops 400` lists its runs, --device cpu runs it here anyway"
        )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "preset.json"
    before = json.loads(meta_path.read_text()).get("invocations", []) if meta_path.exists() else []
    t0 = time.perf_counter()
    run_sweep(
        spec,
        out / "registry.sqlite",
        out / "artifacts",
        workers=workers,
        threads=1,
        progress=None if quiet else _ProgressLine(),
    )
    if not quiet:
        print(flush=True)
    keys = [r.key for r in expand(spec)]
    df = export(out / "registry.sqlite", out / "runs.csv", keys=keys)  # this spec's runs only
    # A resumed preset keeps the wall time of every invocation (their sum is the cost).
    invocations = [*before, {"wall_time_s": time.perf_counter() - t0, "runs_done": len(df)}]
    write_text(
        meta_path,
        json.dumps(
            {
                "preset": name,
                "overrides": overrides or {},
                "workers": workers,
                "threads_per_worker": 1,
                "invocations": invocations,
                "wall_time_s": sum(i["wall_time_s"] for i in invocations),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        ),
    )
    return df


class _ProgressLine:
    """One status line, rewritten in place when the counts change."""

    def __init__(self) -> None:
        self.last = ""

    def __call__(self, info: dict[str, Any]) -> None:
        c = info["counts"]
        eta = f"{info['eta_s'] / 60:.0f} min left" if info.get("eta_s") else "eta pending"
        line = (
            f"{c.get('done', 0)}/{info['total']} runs done, {c.get('running', 0)} running, "
            f"{c.get('failed', 0)} failed, {eta}"
        )
        if line != self.last:
            print(f"\r{line:<72}", end="", flush=True)
            self.last = line


def run_preset(
    preset: str | Preset,
    out_dir: str | Path | None = None,
    device: str | None = None,
    progress: Any = None,
) -> pd.DataFrame:
    """Pretrain every (model, corpus) to the largest budget, finetune every checkpoint with
    every method / size / seed, evaluate; returns (and writes) the rows. Presets defined as
    sweep specs (cpu) run through `run_sweep_preset`."""
    if isinstance(preset, str) and preset in SWEEP_PRESETS:
        if out_dir is None:
            raise TestbedError(f"preset '{preset}' runs as a sweep and needs an output folder")
        if device:
            os.environ["SCALINGLAB_DEVICE"] = device
        return run_sweep_preset(preset, out_dir)
    p = get_preset(preset) if isinstance(preset, str) else preset
    for spec in p.pretrain_data:
        parse_mixture(spec)  # unknown corpora fail before any training
    for m in p.methods:
        if m not in METHODS:
            raise TestbedError(f"preset '{p.name}': unknown method '{m}'")
    dev = pick_device(device)
    if p.threads:
        torch.set_num_threads(p.threads)
    tok = ByteTokenizer()
    task = get_task(p.task)(max_pair_bytes=p.context - p.prompt_length)
    test = task.test[: p.n_test]
    rows: list[dict[str, Any]] = []
    for spec in p.pretrain_data:
        train_tok, val_tok = token_stream(spec, tok, p.max_chars)
        items = accuracy_items(spec, tok, p.cloze_items)
        for mdef in p.models:
            cfg = GPTConfig(vocab_size=tok.vocab_size, context=p.context, **mdef)
            t0 = time.perf_counter()
            tc = TrainConfig(batch_size=p.batch_size, lr=p.lr)
            if p.one_run_per_budget:
                # A run per budget, each with its full warm-up and cosine decay: a checkpoint
                # of a longer run has not annealed and sits above the loss a run trained to
                # that budget reaches (what scaling laws are fitted to).
                pre = pretrain(cfg, train_tok, val_tok, min(p.token_budgets), tc, device=str(dev))
                for b in sorted(p.token_budgets)[1:]:
                    more = pretrain(cfg, train_tok, val_tok, b, tc, device=str(dev))
                    pre.history += more.history
                    pre.checkpoints.update(more.checkpoints)
                    pre.wall_time_s += more.wall_time_s
            else:
                pre = pretrain(
                    cfg,
                    train_tok,
                    val_tok,
                    max(p.token_budgets),
                    tc,
                    checkpoints=p.token_budgets,
                    device=str(dev),
                )
            pre_cfg = {
                "model": dict(mdef),
                "pretrain_data": spec,
                "seed": tc.seed,
                "tokenizer": tok.name,
                "context": p.context,
                "batch_size": p.batch_size,
                "lr": p.lr,
                "max_chars": p.max_chars,
                "cloze_items": p.cloze_items,
            }
            base_metrics = {
                "n_params": pre.model.n_params(),
                "n_params_nonembedding": pre.model.n_params(non_embedding=True),
                "unique_tokens": int(len(train_tok)),
                "device": dev.type,
            }
            for hist in pre.history:
                tokens = int(hist["tokens"])
                model = GPT(cfg).to(dev)
                model.load_state_dict(pre.checkpoints[tokens])
                acc = cloze_accuracy(model, items, tok, dev)
                run_cfg = {**pre_cfg, "tokens": _asked(tokens, p)}  # as a sweep names it
                rows.append(
                    run_row(
                        _run_name(run_cfg),
                        run_key("pretrain", run_cfg),
                        "pretrain",
                        run_cfg,
                        {
                            **base_metrics,
                            "tokens": tokens,
                            "loss": hist["val_loss"],
                            "accuracy": acc,
                            "accuracy_se": (acc * (1 - acc) / max(len(items), 1)) ** 0.5,
                            "wall_time_s": pre.wall_time_s * tokens / max(p.token_budgets),
                            "tokens_per_s": pre.tokens_per_s,
                        },
                    )
                )
                if p.finetune_at is not None and not any(
                    abs(tokens - t) < p.batch_size * p.context for t in p.finetune_at
                ):
                    continue
                for method in p.methods:
                    for size in p.finetune_sizes:
                        for seed in p.seeds:
                            ft_cfg = {
                                **run_cfg,
                                "method": method,
                                "finetune_size": size,
                                "ft_seed": seed,
                                "lora_rank": p.lora_rank,
                                "prompt_length": p.prompt_length,
                                "task": p.task,
                            }
                            metrics = _finetune_metrics(model, ft_cfg, task, test, tok, dev, p)
                            pre_metrics = {**base_metrics, "tokens": tokens}
                            rows.append(
                                run_row(
                                    _run_name(ft_cfg),
                                    run_key("finetune", ft_cfg),
                                    "finetune",
                                    ft_cfg,
                                    {**metrics, **pre_metrics, "pretrain_loss": hist["val_loss"]},
                                )
                            )
                            if progress:
                                progress(1)
            if progress:
                progress(0, f"{spec} d{cfg.d_model}: {time.perf_counter() - t0:.0f}s")
    df = frame(rows)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_table(df, out / "runs.csv")  # atomic, as every table scalinglab writes
        write_text(
            out / "preset.json",
            json.dumps(
                {
                    "preset": p.name,
                    "device": dev.type,
                    "torch": torch.__version__,
                    "python": platform.python_version(),
                    **{k: v for k, v in p.__dict__.items() if k != "notes"},
                },
                indent=2,
                default=str,
            ),
        )
    return df


def _asked(trained: int, p: Preset) -> int:
    """The budget a preset asked for that trained `trained` tokens (whole batches)."""
    step = p.batch_size * p.context
    return next((b for b in p.token_budgets if -(-b // step) * step == trained), trained)


def _run_name(cfg: dict[str, Any]) -> str:
    """The name a sweep gives the same run (`sweep.grid`'s naming)."""
    from .sweep.grid import _name

    return _name(cfg, "finetune" if "method" in cfg else "pretrain")


def _finetune_metrics(model, cfg, task, test, tok, dev, p) -> dict[str, Any]:
    """What the sweep's finetuning runs measure, in the same names."""
    t0 = time.perf_counter()
    pairs = task.subset(cfg["finetune_size"], cfg["ft_seed"])
    tuned = finetune(
        model,
        cfg["method"],
        pairs,
        task.dev[:64],
        tok,
        steps=p.ft_steps,
        lr=p.ft_lr,
        batch=p.batch_size,
        lora_rank=p.lora_rank,
        prompt_length=p.prompt_length,
        eval_every=max(5, p.ft_steps // 4),
        seed=cfg["ft_seed"],
        device=str(dev),
    )
    hyps = translate(tuned, [s for s, _ in test], tok, dev)
    refs = [t for _, t in test]
    return {
        "downstream_ce": target_ce(tuned, test, tok, p.batch_size, dev),
        **translation_metrics(hyps, refs),
        "dev_ce": tuned.best_dev_ce,
        "trainable_params": tuned.trainable,
        "ft_steps": p.ft_steps,
        "best_step": tuned.steps,
        "wall_time_s": time.perf_counter() - t0,
        "device": dev.type,
    }
