"""Isik et al.'s pretraining-data choice with any score (issue 21): --metric bleu|chrf|COLUMN,
not tied to a column named 'bleu'."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.errors import MissingColumnError, OptionError
from scalinglab.workflows.pretrain_choice import choose_pretraining_data


def _runs(score="chrf", scale=1.0):
    """chrF whose order differs from what a BLEU column would say: en-only best by chrF; a
    code source whose chrF zigzags while its CE falls steadily (misaligned)."""
    tokens = np.geomspace(1e9, 3.2e10, 6)
    rows = []
    for src in ("en-es", "en-only", "code"):
        for d in tokens:
            ce = {"en-es": 1.0 + 50 / d**0.2, "en-only": 1.3 + 50 / d**0.2}.get(
                src, 1.6 + 50 / d**0.15
            )
            val = {
                "en-es": (np.log(np.exp(-5) * d**0.35)) ** 2.0,
                "en-only": (np.log(np.exp(-5) * d**0.4)) ** 2.0,
                "code": 12 + 3 * np.sin(np.log(d) * 2.5),
            }[src]
            rows.append(
                {
                    "pretrain_data": src,
                    "tokens": d,
                    "finetune_size": 1e4,
                    "downstream_ce": ce,
                    score: val * scale,
                }
            )
    return pd.DataFrame(rows)


def test_any_score_column_ranks_and_flags():
    res = choose_pretraining_data(_runs("chrf"), 1e11, metric="chrf")
    assert res.metric == "chrf"
    r = res.ranking.set_index("pretrain_data")
    assert r.loc["en-only", "rank_chrf"] == 1 and r.loc["en-es", "rank_chrf"] == 2
    assert r.loc["en-es", "rank_ce"] == 1  # CE and chrF disagree here, and both are shown
    assert r.loc["en-only", "chrf_r2"] > 0.99
    assert r.loc["en-only", "chrf_forecast"] == pytest.approx(
        (np.log(np.exp(-5) * 1e11**0.4)) ** 2.0, rel=1e-3
    )
    assert r["misaligned"].to_dict() == {"en-es": False, "en-only": False, "code": True}
    assert any("chrF does not follow" in n and n.startswith("code") for n in res.notes)
    assert "bleu_forecast" not in res.ranking.columns
    assert res.to_dict()["metric"] == "chrf"


def test_a_zero_to_one_score_gets_thresholds_on_its_scale():
    """A ROUGE-L column within [0, 1]: BLEU's 5-point floor would call every value
    unresolved; on the score's own scale (0.05) it ranks and flags as above."""
    res = choose_pretraining_data(_runs("rougeL", 0.01), 1e11, metric="rougeL")
    r = res.ranking.set_index("pretrain_data")
    assert r["rougeL_resolved"].all() and r.loc["en-only", "rank"] == 1
    assert r.loc["code", "misaligned"]
    assert any("ROUGEL does not follow" in n for n in res.notes)


def test_bad_metric_is_a_named_error():
    with pytest.raises(MissingColumnError, match="missing: \\['bleu'\\]"):
        choose_pretraining_data(_runs("chrf"), 1e11)  # the default is bleu
    with pytest.raises(OptionError, match="not downstream_ce itself"):
        choose_pretraining_data(_runs("chrf"), 1e11, metric="downstream_ce")


def test_cli_metric(tmp_path):
    path = tmp_path / "align.csv"
    _runs("chrf").to_csv(path, index=False)
    args = ["pretrain-choice", str(path), "--target-tokens", "1e11"]
    r = CliRunner().invoke(main, [*args, "--metric", "chrf", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["metric"] == "chrf"
    best = min(d["ranking"], key=lambda row: row["rank_chrf"])
    assert best["pretrain_data"] == "en-only"
    r = CliRunner().invoke(main, ["pretrain-choice", str(path), "--target-tokens", "1e11"])
    assert r.exit_code != 0 and "bleu" in r.output
