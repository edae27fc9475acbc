"""Sweep specs are checked with types before they are expanded (issue 19, item 4): unknown
keys anywhere are named with a "did you mean", names are checked against what the testbed
knows, numbers against their ranges, and the run count and YAML alias expansion are capped
before anything is multiplied out. Every case here was silently accepted before."""

import json
import time

import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from scalinglab.testbed.sweep import SweepError, expand, load_spec, with_defaults

MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2}
SPEC = {
    "name": "tiny",
    "defaults": {"pretrain_data": "kjv", "context": 128, "batch_size": 4},
    "axes": {"model": [MODEL], "tokens": [3000, 6000], "method": ["none", "fmt"]},
}


def _with(**changes):
    spec = json.loads(json.dumps(SPEC))
    for path, value in changes.items():
        *head, last = path.split("__")
        node = spec
        for k in head:
            node = node[k]
        node[last] = value
    return spec


def test_the_base_spec_is_valid():
    assert len(expand(SPEC)) == 4


@pytest.mark.parametrize(
    "spec, message",
    [
        (  # a misspelt top-level key: its defaults were silently ignored
            {**{k: v for k, v in SPEC.items() if k != "defaults"}, "defualts": SPEC["defaults"]},
            r"spec: unknown top-level key 'defualts'; did you mean 'defaults'\?",
        ),
        (
            _with(defaults__ft_step=5),
            r"defaults: unknown setting 'ft_step'; did you mean 'ft_steps'\?",
        ),
        (
            _with(exclude=[{"tokns": 3000}]),
            r"spec.exclude\[0\]: 'tokns' is not an axis of this grid.*did you mean 'tokens'\?",
        ),
        (
            _with(exclude=[{"lr": 3e-3}]),  # a real key, but no axis: the entry matched nothing
            r"'lr' is not an axis of this grid, so the entry would exclude nothing",
        ),
        (
            {"grids": [{"axes": {**SPEC["axes"], "tokns": [1]}}], "defaults": SPEC["defaults"]},
            r"unknown sweep axis \['tokns'\] in grids\[0\].axes; did you mean 'tokens'\?",
        ),
        (
            _with(include=[{**MODEL, "tokens": 3000}]),
            r"include\[0\]: unknown key 'd_model'",
        ),
        (_with(axes__model=[{**MODEL, "n_layer": 2}]), r"model has unknown key 'n_layer'"),
        (_with(axes__model=[{**MODEL, "d_model": 15}]), r"d_model 15 is not divisible"),
        (
            _with(defaults__prompt_length=128, axes__method=["prompt"]),
            r"prompt_length 128 leaves no room in context 128",
        ),
    ],
)
def test_unknown_keys_are_named_with_a_suggestion(spec, message):
    with pytest.raises(SweepError, match=message):
        expand(spec)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("pretrain_data", "kvj", r"unknown corpus 'kvj'; did you mean 'kjv'\?"),
        ("pretrain_data", "kjv:0.5,rv1990:0.5", r"unknown corpus 'rv1990'; did you mean 'rv1909'"),
        ("pretrain_data", "kjv:-1", r"mixture weight '-1' of 'kjv' must be a finite number > 0"),
        ("method", "lroa", r"method unknown value 'lroa'; did you mean 'lora'\?"),
        ("task", "translation_en_ex", r"task unknown value 'translation_en_ex'; did you mean"),
        ("tokenizer", "bpe:lots", r"unknown tokenizer 'bpe:lots'"),
        ("batch_size", 0, r"defaults.batch_size: batch_size must be a whole number >= 1, got 0"),
        ("lr", float("nan"), r"lr must be a finite number > 0, got nan"),
        ("lr", 0.0, r"lr must be a finite number > 0"),
        ("lr", "3e-3", r"YAML reads a number without a '\.' before its exponent as text"),
        ("ft_lr", {"fmt": 1e-3, "lorra": 1e-3}, r"unknown method 'lorra'; did you mean 'lora'"),
        ("seed", -1, r"seed must be a whole number >= 0"),
        ("n_test", 2.5, r"n_test must be a whole number >= 1, got 2.5"),
        ("compile", "yes", r"compile must be true or false"),
    ],
)
def test_values_are_checked_against_names_and_ranges(key, value, message):
    with pytest.raises(SweepError, match=message):
        expand(_with(**{f"defaults__{key}": value}))


@pytest.mark.parametrize(
    "tokens, message",
    [
        ([-2000], r"spec.axes.tokens\[0\]: tokens must be a whole number >= 0, got -2000"),
        ([3000, -1], r"spec.axes.tokens\[1\]: tokens must be a whole number >= 0, got -1"),
        ([True], r"tokens must be a whole number >= 0, got True"),
    ],
)
def test_negative_budgets_are_refused(tokens, message):
    """tokens: [-2000] was recorded as a finished run. 0 is the no-pretraining arm (random
    initialisation, tests/test_testbed_arms.py); below it is an error."""
    with pytest.raises(SweepError, match=message):
        expand(_with(axes__tokens=tokens))


def test_set_of_a_number_that_is_not_one_is_refused():
    r = CliRunner().invoke(main, ["sweep", "plan", "cpu", "--set", "tokens=abc"])
    assert r.exit_code == 2, r.output
    assert "defaults.tokens: tokens must be a whole number >= 0, got 'abc'" in r.output
    with pytest.raises(SweepError, match="batch_size must be a whole number >= 1, got 0"):
        expand(with_defaults(load_spec("cpu"), {"batch_size": 0}))


def test_cli_names_a_misspelt_key_in_a_yaml_spec(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: x\ndefualts: {pretrain_data: kjv}\naxes:\n  model: [{d_model: 16, n_layers: 1}]\n"
        "  tokens: [30000]\n"
    )
    r = CliRunner().invoke(main, ["sweep", "plan", str(spec)])
    assert r.exit_code == 2, r.output
    assert "unknown top-level key 'defualts'; did you mean 'defaults'?" in r.output


def test_absurd_run_counts_are_refused_before_expansion():
    """Ten axes of four values: 1,048,576 runs. Refused with the count, at once (the old
    code multiplied them out, hashing every config, for minutes and gigabytes)."""
    axes = {**SPEC["axes"], "tokens": [3000, 4000, 5000, 6000]}
    for k in ("seed", "ft_seed", "finetune_size", "lora_rank", "prompt_length", "batch_size"):
        axes[k] = [1, 2, 3, 4]
    axes["lr"] = axes["ft_lr"] = [1e-3, 2e-3, 3e-3, 4e-3]
    axes["method"] = ["none", "fmt", "lora", "prompt"]
    start = time.perf_counter()
    with pytest.raises(SweepError, match=r"expands to 1,048,576 runs .* more than the 100,000"):
        expand({**SPEC, "axes": axes})
    assert time.perf_counter() - start < 2.0


def test_a_huge_single_axis_is_refused_by_count_not_by_checking_each_value():
    spec = _with(axes__seed=list(range(200_000)))
    start = time.perf_counter()
    with pytest.raises(SweepError, match=r"expands to 800,000 runs"):
        expand(spec)
    assert time.perf_counter() - start < 2.0


def test_yaml_alias_bomb_is_refused_while_loading(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append("axes: {seed: *a8}")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    with pytest.raises(SweepError, match=r"bomb.yaml: the spec expands to [\d,]{13,} YAML nodes"):
        load_spec(path)
    assert time.perf_counter() - start < 2.0
    loop = tmp_path / "loop.yaml"
    loop.write_text("axes: &a {seed: [*a]}\n")
    with pytest.raises(SweepError, match=r"loop.yaml:1:\d+: a recursive alias is not allowed"):
        load_spec(loop)
    r = CliRunner().invoke(main, ["sweep", "plan", str(path)])
    assert r.exit_code == 2 and "YAML nodes" in r.output, r.output


def test_a_few_aliases_are_fine(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        "defaults: {pretrain_data: kjv, context: 64, batch_size: 4}\n"
        "grids:\n"
        "  - axes: {model: &m [{d_model: 16, n_layers: 1}], tokens: [3000]}\n"
        "  - axes: {model: *m, tokens: [3000], method: [fmt]}\n"
    )
    assert len(expand(load_spec(path))) == 2


def test_a_finetune_size_past_the_corpus_is_refused_when_planned(tmp_path, monkeypatch):
    """`sweep plan` accepted finetune_size past the task's pairs (review of issue 19); the
    run failed at run time, after its pretraining. The check counts the task's pairs."""
    from scalinglab.testbed import data
    from scalinglab.testbed.data import TranslationData

    pairs = [("a b", "c d")] * 40
    monkeypatch.setitem(
        data.TASKS, "translation_en_es", lambda **kw: TranslationData(pairs, pairs[:2], pairs[:2])
    )
    spec = _with(axes__finetune_size=[16, 41], defaults__context=96)
    p = tmp_path / "s.yaml"
    p.write_text(json.dumps(spec))
    r = CliRunner().invoke(main, ["sweep", "plan", str(p)])
    assert r.exit_code == 2, r.output
    assert "finetune_size 41 exceeds the 40 training pairs" in r.output
    spec["axes"]["finetune_size"] = [16, 40]
    p.write_text(json.dumps(spec))
    r = CliRunner().invoke(main, ["sweep", "plan", str(p), "--json"])
    assert r.exit_code == 0, r.output
    kinds = [row["kind"] for row in json.loads(r.stdout)]
    assert kinds.count("pretrain") == 2 and kinds.count("finetune") == 4  # 2 budgets x 2 sizes
