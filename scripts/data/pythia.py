"""Build tidy CSVs from the lm-eval-harness JSONs in EleutherAI/pythia (evals/).

Usage:
    git clone https://github.com/EleutherAI/pythia
    git -C pythia checkout a19eecb807ec2c79a39ebf18108816e6ffffc1d5
    python scripts/data/pythia.py pythia OUT_DIR [--full]

Why a script: the ~900 JSONs have inconsistent names (some zero-shot files are called
"*-5shot_*"), so the shot count is read from each file's own config, and model size, batch size
and tokens come from one table below rather than from file names. --full also writes
evals_full.csv (every task and sub-task, ~16 MB), which is too large to keep in the repository.
Standard library only; reads the local clone, downloads nothing.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from pathlib import Path

SEQ_LEN = 2048
STD_BATCH = 1024 * SEQ_LEN  # 2,097,152 tokens per optimizer step for the standard suite
# Architecture per size: README table + models/*.yml (num-layers, hidden-size, model-parallel-size).
# Padded vocab = 50277 rounded up to a multiple of 128 * model-parallel-size (50304 for mp=1,
# 50432 for 6.9B with mp=2, 50688 for 12B with mp=4), the same `padded_vocab_size` the repo's v0
# eval configs record. models/12B/pythia-12b-deduped.yml says 40 layers; README, the non-deduped
# yml and the released checkpoints have 36, which is used here.
ARCH = {  # size: (n_layers, d_model, padded_vocab)
    "70m": (6, 512, 50304),
    "160m": (12, 768, 50304),
    "410m": (24, 1024, 50304),
    "1b": (16, 2048, 50304),
    "1.4b": (24, 2048, 50304),
    "2.8b": (32, 2560, 50304),
    "6.9b": (32, 4096, 50432),
    "12b": (36, 5120, 50688),
}
CORE_TASKS = {
    "arc_challenge",
    "arc_easy",
    "lambada_openai",
    "logiqa",
    "piqa",
    "sciq",
    "winogrande",
    "wsc",
    "crows_pairs_english",
    "crows_pairs_french",
}
MMLU_PREFIX = "hendrycksTest-"
# Nominal training tokens of the baseline families, from their papers (not from this repo).
BASELINE_TOKENS = {"opt": 180e9, "bloom": 366e9}
EVAL_COLS = [
    "model",
    "size",
    "variant",
    "deduped",
    "n_params_nonembed",
    "n_params_total",
    "batch_tokens",
    "step",
    "tokens",
    "num_fewshot",
    "task",
    "metric",
    "value",
    "stderr",
]


def n_params(size: str) -> tuple[int, int]:
    """(non-embedding, total) for GPT-NeoX with untied in/out embeddings.

    Per layer: QKV (3d^2+3d) + attention out (d^2+d) + MLP (8d^2+5d) + 2 LayerNorms (4d)
    = 12d^2+13d; plus the final LayerNorm (2d); embedding + unembedding add 2*V*d.
    Reproduces the Pythia paper's table (70M: 18,915,328 non-embedding / 70,426,624 total).
    """
    n_layers, d, vocab = ARCH[size]
    non_embed = n_layers * (12 * d * d + 13 * d) + 2 * d
    return non_embed, non_embed + 2 * vocab * d


def classify(rel: str) -> tuple[str, str, bool, int, str] | None:
    """Map a path under evals/pythia-v1 to (model, size, deduped, batch_tokens, variant)."""
    if "/baseline/" in rel or "/intervention/" in rel:
        return None  # gender-bias case study, bias tasks only (see README)
    top = rel.split("/")[0]
    m = re.fullmatch(r"pythia-([0-9.]+[mb])(-deduped)?(-bf16)?(?:-([0-9.]+)MtokBS)?", top)
    if not m:
        raise ValueError(f"unrecognised directory {top!r}")
    size, dedup, _bf16, bs = m.groups()
    if bs is None:
        return f"pythia-{size}{dedup or ''}", size, bool(dedup), STD_BATCH, "standard"
    return f"pythia-{size}-{bs}MtokBS", size, False, int(float(bs) * 2**20), f"batch_{bs}M"


def precision(size: str, deduped: bool, variant: str) -> str:
    """README: standard models trained in fp16 except pythia-1b (bf16); unknown for ablations."""
    if variant != "standard":
        return ""
    return "bf16" if size == "1b" and not deduped else "fp16"


def fmt(x: float | None, digits: int = 8) -> str:
    return "" if x is None else f"{x:.{digits}g}"


def mmlu_average(results: dict) -> dict[str, tuple[float, float]]:
    """Unweighted mean over the 57 hendrycksTest sub-tasks; stderr assumes independence."""
    subs = [v for k, v in results.items() if k.startswith(MMLU_PREFIX)]
    if not subs:
        return {}
    if len(subs) != 57:
        raise ValueError(f"expected 57 MMLU sub-tasks, found {len(subs)}")
    out = {}
    for metric in ("acc", "acc_norm"):
        mean = sum(s[metric] for s in subs) / 57
        se = math.sqrt(sum(s[metric + "_stderr"] ** 2 for s in subs)) / 57
        out[metric] = (mean, se)
    return out


def metric_rows(results: dict, keep) -> list[tuple[str, str, float, float | None]]:
    rows = []
    for task, metrics in sorted(results.items()):
        if not keep(task):
            continue
        for metric, value in sorted(metrics.items()):
            if not metric.endswith("_stderr"):
                rows.append((task, metric, value, metrics.get(metric + "_stderr")))
    for metric, (mean, se) in mmlu_average(results).items():
        rows.append(("mmlu_avg", metric, mean, se))
    return rows


def main(repo: Path, out: Path, full: bool) -> None:
    root = repo / "evals" / "pythia-v1"
    rows, full_rows, manifest, mmlu_wide, models = [], [], [], [], {}
    subtasks: list[str] = []
    for path in sorted(root.rglob("*.json")):
        rel = path.relative_to(root).as_posix()
        info = classify(rel)
        if info is None:
            continue
        model, size, deduped, batch, variant = info
        data = json.loads(path.read_text())
        cfg, results = data["config"], data["results"]
        step = int(re.search(r"step(\d+)\.json$", rel).group(1))
        rev = re.search(r"revision=step(\d+)", cfg["model_args"])
        if rev and int(rev.group(1)) != step:
            raise ValueError(f"{rel}: file-name step {step} != config revision {rev.group(1)}")
        shots = int(cfg["num_fewshot"])
        non_embed, total = n_params(size)
        head = [
            model,
            size,
            variant,
            int(deduped),
            non_embed,
            total,
            batch,
            step,
            step * batch,
            shots,
        ]
        manifest.append([model, step, shots, "evals/pythia-v1/" + rel, cfg["model_args"]])
        models[model] = [
            model,
            size,
            variant,
            int(deduped),
            *ARCH[size],
            non_embed,
            total,
            batch,
            precision(size, deduped, variant),
        ]
        for task, metric, value, se in metric_rows(results, lambda t: t in CORE_TASKS):
            rows.append(head + [task, metric, fmt(value), fmt(se, 6)])
        if full:
            for task, metric, value, se in metric_rows(results, lambda t: True):
                full_rows.append(head + [task, metric, fmt(value), fmt(se, 6)])
        subs = sorted(k for k in results if k.startswith(MMLU_PREFIX))
        if subs:
            subtasks = subtasks or subs
            if subs != subtasks:
                raise ValueError(f"{rel}: MMLU sub-task set differs")
            for metric in ("acc", "acc_stderr", "acc_norm", "acc_norm_stderr"):
                mmlu_wide.append(
                    [model, step, step * batch, shots, metric]
                    + [fmt(results[s][metric], 6) for s in subs]
                )
    keys = [(r[0], r[7], r[9], r[10], r[11]) for r in rows]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate (model, step, num_fewshot, task, metric) rows")
    out.mkdir(parents=True, exist_ok=True)
    write(out / "evals.csv", EVAL_COLS, rows)
    if full:
        write(out / "evals_full.csv", EVAL_COLS, full_rows)
    write(
        out / "mmlu_subtasks_wide.csv",
        ["model", "step", "tokens", "num_fewshot", "metric"]
        + [s[len(MMLU_PREFIX) :] for s in subtasks],
        mmlu_wide,
    )
    write(out / "files.csv", ["model", "step", "num_fewshot", "path", "model_args"], manifest)
    write(
        out / "models.csv",
        [
            "model",
            "size",
            "variant",
            "deduped",
            "n_layers",
            "d_model",
            "padded_vocab",
            "n_params_nonembed",
            "n_params_total",
            "batch_tokens",
            "precision",
        ],
        sorted(models.values()),
    )
    write(out / "baselines_final.csv", baselines(repo))
    print(f"evals.csv: {len(rows)} rows from {len(manifest)} files -> {out}")


def baselines(repo: Path) -> tuple[list[str], list[list]]:
    """Final-checkpoint OPT and BLOOM results the Pythia paper compares against (0-shot)."""
    rows = []
    for family in ("opt", "bloom"):
        for path in sorted((repo / "evals" / family).glob("*.json")):
            data = json.loads(path.read_text())
            name = path.stem
            label = name.split("-", 1)[1]  # e.g. 1.3b, 560m, 7b1, 1b1
            m = re.fullmatch(r"(\d+)(?:\.(\d+))?([mb])(\d*)", label)
            whole, frac, unit, tail = m.groups()
            number = float(f"{whole}.{frac or tail or '0'}")
            nominal = number * (1e6 if unit == "m" else 1e9)
            for task, metric, value, se in metric_rows(data["results"], lambda t: t in CORE_TASKS):
                rows.append(
                    [
                        name,
                        family,
                        f"{nominal:.0f}",
                        f"{BASELINE_TOKENS[family]:.0f}",
                        int(data["config"]["num_fewshot"]),
                        task,
                        metric,
                        fmt(value),
                        fmt(se, 6),
                        f"evals/{family}/{path.name}",
                    ]
                )
    return [
        "model",
        "family",
        "n_params_nominal",
        "tokens_nominal",
        "num_fewshot",
        "task",
        "metric",
        "value",
        "stderr",
        "path",
    ], rows


def write(path: Path, header, rows=None) -> None:
    if rows is None:
        header, rows = header
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    main(Path(args[0]), Path(args[1]), "--full" in sys.argv)
