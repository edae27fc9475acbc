"""Testbed trainer throughput vs a minimal plain-PyTorch loop on the same model, same run.

The reference loop samples the same random windows and takes the same AdamW steps with no
schedule, no clipping, no bookkeeping. Target: ratio >= 0.95 (no framework overhead). With a
GPU, also prints tokens/s and MFU for a ~100M-parameter model in bf16.

    python benchmarks/train_speed.py [--d-model 128 --layers 4 --steps 60]
    python benchmarks/train_speed.py --d-model 768 --layers 12 --heads 12 --context 512 \
        --batch 64 --vocab 8192 --steps 100 --compile          # the gpu preset's 85M model
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from scalinglab.testbed.model import GPT, GPTConfig
from scalinglab.testbed.train import TrainConfig, pick_device, pretrain

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def plain_loop(
    cfg: GPTConfig, tokens: np.ndarray, steps: int, batch: int, device, compile: bool = False
) -> float:
    torch.manual_seed(0)
    model = GPT(cfg).to(device)
    opt = torch.optim.AdamW(
        model.parameters(),
        lr=3e-3,
        betas=(0.9, 0.95),
        fused=True if device.type == "cuda" else None,
    )
    if compile:
        model = torch.compile(model)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        s = rng.integers(0, len(tokens) - cfg.context - 1, size=batch)
        x = torch.from_numpy(
            np.stack([tokens[i : i + cfg.context + 1] for i in s]).astype(np.int64)
        ).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, cfg.vocab_size), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch * cfg.context / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--vocab", type=int, default=260)  # the byte tokenizer's
    ap.add_argument("--compile", action="store_true", help="torch.compile both (the gpu preset)")
    args = ap.parse_args()
    dev = pick_device()
    cfg = GPTConfig(
        vocab_size=args.vocab,
        context=args.context,
        d_model=args.d_model,
        n_layers=args.layers,
        n_heads=args.heads,
    )
    tokens = np.random.default_rng(0).integers(0, args.vocab, 2_000_000).astype(np.int32)
    budget = args.steps * args.batch * args.context
    ours, ref = [], []
    for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
        ref.append(plain_loop(cfg, tokens, args.steps, args.batch, dev, args.compile))
        r = pretrain(
            cfg,
            tokens,
            tokens[:50_000],
            budget,
            TrainConfig(batch_size=args.batch, eval_batches=1, compile=args.compile),
            device=str(dev),
        )
        ours.append(r.tokens_per_s)
    o, p = float(np.median(ours)), float(np.median(ref))
    print(
        f"device {dev}, threads {torch.get_num_threads()}, model d={args.d_model} "
        f"L={args.layers} ({cfg.non_embedding_params:,} non-embedding params), "
        f"context {args.context}, batch {args.batch}"
    )
    print(f"plain PyTorch loop : {p:10.0f} tokens/s (median of {args.repeats})")
    print(f"testbed pretrain() : {o:10.0f} tokens/s (training steps; validation timed apart)")
    print(f"ratio testbed / plain: {o / p:.3f} (target >= 0.95)")
    if dev.type == "cuda":
        name = torch.cuda.get_device_name()
        peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
        flops = o * cfg.flops_per_token()
        print(f"{name}: {flops / 1e12:.1f} TFLOP/s" + (f", MFU {flops / peak:.1%}" if peak else ""))


if __name__ == "__main__":
    main()
