"""Kill -9 / resume trials (issue 19, "What it must show"): a 2-worker sweep on SQLite killed
at random moments, then resumed, ends every time with every run done exactly once and an
export identical to an uninterrupted sweep's.

Runs are executed by a fake fast executor (no training: what is tested is the bookkeeping),
and the two workers are forked from this process (`run_sweep` with one worker each, sharing a
registry, as two sweeps on one registry or a pool's two workers do): a spawned worker would
spend seconds importing, which is what kept such trials out of the test suite.
"""

import json
import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="sweep workers set torch threads")

from scalinglab.testbed import sweep  # noqa: E402
from scalinglab.testbed.registry import Registry  # noqa: E402

MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2}
SPEC = {  # 6 pretraining runs, 12 finetuning runs that depend on them
    "defaults": {"pretrain_data": "kjv", "context": 128, "batch_size": 4, "finetune_size": 8},
    "axes": {
        "model": [MODEL, {**MODEL, "d_model": 24}, {**MODEL, "d_model": 32}],
        "tokens": [1000, 2000],
        "method": ["none", "fmt", "lora"],
    },
}
N_RUNS = 18
TRIALS = 20
PG_URL = os.environ.get("SCALINGLAB_TEST_PG_URL")
LOG: Path | None = None  # the execution log of the current trial (set before forking)


def fake_execute(claim, dep, artifacts):
    """Fast and deterministic: metrics from the run key; a pretraining run writes its
    checkpoint where the real one does, a finetuning run reads its dependency's. Every start
    is logged, so a finished run executed again would show."""
    with open(LOG, "a") as fh:
        fh.write(f"start {claim.key}\n")
    time.sleep(random.uniform(0.01, 0.04))
    h = int(claim.key[:8], 16)
    if claim.kind == "pretrain":
        path = artifacts / f"{claim.key}.pt"
        path.write_text(json.dumps({"key": claim.key}))
        return {"loss": 2 + h % 1000 / 1000, "tokens": claim.config["tokens"]}, str(path)
    assert json.loads(Path(dep["artifact"]).read_text())["key"] == claim.depends_on[0]
    return {"downstream_ce": 1 + h % 997 / 997, "pretrain_loss": dep["metrics"]["loss"]}, None


def _sweep_worker(reg: str, art: str, log: str, seed: int) -> None:
    global LOG
    LOG = Path(log)
    random.seed(seed)
    sweep.patch_points.execute = fake_execute  # forked: this process's own copy of the module
    # the fake executor reads no corpus: skip counting the task's pairs (~0.5-1 s at start,
    # which pushed the random kills before any run had finished)
    from scalinglab.testbed.sweep import executors

    executors.check_finetune_sizes = lambda runs: []
    sweep.run_sweep(SPEC, reg, art, workers=1, lease_s=60.0, log=log)


def _start(ctx, reg, art, log, seed):
    procs = [
        ctx.Process(target=_sweep_worker, args=(str(reg), str(art), str(log), seed * 10 + i))
        for i in range(2)
    ]
    for p in procs:
        p.start()
    return procs


def _finish(procs, timeout=60.0):
    for p in procs:
        p.join(timeout)
        assert p.exitcode == 0, f"a worker ended with {p.exitcode}"


def _export(reg):
    df = sweep.export(reg)
    return df.sort_values("key").reset_index(drop=True)


def _check_log(log: Path, keys: set[str]) -> None:
    """No run started after its result was recorded; no result recorded twice."""
    recorded: Counter = Counter()
    for line in log.read_text().splitlines():
        if line.startswith("start "):
            key = line.split()[1]
            assert key not in recorded, f"finished run {key} was executed again"
        else:
            recorded[line] += 1
    assert set(recorded) <= keys
    assert max(recorded.values(), default=0) <= 1, recorded.most_common(3)


def _fresh_registry(backend: str, folder: Path):
    """A new, empty registry: a SQLite file in `folder`, or the test PostgreSQL database
    with its runs table dropped."""
    if backend == "sqlite":
        return folder / "runs.sqlite"
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS runs")
    return PG_URL


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not PG_URL,
                reason="no PostgreSQL server (set SCALINGLAB_TEST_PG_URL; .ci/run starts one)",
            ),
        ),
    ],
)
def test_random_kill_and_resume_trials_end_with_every_run_done_once(tmp_path, backend):
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        pytest.skip("needs fork")
    ref = tmp_path / "ref"
    ref.mkdir()
    ref_reg = _fresh_registry(backend, ref)
    _finish(_start(ctx, ref_reg, ref / "art", ref / "log", 0))
    expected = _export(ref_reg)
    assert len(expected) == N_RUNS
    keys = set(expected["key"])
    _check_log(ref / "log", keys)

    rng = random.Random(19)
    interrupted = reclaimed = 0
    start = time.monotonic()
    for trial in range(1, TRIALS + 1):
        d = tmp_path / f"t{trial}"
        d.mkdir()
        reg, art, log = _fresh_registry(backend, d), d / "art", d / "log"
        procs = _start(ctx, reg, art, log, trial)
        # kill -9 one worker or both, each at its own random moment (mid-claim, mid-run,
        # mid-commit); the other keeps going and reclaims the dead one's run
        victims = rng.sample(procs, rng.choice([1, 2, 2]))
        for p in victims:
            time.sleep(rng.uniform(0.0, 0.5))
            os.kill(p.pid, signal.SIGKILL)
            p.join()  # reaped: its pid is dead to the registry at once
        for p in procs:
            p.join(60)
        if backend != "sqlite" or Path(reg).exists():
            done = sum(r["status"] == "done" for r in Registry(reg).rows())
            interrupted += 0 < done < N_RUNS
        _finish(_start(ctx, reg, art, log, trial + 1000))  # the resume
        rows = Registry(reg).rows()
        assert len(rows) == N_RUNS and all(r["status"] == "done" for r in rows), (
            trial,
            Counter(r["status"] for r in rows),
        )
        reclaimed += sum(r["attempts"] > 1 for r in rows)  # a killed worker's run
        _check_log(log, keys)
        got = _export(reg)
        assert got.equals(expected), (trial, got.compare(expected))
    print(f"{TRIALS} trials: {interrupted} killed mid-sweep, {reclaimed} runs reclaimed")
    assert interrupted >= TRIALS // 4, f"only {interrupted} trials were killed mid-sweep"
    assert reclaimed > 0, "no kill landed while a run was held"
    assert time.monotonic() - start < (120 if backend == "sqlite" else 300)
