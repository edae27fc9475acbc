"""What a sweep costs before it runs: FLOPs and time per run."""

from __future__ import annotations

from typing import Any

from .grid import Run


def plan(
    runs: list[Run], tokens_per_s: float = 20_000.0, tflops: float | None = None
) -> list[dict[str, Any]]:
    """Per run: estimated training FLOPs (6 N D, N non-embedding, as exported) and time.

    Time: on one CPU worker at `tokens_per_s` per 1M parameters, or, given `tflops`, at that
    sustained rate (e.g. 400 for an H100 at 40% MFU in bf16) from the model's FLOPs per
    token (output projection and attention included).
    """
    from ..model import GPTConfig

    out = []
    for r in runs:
        vocab = _vocab_size(r.config.get("tokenizer", "byte"))
        m = GPTConfig(vocab_size=vocab, context=r.config["context"], **r.config["model"])
        n = m.non_embedding_params
        tokens = (
            r.config["tokens"]
            if r.kind == "pretrain"
            else r.config["ft_steps"] * r.config["batch_size"] * 100
        )
        flops = 6.0 * n * tokens
        if tflops:
            seconds = m.flops_per_token() * tokens / (tflops * 1e12)
        else:
            seconds = tokens / (tokens_per_s * max(1.0, 1e6 / max(n, 1)) ** 0.5)
        out.append(
            {
                "name": r.name,
                "kind": r.kind,
                "key": r.key,
                "n_params_nonembedding": n,
                "tokens": tokens,
                "flops": flops,
                "est_seconds": seconds,
            }
        )
    return out


def _vocab_size(tokenizer: str) -> int:
    """The vocabulary a tokenizer spec gives, without building it (bytes + specials, bpe:N)."""
    from ..data import ByteTokenizer

    if tokenizer.startswith("bpe:"):
        return int(tokenizer.split(":", 1)[1])
    return ByteTokenizer.vocab_size
