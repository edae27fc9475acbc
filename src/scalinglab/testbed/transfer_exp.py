"""The transfer experiment of Hernandez et al.: from scratch vs pretrained on another
distribution, then trained on D_F tokens of the target (e.g. Python code).

Every (model, D_F) is trained twice on the first D_F target tokens (windows drawn from that
subset, so small D_F means many epochs): from scratch, and from a model pretrained on the
source. Early stopping: the best validation loss on held-out target text over evenly spaced
evaluations. Rows feed `scalinglab transfer` (pretrain_data == "none" for from scratch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from .data import ByteTokenizer, token_stream
from .model import GPTConfig
from .train import TrainConfig, pick_device, pretrain


def run_transfer(
    models: list[dict[str, int]],
    source: str,
    target: str,
    source_tokens: int,
    finetune_sizes: list[int],
    train_tokens: int,
    *,
    context: int = 128,
    batch_size: int = 16,
    lr: float = 3e-3,
    n_evals: int = 6,
    eval_batches: int = 32,
    min_epochs: float = 0.0,
    eval_every: int | None = None,
    patience: int | None = None,
    seed: int = 0,
    max_chars: int | None = 2_000_000,
    device: str | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    prior: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (model, D_F, from scratch or pretrained); `progress` gets each row as it
    is measured (the whole experiment takes minutes to hours).

    Default: each run trains max(train_tokens, min_epochs x D_F) tokens on a cosine schedule
    and keeps its best of `n_evals` evaluations. With `patience`, runs evaluate every
    `eval_every` tokens at a constant rate (after a short warm-up) and stop once `patience`
    evaluations bring no improvement (not before min_epochs x D_F tokens: a plateau early in
    a constant-rate run is noise), train_tokens being the cap: every run then ends at its
    own early-stopping point, so the loss depends on N and D_F, not on how long the schedule
    let it train (a cosine schedule that scales with D_F confounds the two).

    prior: rows of the same experiment measured before (a resumed run): they are skipped (and
    only the new rows returned); a model whose runs are all done is not pretrained again.
    Every row records the settings it was made with (`exp_*` columns), and `prior` must have
    been made with the same ones."""
    tok = ByteTokenizer()
    dev = pick_device(device)
    src_train, src_val = token_stream(source, tok, max_chars)
    tgt_train, tgt_val = token_stream(target, tok, max_chars)
    rows: list[dict[str, Any]] = []
    # 32 fixed validation batches (65k tokens at the defaults): the min over evaluations is
    # what the laws are fitted to, so its noise matters (fewer only for scaled-down checks)
    tc = TrainConfig(batch_size=batch_size, lr=lr, seed=seed, eval_batches=eval_batches)
    if patience is not None and not eval_every:
        raise ValueError("patience needs eval_every (tokens between evaluations)")
    settings = settings_of(source, target, source_tokens, train_tokens, context, batch_size, lr,
                           n_evals, min_epochs, eval_every, patience, seed, max_chars,
                           eval_batches)  # fmt: skip
    done = _done_runs(prior, settings)
    for m in models:
        todo = [
            (d_f, label)
            for d_f in finetune_sizes
            for label in ("none", source)
            if (m["d_model"], d_f, label) not in done
        ]
        if not todo:
            continue
        cfg = GPTConfig(vocab_size=tok.vocab_size, context=context, **m)
        pre = pretrain(cfg, src_train, src_val, source_tokens, tc, device=str(dev))
        init = pre.checkpoints[max(pre.checkpoints)]
        for d_f in finetune_sizes:
            subset = tgt_train[: max(d_f, context + 2)]
            # early stopping needs a run long enough to overfit: at least min_epochs of D_F
            steps_tokens = int(max(train_tokens, min_epochs * d_f))
            marks = list(np.linspace(steps_tokens / n_evals, steps_tokens, n_evals).astype(int))
            run_tc = tc
            if patience is not None:
                assert eval_every  # checked above: patience needs eval_every
                marks = list(range(eval_every, steps_tokens + 1, eval_every))
                warm = min(0.05, eval_every / steps_tokens)  # warm up over one eval interval
                run_tc = replace(tc, min_lr_frac=1.0, warmup_frac=warm)
            for label, state in (("none", None), (source, init)):
                if (d_f, label) not in todo:
                    continue
                t0 = time.perf_counter()
                res = pretrain(
                    cfg,
                    subset,
                    tgt_val,
                    steps_tokens,
                    run_tc,
                    checkpoints=marks,
                    device=str(dev),
                    init_state=state,
                    patience=patience,
                    min_tokens=int(min_epochs * d_f) if patience is not None else 0,
                )
                best = min(res.history, key=lambda h: h["val_loss"])
                rows.append(
                    {
                        "pretrain_data": label,
                        "target": target,
                        "d_model": m["d_model"],
                        "n_layers": m["n_layers"],
                        "n_params": res.model.n_params(),
                        "n_params_nonembedding": res.model.n_params(non_embedding=True),
                        "finetune_size": d_f,
                        "source_tokens": source_tokens if state is not None else 0,
                        "train_tokens": int(res.history[-1]["tokens"]),
                        "loss": best["val_loss"],
                        # where early stopping chose: at the last evaluation, the run may
                        # have been cut short rather than have overfitted
                        "best_tokens": best["tokens"],
                        "wall_time_s": time.perf_counter() - t0,
                        "device": dev.type,
                        **settings,
                    }
                )
                if progress is not None:
                    progress(rows[-1])
    return pd.DataFrame(rows)


def _done_runs(prior: pd.DataFrame | None, settings: dict[str, Any]) -> set[tuple[int, int, str]]:
    """(d_model, D_F, pretrain_data) of the prior rows, after checking their settings."""
    if prior is None or prior.empty:
        return set()
    source = prior.attrs.get("scalinglab_source", "the prior runs")
    prior = prior.copy()
    for key, value in _ADDED_LATER.items():  # rows made before the setting was recorded
        prior[key] = prior[key].fillna(value) if key in prior.columns else value
    for key, want in settings.items():
        if key not in prior.columns:
            raise ValueError(
                f"{source}: no '{key}' column, so it cannot be shown to come from the same "
                "experiment settings; start a new file instead"
            )
        have = set(prior[key].tolist())
        if have != {want}:
            raise ValueError(
                f"{source}: column '{key}' is {sorted(map(str, have))}, this run has {want!r}: "
                "a resumed experiment must keep its settings (or write to a new file)"
            )
    return {
        (int(r.d_model), int(r.finetune_size), str(r.pretrain_data)) for r in prior.itertuples()
    }


def settings_of(
    source: str,
    target: str,
    source_tokens: int,
    train_tokens: int,
    context: int,
    batch_size: int,
    lr: float,
    n_evals: int,
    min_epochs: float,
    eval_every: int | None,
    patience: int | None,
    seed: int,
    max_chars: int | None,
    eval_batches: int = 32,
) -> dict[str, Any]:
    """The experiment-wide settings each row records (prefixed `exp_`): runs made with
    different ones must not be mixed in one table."""
    return {
        "exp_source": source,
        "exp_target": target,
        "exp_source_tokens": int(source_tokens),
        "exp_train_cap": int(train_tokens),
        "exp_context": int(context),
        "exp_batch_size": int(batch_size),
        "exp_lr": float(lr),
        "exp_n_evals": int(n_evals),
        "exp_min_epochs": float(min_epochs),
        "exp_eval_every": int(eval_every or 0),
        "exp_patience": int(patience or 0),
        "exp_seed": int(seed),
        "exp_max_chars": int(max_chars or 0),
        "exp_eval_batches": int(eval_batches),
    }


# Settings added after files were written without them: such a file was made with this value.
_ADDED_LATER = {"exp_eval_batches": 32}
