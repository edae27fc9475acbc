"""Issue 21, Hernandez et al.'s yardstick: each failed check of the from-scratch law is a
structured diagnostic with code `yardstick` (naming the check), shown in the CLI text, in
--json and in the report; a clean from-scratch fit gives none."""

from __future__ import annotations

import json

from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.report import build
from scalinglab.report.html import Report
from scalinglab.workflows.transfer import effective_data_transferred
from tests.test_workflows import _two_source_runs


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_degenerate_yardstick_is_a_yardstick_error_everywhere(tmp_path):
    """Old: a flat from-scratch law (Dc = 9e36) was a 'flat' warning tagged in its params;
    no diagnostic had the code `yardstick`."""
    df, _ = _two_source_runs()
    flat = sl.get_law("kaplan").fix(Dc=9e36)
    res = effective_data_transferred(df, scratch_law=flat, by="pretrain_data", n_bootstrap=0)
    yard = [d for d in res.diagnostics if d.code == "yardstick"]
    assert [(d.severity, d.params) for d in yard][0] == ("error", ("falls_with_d",))
    assert "does not fall with D as the runs do" in yard[0].message
    assert res.yardstick["falls_with_d"] is False
    # the CLI: --fix on the from-scratch law, the code in --json and in the text
    p = tmp_path / "transfer.csv"
    df.to_csv(p, index=False)
    r = _run("transfer", p, "--fix", "Dc=9e36", "--by", "pretrain_data", "--json")
    assert r.exit_code == 0, r.output
    diags = json.loads(r.stdout)["diagnostics"]
    codes = [(d["code"], d["severity"], d["params"]) for d in diags]
    assert ("yardstick", "error", ["falls_with_d"]) in codes
    text = _run("transfer", p, "--fix", "Dc=9e36", "--by", "pretrain_data")
    assert text.exit_code == 0, text.output
    assert "error [yardstick]: the from-scratch law" in " ".join(text.output.split())


def test_the_report_shows_a_yardstick_finding_with_its_code(monkeypatch):
    df, _ = _two_source_runs()
    real = effective_data_transferred
    flat = sl.get_law("kaplan").fix(Dc=9e36)
    monkeypatch.setattr(
        "scalinglab.workflows.transfer.effective_data_transferred",
        lambda d, **kw: real(d, scratch_law=flat, **kw),
    )
    rep = Report("t", "")
    build.transfer_section(rep, df, by="pretrain_data")
    html = "".join(rep.sections[0].parts)
    assert "<div class='warn' data-code='yardstick'>the from-scratch law (kaplan" in html


def test_a_clean_yardstick_gives_no_yardstick_diagnostic(tmp_path):
    df, _ = _two_source_runs()
    res = effective_data_transferred(df, by="pretrain_data", n_bootstrap=0)
    assert res.yardstick["falls_with_d"] and res.yardstick["heldout_error"] < 1e-4
    assert [d for d in res.diagnostics if d.code == "yardstick"] == []
    p = tmp_path / "transfer.csv"
    df.to_csv(p, index=False)
    r = _run("transfer", p, "--by", "pretrain_data", "--json")
    assert r.exit_code == 0, r.output
    assert all(d["code"] != "yardstick" for d in json.loads(r.stdout)["diagnostics"])
    rep = Report("t", "")
    build.transfer_section(rep, df, by="pretrain_data")
    assert "data-code='yardstick'" not in "".join(rep.sections[0].parts)


def test_a_measured_twin_beating_the_law_is_a_yardstick_warning():
    import pandas as pd

    df, _ = _two_source_runs()
    scratch = df[df["pretrain_data"] == "none"]
    twin = scratch.iloc[[10]]
    df2 = pd.concat([df, twin.assign(pretrain_data="text", loss=twin["loss"] * 0.9)])
    df2 = df2.reset_index(drop=True)
    df2.loc[scratch.index[10], "loss"] *= 0.95
    res = effective_data_transferred(df2, by="pretrain_data", n_bootstrap=0)
    twins = [d for d in res.diagnostics if d.params == ("twin_beats_law",)]
    assert [(d.code, d.severity) for d in twins] == [("yardstick", "warning")]
