"""Issue 21, Hernandez et al.: the from-scratch yardstick is checked before D_E is read off
it (in-sample and held-out error, whether it falls with D as the runs do, measured twins that
beat it), and each run's multiplier D_E/D_F and compute comparison are given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.workflows.transfer import effective_data_transferred
from tests.test_workflows import _two_source_runs


def _codes(res):
    return [d for d in res.flags if d.code == "yardstick"]


def test_a_sound_yardstick_passes_its_checks_and_runs_get_multiplier_and_compute():
    df, truth = _two_source_runs()
    df["pretrain_tokens"] = np.where(df["pretrain_data"] == "none", 0.0, 1e9)
    res = effective_data_transferred(df, by="pretrain_data", n_bootstrap=0)
    y = res.yardstick
    assert y["falls_with_d"] and y["in_sample_error"] < 1e-6
    assert y["heldout_error"] < 1e-4 and y["heldout_size"] == pytest.approx(1e9)
    assert not _codes(res) and "on its largest model held out" in res.notes[0]
    r = res.runs.iloc[0]
    k, a, b = truth[r["pretrain_data"]]
    d_e = r["finetune_size"] + k * r["finetune_size"] ** a * r["n_params"] ** b
    assert r["multiplier"] == pytest.approx(d_e / r["finetune_size"], rel=1e-4)
    want = (1e9 + r["finetune_size"]) / d_e  # 6N(P + D_F) / 6N D_E
    assert r["compute_ratio"] == pytest.approx(want, rel=1e-4)
    assert res.to_dict()["yardstick"]["falls_with_d"] is True


def test_a_degenerate_yardstick_is_named_not_used_silently():
    """A from-scratch law flat in D (Dc = 9e36, the issue's case) gave k = 4.7e-12 and
    alpha = 1.57 without a word."""
    df, _ = _two_source_runs()
    flat = sl.get_law("kaplan").fix(Dc=9e36)
    res = effective_data_transferred(df, scratch_law=flat, by="pretrain_data", n_bootstrap=0)
    assert res.yardstick["falls_with_d"] is False
    msgs = " ".join(d.message for d in _codes(res))
    assert "does not fall with D as the runs do" in msgs
    assert "falls with D as the runs do: NO" in res.notes[0]


def test_a_measured_twin_that_beats_the_law_is_flagged():
    df, _ = _two_source_runs()
    scratch = df[df["pretrain_data"] == "none"]
    twin = scratch.iloc[[10]]  # a finetuned run at a from-scratch run's N and D_F
    tuned = twin.assign(pretrain_data="text", loss=twin["loss"] * 0.9)
    better = scratch.index[10]
    df2 = pd.concat([df, tuned], ignore_index=True)
    df2.loc[better, "loss"] *= 0.95  # the measured twin beats the law by 5%
    res = effective_data_transferred(df2, by="pretrain_data", n_bootstrap=0)
    row = res.runs[res.runs["scratch_measured"].notna()]
    assert len(row) == 1 and bool(row["twin_beats_law"].iloc[0])
    assert int(res.runs["twin_beats_law"].sum()) == 1
    assert any("beats the fitted from-scratch law" in d.message for d in _codes(res))
