"""The built-in testbed runs (cpu preset, real training, one fresh invocation): what the demo,
the README and issue 20's closing note claim, each checked on the packaged table."""

import numpy as np
import pytest

import scalinglab as sl
from scalinglab.examples import DOWNSTREAM_MIN_TOKENS, MIN_FIT_TOKENS, MIXTURE
from scalinglab.examples import testbed_runs as load_runs
from scalinglab.report.demo import loss_error_runs, overtrained_holdout


@pytest.fixture(scope="module")
def parts():
    return load_runs()


def test_chinchilla_on_smaller_models_predicts_the_largest_within_3_percent(parts):
    lad = parts["ladder"]
    n = lad["n_params_nonembedding"]
    assert n.max() / n.min() > 10**1.5  # 55x: 1.7 orders of magnitude
    lad = lad[lad["tokens"] >= MIN_FIT_TOKENS]
    largest = lad["n_params"] == lad["n_params"].max()
    res = sl.fit(lad[~largest], "chinchilla")
    test = lad[largest]
    rel = np.abs(res.predict(test) / test["loss"].to_numpy() - 1)
    assert len(test) == 4 and rel.max() < 0.03


def test_the_experiments_are_complete(parts):
    df = parts["all"]
    assert len(df) == 147 and (df["method"] == "none").sum() == df["loss"].notna().sum() == 49
    m = parts["methods"]
    assert m.groupby(["method", "d_model"])["finetune_size"].nunique().eq(3).all()
    assert set(m["method"]) == {"fmt", "lora", "prompt"} and m["d_model"].nunique() == 3
    # Zhang et al.: the PET methods at >= 3 pretraining budgets, rank / length varied
    mp = parts["methods_pretraining"]
    assert mp.groupby("method")["tokens"].nunique().ge(3).all()
    pet = parts["pet_size"]
    assert set(pet["lora_rank"].dropna()) == {1, 4, 16}
    assert set(pet["prompt_length"].dropna()) == {4, 16, 32}
    # Isik et al.: >= 4 pretraining budgets per source, an aligned and a misaligned one
    a = parts["alignment"]
    assert a.groupby("pretrain_data")["tokens"].nunique().ge(4).all()
    assert {"bible-parallel", "python", "kjv", MIXTURE} == set(a["pretrain_data"])
    # Gadre et al.: over-trained runs at several M for >= 3 sizes
    lad = parts["ladder"]
    m_per_size = lad[lad["tokens_per_param"] >= 19.5].groupby("d_model")["tokens_per_param"]
    assert (m_per_size.nunique() >= 2).sum() >= 3
    # a no-pretraining arm that is really none: random init, recorded as 0 tokens
    none = parts["no_pretraining"]
    assert len(none) == 3 and (none["tokens"] == 0).all()
    assert set(none["finetune_size"]) == {250, 1000, 4000}


def test_accuracy_moves_with_scale_and_tracks_loss(parts):
    """Issue 20: over the ladder's pretraining runs the cloze accuracy spans >= 0.15, the best
    model is >= 0.15 above chance and error correlates with loss at r >= 0.9."""
    lad = parts["ladder"]
    acc = lad["accuracy"]
    assert acc.max() - acc.min() >= 0.15 and acc.max() - 0.25 >= 0.15
    assert np.corrcoef(1 - acc, lad["loss"])[0, 1] >= 0.9
    assert (lad["accuracy_se"] < 0.017).all()  # 1,000 items


def test_loss_to_error_law_predicts_the_largest_model(parts):
    """Gadre et al.'s loss -> error law fitted on the smaller models (the untrained model
    included: the ladder's high-loss end) has no parameter on a bound and predicts the
    largest model's runs within 0.02 absolute error on average and 0.036 at worst (its 1M-token
    run; the cloze's standard error is 0.016 a run). Issue 20's target is 0.03 for each run:
    missed by 0.006 (see the closing note)."""
    runs = loss_error_runs(parts["all"])
    assert (runs["tokens"] == 0).sum() == 1  # the random initialisation
    largest = runs["n_params"] == runs["n_params"].max()
    res = sl.fit(runs[~largest], "loss_to_error")
    assert res.converged_ and not [d for d in res.diagnostics if d.code == "at_bound"]
    err = np.abs(np.asarray(res.predict(runs[largest])) - runs.loc[largest, "error"].to_numpy())
    assert largest.sum() == 5 and err.mean() < 0.02 and err.max() < 0.037


def test_overtrained_run_is_forecast_within_3_percent(parts):
    """Gadre et al.'s over-training law fitted on the other ladder runs predicts the held-out
    over-trained run of the 336k model (M = 10, 3.4M tokens) within 3% (+0.3%); Chinchilla's
    law is further off (+0.45%)."""
    lad = parts["ladder"][parts["ladder"]["tokens"] >= MIN_FIT_TOKENS]
    run, held = overtrained_holdout(lad)
    assert run["d_model"] == 96 and run["tokens_per_param"] == pytest.approx(10, abs=0.2)
    rest = lad.drop(index=run.name)
    rel = {}
    for law in ("overtrain", "chinchilla"):
        pred = float(np.asarray(sl.fit(rest, law).predict(lad.loc[[run.name]]))[0])
        rel[law] = pred / run["loss"] - 1
    assert abs(rel["overtrain"]) < 0.03 and abs(rel["overtrain"]) < abs(rel["chinchilla"])


def test_aligned_pretraining_moves_chrf_and_the_log_law_fits(parts):
    """Isik et al. at CPU scale: on the aligned corpus chrF rises by >= 5 points across
    pretraining budgets (the per-run bootstrap intervals do not overlap), its log-law fits
    with R^2 >= 0.8, and pretrain-choice ranks sources by chrF, not by a BLEU fallback."""
    from scalinglab.workflows.pretrain_choice import choose_pretraining_data

    a = parts["alignment"]
    par = a[a["pretrain_data"] == "bible-parallel"].sort_values("tokens")
    assert par["chrf"].iloc[-1] - par["chrf"].iloc[0] >= 5
    assert par["chrf_lo"].iloc[-1] > par["chrf_hi"].iloc[0]
    res = choose_pretraining_data(a, 4e6, metric="chrf")
    r = res.ranking.set_index("pretrain_data")
    assert r.loc["bible-parallel", "chrf_r2"] >= 0.8
    assert r["rank_chrf"].idxmin() == "bible-parallel" and r["rank_chrf"].idxmax() == "python"
    assert r["chrf_resolved"].all()
    assert not [n for n in res.notes if "too low to rank" in n]
    # BLEU stays low at this scale (reported beside chrF, the headline here)
    assert a["bleu"].max() < 5


def test_downstream_ce_law_forecasts_the_largest_pretraining_budget(parts):
    down = parts["downstream"]
    for size, g in down[down["tokens"] >= DOWNSTREAM_MIN_TOKENS].groupby("finetune_size"):
        top = g["tokens"] == g["tokens"].max()
        res = sl.fit(g[~top], "downstream_ce")
        rel = abs(res.predict(g[top]).iloc[0] / g.loc[top, "downstream_ce"].iloc[0] - 1)
        assert rel < 0.02, (size, rel)  # 8M tokens from fits on 1M..4M


def test_finetuning_responds_to_data_well_beyond_seed_noise(parts):
    """Issue 20: per method, downstream CE changes across D_f by more than 5x its
    seed-to-seed standard deviation (three finetuning seeds, d64 model, 2M tokens)."""
    m = parts["methods"]
    ce = m[m["d_model"] == 64].pivot_table(
        index="finetune_size", columns=["method", "seed"], values="downstream_ce"
    )
    for method in ("fmt", "lora", "prompt"):
        g = ce[method]
        assert g.columns.tolist() == [0, 1, 2]
        change = g.mean(axis=1).max() - g.mean(axis=1).min()
        assert change > 5 * g.std(axis=1).mean(), method


def test_prompt_fmt_crossing_holds_in_every_finetuning_seed(parts):
    """Zhang et al.'s crossing on the d64 model: prompt tuning wins with 250 pairs, FMT from
    1,000 on, in each of three seeds (seeds 1 and 2 on 250 and 1,000 pairs); FMT keeps
    improving with data."""
    m = parts["methods"]
    ce = m[m["d_model"] == 64].pivot_table(
        index=["seed", "finetune_size"], columns="method", values="downstream_ce"
    )
    for seed, g in ce.groupby(level="seed"):
        g = g.droplevel("seed")
        assert g.loc[250, "prompt"] < g.loc[250, "fmt"], seed
        big = [size for size in (1000, 4000) if size in g.index]
        assert big[0] == 1000 and (g.loc[big, "fmt"] < g.loc[big, "prompt"]).all(), seed
        assert g["fmt"].is_monotonic_decreasing, seed


def test_peft_keeps_zero_shot_ability_better_than_fmt(parts):
    """Zhang et al.'s zero-shot finding: after finetuning on en->es, the cloze accuracy drops
    least for prompt tuning, then LoRA, most for FMT."""
    m = parts["methods"]
    drop = (m["pretrain_accuracy"] - m["zeroshot_accuracy"]).groupby(m["method"]).mean()
    assert drop["prompt"] < drop["lora"] < drop["fmt"] and drop["fmt"] > 0.02


def test_audit_compares_the_joint_laws_on_the_method_grid(parts):
    """Issue 20: `audit --law finetune_multiplicative --law finetune_additive` on the method
    grid says which law wins held out (whichever it is)."""
    from scalinglab.workflows.audit import leave_largest_out
    from scalinglab.workflows.finetune_choice import choose_method

    m = parts["methods"]
    at = {"n_params": float(m["n_params"].max())}
    comp = choose_method(m, "n_params", at, metric="downstream_ce", n_bootstrap=0).comparison
    comp = comp.set_index("method")
    for method, g in m.groupby("method"):  # one law per method, as Zhang et al. fit them
        aud = leave_largest_out(
            g,
            ["finetune_multiplicative", "finetune_additive"],
            "n_params",
            metric="downstream_ce",
            n_bootstrap=0,
            mapping={"x": "n_params"},
            min_fit_scales=2,  # three model sizes: fit on two, predict the third
        )
        by = aud.by_law()
        assert set(by.index) == {"finetune_multiplicative", "finetune_additive"}, method
        # the audit and choose-method's own held-out comparison are the same numbers
        for law in ("multiplicative", "additive"):
            assert by.loc[f"finetune_{law}", "mad"] == pytest.approx(
                comp.loc[method, f"heldout_mad_{law}"], rel=1e-6
            ), (method, law)
