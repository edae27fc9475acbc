"""What scalinglab knows about common lm-evaluation-harness tasks and metrics.

- `CHANCE_ACCURACY`: the accuracy of random guessing per task, with its source (the number of
  answer choices) in `CHANCE_SOURCE`. `None` means "no single chance level" (it varies per
  question); such a task needs a chance accuracy from the user (`--chance TASK=ACC`).
- `METRIC_PREFERENCE`: the metric that scores a task by default, best first.
- `LOSS_METRICS`: loss-like metrics and how each becomes a cross-entropy in nats.

Task names are matched as the files give them; MMLU's sub-tasks (`mmlu_<subject>` in v0.4,
`hendrycksTest-<subject>` in the v0.3-era harness) share MMLU's entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# task -> (chance accuracy or None, where it comes from)
_TASKS: dict[str, tuple[float | None, str]] = {
    "arc_easy": (0.25, "4 answer choices (a few questions have 3 or 5)"),
    "arc_challenge": (0.25, "4 answer choices (a few questions have 3 or 5)"),
    "hellaswag": (0.25, "4 candidate endings"),
    "piqa": (0.5, "2 candidate solutions"),
    "sciq": (0.25, "4 answer choices"),
    "winogrande": (0.5, "2 options for the blank"),
    "lambada": (0.0, "open vocabulary: the target word must be the greedy continuation"),
    "lambada_openai": (0.0, "open vocabulary: the target word must be the greedy continuation"),
    "lambada_standard": (0.0, "open vocabulary: the target word must be the greedy continuation"),
    "mmlu": (0.25, "4 answer choices"),
    "openbookqa": (0.25, "4 answer choices"),
    "boolq": (0.5, "yes / no"),
    "copa": (0.5, "2 alternatives"),
    "logiqa": (0.25, "4 answer choices"),
    "wsc": (0.5, "yes / no (SuperGLUE WSC: does the pronoun refer to the candidate)"),
    "wsc273": (0.5, "2 candidate referents"),
    "rte": (0.5, "2 classes (entailment / not)"),
    "wic": (0.5, "2 classes (same sense / not)"),
    "cb": (1 / 3, "3 classes (entailment / contradiction / neutral)"),
    "anli_r1": (1 / 3, "3 classes"),
    "anli_r2": (1 / 3, "3 classes"),
    "anli_r3": (1 / 3, "3 classes"),
    "mnli": (1 / 3, "3 classes"),
    "qnli": (0.5, "2 classes"),
    "mathqa": (0.2, "5 answer choices"),
    "race": (0.25, "4 answer choices"),
    "social_iqa": (1 / 3, "3 answer choices"),
    "siqa": (1 / 3, "3 answer choices"),
    "commonsense_qa": (0.2, "5 answer choices"),
    "gsm8k": (0.0, "free-form number scored by exact match"),
    "truthfulqa": (None, "varies: a mean of mc1 and mc2, whose choices vary per question"),
    "truthfulqa_mc1": (None, "varies: one true answer among a per-question number of choices"),
    "truthfulqa_mc2": (None, "varies: probability mass on the true answers, per-question counts"),
}
_PREFIXES: tuple[tuple[str, str], ...] = (("mmlu_", "mmlu"), ("hendrycksTest-", "mmlu"))

CHANCE_ACCURACY: dict[str, float | None] = {k: v for k, (v, _) in _TASKS.items()}
CHANCE_SOURCE: dict[str, str] = {k: s for k, (_, s) in _TASKS.items()}

# Score a task with the first of these it reports (a metric key may carry a filter:
# gsm8k reports exact_match,strict-match and exact_match,flexible-extract).
METRIC_PREFERENCE: tuple[str, ...] = ("acc_norm", "acc", "exact_match")
FILTER_PREFERENCE: tuple[str, ...] = ("none", "strict-match")


def _ln(v: float) -> float:
    return math.log(v) if v > 0 else math.nan


# metric -> (value -> nats, unit). ppl / perplexity: exp of the mean negative log-likelihood of
# each example's continuation (LAMBADA: its target word), so ln(ppl) is nats per target.
LOSS_METRICS: dict[str, tuple[Callable[[float], float], str]] = {
    "ppl": (_ln, "nats/target"),
    "perplexity": (_ln, "nats/target"),
    "word_perplexity": (_ln, "nats/word"),
    "byte_perplexity": (_ln, "nats/byte"),
    "bits_per_byte": (lambda v: v * math.log(2), "nats/byte"),
}
LOSS_PREFERENCE: tuple[str, ...] = tuple(LOSS_METRICS)


def _family(task: str) -> str | None:
    if task in _TASKS:
        return task
    for prefix, family in _PREFIXES:
        if task.startswith(prefix):
            return family
    return None


def chance_accuracy(task: str) -> float | None:
    """The built-in chance accuracy of a task (None: unknown, or it varies per question).

    Parameters
    ----------
    task : str
        A harness task name, as the results file gives it.

    Returns
    -------
    float or None
        The accuracy of guessing among the task's answer choices.
    """
    fam = _family(task)
    return None if fam is None else CHANCE_ACCURACY[fam]


def chance_source(task: str) -> str | None:
    """Where a task's built-in chance accuracy comes from, so a summary can cite it.

    Parameters
    ----------
    task : str
        A harness task name, as the results file gives it.

    Returns
    -------
    str or None
        The source (e.g. the number of answer choices); None for a task not in the table.
    """
    fam = _family(task)
    return None if fam is None else CHANCE_SOURCE[fam]
