"""A parameter the bootstrap moves over orders of magnitude, or onto a bound, is named
`not_identified` (issue 14): its interval is not a measurement. The Jacobian check at the
optimum cannot see it (it passes on these data); the resamples do."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from tests.conftest import shared_file

TRUTH = {"E": 1.4, "A": 6.6e5, "alpha": 0.68, "B": 2.8e7, "beta": 0.73}  # Pythia-like


def _runs(run_scatter: float, seed: int) -> pd.DataFrame:
    """5 model sizes x 16 checkpoints; each run off the law by its own factor (as real runs
    are), plus 0.3% noise per checkpoint."""
    rng = np.random.default_rng(seed)
    n = np.repeat([7e7, 1.6e8, 4.1e8, 1e9, 1.4e9], 16)
    d = np.tile(np.geomspace(2e9, 3e11, 16), 5)
    y = sl.get_law("chinchilla").evaluate(TRUTH, {"n_params": n, "tokens": d})
    run = np.repeat(run_scatter * rng.standard_normal(5), 16)
    noise = 0.003 * rng.standard_normal(y.size)
    return pd.DataFrame({"n_params": n, "tokens": d, "loss": y * np.exp(run + noise)})


def _boot_findings(res):
    return [
        d
        for d in res.diagnostics
        if d.code == "not_identified" and d.message.startswith("the bootstrap resamples")
    ]


def test_resampled_runs_that_move_a_over_decades_and_alpha_onto_its_bound_are_named():
    res = sl.fit(_runs(0.02, seed=1), "chinchilla")
    assert res.clean_ and not [d for d in res.diagnostics if d.code == "not_identified"]
    res.bootstrap(200, group_by="n_params", seed=0)
    (d,) = _boot_findings(res)
    assert d.severity == "warning" and d.params == ("A", "alpha")
    draws = res.bootstrap_.params[res.bootstrap_.usable]
    a = np.log10(draws[:, 1])
    decades = np.percentile(a, 95) - np.percentile(a, 5)
    assert decades > 2  # what the finding says, measured here
    assert f"move A (and alpha with it) over {decades:.1f} orders of magnitude" in d.message
    share = np.mean(draws[:, 3] >= 10 - 1e-4)  # alpha's upper bound is 10
    assert share >= 0.025 and f"push alpha (and A with it) onto its bound 10 in {share:.1%}" in (
        d.message
    )
    assert "the data do not fix them" in d.message and not res.clean_
    assert d.message in res.warnings_ and "[not_identified]" in res.summary()
    back = json.loads(res.to_json())
    assert any(x["code"] == "not_identified" and "A" in x["params"] for x in back["diagnostics"])


def test_a_clean_bootstrap_adds_no_finding_and_stays_clean():
    rng = np.random.default_rng(1)
    df = _runs(0.0, seed=1)
    df["loss"] *= np.exp(0.007 * rng.standard_normal(len(df)))
    res = sl.fit(df, "chinchilla")
    res.bootstrap(200, seed=0)
    assert not _boot_findings(res) and res.clean_
    iv = res.intervals(0.9)
    assert (np.log10(iv.loc[["A", "B"], "upper"] / iv.loc[["A", "B"], "lower"]) < 2).all()


@pytest.mark.slow  # ~0.8 s: three bootstraps
def test_a_second_bootstrap_replaces_the_first_ones_finding():
    res = sl.fit(_runs(0.02, seed=1), "chinchilla")
    res.bootstrap(100, group_by="n_params", seed=0)
    res.bootstrap(100, group_by="n_params", seed=1)
    assert len(_boot_findings(res)) == 1
    assert sum(w.startswith("the bootstrap resamples") for w in res.warnings_) == 1
    res.bootstrap(100, seed=0)  # rows, not runs: every parameter is fixed
    assert not _boot_findings(res)
    assert not any(w.startswith("the bootstrap resamples") for w in res.warnings_)


@pytest.mark.slow  # ~1.1 s: two CLI fits with bootstraps
def test_cli_text_and_json_say_it_and_mark_the_intervals(tmp_path):
    path = tmp_path / "runs.csv"
    _runs(0.02, seed=1).to_csv(path, index=False)
    args = ["fit", str(path), "--law", "chinchilla", "--bootstrap", "200", "--quiet"]
    args += ["--group-by", "n_params"]
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0, text.output
    assert "[not_identified]" in text.output and "orders of magnitude" in text.output
    lines = text.output.splitlines()
    table = lines[next(i for i, ln in enumerate(lines) if "bootstrap intervals" in ln) :]
    row = next(ln for ln in table if ln.strip("│ ").startswith("A "))
    assert "not identified" in row
    js = CliRunner().invoke(main, [*args, "--json"])
    assert js.exit_code == 0, js.output
    out = json.loads(js.stdout)
    diags = out.get("diagnostics") or out["fit"]["diagnostics"]
    assert any(d["code"] == "not_identified" and "A" in d["params"] for d in diags)


def _pythia(min_step: int) -> pd.DataFrame:
    ev = pd.read_csv(shared_file("pythia", "evals.csv"))
    ev = ev[(ev["variant"] == "standard") & (ev["deduped"] == 0) & (ev["num_fewshot"] == 0)]
    ev = ev[(ev["step"] >= min_step) & (ev["n_params_total"] < 2e9)]
    lam = ev[(ev["task"] == "lambada_openai") & (ev["metric"] == "ppl")]
    df = lam[["model", "tokens", "n_params_total"]].rename(columns={"n_params_total": "n_params"})
    return df.assign(loss=np.log(lam["value"].to_numpy())).reset_index(drop=True)


@pytest.mark.slow  # ~3 s: 1,000 resamples of 5 runs
def test_pythia_bootstrap_names_the_parameters_it_cannot_fix():
    """LAMBADA log-perplexity of the 70M-1.4B standard runs, step >= 1000 (80 rows, 5 runs):
    resampling runs gave B a standard error of 7.7e9 on 2.8e7 and E a lower bound of 1e-18,
    with no word beyond an info-level drift."""
    df = _pythia(1000)
    assert len(df) == 80 and df["model"].nunique() == 5
    res = sl.fit(df, "chinchilla")
    assert not [d for d in res.diagnostics if d.code == "not_identified"]  # Jacobian: fine
    res.bootstrap(1000, group_by="model", seed=0)
    (d,) = _boot_findings(res)
    assert {"E", "A", "B"} <= set(d.params) and "alpha" not in d.params
    iv = res.intervals(0.95)
    assert iv.loc["B", "se"] > 100 * iv.loc["B", "estimate"]  # the number it qualifies
    assert not res.clean_


@pytest.mark.slow  # ~3 s
def test_pythia_from_step_1_names_a_and_alpha_at_its_bound():
    df = _pythia(1)
    assert len(df) == 130
    res = sl.fit(df, "chinchilla")
    res.bootstrap(1000, group_by="model", seed=0)
    (d,) = _boot_findings(res)
    assert {"A", "alpha"} <= set(d.params) and "onto its bound 10" in d.message
    assert "E" in res.at_bounds_ and "E" not in d.params  # reported as at_bound instead
