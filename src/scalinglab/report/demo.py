"""The demo: the papers' laws fitted on scalinglab's own built-in testbed runs, an HTML report
and the tables behind it. A library function, so a notebook gets the fits and the numbers the
CLI prints (`scalinglab demo` only parses options, calls `run_demo` and prints its lines)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import OptionError, OutputPathError

OVERTRAINED_M = 10  # tokens per (non-embedding) parameter: the preset's over-trained runs
# file name -> the demo's frame it holds (examples.split), written beside the report
DEMO_TABLES = {
    "runs": "all",
    "ladder": "ladder",
    "downstream": "downstream",
    "methods": "methods",
    "alignment": "alignment",
}


def demo_files() -> list[str]:
    """The files the demo writes into its folder (the only ones --force replaces there)."""
    return ["report.html", "chinchilla_fit.json", *(f"{n}.csv" for n in DEMO_TABLES)]


def prepare_folder(folder: Path, force: bool) -> None:
    """The demo writes into a new or empty folder; one holding files only with force, and
    then it replaces only the demo's own files (never through a link)."""
    from ..io.safe_write import check_output

    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputPathError("--out must be a folder (not a file or a link)", file=str(folder))
    if folder.is_dir():
        present = sorted(p.name for p in folder.iterdir())
        if present and not force:
            shown = ", ".join(present[:5]) + (" ..." if len(present) > 5 else "")
            raise OutputPathError(
                f"the demo's folder already holds {len(present)} file(s) ({shown}); pass "
                "--force to replace the demo's files there, or choose another --out",
                file=str(folder),
            )
        for name in demo_files():
            check_output(folder / name, force=True, what="demo file")
    else:
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise OutputPathError(
                f"cannot create the folder ({exc.strerror})", file=str(folder)
            ) from None


@dataclass
class DemoResult:
    """What the demo fitted and wrote; `lines` is its summary, as `scalinglab demo` prints."""

    folder: Path
    report: Path
    chinchilla: Any  # FitResult, largest model held out
    audit: Any  # AuditResult, leave-largest-out
    downstream_ce: Any  # FitResult, largest budget held out
    alignment: Any  # pretraining-data choice (ranked by chrF)
    methods: Any  # finetuning-method choice
    overtrain: Any = None  # FitResult, the over-trained run held out
    loss_to_error: Any = None  # FitResult, the largest model held out
    figures: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0


ABOUT = (
    "<p>Measured, not simulated: every row is a model trained by <code>scalinglab testbed "
    "run --preset cpu</code> on 2 CPU cores, in one invocation. Loss and downstream CE are "
    "nats per token of a shared 2,048-token BPE vocabulary; accuracy is a 4-choice verse "
    "cloze on 1,000 held-out verses (chance 0.25, standard error at most 0.016); BLEU and "
    "chrF are greedy en&rarr;es translations of 156 held-out Bible verses (sacrebleu).</p>"
    "<p>The pretraining laws are fitted on budgets of at least {min_fit:,} tokens (60 "
    "optimizer steps): at the preset's smallest budget (31 steps) the larger models are "
    "still worse than smaller ones, an optimisation transient rather than scaling. The "
    "downstream-CE law is fitted from {min_down:,} pretraining tokens on: "
    "below that, downstream CE after finetuning is dominated by the finetuning set. Each "
    "law's section holds out the runs it is checked on: the largest model (Chinchilla, "
    "loss &rarr; error), the over-trained run of the second-largest model (over-training), "
    "the largest pretraining budget (downstream CE).</p>"
)


def run_demo(
    out_dir: str | Path = "scalinglab-demo",
    *,
    force: bool = False,
    command: str = "scalinglab demo",
    plotly: str = "inline",
    formats: Sequence[str] = ("html",),
    echo: Callable[[str], None] | None = None,
) -> DemoResult:
    """Fit the papers' laws on the built-in cpu-preset runs and write the report
    (`out_dir/report.html`), the chinchilla fit and the tables behind each section.

    `echo` receives each summary line as soon as it is known (the CLI prints them); static
    figure `formats` (png, svg, pdf) go to `out_dir/figures/` and need kaleido."""
    from ..examples import (
        DOWNSTREAM_MIN_TOKENS,
        MIN_FIT_TOKENS,
        MIXTURE,
        TESTBED_FILE,
        example_path,
        testbed_runs,
    )
    from ..io.tables import write_table
    from ..query import select
    from . import build
    from .export import check_formats, export_figures
    from .html import PLOTLY_MODES, Report

    folder = Path(out_dir)
    static = check_formats(formats)  # before any work: a missing kaleido is named at once
    if plotly not in PLOTLY_MODES:
        raise OptionError(f"plotly must be one of {', '.join(PLOTLY_MODES)}, not {plotly!r}")
    prepare_folder(folder, force)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if echo is not None:
            echo(line)

    t0 = time.perf_counter()
    parts = testbed_runs()
    down = parts["downstream"][parts["downstream"]["finetune_size"] == 1000]
    lad = parts["ladder"][parts["ladder"]["tokens"] >= MIN_FIT_TOKENS]
    largest = lad["n_params"].max()
    say(
        f"scalinglab {__version__} demo: {len(parts['all'])} runs "
        "of the cpu testbed preset (small transformers pretrained and finetuned on the KJV, "
        "Reina-Valera and Python corpora by scalinglab's testbed; real measurements)"
    )
    rep = Report("scalinglab demo report", "built-in testbed runs: the cpu preset")
    about = rep.section("about", "About this data")
    about.parts.append(ABOUT.format(min_fit=MIN_FIT_TOKENS, min_down=DOWNSTREAM_MIN_TOKENS))
    # the rows the laws use, said as the query that selects them from the whole file
    chosen = f"method == 'none' and pretrain_data == '{MIXTURE}' and tokens >= {MIN_FIT_TOKENS}"
    build.overview_section(rep, lad, where=(chosen, len(parts["all"])))
    held = f"n_params >= {int(largest)}"  # exact: `:g` rounds to 6 digits
    common: dict[str, Any] = dict(metric=None, mapping=None, preset=None, seed=0)
    res = build.law_section(rep, lad, "chinchilla", holdout=held, n_bootstrap=1000, **common)
    aud = build.audit_section(
        rep, lad, ["chinchilla"], holdout=None, axis="n_params", n_bootstrap=200, **common
    )
    ot_run, ot_held = overtrained_holdout(lad)
    over = build.law_section(rep, lad, "overtrain", holdout=ot_held, n_bootstrap=200, **common)
    gadre = loss_error_runs(parts["all"])
    l2e = build.law_section(rep, gadre, "loss_to_error", holdout=held, n_bootstrap=200, **common)
    down_law = down[down["tokens"] >= DOWNSTREAM_MIN_TOKENS]
    top = down_law["tokens"].max()
    dce = build.law_section(
        rep,
        down_law,
        "downstream_ce",
        holdout=f"tokens >= {int(top)}",
        n_bootstrap=500,
        **common,
    )
    align = build.pretrain_section(rep, parts["alignment"], 4e6, metric="chrf")
    methods = parts["methods"]
    # decide at the largest model finetuned with every method: the law's crossing can be
    # checked against the runs there (a larger, unmeasured size is pure extrapolation)
    mc = build.method_section(
        rep,
        methods.assign(loss=methods["downstream_ce"]),
        "n_params",
        {"n_params": float(methods["n_params"].max())},
    )
    build.plan_section(rep, res, 1e16)
    path = rep.write(
        folder / "report.html",
        command=command,
        data_files=[str(example_path(TESTBED_FILE))],
        plotly=plotly,
    )
    res.to_json(folder / "chinchilla_fit.json")
    for name, part in DEMO_TABLES.items():  # the tables behind each section, for the tour
        write_table(parts[part], folder / f"{name}.csv")
    figures = export_figures(rep.figures, folder / "figures", static) if static else []

    test = select(lad, held)
    rel = np.abs(res.predict(test) - test["loss"].to_numpy()) / test["loss"].to_numpy()
    nxt = aud.folds["next_scale_rel_error"]
    say(
        f"chinchilla fitted on {res.n_points_} runs of the "
        f"{lad['n_params'].nunique() - 1} smaller models: "
        + ", ".join(f"{k}={res.params_[k]:.3f}" for k in ("E", "alpha", "beta"))
    )
    say(
        f"held-out largest model ({largest / 1e6:.2f}M params, {len(test)} budgets): mean "
        f"relative error {rel.mean():.2%} (max {rel.max():.2%}); leave-largest-out "
        f"next-scale error {nxt.mean():.2%} on average"
    )
    for line in _overtrain_lines(over, lad, ot_run):
        say(line)
    for line in _loss_error_lines(l2e, gadre, held):
        say(line)
    last = down_law[down_law["tokens"] == top]
    pred = float(np.asarray(dce.predict(last))[0])
    measured = float(last["downstream_ce"].iloc[0])
    say(
        f"downstream CE after FMT (1,000 pairs) vs pretraining tokens, Isik et al.'s law fitted "
        f"on {dce.n_points_} budgets from {DOWNSTREAM_MIN_TOKENS / 1e6:g}M: "
        f"E={dce.params_['E']:.3f}, alpha={dce.params_['alpha']:.3f}; predicts the held-out "
        f"{top / 1e6:.0f}M run at {pred:.3f} vs {measured:.3f} measured "
        f"({abs(pred / measured - 1):.1%} off)"
        + (
            f"; but {dce.n_points_} points for {dce.law.n_params} parameters is an exact "
            "interpolation with no interval: one check, not a forecast to rely on"
            if dce.exact_fit_
            else ""
        )
    )
    for line in _alignment_lines(align, parts["alignment"]):
        say(line)
    for note in mc.notes:
        if note.startswith("law:") or "fmt vs prompt" in note and note.startswith("measured"):
            say(f"  {note}")
    say(_zeroshot_line(parts["methods"]))
    seconds = time.perf_counter() - t0
    say(f"report: {path.resolve()}  ({seconds:.1f} s)")
    if figures:
        say(f"figures: {len(figures)} files in {folder / 'figures'}")
    say(
        f"data: {', '.join(f'{folder / n}.csv' for n in DEMO_TABLES)}; try "
        f"`scalinglab fit {folder / 'ladder.csv'} --law chinchilla "
        f"--where 'tokens >= {MIN_FIT_TOKENS}'`"
    )
    return DemoResult(
        folder=folder,
        report=path,
        chinchilla=res,
        audit=aud,
        downstream_ce=dce,
        alignment=align,
        methods=mc,
        overtrain=over,
        loss_to_error=l2e,
        figures=figures,
        lines=lines,
        seconds=seconds,
    )


def overtrained_holdout(ladder: pd.DataFrame) -> tuple[pd.Series, str]:
    """Gadre et al.'s check: the largest model's over-trained run (the preset trains it at
    M = 10 tokens per parameter, past its ladder's 0.2-2.5), held out of the fit."""
    over = ladder[ladder["tokens_per_param"] >= 0.95 * OVERTRAINED_M]  # tokens are rounded
    runs = over[over["n_params"] == over["n_params"].max()]
    run = runs.loc[runs["tokens"].idxmax()]
    return run, f"d_model == {int(run['d_model'])} and tokens >= {int(run['tokens'])}"


def loss_error_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The mixture's pretraining runs with their cloze error, the untrained model included:
    Gadre et al.'s law maps loss to error, and a random initialisation is the ladder's
    high-loss end (error at chance), measured like every other run."""
    from ..examples import MIXTURE

    pre = runs[(runs["method"] == "none") & (runs["pretrain_data"] == MIXTURE)]
    return pre.assign(error=1 - pre["accuracy"])


def _overtrain_lines(over: Any, ladder: pd.DataFrame, run: pd.Series) -> list[str]:
    pred = float(np.asarray(over.predict(ladder.loc[[run.name]]))[0])
    m = ladder["tokens_per_param"]
    return [
        f"over-training (Gadre et al.'s L(C, M)) fitted on {over.n_points_} runs with M = "
        f"{m.min():.1f}-{m.max():.0f} tokens per parameter: predicts the held-out over-trained "
        f"run (d_model {int(run['d_model'])}, {run['tokens'] / 1e6:.1f}M tokens, M = "
        f"{run['tokens_per_param']:.0f}) at {pred:.3f} vs {run['loss']:.3f} measured "
        f"({pred / run['loss'] - 1:+.1%})"
    ]


def _loss_error_lines(l2e: Any, runs: pd.DataFrame, held: str) -> list[str]:
    from ..query import select

    test = select(runs, held)
    err = np.asarray(l2e.predict(test)) - test["error"].to_numpy()
    acc = runs["accuracy"]
    return [
        f"cloze accuracy spans {acc.min():.2f}-{acc.max():.2f} over the pretraining runs "
        f"(chance 0.25; r(error, loss) = {np.corrcoef(runs['error'], runs['loss'])[0, 1]:.2f}); "
        f"Gadre et al.'s loss -> error law fitted on the smaller models predicts the largest "
        f"model's {len(test)} runs within {np.abs(err).max():.3f} absolute error "
        f"(mean {np.abs(err).mean():.3f})"
    ]


def _alignment_lines(align: Any, alignment: pd.DataFrame) -> list[str]:
    r = align.ranking.sort_values("rank")
    lines = [
        f"pretraining corpus -> en->es chrF after FMT (1,000 pairs), forecast at "
        f"{align.target_tokens / 1e6:g}M tokens: "
        + "; ".join(
            f"{row['pretrain_data']}: chrF {row['chrf_forecast']:.1f} (best measured "
            f"{row['chrf_observed_best']:.1f}), CE {row['ce_forecast']:.2f}"
            for _, row in r.iterrows()
        )
    ]
    par = alignment[alignment["pretrain_data"] == "bible-parallel"].sort_values("tokens")
    if len(par) >= 2:
        lo, hi = par.iloc[0], par.iloc[-1]
        lines.append(
            f"  the aligned corpus (parallel verses) lifts chrF from {lo['chrf']:.1f} at "
            f"{lo['tokens'] / 1e3:.0f}k to {hi['chrf']:.1f} at {hi['tokens'] / 1e6:.0f}M "
            f"pretraining tokens; BLEU stays {par['bleu'].min():.1f}-{par['bleu'].max():.1f} "
            "at this scale"
        )
    lines += [f"  {n}" for n in align.notes if "not a reliable proxy" in n][:2]
    return lines


def _zeroshot_line(methods: pd.DataFrame) -> str:
    z = methods.groupby("method")[["pretrain_accuracy", "zeroshot_accuracy"]].mean()
    return "zero-shot cloze accuracy after finetuning (before -> after, mean over runs): " + (
        ", ".join(
            f"{m} {r['pretrain_accuracy']:.3f} -> {r['zeroshot_accuracy']:.3f}"
            for m, r in z.iterrows()
        )
    )
