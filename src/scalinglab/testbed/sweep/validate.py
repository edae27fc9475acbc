"""A spec checked with types before it is expanded: every key known (else a named error with
"did you mean"), every value of the right type and range, corpus, method, task and tokenizer
names known to the testbed, and the run count bounded before a grid is multiplied out.

Checked where a value is written (defaults, each axis value, each include entry), so an error
names its place (`grids[1].axes.tokens[2]`), and once per merged run for what needs two keys
(a prompt shorter than the context). A budget of 0 tokens is the no-pretraining arm: the
seeded random initialisation, recorded as 0 tokens, that finetuning runs depend on as on any
pretraining run (it once trained a whole batch under the name of a 0-token run); a budget that
is not a whole number of batches is rounded up to one, as it always was, and the export
reports the tokens actually trained.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

from .spec import AXES, DEFAULTS, OPTIONAL_KEYS, SweepError

TOP_KEYS = ("name", "description", "requires", "defaults", "axes", "exclude", "include", "grids")
GRID_KEYS = ("axes", "exclude")
RUN_KEYS = (*dict.fromkeys((*DEFAULTS, *AXES, *OPTIONAL_KEYS)),)  # a run's config keys
INCLUDE_KEYS = (*RUN_KEYS, "name", "depends_on")
MODEL_KEYS = ("d_model", "n_layers", "n_heads", "dropout")
METHODS = ("none", "fmt", "lora", "prompt")  # none: pretraining only; train.METHODS finetune
MAX_RUNS = 100_000  # a grid product past this is refused before it is multiplied out


def did_you_mean(word: str, known: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _unknown_keys(where: str, given: Mapping[str, Any], known: tuple[str, ...], what: str):
    for k in given:
        if k not in known:
            raise SweepError(
                f"{where}: unknown {what} '{k}'{did_you_mean(k, known)} (known: {', '.join(known)})"
            )


# -- values ----------------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and math.isfinite(v) and v.is_integer())


def _yaml_hint(v: Any) -> str:
    if isinstance(v, str):
        try:
            float(v)
        except ValueError:
            return ""
        return " (YAML reads a number without a '.' before its exponent as text: write 3.0e-3)"
    return ""


def _int(lo: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not _is_int(v) or v < lo:
            return f"must be a whole number >= {lo}, got {v!r}{_yaml_hint(v)}"
        return None

    return check


def _positive_float(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
        return f"must be a finite number > 0, got {v!r}{_yaml_hint(v)}"
    return None


def _ft_lr(v: Any) -> str | None:
    if isinstance(v, Mapping):
        for m, lr in v.items():
            if m not in METHODS[1:]:
                return f"has a rate for unknown method '{m}'{did_you_mean(m, METHODS[1:])}"
            if (msg := _positive_float(lr)) is not None:
                return f"[{m}] {msg}"
        return None
    return _positive_float(v)


def _model(v: Any) -> str | None:
    if not isinstance(v, Mapping):
        return f"must be a mapping like {{d_model: 32, n_layers: 1, n_heads: 2}}, got {v!r}"
    for k in v:
        if k not in MODEL_KEYS:
            return f"has unknown key '{k}'{did_you_mean(k, MODEL_KEYS)} (known: {MODEL_KEYS})"
    for k in ("d_model", "n_layers"):
        if k not in v:
            return f"has no {k}"
    for k in ("d_model", "n_layers", "n_heads"):
        if k in v and (not _is_int(v[k]) or v[k] < 1):
            return f"{k} must be a whole number >= 1, got {v[k]!r}"
    if v["d_model"] % v.get("n_heads", 2):
        return f"d_model {v['d_model']} is not divisible by n_heads {v.get('n_heads', 2)}"
    d = v.get("dropout", 0.0)
    if isinstance(d, bool) or not isinstance(d, int | float) or not 0 <= d < 1:
        return f"dropout must be in [0, 1), got {d!r}"
    return None


def _pretrain_data(v: Any) -> str | None:
    from ..corpora import CORPORA, USER_PREFIX

    if not isinstance(v, str) or not v.strip():
        return f"must be a corpus name or mixture like 'kjv:0.5,rv1909:0.5', got {v!r}"
    for item in v.split(","):
        item = item.strip()
        if item.startswith(USER_PREFIX):  # a path (may hold ':'), checked when it is read
            head, _, tail = item.rpartition(":")
            w = tail if head != "text" and _number(tail) else ""
            name = head if w else item
        else:
            name, _, w = item.partition(":")
            if name not in CORPORA:
                return (
                    f"unknown corpus '{name}'{did_you_mean(name, CORPORA)} "
                    f"(known: {', '.join(CORPORA)}, or text:PATH)"
                )
        if w and not (_number(w) and math.isfinite(float(w)) and float(w) > 0):
            return f"mixture weight {w!r} of '{name}' must be a finite number > 0"
    return None


def _number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _choice(known: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if v not in known:
            return f"unknown value {v!r}{did_you_mean(v, known)} (known: {', '.join(known)})"
        return None

    return check


def _task(v: Any) -> str | None:
    from ..data import TASKS

    return _choice(tuple(TASKS))(v)


def _tokenizer(v: Any) -> str | None:
    if v == "byte":
        return None
    kind, _, size = str(v).partition(":")
    if not isinstance(v, str) or kind != "bpe" or not size.isdigit() or int(size) < 1:
        return f"unknown tokenizer {v!r}; use 'byte' or 'bpe:N' (e.g. bpe:2048)"
    return None


def _optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda v: None if v is None else check(v)


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, got {v!r}"


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "model": _model,
    "pretrain_data": _pretrain_data,
    "tokens": _int(0),  # 0: no pretraining (random initialisation)
    "tokens_per_param": _positive_float,
    "ft_epochs": _optional(_positive_float),  # null: ft_steps
    "method": _choice(METHODS),
    "finetune_size": _int(1),
    "seed": _int(0),
    "ft_seed": _int(0),
    "lora_rank": _int(1),
    "prompt_length": _int(1),
    "task": _task,
    "ft_lr": _ft_lr,
    "lr": _positive_float,
    "batch_size": _int(1),
    "context": _int(2),
    "ft_steps": _int(1),
    "n_test": _int(1),
    "max_chars": _optional(_int(1)),  # null: the whole corpus
    "cloze_items": _int(1),
    "tokenizer": _tokenizer,
    "max_pair_bytes": _optional(_int(1)),
    "compile": _bool,
    "prompt_specials": _bool,
}


def check_value(where: str, key: str, value: Any) -> None:
    msg = CHECKS[key](value)
    if msg is not None:
        raise SweepError(f"{where}: {key} {msg}")


# -- the spec --------------------------------------------------------------------------------
def _mapping(where: str, v: Any) -> Mapping[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise SweepError(f"{where} must be a mapping, got {type(v).__name__}")
    return v


def _list(where: str, v: Any) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise SweepError(f"{where} must be a list, got {type(v).__name__}")
    return v


def _grid(where: str, grid: Any) -> int:
    """Checks one grid; returns its run count before exclusions (product of axis lengths)."""
    grid = _mapping(where, grid)
    for k in grid:
        if k not in GRID_KEYS:
            raise SweepError(
                f"unknown grid key {[k]} in {where}{did_you_mean(k, GRID_KEYS)}; "
                "a grid has 'axes' and 'exclude'"
            )
    axes = _mapping(f"{where}.axes", grid.get("axes"))
    unknown = [k for k in axes if k not in AXES]
    if unknown:
        raise SweepError(
            f"unknown sweep axis {unknown} in {where}.axes{did_you_mean(unknown[0], AXES)}; "
            f"known axes: {', '.join(AXES)}"
        )
    count = 1
    for k, values in axes.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"axis '{k}' must be a non-empty list")
        count *= len(values)
    if count > MAX_RUNS:  # before the values are checked one by one: a huge axis is cheap here
        return count
    for k, values in axes.items():
        for i, v in enumerate(values):
            check_value(f"{where}.axes.{k}[{i}]", k, v)
    for i, e in enumerate(_list(f"{where}.exclude", grid.get("exclude"))):
        e = _mapping(f"{where}.exclude[{i}]", e)
        for k in e:
            if k not in axes:
                hint = did_you_mean(k, list(axes)) or did_you_mean(k, RUN_KEYS)
                raise SweepError(
                    f"{where}.exclude[{i}]: '{k}' is not an axis of this grid, so the entry "
                    f"would exclude nothing{hint} (axes: {', '.join(axes) or 'none'})"
                )
    return count


def validate(spec: Mapping[str, Any]) -> int:
    """Checks a spec (see the module docstring) and returns its run count before exclusions
    and shared pretraining runs; a SweepError names the first problem and where it is."""
    if not isinstance(spec, Mapping):
        raise SweepError(f"a sweep spec must be a mapping, got {type(spec).__name__}")
    _unknown_keys("spec", spec, TOP_KEYS, "top-level key")
    if "name" in spec and not isinstance(spec["name"], str | int | float):
        raise SweepError(f"spec: name must be text, got {type(spec['name']).__name__}")
    defaults = _mapping("defaults", spec.get("defaults"))
    _unknown_keys("defaults", defaults, RUN_KEYS, "setting")
    for k, v in defaults.items():
        check_value(f"defaults.{k}", k, v)
    grids = _list("grids", spec.get("grids"))
    count = 0
    if spec.get("axes") or not grids:
        count += _grid("spec", {k: spec[k] for k in GRID_KEYS if k in spec})
    for i, g in enumerate(grids):
        count += _grid(f"grids[{i}]", g)
    includes = _list("include", spec.get("include"))
    for i, c in enumerate(includes):
        c = _mapping(f"include[{i}]", c)
        _unknown_keys(f"include[{i}]", c, INCLUDE_KEYS, "key")
        for k, v in c.items():
            if k in CHECKS:
                check_value(f"include[{i}].{k}", k, v)
    count += len(includes)
    if count > MAX_RUNS:
        raise SweepError(
            f"the spec expands to {count:,} runs (product of its axes), more than the "
            f"{MAX_RUNS:,} a sweep may hold; split it or shorten its axes"
        )
    return count


def check_run(cfg: Mapping[str, Any], name: str) -> None:
    """What needs two keys of one merged run."""
    if cfg.get("method") == "prompt" and cfg["prompt_length"] >= cfg["context"]:
        raise SweepError(
            f"run {name}: prompt_length {cfg['prompt_length']} leaves no room in context "
            f"{cfg['context']}"
        )


def check_finetune_sizes(runs: list[Any]) -> list[str]:
    """Every finetuning run's `finetune_size` within its task's training pairs, checked when
    the spec is planned or registered (a size past the corpus was accepted and failed hours
    later, at run time). A task whose corpus is not installed here cannot be checked: its
    message is returned (the run itself will name the missing corpus)."""
    from ..corpora import CorpusError
    from ..data import get_task

    need: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for r in runs:
        if r.kind != "finetune":
            continue
        c = r.config
        limit = c.get("max_pair_bytes") or c["context"] - c["prompt_length"]
        key = (c.get("task", "translation_en_es"), int(limit))
        need.setdefault(key, []).append((int(c["finetune_size"]), r.name))
    unchecked = []
    for (task, limit), sizes in sorted(need.items()):
        size, name = max(sizes)
        try:
            data = get_task(task)(max_pair_bytes=limit)
        except CorpusError as exc:
            unchecked.append(f"finetune sizes of task {task} not checked: {exc}")
            continue
        have = len(data.train)
        if not data.test or not data.dev:
            raise SweepError(
                f"run {name}: no {'test' if not data.test else 'dev'} pairs of task {task} fit "
                f"{limit} bytes, so nothing could be evaluated; raise context or max_pair_bytes"
            )
        if size > have:
            over = sorted({s for s, _ in sizes if s > have})
            raise SweepError(
                f"run {name}: finetune_size {size} exceeds the {have:,} training pairs of task "
                f"{task} that fit {limit} bytes (sizes over the limit: {over}); lower "
                "finetune_size or raise context / max_pair_bytes"
            )
    return unchecked
