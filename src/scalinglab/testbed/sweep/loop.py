"""The worker loop: claim a run, heartbeat it while it executes, record its result or
failure (fenced: only while the claim is still this worker's), until none is left."""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from ..registry import Claim, Registry, StaleClaimError
from . import patch_points
from .results import artifact_path

log_ = logging.getLogger("scalinglab.sweep")


def dependency_row(reg: Registry, claim: Claim) -> dict[str, Any] | None:
    """The registry row of the run `claim` depends on, its artifact path absolute.

    Parameters
    ----------
    reg : Registry
        The sweep's registry.
    claim : Claim
        A claimed run.

    Returns
    -------
    dict or None
        The row of its first dependency (config, metrics, artifact); None when it has none.
    """
    if not claim.depends_on:
        return None
    row = next(r for r in reg.rows() if r["key"] == claim.depends_on[0])
    row["artifact"] = artifact_path(reg, row["artifact"])
    return row


def _record(reg: Registry, claim: Claim, metrics: dict[str, Any], artifact: str | None) -> bool:
    """Store a finished run's result; False (logged, nothing written) when another worker
    took the run over while this one was paused past its lease."""
    try:
        reg.complete(claim, metrics, artifact)
    except StaleClaimError as exc:
        log_.warning(
            "run %s was taken over by another worker; result discarded (%s)", claim.name, exc
        )
        return False
    return True


def _record_failure(reg: Registry, claim: Claim, error: str) -> None:
    """Store a run's failure, unless another worker took the run over (then: logged)."""
    try:
        reg.fail(claim, error)
    except StaleClaimError as exc:
        log_.warning(
            "run %s was taken over by another worker; its failure discarded (%s)",
            claim.name,
            exc,
        )


def worker(
    registry_path: str,
    artifacts: str,
    keys: list[str],
    threads: int = 1,
    lease_s: float = 60.0,
    log: str | None = None,
    exit_with_parent: bool = False,
) -> int:
    """Claim and execute runs until none of `keys` is left; returns how many it ran.

    Parameters
    ----------
    registry_path : str
        The registry (SQLite path or PostgreSQL URL).
    artifacts : str
        Folder for checkpoints and translations (created; stored as absolute paths).
    keys : list of str
        The runs this worker may claim.
    threads : int
        Torch threads of this process.
    lease_s : float
        Lease of a claim; the worker heartbeats every third of it.
    log : str or None
        File to append each recorded run's key to (tests, audits); None: none.
    exit_with_parent : bool
        Stop when the process that spawned this one dies, even by SIGKILL, rather than
        train on unseen (the run is reclaimed on resume, as after any crash: its pid is
        gone). The local executor's workers set it.

    Returns
    -------
    int
        Runs this worker executed and recorded (failures and runs taken over not counted).
    """
    import torch

    if exit_with_parent:
        _exit_with_parent()
    torch.set_num_threads(threads)
    reg = Registry(registry_path, lease_s=lease_s)
    art = Path(artifacts).resolve()  # artifact paths are stored absolute
    art.mkdir(parents=True, exist_ok=True)
    ran = 0
    while True:
        claim = reg.claim(keys)
        if claim is None:
            if not reg.unfinished(keys):
                return ran
            time.sleep(0.2)  # waiting on dependencies held by another worker
            continue
        stop = threading.Event()

        def beat(claim: Claim = claim, stop: threading.Event = stop) -> None:
            while not stop.wait(max(1.0, lease_s / 3)):
                if not reg.heartbeat(claim):  # taken over: its result will be discarded
                    return

        t = threading.Thread(target=beat, daemon=True)
        t.start()
        try:
            metrics, artifact = patch_points.execute(claim, dependency_row(reg, claim), art)
        except Exception:  # a failing run is recorded with its error and retried later
            stop.set()
            _record_failure(reg, claim, traceback.format_exc())
            continue
        stop.set()
        if not _record(reg, claim, metrics, artifact):
            continue
        ran += 1
        if log:  # for tests and audits: every execution whose result was recorded, durably
            with open(log, "a") as fh:
                fh.write(claim.key + "\n")
                fh.flush()
                os.fsync(fh.fileno())


def _exit_with_parent() -> None:
    """A daemon thread that ends this spawned process as soon as its parent has exited."""
    import multiprocessing as mp

    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's sentinel closes: it has exited
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()
