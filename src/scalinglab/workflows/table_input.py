"""A workflow's input table: a DataFrame as given, or a file (CSV, Parquet, JSONL) read into
one. Every workflow that takes `data` reads it through `_load`; here, below all of them, so
that none imports another workflow (audit) only to read its input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _load(data: pd.DataFrame | str | Path) -> pd.DataFrame:
    if isinstance(data, (str, Path)):
        from ..io import read_table

        return read_table(data)
    return data
