"""The transfer experiment of Hernandez et al.: from scratch vs pretrained on another
distribution, then trained on D_F tokens of the target (e.g. Python code).

Every (model, D_F) is trained twice on the first D_F target tokens (windows drawn from that
subset, so small D_F means many epochs): from scratch, and from a model pretrained on the
source. Early stopping: the best validation loss on held-out target text over evenly spaced
evaluations. Rows feed `scalinglab transfer` (pretrain_data == "none" for from scratch).
"""

from __future__ import annotations

import time
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
    seed: int = 0,
    max_chars: int | None = 2_000_000,
    device: str | None = None,
) -> pd.DataFrame:
    tok = ByteTokenizer()
    dev = pick_device(device)
    src_train, src_val = token_stream(source, tok, max_chars)
    tgt_train, tgt_val = token_stream(target, tok, max_chars)
    rows: list[dict[str, Any]] = []
    tc = TrainConfig(batch_size=batch_size, lr=lr, seed=seed)
    marks = list(np.linspace(train_tokens / n_evals, train_tokens, n_evals).astype(int))
    for m in models:
        cfg = GPTConfig(vocab_size=tok.vocab_size, context=context, **m)
        pre = pretrain(cfg, src_train, src_val, source_tokens, tc, device=str(dev))
        init = pre.checkpoints[max(pre.checkpoints)]
        for d_f in finetune_sizes:
            subset = tgt_train[: max(d_f, context + 2)]
            for label, state in (("none", None), (source, init)):
                t0 = time.perf_counter()
                res = pretrain(
                    cfg,
                    subset,
                    tgt_val,
                    train_tokens,
                    tc,
                    checkpoints=marks,
                    device=str(dev),
                    init_state=state,
                )
                rows.append(
                    {
                        "pretrain_data": label,
                        "target": target,
                        "n_params": res.model.n_params(non_embedding=True),
                        "n_params_total": res.model.n_params(),
                        "finetune_size": d_f,
                        "source_tokens": source_tokens if state is not None else 0,
                        "loss": min(h["val_loss"] for h in res.history),
                        "wall_time_s": time.perf_counter() - t0,
                        "device": dev.type,
                    }
                )
    return pd.DataFrame(rows)
