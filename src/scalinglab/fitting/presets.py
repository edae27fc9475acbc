"""Fitting presets: named objective choices, so a paper's own procedure is one word away.

- "default": the law's own space (log for losses) with Huber delta=1e-3 (Hoffmann et al.).
- "paper": least squares on raw values, as scipy's curve_fit does; the procedure of Gadre et
  al.'s released code (mlfoundations/scaling), needed to reproduce their published numbers.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..errors import OptionError
from ..laws.base import Law

PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "paper": {"space": "identity", "delta": math.inf},
}


def check_preset(preset: str) -> None:
    """A named OptionError for a preset that does not exist."""
    if preset not in PRESETS:
        raise OptionError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")


def apply_preset(law: Law, preset: str | None) -> tuple[Law, dict[str, Any]]:
    """(law with the preset's residual space, extra fit() keyword arguments). Called by
    `fit()` and the batched fold fits only: everyone else passes `preset=` to `fit()`."""
    if preset is None:
        return law, {}
    check_preset(preset)
    spec = dict(PRESETS[preset])
    space = spec.pop("space", None)
    return (replace(law, space=space) if space else law), spec
