"""Build tidy CSVs from the OLMo model-ladder evaluation logs in allenai/OLMo-ladder.

Usage:
    git clone https://github.com/allenai/OLMo-ladder
    git -C OLMo-ladder checkout 67a3f440f787d020da35e3ca8eeae475fae754f5
    python scripts/data/olmo_ladder.py OLMo-ladder OUT_DIR

Source: src/scripts/paper/data/ladder-runs/*.csv (one W&B export per run, one row per
evaluated checkpoint, ~100 columns). Writes runs.csv (one row per run), checkpoints.csv (one row
per evaluated checkpoint: tokens, learning rate, 11 validation losses) and tasks.csv (one row per
checkpoint x task split: bpb, rc accuracy (length-normalised, raw for BoolQ, as the paper),
soft, soft_log, mc accuracy). Tokens and the model
constants follow the repository's own loader (src/scaling/utils.py). Standard library only;
reads the local clone, downloads nothing.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

DATA = Path("src/scripts/paper/data/ladder-runs")
# src/scaling/utils.py: MODEL_PARAMS ("non-embedding parameter count") and MODEL_FLOPS (used by
# the repo as FLOPs per token: C = D * MODEL_FLOPS).
MODEL_PARAMS = {
    "190M": 190354176,
    "370M": 371262464,
    "760M": 758220288,
    "1.3B": 1279395840,
    "3.2B": 3169537280,
    "7B": 6887575552,
    "13B": 13202396160,
}
MODEL_FLOPS = {
    "190M": 1903391232,
    "370M": 3443922944,
    "760M": 6373843968,
    "1.3B": 10109071360,
    "3.2B": 22970355200,
    "7B": 49412071424,
    "13B": 91335915520,
}
FILE_SIZE = {"190M": "190M", "370M": "370M", "760M": "760M", "1B": "1.3B", "3B": "3.2B"}
# The 7B/13B files kept; the others (partial step ranges, and a separate medium-LR 7B run) are
# row subsets of these or a different run. The 13B "final" file is a subset of the 13B "full" one.
TARGETS = {
    "peteish7_eval_full.csv": ("7B-4T", "7B"),
    "peteish7_eval_anneal.csv": ("7B-4T-anneal", "7B"),
    "peteish13_eval_full.csv": ("13B-5T", "13B"),
}
VAL_SETS = [
    "c4_en",
    "dolma_books",
    "dolma_common-crawl",
    "dolma_pes2o",
    "dolma_reddit",
    "dolma_stack",
    "dolma_wiki",
    "ice",
    "m2d2_s2orc",
    "pile",
    "wikitext_103",
]
TASK_RE = re.compile(
    r"eval/downstream(?:_bpb|_soft|_soft_log)?/(.+?)_(val|test)_(rc|mc)_5shot_"
    r"(bpb|len_norm|acc|soft|soft_log)$"
)


def fmt(x: str, digits: int = 9) -> str:
    """9 significant digits round-trip the logged float32 values exactly."""
    return f"{float(x):.{digits}g}"


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def tokens_of(row: dict[str, str]) -> int:
    """As src/scaling/utils.py: total_tokens when logged, else step * batch_size_in_tokens."""
    if row.get("throughput/total_tokens"):
        return int(float(row["throughput/total_tokens"]))
    return int(float(row["_step"])) * int(float(row["batch_size_in_tokens"]))


def paper_fit_files(repo: Path) -> dict[str, str]:
    """File name -> mode ('train' or 'eval') in the paper's configs/final.json."""
    cfg = json.loads((repo / "src/scripts/paper/configs/final.json").read_text())
    return {Path(p).name: c["mode"] for c in cfg.values() for p in c["paths"]}


def main(repo: Path, out: Path) -> None:
    in_paper = paper_fit_files(repo)
    runs, checkpoints, tasks = [], [], []
    for path in sorted((repo / DATA).glob("*.csv")):
        name = path.name
        m = re.fullmatch(r"(190M|370M|760M|1B|3B)-([0-9.]+)xC(-rerun)?\.csv", name)
        if m:
            size = FILE_SIZE[m.group(1)]
            run = f"{size}-{m.group(2)}xC{m.group(3) or ''}"
            role, mult = "ladder", float(m.group(2))
        elif name in TARGETS:
            run, size = TARGETS[name]
            role, mult = "target", None
        else:
            continue
        rows = read(path)
        paper_role = in_paper.get(name) or ("eval" if run == "13B-5T" else "")
        for row in rows:
            step = int(float(row["_step"])) if row.get("_step") else None
            tok = tokens_of(row)
            checkpoints.append(
                [
                    run,
                    "" if step is None else step,
                    tok,
                    fmt(row["optim/learning_rate_group0"], 6)
                    if row.get("optim/learning_rate_group0")
                    else "",
                ]
                + [fmt(row[f"eval/{v}-validation/CrossEntropyLoss"]) for v in VAL_SETS]
            )
            by_task: dict[tuple[str, str], dict[str, str]] = {}
            for key, value in row.items():
                t = TASK_RE.match(key)
                if not t:
                    continue
                task, split, fmt_kind, metric = t.groups()
                slot = by_task.setdefault((task, split), {})
                if fmt_kind == "mc":
                    if metric in ("len_norm", "acc"):
                        slot["mc_acc"] = value
                    continue  # mc bpb is not logged in these files
                if metric in ("len_norm", "acc"):
                    if "rc_acc" in slot:
                        raise ValueError(f"{name}: two rc accuracies for {task}_{split}")
                    if metric != ("acc" if task == "boolq" else "len_norm"):
                        raise ValueError(f"{name}: unexpected rc metric {metric} for {task}")
                    slot["rc_acc"] = value
                else:
                    slot[metric] = value
            for (task, split), s in sorted(by_task.items()):
                tasks.append(
                    [
                        run,
                        "" if step is None else step,
                        tok,
                        task,
                        split,
                        fmt(s["bpb"]),
                        fmt(s["rc_acc"]),
                        fmt(s["soft"]),
                        fmt(s["soft_log"]),
                        fmt(s["mc_acc"]) if "mc_acc" in s else "",
                    ]
                )
        last = rows[-1]
        runs.append(
            [
                run,
                size,
                MODEL_PARAMS[size],
                MODEL_FLOPS[size],
                role,
                "" if mult is None else mult,
                paper_role,
                len(rows),
                int(float(last["batch_size_in_tokens"])),
                last["learning_rate_peak"],
                "" if not last.get("_step") else int(float(last["_step"])),
                tokens_of(last),
                f"{DATA.as_posix()}/{name}",
            ]
        )
    out.mkdir(parents=True, exist_ok=True)
    write(
        out / "runs.csv",
        [
            "run",
            "size",
            "n_params",
            "flops_per_token",
            "role",
            "chinchilla_multiple",
            "paper_role",
            "n_checkpoints",
            "batch_tokens",
            "lr_peak",
            "final_step",
            "final_tokens",
            "source",
        ],
        runs,
    )
    write(
        out / "checkpoints.csv",
        ["run", "step", "tokens", "lr"] + [f"loss_{v}" for v in VAL_SETS],
        checkpoints,
    )
    write(
        out / "tasks.csv",
        ["run", "step", "tokens", "task", "split", "bpb", "rc_acc", "soft", "soft_log", "mc_acc"],
        tasks,
    )
    print(f"{len(runs)} runs, {len(checkpoints)} checkpoints, {len(tasks)} task rows -> {out}")


def write(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
