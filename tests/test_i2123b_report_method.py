"""`report --workflow choose-method` uses the command's --metric/--law/--bootstrap (issue
21/23 verification: it ignored --metric and failed on the demo's methods table, whose 'loss'
column is blank for finetuning runs), and every crossing interval states its level and the
resamples behind it."""

import json

import pytest
from click.testing import CliRunner

from scalinglab import examples
from scalinglab.cli import main
from scalinglab.io.tables import write_table
from scalinglab.workflows.finetune_choice import choose_method


@pytest.fixture(scope="module")
def methods_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("mc") / "methods.csv"
    write_table(examples.testbed_runs()["methods"], path)
    return path


def test_report_section_takes_metric_and_bootstrap(methods_csv, tmp_path):
    out = tmp_path / "r.html"
    args = [
        "report", str(methods_csv), "--workflow", "choose-method", "--at", "n_params=544608",
        "--metric", "downstream_ce", "--bootstrap", "20", "--plotly", "cdn", "-o", str(out),
    ]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "Every method's <b>downstream_ce</b>" in page
    assert "Crossings (in-sample; intervals: 90%, 20 resamples)" in page
    # the law choice (additive fit not converged for FMT) reaches the page too
    assert "data-code='law_choice'" in page


def test_report_section_takes_the_requested_law(methods_csv, tmp_path):
    out = tmp_path / "r.html"
    args = [
        "report", str(methods_csv), "--workflow", "choose-method", "--at", "n_params=544608",
        "--metric", "downstream_ce", "--bootstrap", "0", "--law", "finetune_additive",
        "--plotly", "cdn", "-o", str(out),
    ]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "<b>finetune_additive</b> law" in page
    assert "fmt (additive law): the best start did not converge" in page


def test_crossing_intervals_state_level_and_resamples(methods_csv):
    r = CliRunner().invoke(
        main,
        ["choose-method", str(methods_csv), "--at", "n_params=544608",
         "--metric", "downstream_ce", "--bootstrap", "30", "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["interval"] == 0.9 and d["n_bootstrap"] == 30
    crossed = [c for c in d["crossings"] if c.get("critical_lo") is not None]
    assert crossed and all(0 < c["n_resamples"] <= 30 for c in crossed)
    notes = [n for n in d["notes"] if "90% interval" in n]
    assert notes and all("resamples" in n for n in notes)
    text = CliRunner().invoke(
        main,
        ["choose-method", str(methods_csv), "--at", "n_params=544608",
         "--metric", "downstream_ce", "--bootstrap", "30"],
    )  # fmt: skip
    assert "critical finetuning sizes (intervals: 90%, 30 resamples)" in text.stdout


def test_api_label_without_bootstrap():
    m = examples.testbed_runs()["methods"]
    res = choose_method(m, "n_params", {"n_params": 544608.0}, metric="downstream_ce",
                        n_bootstrap=0)  # fmt: skip
    assert res.interval_label() == "no intervals (--bootstrap 0)"
    assert res.to_dict()["n_bootstrap"] == 0
