"""Run registry: one row per run, keyed by a hash of its full config, in SQLite (WAL mode).

Every state change is one transaction. A run is claimed atomically (BEGIN IMMEDIATE), so
several workers or several sweeps can share one registry without running anything twice.
A run becomes `done` only in the transaction that stores its metrics, after its artifact has
been written and fsynced. A run left `running` by a dead worker is claimable again: at once
when its pid is gone on this host, otherwise when its heartbeat is older than the lease.
Failed runs are retried up to `max_attempts`, keeping their last error.

Plain DB-API, no ORM: the SQL is a handful of statements, so a thin adapter covers both
SQLite (default, a file) and PostgreSQL (a `postgresql://` URL, for a registry shared by a
team or a cluster; needs `psycopg`). Only placeholders, the upsert and the claim lock differ.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
  heartbeat REAL
);
"""


@dataclass
class Claim:
    key: str
    name: str
    kind: str
    config: dict[str, Any]
    depends_on: list[str]
    attempt: int


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


class _Conn:
    """The few DB-API calls the registry makes, for sqlite3 and psycopg alike."""

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

    def execute(self, sql: str, params: tuple = ()):
        cur = self.con.cursor()
        cur.execute(self._sql(sql), params)
        if self.pg and sql == "BEGIN IMMEDIATE":  # serialise writers, as SQLite does
            cur.execute("LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE")
        return cur

    def executemany(self, sql: str, rows: list) -> None:
        self.con.cursor().executemany(self._sql(sql), rows)

    def close(self) -> None:
        self.con.close()


class Registry:
    def __init__(self, path: str | Path, *, lease_s: float = 60.0, max_attempts: int = 3):
        self.path = str(path)
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.host = socket.gethostname()
        if not self.path.startswith(("postgresql://", "postgres://")):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._create_schema()

    def _create_schema(self) -> None:
        """Create the table (idempotent). Sweeps started together on a new registry race
        here. SQLite: switching to WAL needs an exclusive lock and answers "database is
        locked" at once instead of waiting in its busy handler, so retry for up to a minute.
        PostgreSQL: concurrent CREATE TABLE IF NOT EXISTS collide on the catalog's unique
        index, so creation is serialised by an advisory lock (freed when the session ends)."""
        deadline, delay = time.monotonic() + 60.0, 0.01
        while True:
            con = self._connect()
            try:
                if con.pg:
                    con.execute("SELECT pg_advisory_lock(?)", (_PG_SCHEMA_LOCK,))
                    con.execute(SCHEMA.replace(" REAL", " DOUBLE PRECISION"))
                else:
                    con.execute("PRAGMA journal_mode=WAL")
                    con.con.executescript(SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            finally:
                con.close()
            time.sleep(delay)
            delay = min(2 * delay, 0.5)

    def _connect(self) -> _Conn:
        return _Conn(self.path)

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
        """Atomically take one runnable run (its dependencies done), or None."""
        now = time.time()
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            done = {k for (k,) in con.execute("SELECT key FROM runs WHERE status = 'done'")}
            rows = con.execute(
                "SELECT key, name, kind, config, depends_on, status, attempts, host, pid, "
                "heartbeat FROM runs WHERE status != 'done' ORDER BY created, key"
            ).fetchall()
            # Longest first (by estimated FLOPs): a pool then ends with short runs, not with
            # one worker busy on a large run while the others idle.
            rows.sort(key=lambda r: -estimated_cost(r[2], json.loads(r[3])))
            wanted = set(keys) if keys is not None else None
            for key, name, kind, config, deps, status, attempts, host, pid, hb in rows:
                if wanted is not None and key not in wanted:
                    continue
                if not set(json.loads(deps)) <= done:
                    continue
                if status == "running":
                    dead = (host == self.host and not _alive(pid)) or (
                        hb is not None and now - hb > self.lease_s
                    )
                    if not dead or attempts >= self.max_attempts:
                        continue
                if status == "failed" and attempts >= self.max_attempts:
                    continue
                con.execute(
                    "UPDATE runs SET status='running', attempts=attempts+1, host=?, pid=?, "
                    "started=?, heartbeat=? WHERE key=?",
                    (self.host, os.getpid(), now, now, key),
                )
                con.execute("COMMIT")
                return Claim(key, name, kind, json.loads(config), json.loads(deps), attempts + 1)
            con.execute("COMMIT")
            return None
        finally:
            con.close()

    def heartbeat(self, key: str) -> None:
        con = self._connect()
        try:
            con.execute(
                "UPDATE runs SET heartbeat=? WHERE key=? AND status='running' AND pid=?",
                (time.time(), key, os.getpid()),
            )
        finally:
            con.close()

    def complete(self, key: str, metrics: dict[str, Any], artifact: str | None = None) -> None:
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute(
                "UPDATE runs SET status='done', metrics=?, artifact=?, error=NULL, finished=? "
                "WHERE key=?",
                (json.dumps(metrics), artifact, time.time(), key),
            )
            con.execute("COMMIT")
        finally:
            con.close()

    def fail(self, key: str, error: str) -> None:
        con = self._connect()
        try:
            con.execute(
                "UPDATE runs SET status='failed', error=?, finished=? WHERE key=?",
                (error[-4000:], time.time(), key),
            )
        finally:
            con.close()

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

    def unfinished(self, keys: Iterable[str]) -> list[str]:
        """Keys (of `keys`) not done that can still finish: not out of attempts, and not
        behind a dependency that is out of attempts."""
        keys = set(keys)
        rows = {r["key"]: r for r in self.rows()}
        dead = {
            k
            for k, r in rows.items()
            if r["status"] == "failed" and r["attempts"] >= self.max_attempts
        }
        changed = True
        while changed:  # a run waiting on a dead run is dead too
            changed = False
            for k, r in rows.items():
                if k not in dead and r["status"] != "done" and set(r["depends_on"]) & dead:
                    dead.add(k)
                    changed = True
        return [k for k in keys if k in rows and rows[k]["status"] != "done" and k not in dead]
