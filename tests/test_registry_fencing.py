"""The run registry under hostile conditions: a worker that died on its last attempt, a
worker paused past its lease, a resume from another directory, a sweep that fails, a
mistyped registry path. Runs are executed by a fake executor (no training): what is tested
is the bookkeeping around them."""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="sweep workers set torch threads")

from click.testing import CliRunner  # noqa: E402

from scalinglab.cli import main  # noqa: E402
from scalinglab.testbed import sweep  # noqa: E402
from scalinglab.testbed.registry import Registry  # noqa: E402
from scalinglab.testbed.sweep import expand  # noqa: E402

MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2}
SPEC = {  # 2 pretraining runs, each with one finetuning run
    "defaults": {
        "pretrain_data": "kjv",
        "context": 128,
        "batch_size": 4,
        "tokens": 1000,
        "finetune_size": 8,
    },  # 18 pairs fit 48 bytes: a size the corpus has
    "axes": {"model": [MODEL, {**MODEL, "d_model": 24}], "method": ["none", "fmt"]},
}
PRETRAIN_ONLY = {**SPEC, "axes": {**SPEC["axes"], "method": ["none"]}}


def fake_execute(claim, dep, artifacts):
    """execute() without training: a pretraining run writes its checkpoint file where the
    real one does (artifacts/KEY.pt) and returns that path; a finetuning run reads its
    pretraining run's checkpoint from the path the registry holds."""
    if claim.kind == "pretrain":
        path = artifacts / f"{claim.key}.pt"
        path.write_text(json.dumps({"key": claim.key}))
        return {"loss": 3.0, "tokens": claim.config["tokens"]}, str(path)
    assert json.loads(Path(dep["artifact"]).read_text())["key"] == claim.depends_on[0]
    return {"downstream_ce": 1.5, "pretrain_loss": dep["metrics"]["loss"]}, None


def _spec_file(tmp_path, spec, name="spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps(spec))  # JSON is YAML
    return str(path)


def _sweep(*args):
    return CliRunner().invoke(main, ["sweep", "run", *map(str, args)])


def _rows(path):
    return {r["name"]: r for r in Registry(path).rows()}


# -- (a) a run left running by a dead worker on its last attempt ----------------------------
def test_resume_ends_when_a_run_died_on_its_last_attempt(tmp_path):
    """It used to hang: claim() skipped the run (no attempt left) while unfinished() waited
    for it (only `failed` runs counted as dead), so `sweep run` slept forever."""
    reg, art = tmp_path / "runs.sqlite", tmp_path / "art"
    spec = _spec_file(tmp_path, SPEC)
    runs = expand(SPEC)
    Registry(reg).register(r.as_row() for r in runs)
    victim = next(r for r in runs if r.kind == "finetune")
    con = sqlite3.connect(reg)
    with con:
        con.execute(
            "UPDATE runs SET status='running', attempts=3, pid=999999, host=?, heartbeat=?, "
            "error='RuntimeError: CUDA out of memory' WHERE key=?",
            (socket.gethostname(), time.time(), victim.key),
        )
    con.close()
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_registry_fencing as t; "
        "from scalinglab.testbed import sweep; sweep.patch_points.execute = t.fake_execute; "
        "from scalinglab.cli import main; main(sys.argv[2:], prog_name='scalinglab')"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, str(Path(__file__).parent), "sweep", "run", spec]
        + ["--registry", str(reg), "--artifacts", str(art)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = p.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("the resume hung on a run that died on its last attempt")
    assert p.returncode == 1, stdout + stderr
    rows = _rows(reg)
    dead = rows[victim.name]
    assert dead["status"] == "failed" and dead["attempts"] == 3
    assert "CUDA out of memory" in dead["error"]  # the earlier error is kept
    assert dead["error"].endswith(
        f"worker died (pid 999999 on host {socket.gethostname()}) on its last attempt (3 of 3)"
    )
    assert all(r["status"] == "done" for n, r in rows.items() if n != victim.name)
    assert f"failed {victim.name} (attempts 3): worker died" in stderr


def test_claim_and_unfinished_agree_on_dead_and_live_holders(tmp_path):
    runs = expand(PRETRAIN_ONLY)
    reg = Registry(tmp_path / "runs.sqlite", lease_s=60)
    reg.register(r.as_row() for r in runs)
    keys = [r.key for r in runs]
    lost, live = keys
    con = sqlite3.connect(reg.path)
    with con:  # both on another host, out of attempts; one heartbeat is past the lease
        for key, hb in ((lost, time.time() - 600), (live, time.time())):
            con.execute(
                "UPDATE runs SET status='running', attempts=3, host='node7', pid=42, "
                "heartbeat=? WHERE key=?",
                (hb, key),
            )
    con.close()
    assert reg.unfinished(keys) == [live]  # waits only for the live one
    assert reg.claim(keys) is None
    rows = {r["key"]: r for r in reg.rows()}
    assert rows[lost]["status"] == "failed" and rows[live]["status"] == "running"
    assert rows[lost]["error"].startswith("worker died (pid 42 on host node7; no heartbeat")
    assert rows[lost]["error"].endswith("on its last attempt (3 of 3)")
    assert reg.unfinished(keys) == [live]


# -- (b) fenced writes -----------------------------------------------------------------------
def test_a_worker_past_its_lease_cannot_overwrite_the_run_another_finished(tmp_path):
    from scalinglab.testbed.registry import StaleClaimError

    path = tmp_path / "runs.sqlite"
    paused = Registry(path, lease_s=0.05)
    paused.register(r.as_row() for r in expand(PRETRAIN_ONLY)[:1])
    first = paused.claim()
    time.sleep(0.2)  # paused past its lease (its process is alive: only the lease expires)
    other = Registry(path, lease_s=0.05)
    second = other.claim()
    assert second is not None and second.key == first.key and second.attempt == 2
    other.complete(second.key, {"loss": 2.0}, "/art/second.pt", claim=second)

    assert paused.heartbeat(first.key, claim=first) is False
    with pytest.raises(StaleClaimError, match="taken over by another worker"):
        paused.complete(first.key, {"loss": 9.0}, "/art/first.pt", claim=first)
    with pytest.raises(StaleClaimError):  # a late failure does not flip done to failed
        paused.fail(first.key, "RuntimeError: late", claim=first)
    (row,) = Registry(path).rows()
    assert row["status"] == "done" and row["metrics"] == {"loss": 2.0}
    assert row["artifact"] == "/art/second.pt" and row["error"] is None

    # While the second worker still holds the run, the first cannot write either.
    third_reg = Registry(path, lease_s=0.05)
    third_reg.register(r.as_row() for r in expand(PRETRAIN_ONLY)[1:])
    mine = third_reg.claim()
    time.sleep(0.2)
    theirs = Registry(path, lease_s=0.05).claim()
    assert theirs.key == mine.key
    with pytest.raises(StaleClaimError, match="now running"):
        third_reg.fail(mine.key, "late", claim=mine)
    with pytest.raises(TypeError, match="needs the Claim"):
        third_reg.complete(mine.key, {"loss": 1.0})  # an unfenced write is refused
    row = {r["key"]: r for r in Registry(path).rows()}[mine.key]
    assert row["status"] == "running" and row["error"] is None and row["attempts"] == 2


def test_the_sweep_worker_discards_a_result_of_a_run_taken_over(tmp_path, monkeypatch, caplog):
    path, art = tmp_path / "runs.sqlite", tmp_path / "art"
    runs = expand(PRETRAIN_ONLY)[:1]
    Registry(path).register(r.as_row() for r in runs)

    def slow_execute(claim, dep, artifacts):
        time.sleep(0.05)  # meanwhile another worker (lease 0) takes the run over and ends it
        c = Registry(path, lease_s=0.0).claim()
        assert c is not None and c.key == claim.key
        con = sqlite3.connect(path)  # its result (as its own complete() would store it)
        with con:
            con.execute(
                "UPDATE runs SET status='done', metrics='{\"loss\": 42.0}' WHERE key=?", (c.key,)
            )
        con.close()
        return fake_execute(claim, dep, artifacts)

    monkeypatch.setattr(sweep.patch_points, "execute", slow_execute)
    with caplog.at_level("WARNING", logger="scalinglab.sweep"):
        ran = sweep.worker(str(path), str(art), [runs[0].key])
    assert ran == 0
    (row,) = Registry(path).rows()
    assert row["status"] == "done" and row["metrics"] == {"loss": 42.0}
    assert f"run {runs[0].name} was taken over by another worker; result discarded" in caplog.text


def test_an_old_registry_file_gains_the_fencing_column(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(  # the schema of earlier releases: no claim_id
        "CREATE TABLE runs (key TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, "
        "config TEXT NOT NULL, depends_on TEXT NOT NULL DEFAULT '[]', status TEXT NOT NULL "
        "DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, metrics TEXT, artifact TEXT, "
        "error TEXT, host TEXT, pid INTEGER, created REAL, started REAL, finished REAL, "
        "heartbeat REAL);"
        "INSERT INTO runs (key, name, kind, config, created) VALUES ('k', 'n', 'pretrain', "
        "'{}', 0);"
    )
    con.close()
    reg = Registry(path)
    c = reg.claim()
    assert c.key == "k" and c.token
    reg.complete(c, {"loss": 1.0})
    (row,) = reg.rows()
    assert row["status"] == "done" and row["claim_id"] == c.token
    Registry(path)  # opening again: the column is there, nothing to add


# -- (c) a resume from another directory ---------------------------------------------------------
def test_resume_from_another_directory_finds_the_checkpoints(tmp_path, monkeypatch):
    a, b = tmp_path / "A", tmp_path / "B"
    a.mkdir()
    b.mkdir()
    monkeypatch.setattr(sweep.patch_points, "execute", fake_execute)
    monkeypatch.chdir(a)  # pretraining runs done from A, with relative paths
    r = _sweep(_spec_file(tmp_path, PRETRAIN_ONLY, "pre.json"), "--registry", "runs.sqlite")
    assert r.exit_code == 0, r.output
    monkeypatch.chdir(b)  # the whole spec resumed from B: finetuning loads A's checkpoints
    spec = _spec_file(tmp_path, SPEC)
    r = _sweep(spec, "--registry", "../A/runs.sqlite", "--artifacts", "../A/artifacts")
    assert r.exit_code == 0, r.output
    rows = _rows(a / "runs.sqlite")
    assert len(rows) == 4 and all(r["status"] == "done" for r in rows.values()), rows
    for r in rows.values():
        if r["kind"] == "pretrain":
            assert Path(r["artifact"]).is_absolute() and Path(r["artifact"]).exists()
    assert not (b / "artifacts").exists()


def test_relative_artifact_paths_of_older_registries_resolve_beside_the_registry(
    tmp_path, monkeypatch
):
    """Registries written before paths were stored absolute hold them relative to the
    directory the sweep ran in, usually the registry's: a resume from elsewhere finds them."""
    a, b = tmp_path / "A", tmp_path / "B"
    (a / "artifacts").mkdir(parents=True)
    b.mkdir()
    runs = expand(SPEC)
    reg = Registry(a / "runs.sqlite")
    reg.register(r.as_row() for r in runs)
    for _ in range(2):  # the pretraining runs, as an older release stored them
        c = reg.claim()
        (a / "artifacts" / f"{c.key}.pt").write_text(json.dumps({"key": c.key}))
        reg.complete(c, {"loss": 3.0}, f"artifacts/{c.key}.pt")
    monkeypatch.setattr(sweep.patch_points, "execute", fake_execute)
    monkeypatch.chdir(b)
    r = _sweep(_spec_file(tmp_path, SPEC), "--registry", "../A/runs.sqlite")
    assert r.exit_code == 0, r.output
    assert all(r["status"] == "done" for r in _rows(a / "runs.sqlite").values())


# -- (d) exit status ---------------------------------------------------------------------------
def test_sweep_run_exits_1_with_a_summary_when_a_run_fails(tmp_path, monkeypatch):
    def flaky(claim, dep, artifacts):
        if claim.kind == "finetune" and claim.config["model"]["d_model"] == 24:
            raise OSError("No space left on device")
        return fake_execute(claim, dep, artifacts)

    monkeypatch.setattr(sweep.patch_points, "execute", flaky)
    reg = tmp_path / "runs.sqlite"
    r = _sweep(_spec_file(tmp_path, SPEC), "--registry", reg, "--artifacts", tmp_path / "art")
    assert r.exit_code == 1, r.output
    (bad,) = [n for n, row in _rows(reg).items() if row["status"] == "failed"]
    assert "sweep incomplete: 3 of 4 runs done (3 done, 1 failed)" in r.output
    assert f"failed {bad} (attempts 3): OSError: No space left on device" in r.output


def test_sweep_run_exits_1_when_every_worker_died(tmp_path, monkeypatch):
    # every worker died at start
    monkeypatch.setattr(sweep.patch_points, "_local_workers", lambda *args: None)
    reg = tmp_path / "runs.sqlite"
    r = _sweep(
        _spec_file(tmp_path, SPEC), "--registry", reg, "--artifacts", tmp_path / "a", "--workers", 2
    )
    assert r.exit_code == 1, r.output
    assert "0 of 4 runs done (4 pending)" in r.output and "did every worker die" in r.output


# -- (e) a registry path that does not exist ---------------------------------------------------
@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["export", "--to", "x.csv"]])
def test_status_and_export_refuse_a_missing_registry(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nowhere" / "runs.sqlite"
    r = CliRunner().invoke(main, ["sweep", *command, "--registry", str(missing)])
    assert r.exit_code == 2, r.output
    assert "RegistryNotFoundError" in r.output and str(missing) in r.output.replace("\n", "")
    assert not missing.exists() and not missing.parent.exists()
    assert not (tmp_path / "x.csv").exists()


# -- the same rules on PostgreSQL ----------------------------------------------------------------
PG_URL = os.environ.get("SCALINGLAB_TEST_PG_URL")


@pytest.mark.skipif(not PG_URL, reason="no PostgreSQL server (set SCALINGLAB_TEST_PG_URL)")
def test_postgresql_registry_fences_reaps_and_migrates():
    import psycopg

    from scalinglab.testbed.registry import StaleClaimError

    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS runs")
        con.execute(  # a registry table from an earlier release: no claim_id
            "CREATE TABLE runs (key TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, "
            "config TEXT NOT NULL, depends_on TEXT NOT NULL DEFAULT '[]', status TEXT NOT NULL "
            "DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, metrics TEXT, "
            "artifact TEXT, error TEXT, host TEXT, pid INTEGER, created DOUBLE PRECISION, "
            "started DOUBLE PRECISION, finished DOUBLE PRECISION, heartbeat DOUBLE PRECISION)"
        )
    runs = expand(PRETRAIN_ONLY)
    paused = Registry(PG_URL, lease_s=0.05)
    paused.register(r.as_row() for r in runs)
    first = paused.claim()
    time.sleep(0.2)
    second = Registry(PG_URL, lease_s=0.05).claim()
    assert second.key == first.key
    Registry(PG_URL).complete(second, {"loss": 2.0}, "/art/b.pt")
    with pytest.raises(StaleClaimError):
        paused.complete(first, {"loss": 9.0}, "/art/a.pt")
    with pytest.raises(StaleClaimError):
        paused.fail(first, "late")
    rows = {r["key"]: r for r in Registry(PG_URL).rows()}
    assert rows[first.key]["status"] == "done" and rows[first.key]["metrics"] == {"loss": 2.0}
    (other,) = [r.key for r in runs if r.key != first.key]
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(
            "UPDATE runs SET status='running', attempts=3, host=%s, pid=999999, heartbeat=%s "
            "WHERE key=%s",
            (socket.gethostname(), time.time(), other),
        )
    reg = Registry(PG_URL)
    assert reg.unfinished([r.key for r in runs]) == []
    assert reg.claim() is None
    rows = {r["key"]: r for r in reg.rows()}
    assert rows[other]["status"] == "failed"
    assert rows[other]["error"].startswith("worker died (pid 999999 on host")


@pytest.mark.skipif(
    not os.environ.get("SCALINGLAB_TEST_PG_URL"),
    reason="no PostgreSQL server for the test (set SCALINGLAB_TEST_PG_URL; .ci/run starts one)",
)
def test_postgresql_registry_reconnects_with_backoff(monkeypatch):
    """A PostgreSQL restart killed every worker with OperationalError: calls now retry,
    reconnecting with backoff, and give up with a named error after the window."""
    import psycopg

    from scalinglab.testbed import registry as regmod

    url = os.environ["SCALINGLAB_TEST_PG_URL"]
    reg = regmod.Registry(url, reconnect_s=5.0)
    real = regmod._Conn.__init__
    failures = {"left": 2}
    sleeps = []

    def flaky(self, target):
        if failures["left"]:
            failures["left"] -= 1
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        real(self, target)

    monkeypatch.setattr(regmod._Conn, "__init__", flaky)
    monkeypatch.setattr(regmod.time, "sleep", sleeps.append)
    assert isinstance(reg.counts(), dict)
    assert sleeps == [0.25, 0.5]
    failures["left"] = 10**6
    with pytest.raises(regmod.RegistryUnavailableError, match="unreachable"):
        reg.counts()


def test_postgresql_wrong_port_or_password_fails_at_once(monkeypatch):
    """A refused port and a wrong password were retried for 120 s (review of issue 19): a
    server never reached, or one that refuses who we are, is a named error at once."""
    pytest.importorskip("psycopg")
    import psycopg

    from scalinglab.testbed import registry as regmod

    sleeps = []
    monkeypatch.setattr(regmod.time, "sleep", sleeps.append)
    t0 = time.monotonic()
    with pytest.raises(regmod.RegistryUnavailableError, match="host and port"):
        regmod.Registry("postgresql://someone:secret@127.0.0.1:1/none", reconnect_s=120.0)
    assert time.monotonic() - t0 < 10 and sleeps == []

    def refused(self, target):
        raise psycopg.OperationalError(
            'connection failed: FATAL:  password authentication failed for user "someone"'
        )

    reg = regmod.Registry.__new__(regmod.Registry)
    reg.path, reg.reconnect_s, reg._reached = "postgresql://someone:x@db/runs", 120.0, True
    monkeypatch.setattr(regmod._Conn, "__init__", refused)
    with pytest.raises(regmod.RegistryUnavailableError, match="password"):
        reg.counts()
    assert sleeps == []  # a server reached before is still not waited for on a wrong password
