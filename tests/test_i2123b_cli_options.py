"""CLI vocabulary after the issue 21/23 verification: `transfer --help` names the
pretrain_tokens column its compute comparison needs (and --pretrain-tokens-col picks another
one); `constant-exponent` takes --metric like the other commands (--loss-col still works)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.errors import MissingColumnError
from scalinglab.workflows.transfer import effective_data_transferred
from tests.test_gadre_exponent import _runs
from tests.test_workflows import _two_source_runs


def test_transfer_help_names_pretrain_tokens():
    r = CliRunner().invoke(main, ["transfer", "--help"])
    assert r.exit_code == 0
    assert "pretrain_tokens" in r.output and "--pretrain-tokens-col" in r.output


def test_transfer_pretrain_tokens_col_is_used_and_a_missing_one_named(tmp_path):
    df, _ = _two_source_runs()
    df["pt"] = np.where(df["pretrain_data"] == "none", 0.0, 1e9)
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    args = ["transfer", str(p), "--where", "pretrain_data == 'text'", "--json"]
    r = CliRunner().invoke(main, [*args, "--pretrain-tokens-col", "pt"])
    assert r.exit_code == 0, r.output
    run = json.loads(r.stdout)["runs"][0]
    assert run["pretrain_compute"] == pytest.approx(6 * run["n_params"] * 1e9)
    with pytest.raises(MissingColumnError, match="ptx"):
        effective_data_transferred(df, pretrain_tokens_col="ptx")


def test_constant_exponent_takes_metric_and_loss_col(tmp_path):
    p = tmp_path / "r.csv"
    _runs().rename(columns={"loss": "val"}).to_csv(p, index=False)
    out = {}
    for opt in ("--metric", "--loss-col"):
        r = CliRunner().invoke(
            main, ["constant-exponent", str(p), opt, "val", "--bootstrap", "0", "--json"]
        )
        assert r.exit_code == 0, r.output
        out[opt] = json.loads(r.stdout)["table"]
    assert out["--metric"] == out["--loss-col"]
