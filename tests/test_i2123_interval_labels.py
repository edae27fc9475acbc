"""Issue 23 item 1: every interval states its level and the number of resamples behind it.
transfer's per-source comparison, factor-effects' and constant-exponent's tables said
'90% bootstrap intervals' with no count (and transfer's level and count were fixed)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.report import build
from scalinglab.report.html import Report
from scalinglab.workflows.transfer import effective_data_transferred
from tests.conftest import shared_file
from tests.test_workflows import _two_source_runs
from tests.test_zhang_joint import _long


def _flat(r) -> str:
    return " ".join(r.output.split())


def test_transfer_comparison_states_level_and_resamples(tmp_path):
    df, _ = _two_source_runs()
    p = tmp_path / "transfer.csv"
    df.to_csv(p, index=False)
    args = ["transfer", str(p), "--by", "pretrain_data", "--bootstrap", "30", "--interval", "0.8"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "one transfer law per pretrain_data (80% intervals from 30 bootstrap resamples)" in (
        _flat(r)
    )
    d = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert (d["interval"], d["n_bootstrap"]) == (0.8, 30)
    row = d["by_source"][0]
    assert row["alpha_lo"] <= row["alpha"] <= row["alpha_hi"]  # noise-free: narrow
    res = effective_data_transferred(df, by="pretrain_data", n_bootstrap=20)
    assert (res.interval, res.n_bootstrap) == (0.9, 20)
    rep = Report("t", "")
    build.transfer_section(rep, df, by="pretrain_data")
    html = "".join(rep.sections[0].parts)
    assert "Per pretraining source (90% intervals from 200 bootstrap resamples on k" in html


def test_factor_effects_and_constant_exponent_state_resamples(tmp_path):
    path = tmp_path / "ft.csv"
    _long().assign(method="fmt").to_csv(path, index=False)
    args = ["factor-effects", str(path), "--factor", "n_params", "--factor", "tokens",
            "--factor", "lora_rank", "--bootstrap", "25"]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "exponent per factor (90% intervals from 25 bootstrap resamples)" in _flat(r)
    runs = shared_file("gadre2024", "runs.csv")
    r = CliRunner().invoke(
        main, ["constant-exponent", str(runs), "--loss-col", "loss_c4_val", "--bootstrap", "20",
               "--where", "train_dataset == 'rpj'"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "per token multiplier (90% intervals from 20 bootstrap resamples)" in _flat(r)
