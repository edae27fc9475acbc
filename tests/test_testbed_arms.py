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
