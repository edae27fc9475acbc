"""Model identity for harness results: what a model name says, and matching a side table.

Name parsing reads the last path part of a model id and the revision, split at `-`, `_`, `/`:

- `step1000`, `step-1431k`, `step_20000` -> the checkpoint step (`k`/`m` multiply);
- `tokens84B`, `tok300B`, `84Btokens`, and a bare size in T (`3T`) -> training tokens;
- a bare size in K/M/B (`160m`, `1.4b`, `1.1B`) -> the nominal parameter count, used only when
  the name holds exactly one such size (`Mixtral-8x7B` gives none: never a guess).

`TinyLlama-1.1B-intermediate-step-1431k-3T` -> n_params 1.1e9, step 1,431,000, tokens 3e12;
`revision=step20000-tokens84B` -> step 20,000, tokens 84e9.

Side-table matching tries, in order, for each model id in the files: the exact id; the last
path part (`EleutherAI/pythia-160m` ~ `pythia-160m`); the normalised name (case, the
organisation and version tags such as `v1.1` ignored: `EleutherAI/pythia-v1.1-160m` ~
`pythia-160m`); the normalised name without a precision tag (`bf16`, `fp16`, `fp32`: the
released pythia-1b is `pythia-v1.1-1b-bf16`). A rule that would match two side-table rows
matches none. Each match records the rule that made it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_SPLIT = re.compile(r"[-_/\s]+")
_NUM = r"(\d+(?:\.\d+)?)"
_MULT = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_STEP_JOINED = re.compile(rf"^(?:global[-_]?)?step{_NUM}([kKmM]?)$")
_STEP_WORD = re.compile(r"^(?:global)?step$", re.IGNORECASE)
_BARE_NUM = re.compile(rf"^{_NUM}([kKmM]?)$")
_TOKENS_PREFIX = re.compile(rf"^(?:tokens?|toks?){_NUM}([kKmMbBgGtT])$", re.IGNORECASE)
_TOKENS_SUFFIX = re.compile(rf"^{_NUM}([kKmMbBgGtT])(?:tokens?|toks?)$", re.IGNORECASE)
_TOKENS_T = re.compile(rf"^{_NUM}([tT])$")
_SIZE = re.compile(rf"^{_NUM}([kKmMbB])$")
_VERSION = re.compile(r"^v\d+(?:\.\d+)*$", re.IGNORECASE)
_PRECISION = frozenset({"bf16", "fp16", "fp32", "f16", "f32", "float16", "bfloat16"})


@dataclass
class NameInfo:
    step: float | None = None
    tokens: float | None = None
    n_params: float | None = None
    notes: list[str] = field(default_factory=list)


def _scaled(num: str, unit: str) -> float:
    return float(num) * _MULT.get(unit.lower(), 1.0) if unit else float(num)


def parse_name(text: str) -> NameInfo:
    """Step, tokens and nominal size written in a model name or revision string."""
    info = NameInfo()
    last = str(text or "").rstrip("/").split("/")[-1]
    parts = [p for p in _SPLIT.split(last) if p]
    sizes: list[float] = []
    i = 0
    while i < len(parts):
        p = parts[i]
        m = _STEP_JOINED.match(p.lower())
        if m:
            info.step = _scaled(m.group(1), m.group(2))
            i += 1
            continue
        if _STEP_WORD.match(p) and i + 1 < len(parts):
            m = _BARE_NUM.match(parts[i + 1])
            if m:
                info.step = _scaled(m.group(1), m.group(2))
                i += 2
                continue
        m = _TOKENS_PREFIX.match(p) or _TOKENS_SUFFIX.match(p) or _TOKENS_T.match(p)
        if m:
            info.tokens = _scaled(m.group(1), m.group(2))
            i += 1
            continue
        m = _SIZE.match(p)
        if m:
            sizes.append(_scaled(m.group(1), m.group(2)))
        i += 1
    distinct = sorted(set(sizes))
    if len(distinct) == 1:
        info.n_params = distinct[0]
    elif len(distinct) > 1:
        info.notes.append(
            f"{last!r} names several sizes ({', '.join(f'{s:g}' for s in distinct)}): "
            "no parameter count taken from it"
        )
    return info


# -- side tables -------------------------------------------------------------------------


def _tokens(name: str) -> list[str]:
    last = str(name).strip().rstrip("/").split("/")[-1].lower()
    return [p for p in _SPLIT.split(last) if p and not _VERSION.match(p)]


def _rules() -> list[tuple[str, object]]:
    return [
        ("exact id", lambda s: str(s).strip()),
        ("last path part", lambda s: str(s).strip().rstrip("/").split("/")[-1]),
        (
            "normalised name (case, organisation, version tags ignored)",
            lambda s: "-".join(_tokens(s)),
        ),
        (
            "normalised name without a precision tag (bf16/fp16/fp32)",
            lambda s: "-".join(t for t in _tokens(s) if t not in _PRECISION),
        ),
    ]


@dataclass
class SideMatch:
    """How the models of the files met the side table's rows."""

    matched: dict[str, tuple[str, str]]  # model id -> (side-table name, rule)
    unmatched: dict[str, list[str]]  # model id -> closest side-table names
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # model -> candidate rows

    def lines(self) -> list[str]:
        n = len(self.matched) + len(self.unmatched)
        out = [f"side table: matched {len(self.matched)} of {n} models"]
        by_rule: dict[str, int] = {}
        for _, rule in self.matched.values():
            by_rule[rule] = by_rule.get(rule, 0) + 1
        if by_rule:
            out[0] += " (" + "; ".join(f"{rule}: {k}" for rule, k in by_rule.items()) + ")"
        for model, (name, rule) in sorted(self.matched.items()):
            if rule != "exact id":
                out.append(f"  {model} -> {name} ({rule})")
        for model, close in sorted(self.unmatched.items()):
            hint = f"; closest: {', '.join(close)}" if close else "; no close name"
            amb = self.ambiguous.get(model)
            if amb:
                hint = f"; ambiguous between {', '.join(amb)}" + hint
            out.append(f"  unmatched: {model}{hint}")
        return out


def match_models(models: Iterable[str], names: Iterable[str]) -> SideMatch:
    """Match model ids from the files to side-table names by the rules above, in order."""
    names = [str(n) for n in names]
    matched: dict[str, tuple[str, str]] = {}
    ambiguous: dict[str, list[str]] = {}
    pending = sorted(set(map(str, models)))
    for rule, key in _rules():
        index: dict[str, list[str]] = {}
        for n in names:
            index.setdefault(key(n), []).append(n)  # type: ignore[operator]
        still = []
        for m in pending:
            hits = index.get(key(m), [])  # type: ignore[operator]
            if len(hits) == 1 and key(m):  # type: ignore[operator]
                matched[m] = (hits[0], rule)
            else:
                if len(hits) > 1:
                    ambiguous.setdefault(m, hits)
                still.append(m)
        pending = still
    unmatched = {}
    for m in pending:
        close = difflib.get_close_matches(m, names, n=3, cutoff=0.5)
        last = m.rstrip("/").split("/")[-1]
        for c in difflib.get_close_matches(last, names, n=3, cutoff=0.5):
            if c not in close:
                close.append(c)
        unmatched[m] = close[:3]
    return SideMatch(matched, unmatched, {m: a for m, a in ambiguous.items() if m in unmatched})
