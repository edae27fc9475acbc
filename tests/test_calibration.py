"""Calibrated intervals: widen with extrapolation at the rate the data's own folds show,
stay inside a bounded metric's range, and say when there is too little history to learn."""

import numpy as np
import pandas as pd

import scalinglab as sl
from scalinglab.workflows.calibration import (
    calibrated_band,
    conformal_quantile,
    learn_extrapolation,
    local_scatter,
)
from scalinglab.workflows.downstream import forecast
from tests.conftest import shared_file


def test_conformal_quantile_is_the_finite_sample_rank():
    s = np.arange(1, 20, dtype=float)  # 19 scores: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(s, 0.9) == 18.0
    assert conformal_quantile(np.array([3.0, 1.0]), 0.9) == 3.0  # too few: the largest
    assert np.isnan(conformal_quantile(np.array([]), 0.9))


def _misspecified(rng, noise=0.005):
    """Data whose loss bends away from a Chinchilla law as N grows (an extra log-N term):
    the law fits inside the data and drifts outside it, as real ladders do."""
    n = np.repeat(np.geomspace(1e7, 3e9, 8), 5)
    d = np.tile(np.geomspace(1e9, 1e11, 5), 8)
    loss = (1.8 + 480 / n**0.35 + 2100 / d**0.37) * (1 + 0.01 * np.log10(n / 1e7))
    return pd.DataFrame(
        {"n_params": n, "tokens": d, "loss": loss * np.exp(noise * rng.standard_normal(n.size))}
    )


def test_interval_widens_with_distance_and_learns_from_folds():
    df = _misspecified(np.random.default_rng(0))
    res = sl.fit(df, "chinchilla")
    term = learn_extrapolation(df, res.law, "n_params", level=0.9, full_fit=res)
    assert term is not None and term.n_folds >= 2 and term.b > 0
    targets = pd.DataFrame({"n_params": [3e9, 3e10, 3e11], "tokens": [1e11] * 3})
    pred, lo, hi = calibrated_band(res, targets, 0.9, term)
    width = np.log(hi / lo)
    assert width[0] < width[1] < width[2]
    assert np.all(lo < pred) and np.all(pred < hi)


def test_local_scatter_follows_the_nearest_runs():
    """Early checkpoints miss a law by far more than late ones: a target near the late ones
    gets their scatter, not the table's average."""
    rng = np.random.default_rng(1)
    n = np.repeat(np.geomspace(1e7, 1e9, 5), 10)
    d = np.tile(np.geomspace(1e8, 1e11, 10), 5)
    noise = np.where(d < 1e9, 0.08, 0.005)
    y = (1.8 + 480 / n**0.35 + 2100 / d**0.37) * np.exp(noise * rng.standard_normal(n.size))
    res = sl.fit(pd.DataFrame({"n_params": n, "tokens": d, "loss": y}), "chinchilla")
    late, early = local_scatter(res, {"n_params": [1e9, 1e9], "tokens": [1e11, 1e8]}, 0.9)
    assert late < 0.03 < early


def test_too_few_scales_is_said_not_hidden():
    n = np.repeat([1e7, 1e8, 1e9], 4)
    d = np.tile(np.geomspace(1e9, 1e11, 4), 3)
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.8 + 480 / n**0.35 + 2100 / d**0.37})
    law = sl.get_law("chinchilla")
    assert learn_extrapolation(df, law, "n_params", axes=["n_params"]) is None
    # on a full grid, folds along compute hold out only rows inside the kept rows' size and
    # token ranges: they show no slope either (they once scored 0 and "learned" b = 0)
    assert learn_extrapolation(df, law, "n_params") is None
    # ...but where bigger models train on more tokens (as ladders do), the runs' 12 compute
    # budgets hold out rows beyond the kept tokens: folds along compute still learn
    df = df.assign(tokens=d * (n / 1e7) ** 0.5)
    df = df.assign(loss=1.8 + 480 / n**0.35 + 2100 / df["tokens"] ** 0.37)
    term = learn_extrapolation(df, law, "n_params")
    assert term is not None and term.axis == "n_params+compute" and term.n_folds >= 2


def test_gadre_error_interval_stays_a_rate():
    """C4's error interval was [-0.44, 0.53]: an error rate below zero."""
    runs = pd.read_csv(shared_file("gadre2024", "runs.csv"))
    c4 = runs[runs["train_dataset"] == "c4_original"].reset_index(drop=True)
    res = forecast(
        c4,
        "paper_role == 'heldout'",
        loss_law="overtrain",
        error_law="loss_to_error",
        loss_col="loss_c4_val",
        error_col="err_avg17",
        fit_where="paper_role == 'fit_both'",
        error_fit_where="paper_role in ['fit_both', 'fit_error_only']",
        n_bootstrap=200,
    )
    t = res.targets
    assert (t["error_lo"] >= 0).all() and (t["error_hi"] <= 1).all()
    assert (t["error_lo"] <= t["error_pred"]).all() and (t["error_pred"] <= t["error_hi"]).all()
    assert t["error_inside"].all() and t["loss_inside"].any()


def test_pythia_forecast_intervals_hold_the_truth():
    ev = pd.read_csv(shared_file("pythia", "evals.csv"))
    ev = ev[(ev["variant"] == "standard") & (ev["deduped"] == 0) & (ev["num_fewshot"] == 0)]
    ev = ev[ev["step"] >= 1000]
    lam = ev[(ev["task"] == "lambada_openai") & (ev["metric"] == "ppl")]
    df = lam[["model", "step", "tokens", "n_params_nonembed"]].rename(
        columns={"n_params_nonembed": "n_params"}
    )
    df = df.assign(loss=np.log(lam["value"].to_numpy()))
    acc = ev[(ev["task"] == "lambada_openai") & (ev["metric"] == "acc")]
    df = df.merge(acc[["model", "step", "value"]], on=["model", "step"])
    df = df.assign(error=1 - df["value"]).reset_index(drop=True)
    res = forecast(
        df,
        "n_params > 2e9 and step == 143000",
        loss_law="chinchilla",
        fit_where="n_params < 2e9",
        n_bootstrap=200,
    )
    t = res.targets
    assert len(t) == 3 and t["loss_inside"].all() and t["error_inside"].all()
    assert any("extrapolation term" in n for n in res.notes)


def test_forecast_without_enough_scales_says_uncalibrated(monkeypatch):
    """The forecast said 'too few model scales' only as a note; it is now the
    `uncalibrated` diagnostic (as the ladder's), in diagnostics and --json."""
    import numpy as np
    import pandas as pd

    import scalinglab as sl

    # no history to learn from (what learn_extrapolation answers with too few folds)
    monkeypatch.setattr("scalinglab.workflows.downstream.learn_extrapolation", lambda *a, **k: None)
    n = np.repeat([1e7, 2e7], 6)
    d = np.tile(np.geomspace(1e8, 1e10, 6), 2)
    loss = 1.8 + 400 / n**0.34 + 1500 / d**0.28
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": loss,
                       "error": 1 - np.exp(-(loss - 1.0))})  # fmt: skip
    res = sl.forecast(df, [{"n_params": 1e9, "tokens": 2e10}], loss_law="chinchilla",
                      n_bootstrap=20)  # fmt: skip
    codes = [x.code for x in res.diagnostics]
    assert res.extrapolation_term is None and "uncalibrated" in codes
    # --json carries it beside the step fits' own findings (issue 14 item 2)
    assert "uncalibrated" in [d["code"] for d in res.to_dict()["diagnostics"]]
    res2 = sl.forecast(df, [{"n_params": 1e9, "tokens": 2e10}], loss_law="chinchilla",
                       n_bootstrap=20, calibrate=False)  # fmt: skip
    assert "uncalibrated" not in [x.code for x in res2.diagnostics]


def test_bleu_forecast_interval_stays_inside_0_100():
    """Issue 14 item 3: BLEU in [0, 100]. A loss -> BLEU forecast whose scores sit near 100
    gets its interval on the logit scale of [0, 100] (only [0, 1] was inferred, from the
    values, so a BLEU interval had no range and passed 100)."""
    rng = np.random.default_rng(5)
    n = np.repeat(np.geomspace(1e7, 1e9, 5), 5)
    d = np.tile(np.geomspace(1e9, 1e11, 5), 5)
    loss = (1.8 + 480 / n**0.35 + 2100 / d**0.37) * np.exp(0.01 * rng.standard_normal(n.size))
    bleu = np.minimum(100 - 8 * (loss - 2.0) + 0.3 * rng.standard_normal(n.size), 99.9)
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": loss, "bleu": bleu})
    target = pd.DataFrame({"n_params": [2e10], "tokens": [4e11]})
    law = sl.expression_law(
        "A - B * loss", {"A": (0, 1000), "B": (0, 1000)}, metric="bleu", space="identity"
    )
    t = forecast(
        df, target, loss_law="chinchilla", error_law=law, error_col="bleu", n_bootstrap=100
    ).targets
    assert t["error_pred"].iloc[0] > 95  # near the bound: a linear band would pass 100
    assert (t["error_hi"] < 100).all() and (t["error_lo"] > 0).all()
    assert (t["error_lo"] <= t["error_pred"]).all() and (t["error_pred"] <= t["error_hi"]).all()
