"""Shared fixtures. Real public data lives in ../shared/data beside the repository."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not found: {p} (tests read ../shared/data beside the repo)")
    return p


@pytest.fixture(scope="session")
def chinchilla_240() -> pd.DataFrame:
    """Epoch's 240-point subset: drop the 5 highest-loss runs (their README)."""
    import scalinglab as sl

    df = sl.read_table(shared_file("chinchilla", "points.csv"))
    cutoff = df["loss"].nlargest(5).min()
    out = df[df["loss"] < cutoff].reset_index(drop=True)
    assert len(out) == 240
    return out
