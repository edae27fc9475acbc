"""One claimed run executed: pretraining (checkpoint saved) or finetuning from its
pretraining run's checkpoint; returns its metrics."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from ..registry import Claim
from .grid import finetune_lr, finetune_seed, finetune_steps


def _atomic_save(obj: Any, path: Path) -> None:
    """torch.save through scalinglab's one safe writer: a uniquely named temporary file
    (never a predictable `.tmp` a planted link could redirect), fsynced and renamed."""
    import torch

    from ...io.safe_write import atomic_write

    with atomic_write(path, "wb") as fh:
        torch.save(obj, fh)


def execute(
    claim: Claim, dep: dict[str, Any] | None, artifacts: Path
) -> tuple[dict[str, Any], str | None]:
    """Run one claimed run; returns (metrics, artifact path). `dep` is the registry row of
    the pretraining run a finetuning run depends on (artifact path and metrics).

    Parameters
    ----------
    claim : Claim
        The claimed run (kind and config).
    dep : dict or None
        The pretraining run's registry row for a finetuning run; None for pretraining.
    artifacts : Path
        Folder for the checkpoint (pretraining) or the test translations (finetuning).

    Returns
    -------
    tuple of (dict, str or None)
        The run's metrics (losses, accuracy, scores, parameters, tokens, wall time) and the
        absolute path of what it saved.
    """
    import torch

    from ..data import accuracy_items, get_tokenizer, token_stream
    from ..evaluate import cloze_accuracy, translate, translation_metrics
    from ..model import GPT, GPTConfig
    from ..train import TestbedError, TrainConfig, finetune, pick_device, pretrain, target_ce

    c = claim.config
    dev = pick_device()
    tok = get_tokenizer(c.get("tokenizer", "byte"))
    cfg = GPTConfig(vocab_size=tok.vocab_size, context=c["context"], **c["model"])
    if claim.kind == "pretrain":
        train, val = token_stream(c["pretrain_data"], tok, c["max_chars"])
        res = pretrain(
            cfg,
            train,
            val,
            c["tokens"],
            TrainConfig(
                batch_size=c["batch_size"],
                lr=c["lr"],
                seed=c["seed"],
                compile=bool(c.get("compile", False)),  # a spec key only where set
            ),
            device=str(dev),
        )
        items = accuracy_items(c["pretrain_data"], tok, c["cloze_items"])
        acc = cloze_accuracy(res.model, items, tok, dev)
        path = (artifacts / f"{claim.key}.pt").resolve()  # absolute: resumable from any cwd
        _atomic_save({"config": cfg.to_dict(), "state": res.model.state_dict()}, path)
        return {
            "n_params": res.model.n_params(),
            "n_params_nonembedding": res.model.n_params(non_embedding=True),
            "tokens": res.history[-1]["tokens"],
            "unique_tokens": int(len(train)),  # tokens / unique_tokens = epochs of the data
            "loss": res.history[-1]["val_loss"],
            "accuracy": acc,
            "accuracy_se": (acc * (1 - acc) / max(len(items), 1)) ** 0.5,  # binomial
            "wall_time_s": res.wall_time_s,
            "tokens_per_s": res.tokens_per_s,
            "device": dev.type,
        }, str(path)
    if dep is None:  # a finetuning run registered by hand without its pretraining run
        raise TestbedError(
            f"finetuning run {claim.name} has no pretraining run to start from: register it "
            "with depends_on naming the pretraining run's key"
        )
    ckpt = torch.load(dep["artifact"], map_location="cpu")
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state"])
    task = _fitting_task(
        c.get("task", "translation_en_es"),
        c.get("max_pair_bytes") or c["context"] - c["prompt_length"],
        c.get("tokenizer", "byte"),
        c["context"] - c["prompt_length"],
    )
    test = task.test[: c["n_test"]]
    if not test or not task.dev:
        name = c.get("task", "translation_en_es")
        raise TestbedError(
            f"no {'test' if not test else 'dev'} pairs of task {name} "
            f"fit the context ({c['context']} tokens, {c['prompt_length']} for a prompt): raise "
            "context or max_pair_bytes"
        )
    t0 = time.perf_counter()
    tuned = finetune(
        model,
        c["method"],
        task.subset(c["finetune_size"], finetune_seed(c)),
        task.dev[:64],
        tok,
        steps=(steps := finetune_steps(c)),
        lr=finetune_lr(c),
        batch=c["batch_size"],
        lora_rank=c["lora_rank"],
        prompt_length=c["prompt_length"],
        eval_every=max(5, steps // 4),
        seed=finetune_seed(c),
        device=str(dev),
        prompt_specials=bool(c.get("prompt_specials", False)),  # a spec key only where set
    )
    hyps = translate(tuned, [s for s, _ in test], tok, dev)
    refs = [t for _, t in test]
    zero_shot = _zero_shot(tuned, c, tok, dev)
    # The translations themselves: two runs compare by a paired bootstrap over the same
    # test verses (evaluate.paired_bootstrap, sweep.compare_runs).
    path = (artifacts / f"{claim.key}.translations.json").resolve()
    _save_translations(test, hyps, path)
    return {
        "downstream_ce": target_ce(tuned, test, tok, c["batch_size"], dev),
        **translation_metrics(hyps, refs),
        "dev_ce": tuned.best_dev_ce,  # the model-selection criterion (best dev step kept)
        "trainable_params": tuned.trainable,
        "ft_steps": steps,
        "best_step": tuned.steps,  # the dev-selected step kept
        "wall_time_s": time.perf_counter() - t0,
        **{
            k: dep["metrics"][k]
            for k in ("n_params", "n_params_nonembedding", "tokens", "unique_tokens")
            if k in dep["metrics"]
        },
        "pretrain_loss": dep["metrics"]["loss"],
        "pretrain_accuracy": dep["metrics"].get("accuracy"),
        **zero_shot,
        "device": dev.type,
    }, str(path)


def _zero_shot(tuned: Any, c: dict[str, Any], tok: Any, dev: Any) -> dict[str, float]:
    """Zhang et al.'s zero-shot question: does the finetuned model still do a related task it
    was never finetuned on? Measured on the pretraining runs' own accuracy task (the held-out
    verse cloze), scored without the soft prompt, so `zeroshot_accuracy` minus the pretrained
    model's `accuracy` (kept beside it as `pretrain_accuracy`) is what finetuning cost or
    gained there. FMT moves every weight; LoRA adds adapters; prompt tuning leaves the weights
    frozen (only the special tokens' embeddings move with prompt_specials), so it should keep
    the pretrained accuracy: the contrast the paper draws."""
    from ..data import accuracy_items
    from ..evaluate import cloze_accuracy

    n = int(c.get("cloze_items") or 0)
    if n <= 0:
        return {}
    items = accuracy_items(c["pretrain_data"], tok, n)
    acc = cloze_accuracy(tuned.model, items, tok, dev)
    return {
        "zeroshot_accuracy": acc,
        "zeroshot_accuracy_se": (acc * (1 - acc) / max(len(items), 1)) ** 0.5,
    }


def _save_translations(test: list[tuple[str, str]], hyps: list[str], path: Path) -> None:
    import json

    from ...io.safe_write import write_text

    rows = [
        {"source": s, "reference": t, "hypothesis": h} for (s, t), h in zip(test, hyps, strict=True)
    ]
    write_text(path, json.dumps(rows, ensure_ascii=False))


@functools.lru_cache(maxsize=4)
def _fitting_task(task: str, max_pair_bytes: int, tokenizer: str, max_len: int):
    """A task's pairs that fit the context in tokens; built once per worker process (a
    worker runs dozens of finetuning runs on the same task; tokenizing 30k pairs takes
    seconds). Read-only: runs slice it and draw subsets from it."""
    from ..data import get_task, get_tokenizer

    return get_task(task)(max_pair_bytes=max_pair_bytes).fitting(get_tokenizer(tokenizer), max_len)
