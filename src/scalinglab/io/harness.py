"""lm-evaluation-harness results -> tidy rows, and one row per model x checkpoint.

Files are found by content, not name: under each folder given (searched recursively), a
`.json` file is a results file when it holds a `results` object of task -> metrics and a
`config`. Both eras are read: the v0.3-era layout (`acc`, `acc_stderr`, one
`config.num_fewshot` per file, MMLU as `hendrycksTest-<subject>`) and v0.4 (`acc,none`,
`n-shot` per task, `groups` / `group_subtasks`, `date`). Task names are kept as the files
give them.

`read_harness` gives long rows (one per model x checkpoint x task x metric x filter), with
`is_group` / `parent` from v0.4's `group_subtasks` (a group's value is the harness's own:
it sits beside its sub-tasks and is never recomputed from them). Duplicates: where two files
hold the same task at the same shot count for one model x checkpoint, the file with the
latest `date` (else the timestamp in a `results_<timestamp>.json` name) wins; undated files
lose to dated ones; among undated files the last in path order wins. Every duplicate is
named in `attrs["harness_duplicates"]`.

Model size and tokens come, in order of precedence, from `--set` values, a side table
(matched by the rules in `harness_names`), the model args (`n_params=`, `tokens=`), the
harness's own parameter count (`config.model_num_parameters`), the checkpoint step x
`tokens_per_step` (from `--set` or the side table), and, only when no side table is given,
the model name and revision (`1.1B`, `step-1431k`, `3T`, `tokens84B`; nominal). Where each
value came from is kept in `*_source` columns.

`aggregate_error` turns the long rows into one row per model x checkpoint: `score_<task>`
(the task's metric: `acc_norm` > `acc` > `exact_match` by default, filter `none` >
`strict-match`), `shots_<task>`, `ce_<task>` with `ce_<task>_unit` for loss-like metrics
(ln of a perplexity; bits per byte x ln 2), and `accuracy` / `error` / `chance` averaged
over the top-level tasks (groups by their own value, ungrouped tasks) or over the leaves,
never both a group and its own sub-tasks.
"""

from __future__ import annotations

from ..errors import SideTableMismatchError
from .harness_aggregate import aggregate_error
from .harness_files import discover, find_result_files
from .harness_parse import parse_model_args, read_harness_file
from .harness_read import DUPLICATE_RULE, read_harness, run_of
from .harness_summary import summary_lines
from .harness_tasks import CHANCE_SOURCE, chance_accuracy, chance_source

__all__ = [
    "CHANCE_SOURCE",
    "DUPLICATE_RULE",
    "SideTableMismatchError",
    "aggregate_error",
    "chance_accuracy",
    "chance_source",
    "discover",
    "find_result_files",
    "parse_model_args",
    "read_harness",
    "read_harness_file",
    "run_of",
    "summary_lines",
]
