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


def apply_preset(law: Law, preset: str | None) -> tuple[Law, dict[str, Any]]:
    """(law with the preset's residual space, extra fit() keyword arguments)."""
    if preset is None:
        return law, {}
    if preset not in PRESETS:
        raise OptionError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    spec = dict(PRESETS[preset])
    space = spec.pop("space", None)
    return (replace(law, space=space) if space else law), spec
