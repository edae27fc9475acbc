"""A spec expanded into runs: the product of each grid's axes, exclusions, includes, the
pretraining run each finetuning run depends on, in dependency order."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .spec import AXES, DEFAULTS, OPTIONAL_KEYS, PRETRAIN_KEYS, SweepError
from .validate import check_run, validate


@dataclass
class Run:
    """One run of an expanded spec, as the registry stores it.

    Attributes
    ----------
    key : str
        `run_key` of its kind and config: the same run gets the same key in every spec.
    name : str
        Readable name (model, data, budget, seed, method, ...), unique in the sweep.
    kind : str
        ``"pretrain"`` or ``"finetune"``.
    config : dict
        Every setting the run executes with (defaults filled in).
    depends_on : list of str
        Keys of the runs it needs first (a finetuning run: its pretraining run).
    """

    key: str
    name: str
    kind: str  # "pretrain" or "finetune"
    config: dict[str, Any]
    depends_on: list[str]

    def as_row(self) -> dict[str, Any]:
        """The run as a row for `Registry.register`."""
        return {
            "key": self.key,
            "name": self.name,
            "kind": self.kind,
            "config": self.config,
            "depends_on": self.depends_on,
        }


def run_key(kind: str, config: Mapping[str, Any]) -> str:
    """A run's identity: a hash of its kind and config, so a resumed or re-expanded sweep
    finds the runs it registered before.

    Parameters
    ----------
    kind : str
        ``"pretrain"`` or ``"finetune"``.
    config : Mapping
        The run's settings; key order does not matter.

    Returns
    -------
    str
        The first 16 hex digits of the SHA-256 of both as sorted JSON.
    """
    text = json.dumps({"kind": kind, **config}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _name(cfg: Mapping[str, Any], kind: str) -> str:
    """A readable name: model, data, budget, seed; for finetuning the method with its own size
    (LoRA rank `r`, prompt length `p`: three LoRA ranks were all `ft-...-lora-250`), the
    finetuning size and seed. Other keys that tell runs apart are added by `_disambiguate`."""
    m = cfg["model"]
    base = f"d{m['d_model']}L{m['n_layers']}-{cfg['pretrain_data']}-{cfg['tokens']}-s{cfg['seed']}"
    if kind == "pretrain":
        return f"pre-{base}"
    fs = f"-fs{cfg['ft_seed']}" if "ft_seed" in cfg else ""
    size = {"lora": f"-r{cfg['lora_rank']}", "prompt": f"-p{cfg['prompt_length']}"}
    return f"ft-{base}-{cfg['method']}{size.get(cfg['method'], '')}-{cfg['finetune_size']}{fs}"


# Keys that may tell two runs of one name apart, with their short tags in a name.
_NAME_TAGS = {
    "task": "",
    "ft_lr": "flr",
    "lr": "lr",
    "batch_size": "bs",
    "context": "ctx",
    "tokenizer": "",
    "max_chars": "mc",
    "ft_steps": "st",
    "n_test": "nt",
    "cloze_items": "ci",
    "max_pair_bytes": "mpb",
    "lora_rank": "r",
    "prompt_length": "p",
    "compile": "compile",
}


def _disambiguate(runs: list[Run]) -> None:
    """Runs sharing a name get the keys that differ among them appended (`-lr0.001`), so
    every name in a sweep is one run; a name unique in the spec is left as it is."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(r.name, []).append(r)
    for group in groups.values():
        if len(group) < 2:
            continue
        keys = [
            k
            for k in _NAME_TAGS
            if len({json.dumps(r.config.get(k), sort_keys=True, default=str) for r in group}) > 1
        ]
        for r in group:
            tags = [f"{_NAME_TAGS[k]}{_tag_value(r.config.get(k))}" for k in keys]
            r.name = "-".join([r.name, *tags])


def _tag_value(v: Any) -> str:
    if isinstance(v, Mapping):
        return "/".join(f"{k}{v[k]}" for k in sorted(v))
    return str(v)


def expand(spec: Mapping[str, Any]) -> list[Run]:
    """All runs of a spec, pretraining runs first, dependencies resolved and checked.

    A spec is one grid (`axes`, `exclude`) or several (`grids: [{axes, exclude}, ...]`, e.g. a
    pretraining ladder plus a finetuning grid on a few of its models); pretraining runs that
    several grids need are shared, a finetuning run listed twice is an error.

    Parameters
    ----------
    spec : Mapping
        A loaded spec (`load_spec`): `defaults`, `axes`/`exclude` or `grids`, `include`.

    Returns
    -------
    list of Run
        Every run, each after the runs it depends on.

    Raises
    ------
    SweepError
        An invalid spec, a run without model, data or tokens, a duplicate run, an unknown
        dependency or a dependency cycle.
    """
    validate(spec)  # types, ranges, names and the run count, before anything is multiplied out
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
        _resolve_tokens_per_param(cfg, c)
        missing = [k for k in ("model", "pretrain_data", "tokens") if k not in cfg]
        if missing:
            raise SweepError(
                f"run {c} has no {' or '.join(missing)}: give it as an axis or in defaults"
            )
        check_run(
            cfg, c.get("name") or _name(cfg, "finetune" if cfg["method"] != "none" else "pretrain")
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
    given = {c["name"] for c in cfgs if c.get("name")}  # names a spec wrote stay as written
    _disambiguate([r for r in runs.values() if r.name not in given])
    for key, deps in explicit:
        for d in deps:
            if d not in named:
                raise SweepError(f"run '{runs[key].name}' depends on unknown run '{d}'")
            runs[key].depends_on.append(named[d])
    return _topological(runs)


def _resolve_tokens_per_param(cfg: dict[str, Any], own: Mapping[str, Any]) -> None:
    """`tokens_per_param` (M, Gadre et al.'s over-training ratio) becomes the run's `tokens`:
    M x its model's non-embedding parameters, rounded to two significant figures so that a
    budget a `tokens` axis already lists (M = 20 for the 100k model: 2.0M) is the same run.
    M set on the run itself (its grid's axis, its include entry) wins over a `tokens`
    default; both on one run is an error. The export reports the M actually trained."""
    if "tokens_per_param" not in cfg:
        return
    m = cfg.pop("tokens_per_param")
    if "tokens_per_param" in own and "tokens" in own:
        raise SweepError(f"run {dict(own)} sets both tokens and tokens_per_param; give one of them")
    if "tokens" in own:  # the run's own budget wins over an M default
        return
    from ..model import GPTConfig

    if "model" not in cfg:
        return  # reported as a missing model by the caller
    n = GPTConfig(
        vocab_size=_vocab_size(str(cfg.get("tokenizer", "byte"))),
        context=cfg["context"],
        **cfg["model"],
    ).non_embedding_params
    cfg["tokens"] = _two_significant(float(m) * n)


def _vocab_size(tokenizer: str) -> int:
    """The vocabulary a tokenizer spec gives, without building it (bytes + specials, bpe:N)."""
    from ..data import ByteTokenizer

    if tokenizer.startswith("bpe:"):
        return int(tokenizer.split(":", 1)[1])
    return ByteTokenizer.vocab_size


def _two_significant(x: float) -> int:
    if x <= 0:
        return 0
    digits = int(math.floor(math.log10(x))) - 1
    return int(round(x / 10**digits) * 10**digits)


def finetune_seed(cfg: Mapping[str, Any]) -> int:
    """The finetuning seed (subset draw, initialisation): `ft_seed`, else the run's seed.

    Parameters
    ----------
    cfg : Mapping
        A finetuning run's config.

    Returns
    -------
    int
        The seed.
    """
    return cfg.get("ft_seed", cfg["seed"])


def finetune_steps(cfg: Mapping[str, Any]) -> int:
    """Optimizer steps of a finetuning run: `ft_epochs` passes over its `finetune_size` pairs
    when set, else `ft_steps`. With a fixed step count every size gets the same updates, and
    a method that cannot overfit (a 16-vector soft prompt) scores the same on 250 pairs as on
    4,000: D_f then measures nothing (issue 20: prompt CE 6.0809 vs 6.0810).

    Parameters
    ----------
    cfg : Mapping
        A finetuning run's config (`ft_steps`, or `ft_epochs`, `finetune_size`, `batch_size`).

    Returns
    -------
    int
        The number of steps, at least 1 when `ft_epochs` is set.
    """
    epochs = cfg.get("ft_epochs")
    if epochs is None:
        return int(cfg["ft_steps"])
    return max(1, math.ceil(float(epochs) * cfg["finetune_size"] / cfg["batch_size"]))


def finetune_lr(cfg: Mapping[str, Any]) -> float:
    """`ft_lr`: one rate, or one per method ({fmt: 3e-4, lora: 1e-3, prompt: 0.03}): the
    methods train very different parameters and want different rates.

    Parameters
    ----------
    cfg : Mapping
        A finetuning run's config (`ft_lr` and `method`).

    Returns
    -------
    float
        The run's learning rate.

    Raises
    ------
    SweepError
        A per-method `ft_lr` without a rate for the run's method.
    """
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
    order: list[Run] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done

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
