"""Checks of the options that choose what `aggregate_error` keeps: shot counts (whole numbers
>= 0, tasks the results hold) and chance accuracies (numbers in [0, 1)). A task named in an
option but absent from the results used to be ignored without a word."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import DataError


def _some(names: list[str], k: int = 12) -> str:
    """The first k names, and how many in all when there are more (MMLU has 57)."""
    return ", ".join(names[:k]) + (f", ... ({len(names)} in all)" if len(names) > k else "")


def _shot_count(value: Any, what: str) -> int:
    """A shot count: a whole number >= 0 (`--shots -3` read as "no results at -3 shots")."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{what}: shot counts are whole numbers >= 0, got {value!r}") from None
    if not (f >= 0 and f == int(f)):
        raise DataError(f"{what}: shot counts are whole numbers >= 0, got {value!r}")
    return int(f)


def checked_shots(
    shots: int | Mapping[str, int] | None, tasks: set[str]
) -> int | dict[str, int] | None:
    """`shots` as whole numbers >= 0; a task the results do not hold is named (it was
    ignored, so `--shots arc_esay=5` kept every shot count of arc_easy without a word)."""
    if shots is None:
        return None
    if not isinstance(shots, Mapping):
        return _shot_count(shots, "shots")
    unknown = sorted(str(t) for t in shots if t not in tasks)
    if unknown:
        raise DataError(
            f"shots names {'a task' if len(unknown) == 1 else 'tasks'} not in the results: "
            f"{', '.join(unknown)} (tasks: {_some(sorted(tasks))})"
        )
    return {str(t): _shot_count(v, f"shots {t}") for t, v in shots.items()}


def checked_chance(chance: Mapping[str, Any] | None) -> dict[str, float] | None:
    """Chance accuracies as numbers in [0, 1): a chance of 1.7 went into the `chance`
    column as given, and 1 would divide the chance correction by zero."""
    if chance is None:
        return None
    out = {}
    for t, v in chance.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise DataError(f"chance {t}={v!r}: not a number") from None
        if not 0 <= f < 1:
            raise DataError(f"chance {t}={v!r}: a chance accuracy lies in [0, 1)")
        out[str(t)] = f
    return out
