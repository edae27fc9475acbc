"""lm-evaluation-harness import on real output: Pythia's v0.3-era files and v0.4 files.

Each test pins a failure of the earlier importer (named in its docstring). Real files are
read from ../shared/data/harness (skipped with a reason when absent); small synthetic files
cover what the real ones do not hold (duplicates, losses other than LAMBADA's, odd names).
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import DataError
from scalinglab.io import aggregate_error, read_harness
from tests.conftest import shared_file

FIX = Path(__file__).parent / "fixtures" / "harness"
TOKENS_PER_STEP = 2_097_152

# The source README's openllm table (percent, 2 decimals): arc = arc_challenge acc_norm,
# hellaswag acc_norm, mmlu = the mmlu group's acc, truthfulqa = truthfulqa_mc2 acc,
# winogrande acc, gsm8k exact_match,strict-match.
OPENLLM = """
model|arc|gsm8k|hellaswag|mmlu|truthfulqa|winogrande
saucam/Arithmo-Wizard-2-7B|62.88|61.26|83.15|60.61|45.9|77.51
meta-llama/Meta-Llama-3-8B-Instruct|62.2|75.59|78.84|65.82|51.71|75.45
meta-llama/Meta-Llama-3-8B|57.51|50.87|82.09|65.04|43.93|77.58
saucam/Nereus-7B|62.54|46.25|83.23|59.6|54.32|76.95
saucam/Orpomis-Prime-7B-dare|64.68|59.74|85.12|62.21|53.72|78.77
saucam/Orpomis-Prime-7B-it|61.26|24.34|79.61|51.55|43.68|73.56
saucam/Orpomis-Prime-7B|60.67|24.41|79.12|52.43|41.02|73.95
saucam/PowerBot-8B|60.92|69.07|83.24|66.62|45.11|80.74
saucam/Proteus-8B|63.48|78.77|82.94|64.71|56.71|77.43
saucam/Saga-8B|51.11|24.18|74.1|50.65|41.19|72.53
saucam/aqua-smaug-0.2-8B|60.15|59.44|82.65|65.51|47.28|78.06
saucam/aqua-smaug-0.3-8B|62.37|76.19|83.02|66.0|53.7|77.11
saucam/aqua-smaug-hermes-8B|61.77|79.61|82.25|64.96|55.11|76.09
saucam/llama-airo-3|61.01|56.33|82.42|64.79|56.35|78.22
meraGPT/mera-mix-4x7B|71.76|72.93|88.92|63.8|77.6|84.53
saucam/mistral-orpo-beta-NeuralBeagle14-7B-dare-ties|67.32|61.79|85.89||54.17|81.14
"""
COLUMN = {
    "arc": "score_arc_challenge",
    "gsm8k": "score_gsm8k",
    "hellaswag": "score_hellaswag",
    "mmlu": "score_mmlu",
    "truthfulqa": "score_truthfulqa_mc2",
    "winogrande": "score_winogrande",
}
# Pythia README, final checkpoint: LAMBADA ppl -> CE = ln(ppl)
PYTHIA_LAMBADA_CE = {
    "EleutherAI/pythia-v1.1-70m": 4.9588,
    "EleutherAI/pythia-v1.1-160m": 3.6393,
    "EleutherAI/pythia-v1.1-410m": 2.3822,
    "EleutherAI/pythia-v1.1-1b-bf16": 2.0688,
    "EleutherAI/pythia-v1.1-1.4b": 1.8059,
    "EleutherAI/pythia-v1.1-2.8b": 1.6166,
    "EleutherAI/pythia-v1.1-6.9b": 1.4927,
    "EleutherAI/pythia-v1.1-12b": 1.3670,
}


def _run(args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r


def _v04_file(tmp_path, name, *, model="acme/tiny-160m", date=1714564800.0, **edit):
    """A copy of the v0.4 fixture with `edit` applied to the top level."""
    obj = json.loads(next((FIX / "v04").rglob("*.json")).read_text())
    obj["config"]["model_args"] = f"pretrained={model}"
    obj["config"].pop("model_num_parameters", None)
    obj["date"] = date
    obj.update(copy.deepcopy(edit))
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(obj))
    return p


@pytest.fixture(scope="module")
def pythia_cli(tmp_path_factory):
    folder = shared_file("harness", "pythia-v1")
    side = shared_file("harness", "pythia-v1-sizes.csv")
    out = tmp_path_factory.mktemp("pythia") / "pythia.csv"
    r = _run(["import-harness", folder, "--side-table", side, "-o", out])
    assert r.exit_code == 0, r.output
    return r.output, pd.read_csv(out)


@pytest.fixture(scope="module")
def v04_cli(tmp_path_factory):
    folder = shared_file("harness", "lm-eval-v0.4")
    out = tmp_path_factory.mktemp("v04") / "v04.csv"
    r = _run(["import-harness", folder, "-o", out])
    assert r.exit_code == 0, r.output
    return r.output, pd.read_csv(out)


# -- finding files by content -------------------------------------------------------------


def test_pythia_folders_are_found_by_content(tmp_path):
    """Old: only results*.json names were searched, so Pythia's <size>_step<N>.json folders
    gave NoResultsError."""
    folder = shared_file("harness", "pythia-v1", "pythia-70m")
    long = read_harness(folder)  # nested: pythia-70m/zero-shot/*.json
    assert long["source_file"].nunique() == 27
    assert sorted(long["step"].unique())[:4] == [0, 1, 2, 4]
    # a folder with a non-results .json beside a results file: skipped and counted
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "summary.json").write_text('{"elapsed": 3.0}')
    (tmp_path / "a" / "b" / "70m_step0.json").write_text(
        (folder / "zero-shot" / "70m_step0.json").read_text()
    )
    long = read_harness(tmp_path)
    assert long["source_file"].nunique() == 1
    assert long.attrs["harness_skipped"] == [
        (str(tmp_path / "a" / "summary.json"), "no 'results' object")
    ]


def test_pythia_import_gives_models_by_27_checkpoints(pythia_cli, tmp_path):
    """Old: NoResultsError on this folder. Now 8 models x 27 checkpoints at 0 shots (the four
    1b-bf16 files named '-5shot_' are zero-shot by their config), sizes from the side table,
    tokens = step x 2,097,152, and LAMBADA CE = ln(ppl)."""
    text, df = pythia_cli
    assert len(df) == 216 and df["model"].nunique() == 8
    assert (df.groupby("model")["step"].nunique() == 27).all()
    assert not df.duplicated(["model", "step"]).any()
    assert df.filter(like="shots_").stack().eq(0).all()
    b = df[df["model"] == "EleutherAI/pythia-v1.1-1b-bf16"]
    assert {128, 256, 512, 1000} <= set(b["step"])
    pos = df["step"] > 0
    assert (df.loc[pos, "tokens"] == df.loc[pos, "step"] * TOKENS_PER_STEP).all()
    assert (df.loc[pos, "tokens_source"] == "step x tokens_per_step (side table)").all()
    # step 0: 0 tokens is the truth and is written (issue 15: it used to be left empty)
    assert (df.loc[~pos, "tokens"] == 0).all() and (~pos).sum() == 8
    assert "0 training tokens (step 0" in text and "--where 'tokens > 0'" in text
    big = df[df["model"] == "EleutherAI/pythia-v1.1-12b"].iloc[0]
    assert big["n_params"] == 11_846_072_320 and big["n_params_nonembedding"] == 11_327_027_200
    assert (df["n_params_source"] == "side_table").all()
    final = df[df["step"] == 143000].set_index("model")
    for model, ce in PYTHIA_LAMBADA_CE.items():
        assert final.loc[model, "ce_lambada_openai"] == pytest.approx(ce, abs=5e-5)
    assert (final["ce_lambada_openai_unit"] == "nats/target").all()
    assert final.loc["EleutherAI/pythia-v1.1-70m", "tokens"] == 299_892_736_000
    assert "matched 8 of 8 models" in text
    # one run per model (the id without its revision), 27 checkpoints each
    assert (df["run"] == df["model"]).all() and df["run"].nunique() == 8
    # the table reads back into scalinglab: a fit filters step 0 out before it checks
    df.to_csv(tmp_path / "p.csv", index=False)
    res = sl.fit(tmp_path / "p.csv", "downstream_ce", metric="ce_lambada_openai",
                 where="tokens > 0")  # fmt: skip
    assert res.n_points_ == 208


# -- v0.4: groups, shots, metrics --------------------------------------------------------


def test_v04_one_row_per_model_equal_to_the_source_table(v04_cli):
    """Old: one row per model x shot count (5 rows for Llama-3-8B: 0, 5, 10, 25 shots and
    the mmlu group's 0), gsm8k dropped by the 'acc' metric, arc/hellaswag as acc. Now one row
    per model; every cell of the source README's openllm table is reproduced (values are
    fractions as the files hold them; the table is round(100 x value, 2))."""
    text, df = v04_cli
    assert len(df) == 16 and df["model"].is_unique
    rows = [line.split("|") for line in OPENLLM.strip().splitlines()]
    header, body = rows[0], rows[1:]
    checked = 0
    for r in body:
        got = df[df["model"] == r[0]].iloc[0]
        for col, cell in zip(header[1:], r[1:], strict=True):
            if cell == "":
                assert math.isnan(got[COLUMN[col]])  # no mmlu.json for this model
                continue
            assert round(100 * got[COLUMN[col]], 2) == pytest.approx(float(cell), abs=1e-9), (
                r[0],
                col,
            )
            checked += 1
    assert checked == 95
    llama = df[df["model"] == "meta-llama/Meta-Llama-3-8B"].iloc[0]
    assert round(100 * llama["score_arc_challenge"], 2) == 57.51  # acc_norm (acc: 55.46)
    assert round(100 * llama["score_hellaswag"], 2) == 82.09  # acc_norm (acc: 61.76)
    assert round(100 * llama["score_mmlu"], 2) == 65.04  # the group's value
    assert round(100 * llama["score_gsm8k"], 2) == 50.87  # strict-match (flexible: 51.18)
    shots = {t: llama[f"shots_{t}"] for t in ("arc_challenge", "hellaswag", "mmlu", "gsm8k")}
    assert shots == {"arc_challenge": 25, "hellaswag": 10, "mmlu": 5, "gsm8k": 5}
    assert llama["shots_winogrande"] == 5 and llama["shots_truthfulqa_mc2"] == 0
    assert (
        "gsm8k: exact_match,strict-match chosen; also reported: exact_match,flexible-extract"
        in text
    )
    assert "mmlu: the file's n-shot for the group is 0, its sub-tasks are 5-shot" in text


def test_v04_group_is_the_harness_value_never_reaveraged(v04_cli):
    """Old: aggregate_error averaged every 'acc' row, the mmlu group with its 4 sub-groups and
    57 tasks (66.31 for Llama-3-8B, not the harness's 65.04)."""
    _, df = v04_cli
    llama = df[df["model"] == "meta-llama/Meta-Llama-3-8B"].iloc[0]
    subjects = [c for c in df.columns if c.startswith("score_mmlu_") and "_" in c[11:]]
    assert round(100 * llama["score_mmlu"], 2) == 65.04
    assert round(100 * llama[subjects].mean(), 2) != 65.04
    assert llama["n_tasks"] == 6  # arc_challenge, gsm8k, hellaswag, mmlu, truthfulqa, winogrande
    top = [
        llama[f"score_{t}"]
        for t in ("arc_challenge", "gsm8k", "hellaswag", "mmlu", "truthfulqa", "winogrande")
    ]
    assert llama["accuracy"] == pytest.approx(sum(top) / 6)


def test_group_value_leaves_and_never_both(tmp_path):
    """Synthetic group whose harness value (0.9) is not the mean of its sub-tasks (0.3, 0.5):
    the top level uses 0.9, the leaves use the sub-tasks, and a task set holding the group and
    its own sub-task is refused."""
    results = {
        "grp": {"alias": "grp", "acc,none": 0.9},
        "sub_a": {"alias": " - sub_a", "acc,none": 0.3},
        "sub_b": {"alias": " - sub_b", "acc,none": 0.5},
        "piqa": {"alias": "piqa", "acc,none": 0.7},
    }
    p = _v04_file(
        tmp_path,
        "r.json",
        results=results,
        groups={"grp": results["grp"]},
        group_subtasks={"grp": ["sub_a", "sub_b"], "piqa": []},
        **{"n-shot": {"grp": 0, "sub_a": 0, "sub_b": 0, "piqa": 0}},
    )
    long = read_harness(p)
    top = aggregate_error(long)
    assert top["score_grp"].iloc[0] == 0.9
    assert top["accuracy"].iloc[0] == pytest.approx((0.9 + 0.7) / 2)
    leaves = aggregate_error(long, level="leaves")
    assert leaves["accuracy"].iloc[0] == pytest.approx((0.3 + 0.5 + 0.7) / 3)
    with pytest.raises(DataError, match="group and its own sub-task"):
        aggregate_error(long, tasks=["grp", "sub_a"])


def test_gsm8k_kept_and_metric_overrides(tmp_path):
    """Old: the default metric 'acc' silently dropped gsm8k (it reports exact_match only)."""
    folder = shared_file("harness", "lm-eval-v0.4", "meta-llama", "Meta-Llama-3-8B")
    long = read_harness(folder)
    for spec in (None, "acc"):  # a preferred metric a task lacks falls back, never drops it
        agg = aggregate_error(long, metric=spec)
        assert round(100 * agg["score_gsm8k"].iloc[0], 2) == 50.87
        assert "gsm8k" in agg.attrs["tasks"]
    agg = aggregate_error(long, task_metrics={"gsm8k": "exact_match,flexible-extract"})
    assert round(100 * agg["score_gsm8k"].iloc[0], 2) == 51.18
    agg = aggregate_error(long, task_metrics={"arc_challenge": "acc"})
    assert round(100 * agg["score_arc_challenge"].iloc[0], 2) == 55.46
    with pytest.raises(DataError, match="reports acc, acc_norm"):
        aggregate_error(long, task_metrics={"arc_challenge": "exact_match"})
    out = tmp_path / "o.csv"
    r = _run(
        ["import-harness", folder, "-o", out, "--metric", "gsm8k=exact_match,flexible-extract"]
    )
    assert r.exit_code == 0, r.output
    assert round(100 * pd.read_csv(out)["score_gsm8k"].iloc[0], 2) == 51.18


def test_left_out_tasks_are_named_with_the_reason(v04_cli, pythia_cli):
    """Old: tasks without the chosen metric vanished from the average without a word."""
    v04_text, _ = v04_cli
    assert re.search(r"left out \(1 task\(s\)\):\n\s+truthfulqa_gen: reports none of", v04_text)
    assert "(has: bleu_acc, bleu_diff" in v04_text
    pythia_text, _ = pythia_cli
    assert "crows_* (22): reports none of acc_norm/acc/exact_match nor a loss-like metric" in (
        pythia_text
    )


# -- duplicates ----------------------------------------------------------------------------


def test_duplicate_files_are_named_and_the_latest_wins(tmp_path):
    """Old: two files for one model x checkpoint were both kept and averaged together."""
    _v04_file(tmp_path, "run1/results_2024-05-01T12-00-00.json", date=1714564800.0)
    newer = {
        "arc_easy": {"alias": "arc_easy", "acc,none": 0.5, "acc_norm,none": 0.45},
        "piqa": {"alias": "piqa", "acc,none": 0.6, "acc_norm,none": 0.61},
        "lambada_openai": {"alias": "lambada_openai", "perplexity,none": 30.0, "acc,none": 0.35},
    }
    _v04_file(tmp_path, "run2/results_2024-06-01T12-00-00.json", date=1717243200.0, results=newer)
    out = tmp_path / "o.csv"
    r = _run(["import-harness", tmp_path, "-o", out])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert len(df) == 1
    assert df["score_arc_easy"].iloc[0] == 0.45 and df["ce_lambada_openai"].iloc[
        0
    ] == pytest.approx(math.log(30.0))
    assert (
        "duplicate results (1); rule: for one model x checkpoint x task x shot count, the file "
        "with the latest `date`" in r.output
    )
    assert re.search(
        r"kept \S*run2\S* \(date 2024-06-01 .*\) over \S*run1\S* \(date 2024-05-01", r.output
    )
    # without a `date`, the timestamp in the results_<timestamp>.json name decides
    for f in tmp_path.rglob("*.json"):
        obj = json.loads(f.read_text())
        obj.pop("date")
        f.write_text(json.dumps(obj))
    long = read_harness(tmp_path)
    assert set(long["source_file"]) == {str(tmp_path / "run2/results_2024-06-01T12-00-00.json")}
    assert "file name 2024-06-01" in long.attrs["harness_duplicates"][0]


def test_several_shot_counts_for_one_task_are_refused_then_chosen(tmp_path):
    """One row per model x checkpoint holds one shot count per task; a task evaluated at two
    is refused with the way out (--shots), not averaged across shot counts."""
    _v04_file(tmp_path, "zero/r.json")
    _v04_file(
        tmp_path, "five/r.json", **{"n-shot": {"arc_easy": 5, "piqa": 5, "lambada_openai": 5}}
    )
    long = read_harness(tmp_path)
    assert long.attrs["harness_duplicates"] == []  # different shot counts: not duplicates
    with pytest.raises(DataError, match="--shots"):
        aggregate_error(long)
    agg = aggregate_error(long, shots=5)
    assert len(agg) == 1 and agg["shots_arc_easy"].iloc[0] == 5
    r = _run(["import-harness", tmp_path, "-o", tmp_path / "o.csv", "--shots", "0"])
    assert r.exit_code == 0, r.output


# -- sizes and tokens ----------------------------------------------------------------------


def test_side_table_matching_nothing_is_a_named_error(tmp_path):
    """Old: a side table that matched no model was ignored; sizes then came from the names."""
    from scalinglab.io import SideTableMismatchError

    folder = shared_file("harness", "pythia-v1", "pythia-160m")
    side = tmp_path / "side.csv"
    side.write_text("model,n_params\nllama-7b,7e9\nopt-1.3b,1.3e9\n")
    with pytest.raises(SideTableMismatchError, match="matches none of the models"):
        read_harness(folder, side_table=side)
    assert issubclass(SideTableMismatchError, DataError)
    r = _run(["import-harness", folder, "--side-table", side, "-o", tmp_path / "o.csv"])
    assert r.exit_code == 2
    assert "SideTableMismatchError" in r.output and "EleutherAI/pythia-v1.1-160m" in r.output


def test_side_table_unmatched_models_listed_no_name_fallback(tmp_path):
    """Old: a model missing from the side table silently got a nominal size from its name
    (12e9 for pythia-v1.1-12b). Now: 'matched k of n', the unmatched listed with the closest
    names, and no size for them."""
    side = pd.read_csv(shared_file("harness", "pythia-v1-sizes.csv"))
    side = side[side["model"] != "EleutherAI/pythia-v1.1-12b"]
    side_path = tmp_path / "side.csv"
    side.to_csv(side_path, index=False)
    folder = shared_file("harness", "pythia-v1")
    out = tmp_path / "o.csv"
    r = _run(["import-harness", folder, "--side-table", side_path, "-o", out])
    assert r.exit_code == 0, r.output
    assert "matched 7 of 8 models" in r.output
    assert "unmatched: EleutherAI/pythia-v1.1-12b; closest: EleutherAI/pythia-v1.1-" in r.output
    df = pd.read_csv(out)
    big = df[df["model"] == "EleutherAI/pythia-v1.1-12b"]
    assert big["n_params"].isna().all() and big["tokens"].isna().all()
    assert "no n_params" in r.output


def test_side_table_names_match_by_normalised_rules(tmp_path):
    """../pythia/models.csv names pythia-1.4b (not EleutherAI/pythia-v1.1-1.4b) and pythia-1b
    for the files' 1b-bf16: matched by the normalised-name rules, each rule named."""
    models = shared_file("pythia", "models.csv")
    folder = shared_file("harness", "pythia-v1")
    long = read_harness(folder, side_table=models)
    match = long.attrs["harness_side_match"]
    assert len(match.matched) == 8 and not match.unmatched
    assert match.matched["EleutherAI/pythia-v1.1-1.4b"] == (
        "pythia-1.4b",
        "normalised name (case, organisation, version tags ignored)",
    )
    assert match.matched["EleutherAI/pythia-v1.1-1b-bf16"][0] == "pythia-1b"
    assert "precision" in match.matched["EleutherAI/pythia-v1.1-1b-bf16"][1]
    row = long[long["model"] == "EleutherAI/pythia-v1.1-70m"].iloc[0]
    # models.csv: n_params_total / n_params_nonembed (aliases) and batch_tokens per step
    assert row["n_params"] == 70_426_624 and row["n_params_nonembedding"] == 18_915_328
    assert row["tokens"] == row["step"] * TOKENS_PER_STEP or row["step"] == 0


def test_name_parsing_tinyllama_and_token_revisions(tmp_path):
    """Old: TinyLlama-1.1B-intermediate-step-1431k-3T gave n_params 1,431,000 and step 1431;
    revision=step20000-tokens84B gave no tokens."""
    _v04_file(tmp_path, "a/r.json", model="TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T")
    _v04_file(
        tmp_path,
        "b/r.json",
        model="allenai/OLMo-1B,revision=step20000-tokens84B",
    )
    long = read_harness(tmp_path)
    agg = aggregate_error(long).set_index("model")
    tl = agg.loc["TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T"]
    assert tl["n_params"] == pytest.approx(1.1e9) and tl["step"] == 1_431_000
    assert tl["tokens"] == pytest.approx(3e12)
    assert tl["n_params_source"] == "model name (nominal)"
    assert tl["tokens_source"] == "model name (nominal)" and tl["step_source"] == "model name"
    olmo = agg.loc["allenai/OLMo-1B"]
    assert olmo["step"] == 20_000 and olmo["tokens"] == pytest.approx(84e9)
    assert olmo["tokens_source"] == "revision (nominal)" and olmo["step_source"] == "revision"
    assert olmo["n_params"] == pytest.approx(1e9)
    # the run: the model id without the checkpoint written into the name (or the revision)
    assert tl["run"] == "TinyLlama/TinyLlama-1.1B" and olmo["run"] == "allenai/OLMo-1B"


def test_harness_split_keeps_public_names():
    """Issue 16: io/harness.py split into modules with one job; the old import paths and
    SideTableMismatchError (now in scalinglab.errors) keep working."""
    import scalinglab.errors as errors
    import scalinglab.io.harness as h

    for name in (
        "aggregate_error",
        "read_harness",
        "read_harness_file",
        "discover",
        "find_result_files",
        "parse_model_args",
        "summary_lines",
        "DUPLICATE_RULE",
    ):
        assert hasattr(h, name), name
    assert h.SideTableMismatchError is errors.SideTableMismatchError
    src = Path(h.__file__).parent
    for f in src.glob("harness*.py"):
        assert len(f.read_text().splitlines()) < 400, f.name


def test_name_parsing_units():
    from scalinglab.io.harness_names import parse_name

    n = parse_name("TinyLlama-1.1B-intermediate-step-1431k-3T")
    assert (n.n_params, n.step, n.tokens) == (pytest.approx(1.1e9), 1_431_000, 3e12)
    n = parse_name("step20000-tokens84B")
    assert (n.n_params, n.step, n.tokens) == (None, 20_000, 84e9)
    assert parse_name("EleutherAI/pythia-v1.1-1.4b").n_params == pytest.approx(1.4e9)
    assert parse_name("mistralai/Mixtral-8x7B-v0.1").n_params is None  # never a guess
    assert parse_name("step143000").step == 143_000
    assert parse_name("1b-bf16-5shot_step128").step == 128


# -- losses and chance ---------------------------------------------------------------------


def test_perplexities_become_cross_entropies(tmp_path):
    """Old: perplexity stayed a metric row; nothing gave a loss column to forecast from."""
    agg = aggregate_error(read_harness(FIX / "v04"))
    assert agg["ce_lambada_openai"].iloc[0] == pytest.approx(math.log(37.25))
    assert agg["ce_lambada_openai_unit"].iloc[0] == "nats/target"
    old = aggregate_error(read_harness(FIX / "old"))
    assert "ce_lambada_openai" not in old  # no loss there
    wiki = {
        "wikitext": {
            "alias": "wikitext",
            "word_perplexity,none": 20.0,
            "byte_perplexity,none": 1.6,
            "bits_per_byte,none": math.log2(1.6),
        }
    }
    p = _v04_file(tmp_path, "w.json", results=wiki, **{"n-shot": {"wikitext": 0}})
    long = read_harness(p)
    agg = aggregate_error(long)
    assert agg["ce_wikitext"].iloc[0] == pytest.approx(math.log(20.0))
    assert agg["ce_wikitext_unit"].iloc[0] == "nats/word"
    agg = aggregate_error(long, task_metrics={"wikitext": "bits_per_byte"})
    assert agg["ce_wikitext"].iloc[0] == pytest.approx(math.log(1.6))  # bpb x ln 2
    assert agg["ce_wikitext_unit"].iloc[0] == "nats/byte"
    assert "wikitext" not in agg.attrs["left_out"]  # kept as a loss


def test_builtin_chance_fills_the_chance_column():
    from scalinglab.io import CHANCE_ACCURACY, CHANCE_SOURCE

    assert CHANCE_ACCURACY["arc_easy"] == 0.25 and CHANCE_ACCURACY["piqa"] == 0.5
    assert CHANCE_ACCURACY["truthfulqa_mc1"] is None and "varies" in CHANCE_SOURCE["truthfulqa_mc1"]
    long = read_harness(FIX / "v04")
    agg = aggregate_error(long, metric="acc", tasks=["arc_easy", "piqa"], correct_chance=True)
    expected = ((0.4377104377104377 - 0.25) / 0.75 + (0.6175190424374319 - 0.5) / 0.5) / 2
    assert agg["accuracy"].iloc[0] == pytest.approx(expected)
    assert agg["chance"].iloc[0] == pytest.approx(0.375)
    one = long[long["task"] == "arc_easy"].assign(task="hendrycksTest-anatomy")
    mmlu = aggregate_error(one, metric="acc")
    assert mmlu["chance"].iloc[0] == 0.25


def test_rows_without_a_size_name_their_models(v04_cli):
    """Old: '2 row(s) have no n_params: give --side-table' without saying which: the two
    models whose names carry no size to parse (a 4x7B mixture is not guessed)."""
    text, _ = v04_cli
    assert (
        "2 row(s) have no n_params (meraGPT/mera-mix-4x7B, saucam/llama-airo-3): give --side-table"
    ) in text


def test_shots_given_both_ways_is_named(tmp_path):
    """`--shots 0 --shots piqa=0` said "shot counts are integers" (the DataError raised for
    giving both forms is a ValueError, and the integer check caught it); now it says what
    is wrong."""
    _v04_file(tmp_path, "zero/r.json")
    r = _run(["import-harness", tmp_path, "-o", tmp_path / "o.csv", "--shots", "0",
              "--shots", "piqa=0"])  # fmt: skip
    assert r.exit_code == 2 and "give N or TASK=N, not both" in r.output


def test_import_harness_is_a_library_call(tmp_path):
    """Issue 16: the command's table comes from `import_harness`, so a notebook gets the same
    rows; a chance table and --chance values combine (the value wins for its task), and a
    chance table without a chance column is a MissingColumnError naming the file."""
    from scalinglab.errors import MissingColumnError
    from scalinglab.workflows.harness_import import import_harness

    _v04_file(tmp_path, "zero/r.json")
    pd.DataFrame({"task": ["arc_easy", "piqa"], "chance": [0.25, 0.5]}).to_csv(
        tmp_path / "ch.csv", index=False
    )
    agg = import_harness(tmp_path / "zero", chance_table=tmp_path / "ch.csv", chance={"piqa": 0.4})
    r = _run(["import-harness", tmp_path / "zero", "-o", tmp_path / "o.csv", "--chance-table",
              tmp_path / "ch.csv", "--chance", "piqa=0.4"])  # fmt: skip
    assert r.exit_code == 0, r.output
    cli = pd.read_csv(tmp_path / "o.csv")
    assert len(agg) == len(cli) == 1
    assert agg["chance"].iloc[0] == pytest.approx(cli["chance"].iloc[0])
    long = import_harness(tmp_path / "zero", long=True)
    assert len(long) > len(agg)
    pd.DataFrame({"task": ["piqa"], "x": [0.5]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(MissingColumnError, match="bad.csv"):
        import_harness(tmp_path / "zero", chance_table=tmp_path / "bad.csv")


@pytest.mark.parametrize(
    "option, says",
    [
        (["--chance", "piqa=abc"], "--chance piqa=abc: 'abc' is not a number"),
        (["--set", "tokens=abc"], "--set tokens=abc: 'abc' is not a number"),
        (["--chance", "nosuch=0.3"], "chance names a task not in the results: nosuch"),
        (["--chance", "piqa=1.7"], "a chance accuracy lies in [0, 1)"),
        (["--shots", "nosuch=3"], "shots names a task not in the results: nosuch"),
        (["--shots", "-3"], "shot counts are whole numbers >= 0, got -3"),
    ],
)
def test_bad_numbers_and_unknown_tasks_are_named(tmp_path, option, says):
    """Found by the issue 16 review: --chance TASK=abc and --set K=abc were internal errors
    (a bare ValueError), a chance of 1.7 went into the table as given, and a task named in
    --shots or --chance that the results do not hold was ignored without a word."""
    _v04_file(tmp_path, "zero/r.json")
    r = _run(["import-harness", tmp_path, "-o", tmp_path / "o.csv", *option])
    assert r.exit_code == 2, r.output
    assert says in r.output
    assert not (tmp_path / "o.csv").exists()
