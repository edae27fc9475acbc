"""Testbed sweep designs: the no-pretraining arm, run names that tell runs apart."""

import math

import pandas as pd
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
    # The translations are kept: a run compared with itself differs by exactly 0.
    from scalinglab.testbed.sweep import compare_runs

    same = compare_runs(reg.path, ft.name, ft.name)
    assert same["delta"] == same["lo"] == same["hi"] == 0 and same["n"] == 4
    import json

    from click.testing import CliRunner

    from scalinglab.cli import main

    r = CliRunner().invoke(
        main, ["sweep", "compare", ft.name, ft.name, "--registry", str(reg.path), "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["delta"] == 0
    r = CliRunner().invoke(
        main, ["sweep", "compare", ft.name, "nosuch", "--registry", str(reg.path)]
    )
    assert r.exit_code == 2 and "nosuch" in r.stderr
    assert (
        df.loc["finetune", "chrf_lo"] <= df.loc["finetune", "chrf"] <= df.loc["finetune", "chrf_hi"]
    )


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


@needs_bibles
def test_preset_runner_and_sweep_write_one_row_schema(tmp_path):
    """`run_preset` and the sweep built their rows apart: `dev_ce` in one only (issue 16).
    Now a preset is a sweep: `run_preset` registers the spec's runs, executes them and
    writes `sweep export`'s table (testbed.rows.run_row): the same columns in the same order,
    the same names and keys as the spec expands to."""
    import torch

    from scalinglab.testbed.presets import run_preset

    torch.set_num_threads(1)
    spec = {
        "name": "tiny",
        "defaults": {**TINY, "ft_steps": 2, "n_test": 2, "tokens": 3000},
        "axes": {"model": [MODEL], "method": ["fmt", "lora", "prompt"], "ft_seed": [0]},
    }
    a = run_preset(spec, tmp_path, workers=1)
    b = export(tmp_path / "registry.sqlite")
    assert list(a.columns) == list(b.columns)
    assert a.drop(columns="wall_time_s").equals(b.drop(columns="wall_time_s"))
    import scalinglab as sl

    written = sl.read_table(tmp_path / "runs.csv")  # OUT/runs.csv, valid in the schema
    assert sorted(written["run_id"]) == sorted(a["run_id"]) and len(written) == 4
    for col in ("dev_ce", "tokens_per_param", "epochs", "pretrain_loss", "run_id", "key"):
        assert col in a.columns, col
    runs = expand(spec)
    assert sorted(a["run_id"]) == sorted(r.name for r in runs)
    assert sorted(a["key"]) == sorted(r.key for r in runs)
    fa = a[a["kind"] == "finetune"].set_index("method")
    assert fa["dev_ce"].notna().all() and set(fa.index) == {"fmt", "lora", "prompt"}
    assert fa.loc["lora", "lora_rank"] == 4 and fa.loc["prompt", "prompt_length"] == 16
    assert (fa["pretrain_loss"] == a.loc[a["kind"] == "pretrain", "loss"].iloc[0]).all()


def test_tokens_per_param_sets_each_models_budget():
    """M = D / N (Gadre et al.): the budget follows each model's non-embedding parameters,
    rounded to two significant figures so a budget a tokens axis lists is the same run."""
    from scalinglab.testbed.model import GPTConfig
    from scalinglab.testbed.sweep import SweepError

    big = {"d_model": 64, "n_layers": 2, "n_heads": 4}
    n = {
        d: GPTConfig(vocab_size=260, context=160, **m).non_embedding_params
        for d, m in ((16, MODEL), (64, big))
    }
    assert n[64] == 100_096
    spec = {
        "defaults": TINY,
        "grids": [
            {"axes": {"model": [MODEL, big], "tokens_per_param": [20, 40]}},
            {"axes": {"model": [big], "tokens": [2_000_000]}},
        ],
    }
    runs = expand(spec)
    tokens = sorted((r.config["model"]["d_model"], r.config["tokens"]) for r in runs)
    assert n[16] == 3312  # 20 x 3312 = 66,240 and 40 x 3312 = 132,480: two digits kept
    assert tokens == [(16, 66_000), (16, 130_000), (64, 2_000_000), (64, 4_000_000)]
    assert all("tokens_per_param" not in r.config for r in runs)
    both = {
        "defaults": TINY,
        "axes": {"model": [MODEL], "tokens": [3000]},
        "include": [{"model": MODEL, "tokens": 10, "tokens_per_param": 2}],
    }
    with pytest.raises(SweepError, match="sets both tokens and tokens_per_param"):
        expand(both)
    with pytest.raises(SweepError, match=r"tokens_per_param must be a finite number > 0"):
        expand({"defaults": TINY, "axes": {"model": [MODEL], "tokens_per_param": [0]}})


def test_cpu_spec_has_each_papers_design_and_an_honest_plan():
    """Issue 20: over-trained runs at several M for >= 3 sizes and an over-trained large run
    to hold out; LoRA and prompt tuning at >= 3 budgets with rank / length varied; >= 4
    budgets per alignment source; a no-pretraining arm; under 90 min on 2 workers by the
    calibrated estimate."""
    from scalinglab.testbed.model import GPTConfig
    from scalinglab.testbed.sweep import load_spec, plan

    runs = expand(load_spec("cpu"))
    pre = [r for r in runs if r.kind == "pretrain"]
    n = {
        r.key: GPTConfig(vocab_size=2048, context=128, **r.config["model"]).non_embedding_params
        for r in pre
    }
    m = {r.key: r.config["tokens"] / n[r.key] for r in pre}
    sizes_over = {n[k] for k in m if m[k] >= 19}
    assert len(sizes_over) >= 4
    for size in sorted(sizes_over)[:3]:
        assert len({round(m[k]) for k in m if n[k] == size and m[k] >= 19}) >= 3
    largest_over = max(n[k] for k in m if m[k] >= 9.5)
    assert largest_over > 0.3e6  # the 336k model at M = 10, above every size fitted at M >= 10
    held = [k for k in m if n[k] == largest_over and m[k] >= 9.5]
    compute = {k: 6 * n[k] * r.config["tokens"] for r in pre for k in [r.key]}
    assert min(compute[k] for k in held) > max(c for k, c in compute.items() if n[k] < largest_over)
    ft = [r for r in runs if r.kind == "finetune"]
    for method in ("lora", "prompt"):
        budgets = {r.config["tokens"] for r in ft if r.config["method"] == method}
        assert len(budgets) >= 3 and max(budgets) / min(budgets) >= 16  # 250k..4M
    assert {r.config["lora_rank"] for r in ft if r.config["method"] == "lora"} == {1, 4, 16}
    assert {r.config["prompt_length"] for r in ft if r.config["method"] == "prompt"} == {4, 16, 32}
    for source in ("kjv", "python", "kjv:0.5,rv1909:0.5"):
        budgets = {r.config["tokens"] for r in ft if r.config["pretrain_data"] == source}
        assert len(budgets) >= 4, source
    assert {r.config["finetune_size"] for r in ft if r.config["tokens"] == 0} == {250, 1000, 4000}
    # The plan is calibrated on this preset's measured runs: its total (152 worker-minutes)
    # matches their wall time (the runs' own `wall_time_s`; 149 in the registry's
    # start-to-finish times) within 15%. The whole invocation took 75.0 minutes on 2 cores,
    # against issue 20's 90.
    from scalinglab.examples import example_path

    measured = pd.read_csv(example_path())["wall_time_s"].sum()
    planned = sum(p["est_seconds"] for p in plan(runs))
    assert 0.85 < planned / measured < 1.15, (planned, measured)


def test_ft_epochs_gives_more_updates_to_more_data():
    """With a fixed ft_steps every finetuning size got the same updates, and prompt tuning
    scored alike on 250 and 4,000 pairs (issue 20); ft_epochs makes steps follow D_f."""
    from scalinglab.testbed.sweep import SweepError, finetune_steps, plan

    spec = {
        "defaults": {**TINY, "tokens": 3000, "batch_size": 32, "ft_epochs": 1.2},
        "axes": {"model": [MODEL], "method": ["prompt"], "finetune_size": [250, 1000, 4000]},
    }
    ft = [r for r in expand(spec) if r.kind == "finetune"]
    assert [finetune_steps(r.config) for r in ft] == [10, 38, 150]
    est = {r["name"]: r["est_seconds"] for r in plan(ft)}
    assert est[ft[0].name] < est[ft[1].name] < est[ft[2].name]
    fixed = {**spec, "defaults": {**spec["defaults"], "ft_epochs": None, "ft_steps": 7}}
    assert [finetune_steps(r.config) for r in expand(fixed) if r.kind == "finetune"] == [7] * 3
    with pytest.raises(SweepError, match="ft_epochs must be a finite number > 0"):
        expand({**spec, "defaults": {**spec["defaults"], "ft_epochs": 0}})


def test_prompt_specials_train_the_special_rows_only():
    """prompt_specials: the soft prompt plus the embeddings of BOS/SEP/EOS/PAD, which
    pretraining never trains; every other weight of the copy stays frozen."""
    import torch

    from scalinglab.testbed.data import ByteTokenizer
    from scalinglab.testbed.model import GPT, GPTConfig
    from scalinglab.testbed.train import finetune

    torch.manual_seed(0)
    tok = ByteTokenizer()
    base = GPT(GPTConfig(context=64, d_model=32, n_layers=1, n_heads=2))
    before = {k: v.clone() for k, v in base.state_dict().items()}
    pairs = [(f"the {w} house", f"la casa {w}") for w in ("red", "big", "old", "new", "white")]
    kw = dict(steps=10, lr=1e-2, batch=4, prompt_length=4, eval_every=5)
    tuned = finetune(base, "prompt", pairs, pairs[:2], tok, prompt_specials=True, **kw)
    plain = finetune(base, "prompt", pairs, pairs[:2], tok, **kw)
    assert plain.trainable == 4 * 32 and tuned.trainable == 4 * 32 + 4 * 32
    after = tuned.model.state_dict()
    special = [tok.PAD, tok.BOS, tok.EOS, tok.SEP]
    changed = (after["tok.weight"] != before["tok.weight"]).any(1).nonzero().flatten().tolist()
    assert changed and set(changed) <= set(special)
    for k, v in before.items():
        if k != "tok.weight":
            assert torch.equal(after[k], v), k
    assert all(torch.equal(v, before[k]) for k, v in base.state_dict().items())  # base untouched
