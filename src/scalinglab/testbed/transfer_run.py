"""Hernandez et al.'s transfer experiment written run by run to a table, as `scalinglab
testbed transfer` runs it: each measured run is added to the output file at once (atomically,
so a crash keeps every finished run), and `resume=True` goes on from an existing file,
skipping its runs and refusing settings that differ from the ones it was made with. The
command only parses its options, calls `run_transfer_design` and prints (issue 16)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError, ScalingLabError
from ..io.tables import read_table, write_table
from .transfer_exp import run_transfer
from .transfer_presets import TransferPreset


def run_transfer_design(
    design: TransferPreset,
    out_path: str | Path,
    *,
    resume: bool = False,
    on_start: Callable[[], None] | None = None,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[int, int]:
    """Run `design`, writing every run to `out_path` as it is measured.

    Parameters
    ----------
    design : TransferPreset
        The experiment (models, source and target corpora, sizes, training settings),
        checked (`design.check()`).
    out_path : path
        The runs table; an existing one is refused unless `resume`.
    resume : bool
        Go on from `out_path`: its runs are kept and skipped.
    on_start : callable, optional
        Called once the output file is checked, before the first run.
    on_run : callable, optional
        Called with each new run's row after it is written.

    Returns
    -------
    (int, int)
        Runs measured now, and runs in the file in all.

    Raises
    ------
    DataError
        `out_path` exists without `resume`, or its runs were made with other settings.
    """
    design.check()
    prior = pd.DataFrame()
    if Path(out_path).exists():
        if not resume:
            raise DataError(
                "exists: --resume continues that experiment (its runs are kept and skipped), "
                "or choose another --out",
                file=str(out_path),
            )
        prior = read_table(out_path, raw=True)
        prior.attrs["scalinglab_source"] = str(out_path)
    rows = prior.to_dict("records")
    if on_start is not None:
        on_start()

    def measured(r: dict[str, Any]) -> None:
        rows.append(r)
        write_table(pd.DataFrame(rows), out_path)  # atomic: a crash keeps every finished run
        if on_run is not None:
            on_run(r)

    try:
        new = run_transfer(
            design.models(),
            design.source,
            design.target,
            design.source_tokens,
            list(design.finetune_sizes),
            design.train_tokens,
            min_epochs=design.min_epochs,
            eval_every=design.eval_every,
            patience=design.patience,
            context=design.context,
            batch_size=design.batch_size,
            n_evals=design.n_evals,
            eval_batches=design.eval_batches,
            progress=measured,
            prior=prior,
        )
    except ValueError as exc:  # settings that differ from the resumed file's
        if isinstance(exc, ScalingLabError):
            raise
        raise DataError(str(exc)) from None
    return len(new), len(rows)
