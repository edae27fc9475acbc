"""Sweep specs: read (YAML file, mapping or built-in name), defaults replaced, checked."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import ScalingLabError

AXES = (
    "model",
    "pretrain_data",
    "tokens",
    "tokens_per_param",  # M: tokens = M x non-embedding parameters (over-training ladders)
    "method",
    "finetune_size",
    "seed",
    "lora_rank",
    "prompt_length",
    "task",
    "ft_seed",  # finetuning seed (subset draw, init); default: the pretraining seed
    "ft_lr",
    "ft_epochs",  # passes over the finetuning pairs: steps grow with finetune_size (not ft_steps)
    "prompt_specials",  # prompt tuning also trains the special tokens' embeddings (BOS, SEP, EOS)
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


SPECS_DIR = Path(__file__).parent.parent / "specs"


def builtin_specs() -> list[str]:
    """Names of the sweep specs shipped with scalinglab (the `cpu` preset, ...).

    Returns
    -------
    list of str
        The names `load_spec` accepts, sorted.
    """
    return sorted(p.stem for p in SPECS_DIR.glob("*.yaml"))


MAX_YAML_NODES = 100_000  # a spec of hundreds of runs has a few thousand


def _expanded_size(root: Any, where: str) -> int:
    """Nodes of a composed YAML document counting every alias as a copy of what it names
    (what the spec becomes once loaded and walked), in time linear in the file: a node's
    size is computed once. A recursive alias is refused."""
    import yaml

    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(node: Any) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            mark = node.start_mark
            raise SweepError(
                f"{where}:{mark.line + 1}:{mark.column + 1}: a recursive alias is not allowed"
            )
        busy.add(key)
        n = 1
        if isinstance(node, yaml.SequenceNode):
            n += sum(size(c) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            n += sum(size(k) + size(v) for k, v in node.value)
        busy.discard(key)
        sizes[key] = min(n, 10**18)
        return sizes[key]

    return size(root)


MAX_SPEC_BYTES = 1_000_000


def _parse_yaml(p: Path) -> Any:
    """Plain YAML (safe_load: no Python objects); errors say file:line:column."""
    import yaml

    try:
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:  # a 10.9 MB spec kept the YAML parser busy for minutes
            raise SweepError(
                f"{p}: {size / 1e6:.1f} MB is far more than a sweep spec needs (at most "
                f"{MAX_SPEC_BYTES // 1_000_000} MB); write axes as lists of a few values"
            )
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SweepError(f"{p}: not a YAML spec (not UTF-8 text)") from None
    except OSError as exc:
        raise SweepError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            size = _expanded_size(node, str(p))
            if size > MAX_YAML_NODES:
                raise SweepError(
                    f"{p}: the spec expands to {size:,} YAML nodes once its aliases (*name) "
                    f"are followed, more than {MAX_YAML_NODES:,}; refused (an alias bomb?)"
                )
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except RecursionError:
        raise SweepError(f"{p}: the spec is nested too deeply") from None
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
    """A spec from a mapping, a YAML file, or the name of a built-in spec ('cpu').

    Parameters
    ----------
    source : str, Path or Mapping
        A mapping (copied as it is), a path to a YAML file, or a `builtin_specs` name.

    Returns
    -------
    dict
        The spec, not yet checked or expanded (`expand` does both).

    Raises
    ------
    SweepError
        No such file or built-in spec, or a file that is not a YAML mapping.
    """
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
    run that does not set the key on an axis of its grid takes the new value.

    Parameters
    ----------
    spec : Mapping
        A loaded spec; not changed.
    overrides : Mapping or None
        Default values to set (any axis or default but `model`); None or empty: none.

    Returns
    -------
    dict
        A copy of the spec with its `defaults` updated.

    Raises
    ------
    SweepError
        An override of a key no run can set.
    """
    spec = dict(spec)
    if not overrides:
        return spec
    settable = {*DEFAULTS, *AXES, *OPTIONAL_KEYS} - {"model"}
    unknown = sorted(set(overrides) - settable)
    if unknown:
        raise SweepError(f"unknown setting {unknown}; settable: {', '.join(sorted(settable))}")
    spec["defaults"] = {**(spec.get("defaults") or {}), **overrides}
    return spec
