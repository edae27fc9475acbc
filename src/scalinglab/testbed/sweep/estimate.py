"""What a sweep costs before it runs: FLOPs and time per run.

CPU time is calibrated on measured throughput, not guessed: the 147 runs of one fresh
invocation of the cpu preset (2 workers x 1 thread on 2 cores, 2026-12-03, 75.0 min of wall
time, 149 worker-minutes, `scalinglab/data/testbed_cpu_runs.csv`), each run's registry time
(`finished - started`: training, evaluation, checkpoint), by non-negative least squares in
seconds so that the long runs, which make the total, weigh most
(`scripts/calibrate_sweep_plan.py REGISTRY` refits them):

- pretraining: seconds per token = 5.37e-5 + 4.52e-11 x the model's training FLOPs per token
  (output projection and attention included): a fixed per-token cost (data, optimizer,
  Python, validation) plus ~22 GFLOP/s per thread; 0.87-1.22x of each run's time (median
  1.07);
- finetuning: 1.34 s + 0.761 x (ft_steps x batch x pair tokens) x that per-token cost
  (dev evaluations, test cross-entropy, greedy decoding); 0.62-1.48x (median 1.02). Below
  1x because only target positions are projected onto the vocabulary (the source half of
  a pair is context), where pretraining projects every position.

Together 152 worker-minutes for the preset against 149 measured. The former calibration
(5.38e-5 + 4.08e-11; 4.3 s + 1.65x), on the same design before the cloze shared its
context's KV cache and finetuning stopped projecting source positions, put finetuning at
2.3x its time now (63.8 worker-minutes then, 27.9 now).

The accuracy task's scoring (per item a ~48-token context read once and four ~3-token
words from its cache, forward only) is added from the same rate, not measured; decoding
more test verses than the calibration's 100 is not.

The former rule (20,000 tokens/s per 1M parameters, faster as sqrt(1e6/N) below) put the cpu
preset at 28.6 worker-minutes; it took 106.8 (3.7x). Scale `cpu_speed` for another machine
(2.0: twice this one's per-thread speed). On a GPU (`tflops`) the time is the model's FLOPs at
that sustained rate.
"""

from __future__ import annotations

from typing import Any

from .grid import Run, _vocab_size, finetune_steps

PRE_S_PER_TOKEN = 5.37e-5  # fixed cost per pretraining token (one thread)
PRE_S_PER_FLOP = 4.52e-11  # per training FLOP (one thread: ~22 GFLOP/s)
FT_FIXED_S = 1.34  # per finetuning run: loading, the task's batches, evaluations
FT_WORK_FACTOR = 0.761  # training steps (targets only), evaluations and decoding
PRE_FIXED_S = 0.5  # per pretraining run: cloze scoring, checkpoint (measured sweep overhead)
BYTES_PER_BPE_TOKEN = 3.2  # Bible text under the shared BPE vocabularies
# A cloze item: its context read once (~48 tokens), then four ~3-token words from its cache
CLOZE_TOKENS_PER_ITEM = 48 + 4 * 3


def plan(
    runs: list[Run], tflops: float | None = None, cpu_speed: float = 1.0
) -> list[dict[str, Any]]:
    """Per run: estimated training FLOPs (6 N D, N non-embedding, as exported) and time.

    Time (`est_seconds`): on one CPU worker with one thread, calibrated on measured runs
    (module docstring; `cpu_speed` scales it for a faster or slower machine), or, given
    `tflops`, at that sustained rate (e.g. 400 for an H100 at 40% MFU in bf16) from the
    model's FLOPs per token. A sweep on W workers takes about the sum divided by W.

    Parameters
    ----------
    runs : list of Run
        Expanded runs (`expand`).
    tflops : float or None
        Sustained TFLOP/s of a GPU; None: the calibrated CPU time.
    cpu_speed : float
        Per-thread speed relative to the calibration machine (2.0: twice as fast).

    Returns
    -------
    list of dict
        Per run, in order: ``name``, ``kind``, ``key``, ``n_params_nonembedding``,
        ``tokens``, ``flops`` and ``est_seconds``.
    """
    from ..model import GPTConfig

    out = []
    for r in runs:
        c = r.config
        vocab = _vocab_size(c.get("tokenizer", "byte"))
        m = GPTConfig(vocab_size=vocab, context=c["context"], **c["model"])
        n = m.non_embedding_params
        per_token = (PRE_S_PER_TOKEN + PRE_S_PER_FLOP * m.flops_per_token()) / cpu_speed
        # The accuracy task: 4 choices an item, ~48 tokens a row, forward only (1/3); measured
        # after pretraining and, as the zero-shot task, after finetuning.
        cloze = c.get("cloze_items", 0) * CLOZE_TOKENS_PER_ITEM / 3 * per_token
        if r.kind == "pretrain":
            tokens = c["tokens"]
            seconds = PRE_FIXED_S + tokens * per_token + cloze
        else:
            tokens = finetune_steps(c) * c["batch_size"] * _pair_tokens(c)
            seconds = FT_FIXED_S + FT_WORK_FACTOR * tokens * per_token + cloze
        if tflops:
            seconds = m.flops_per_token() * tokens / (tflops * 1e12)
        out.append(
            {
                "name": r.name,
                "kind": r.kind,
                "key": r.key,
                "n_params_nonembedding": n,
                "tokens": tokens,
                "flops": 6.0 * n * tokens,
                "est_seconds": seconds,
            }
        )
    return out


def _pair_tokens(c: dict[str, Any]) -> int:
    """Tokens of a padded finetuning batch row: the pair length limit in tokens."""
    limit = c.get("max_pair_bytes") or c["context"] - c["prompt_length"]
    if str(c.get("tokenizer", "byte")).startswith("bpe:"):
        limit = limit / BYTES_PER_BPE_TOKEN
    return int(min(limit, c["context"]))
