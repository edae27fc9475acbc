"""Issue 21: held-out error per factor inside `audit` for Zhang et al.'s joint finetuning law
(Eq. 2, `finetune_joint`): each factor's largest value held out, error per factor as in the
paper's Table 2, so a user sees which factor's extrapolation fails."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.errors import DataError
from scalinglab.report import build
from scalinglab.report.html import Report
from scalinglab.workflows import audit
from scalinglab.workflows.factor_effects import joint_frame
from tests.test_zhang_joint import COLS, _long


def _two_methods(break_pet: float = 1.0) -> pd.DataFrame:
    """Two methods drawn from Eq. 2 with known parameters (tests/test_zhang_joint.py); with
    break_pet != 1 the loss at lora's largest LoRA rank leaves the law by that factor."""
    a, b = _long(seed=0).assign(method="lora"), _long(seed=1).assign(method="prompt")
    bad = (a["factor"] == "lora_rank") & (a["lora_rank"] == a["lora_rank"].max())
    a.loc[bad, "loss"] *= break_pet
    return pd.concat([a, b], ignore_index=True)


def test_largest_per_factor_names_the_factor_whose_extrapolation_fails():
    clean = audit.largest_per_factor(_two_methods(), "finetune_joint", by="method", n_bootstrap=0)
    bf = clean.by_factor()
    assert list(bf.index.names) == ["fold", "law", "factor"]
    assert len(bf) == 6 and (bf["n_points"] == 5).all()  # 2 methods x 3 factors x 5 D_f
    assert (bf["mean_rel_error"] < 0.005).all(), bf  # noise 0.2%: the law extrapolates
    broken = audit.audit(
        _two_methods(break_pet=1.15),
        "finetune_joint",
        largest_per_factor=True,
        by="method",
        n_bootstrap=50,
    ).by_factor()
    err = broken["mean_rel_error"].droplevel("law")
    assert err[("lora", "pet")] > 0.10  # the broken factor, and only it, fails
    assert err.drop(("lora", "pet")).max() < 0.005
    assert broken.loc[("lora", "finetune_joint", "pet"), "coverage"] == 0.0


def test_every_audit_mode_scores_a_joint_law_per_factor_and_a_few_values_are_said():
    frame = joint_frame(_long(), COLS)
    aud = audit.holdout(frame, "finetune_joint", "finetune_size >= 1e7", n_bootstrap=0)
    assert set(aud.by_factor().index.get_level_values("factor")) == {"model", "data", "pet"}
    # a factor with 2 values: its largest stays in the fit, and the note says why
    two = _long()[lambda d: ~((d["factor"] == "tokens") & (d["tokens"] < 1e11))]
    res = audit.largest_per_factor(two, "finetune_joint", n_bootstrap=0)
    assert set(res.by_factor().index.get_level_values("factor")) == {"model", "pet"}
    assert any("factor data has 2 value(s)" in n for n in res.notes)
    with pytest.raises(DataError, match="joint finetuning law"):
        audit.largest_per_factor(_long(), "chinchilla", n_bootstrap=0)
    # a law without factors has no per-factor table
    plain = pd.DataFrame({"x": np.geomspace(1e7, 1e9, 8)})
    plain["y"] = 2 + 300 / plain["x"] ** 0.3
    res = audit.holdout(plain, "power_law", "x > 5e8", n_bootstrap=0)
    assert res.by_factor().empty and res.to_dict()["by_factor"] == []


def test_audit_cli_largest_per_factor_json_table_and_report(tmp_path):
    p = tmp_path / "ft.csv"
    _two_methods(break_pet=1.15).to_csv(p, index=False)
    base = ["audit", str(p), "--law", "finetune_joint", "--largest-per-factor", "--by", "method"]
    r = CliRunner().invoke(main, [*base, "--bootstrap", "0", "--json"])
    assert r.exit_code == 0, r.output
    rows = {(x["fold"], x["factor"]): x for x in json.loads(r.output)["by_factor"]}
    assert rows[("lora", "pet")]["mean_rel_error"] > 0.10
    assert rows[("prompt", "pet")]["mean_rel_error"] < 0.005
    r = CliRunner().invoke(main, [*base, "--bootstrap", "0", "--quiet"])
    assert r.exit_code == 0 and "held-out error by factor" in r.output
    r = CliRunner().invoke(main, [*base, "--fit-where", "n_params > 1"])
    assert r.exit_code == 2 and "--fit-where" in r.output
    rep = Report("t", "")
    frame = joint_frame(_long(), COLS)
    build.audit_section(
        rep, frame, ["finetune_joint"], holdout="finetune_size >= 1e7", axis=None,
        metric=None, mapping=None, preset=None, n_bootstrap=0, seed=0,
    )  # fmt: skip
    html = "".join(rep.sections[0].parts)
    assert "By factor" in html and "audit-by-factor" in html
