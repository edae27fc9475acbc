"""Built-in example data: the `cpu` testbed preset's runs, measured by scalinglab's own testbed
(small transformers pretrained and finetuned on real corpora, 2 CPU cores), from one fresh
invocation. Regenerate with:

    scalinglab testbed run --preset cpu --out cpu_runs
    cp cpu_runs/runs.csv src/scalinglab/data/testbed_cpu_runs.csv

The table holds the preset's experiments, told apart by their columns (see `split`):
- ladder: pretraining runs on the English + Spanish Bibles, 6 model sizes (15k-793k
  non-embedding parameters) x 5 token budgets (125k-2M, one cosine run per budget), with
  longer runs on a tokens-per-parameter axis (M = 20-80) for the 25k, 57k and 100k models
  and the 336k model at M = 10, the over-trained run held out: `loss` is the validation loss
  in nats per BPE token, `accuracy` the 4-choice verse cloze (1,000 held-out items, chance
  0.25);
- downstream: FMT finetuning of the d64 model on 250 / 1,000 / 4,000 en->es verse pairs after
  each pretraining budget (`downstream_ce`, `bleu`, `chrf` on the held-out verses);
- methods: FMT, LoRA (rank 4) and prompt tuning (16 virtual tokens) x 3 model sizes (2M
  pretraining tokens) x 250 / 1,000 / 4,000 pairs, three finetuning seeds for the d64 model
  (on 250 and 1,000 pairs); methods_pretraining: the same on the d64 model after 0.25M / 2M /
  4M pretraining tokens;
  every finetuned model is also scored zero-shot on the cloze (`zeroshot_accuracy`);
- pet_size: LoRA rank 1 / 4 / 16 and prompt length 4 / 16 / 32 on the d64 model;
- alignment: FMT on 1,000 pairs after English-only (kjv), English + Spanish (the mixture),
  interleaved parallel verses (bible-parallel: aligned) and code-only (python: misaligned)
  pretraining, 4+ budgets each;
- no_pretraining: the same finetuning from a random initialisation (`tokens` = 0).
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
DEFAULT_LORA_RANK = 4  # the methods grid's LoRA rank and prompt length (pet_size varies them)
DEFAULT_PROMPT_LENGTH = 16
PET_TOKENS = 2_002_944  # the pretraining budget (2M, rounded up to whole batches) of pet_size


def example_path(name: str = TESTBED_FILE) -> Path:
    """Path of a packaged example file."""
    return Path(str(resources.files("scalinglab") / "data" / name))


def split(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The testbed table's experiments as separate frames (see the module docstring)."""
    pre = df[df["method"] == "none"]
    ft = df[df["method"] != "none"]
    pretrained = ft[ft["tokens"] > 0]
    default_pet = (ft["lora_rank"].isna() | (ft["lora_rank"] == DEFAULT_LORA_RANK)) & (
        ft["prompt_length"].isna() | (ft["prompt_length"] == DEFAULT_PROMPT_LENGTH)
    )
    peft = pretrained[pretrained["method"] != "fmt"]  # where LoRA / prompt runs exist
    cells = set(zip(peft["tokens"], peft["d_model"], strict=True))
    in_grid = pd.Series(
        [(t, d) in cells for t, d in zip(ft["tokens"], ft["d_model"], strict=True)], ft.index
    )
    grid = ft[(ft["pretrain_data"] == MIXTURE) & default_pet & in_grid]
    fmt1k = pretrained[(pretrained["method"] == "fmt") & (pretrained["finetune_size"] == 1000)]
    return {
        "all": df,
        "ladder": pre[(pre["pretrain_data"] == MIXTURE) & (pre["tokens"] > 0)],
        "downstream": pretrained[
            (pretrained["method"] == "fmt")
            & (pretrained["pretrain_data"] == MIXTURE)
            & (pretrained["d_model"] == ALIGN_MODEL)
            & (pretrained["seed"] == 0)  # one run per budget (the methods grid adds seeds)
        ],
        "methods": grid[grid["tokens"] == PET_TOKENS],  # Zhang et al.'s X = model size
        "methods_pretraining": grid[grid["d_model"] == ALIGN_MODEL],  # X = pretraining data
        "pet_size": peft[(peft["d_model"] == ALIGN_MODEL) & peft["tokens"].eq(PET_TOKENS)],
        "alignment": fmt1k[fmt1k["d_model"] == ALIGN_MODEL],
        "no_pretraining": ft[ft["tokens"] == 0],
    }


def testbed_runs() -> dict[str, pd.DataFrame]:
    """The packaged cpu-preset runs, split by experiment."""
    df = pd.read_csv(example_path())
    df.attrs["scalinglab_source"] = str(example_path())  # named in reports and errors
    return split(df)
