"""Local executor throughput: 2 worker processes x 1 thread vs 1 process x 2 threads.

Small models do not use two threads well (per-op overhead dominates), so two independent
workers should finish a sweep of many small runs sooner. Both configurations run the same
runs into fresh registries in the same invocation; prints wall times and the ratio.

    python benchmarks/sweep_pool.py                 # a slice of the cpu preset (default)
    python benchmarks/sweep_pool.py SPEC.yaml       # any spec, whole

The cpu slice: the preset's pretraining ladder at its three smallest budgets (all five model
sizes, 15 runs) and FMT / LoRA / prompt tuning of two of them (6 runs), with the preset's
own settings (BPE, context, batch, finetuning steps).
"""

import sys
import tempfile
import time
from pathlib import Path

from scalinglab.testbed.sweep import expand, load_spec, run_sweep


def cpu_slice() -> dict:
    spec = load_spec("cpu")
    ladder = spec["grids"][0]["axes"]
    small = sorted(ladder["tokens"])[:3]
    grids = [
        {"axes": {**ladder, "tokens": small}},
        {
            "axes": {
                "model": ladder["model"][:3:2],
                "tokens": [small[-1]],
                "method": ["fmt", "lora", "prompt"],
            }
        },
    ]
    return {**spec, "name": "cpu-slice", "grids": grids}


def warm_caches(spec: dict) -> None:
    """Train the BPE vocabulary and tokenize the corpora once, outside the timings."""
    from scalinglab.testbed.data import get_tokenizer, token_stream

    for run in expand(spec):
        c = run.config
        if run.kind == "pretrain":
            token_stream(c["pretrain_data"], get_tokenizer(c["tokenizer"]), c["max_chars"])


def timed(spec, workers: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        run_sweep(spec, Path(d) / "r.sqlite", Path(d) / "art", workers=workers, threads=threads)
        return time.perf_counter() - t


def main() -> None:
    if len(sys.argv) > 1:
        name, spec = sys.argv[1], load_spec(sys.argv[1])
    else:
        name, spec = "the cpu preset (slice)", cpu_slice()
    n = len(expand(spec))
    warm_caches(spec)
    seq = timed(spec, 1, 2)
    pool = timed(spec, 2, 1)
    print(f"{n} runs from {name}")
    print(f"1 process x 2 threads : {seq:7.1f} s")
    print(f"2 processes x 1 thread: {pool:7.1f} s")
    print(f"speed-up of the pool: {seq / pool:.2f}x")


if __name__ == "__main__":
    main()
