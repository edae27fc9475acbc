"""Built-in example data: the `cpu` testbed preset's runs, measured by scalinglab's own testbed
(small transformers pretrained and finetuned on real corpora, 2 CPU cores). Regenerate with:

    scalinglab testbed run --preset cpu --out cpu_runs
    cp cpu_runs/runs.csv src/scalinglab/data/testbed_cpu_runs.csv

The table holds four experiments, told apart by their columns (see `split`):
- ladder: pretraining runs on the English + Spanish Bibles, 6 model sizes x token budgets
  (one cosine run per budget): `loss` is the validation loss in nats per BPE token;
- downstream: FMT finetuning of the 100k model on 250 / 1,000 / 4,000 en->es verse pairs
  after each pretraining budget (`downstream_ce`, `bleu`, `chrf` on 100 held-out verses);
- methods: FMT, LoRA and prompt tuning x 3 model sizes x 250 / 1,000 / 4,000 pairs, three
  finetuning seeds (`seed`) for the 100k model;
- alignment: the same finetuning after English-only (kjv), English + Spanish, and code-only
  (python) pretraining.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

TESTBED_FILE = "testbed_cpu_runs.csv"
MIXTURE = "kjv:0.5,rv1909:0.5"
# The smallest budget the laws are fitted on: 60 optimizer steps of 32 x 128 tokens. At the
# preset's 125k-token budget (31 steps) larger models are still worse than smaller ones.
MIN_FIT_TOKENS = 245_760
# Downstream CE after finetuning the 100k model is flat below 1M pretraining tokens (the
# finetuning set dominates) and follows Isik et al.'s law from there on.
DOWNSTREAM_MIN_TOKENS = 1_000_000
ALIGN_MODEL = 64  # d_model of the model every corpus and every budget is finetuned on


def example_path(name: str = TESTBED_FILE) -> Path:
    """Path of a packaged example file."""
    return Path(str(resources.files("scalinglab") / "data" / name))


def split(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The testbed table's experiments as separate frames (see the module docstring)."""
    pre = df[df["method"] == "none"]
    ft = df[df["method"] != "none"]
    fmt1k = ft[(ft["method"] == "fmt") & (ft["finetune_size"] == 1000)]
    peft = ft[ft["method"] != "fmt"]  # the methods grid: where LoRA / prompt runs exist
    return {
        "all": df,
        "ladder": pre[pre["pretrain_data"] == MIXTURE],
        "downstream": ft[
            (ft["method"] == "fmt")
            & (ft["pretrain_data"] == MIXTURE)
            & (ft["d_model"] == ALIGN_MODEL)
            & (ft["seed"] == 0)  # one run per budget (the methods grid adds seeds at 2M)
        ],
        "methods": ft[
            (ft["pretrain_data"] == MIXTURE)
            & ft["tokens"].isin(peft["tokens"].unique())
            & ft["d_model"].isin(peft["d_model"].unique())
        ],
        "alignment": fmt1k[(fmt1k["d_model"] == ALIGN_MODEL) & (fmt1k["tokens"] <= 1.1e6)],
    }


def testbed_runs() -> dict[str, pd.DataFrame]:
    """The packaged cpu-preset runs, split by experiment."""
    df = pd.read_csv(example_path())
    df.attrs["scalinglab_source"] = str(example_path())  # named in reports and errors
    return split(df)
