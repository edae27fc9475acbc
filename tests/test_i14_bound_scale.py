"""`at_bound` on a log-scale parameter is relative to what the data can see, not to an
absolute 1e-10 (issue 14): small scale constants recovered exactly are clean fits."""

import numpy as np
import pandas as pd

import scalinglab as sl


def test_transfer_k_of_1e_minus_15_recovered_exactly_is_not_at_bound():
    df = np.tile(np.geomspace(1e6, 1e9, 6), 4)
    n = np.repeat(np.geomspace(1e8, 1e10, 4), 6)
    y = 1.05e-15 * df**0.4 * n**1.9
    data = pd.DataFrame({"finetune_size": df, "n_params": n, "effective_data": y})
    res = sl.fit(data, "transfer")
    assert abs(res.params_["k"] / 1.05e-15 - 1) < 1e-6
    # the old absolute test (k < 1e-10 on a lower bound of 0) flagged it
    assert res.at_bounds_ == [] and res.clean_
    assert "at_bound" not in {d.code for d in res.diagnostics}


def test_bleu_loglaw_a_of_1e_minus_17_recovered_exactly_is_not_at_bound():
    t = np.geomspace(1e9, 1e12, 12)
    bleu = (np.log(1.4e-17) + 2.0 * np.log(t)) ** 1.2
    res = sl.fit(pd.DataFrame({"tokens": t, "bleu": bleu}), "bleu_loglaw")
    assert abs(res.params_["A"] / 1.4e-17 - 1) < 1e-6
    assert res.at_bounds_ == [] and res.clean_


def test_an_offset_the_data_want_below_zero_is_still_at_its_bound():
    """Loss falling to below 0 at the limit: E wants to be negative, rides down its log scale
    past every start and is indistinguishable from 0 there."""
    n = np.repeat(np.geomspace(1e7, 1e9, 5), 5)
    d = np.tile(np.geomspace(1e9, 1e11, 5), 5)
    loss = 400 / n**0.34 + 1500 / d**0.28 - 0.05
    res = sl.fit(pd.DataFrame({"n_params": n, "tokens": d, "loss": loss}), "chinchilla")
    assert res.params_["E"] < 1e-6 and res.at_bounds_ == ["E"]
    (msg,) = [d.message for d in res.diagnostics if d.code == "at_bound"]
    assert "sits on its bound 0" in msg and not res.clean_


def test_a_term_killed_by_its_exponent_is_not_called_at_bound():
    """At one token count a large beta makes B/D^beta invisible, as E = 1e-65 is, but B sits
    inside its grid: it is not identified (the Jacobian check), not pressed onto 0."""
    n = np.geomspace(1e7, 1e9, 6)
    loss = 1.9 + 480 / n**0.35 + 148.4 / 1e11**1.5
    res = sl.fit(pd.DataFrame({"n_params": n, "tokens": 1e11, "loss": loss}), "chinchilla")
    assert "B" not in res.at_bounds_
    named = {p for d in res.diagnostics if d.code == "not_identified" for p in d.params}
    assert "beta" in named
