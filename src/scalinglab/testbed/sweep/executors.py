"""Where runs execute: local processes, Ray tasks or SLURM jobs (submitit), all claiming
from one registry; `run_sweep` registers a spec's runs and hands them to one."""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..registry import Claim, Registry
from . import patch_points
from .grid import expand
from .loop import _record, _record_failure, dependency_row, log_, worker
from .results import eta
from .spec import SweepError, load_spec
from .validate import check_finetune_sizes


def _ray_task(claim: Claim, dep: dict[str, Any] | None, artifacts: str, threads: int):
    import torch

    torch.set_num_threads(threads)
    Path(artifacts).mkdir(parents=True, exist_ok=True)
    return patch_points.execute(claim, dep, Path(artifacts).resolve())


def ray_driver(
    reg: Registry,
    keys: list[str],
    artifacts: str,
    *,
    address: str | None,
    cpus_per_run: int = 1,
    gpus_per_run: float = 0,
    num_cpus: int | None = None,
    log: str | None = None,
) -> int:
    """Each run a Ray task with declared CPUs/GPUs; the driver claims runs, heartbeats them
    while they are in flight and records results in its registry. Artifacts go to a path
    every node can read (a shared filesystem on a real cluster).

    Parameters
    ----------
    reg : Registry
        The sweep's registry.
    keys : list of str
        The runs to execute.
    artifacts : str
        Artifact folder, readable from every node.
    address : str or None
        Ray cluster to join (``"auto"``: an existing one); None starts a local one unless
        Ray is already initialised.
    cpus_per_run : int
        CPUs a task declares (and its torch threads).
    gpus_per_run : float
        GPUs a task declares.
    num_cpus : int or None
        CPUs of a local cluster started here; None: Ray's default.
    log : str or None
        File to append each recorded run's key to; None: none.

    Returns
    -------
    int
        Runs executed and recorded by this driver.
    """
    import ray

    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=num_cpus,
            ignore_reinit_error=True,
            include_dashboard=False,
            log_to_driver=False,
        )
    task = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus_per_run)(_ray_task)
    slots = max(1, int(ray.cluster_resources().get("CPU", 1) // max(cpus_per_run, 1)))
    inflight: dict[Any, Claim] = {}
    ran = 0
    while True:
        while len(inflight) < slots:
            claim = reg.claim(keys)
            if claim is None:
                break
            ref = task.remote(claim, dependency_row(reg, claim), artifacts, cpus_per_run)
            inflight[ref] = claim
        if not inflight:
            if not reg.unfinished(keys):
                return ran
            time.sleep(0.2)
            continue
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=max(1.0, reg.lease_s / 3))
        for c in inflight.values():
            reg.heartbeat(c)  # False once taken over: its result is then discarded below
        for ref in ready:
            claim = inflight.pop(ref)
            try:
                metrics, artifact = ray.get(ref)
            except Exception:
                _record_failure(reg, claim, traceback.format_exc())
                continue
            if not _record(reg, claim, metrics, artifact):
                continue
            ran += 1
            if log:
                with open(log, "a") as fh:
                    fh.write(claim.key + "\n")


def slurm_workers(
    reg: Registry,
    keys: list[str],
    registry: str,
    artifacts: str,
    workers: int,
    threads: int,
    lease_s: float,
    log: str | None,
    options: Mapping[str, Any],
) -> None:
    """`workers` SLURM jobs (one submitit job array), each a registry worker like the local
    pool's. The registry and artifacts must be on a filesystem the nodes share (or the
    registry a PostgreSQL URL); a job killed by the scheduler leaves its run to the lease.

    Parameters
    ----------
    reg : Registry
        The sweep's registry, checked for runs left when a job fails.
    keys : list of str
        The runs to execute.
    registry : str
        The registry's path or URL as the jobs open it.
    artifacts : str
        Artifact folder on the shared filesystem.
    workers : int
        Jobs in the array (at least 1).
    threads : int
        CPUs per job and torch threads of its worker.
    lease_s : float
        Lease of a claim.
    log : str or None
        File to append each recorded run's key to; None: none.
    options : Mapping
        submitit parameters, e.g. ``{"slurm_partition": "gpu", "timeout_min": 240,
        "gpus_per_node": 1}``; ``"cluster": "local"`` runs the jobs as local processes
        (tests) and ``"folder"`` sets where submitit keeps logs (default: beside the
        artifacts).

    Raises
    ------
    SweepError
        submitit is not installed, or jobs failed and runs are left.
    """
    try:
        import submitit
    except ImportError:
        raise SweepError(
            "the slurm executor needs submitit: pip install 'scalinglab[slurm]'"
        ) from None
    opts = dict(options)
    folder = opts.pop("folder", str(Path(artifacts) / "slurm-logs" / "%j"))
    ex = submitit.AutoExecutor(folder=folder, cluster=opts.pop("cluster", None))
    ex.update_parameters(
        **{"timeout_min": 24 * 60, "cpus_per_task": threads, "name": "scalinglab-sweep", **opts}
    )
    n = max(1, workers)
    jobs = ex.map_array(
        worker, [registry] * n, [artifacts] * n, [keys] * n, [threads] * n, [lease_s] * n, [log] * n
    )
    errors = []
    for job in jobs:
        try:
            job.result()
        except Exception as exc:  # noqa: BLE001 (a worker job that died: its runs are retried)
            errors.append(f"job {job.job_id}: {exc}")
    if errors and reg.unfinished(keys):
        raise SweepError("SLURM workers failed with runs left:\n" + "\n".join(errors))


def run_sweep(
    spec: str | Path | Mapping[str, Any],
    registry: str | Path,
    artifacts: str | Path,
    *,
    workers: int = 1,
    threads: int = 1,
    lease_s: float = 60.0,
    log: str | None = None,
    executor: str = "local",
    address: str | None = None,
    gpus_per_run: float = 0,
    num_cpus: int | None = None,
    progress: Any = None,
    slurm: Mapping[str, Any] | None = None,
) -> Registry:
    """Register the spec's runs and execute everything not yet done (resume = run again).

    executor="local": `workers` processes (spawned), each with `threads` torch threads,
    claiming runs from the registry. executor="ray": one Ray task per run on the cluster at
    `address` ("auto" for an existing one; None starts a local one with `num_cpus`).
    executor="slurm": `workers` SLURM jobs through submitit (`slurm`: its parameters).

    Parameters
    ----------
    spec : str, Path or Mapping
        The sweep spec (`load_spec`: a mapping, a YAML file or a built-in name).
    registry : str or Path
        Registry of the runs (SQLite path, created if missing, or PostgreSQL URL).
    artifacts : str or Path
        Folder for checkpoints and translations.
    workers : int
        Worker processes (local) or SLURM jobs.
    threads : int
        Torch threads per worker (Ray: CPUs per task).
    lease_s : float
        Lease of a claim: a run whose worker stops heartbeating is reclaimed after it.
    log : str or None
        File to append each recorded run's key to (tests, audits); None: none.
    executor : str
        ``"local"``, ``"ray"`` or ``"slurm"``.
    address : str or None
        Ray cluster address (Ray only).
    gpus_per_run : float
        GPUs per Ray task.
    num_cpus : int or None
        CPUs of a local Ray cluster started here.
    progress : callable or None
        Local executor: called about every second with `eta`'s dict, and once at the end.
    slurm : Mapping or None
        submitit parameters (`slurm_workers`'s `options`).

    Returns
    -------
    Registry
        The registry; `summary` and `export` read what the sweep produced.

    Raises
    ------
    SweepError
        An invalid spec, an unknown executor, or a missing Ray or submitit.
    """
    runs = expand(load_spec(spec))
    for note in check_finetune_sizes(runs):
        log_.warning(note)
    # Absolute paths: workers (SLURM jobs, Ray tasks) may start elsewhere, and a resume from
    # another directory must find the artifacts the registry names.
    artifacts = Path(artifacts).resolve()
    if not str(registry).startswith(("postgresql://", "postgres://")):
        registry = Path(registry).resolve()
    reg = Registry(registry, lease_s=lease_s)
    reg.register(r.as_row() for r in runs)
    keys = [r.key for r in runs]
    if executor == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise SweepError("the ray executor needs Ray: pip install 'scalinglab[ray]'") from None
        ray_driver(
            reg,
            keys,
            str(artifacts),
            address=address,
            cpus_per_run=threads,
            gpus_per_run=gpus_per_run,
            num_cpus=num_cpus,
            log=log,
        )
        return reg
    if executor == "slurm":
        slurm_workers(
            reg, keys, str(registry), str(artifacts), workers, threads, lease_s, log, slurm or {}
        )
        return reg
    if executor != "local":
        raise SweepError(f"unknown executor '{executor}'; choose local, ray or slurm")
    import multiprocessing as mp

    args = (str(registry), str(artifacts), keys, threads, lease_s, log)
    if workers <= 1 and progress is None:
        worker(*args)
        return reg
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=worker, args=args, kwargs={"exit_with_parent": True})
        for _ in range(max(1, workers))
    ]
    patch_points._local_workers(procs, reg, keys, max(1, workers), progress)
    if progress is not None:
        progress(eta(reg, keys, max(1, workers)))
    return reg
