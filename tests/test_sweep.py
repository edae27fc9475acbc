"""Sweeps: spec validation, crash-safe resume, concurrent sweeps on one registry."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("torch", reason="sweeps run the testbed, which needs torch")

from scalinglab.testbed import corpora  # noqa: E402
from scalinglab.testbed.registry import Registry  # noqa: E402
from scalinglab.testbed.sweep import SweepError, expand, export, run_sweep  # noqa: E402

SPEC = {
    "name": "tiny",
    "defaults": {
        "context": 160,
        "batch_size": 4,
        "ft_steps": 4,
        "n_test": 4,
        "max_chars": 60000,
        "cloze_items": 5,
    },
    "axes": {
        "model": [
            {"d_model": 16, "n_layers": 1, "n_heads": 2},
            {"d_model": 24, "n_layers": 1, "n_heads": 2},
        ],
        "pretrain_data": ["kjv:0.5,rv1909:0.5"],
        "tokens": [3000, 6000],
        "method": ["none", "fmt", "lora", "prompt"],
        "finetune_size": [16],
        "seed": [0],
    },
}
DETERMINISTIC = ("loss", "accuracy", "downstream_ce", "bleu", "chrf")
needs_bibles = pytest.mark.skipif(
    not (corpora.CORPORA["kjv"].available() and corpora.CORPORA["rv1909"].available()),
    reason="SWORD Bibles not installed: apt-get install -y sword-text-kjv sword-text-sparv "
    "diatheke",
)


def test_expansion_dependencies_and_errors():
    runs = expand(SPEC)
    assert len(runs) == 16 and sum(r.kind == "pretrain" for r in runs) == 4
    pos = {r.key: i for i, r in enumerate(runs)}
    for r in runs:
        assert all(pos[d] < pos[r.key] for d in r.depends_on)  # dependencies first
        assert (r.kind == "finetune") == bool(r.depends_on)
    with pytest.raises(SweepError, match="unknown sweep axis \\['depth'\\]"):
        expand({**SPEC, "axes": {**SPEC["axes"], "depth": [1]}})
    dup = {
        **SPEC,
        "include": [
            {
                "model": {"d_model": 16, "n_layers": 1, "n_heads": 2},
                "pretrain_data": "kjv:0.5,rv1909:0.5",
                "tokens": 3000,
                "method": "fmt",
                "finetune_size": 16,
                "seed": 0,
            }
        ],
    }
    with pytest.raises(SweepError, match="duplicate run"):
        expand(dup)
    base = {
        "model": {"d_model": 16, "n_layers": 1, "n_heads": 2},
        "pretrain_data": "kjv",
        "tokens": 3000,
        "finetune_size": 8,
        "seed": 0,
    }
    cyc = {
        "axes": {"model": [base["model"]]},
        "exclude": [{}],
        "include": [
            {**base, "method": "fmt", "name": "a", "depends_on": ["b"]},
            {**base, "method": "lora", "name": "b", "depends_on": ["a"]},
        ],
    }
    with pytest.raises(SweepError, match="dependency cycle: a -> b -> a|b -> a -> b"):
        expand(cyc)
    excl = expand({**SPEC, "exclude": [{"method": "prompt"}]})
    assert len(excl) == 12


def _metrics(path):
    return {
        r["key"]: {k: r["metrics"].get(k) for k in DETERMINISTIC} for r in Registry(path).rows()
    }


@needs_bibles
def test_kill_and_resume_runs_everything_exactly_once(tmp_path):
    ref = tmp_path / "ref.sqlite"
    run_sweep(SPEC, ref, tmp_path / "ref-art")
    expected = _metrics(ref)
    assert len(expected) == 16

    reg, art, log = tmp_path / "runs.sqlite", tmp_path / "art", tmp_path / "executions.log"
    code = (
        "import sys, json; from scalinglab.testbed.sweep import run_sweep; "
        f"run_sweep(json.loads(sys.argv[1]), {str(reg)!r}, {str(art)!r}, log={str(log)!r})"
    )
    import json

    for delay in (2.0, 3.1, 4.3, 1.2):  # SIGKILL at several points, some mid-run or mid-commit
        p = subprocess.Popen([sys.executable, "-c", code, json.dumps(SPEC)])
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
    done_before = sum(r["status"] == "done" for r in Registry(reg).rows())
    assert done_before < 16  # the kills interrupted the sweep
    run_sweep(SPEC, reg, art, log=str(log))  # the resume
    rows = Registry(reg).rows()
    assert len(rows) == 16 and all(r["status"] == "done" for r in rows)
    executions = Counter(log.read_text().split())
    assert max(executions.values()) == 1  # no finished run was executed again
    assert _metrics(reg) == expected  # same seeds, same numbers as the uninterrupted sweep
    for r in rows:
        if r["kind"] == "pretrain":
            assert os.path.exists(r["artifact"])


@needs_bibles
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_stop_when_the_sweep_process_is_killed(tmp_path, sig):
    """`kill PID` (or kill -9) of a local sweep leaves no worker training on unseen."""
    import json

    from scalinglab.testbed.registry import _alive

    spec = {**SPEC, "axes": {**SPEC["axes"], "tokens": [2_000_000], "method": ["none"]}}
    reg = tmp_path / "runs.sqlite"
    code = (
        "import sys, json; from scalinglab.testbed.sweep import run_sweep; "
        f"run_sweep(json.loads(sys.argv[1]), {str(reg)!r}, {str(tmp_path / 'art')!r}, workers=2)"
    )
    p = subprocess.Popen([sys.executable, "-c", code, json.dumps(spec)])
    deadline = time.time() + 120
    pids: list[int] = []
    while len(pids) < 2 and time.time() < deadline:  # both workers hold a run
        time.sleep(0.5)
        if reg.exists():
            pids = [r["pid"] for r in Registry(reg).rows() if r["status"] == "running"]
    assert len(pids) == 2 and p.pid not in pids
    p.send_signal(sig)
    p.wait(timeout=30)
    deadline = time.time() + 30
    while any(_alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids)
    assert not any(r["status"] == "done" for r in Registry(reg).rows())


@needs_bibles
def test_two_concurrent_sweeps_share_a_registry(tmp_path):
    reg, art, log = tmp_path / "runs.sqlite", tmp_path / "art", tmp_path / "executions.log"
    import json

    code = (
        "import sys, json; from scalinglab.testbed.sweep import run_sweep; "
        f"run_sweep(json.loads(sys.argv[1]), {str(reg)!r}, {str(art)!r}, log={str(log)!r})"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, json.dumps(SPEC)]) for _ in range(2)]
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    rows = Registry(reg).rows()
    assert len(rows) == 16 and all(r["status"] == "done" for r in rows)
    executions = Counter(log.read_text().split())
    assert len(executions) == 16 and max(executions.values()) == 1
    df = export(reg, tmp_path / "runs.csv")
    import scalinglab as sl

    back = sl.read_table(tmp_path / "runs.csv")  # the export is in the schema
    assert len(back) == len(df) == 16 and {"n_params", "tokens", "bleu"} <= set(back.columns)
    assert np.allclose(df["flops"], 6 * df["n_params_nonembedding"] * df["tokens"])
    assert {"device", "wall_time_s", "tokenizer"} <= set(df.columns)
    some = list(df["key"][:3])
    assert sorted(export(reg, keys=some)["key"]) == sorted(some)  # one spec's runs only


def test_opening_a_registry_waits_for_another_sweep_creating_it(tmp_path):
    """Two sweeps starting together on a new SQLite file: while one holds a write lock,
    the other's switch to WAL got "database is locked" at once (SQLite skips its busy
    handler there); CI hit it once in the test above. Opening must wait instead."""
    import sqlite3
    import threading

    path = tmp_path / "runs.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the other sweep, mid-way through creating the schema
    threading.Timer(0.5, other.execute, ("COMMIT",)).start()
    start = time.monotonic()
    reg = Registry(path)
    assert time.monotonic() - start >= 0.4  # it waited for the lock rather than failing
    assert reg.register([{"key": "k", "name": "n", "kind": "pretrain", "config": {}}]) == 1
    other.close()


def test_failed_runs_keep_their_error_and_stop_after_max_attempts(tmp_path, monkeypatch):
    from scalinglab.testbed import sweep

    def boom(claim, registry, artifacts):
        raise RuntimeError("out of disk")

    monkeypatch.setattr(sweep.patch_points, "execute", boom)
    reg = tmp_path / "r.sqlite"
    run_sweep({**SPEC, "axes": {**SPEC["axes"], "method": ["none", "fmt"]}}, reg, tmp_path)
    rows = Registry(reg).rows()
    pre = [r for r in rows if r["kind"] == "pretrain"]
    assert all(r["status"] == "failed" and r["attempts"] == 3 for r in pre)
    assert "out of disk" in pre[0]["error"]
    assert all(r["status"] == "pending" for r in rows if r["kind"] == "finetune")


@needs_bibles
def test_ray_executor_matches_local(tmp_path):
    try:
        import ray
    except ImportError:
        pytest.skip("Ray is not installed (pip install 'scalinglab[ray]'): ray executor untested")
    local = tmp_path / "local.sqlite"
    run_sweep(SPEC, local, tmp_path / "art-local")
    remote = tmp_path / "ray.sqlite"
    try:
        run_sweep(SPEC, remote, tmp_path / "art-ray", executor="ray", num_cpus=2)
    finally:
        ray.shutdown()
    assert _metrics(remote) == _metrics(local)
    assert all(r["status"] == "done" for r in Registry(remote).rows())


def test_eta_from_done_runs(tmp_path):
    from scalinglab.testbed.sweep import eta

    runs = expand(SPEC)
    reg = Registry(tmp_path / "r.sqlite")
    reg.register(r.as_row() for r in runs)
    assert eta(reg)["eta_s"] is None  # nothing done yet: no basis for an estimate
    first = reg.claim()
    time.sleep(0.05)
    reg.complete(first.key, {"loss": 1.0}, claim=first)
    info = eta(reg, workers=2)
    assert info["counts"] == {"done": 1, "pending": 15}
    assert info["eta_s"] is not None and info["eta_s"] > 0  # 3 pretraining runs left


PG_URL = os.environ.get("SCALINGLAB_TEST_PG_URL")


@pytest.mark.skipif(
    not PG_URL,
    reason="no PostgreSQL server for the test (set SCALINGLAB_TEST_PG_URL; .ci/run starts one)",
)
def test_postgresql_registry_claims_and_concurrency(tmp_path):
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS runs")
    runs = expand(SPEC)
    reg = Registry(PG_URL)
    assert reg.register(r.as_row() for r in runs) == 16
    assert reg.register(r.as_row() for r in runs) == 0  # same keys: nothing new
    first = reg.claim()
    assert first.kind == "pretrain" and reg.counts() == {"running": 1, "pending": 15}
    reg.complete(first.key, {"loss": 2.5}, "a.pt", claim=first)
    # claims are exclusive across live processes (each holds its run while the others claim)
    code = (
        "import sys, time; from scalinglab.testbed.registry import Registry; r = Registry("
        f"{PG_URL!r}); c = r.claim(); print(c.key if c else '', flush=True); time.sleep(4)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert len(set(outs)) == 3 and "" not in outs
    rows = {r["key"]: r for r in Registry(PG_URL).rows()}
    assert rows[first.key]["metrics"] == {"loss": 2.5} and rows[first.key]["status"] == "done"


@pytest.mark.skipif(not PG_URL, reason="no PostgreSQL server for the test")
def test_postgresql_registries_created_together_all_open(tmp_path):
    """Concurrent CREATE TABLE IF NOT EXISTS collide on PostgreSQL's catalog index
    (UniqueViolation in most of 20 trials of 8 processes before the advisory lock)."""
    import multiprocessing

    import psycopg

    ctx = multiprocessing.get_context("fork")  # forked: imports done, all start together
    for _ in range(5):
        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute("DROP TABLE IF EXISTS runs")
        barrier = ctx.Barrier(8)
        procs = [ctx.Process(target=_open_registry_at, args=(barrier, PG_URL)) for _ in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
        assert [p.exitcode for p in procs] == [0] * 8
    assert Registry(PG_URL).counts() == {}


def _open_registry_at(barrier, url: str) -> None:
    barrier.wait()
    Registry(url)


def test_grids_share_pretraining_runs_and_reject_duplicates():
    model = {"d_model": 16, "n_layers": 1, "n_heads": 2}
    spec = {
        "defaults": {"pretrain_data": "kjv"},
        "grids": [
            {"axes": {"model": [model], "tokens": [3000, 6000]}},
            {"axes": {"model": [model], "tokens": [6000], "method": ["fmt", "lora"]}},
        ],
    }
    runs = expand(spec)
    assert Counter(r.kind for r in runs) == {"pretrain": 2, "finetune": 2}
    (pre6000,) = [r for r in runs if r.kind == "pretrain" and r.config["tokens"] == 6000]
    assert all(r.depends_on == [pre6000.key] for r in runs if r.kind == "finetune")
    twice = {**spec, "grids": [*spec["grids"], spec["grids"][1]]}
    with pytest.raises(SweepError, match="duplicate run 'ft-d16L1-kjv-6000-s0-fmt-64'"):
        expand(twice)
    with pytest.raises(SweepError, match="unknown grid key \\['axis'\\]"):
        expand({"grids": [{"axis": {"model": [model]}}]})
    with pytest.raises(SweepError, match="has no pretrain_data"):
        expand({"axes": {"model": [model], "tokens": [3000]}})
    per_method = {
        "defaults": {"pretrain_data": "kjv", "ft_lr": {"fmt": 3e-4, "lora": 1e-3}},
        "axes": {"model": [model], "tokens": [3000], "method": ["fmt", "lora"]},
    }
    assert len(expand(per_method)) == 3
    per_method["axes"]["method"].append("prompt")
    with pytest.raises(SweepError, match="has no rate for method 'prompt'"):
        expand(per_method)


def test_builtin_cpu_spec_spans_the_orders_of_magnitude_it_promises():
    from scalinglab.testbed.model import GPTConfig
    from scalinglab.testbed.sweep import builtin_specs, load_spec

    assert "cpu" in builtin_specs()
    runs = expand(load_spec("cpu"))
    pre = [r for r in runs if r.kind == "pretrain" and r.config["tokens"] > 0]  # 0: no pretraining
    n = [GPTConfig(context=128, **r.config["model"]).non_embedding_params for r in pre]
    d = [r.config["tokens"] for r in pre]
    assert np.log10(max(n) / min(n)) >= 1.5 and np.log10(max(d) / min(d)) >= 1.5
    ft = [r for r in runs if r.kind == "finetune"]
    assert {r.config["method"] for r in ft} == {"fmt", "lora", "prompt"}
    assert {r.config["finetune_size"] for r in ft} == {250, 1000, 4000}
    assert {r.config["pretrain_data"] for r in ft} == {
        "kjv",
        "kjv:0.5,rv1909:0.5",
        "python",
        "bible-parallel",
    }
    with pytest.raises(SweepError, match="built-in specs: .*cpu"):
        load_spec("cpuu")


def test_builtin_gpu_spec_is_an_h100_hour_that_fits_in_memory():
    from scalinglab.testbed.model import GPTConfig
    from scalinglab.testbed.sweep import load_spec, plan
    from scalinglab.testbed.train import estimate_memory_bytes

    runs = expand(load_spec("gpu"))
    pre = [r for r in runs if r.kind == "pretrain"]
    cfgs = [GPTConfig(vocab_size=8192, context=512, **r.config["model"]) for r in pre]
    n = [c.non_embedding_params for c in cfgs]
    d = [r.config["tokens"] for r in pre]
    assert 80e6 < max(n) < 120e6 and max(d) == 2_000_000_000  # the issue's ~100M and ~2B
    assert np.log10(max(n) / min(n)) >= 1.5 and np.log10(max(d) / min(d)) >= 1.5
    # Every run fits an 80 GB GPU (bf16 autocast) with room to share it between two workers.
    assert max(estimate_memory_bytes(c, 64, half=True) for c in cfgs) < 30 * 2**30
    # About an hour at 400 TFLOP/s (an H100 at 40% MFU), counted from each model's FLOPs.
    minutes = sum(p["est_seconds"] for p in plan(runs, tflops=400)) / 60
    assert 30 < minutes < 75, minutes
    # Three finetuning seeds share one pretraining run (Zhang et al.'s seeds are subsets).
    seeds = [r for r in runs if r.kind == "finetune" and "ft_seed" in r.config]
    assert {r.config["ft_seed"] for r in seeds} == {0, 1, 2}
    assert len({r.depends_on[0] for r in seeds}) == 1
    assert max(r.config["finetune_size"] for r in runs if r.kind == "finetune") == 16000


def test_overrides_replace_defaults_but_not_axes():
    from scalinglab.testbed.sweep import load_spec, with_defaults

    spec = with_defaults(load_spec("cpu"), {"pretrain_data": "text:/data/corpus.txt"})
    data = Counter(r.config["pretrain_data"] for r in expand(spec) if r.kind == "pretrain")
    # The ladder and downstream grids move to the new corpus; the alignment grid sets its
    # corpora on an axis and keeps them.
    assert set(data) == {"text:/data/corpus.txt", "kjv", "python", "bible-parallel"}
    assert data["kjv"] == data["python"] == data["bible-parallel"] == 4
    assert with_defaults(load_spec("cpu"), None) == load_spec("cpu")
    with pytest.raises(SweepError, match=r"unknown setting \['pretrain_dat'\]"):
        with_defaults(load_spec("cpu"), {"pretrain_dat": "kjv"})


@needs_bibles
def test_finetuning_seeds_share_one_pretraining_run(tmp_path):
    spec = {
        "defaults": {**SPEC["defaults"], "pretrain_data": "kjv:0.5,rv1909:0.5", "tokens": 3000},
        "axes": {
            "model": [SPEC["axes"]["model"][0]],
            "method": ["fmt"],
            "finetune_size": [16],
            "ft_seed": [0, 1],
        },
    }
    reg = run_sweep(spec, tmp_path / "r.sqlite", tmp_path / "art")
    df = export(reg.path, keys=None).set_index("run_id")
    assert Counter(df["kind"]) == {"pretrain": 1, "finetune": 2}
    ft = df[df["kind"] == "finetune"]
    assert sorted(ft["seed"]) == [0, 1] and set(ft["pretrain_seed"]) == {0}
    # Different finetuning subsets from one checkpoint: different downstream CE.
    assert ft["downstream_ce"].nunique() == 2
    assert set(ft["pretrain_loss"]) == {df.loc[df["kind"] == "pretrain", "loss"].iloc[0]}


@needs_bibles
def test_finetuned_models_are_scored_zero_shot_on_the_accuracy_task(tmp_path):
    """Issue 20 (Zhang et al.'s zero-shot question): every finetuning run also scores the
    finetuned model on the pretraining runs' cloze, beside the pretrained model's accuracy.
    Prompt tuning without special rows leaves every weight as it was: its zero-shot accuracy
    is the pretrained one exactly; FMT moves the weights, so its score is its own."""
    spec = {
        "defaults": {
            **SPEC["defaults"],
            "pretrain_data": "kjv:0.5,rv1909:0.5",
            "tokens": 3000,
            "cloze_items": 40,
        },
        "axes": {
            "model": [SPEC["axes"]["model"][0]],
            "method": ["fmt", "prompt"],
            "finetune_size": [16],
        },
    }
    reg = run_sweep(spec, tmp_path / "r.sqlite", tmp_path / "art")
    df = export(reg.path, keys=None)
    pre = df[df["kind"] == "pretrain"].iloc[0]
    ft = df[df["kind"] == "finetune"].set_index("method")
    assert set(ft["pretrain_accuracy"]) == {pre["accuracy"]}
    assert ft.loc["prompt", "zeroshot_accuracy"] == pre["accuracy"]
    acc = ft.loc["fmt", "zeroshot_accuracy"]
    assert 0 <= acc <= 1 and acc * 40 == round(acc * 40)  # a share of the 40 items
    se = ft.loc["fmt", "zeroshot_accuracy_se"]
    assert se == pytest.approx((acc * (1 - acc) / 40) ** 0.5)
    cols = list(df.columns)
    assert cols.index("zeroshot_accuracy") == cols.index("pretrain_accuracy") + 1


def test_claims_take_the_longest_runnable_run_first(tmp_path):
    model = {"d_model": 16, "n_layers": 1, "n_heads": 2}
    spec = {
        "defaults": {"pretrain_data": "kjv"},
        "axes": {"model": [model, {**model, "d_model": 32}], "tokens": [1000, 4000]},
    }
    reg = Registry(tmp_path / "r.sqlite")
    reg.register(r.as_row() for r in expand(spec))
    order = []
    while (c := reg.claim()) is not None:
        order.append((c.config["model"]["d_model"], c.config["tokens"]))
    assert order == [(32, 4000), (16, 4000), (32, 1000), (16, 1000)]


@needs_bibles
def test_slurm_executor_through_submitit_matches_local(tmp_path):
    pytest.importorskip("submitit", reason="submitit missing: pip install 'scalinglab[slurm]'")
    local = tmp_path / "local.sqlite"
    run_sweep(SPEC, local, tmp_path / "art-local")
    slurm = tmp_path / "slurm.sqlite"
    run_sweep(
        SPEC,
        slurm,
        tmp_path / "art-slurm",
        executor="slurm",
        workers=2,
        slurm={"cluster": "local", "timeout_min": 10},  # submitit's local stand-in for SLURM
    )
    assert _metrics(slurm) == _metrics(local)
    rows = Registry(slurm).rows()
    assert all(r["status"] == "done" and r["attempts"] == 1 for r in rows)
    assert len({r["pid"] for r in rows}) == 2  # both array jobs claimed runs
    assert list((tmp_path / "art-slurm" / "slurm-logs").iterdir())  # submitit's job folders


def test_sweep_plan_cli_with_overrides_and_a_gpu_rate():
    import json

    from click.testing import CliRunner

    from scalinglab.cli import main

    args = ["sweep", "plan", "gpu", "--tflops", "400", "--set", "pretrain_data=text:/data/c.txt"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "min at 400 TFLOP/s" in r.output
    rows = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert sum("text:/data/c.txt" in row["name"] for row in rows) > 20
    from scalinglab.cli.testbed import _key_values

    # Numbers become numbers (1e-3 included); a path with colons stays text.
    sets = _key_values(("lr=1e-3", "n_test=50", "pretrain_data=text:/a.txt:0.5"), "--set")
    assert sets == {"lr": 0.001, "n_test": 50, "pretrain_data": "text:/a.txt:0.5"}
    assert type(sets["n_test"]) is int
    r = CliRunner().invoke(main, ["sweep", "plan", "cpu", "--set", "n_tset=5"])
    assert r.exit_code != 0 and "unknown setting ['n_tset']" in r.output
    r = CliRunner().invoke(main, ["sweep", "plan", "cpu", "--set", "lr"])
    assert r.exit_code != 0 and "--set expects KEY=VALUE, got 'lr'" in r.output


@needs_bibles
def test_gpu_spec_settings_run_end_to_end_at_toy_scale(tmp_path):
    """The gpu preset's own defaults (BPE 8,192, context 512, per-method finetuning rates,
    LoRA r=8, prompt P=32, 480-byte pairs, finetuning seeds) on a toy model, so a GPU session
    does not discover a bad setting an hour in. Only the model, budget and sizes shrink."""
    from scalinglab.testbed.data import get_task, get_tokenizer
    from scalinglab.testbed.sweep import load_spec, with_defaults

    spec = with_defaults(
        load_spec("gpu"),
        {
            "pretrain_data": "kjv:0.5,rv1909:0.5",
            "ft_steps": 3,
            "n_test": 3,
            "cloze_items": 5,
            "batch_size": 4,  # 64 x 512 x 8,192 logits are 1 GB: fine on a GPU, slow here
        },
    )
    spec["defaults"]["compile"] = False  # compiling is tested on its own; it costs ~30 s here
    spec["grids"] = [
        {
            "axes": {
                "model": [{"d_model": 32, "n_layers": 1, "n_heads": 2}],
                "tokens": [4096],
                "method": ["fmt", "lora", "prompt"],
                "finetune_size": [250],
                "ft_seed": [0, 1],
            }
        }
    ]
    reg = run_sweep(spec, tmp_path / "r.sqlite", tmp_path / "art")
    assert reg.counts() == {"done": 7}
    df = export(reg.path)
    ft = df[df["kind"] == "finetune"].set_index("method")
    assert ft.loc["lora", "lora_rank"].tolist() == [8, 8]
    assert ft.loc["prompt", "prompt_length"].tolist() == [32, 32]
    assert ft.loc["prompt", "trainable_params"].tolist() == [32 * 32] * 2
    assert set(df["tokenizer"]) == {"bpe:8192"} and (df["epochs"] < 1).all()
    # The full preset's sizes exist: 16,000 training pairs and 300 test pairs that fit.
    task = get_task("translation_en_es")(max_pair_bytes=480).fitting(get_tokenizer("bpe:8192"), 480)
    assert len(task.train) >= 16_000 and len(task.test) >= 300
