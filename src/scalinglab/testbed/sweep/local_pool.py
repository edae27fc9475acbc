"""The local executor's pool: start the worker processes and watch the registry until they
finish (`run_sweep` with executor="local" and more than one worker, or a progress line)."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from ..registry import Registry
from .results import eta


def _local_workers(
    procs: list[Any], reg: Registry, keys: list[str], workers: int, progress: Any
) -> None:
    """Start the worker processes and watch the registry until they finish. SIGTERM or an
    exception here (Ctrl-C in a notebook) terminates the workers too: none is left training.

    Parameters
    ----------
    procs : list
        The unstarted worker processes (`multiprocessing.Process`).
    reg : Registry
        The sweep's registry, read for progress.
    keys : list of str
        The sweep's run keys.
    workers : int
        Number of workers, to divide the time left by.
    progress : callable or None
        Called about every second with `eta`'s dict; None: no progress.
    """
    import signal

    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    if main:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        for p in procs:
            p.start()
        while any(p.is_alive() for p in procs):  # the parent only watches the registry
            if progress is not None:
                progress(eta(reg, keys, workers))
            time.sleep(1.0)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            if p.pid is not None:
                p.join()
        if main and previous is not None:
            signal.signal(signal.SIGTERM, previous)
