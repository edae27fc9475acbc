"""Build tidy tables of the Gadre et al. (2024) over-training testbed from a checkout of
github.com/mlfoundations/scaling.

Usage:
    git clone https://github.com/mlfoundations/scaling
    git -C scaling checkout a003c4913793ac2ae7ef87b28ecb562955d026d5
    python scripts/data/gadre2024.py scaling --out DIR

Reads only the released data files (exp_data/models/*.json, exp_data/evals/*.json,
exp_data/eval_metadata.csv); imports nothing from the repository and downloads nothing.
Writes into DIR:
    runs.csv         one row per trained model (104), wide: scaling variables, 8 validation
                     losses, 17- and 46-task average top-1 error, 46 per-task accuracies
    losses_long.csv  one row per (run, eval set): loss with its 95% intervals and eval size
    tasks.csv        one row per downstream task: metadata, random baseline, 17-task membership

Standard library only, so it runs anywhere. Every consistency assumption the tables rely on is
checked and fails loudly (ValueError naming the file) rather than being silently dropped.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

DATASETS = ("c4_original", "rpj", "rw_original")

# Architecture per model config. The four small ones are spelled out in their config names
# (and scaling/open_lm_configs/*.json); open_lm_1b / open_lm_7b follow open_lm's model_configs.
ARCH = {
    "d=96_l=8_h=4": (96, 8, 4, "0.011B"),
    "d=512_l=8_h=4": (512, 8, 4, "0.079B"),
    "d=576_l=24_h=8": (576, 24, 8, "0.154B"),
    "d=1024_l=24_h=8": (1024, 24, 8, "0.411B"),
    "open_lm_1b": (2048, 24, 16, "1.4B"),
    "open_lm_7b": (4096, 32, 32, "6.9B"),
}
SMALL = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8")

# Validation sets: directory (or file stem) in the result's val_data path -> our column suffix.
EVAL_SETS = {
    "c4_val": "c4_val",  # C4 validation split (the paper's default loss, "C4 eval")
    "openlm": "openlm",  # "OpenLM eval" shard (only 120 sequences: noisy)
    "paloma_c4_en": "paloma_c4_en",
    "paloma_redpajama": "paloma_redpajama",
    "paloma_falcon-refinedweb": "paloma_refinedweb",
    "paloma_dolma_100_programing_languages": "paloma_code100",
    "paloma_ptb": "paloma_ptb",
    "val_de-en_100": "c4_de",  # "C4 German eval"
}

# The paper's 17-task split. Recomputed below from its rule (tasks on which at least one 0.154B
# model is more than 10 accuracy points above chance) and checked against this list.
SUBSET17 = {
    "arc_easy",
    "bigbench_cs_algorithms",
    "bigbench_dyck_languages",
    "bigbench_novel_concepts",
    "bigbench_operators",
    "bigbench_qa_wikidata",
    "boolq",
    "commonsense_qa",
    "copa",
    "coqa",
    "hellaswag",
    "hellaswag_zeroshot",
    "lambada_openai",
    "piqa",
    "pubmed_qa_labeled",
    "squad",
    "winograd",
}


def load_json(path: Path) -> dict:
    with open(path) as f:
        return json.load(f)


def eval_set_of(val_path: str, source: Path) -> str:
    parts = val_path.split("/")
    key = Path(parts[-1]).stem.split(".")[0] if "de-en" in val_path else parts[-2]
    if key not in EVAL_SETS:
        raise ValueError(f"{source}: unknown validation set in path {val_path!r}")
    return EVAL_SETS[key]


def read_run(model_json: Path, evals_dir: Path) -> tuple[dict, list[dict], dict]:
    d = load_json(model_json)
    hp = d["hyperparameters"]
    run_id = d["name"]
    if run_id != model_json.stem:
        raise ValueError(f"{model_json}: name {run_id!r} differs from the file name")
    config = Path(hp["model"]).stem
    if config not in ARCH:
        raise ValueError(f"{model_json}: unknown model config {hp['model']!r}")
    if d["dataset_name"] not in DATASETS:
        raise ValueError(f"{model_json}: unknown dataset {d['dataset_name']!r}")
    n, tokens, cc = int(hp["params"]), int(hp["tokens"]), float(hp["chinchilla_multiplier"])
    if tokens != round(20 * cc * n):
        raise ValueError(f"{model_json}: tokens {tokens} != 20 * {cc} * {n}")
    d_model, n_layers, n_heads, label = ARCH[config]
    row = {
        "run_id": run_id,
        "train_dataset": d["dataset_name"],
        "model_config": config,
        "size_label": label,
        "d_model": d_model,
        "n_layers": n_layers,
        "n_heads": n_heads,
        "n_params": n,
        "n_params_no_embed": int(hp["params_no_embed"]),
        "tokens": tokens,
        "tokens_per_param": tokens / n,
        "chinchilla_multiplier": cc,
        "flops": 6.0 * n * tokens,
    }
    long_rows = []
    for res in d["results"]:
        if len(res["val_data"]) != 1:
            raise ValueError(f"{model_json}: result with {len(res['val_data'])} val_data paths")
        name = eval_set_of(res["val_data"][0], model_json)
        if f"loss_{name}" in row:
            raise ValueError(f"{model_json}: eval set {name} appears twice")
        row[f"loss_{name}"] = res["loss"]
        long_rows.append(
            {
                "run_id": run_id,
                "eval_set": name,
                "loss": res["loss"],
                "loss_seq_ci95_lo": res["loss_sequences_lower_95"],
                "loss_seq_ci95_hi": res["loss_sequences_upper_95"],
                "loss_tok_ci95_lo": res["loss_tokens_lower_95"],
                "loss_tok_ci95_hi": res["loss_tokens_upper_95"],
                "n_sequences": res["sequences"],
                "n_tokens": res["tokens"],
            }
        )
    missing = set(EVAL_SETS.values()) - {r["eval_set"] for r in long_rows}
    if missing:
        raise ValueError(f"{model_json}: missing validation sets {sorted(missing)}")
    eval_json = evals_dir / f"evaluation_{run_id}_heavy.json"
    if not eval_json.exists():
        raise ValueError(f"{eval_json}: downstream evaluation file for {run_id} not found")
    acc = load_json(eval_json)["eval_metrics"]["icl"]
    return row, long_rows, acc


def read_tasks(meta_csv: Path, task_names: set[str]) -> dict[str, dict]:
    with open(meta_csv, newline="") as f:
        meta = {r["Eval Task"]: r for r in csv.DictReader(f)}
    missing = task_names - meta.keys()
    if missing:
        raise ValueError(f"{meta_csv}: no metadata for tasks {sorted(missing)}")
    return {
        t: {
            "task": t,
            "category": meta[t]["Task Category"],
            "task_type": meta[t]["Task Type"],
            "n_shots": int(meta[t]["#shots"]),
            "n_datapoints": int(meta[t]["#datapoints"]),
            "random_baseline_acc": float(meta[t]["Random baseline"]) / 100.0,
        }
        for t in sorted(task_names)
    }


def paper_role(row: dict) -> str:
    """Role of a run in the paper's default fit (Table 2 of the paper; fit_ds in the repo)."""
    config, m = row["model_config"], row["tokens_per_param"]
    if (config in SMALL and m == 20) or (config == "d=96_l=8_h=4" and m == 320):
        return "fit_both"  # fits L(C, M) and Err(L)
    if config == "open_lm_1b" and m == 20:
        return "fit_error_only"  # fits Err(L) only (its measured loss is the input)
    if config == "open_lm_7b" or config == "open_lm_1b":
        return "heldout"  # the predicted large runs
    return "unused"


def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: repr(v) if isinstance(v, float) else v for k, v in r.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkout", type=Path, help="root of a mlfoundations/scaling checkout")
    ap.add_argument("--out", type=Path, required=True, help="folder to write the tables to")
    args = ap.parse_args()
    models_dir, evals_dir = args.checkout / "exp_data/models", args.checkout / "exp_data/evals"
    runs, losses, accs = [], [], {}
    for model_json in sorted(models_dir.glob("*.json")):
        row, long_rows, acc = read_run(model_json, evals_dir)
        runs.append(row)
        losses.extend(long_rows)
        accs[row["run_id"]] = acc
    if len(runs) != 104:
        raise ValueError(f"{models_dir}: expected the paper's 104 runs, found {len(runs)}")
    task_names = set(next(iter(accs.values())))
    for run_id, acc in accs.items():
        if set(acc) != task_names or len(task_names) != 46:
            raise ValueError(f"{evals_dir}: {run_id} has tasks differing from the 46 expected")
    tasks = read_tasks(args.checkout / "exp_data/eval_metadata.csv", task_names)

    # Re-derive the 17-task split from the paper's rule and check it against the fixed list.
    small = [r["run_id"] for r in runs if r["model_config"] == "d=576_l=24_h=8"]
    above = {
        t
        for t in task_names
        if max(accs[r][t] for r in small) - tasks[t]["random_baseline_acc"] > 0.10
    }
    if above != SUBSET17:
        raise ValueError(f"17-task rule gives {sorted(above ^ SUBSET17)} differing from the list")
    for t in tasks.values():
        t["in_avg17"] = t["task"] in SUBSET17

    for row in runs:
        acc = accs[row["run_id"]]
        row["err_avg17"] = sum(1.0 - acc[t] for t in sorted(SUBSET17)) / len(SUBSET17)
        row["err_avg46"] = sum(1.0 - acc[t] for t in sorted(task_names)) / len(task_names)
        row["paper_role"] = paper_role(row)
        for t in sorted(task_names):
            row[f"acc_{t}"] = acc[t]
    order = {d: i for i, d in enumerate(DATASETS)}
    runs.sort(key=lambda r: (order[r["train_dataset"]], r["n_params"], r["tokens"]))
    rank = {r["run_id"]: i for i, r in enumerate(runs)}
    losses.sort(key=lambda r: (rank[r["run_id"]], r["eval_set"]))

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "runs.csv", runs)
    write_csv(args.out / "losses_long.csv", losses)
    write_csv(args.out / "tasks.csv", list(tasks.values()))
    print(f"wrote {len(runs)} runs, {len(losses)} losses, {len(tasks)} tasks to {args.out}")


if __name__ == "__main__":
    main()
