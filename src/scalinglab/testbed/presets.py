"""Testbed presets: named sweep specs (`testbed/specs/NAME.yaml`: smoke, cpu, gpu) run through
the one sweep runner, into a folder with the run registry, the checkpoints and `runs.csv`.

Every preset goes the same way (issue 16: `smoke` used to be a sequential loop of its own,
with its own rows and no resume): the spec is expanded into runs, registered in
OUT/registry.sqlite and executed by worker processes, so any preset survives a crash (the
same command runs only what is not done) and writes the one row schema (`testbed.rows`).
`scalinglab sweep run NAME` runs the same spec with the registry where you choose.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..io.safe_write import write_text
from .train import TestbedError


def preset_names() -> list[str]:
    """The built-in presets: the sweep specs shipped in `testbed/specs`."""
    from .sweep import builtin_specs

    return builtin_specs()


def get_preset(name: str) -> dict[str, Any]:
    """The spec of a built-in preset (a mapping, as `sweep.load_spec` reads it).

    Raises
    ------
    TestbedError
        For a name that is not a built-in preset (a file path is not a preset:
        `scalinglab sweep run FILE` runs a spec of your own).
    """
    from .sweep import load_spec

    known = preset_names()
    if name not in known:
        raise TestbedError(f"unknown preset '{name}'; choose from {', '.join(known)}")
    return load_spec(name)


def run_preset(
    preset: str | Mapping[str, Any],
    out_dir: str | Path,
    *,
    workers: int = 2,
    overrides: Mapping[str, Any] | None = None,
    device: str | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run (or resume) a preset; its rows go to OUT/runs.csv and are returned.

    Parameters
    ----------
    preset : a built-in preset's name (smoke, cpu, gpu) or a spec mapping (tests, notebooks).
    out_dir : the folder of the run registry, the checkpoints, runs.csv and preset.json (the
        settings and the wall time of every invocation: a resumed preset's cost is their sum).
    workers : worker processes, one torch thread each; 1 without `progress` runs here.
    overrides : spec defaults to replace, e.g. ``{"pretrain_data": "text:/data/corpus"}``.
    device : cpu or cuda for every run (workers are told through $SCALINGLAB_DEVICE).
    progress : called about once a second with the sweep's counts and time left.

    Returns
    -------
    pandas.DataFrame
        This preset's done runs (only its own, when the registry also holds others).
    """
    import torch

    from .sweep import expand, export, load_spec, run_sweep, with_defaults

    name = preset if isinstance(preset, str) else str(preset.get("name", "custom"))
    spec = with_defaults(get_preset(preset) if isinstance(preset, str) else load_spec(preset),
                         overrides)  # fmt: skip
    keys = [r.key for r in expand(spec)]  # an invalid spec or setting fails before anything runs
    wanted = device or os.environ.get("SCALINGLAB_DEVICE")
    if spec.get("requires") == "cuda" and not torch.cuda.is_available() and wanted != "cpu":
        raise TestbedError(
            f"preset '{name}' is sized for a GPU (about an hour on one H100, weeks on a CPU) "
            "and no CUDA device is visible; `scalinglab sweep plan "
            f"{name} --tflops 400` lists its runs, --device cpu runs it here anyway"
        )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "preset.json"
    before = json.loads(meta_path.read_text()).get("invocations", []) if meta_path.exists() else []
    t0 = time.perf_counter()
    previous = os.environ.get("SCALINGLAB_DEVICE")
    if device:
        os.environ["SCALINGLAB_DEVICE"] = device  # inherited by the worker processes
    try:
        run_sweep(
            spec,
            out / "registry.sqlite",
            out / "artifacts",
            workers=workers,
            threads=1,
            progress=progress,
        )
    finally:  # the caller's environment as it was
        if device:
            if previous is None:
                os.environ.pop("SCALINGLAB_DEVICE", None)
            else:
                os.environ["SCALINGLAB_DEVICE"] = previous
    df = export(out / "registry.sqlite", out / "runs.csv", keys=keys)  # this spec's runs only
    invocations = [*before, {"wall_time_s": time.perf_counter() - t0, "runs_done": len(df)}]
    write_text(
        meta_path,
        json.dumps(
            {
                "preset": name,
                "overrides": dict(overrides or {}),
                "workers": workers,
                "threads_per_worker": 1,
                "invocations": invocations,
                "wall_time_s": sum(i["wall_time_s"] for i in invocations),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        ),
    )
    return df
