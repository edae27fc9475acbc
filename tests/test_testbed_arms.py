"""Testbed sweep designs: the no-pretraining arm, run names that tell runs apart."""

import math

import pytest

pytest.importorskip("torch", reason="the testbed needs torch")

from scalinglab.testbed import corpora  # noqa: E402
from scalinglab.testbed.sweep import expand, export, run_sweep  # noqa: E402

needs_bibles = pytest.mark.skipif(
    not (corpora.CORPORA["kjv"].available() and corpora.CORPORA["rv1909"].available()),
    reason="SWORD Bibles not installed: apt-get install -y sword-text-kjv sword-text-sparv "
    "diatheke",
)
MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2}
TINY = {
    "context": 160,
    "batch_size": 4,
    "ft_steps": 4,
    "n_test": 4,
    "max_chars": 60000,
    "cloze_items": 5,
    "pretrain_data": "kjv:0.5,rv1909:0.5",
    "finetune_size": 16,
}


@needs_bibles
def test_zero_tokens_is_random_initialisation_recorded_as_zero(tmp_path):
    """tokens: [0] silently trained one batch (batch_size x context = 640 tokens here) and was
    refused later; now it is the no-pretraining arm: the seeded initialisation, its loss that
    of an untrained model (about ln of the vocabulary), and finetuning runs depend on it."""
    import torch

    torch.set_num_threads(1)
    spec = {"defaults": TINY, "axes": {"model": [MODEL], "tokens": [0], "method": ["fmt"]}}
    runs = expand(spec)
    pre, ft = runs
    assert (pre.kind, pre.config["tokens"], ft.depends_on) == ("pretrain", 0, [pre.key])
    reg = run_sweep(spec, tmp_path / "r.sqlite", tmp_path / "art")
    assert reg.counts() == {"done": 2}
    df = export(reg.path).set_index("kind")
    row = df.loc["pretrain"]
    assert row["tokens"] == 0 and row["flops"] == 0 and row["epochs"] == 0
    # An untrained byte-level model predicts near-uniformly over 260 symbols.
    assert abs(row["loss"] - math.log(260)) < 0.3, row["loss"]
    assert df.loc["finetune", "tokens"] == 0
    assert df.loc["finetune", "pretrain_loss"] == row["loss"]
    assert math.isfinite(df.loc["finetune", "downstream_ce"])


def test_run_names_tell_lora_ranks_prompt_lengths_and_other_axes_apart():
    """Three LoRA ranks were all `ft-...-lora-250` (issue 21); two learning rates shared one
    name too. Every generated name is now one run."""
    spec = {
        "defaults": {**TINY, "tokens": 3000, "finetune_size": 250},
        "grids": [
            {"axes": {"model": [MODEL], "method": ["lora"], "lora_rank": [2, 4, 8]}},
            {"axes": {"model": [MODEL], "method": ["prompt"], "prompt_length": [8, 16]}},
            {"axes": {"model": [MODEL], "method": ["fmt"], "ft_lr": [0.001, 0.002]}},
            {"axes": {"model": [MODEL], "lr": [0.003, 0.01]}},
        ],
    }
    runs = expand(spec)
    names = [r.name for r in runs]
    assert len(set(names)) == len(names) == 2 + 3 + 2 + 2
    base = "d16L1-kjv:0.5,rv1909:0.5-3000-s0"
    assert {n for n in names if "-lora-" in n} == {f"ft-{base}-lora-r{r}-250" for r in (2, 4, 8)}
    assert {n for n in names if "-prompt-" in n} == {f"ft-{base}-prompt-p{p}-250" for p in (8, 16)}
    fmt = {f"ft-{base}-fmt-250-flr{x}" for x in (0.001, 0.002)}
    assert {n for n in names if "-fmt-" in n} == fmt
    # The default rate (0.003) is the pretraining run every finetuning run depends on.
    assert {n for n in names if n.startswith("pre-")} == {
        f"pre-{base}-lr{x}" for x in (0.003, 0.01)
    }
    (pre,) = [r for r in runs if r.name == f"pre-{base}-lr0.003"]
    assert all(r.depends_on == [pre.key] for r in runs if r.kind == "finetune")
    # A spec's own names are kept as written.
    named = {
        **spec,
        "include": [{"model": MODEL, "method": "fmt", "finetune_size": 64, "name": "mine"}],
    }
    assert "mine" in [r.name for r in expand(named)]
