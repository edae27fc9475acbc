"""Regenerate benchmarks/results/cpu_ladder_v0.csv: `python scripts/cpu_testbed_runs.py OUT_DIR`."""

import sys
from dataclasses import replace

import pandas as pd

from scalinglab.testbed.presets import Preset, run_preset

common = dict(
    context=256,
    batch_size=32,
    lr=3e-3,
    ft_steps=60,
    n_test=100,
    max_chars=None,
    cloze_items=100,
    prompt_length=16,
    lora_rank=4,
)
ladder = Preset(
    name="cpu-ladder",
    models=[
        dict(d_model=32, n_layers=2, n_heads=2),
        dict(d_model=48, n_layers=2, n_heads=2),
        dict(d_model=64, n_layers=2, n_heads=4),
        dict(d_model=96, n_layers=3, n_heads=4),
        dict(d_model=128, n_layers=4, n_heads=4),
    ],
    pretrain_data=["kjv:0.5,rv1909:0.5"],
    token_budgets=[250_000, 500_000, 1_000_000, 2_000_000, 4_000_000],
    methods=["fmt"],
    finetune_sizes=[1000],
    seeds=[0],
    **common,
)
align = replace(
    ladder,
    name="cpu-align",
    models=[dict(d_model=64, n_layers=2, n_heads=4)],
    pretrain_data=["kjv", "python"],
    token_budgets=[1_000_000, 4_000_000],
)
methods = replace(
    ladder,
    name="cpu-methods",
    models=[dict(d_model=64, n_layers=2, n_heads=4)],
    token_budgets=[4_000_000],
    methods=["fmt", "lora", "prompt"],
    finetune_sizes=[250, 1000, 4000],
)
out = sys.argv[1]
frames = []
for p in (ladder, align, methods):
    df = run_preset(
        p, f"{out}/{p.name}", progress=lambda k, msg=None: msg and print(msg, flush=True)
    )
    frames.append(df.assign(experiment=p.name))
    pd.concat(frames).to_csv(f"{out}/cpu_runs.csv", index=False)
    print("done", p.name, flush=True)
