"""Experiment-tracker exports (Weights & Biases runs table, MLflow runs) -> scalinglab schema.

W&B's runs-table CSV export has one column per config key and summary metric (names as
logged, e.g. `model.n_params`, `val/loss`) next to `Name`, `State`, `Created`, ...; MLflow's
runs export (`mlflow.search_runs`, the UI's CSV) prefixes `params.`, `metrics.` and `tags.`.
A small mapping file (YAML or JSON) says which column is which:

    columns:            # canonical name: column in the export
      n_params: params.n_params
      tokens: params.train_tokens
      loss: metrics.val_loss
    run_id: run_id      # optional: the column naming each run

Without a mapping, prefixes are stripped and the usual aliases apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError, FileFormatError, MissingColumnError
from ..schema import CATEGORICAL, METRICS, VARIABLES, canonical_name
from .tables import _read_raw, to_schema

_PREFIXES = ("params.", "metrics.", "config.", "summary.", "tags.")
_RUN_ID = {"wandb": ("ID", "Name", "id", "name"), "mlflow": ("run_id", "tags.mlflow.runName")}
_STATE = {"wandb": "State", "mlflow": "status"}
KNOWN = set(VARIABLES) | set(METRICS) | set(CATEGORICAL)


def _auto_name(col: str) -> str:
    """Export column -> our name: strip params./metrics./... prefixes; use the full name if
    it is a known one (val/loss -> val_loss -> loss), else its last segment (model.n_params)."""
    name = col
    for pre in _PREFIXES:
        if name.startswith(pre):
            name = name[len(pre) :]
            break
    flat = name.replace("/", "_")
    if canonical_name(flat) in KNOWN:
        return flat
    last = re.split(r"[./]", name)[-1]
    return last if canonical_name(last) in KNOWN else flat


def read_mapping(path: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    if path is None:
        return {}
    if isinstance(path, Mapping):
        return dict(path)
    p = Path(path)
    if not p.exists():
        raise DataError("mapping file not found", file=str(p))
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            obj = json.loads(text)
        else:
            import yaml

            obj = yaml.safe_load(text)
    except Exception as exc:
        raise FileFormatError(f"cannot parse mapping file: {exc}", file=str(p)) from None
    if not isinstance(obj, Mapping) or not isinstance(obj.get("columns", {}), Mapping):
        raise FileFormatError("mapping must be an object with a 'columns' object", file=str(p))
    return dict(obj)


def read_tracker_export(
    path: str | Path, kind: str = "auto", mapping: str | Path | Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """A Weights & Biases or MLflow runs export as a DataFrame in the scalinglab schema.

    Parameters
    ----------
    path : str or path
        The export as the tracker's UI or API writes it (CSV or Parquet).
    kind : str, default 'auto'
        "wandb", "mlflow" or "auto" (detected from the columns).
    mapping : mapping, str or path, optional
        Which export column is which, as a dict or a YAML/JSON file of it:
        ``{"columns": {"n_params": "params.n_params", "loss": "metrics.val_loss"}}``
        (canonical name: export column; see the module docstring); without one, prefixes
        are stripped and the usual aliases apply.

    Returns
    -------
    pandas.DataFrame
        One row per run, canonical columns.

    Examples
    --------
    >>> import scalinglab as sl
    >>> sl.read_tracker_export("wandb_runs.csv", kind="wandb")   # doctest: +SKIP
    """
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", file=str(p))
    fmt = "parquet" if p.suffix.lower() in (".parquet", ".pq") else "csv"
    raw = _read_raw(p, fmt)
    if raw.empty:
        raise DataError("export has no runs", file=str(p))
    if kind == "auto":
        kind = (
            "mlflow" if any(c.startswith(("params.", "metrics.")) for c in raw.columns) else "wandb"
        )
    if kind not in _RUN_ID:
        raise ValueError(f"kind must be 'wandb', 'mlflow' or 'auto', got {kind!r}")
    spec = read_mapping(mapping)
    cols: Mapping[str, str] = spec.get("columns", {})
    src = str(mapping) if isinstance(mapping, (str, Path)) else "mapping"
    for canon, col in cols.items():
        if col not in raw.columns:
            raise MissingColumnError(
                f"{src} maps '{canon}' to column '{col}', which is not in the export "
                f"(columns: {', '.join(map(str, raw.columns))})",
                file=str(p),
                column=col,
            )
    out = pd.DataFrame(index=raw.index)
    run_col = spec.get("run_id") or next((c for c in _RUN_ID[kind] if c in raw.columns), None)
    if run_col:
        if run_col not in raw.columns:
            raise MissingColumnError(
                f"{src} names run_id column '{run_col}', not in the export",
                file=str(p),
                column=run_col,
            )
        out["run_id"] = raw[run_col].astype(str)
    state_col = _STATE[kind]
    if state_col in raw.columns:
        out["state"] = raw[state_col].astype(str)
    used = set(cols.values()) | {run_col, state_col}
    for canon, col in cols.items():
        out[canon] = raw[col]
    if not cols:  # no mapping: keep every column, prefixes stripped
        for col in raw.columns:
            if col in used:
                continue
            name = _auto_name(col)
            if name in out.columns:
                continue
            out[name] = raw[col]
    df = to_schema(out, source=str(p), line_offset=2 if fmt == "csv" else None)
    df.attrs["scalinglab_tracker"] = kind
    return df
