"""`plan` intervals (issue 23, item 1): every bootstrap draw replans, the level and number of
draws are stated in the text, --json and the API result; a fit without draws says so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import DataError
from scalinglab.laws.optimum import compute_optimal
from scalinglab.workflows.planning import cheapest_for_loss, plan

BUDGET = 5.76e23  # Chinchilla's own budget (70B x 1.4T)


@pytest.fixture(scope="module")
def chin_fit(chinchilla_240):
    res = sl.fit(chinchilla_240, "chinchilla")
    res.bootstrap(200, seed=1)
    return res


@pytest.fixture(scope="module")
def chin_file(chin_fit, tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "fit.json"
    chin_fit.to_json(path)
    return path


def _draw_dicts(res):
    ok = res.bootstrap_.usable
    return [dict(zip(res.law.param_names, row, strict=True)) for row in res.bootstrap_.params[ok]]


def test_compute_optimal_interval_is_the_percentiles_of_each_draws_optimum(chin_fit):
    pl = plan(chin_fit, BUDGET, interval=0.9)
    row = pl.rows[0]
    per_draw = np.array([compute_optimal(p, BUDGET) for p in _draw_dicts(chin_fit)])
    lo, hi = np.percentile(per_draw[:, 0], [5, 95])
    assert row["n_params_lower"] == pytest.approx(lo, rel=1e-9)
    assert row["n_params_upper"] == pytest.approx(hi, rel=1e-9)
    assert row["n_params_lower"] < row["n_params"] < row["n_params_upper"]
    # Epoch's refit of Chinchilla: N* at 5.76e23 is ~73B; the data pin it within ~2x
    assert row["n_params"] == pytest.approx(7.3e10, rel=0.03)
    assert 4e10 < row["n_params_lower"] < 6.5e10 and 8.5e10 < row["n_params_upper"] < 1.5e11
    assert pl.interval == {
        "level": 0.9,
        "kind": "confidence (bootstrap of the fit's parameters)",
        "n_resamples": int(chin_fit.bootstrap_.usable.sum()),
        "n_draws": 200,
        "method": "warm",
        "group_by": None,
    }
    a_lo, a_hi = pl.exponent_intervals["a (N* ~ C^a)"]
    assert a_lo < pl.exponents["a (N* ~ C^a)"] < a_hi


def test_planned_loss_interval_equals_predict_at_the_planned_allocation(chin_fit):
    pl = plan(chin_fit, BUDGET, tokens_per_param=200, interval=0.8)
    for row in pl.rows:
        band = chin_fit.predict(
            {"n_params": [row["n_params"]], "tokens": [row["tokens"]]}, interval=0.8
        )
        assert row["loss_lower"] == pytest.approx(band["lower"].iloc[0], rel=1e-12)
        assert row["loss_upper"] == pytest.approx(band["upper"].iloc[0], rel=1e-12)
    fixed = pl.rows[1]  # N and D follow from C and M: no interval on them
    assert "n_params_lower" not in fixed and "tokens_lower" not in fixed
    assert 0 < fixed["loss_vs_optimal_lower"] < fixed["loss_vs_optimal"]
    assert fixed["loss_vs_optimal"] < fixed["loss_vs_optimal_upper"]


def test_inference_plan_interval_matches_a_per_draw_search(chin_fit):
    pl = plan(chin_fit, BUDGET, inference_tokens=2e12, interval=0.9)
    row = pl.rows[1]
    assert row["plan"].startswith("train + inference")
    target = pl.rows[0]["loss"]
    per_draw = np.array(
        [cheapest_for_loss(p, target, 2e12) for p in _draw_dicts(chin_fit) if p["E"] < target]
    )
    lo, hi = np.percentile(per_draw[:, 0], [5, 95])
    assert row["n_params_lower"] == pytest.approx(lo, rel=1e-5)
    assert row["n_params_upper"] == pytest.approx(hi, rel=1e-5)
    tot_lo, tot_hi = np.percentile(per_draw[:, 2], [5, 95])
    assert row["total_flops_lower"] == pytest.approx(tot_lo, rel=1e-5)
    assert row["total_flops_upper"] == pytest.approx(tot_hi, rel=1e-5)
    assert "loss_lower" not in row  # the loss is the target, not a forecast


def test_a_target_some_draws_cannot_reach_is_unbounded_and_said(chin_fit):
    e_draws = chin_fit.bootstrap_.params[:, 0]
    target = float(np.percentile(e_draws, 90))  # 10% of draws have E above it
    pl = plan(chin_fit, inference_tokens=1e12, target_loss=target, interval=0.9)
    row = pl.rows[0]
    assert row["n_params_upper"] == np.inf and row["tokens_per_param_upper"] == np.inf
    assert np.isfinite(row["n_params_lower"]) and row["n_params_lower"] < row["n_params"]
    msgs = [d.message for d in pl.diagnostics if "irreducible loss E" in d.message]
    assert len(msgs) == 1 and f"in {int((e_draws >= target).sum())} of 200" in msgs[0]


def test_no_draws_is_said_with_how_to_get_them(chinchilla_240):
    res = sl.fit(chinchilla_240, "chinchilla")
    pl = plan(res, BUDGET)
    assert pl.interval is None and pl.exponent_intervals == {}
    assert "n_params_lower" not in pl.rows[0]
    note = pl.interval_note
    assert "no bootstrap draws" in note
    assert "--bootstrap 1000" in note and "res.bootstrap(1000)" in note
    assert pl.diagnostics == []  # unqualified, not defective
    assert f"intervals: {note}" in pl.summary()
    assert "intervals: the fit holds no bootstrap draws" in pl._repr_html_()
    assert plan(res, BUDGET, interval=None).interval_note == ""  # asked for none: no note
    pl2 = plan(res, BUDGET, n_bootstrap=50)
    assert pl2.interval["n_draws"] == 50 and pl2.rows[0]["n_params_lower"] > 0
    with pytest.raises(DataError, match="level between 0 and 1"):
        plan(res, BUDGET, interval=1.5)
    with pytest.raises(DataError, match="n_bootstrap must be >= 0"):
        plan(res, BUDGET, n_bootstrap=-1)


def test_a_law_with_a_fixed_parameter_plans(chinchilla_240):
    res = sl.fit(chinchilla_240, sl.get_law("chinchilla").fix(E=1.8))
    res.bootstrap(50, seed=0)
    pl = plan(res, BUDGET)  # was: "planning needs a chinchilla-form fit" (E not in params_)
    n, _, loss = compute_optimal({**res.params_, "E": 1.8}, BUDGET)
    assert pl.rows[0]["n_params"] == pytest.approx(n) and pl.rows[0]["loss"] == pytest.approx(loss)
    assert pl.rows[0]["loss_lower"] < loss < pl.rows[0]["loss_upper"]


def test_overtrain_plan_loss_interval_equals_predict():
    law = sl.get_law("overtrain")
    truth = {"E": 1.7, "a": 200.0, "b": 300.0, "eta": 0.13}
    rng = np.random.default_rng(0)
    c = np.repeat(np.geomspace(1e17, 1e20, 6), 4)
    m = np.tile([5.0, 20.0, 80.0, 320.0], 6)
    y = law.evaluate(truth, {"flops": c, "tokens_per_param": m}) * np.exp(rng.normal(0, 0.005, 24))
    import pandas as pd

    res = sl.fit(pd.DataFrame({"flops": c, "tokens_per_param": m, "loss": y}), law)
    res.bootstrap(100, seed=0)
    pl = plan(res, 1e21, tokens_per_param=320, interval=0.9)
    for row in pl.rows:
        band = res.predict({"flops": [1e21], "tokens_per_param": [row["tokens_per_param"]]}, 0.9)
        assert row["loss_lower"] == pytest.approx(band["lower"].iloc[0], rel=1e-12)
        assert row["loss_upper"] == pytest.approx(band["upper"].iloc[0], rel=1e-12)
    lo, hi = pl.exponent_intervals["eta"]
    assert lo < res.params_["eta"] < hi and pl.interval["n_draws"] == 100


def test_cli_plan_states_the_level_in_json_and_text(chin_file, chin_fit):
    r = CliRunner().invoke(
        main, ["plan", str(chin_file), "--budget", "5.76e23", "--interval", "0.8", "--json"]
    )
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    usable = int(chin_fit.bootstrap_.usable.sum())
    assert obj["interval"]["level"] == 0.8 and obj["interval"]["n_resamples"] == usable
    api = plan(chin_fit, BUDGET, interval=0.8).rows[0]
    assert obj["plans"][0]["n_params_lower"] == pytest.approx(api["n_params_lower"])
    assert obj["plans"][0]["loss_upper"] == pytest.approx(api["loss_upper"])
    assert len(obj["exponent_intervals"]["a (N* ~ C^a)"]) == 2
    r = CliRunner().invoke(main, ["plan", str(chin_file), "--budget", "5.76e23"])
    assert r.exit_code == 0, r.output
    assert f"90% bootstrap interval, {usable} resamples" in r.output
    lo = plan(chin_fit, BUDGET).rows[0]["n_params_lower"]
    assert f"[{lo:.4g}," in r.output


def test_cli_plan_without_draws_says_so_and_bootstrap_refits(chinchilla_240, tmp_path):
    path = tmp_path / "nodraws.json"
    sl.fit(chinchilla_240, "chinchilla").to_json(path)
    r = CliRunner().invoke(main, ["plan", str(path), "--budget", "5.76e23", "--json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["interval"] is None and "n_params_lower" not in obj["plans"][0]
    assert "no bootstrap draws" in obj["interval_note"]
    r = CliRunner().invoke(
        main, ["plan", str(path), "--budget", "5.76e23", "--bootstrap", "40", "--json"]
    )
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["interval"]["n_draws"] == 40 and obj["plans"][0]["n_params_lower"] > 0
    assert "40 bootstrap resamples" in obj["interval_note"]


def test_plan_inputs_parse_unit_suffixes_and_refuse_non_finite(chin_fit):
    """Issue 23 item 2 (suffixes parse everywhere in the API) and bad values as named errors:
    budget='5.76e23' raised TypeError, nan gave a row of nan, a negative M a nan plan."""
    a = plan(chin_fit, "5.76e23", inference_tokens="2T", interval=None)
    b = plan(chin_fit, 5.76e23, inference_tokens=2e12, interval=None)
    assert a.rows == b.rows
    for kw in (
        {"budget": float("nan")},
        {"budget": 1e24, "tokens_per_param": -5},
        {"budget": 1e24, "inference_tokens": -1e12},
        {"budget": 1e24, "inference_tokens": 1e12, "target_loss": float("inf")},
        {"budget": "lots"},
    ):
        with pytest.raises(DataError, match=r"\(--[a-z-]+\)"):
            plan(chin_fit, **kw)
    with pytest.raises(DataError, match="--inference-tokens 0"):
        plan(chin_fit, 1e24, target_loss=2.0)  # was silently ignored


@pytest.mark.parametrize(
    "extra",
    [
        ["--inference-tokens", "2T", "--target-loss", "nan"],  # was an internal error (exit 3)
        ["--inference-tokens", "2T", "--target-loss", "inf"],
        ["--tokens-per-param", "-5"],  # was a plan of nan
        ["--tokens-per-param", "0"],
        ["--inference-tokens", "-1T"],
    ],
)
def test_cli_plan_refuses_bad_numbers_with_exit_2(chin_file, extra):
    r = CliRunner().invoke(main, ["plan", str(chin_file), "--budget", "1e24", *extra])
    assert r.exit_code == 2, r.output
    assert "internal error" not in r.output


def test_overtrain_fit_refuses_the_inference_plan():
    law = sl.get_law("overtrain")
    import pandas as pd

    c = np.repeat(np.geomspace(1e17, 1e20, 5), 3)
    m = np.tile([5.0, 20.0, 80.0], 5)
    y = law.evaluate(
        {"E": 1.7, "a": 30.0, "b": 300.0, "eta": 0.1}, {"flops": c, "tokens_per_param": m}
    )
    res = sl.fit(pd.DataFrame({"flops": c, "tokens_per_param": m, "loss": y}), law)
    with pytest.raises(DataError, match="chinchilla-form"):
        plan(res, 1e21, inference_tokens=1e12)  # was silently ignored
