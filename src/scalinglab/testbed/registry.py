"""Run registry: one row per run, keyed by a hash of its full config, in SQLite (WAL mode).

Every state change is one transaction. A run is claimed atomically (BEGIN IMMEDIATE), so
several workers or several sweeps can share one registry without running anything twice.
A run becomes `done` only in the transaction that stores its metrics, after its artifact has
been written and fsynced. A run left `running` by a dead worker is claimable again: at once
when its pid is gone on this host, otherwise when its heartbeat is older than the lease.
Failed runs are retried up to `max_attempts`, keeping their last error; a run whose worker
died on its last attempt becomes `failed` (by the next claim), so a sweep never waits on it.

Writes are fenced: each claim carries a fresh token (`claim_id`), and a result, a failure or
a heartbeat is written only while the run is still `running` under that token. A worker that
was paused past its lease, and whose run another worker has since claimed (and perhaps
finished), gets StaleClaimError instead of overwriting the newer outcome.

Plain DB-API, no ORM: the SQL is a handful of statements, so a thin adapter covers both
SQLite (default, a file) and PostgreSQL (a `postgresql://` URL, for a registry shared by a
team or a cluster; needs `psycopg`). Only placeholders, the upsert and the claim lock differ.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import DataError, ScalingLabError

if TYPE_CHECKING:  # an optional dependency, imported when a PostgreSQL URL is opened
    import psycopg

_log = logging.getLogger("scalinglab.registry")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  config TEXT NOT NULL,
  depends_on TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  metrics TEXT,
  artifact TEXT,
  error TEXT,
  host TEXT,
  pid INTEGER,
  created REAL,
  started REAL,
  finished REAL,
  heartbeat REAL,
  claim_id TEXT
);
"""
# Columns added after the first release, with their types: added to older registries on open.
MIGRATIONS = (("claim_id", "TEXT"),)


class StaleClaimError(ScalingLabError, RuntimeError):
    """A worker wrote to a run it no longer holds: another worker claimed it after this
    worker's lease ran out (and may have finished it). Nothing was written."""

    def __init__(self, claim: Claim, status: str | None, holder: str | None):
        self.claim, self.status, self.holder = claim, status, holder
        now = "no longer in the registry" if status is None else f"now {status}"
        by = f", claimed by {holder}" if holder and status == "running" else ""
        super().__init__(
            f"run {claim.name} ({claim.key}) was taken over by another worker ({now}{by}); "
            f"attempt {claim.attempt} of this worker was not recorded"
        )


class RegistryNotFoundError(DataError):
    """A registry that must exist (status, export) does not: nothing was created."""


@dataclass
class Claim:
    key: str
    name: str
    kind: str
    config: dict[str, Any]
    depends_on: list[str]
    attempt: int
    token: str = ""  # the fencing token: writes need the run still running under it


def estimated_cost(kind: str, config: dict[str, Any]) -> float:
    """Rough training FLOPs of a testbed run (12 d^2 L per token, 6x for forward+backward);
    0 for configs that do not describe a model."""
    m = config.get("model")
    if not isinstance(m, dict) or "d_model" not in m:
        return 0.0
    per_token = 72.0 * m["d_model"] ** 2 * m.get("n_layers", 1)
    if kind == "pretrain":
        return per_token * float(config.get("tokens", 0))
    steps = float(config.get("ft_steps", 0)) * config.get("batch_size", 1)
    return per_token * steps * config.get("context", 128) / 2  # pairs fill about half


_PG_SCHEMA_LOCK = 0x5C411AB  # advisory-lock id that serialises creating the runs table


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped: an orphan in a container without an init) is dead
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(pid, 0) succeeded


class _Cursor(Protocol):
    """What the registry reads from a sqlite3 or a psycopg cursor: rows are tuples."""

    @property
    def description(self) -> Any: ...

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class _Conn:
    """The few DB-API calls the registry makes, for sqlite3 and psycopg alike."""

    con: sqlite3.Connection | psycopg.Connection[Any]

    def __init__(self, target: str):
        self.pg = target.startswith(("postgresql://", "postgres://"))
        if self.pg:
            try:
                import psycopg
            except ImportError:
                raise RuntimeError(
                    "a PostgreSQL registry needs psycopg: pip install 'psycopg[binary]'"
                ) from None
            self.con = psycopg.connect(target, autocommit=True)
        else:
            self.con = sqlite3.connect(target, timeout=60.0, isolation_level=None)
            self.con.execute("PRAGMA synchronous=FULL")
            self.con.execute("PRAGMA busy_timeout=60000")

    def _sql(self, sql: str) -> str:
        if not self.pg:
            return sql
        sql = sql.replace("?", "%s").replace("BEGIN IMMEDIATE", "BEGIN")
        if sql.startswith("INSERT OR IGNORE"):
            sql = sql.replace("INSERT OR IGNORE", "INSERT") + " ON CONFLICT (key) DO NOTHING"
        return sql

    def execute(self, sql: str, params: tuple = ()) -> _Cursor:
        cur = self.con.cursor()
        cur.execute(self._sql(sql), params)
        if self.pg and sql == "BEGIN IMMEDIATE":  # serialise writers, as SQLite does
            cur.execute("LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE")
        return cur

    def executemany(self, sql: str, rows: list) -> None:
        self.con.cursor().executemany(self._sql(sql), rows)

    def executescript(self, sql: str) -> None:
        """SQLite only: several statements in one call (PostgreSQL's execute takes them)."""
        if not isinstance(self.con, sqlite3.Connection):
            raise TypeError("executescript is for a SQLite registry")
        self.con.executescript(sql)

    def close(self) -> None:
        self.con.close()


_PID_GONE = "its process is gone"


def _is_url(path: str) -> bool:
    return path.startswith(("postgresql://", "postgres://"))


class RegistryUnavailableError(ScalingLabError):
    """The PostgreSQL server stayed unreachable for the whole reconnect window."""


_CONFIG_ERRORS = (  # refused by the server for who we are, not lost on the way: never retried
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "does not exist",
    "invalid connection option",
    "invalid dsn",
    "invalid sslmode",
    "permission denied",
)


def _is_config_error(exc: Exception) -> bool:
    """A wrong password, user, database or URL: retrying cannot help."""
    if getattr(exc, "sqlstate", None) in ("28000", "28P01", "3D000", "42501"):
        return True
    text = str(exc).lower()
    return any(s in text for s in _CONFIG_ERRORS)


def _retry_pg(fn):
    """Retry one registry transaction on a lost PostgreSQL connection, reconnecting with
    exponential backoff (0.25 s doubling to 8 s) for up to `reconnect_s`: a server restart
    killed every worker with OperationalError. Each wrapped method is one transaction on a
    fresh connection, so running it again is safe (a fenced write whose commit landed
    before the connection dropped is refused as stale, and the result is already stored).

    Only a server this registry has reached before is waited for: a first connection that
    fails (wrong port, host down) and an authentication or configuration error at any time
    (wrong password, user, database) fail at once, instead of 120 s of hopeless retries."""

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        if not _is_url(self.path):
            return fn(self, *args, **kwargs)
        import psycopg

        deadline, delay = time.monotonic() + self.reconnect_s, 0.25
        while True:
            try:
                out = fn(self, *args, **kwargs)
                self._reached = True
                return out
            except psycopg.OperationalError as exc:
                detail = " ".join(str(exc).split())
                if _is_config_error(exc):
                    raise RegistryUnavailableError(
                        f"the run registry's PostgreSQL server refused the connection "
                        f"({detail}); check the user, password and database in the URL"
                    ) from None
                if not getattr(self, "_reached", False):
                    raise RegistryUnavailableError(
                        f"cannot reach the run registry's PostgreSQL server ({detail}); "
                        "check the host and port in the URL and that the server is running"
                    ) from None
                if time.monotonic() + delay > deadline:
                    raise RegistryUnavailableError(
                        f"the run registry's PostgreSQL server is unreachable after "
                        f"{self.reconnect_s:g} s of retries ({detail})"
                    ) from None
                _log.warning("registry connection lost (%s); retrying in %.2g s", exc, delay)
                time.sleep(delay)
                delay = min(2 * delay, 8.0)

    return wrapper


class Registry:
    def __init__(
        self,
        path: str | Path,
        *,
        lease_s: float = 60.0,
        max_attempts: int = 3,
        create: bool = True,
        reconnect_s: float = 120.0,
    ):
        """create=False: a SQLite registry file that does not exist is an error
        (RegistryNotFoundError) instead of a new empty registry; nothing is created."""
        self.path = str(path)
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.reconnect_s = reconnect_s
        self._reached = False  # a server reached once is waited for when it drops
        self.host = socket.gethostname()
        if not _is_url(self.path):
            if not create and not Path(self.path).is_file():
                raise RegistryNotFoundError(
                    "no run registry here (`scalinglab sweep run` creates one; "
                    "pass the registry of your sweep with --registry)",
                    file=self.path,
                )
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._create_schema()

    def _create_schema(self) -> None:
        """Create the table (idempotent) and add columns older registries lack. Sweeps
        started together on a new registry race here. SQLite: switching to WAL needs an
        exclusive lock and answers "database is locked" at once instead of waiting in its
        busy handler, so retry for up to a minute. PostgreSQL: concurrent CREATE TABLE IF NOT
        EXISTS collide on the catalog's unique index, so creation is serialised by an
        advisory lock (freed when the session ends)."""
        deadline, delay = time.monotonic() + 60.0, 0.01
        while True:
            con = self._connect()
            try:
                if con.pg:
                    con.execute("SELECT pg_advisory_lock(?)", (_PG_SCHEMA_LOCK,))
                    con.execute(SCHEMA.replace(" REAL", " DOUBLE PRECISION"))
                    self._migrate(con)
                else:
                    con.execute("PRAGMA journal_mode=WAL")
                    con.executescript(SCHEMA)
                    con.execute("BEGIN IMMEDIATE")  # two sweeps opening an old file: one adds
                    self._migrate(con)
                    con.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            finally:
                con.close()
            time.sleep(delay)
            delay = min(2 * delay, 0.5)

    @staticmethod
    def _migrate(con: _Conn) -> None:
        """Add the columns of MIGRATIONS that the table lacks (a registry from an older
        release); the caller serialises this (SQLite: a write transaction; PostgreSQL: the
        schema advisory lock)."""
        have = {d[0] for d in con.execute("SELECT * FROM runs LIMIT 0").description}
        for column, kind in MIGRATIONS:
            if column not in have:
                con.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")

    def _connect(self) -> _Conn:
        return _Conn(self.path)

    def holder_gone(
        self, host: str | None, pid: int | None, heartbeat: float | None, now: float | None = None
    ) -> str | None:
        """Why the worker holding a `running` run is dead (its pid is gone on this host, or
        its heartbeat is older than the lease), or None while it may still be working. The
        one rule both claim() (reclaim or give up) and unfinished() (wait or not) apply."""
        now = time.time() if now is None else now
        if host == self.host and not _alive(pid):
            return _PID_GONE
        if heartbeat is not None and now - heartbeat > self.lease_s:
            return f"no heartbeat for {now - heartbeat:.0f} s, lease {self.lease_s:g} s"
        return None

    # -- writes ------------------------------------------------------------------------
    def register(self, runs: Iterable[dict[str, Any]]) -> int:
        """Insert runs not yet known (same key = same run); returns how many were new."""
        now = time.time()
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            before = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            con.executemany(
                "INSERT OR IGNORE INTO runs (key, name, kind, config, depends_on, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        r["key"],
                        r["name"],
                        r["kind"],
                        json.dumps(r["config"], sort_keys=True),
                        json.dumps(r.get("depends_on", [])),
                        now,
                    )
                    for r in runs
                ],
            )
            after = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            con.execute("COMMIT")
            return after - before
        finally:
            con.close()

    def claim(self, keys: Iterable[str] | None = None) -> Claim | None:
        """Atomically take one runnable run (its dependencies done), or None.

        In the same transaction, every `running` run whose worker is dead (holder_gone) and
        that has no attempt left becomes `failed`, its previous error kept: unfinished()
        then counts it as dead, so sweeps waiting on it end instead of sleeping forever."""
        now = time.time()
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            done = {k for (k,) in con.execute("SELECT key FROM runs WHERE status = 'done'")}
            rows = con.execute(
                "SELECT key, name, kind, config, depends_on, status, attempts, host, pid, "
                "heartbeat, error FROM runs WHERE status != 'done' ORDER BY created, key"
            ).fetchall()
            # Longest first (by estimated FLOPs): a pool then ends with short runs, not with
            # one worker busy on a large run while the others idle.
            rows.sort(key=lambda r: -estimated_cost(r[2], json.loads(r[3])))
            runnable = []
            for row in rows:
                key = row[0]
                status, attempts, host, pid, hb, error = row[5:]
                gone = self.holder_gone(host, pid, hb, now) if status == "running" else None
                if status == "running" and gone is None:
                    continue  # its worker is alive
                if gone is not None and attempts >= self.max_attempts:
                    where = f"pid {pid} on host {host}"
                    if gone != _PID_GONE:
                        where += f"; {gone}"
                    died = (
                        f"worker died ({where}) on its last attempt "
                        f"({attempts} of {self.max_attempts})"
                    )
                    con.execute(
                        "UPDATE runs SET status='failed', error=?, finished=? "
                        "WHERE key=? AND status='running'",
                        ((f"{error.rstrip()}\n{died}" if error else died)[-4000:], now, key),
                    )
                    continue
                if status == "failed" and attempts >= self.max_attempts:
                    continue
                runnable.append(row)
            wanted = set(keys) if keys is not None else None
            for key, name, kind, config, deps, _s, attempts, *_ in runnable:
                if wanted is not None and key not in wanted:
                    continue
                if not set(json.loads(deps)) <= done:
                    continue
                token = uuid.uuid4().hex
                con.execute(
                    "UPDATE runs SET status='running', attempts=attempts+1, host=?, pid=?, "
                    "started=?, heartbeat=?, claim_id=? WHERE key=?",
                    (self.host, os.getpid(), now, now, token, key),
                )
                con.execute("COMMIT")
                return Claim(
                    key, name, kind, json.loads(config), json.loads(deps), attempts + 1, token
                )
            con.execute("COMMIT")
            return None
        finally:
            con.close()

    @staticmethod
    def _fence(key: str | Claim, claim: Claim | None) -> Claim:
        """The claim a write is fenced by: `claim`, or `key` when it is the Claim itself."""
        if isinstance(key, Claim):
            if claim is not None and claim != key:
                raise ValueError("two different claims given: pass the Claim once")
            return key
        if claim is None:
            raise TypeError(
                f"writing run {key} needs the Claim that claim() returned (claim=...): "
                "without it, a worker that lost its run could overwrite another's result"
            )
        if claim.key != key:
            raise ValueError(f"claim is for run {claim.key}, not {key}")
        return claim

    def _fenced_write(self, claim: Claim, sql: str, params: tuple) -> None:
        """UPDATE ... WHERE key=? AND status='running' AND claim_id=? (the fence appended to
        `sql`, its values to `params`) in one transaction; StaleClaimError, and nothing
        written, when the run is no longer this claim's."""
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            cur = con.execute(
                sql + " WHERE key=? AND status='running' AND claim_id=?",
                (*params, claim.key, claim.token),
            )
            if cur.rowcount == 1:
                con.execute("COMMIT")
                return
            now = con.execute(
                "SELECT status, host, pid FROM runs WHERE key=?", (claim.key,)
            ).fetchone()
            con.execute("ROLLBACK")
        finally:
            con.close()
        status, host, pid = now if now else (None, None, None)
        raise StaleClaimError(claim, status, f"pid {pid} on host {host}" if pid else None)

    def heartbeat(self, key: str | Claim, *, claim: Claim | None = None) -> bool:
        """Refresh the lease of a claimed run; False (nothing written) when the run is no
        longer this claim's: the worker may stop, its result will not be recorded."""
        claim = self._fence(key, claim)
        con = self._connect()
        try:
            cur = con.execute(
                "UPDATE runs SET heartbeat=? WHERE key=? AND status='running' AND claim_id=?",
                (time.time(), claim.key, claim.token),
            )
            return cur.rowcount == 1
        finally:
            con.close()

    def complete(
        self,
        key: str | Claim,
        metrics: dict[str, Any],
        artifact: str | None = None,
        *,
        claim: Claim | None = None,
    ) -> bool:
        """Record a claimed run as done, with its metrics and artifact path. Raises
        StaleClaimError (and writes nothing) when another worker has taken the run over."""
        claim = self._fence(key, claim)
        self._fenced_write(
            claim,
            "UPDATE runs SET status='done', metrics=?, artifact=?, error=NULL, finished=?",
            (json.dumps(metrics), artifact, time.time()),
        )
        return True

    def fail(self, key: str | Claim, error: str, *, claim: Claim | None = None) -> bool:
        """Record a claimed run's failure (retried up to max_attempts). Raises
        StaleClaimError (and writes nothing) when another worker has taken the run over: a
        late failure never turns a finished run into a failed one."""
        claim = self._fence(key, claim)
        self._fenced_write(
            claim,
            "UPDATE runs SET status='failed', error=?, finished=?",
            (error[-4000:], time.time()),
        )
        return True

    # -- reads -------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        con = self._connect()
        try:
            cur = con.execute("SELECT * FROM runs ORDER BY created, key")
            names = [d[0] for d in cur.description]
            out = []
            for r in cur.fetchall():
                d = dict(zip(names, r, strict=True))
                d["config"] = json.loads(d["config"])
                d["depends_on"] = json.loads(d["depends_on"])
                d["metrics"] = json.loads(d["metrics"]) if d["metrics"] else None
                out.append(d)
            return out
        finally:
            con.close()

    def counts(self) -> dict[str, int]:
        con = self._connect()
        try:
            return dict(con.execute("SELECT status, COUNT(*) FROM runs GROUP BY status"))
        finally:
            con.close()

    def exhausted(self, row: dict[str, Any], now: float | None = None) -> bool:
        """Whether a run can no longer finish on its own: failed on its last attempt, or
        running on its last attempt with its worker dead (claim() marks it failed)."""
        if row["attempts"] < self.max_attempts:
            return False
        if row["status"] == "failed":
            return True
        return row["status"] == "running" and (
            self.holder_gone(row["host"], row["pid"], row["heartbeat"], now) is not None
        )

    def unfinished(self, keys: Iterable[str]) -> list[str]:
        """Keys (of `keys`) not done that can still finish: not out of attempts, and not
        behind a dependency that is out of attempts. Agrees with claim(): a run claim()
        will never take again is not waited for."""
        keys = set(keys)
        now = time.time()
        rows = {r["key"]: r for r in self.rows()}
        dead = {k for k, r in rows.items() if self.exhausted(r, now)}
        changed = True
        while changed:  # a run waiting on a dead run is dead too
            changed = False
            for k, r in rows.items():
                if k not in dead and r["status"] != "done" and set(r["depends_on"]) & dead:
                    dead.add(k)
                    changed = True
        return [k for k in keys if k in rows and rows[k]["status"] != "done" and k not in dead]


for _name in (
    "_create_schema",
    "register",
    "claim",
    "heartbeat",
    "complete",
    "fail",
    "rows",
    "counts",
):
    setattr(Registry, _name, _retry_pg(getattr(Registry, _name)))
