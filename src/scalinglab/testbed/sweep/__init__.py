"""Sweeps: a YAML spec expanded into runs, executed from a run registry, resumable.

Spec:

    name: ladder
    defaults: {context: 96, batch_size: 16, lr: 0.003, ft_steps: 20, n_test: 16}
    axes:                                  # product of every axis
      model: [{d_model: 32, n_layers: 1, n_heads: 2}, {d_model: 48, n_layers: 2, n_heads: 2}]
      pretrain_data: ["kjv:0.5,rv1909:0.5"]
      tokens: [30000, 60000]
      method: [none, fmt, lora, prompt]    # none = pretraining only
      finetune_size: [64]
      seed: [0]                            # pretraining seed; ft_seed: finetuning's
    exclude: [{method: prompt, tokens: 30000}]   # drop matching runs
    include: [{...one run...}]                    # add runs

Every finetuning run depends on the pretraining run of its (model, pretrain_data, tokens,
seed); include entries may add `depends_on: [names]`. Unknown axes, dependency cycles and
duplicate runs are errors before anything runs.

The package in rooms with one job each (every name importable from here, as before):

- `spec`: load a spec (YAML file, mapping, built-in name), replace defaults, validate it;
- `grid`: expand it into runs (`Run`, `expand`, dependencies, order);
- `estimate`: FLOPs and time per run before anything runs (`plan`);
- `training`: execute one claimed run (`execute`: pretrain or finetune, metrics);
- `loop`: the worker loop (claims, heartbeats, fenced results);
- `local_pool`: the local executor's worker processes, watched until they finish;
- `executors`: local processes, Ray, SLURM; `run_sweep`;
- `results`: `summary`, `eta`, `export`, `compare_runs` (paired bootstrap of two runs).

`execute` and `_local_workers` are the patch points: the worker loop and `run_sweep` look
them up in the `patch_points` module at call time, so replacing `patch_points.execute` (a
fake executor in tests) changes what every worker in this process runs. The names here are
plain re-exports for callers.
"""

from __future__ import annotations

from . import patch_points
from .estimate import plan
from .executors import ray_driver, run_sweep, slurm_workers
from .grid import Run, expand, finetune_lr, finetune_seed, finetune_steps, run_key
from .local_pool import _local_workers
from .loop import dependency_row, worker
from .results import artifact_path, compare_runs, eta, export, summary
from .spec import (
    AXES,
    DEFAULTS,
    OPTIONAL_KEYS,
    PRETRAIN_KEYS,
    SPECS_DIR,
    SweepError,
    builtin_specs,
    load_spec,
    with_defaults,
)
from .training import execute

__all__ = [
    "patch_points",
    "_local_workers",  # a patch point (tests stand in for the worker pool)
    "AXES",
    "DEFAULTS",
    "OPTIONAL_KEYS",
    "PRETRAIN_KEYS",
    "SPECS_DIR",
    "Run",
    "SweepError",
    "artifact_path",
    "builtin_specs",
    "compare_runs",
    "dependency_row",
    "eta",
    "execute",
    "expand",
    "export",
    "finetune_lr",
    "finetune_seed",
    "finetune_steps",
    "load_spec",
    "plan",
    "ray_driver",
    "run_key",
    "run_sweep",
    "slurm_workers",
    "summary",
    "with_defaults",
    "worker",
]
