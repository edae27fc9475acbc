"""Build harness/pythia-v1/ and harness/pythia-v1-sizes.csv from a clone of
github.com/EleutherAI/pythia.

Usage:
    git clone https://github.com/EleutherAI/pythia
    git -C pythia checkout a19eecb807ec2c79a39ebf18108816e6ffffc1d5
    python scripts/data/pythia_harness.py pythia OUT_DIR

Copies, byte for byte, the lm-evaluation-harness result files
evals/pythia-v1/pythia-{70m,160m,410m,1b-bf16,1.4b,2.8b,6.9b,12b}/zero-shot/*.json (216 files,
27 checkpoints per model) to OUT_DIR/pythia-v1/<same path>, and writes
OUT_DIR/pythia-v1-sizes.csv: each model's total and non-embedding parameter count from its
architecture (per layer 12 d^2 + 13 d, plus the final LayerNorm's 2 d; the total adds the untied
input and output embeddings, 2 V d with the padded vocabulary V of the model's Hugging Face
config) and the tokens per step (1,024 sequences x 2,048 tokens). Standard library only; reads
the local clone, downloads nothing.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

SOURCE = Path("evals/pythia-v1")
# model folder -> (width d, layers, padded vocabulary V): the GPT-NeoX configs of
# EleutherAI/pythia-v1.1-<size> (V is 50,277 padded to a multiple of 128 x model parallelism)
MODELS = {
    "70m": (512, 6, 50304),
    "160m": (768, 12, 50304),
    "410m": (1024, 24, 50304),
    "1b-bf16": (2048, 16, 50304),
    "1.4b": (2048, 24, 50304),
    "2.8b": (2560, 32, 50304),
    "6.9b": (4096, 32, 50432),
    "12b": (5120, 36, 50688),
}
TOKENS_PER_STEP = 1024 * 2048
CHECKPOINTS = 27  # steps 0, 1, 2, 4, ..., 512, 1000, 3000, 13000, 23000, ..., 143000


def build(repo: Path, out: Path) -> None:
    """Copy the result files and write the sizes table; a model folder that is missing or
    does not hold 27 checkpoint files is a ValueError naming it."""
    src_root = repo / SOURCE
    if not src_root.is_dir():
        raise ValueError(f"{src_root}: not found (give the root of a clone of EleutherAI/pythia)")
    n_files = 0
    for size in MODELS:
        folder = src_root / f"pythia-{size}" / "zero-shot"
        files = sorted(folder.glob("*.json"))
        if len(files) != CHECKPOINTS:
            raise ValueError(f"{folder}: {len(files)} result files, expected {CHECKPOINTS}")
        dest = out / "pythia-v1" / f"pythia-{size}" / "zero-shot"
        dest.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(f, dest / f.name)
        n_files += len(files)
    sizes = out / "pythia-v1-sizes.csv"
    with sizes.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["model", "n_params", "n_params_nonembedding", "tokens_per_step"])
        for size, (d, layers, vocab) in MODELS.items():
            body = layers * (12 * d * d + 13 * d) + 2 * d
            w.writerow(
                [f"EleutherAI/pythia-v1.1-{size}", body + 2 * vocab * d, body, TOKENS_PER_STEP]
            )
    print(f"copied {n_files} result files to {out / 'pythia-v1'}; wrote {sizes}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build(Path(sys.argv[1]), Path(sys.argv[2]))
