"""Sweeps: a YAML spec expanded into runs, executed from a run registry, resumable.

Spec:

    name: ladder
    defaults: {context: 96, batch_size: 16, lr: 0.003, ft_steps: 20, n_test: 16}
    axes:                                  # product of every axis
      model: [{d_model: 32, n_layers: 1, n_heads: 2}, {d_model: 48, n_layers: 2, n_heads: 2}]
      pretrain_data: ["kjv:0.5,rv1909:0.5"]
      tokens: [30000, 60000]
      method: [none, fmt, lora, prompt]    # none = pretraining only
      finetune_size: [64]
      seed: [0]                            # pretraining seed; ft_seed: finetuning's
    exclude: [{method: prompt, tokens: 30000}]   # drop matching runs
    include: [{...one run...}]                    # add runs

Every finetuning run depends on the pretraining run of its (model, pretrain_data, tokens,
seed); include entries may add `depends_on: [names]`. Unknown axes, dependency cycles and
duplicate runs are errors before anything runs.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ScalingLabError
from .registry import Claim, Registry, StaleClaimError

log_ = logging.getLogger("scalinglab.sweep")

AXES = (
    "model",
    "pretrain_data",
    "tokens",
    "method",
    "finetune_size",
    "seed",
    "lora_rank",
    "prompt_length",
    "task",
    "ft_seed",  # finetuning seed (subset draw, init); default: the pretraining seed
    "ft_lr",
    "lr",
    "batch_size",
)
DEFAULTS = {
    "context": 192,
    "batch_size": 16,
    "lr": 3e-3,
    "ft_steps": 20,
    "ft_lr": 2e-3,
    "lora_rank": 4,
    "prompt_length": 16,
    "n_test": 16,
    "max_chars": 300_000,
    "cloze_items": 20,
    "seed": 0,
    "finetune_size": 64,
    "method": "none",
    "task": "translation_en_es",
    "tokenizer": "byte",
    "max_pair_bytes": None,  # None: what fits the context (bytes); set it to keep test sets equal
}
# Keys a spec may set that are not in DEFAULTS (so runs that do not set them keep their keys):
# compile -- torch.compile the pretraining step (GPU speed; same results up to float noise).
OPTIONAL_KEYS = ("compile",)
PRETRAIN_KEYS = (
    "model",
    "pretrain_data",
    "tokens",
    "seed",
    "context",
    "batch_size",
    "lr",
    "max_chars",
    "cloze_items",
    "tokenizer",
)


class SweepError(ScalingLabError, ValueError):
    """An invalid sweep spec (unknown axis, dependency cycle, duplicate run, ...)."""


@dataclass
class Run:
    key: str
    name: str
    kind: str  # "pretrain" or "finetune"
    config: dict[str, Any]
    depends_on: list[str]

    def as_row(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "kind": self.kind,
            "config": self.config,
            "depends_on": self.depends_on,
        }


def run_key(kind: str, config: Mapping[str, Any]) -> str:
    text = json.dumps({"kind": kind, **config}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _name(cfg: Mapping[str, Any], kind: str) -> str:
    m = cfg["model"]
    base = f"d{m['d_model']}L{m['n_layers']}-{cfg['pretrain_data']}-{cfg['tokens']}-s{cfg['seed']}"
    if kind == "pretrain":
        return f"pre-{base}"
    fs = f"-fs{cfg['ft_seed']}" if "ft_seed" in cfg else ""
    return f"ft-{base}-{cfg['method']}-{cfg['finetune_size']}{fs}"


SPECS_DIR = Path(__file__).parent / "specs"


def builtin_specs() -> list[str]:
    """Names of the sweep specs shipped with scalinglab (the `cpu` preset, ...)."""
    return sorted(p.stem for p in SPECS_DIR.glob("*.yaml"))


def _parse_yaml(p: Path) -> Any:
    """Plain YAML (safe_load: no Python objects); errors say file:line:column."""
    import yaml

    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SweepError(f"{p}: not a YAML spec (not UTF-8 text)") from None
    except OSError as exc:
        raise SweepError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(p)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        ctx, ctx_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if ctx and ctx_mark is not None and ctx_mark is not mark:
            problem += f" ({ctx} started at {ctx_mark.line + 1}:{ctx_mark.column + 1})"
        if isinstance(exc, yaml.constructor.ConstructorError) and "python/" in str(problem):
            problem = f"a Python tag (!!python/...) is not allowed in a plain-YAML spec ({problem})"
        raise SweepError(f"{where}: invalid YAML: {problem}") from None


def load_spec(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A spec from a mapping, a YAML file, or the name of a built-in spec ('cpu')."""
    if isinstance(source, Mapping):
        return dict(source)

    p = Path(source)
    if not p.exists() and str(source) in builtin_specs():
        p = SPECS_DIR / f"{source}.yaml"
    if not p.exists():
        raise SweepError(
            f"sweep spec not found: {p} (built-in specs: {', '.join(builtin_specs())})"
        )
    spec = _parse_yaml(p)
    if not isinstance(spec, dict):
        raise SweepError(f"{p}: a sweep spec must be a mapping")
    return spec


def with_defaults(spec: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The spec with some defaults replaced (`--set pretrain_data=text:/data/corpus`): every
    run that does not set the key on an axis of its grid takes the new value."""
    spec = dict(spec)
    if not overrides:
        return spec
    settable = {*DEFAULTS, *AXES, *OPTIONAL_KEYS} - {"model"}
    unknown = sorted(set(overrides) - settable)
    if unknown:
        raise SweepError(f"unknown setting {unknown}; settable: {', '.join(sorted(settable))}")
    spec["defaults"] = {**(spec.get("defaults") or {}), **overrides}
    return spec


def expand(spec: Mapping[str, Any]) -> list[Run]:
    """All runs of a spec, pretraining runs first, dependencies resolved and checked.

    A spec is one grid (`axes`, `exclude`) or several (`grids: [{axes, exclude}, ...]`, e.g. a
    pretraining ladder plus a finetuning grid on a few of its models); pretraining runs that
    several grids need are shared, a finetuning run listed twice is an error.
    """
    base = {**DEFAULTS, **(spec.get("defaults") or {})}
    grids = list(spec.get("grids") or [])
    if spec.get("axes") or not grids:
        grids.insert(0, {"axes": spec.get("axes"), "exclude": spec.get("exclude")})
    cfgs = [c for g in grids for c in _grid(g)]
    cfgs += [dict(c) for c in (spec.get("include") or [])]
    runs: dict[str, Run] = {}
    named: dict[str, str] = {}
    explicit: list[tuple[str, list[str]]] = []
    for c in cfgs:
        cfg = {**base, **{k: v for k, v in c.items() if k not in ("name", "depends_on")}}
        missing = [k for k in ("model", "pretrain_data", "tokens") if k not in cfg]
        if missing:
            raise SweepError(
                f"run {c} has no {' or '.join(missing)}: give it as an axis or in defaults"
            )
        pre_cfg = {k: cfg[k] for k in (*PRETRAIN_KEYS, *OPTIONAL_KEYS) if k in cfg}
        pre = Run(run_key("pretrain", pre_cfg), _name(cfg, "pretrain"), "pretrain", pre_cfg, [])
        if pre.key not in runs:
            runs[pre.key] = pre
        if cfg["method"] == "none":
            continue
        finetune_lr(cfg)  # a per-method mapping must cover this run's method
        run = Run(
            run_key("finetune", cfg),
            c.get("name") or _name(cfg, "finetune"),
            "finetune",
            cfg,
            [pre.key],
        )
        if run.key in runs:
            raise SweepError(f"duplicate run '{run.name}' (the same config appears twice)")
        runs[run.key] = run
        named[run.name] = run.key
        if c.get("depends_on"):
            explicit.append((run.key, list(c["depends_on"])))
    for key, deps in explicit:
        for d in deps:
            if d not in named:
                raise SweepError(f"run '{runs[key].name}' depends on unknown run '{d}'")
            runs[key].depends_on.append(named[d])
    return _topological(runs)


def finetune_seed(cfg: Mapping[str, Any]) -> int:
    """The finetuning seed (subset draw, initialisation): `ft_seed`, else the run's seed."""
    return cfg.get("ft_seed", cfg["seed"])


def finetune_lr(cfg: Mapping[str, Any]) -> float:
    """`ft_lr`: one rate, or one per method ({fmt: 3e-4, lora: 1e-3, prompt: 0.03}): the
    methods train very different parameters and want different rates."""
    lr = cfg["ft_lr"]
    if isinstance(lr, Mapping):
        if cfg["method"] not in lr:
            raise SweepError(
                f"ft_lr {dict(lr)} has no rate for method '{cfg['method']}' "
                f"(run {_name(cfg, 'finetune')})"
            )
        lr = lr[cfg["method"]]
    return float(lr)


def _grid(grid: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The product of a grid's axes, less the combinations an `exclude` entry matches."""
    extra = sorted(set(grid) - {"axes", "exclude"})
    if extra:
        raise SweepError(f"unknown grid key {extra}; a grid has 'axes' and 'exclude'")
    axes = dict(grid.get("axes") or {})
    unknown = sorted(set(axes) - set(AXES))
    if unknown:
        raise SweepError(f"unknown sweep axis {unknown}; known axes: {', '.join(AXES)}")
    for k, v in axes.items():
        if not isinstance(v, list) or not v:
            raise SweepError(f"axis '{k}' must be a non-empty list")
    combos = [dict(zip(axes, vals, strict=True)) for vals in itertools.product(*axes.values())]
    excl = grid.get("exclude") or []
    return [c for c in combos if not any(all(c.get(k) == v for k, v in e.items()) for e in excl)]


def _topological(runs: dict[str, Run]) -> list[Run]:
    order, state = [], {}

    def visit(k: str, path: list[str]) -> None:
        if state.get(k) == 2:
            return
        if state.get(k) == 1:
            cycle = " -> ".join(runs[x].name for x in [*path[path.index(k) :], k])
            raise SweepError(f"dependency cycle: {cycle}")
        state[k] = 1
        for d in runs[k].depends_on:
            visit(d, [*path, k])
        state[k] = 2
        order.append(runs[k])

    for k in runs:
        visit(k, [])
    return order


def plan(
    runs: list[Run], tokens_per_s: float = 20_000.0, tflops: float | None = None
) -> list[dict[str, Any]]:
    """Per run: estimated training FLOPs (6 N D, N non-embedding, as exported) and time.

    Time: on one CPU worker at `tokens_per_s` per 1M parameters, or, given `tflops`, at that
    sustained rate (e.g. 400 for an H100 at 40% MFU in bf16) from the model's FLOPs per
    token (output projection and attention included).
    """
    from .model import GPTConfig

    out = []
    for r in runs:
        vocab = _vocab_size(r.config.get("tokenizer", "byte"))
        m = GPTConfig(vocab_size=vocab, context=r.config["context"], **r.config["model"])
        n = m.non_embedding_params
        tokens = (
            r.config["tokens"]
            if r.kind == "pretrain"
            else r.config["ft_steps"] * r.config["batch_size"] * 100
        )
        flops = 6.0 * n * tokens
        if tflops:
            seconds = m.flops_per_token() * tokens / (tflops * 1e12)
        else:
            seconds = tokens / (tokens_per_s * max(1.0, 1e6 / max(n, 1)) ** 0.5)
        out.append(
            {
                "name": r.name,
                "kind": r.kind,
                "key": r.key,
                "n_params_nonembedding": n,
                "tokens": tokens,
                "flops": flops,
                "est_seconds": seconds,
            }
        )
    return out


def _vocab_size(tokenizer: str) -> int:
    """The vocabulary a tokenizer spec gives, without building it (bytes + specials, bpe:N)."""
    from .data import ByteTokenizer

    if tokenizer.startswith("bpe:"):
        return int(tokenizer.split(":", 1)[1])
    return ByteTokenizer.vocab_size


# -- execution -------------------------------------------------------------------------------
def _atomic_save(obj: Any, path: Path) -> None:
    """torch.save through scalinglab's one safe writer: a uniquely named temporary file
    (never a predictable `.tmp` a planted link could redirect), fsynced and renamed."""
    import torch

    from ..io.safe_write import atomic_write

    with atomic_write(path, "wb") as fh:
        torch.save(obj, fh)


def execute(
    claim: Claim, dep: dict[str, Any] | None, artifacts: Path
) -> tuple[dict[str, Any], str | None]:
    """Run one claimed run; returns (metrics, artifact path). `dep` is the registry row of
    the pretraining run a finetuning run depends on (artifact path and metrics)."""
    import torch

    from .corpora import corpus_text, parse_mixture
    from .data import cloze_items, get_tokenizer, token_stream
    from .evaluate import bleu_score, chrf_score, cloze_accuracy, translate
    from .model import GPT, GPTConfig
    from .train import TrainConfig, finetune, pick_device, pretrain, target_ce

    c = claim.config
    dev = pick_device()
    tok = get_tokenizer(c.get("tokenizer", "byte"))
    cfg = GPTConfig(vocab_size=tok.vocab_size, context=c["context"], **c["model"])
    if claim.kind == "pretrain":
        train, val = token_stream(c["pretrain_data"], tok, c["max_chars"])
        res = pretrain(
            cfg,
            train,
            val,
            c["tokens"],
            TrainConfig(
                batch_size=c["batch_size"],
                lr=c["lr"],
                seed=c["seed"],
                compile=bool(c.get("compile", False)),  # a spec key only where set
            ),
            device=str(dev),
        )
        first = next(iter(parse_mixture(c["pretrain_data"])))
        text = corpus_text(first)
        items = cloze_items(text[int(len(text) * 0.95) :], n=c["cloze_items"], seed=0)
        path = (artifacts / f"{claim.key}.pt").resolve()  # absolute: resumable from any cwd
        _atomic_save({"config": cfg.to_dict(), "state": res.model.state_dict()}, path)
        return {
            "n_params": res.model.n_params(),
            "n_params_nonembedding": res.model.n_params(non_embedding=True),
            "tokens": res.history[-1]["tokens"],
            "unique_tokens": int(len(train)),  # tokens / unique_tokens = epochs of the data
            "loss": res.history[-1]["val_loss"],
            "accuracy": cloze_accuracy(res.model, items, tok, dev),
            "wall_time_s": res.wall_time_s,
            "tokens_per_s": res.tokens_per_s,
            "device": dev.type,
        }, str(path)
    ckpt = torch.load(dep["artifact"], map_location="cpu")
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state"])
    task = _fitting_task(
        c.get("task", "translation_en_es"),
        c.get("max_pair_bytes") or c["context"] - c["prompt_length"],
        c.get("tokenizer", "byte"),
        c["context"] - c["prompt_length"],
    )
    test = task.test[: c["n_test"]]
    t0 = time.perf_counter()
    tuned = finetune(
        model,
        c["method"],
        task.subset(c["finetune_size"], finetune_seed(c)),
        task.dev[:64],
        tok,
        steps=c["ft_steps"],
        lr=finetune_lr(c),
        batch=c["batch_size"],
        lora_rank=c["lora_rank"],
        prompt_length=c["prompt_length"],
        eval_every=max(5, c["ft_steps"] // 4),
        seed=finetune_seed(c),
        device=str(dev),
    )
    hyps = translate(tuned, [s for s, _ in test], tok, dev)
    refs = [t for _, t in test]
    return {
        "downstream_ce": target_ce(tuned, test, tok, c["batch_size"], dev),
        "bleu": bleu_score(hyps, refs),
        "chrf": chrf_score(hyps, refs),
        "trainable_params": tuned.trainable,
        "wall_time_s": time.perf_counter() - t0,
        **{
            k: dep["metrics"][k]
            for k in ("n_params", "n_params_nonembedding", "tokens", "unique_tokens")
            if k in dep["metrics"]
        },
        "pretrain_loss": dep["metrics"]["loss"],
        "device": dev.type,
    }, None


@functools.lru_cache(maxsize=4)
def _fitting_task(task: str, max_pair_bytes: int, tokenizer: str, max_len: int):
    """A task's pairs that fit the context in tokens; built once per worker process (a
    worker runs dozens of finetuning runs on the same task; tokenizing 30k pairs takes
    seconds). Read-only: runs slice it and draw subsets from it."""
    from .data import get_task, get_tokenizer

    return get_task(task)(max_pair_bytes=max_pair_bytes).fitting(get_tokenizer(tokenizer), max_len)


def dependency_row(reg: Registry, claim: Claim) -> dict[str, Any] | None:
    """The registry row of the run `claim` depends on, its artifact path absolute."""
    if not claim.depends_on:
        return None
    row = next(r for r in reg.rows() if r["key"] == claim.depends_on[0])
    row["artifact"] = artifact_path(reg, row["artifact"])
    return row


def artifact_path(reg: Registry, artifact: str | None) -> str | None:
    """An artifact path as stored, made absolute. Sweeps store absolute paths; registries
    from earlier releases stored them relative to the sweep's working directory, which was
    usually the registry's folder: such a path is taken from the working directory if it
    exists there, else from the registry's folder."""
    if not artifact or os.path.isabs(artifact) or "://" in reg.path:
        return artifact
    here = Path(artifact).resolve()
    if here.exists():
        return str(here)
    beside = Path(reg.path).resolve().parent / artifact
    return str(beside if beside.exists() else here)


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


def _ray_task(claim: Claim, dep: dict[str, Any] | None, artifacts: str, threads: int):
    import torch

    torch.set_num_threads(threads)
    Path(artifacts).mkdir(parents=True, exist_ok=True)
    return execute(claim, dep, Path(artifacts).resolve())


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
    every node can read (a shared filesystem on a real cluster)."""
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

    exit_with_parent: the local executor's workers stop when the process that spawned them
    dies, even by SIGKILL, rather than train on unseen (their run is reclaimed on resume, as
    after any crash: its pid is gone)."""
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
            metrics, artifact = execute(claim, dependency_row(reg, claim), art)
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


def _local_workers(
    procs: list[Any], reg: Registry, keys: list[str], workers: int, progress: Any
) -> None:
    """Start the worker processes and watch the registry until they finish. SIGTERM or an
    exception here (Ctrl-C in a notebook) terminates the workers too: none is left training."""
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

    options: submitit parameters, e.g. {"slurm_partition": "gpu", "timeout_min": 240,
    "gpus_per_node": 1}; "cluster": "local" runs the jobs as local processes (tests) and
    "folder" sets where submitit keeps logs (default: beside the artifacts)."""
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
    """
    runs = expand(load_spec(spec))
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
    _local_workers(procs, reg, keys, max(1, workers), progress)
    if progress is not None:
        progress(eta(reg, keys, max(1, workers)))
    return reg


def summary(reg: Registry, keys: list[str] | None = None) -> dict[str, Any]:
    """How a sweep ended: counts per status of `keys` (all runs when None), whether every
    one is done, and the failed runs with their attempts and the last line of their error."""
    wanted = set(keys) if keys is not None else None
    rows = [r for r in reg.rows() if wanted is None or r["key"] in wanted]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    failed = [
        {
            "name": r["name"],
            "attempts": r["attempts"],
            "error": ((r["error"] or "").strip().splitlines() or [""])[-1],
        }
        for r in rows
        if r["status"] == "failed"
    ]
    return {
        "total": len(rows),
        "counts": counts,
        "all_done": counts.get("done", 0) == len(rows),
        "failed": failed,
    }


def eta(reg: Registry, keys: list[str] | None = None, workers: int = 1) -> dict[str, Any]:
    """Counts and an estimate of the time left: mean wall time of done runs of each kind
    times the runs of that kind still to do, divided by the workers."""
    rows = [r for r in reg.rows() if keys is None or r["key"] in set(keys)]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    left = 0.0
    for kind in ("pretrain", "finetune"):
        done = [
            r["finished"] - r["started"]
            for r in rows
            if r["kind"] == kind and r["status"] == "done" and r["finished"] and r["started"]
        ]
        todo = sum(1 for r in rows if r["kind"] == kind and r["status"] != "done")
        if todo and done:
            left += todo * float(sum(done) / len(done))
    return {"total": len(rows), "counts": counts, "eta_s": left / workers if left else None}


def export(registry: str | Path, path: str | Path | None = None, keys: list[str] | None = None):
    """Done runs as rows in the scalinglab schema (config and metrics flattened); `keys`:
    only those runs (e.g. a spec's, when the registry also holds runs of earlier specs)."""
    import pandas as pd

    rows = []
    wanted = set(keys) if keys is not None else None
    for r in Registry(registry, create=False).rows():  # a mistyped path is an error
        if r["status"] != "done" or (wanted is not None and r["key"] not in wanted):
            continue
        c = r["config"]
        row = {
            "run_id": r["name"],
            "key": r["key"],
            "kind": r["kind"],
            "d_model": c["model"]["d_model"],
            "n_layers": c["model"]["n_layers"],
            "pretrain_data": c["pretrain_data"],
            "tokenizer": c.get("tokenizer", "byte"),
            "seed": finetune_seed(c),
            "pretrain_seed": c["seed"],
            "method": c.get("method", "none") if r["kind"] == "finetune" else "none",
        }
        if r["kind"] == "finetune":
            row.update(
                finetune_size=c["finetune_size"],
                lora_rank=c["lora_rank"] if c["method"] == "lora" else None,
                prompt_length=c["prompt_length"] if c["method"] == "prompt" else None,
            )
        row.update(r["metrics"] or {})
        if "n_params_nonembedding" in row and "tokens" in row:
            row["flops"] = 6.0 * row["n_params_nonembedding"] * row["tokens"]  # pretraining
        if row.get("unique_tokens"):  # repeated data bends L(N, D) (Muennighoff et al. 2023)
            row["epochs"] = row["tokens"] / row["unique_tokens"]
        rows.append(row)
    df = pd.DataFrame(rows)
    if path is not None:
        from ..io.tables import write_table

        write_table(df, path)
    return df
