"""The papers' workflows on data simulated from known laws, and on Gadre et al.'s testbed."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import DataError, MissingColumnError
from scalinglab.workflows.downstream import forecast
from scalinglab.workflows.finetune_choice import choose_method
from scalinglab.workflows.planning import compute_optimal, numeric_optimum, plan
from scalinglab.workflows.pretrain_choice import choose_pretraining_data
from scalinglab.workflows.transfer import effective_data_transferred
from tests.conftest import shared_file

# -- two-step forecast: Gadre et al. reproduction ----------------------------------------


@pytest.fixture(scope="module")
def gadre():
    return sl.read_table(shared_file("gadre2024", "runs.csv"))


def _gadre_forecast(df, ds, preset):
    d = df[df["train_dataset"] == ds]
    return forecast(
        d,
        "paper_role == 'heldout'",
        loss_col="loss_c4_val",
        error_col="err_avg17",
        fit_where="paper_role == 'fit_both'",
        error_fit_where="paper_role in ['fit_both', 'fit_error_only']",
        preset=preset,
        n_bootstrap=200,
    )


def test_gadre_two_step_reproduction(gadre):
    res = _gadre_forecast(gadre, "rpj", "paper")
    t = res.targets.sort_values("row")
    assert [round(v * 100, 2) for v in t["error_rel_error"]] == [3.64, 0.05]
    assert [round(v * 100, 2) for v in t["loss_rel_error"]] == [0.71, 0.73]
    assert [round(v) for v in t["compute_ratio_loss"]] == [330, 236]
    assert [round(v) for v in t["compute_ratio_error"]] == [29, 21]
    assert res.error_fit.params_["eps"] == pytest.approx(0.85699, abs=1e-4)
    assert res.error_fit.params_["gamma"] == pytest.approx(0.71459, abs=1e-4)


def test_gadre_default_procedure_has_intervals(gadre):
    for ds in ("rpj", "c4_original", "rw_original"):
        t = _gadre_forecast(gadre, ds, None).targets
        assert {"loss_lo", "loss_hi", "error_lo", "error_hi", "error_inside"} <= set(t.columns)
        assert (t["loss_lo"] <= t["loss_pred"]).all() and (t["loss_pred"] <= t["loss_hi"]).all()
        assert (t["loss_rel_error"] < 0.05).all()


def test_forecast_at_new_targets_and_missing_columns(gadre):
    d = gadre[gadre["train_dataset"] == "rpj"]
    res = forecast(
        d,
        [{"n_params": 6.9e9, "tokens": 138e9}],
        loss_col="loss_c4_val",
        error_col="err_avg17",
        fit_where="paper_role == 'fit_both'",
        error_fit_where="paper_role in ['fit_both', 'fit_error_only']",
        n_bootstrap=0,
    )
    assert res.targets["loss_pred"].iloc[0] == pytest.approx(2.435, abs=0.02)
    with pytest.raises(MissingColumnError, match="two-step forecast"):
        forecast(d, [{"n_params": 1e9, "tokens": 2e10}], loss_col="loss_c4_val")


def test_forecast_cli_json(gadre, tmp_path):
    r = CliRunner().invoke(
        main,
        [
            "forecast",
            str(shared_file("gadre2024", "runs.csv")),
            "--target-where",
            "paper_role == 'heldout' and train_dataset == 'rpj'",
            "--fit-where",
            "paper_role == 'fit_both' and train_dataset == 'rpj'",
            "--error-fit-where",
            "paper_role != 'unused' and paper_role != 'heldout' and train_dataset == 'rpj'",
            "--loss-col",
            "loss_c4_val",
            "--error-col",
            "err_avg17",
            "--preset",
            "paper",
            "--bootstrap",
            "100",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert [round(t["compute_ratio_error"]) for t in obj["targets"]] == [29, 21]


# -- pretraining-data choice (Isik et al.) ---------------------------------------------------


def _isik_data(seed=0):
    rng = np.random.default_rng(seed)
    tokens = np.geomspace(1e9, 3.2e10, 6)
    rows = []
    for fsize in (1e4, 1e7):
        for src in ("en-es", "en-only", "code"):
            for d in tokens:
                ce = {
                    "en-es": 1.0 + 50 / d**0.2,
                    "en-only": 1.3 + 50 / d**0.2,
                    "code": 1.6 + 50 / d**0.15,
                }[src]
                bleu = {
                    "en-es": (np.log(np.exp(-5) * d**0.4)) ** 2.0,
                    "en-only": (np.log(np.exp(-5) * d**0.35)) ** 2.0,
                    "code": 12 + 3 * np.sin(np.log(d) * 2.5),
                }[src]
                if fsize == 1e7:  # huge finetuning set: pretraining barely matters
                    ce, bleu = 1.2 + 0.001 * rng.standard_normal(), 30 + 0.2 * rng.random()
                rows.append(
                    {
                        "pretrain_data": src,
                        "tokens": d,
                        "finetune_size": fsize,
                        "downstream_ce": ce,
                        "bleu": bleu,
                    }
                )
    return pd.DataFrame(rows)


def test_pretraining_choice_ranks_and_flags():
    res = choose_pretraining_data(_isik_data(), 1e11)
    small = res.ranking[res.ranking["finetune_size"] == 1e4].set_index("pretrain_data")
    assert small.loc["en-es", "rank_bleu"] == 1 and small.loc["en-es", "rank_ce"] == 1
    assert small["misaligned"].to_dict() == {"en-es": False, "en-only": False, "code": True}
    assert small.loc["en-es", "bleu_r2"] > 0.99
    assert res.flat_sizes == [1e7]
    assert any("CE is not a reliable proxy" in n and "code" in n for n in res.notes)
    assert any("pretraining barely matters" in n for n in res.notes)
    # the laws hold exactly here: one-budget-out and in-sample errors are tiny, the target is
    # named as an extrapolation, and the forecast keeps the measured order
    assert small["ce_holdout_rel_error"].abs().max() < 1e-3
    assert small["ce_fit_max_rel_error"].max() < 1e-3
    assert small.loc["en-es", "ce_measured"] == pytest.approx(1.0 + 50 / 3.2e10**0.2)
    assert any(
        "0.49 orders of magnitude beyond the largest measured budget" in n for n in res.notes
    )
    assert not any("misses its own data" in n for n in res.notes)
    assert not any(n.startswith("finetune_size=10000: the forecast CE order") for n in res.notes)


def test_pretraining_choice_flags_a_law_that_misses_its_data():
    df = _isik_data()
    df = df[df["finetune_size"] == 1e4].copy()
    last = (df["pretrain_data"] == "code") & (df["tokens"] == df["tokens"].max())
    df.loc[last, "downstream_ce"] *= 0.9  # a sudden drop no E + A/D^alpha can follow
    res = choose_pretraining_data(df, 1e11)
    code = res.ranking.set_index("pretrain_data").loc["code"]
    assert code["ce_fit_max_rel_error"] > 0.02 and code["ce_holdout_rel_error"] > 0.05
    assert any(n.startswith("code @ finetune_size=10000: the CE law misses") for n in res.notes)


def test_pretraining_choice_does_not_judge_unresolvable_bleu():
    df = _isik_data()
    low = df.assign(bleu=df["bleu"] * 4.9 / df["bleu"].max())  # every BLEU below 5
    res = choose_pretraining_data(low, 1e11)
    assert not res.ranking["misaligned"].any() and not res.ranking["bleu_resolved"].any()
    assert (res.ranking["rank"] == res.ranking["rank_ce"]).all()
    assert any("too low to rank sources" in n for n in res.notes)
    assert not any("CE is not a reliable proxy" in n for n in res.notes)


def test_pretraining_choice_bad_input():
    df = _isik_data()
    with pytest.raises(MissingColumnError, match="pretraining-data choice"):
        choose_pretraining_data(df.drop(columns="bleu"), 1e11)
    with pytest.raises(DataError, match="at least 2 sources"):
        choose_pretraining_data(df[df["pretrain_data"] == "code"], 1e11)


# -- finetuning-method choice (Zhang et al.) -------------------------------------------------


def _zhang_data(seed=0, noise=0.002):
    rng = np.random.default_rng(seed)
    laws = {"fmt": (400.0, 0.2, 0.2, 1.0), "lora": (60.0, 0.2, 0.05, 1.0)}
    rows = []
    for m, (A, a, b, E) in laws.items():
        for n in np.geomspace(1e9, 1.6e10, 5):
            for df_ in np.geomspace(1e3, 1e7, 6):
                loss = (A / (n**a * df_**b) + E) * np.exp(noise * rng.standard_normal())
                rows.append({"method": m, "n_params": n, "finetune_size": df_, "loss": loss})
    return pd.DataFrame(rows)


def test_critical_finetune_size_is_found():
    res = choose_method(_zhang_data(), "n_params", {"n_params": 16e9}, n_bootstrap=100)
    row = res.crossings.iloc[0]
    true = (400 / 60) ** (1 / 0.15)
    assert row["critical_finetune_size"] == pytest.approx(true, rel=0.15)
    assert row["better_at_small_df"] == "lora" and row["better_at_large_df"] == "fmt"
    assert row["critical_lo"] < true < row["critical_hi"]
    comp = res.comparison.set_index("method")
    assert comp.loc["fmt", "beta"] == pytest.approx(0.2, rel=0.05)
    assert (comp["heldout_mad_multiplicative"] < comp["heldout_mad_additive"]).all()
    # 16e9 is a measured scale: the runs there are set against the laws
    assert res.measured.shape == (6, 2) and row["crossing_within_measured_df"]
    won = np.where(res.measured["fmt"] < res.measured["lora"], "fmt", "lora")
    assert won.tolist() == ["lora"] * 4 + ["fmt"] * 2  # D_f 1e3..2.5e5 vs 1.6e6, 1e7
    assert "the fitted laws pick the same winner at 6 of 6 sizes" in res.notes[1]
    assert not any("extrapolat" in n for n in res.notes)


def test_method_choice_says_where_it_extrapolates():
    df = _zhang_data()
    res = choose_method(df, "n_params", {"n_params": 1e12}, n_bootstrap=0)
    assert res.notes[0].startswith("n_params=1e+12 is 1.8 orders of magnitude outside")
    assert res.measured.empty  # no runs at that scale to compare with
    # a crossing below the smallest finetuning set is the law's, not a measurement
    small = df[df["finetune_size"] >= 1e6]
    res = choose_method(small, "n_params", {"n_params": 16e9}, n_bootstrap=0)
    row = res.crossings.iloc[0]
    assert row["critical_finetune_size"] < 1e6 and not row["crossing_within_measured_df"]
    assert "outside the measured finetune sizes 1.58e+06-1e+07" in res.notes[0]


def test_no_crossing_is_said_and_too_few_methods_is_an_error():
    df = _zhang_data()
    fmt = df[df["method"] == "fmt"]
    df = pd.concat([fmt, fmt.assign(method="lora", loss=fmt["loss"] + 0.5)])  # LoRA always worse
    res = choose_method(df, "n_params", {"n_params": 16e9}, n_bootstrap=0)
    assert np.isnan(res.crossings.iloc[0]["critical_finetune_size"])
    assert "at every D_f" in res.notes[0]
    with pytest.raises(DataError, match="at least 2 methods"):
        choose_method(df[df["method"] == "fmt"], "n_params", {"n_params": 16e9})
    with pytest.raises(MissingColumnError, match="finetuning-method choice"):
        choose_method(df.drop(columns="method"), "n_params", {"n_params": 16e9})


def test_joint_fit_over_two_factors_shares_beta_and_e():
    rng = np.random.default_rng(1)
    rows = []
    for m, (An, an, Ad, ad, b, E) in {
        "fmt": (400, 0.2, 80, 0.1, 0.2, 1.0),
        "lora": (60, 0.2, 20, 0.08, 0.05, 1.0),
    }.items():
        for df_ in np.geomspace(1e3, 1e7, 5):
            for n in np.geomspace(1e9, 1.6e10, 4):
                rows.append(
                    {
                        "method": m,
                        "factor": "n_params",
                        "n_params": n,
                        "tokens": 1.0,
                        "finetune_size": df_,
                        "loss": An / (n**an * df_**b) + E,
                    }
                )
            for d in np.geomspace(1e10, 1e12, 4):
                rows.append(
                    {
                        "method": m,
                        "factor": "tokens",
                        "n_params": 1.0,
                        "tokens": d,
                        "finetune_size": df_,
                        "loss": Ad / (d**ad * df_**b) + E,
                    }
                )
    df = pd.DataFrame(rows)
    df["loss"] *= np.exp(0.001 * rng.standard_normal(len(df)))
    res = choose_method(df, ["n_params", "tokens"], {"n_params": 16e9}, n_bootstrap=0)
    p = res.fits["fmt"].params_
    assert p["beta"] == pytest.approx(0.2, rel=0.05) and p["alpha_tokens"] == pytest.approx(
        0.1, rel=0.1
    )
    # the measured runs at 16e9 are the n_params factor's own (the tokens rows carry N = 1)
    assert res.measured.shape == (5, 2) and not any("orders of magnitude" in n for n in res.notes)
    small = choose_method(df, ["n_params", "tokens"], {"n_params": 1e8}, n_bootstrap=0)
    assert small.notes[0].startswith("n_params=1e+08 is 1 orders of magnitude outside")


# -- effective data transferred (Hernandez et al.) ------------------------------------------


def test_transfer_recovers_k_alpha_beta_and_flags_ossification():
    law = sl.get_law("kaplan")
    sp = {"Nc": 8.8e13, "Dc": 5.4e13, "alphaN": 0.076, "alphaD": 0.095}
    rows = []
    for n in np.geomspace(1e6, 1e9, 5):
        for d in np.geomspace(1e6, 1e11, 7):
            rows.append(
                {
                    "pretrain_data": "none",
                    "n_params": n,
                    "finetune_size": d,
                    "loss": law.evaluate(sp, {"n_params": [n], "tokens": [d]})[0],
                }
            )
    k, a, b = 1.9e4, 0.18, 0.38
    for n in np.geomspace(1e6, 1e9, 5):
        for d_f in np.geomspace(1e5, 1e8, 5):
            d_e = d_f + k * d_f**a * n**b
            rows.append(
                {
                    "pretrain_data": "text",
                    "n_params": n,
                    "finetune_size": d_f,
                    "loss": law.evaluate(sp, {"n_params": [n], "tokens": [d_e]})[0],
                }
            )
    # one ossified run: worse than from scratch on the same N and D_F
    base = law.evaluate(sp, {"n_params": [1e8], "tokens": [1e10]})[0]
    rows.append(
        {"pretrain_data": "text", "n_params": 1e8, "finetune_size": 1e10, "loss": base * 1.02}
    )
    # `tokens` (tokens trained: epochs of D_F) is not the law's D and must not be read as it;
    # it once collided with the renamed D_F column and crashed the fit
    df = pd.DataFrame(rows)
    res = effective_data_transferred(df.assign(tokens=8 * df["finetune_size"]))
    p = res.transfer_fit.params_
    assert p["alpha"] == pytest.approx(a, rel=0.03) and p["beta"] == pytest.approx(b, rel=0.03)
    assert p["k"] == pytest.approx(k, rel=0.3)
    assert res.runs["ossified"].sum() == 1
    assert any("ossification" in n for n in res.notes)
    frac = res.runs.loc[~res.runs["ossified"], "fraction_transferred"]
    assert ((frac > 0) & (frac < 1)).all()
    # the forecast the law is for: a pretrained model 10x past the fitted sizes
    n, d_f = 1e10, 1e6
    true = law.evaluate(sp, {"n_params": [n], "tokens": [d_f + k * d_f**a * n**b]})[0]
    assert res.predict_loss(n, d_f)[0] == pytest.approx(true, rel=0.01)
    res.transfer_fit = None
    with pytest.raises(DataError, match="no transfer law"):
        res.predict_loss(n, d_f)


def test_transfer_needs_scratch_runs():
    df = pd.DataFrame(
        {
            "pretrain_data": ["text"] * 3,
            "n_params": [1e6, 1e7, 1e8],
            "finetune_size": [1e6] * 3,
            "loss": [3.0, 2.5, 2.0],
        }
    )
    with pytest.raises(DataError, match="from-scratch"):
        effective_data_transferred(df)


# -- planning ---------------------------------------------------------------------------------


def test_closed_form_matches_numeric_optimum_for_hoffmann():
    hoffmann = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    n, d, _ = compute_optimal(hoffmann, 5.76e23)
    n_num, d_num = numeric_optimum(hoffmann, 5.76e23)
    assert n == pytest.approx(n_num, rel=1e-4) and d == pytest.approx(d_num, rel=1e-4)
    assert 6 * n * d == pytest.approx(5.76e23)


def test_plan_exponents_from_a_fit(chinchilla_240, tmp_path):
    res = sl.fit(chinchilla_240, "chinchilla")
    pl = plan(res, 1e23, tokens_per_param=200, inference_tokens=1e13)
    a = res.params_["beta"] / (res.params_["alpha"] + res.params_["beta"])
    assert pl.exponents["a (N* ~ C^a)"] == pytest.approx(a)
    assert pl.exponents["a (N* ~ C^a)"] == pytest.approx(0.513, abs=0.005)  # Epoch's refit
    rows = {r["plan"].split(" (")[0]: r for r in pl.rows}
    assert rows["fixed M=200"]["loss_vs_optimal"] > 0
    infer = rows["train + inference"]
    only = rows["train-only optimum at the same loss"]
    assert infer["total_flops"] < only["total_flops"]  # serving many tokens favours smaller N
    assert infer["n_params"] < only["n_params"]
    path = tmp_path / "fit.json"
    res.to_json(path)
    r = CliRunner().invoke(main, ["plan", str(path), "--budget", "5.76e23", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["plans"][0]["plan"] == "compute-optimal"


def _two_source_runs():
    """From-scratch runs and two pretraining sources with their own (k, alpha, beta)."""
    law = sl.get_law("kaplan")
    sp = {"Nc": 8.8e13, "Dc": 5.4e13, "alphaN": 0.076, "alphaD": 0.095}
    rows = []
    for n in np.geomspace(1e6, 1e9, 5):
        for d in np.geomspace(1e6, 1e11, 7):
            y = law.evaluate(sp, {"n_params": [n], "tokens": [d]})[0]
            rows.append({"pretrain_data": "none", "n_params": n, "finetune_size": d, "loss": y})
    truth = {"text": (1.9e4, 0.18, 0.38), "text+code": (3e3, 0.096, 0.45)}
    for src, (k, a, b) in truth.items():
        for n in np.geomspace(1e6, 1e9, 5):
            for d_f in np.geomspace(1e5, 1e8, 5):
                d_e = d_f + k * d_f**a * n**b
                y = law.evaluate(sp, {"n_params": [n], "tokens": [d_e]})[0]
                rows.append({"pretrain_data": src, "n_params": n, "finetune_size": d_f, "loss": y})
    return pd.DataFrame(rows), truth


def test_transfer_by_source_recovers_each_sources_law_and_pooling_is_flagged():
    """Pooled, text and text+code gave alpha = -0.07 (true 0.18 and 0.096) without a word."""
    df, truth = _two_source_runs()
    pooled = effective_data_transferred(df)
    assert [d.code for d in pooled.diagnostics if d.code == "pooled_sources"] == ["pooled_sources"]
    res = effective_data_transferred(df, by="pretrain_data", n_bootstrap=50)
    comp = res.comparison.set_index("pretrain_data")
    for src, (k, a, b) in truth.items():
        assert comp.loc[src, "alpha"] == pytest.approx(a, rel=0.03)
        assert comp.loc[src, "beta"] == pytest.approx(b, rel=0.03)
        assert comp.loc[src, "k"] == pytest.approx(k, rel=0.3)
        assert comp.loc[src, "alpha_lo"] <= comp.loc[src, "alpha"] <= comp.loc[src, "alpha_hi"]
    assert not any(d.code == "pooled_sources" for d in res.diagnostics)


def test_transfer_judges_ossification_against_a_measured_twin():
    df, _ = _two_source_runs()
    twin = df[(df.pretrain_data == "none")].iloc[[10]]
    worse = twin.assign(pretrain_data="text", loss=twin["loss"] * 1.001)
    res = effective_data_transferred(pd.concat([df, worse], ignore_index=True), by="pretrain_data")
    row = res.runs[res.runs["scratch_measured"].notna()]
    assert len(row) == 1 and bool(row["ossified"].iloc[0])
    assert "measured twins for 1 of" in res.notes[0]


def test_audit_without_intervals_has_no_coverage_rather_than_zero():
    """`audit --bootstrap 0` printed coverage 0.00% per law (issue 21's small defects)
    while the per-fold table showed '-': without intervals coverage is unknown."""
    import numpy as np
    import pandas as pd

    from scalinglab.workflows import audit

    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.7 + 400 / n**0.34 + 1500 / d**0.3})
    res = audit.holdout(df, ["chinchilla"], "n_params > 3e9", n_bootstrap=0)
    bl = res.by_law()
    assert np.isnan(bl.loc["chinchilla", "coverage"])
    assert bl.loc["chinchilla", "max_rel_error"] < 1e-6
    res = audit.holdout(df, ["chinchilla"], "n_params > 3e9", n_bootstrap=30)
    assert 0.0 <= res.by_law().loc["chinchilla", "coverage"] <= 1.0


def test_audit_compute_ratios_only_for_laws_of_compute():
    """audit printed pretraining compute ratios for finetuning laws (issue 21's small
    defects), where they mean nothing: only laws in N and D (or C) get them."""
    import numpy as np
    import pandas as pd

    from scalinglab.workflows import audit

    n = np.repeat([1e7, 3e7, 1e8, 3e8], 5)
    ft = np.tile(np.geomspace(1e3, 1e6, 5), 4)
    df = pd.DataFrame({"n_params": n, "finetune_size": ft, "loss": 20 * n**-0.1 * ft**-0.05,
                       "tokens": 1e9, "flops": 6 * n * 1e9})  # fmt: skip
    res = audit.leave_largest_out(df, ["finetune_multiplicative"], "n_params", n_bootstrap=0,
                                  mapping={"x": "n_params"})  # fmt: skip
    assert res.folds["compute_ratio_max"].isna().all()
    assert res.points["compute_ratio"].isna().all()
    n2 = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d2 = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    ch = pd.DataFrame({"n_params": n2, "tokens": d2, "loss": 1.7 + 400 / n2**0.34 + 1500 / d2**0.3})
    res = audit.leave_largest_out(ch, ["chinchilla"], "n_params", n_bootstrap=0)
    assert (res.folds["compute_ratio_max"] > 1).all()


def test_inspect_looks_for_outliers_in_the_metric_being_studied(tmp_path):
    """inspect and the report overview looked for outliers in the first loss column only
    (issue 21's small defects), and a value 3x off among rows on the law exactly had
    z = 1.1 (the zero spread was replaced by 1; second review of issue 19)."""
    import json

    import numpy as np
    import pandas as pd
    from click.testing import CliRunner

    from scalinglab.cli import main

    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    loss = 1.7 + 400 / n**0.34 + 1500 / d**0.3
    other = 2.0 + 300 / n**0.3 + 900 / d**0.28
    other[7] *= 3.0
    p = tmp_path / "runs.csv"
    pd.DataFrame({"n_params": n, "tokens": d, "loss": loss, "loss_c4": other}).to_csv(
        p, index=False
    )
    r = CliRunner().invoke(main, ["inspect", str(p), "--json"])
    assert r.exit_code == 0, r.output
    o = json.loads(r.stdout)["outliers"]
    assert o["metric"] == "loss" and o["rows"] == []
    r = CliRunner().invoke(main, ["inspect", str(p), "--metric", "loss_c4", "--json"])
    o = json.loads(r.stdout)["outliers"]
    assert o["metric"] == "loss_c4" and o["rows"] == [8]  # 1-based row of the 3x value
