"""Fit files: `FitResult` to and from JSON-ready data and JSON text.

Kept apart from result.py so the result class holds the fit's state and its reading, and
this module the file format (the methods delegate here; the schema check is fitfile.py's).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..diagnostics import Diagnostic
from ..laws.base import Law
from .bootstrap import Bootstrap

if TYPE_CHECKING:
    from .result import FitResult


def fit_to_dict(res: FitResult, include_starts: bool = False) -> dict[str, Any]:
    """`FitResult.to_dict`: the fit as JSON-ready data (what ``fit --out`` writes)."""
    d: dict[str, Any] = {
        "scalinglab_version": __version__,
        "law": res.law.name,
        "law_spec": res.law.to_dict(),
        "params": {k: float(v) for k, v in res.params_.items()},
        "objective": float(res.objective_),
        "n_points": int(res.n_points_),
        "converged": bool(res.converged_),
        "warnings": list(res.warnings_),
        "diagnostics": [x.to_dict() for x in res.diagnostics_],
        "clean": bool(res.clean_),
        "stop_reason": res.stop_reason_,
        "n_iter": int(res.n_iter_),
        "dof": int(res.dof_),
        "at_bounds": list(res.at_bounds_),
        "columns": dict(res.columns_),
        "metric": res.metric_,
        "delta": res.delta_,
        "fit_time_s": res.fit_time_s_,
        "source": res.source_,
    }
    if res.data_ is not None:
        d["data"] = {
            "x": {k: np.asarray(v).tolist() for k, v in res.data_["x"].items()},
            "y": np.asarray(res.data_["y"]).tolist(),
            "weights": np.asarray(res.data_["weights"]).tolist(),
        }
    if include_starts:
        d["starts"] = json.loads(res.starts_.to_json(orient="records"))
    if res.bootstrap_ is not None:
        d["bootstrap"] = res.bootstrap_.to_dict()
    return d


def fit_to_json(res: FitResult, path: str | Path | None = None, **kw: Any) -> str:
    """`FitResult.to_json`: `res.to_dict(**kw)` as JSON text, written atomically to `path`."""
    text = json.dumps(res.to_dict(**kw), indent=2, allow_nan=True)
    if path is not None:  # atomic: a kill or a full disk never leaves half a fit file
        from ..io.safe_write import write_text

        write_text(path, text)
    return text


def fit_from_dict(
    cls: type[FitResult], d: Mapping[str, Any], *, source: str | None = None
) -> FitResult:
    """`FitResult.from_dict`: check the schema (fitfile.py), then build; anything else
    malformed is a FitFileError too."""
    from ..errors import FitFileError
    from .fitfile import check_fit_dict

    law = check_fit_dict(d, source)
    try:
        return fit_from_checked_dict(cls, d, law)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FitFileError(f"not a valid scalinglab fit ({exc!r})", file=source) from None


def fit_from_checked_dict(cls: type[FitResult], d: Mapping[str, Any], law: Law) -> FitResult:
    """A `cls` from a fit dict whose schema `check_fit_dict` passed (giving `law`)."""
    data = None
    if "data" in d:
        data = {
            "x": {k: np.asarray(v, dtype=float) for k, v in d["data"]["x"].items()},
            "y": np.asarray(d["data"]["y"], dtype=float),
            "weights": np.asarray(d["data"]["weights"], dtype=float),
        }
    starts = pd.DataFrame(d.get("starts", []))
    if starts.empty:
        starts = pd.DataFrame(columns=["status"])
    params = {k: float(v) for k, v in d["params"].items()}
    boot = Bootstrap.from_dict(law, d["bootstrap"], params) if "bootstrap" in d else None
    return cls(
        law=law,
        params_=params,
        objective_=float(d["objective"]),
        converged_=bool(d["converged"]),
        n_points_=int(d["n_points"]),
        columns_=dict(d.get("columns", {v: v for v in law.variables})),
        metric_=d.get("metric", law.metric),
        delta_=float(d.get("delta", 1e-3)),
        starts_=starts,
        warnings_=list(d.get("warnings", [])),
        at_bounds_=list(d.get("at_bounds", [])),
        diagnostics_=[Diagnostic.from_dict(x) for x in d.get("diagnostics", [])],
        stop_reason_=str(d.get("stop_reason", "")),
        n_iter_=int(d.get("n_iter", 0)),
        fit_time_s_=float(d.get("fit_time_s", math.nan)),
        data_=data,
        source_=d.get("source"),
        bootstrap_=boot,
    )


def fit_from_json(cls: type[FitResult], text_or_path: str | Path) -> FitResult:
    """`FitResult.from_json`: read the file (or take the text), parse it and hand it to
    `cls.from_dict`; unreadable or invalid JSON is a FitFileError naming the file."""
    from ..errors import FitFileError

    text, source = str(text_or_path), None
    if not text.lstrip().startswith("{"):
        source = text
        try:
            text = Path(source).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise FitFileError("not a fit file: not UTF-8 text", file=source) from None
        except OSError as exc:
            raise FitFileError(f"cannot read ({exc.strerror or exc})", file=source) from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FitFileError(
            f"not a fit file: not valid JSON ({exc.msg})", file=source, line=exc.lineno
        ) from None
    except RecursionError:
        raise FitFileError("not a fit file: JSON nested too deeply", file=source) from None
    return cls.from_dict(d, source=source)
