"""lm-evaluation-harness results files found by content, not by name: a `.json` file is a
results file when it holds a `results` object of task -> metrics and a `config` (folders are
searched recursively; anything else in them is skipped, with why)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import DataError, FileFormatError, NoResultsError


def _load(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The JSON object and '' when `path` is a results file, else (None, why not)."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"not valid JSON ({getattr(exc, 'msg', exc)})"
    if not isinstance(obj, dict) or not isinstance(obj.get("results"), Mapping):
        return None, "no 'results' object"
    res = obj["results"]
    if not res or not all(isinstance(v, Mapping) for v in res.values()):
        return None, "'results' is not an object of task -> metrics"
    if not isinstance(obj.get("config"), Mapping):
        return None, "no 'config' object"
    return obj, ""


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Results files under each path, by content; and the .json files skipped, with why.

    A file given by name must be a results file (FileFormatError otherwise); folders are
    searched recursively and anything else in them is skipped (and counted).

    Parameters
    ----------
    paths : iterable of str or path
        Results files and folders holding them.

    Returns
    -------
    tuple of (list of Path, list of (Path, str))
        The results files found, and each .json file skipped with the reason.
    """
    files, skipped, _ = _discover(paths)
    return files, skipped


def _discover(
    paths: Iterable[str | Path],
) -> tuple[list[Path], list[tuple[Path, str]], dict[Path, dict[str, Any]]]:
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    objs: dict[Path, dict[str, Any]] = {}
    for p in map(Path, paths):
        if not p.exists():
            raise DataError("path not found", file=str(p))
        if p.is_file():
            obj, why = _load(p)
            if obj is None:
                raise FileFormatError(
                    f"not an lm-evaluation-harness results file ({why})", file=str(p)
                )
            files.append(p)
            objs[p] = obj
            continue
        found = []
        for f in sorted(p.rglob("*.json")):
            if not f.is_file():
                continue
            obj, why = _load(f)
            if obj is None:
                skipped.append((f, why))
            else:
                found.append(f)
                objs[f] = obj
        if not found:
            raise NoResultsError(
                "no lm-evaluation-harness results files in this folder or below (looked for "
                "*.json holding a 'results' object of task -> metrics and a 'config'; "
                f"{len(skipped)} other .json file(s))",
                file=str(p),
            )
        files.extend(found)
    return files, skipped, objs


def find_result_files(paths: Iterable[str | Path]) -> list[Path]:
    """Results files under each path, found by their content (see `discover`).

    Parameters
    ----------
    paths : iterable of str or path
        Results files and folders holding them.

    Returns
    -------
    list of Path
        The results files, in the order found.
    """
    return discover(paths)[0]
