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

from .._version import __version__
from ..errors import OptionError, OutputPathError

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
    alignment: Any  # pretraining-data choice
    methods: Any  # finetuning-method choice
    figures: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0


ABOUT = (
    "<p>Measured, not simulated: every row is a model trained by <code>scalinglab testbed "
    "run --preset cpu</code> on 2 CPU cores. Loss and downstream CE are nats per token of "
    "a shared 2,048-token BPE vocabulary; BLEU and chrF are greedy en&rarr;es "
    "translations of 100 held-out Bible verses (sacrebleu).</p>"
    "<p>The laws are fitted on budgets of at least {min_fit:,} tokens (60 "
    "optimizer steps): at the preset's smallest budget (31 steps) the larger models are "
    "still worse than smaller ones, an optimisation transient rather than scaling. The "
    "downstream-CE law is fitted from {min_down:,} pretraining tokens on: "
    "below that, downstream CE after finetuning is flat (the finetuning set dominates), "
    "and the largest budget is held out to check the forecast.</p>"
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
    build.overview_section(rep, lad)
    held = f"n_params >= {int(largest)}"  # exact: `:g` rounds to 6 digits
    common: dict[str, Any] = dict(metric=None, mapping=None, preset=None, seed=0)
    res = build.law_section(rep, lad, "chinchilla", holdout=held, n_bootstrap=1000, **common)
    aud = build.audit_section(
        rep, lad, ["chinchilla"], holdout=None, axis="n_params", n_bootstrap=200, **common
    )
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
    align = build.pretrain_section(rep, parts["alignment"], 4e6)
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
    last = down_law[down_law["tokens"] == top]
    pred = float(np.asarray(dce.predict(last))[0])
    measured = float(last["downstream_ce"].iloc[0])
    flat = down[down["tokens"] < DOWNSTREAM_MIN_TOKENS].sort_values("tokens")["downstream_ce"]
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
    say(
        f"  below {DOWNSTREAM_MIN_TOKENS / 1e6:g}M pretraining tokens it is flat "
        f"({flat.iloc[0]:.2f} -> {flat.iloc[-1]:.2f}): the finetuning set dominates what the "
        "weak base model brings"
    )
    al = parts["alignment"]
    at = al[al["tokens"] == al["tokens"].max()].set_index("pretrain_data")
    say(
        f"pretraining corpus -> en->es after FMT at {at['tokens'].iloc[0] / 1e6:.1f}M tokens: "
        + "; ".join(
            f"{k}: CE {r['downstream_ce']:.3f}, chrF {r['chrf']:.1f}, BLEU {r['bleu']:.2f}"
            for k, r in at.sort_values("downstream_ce").iterrows()
        )
    )
    for note in align.notes:
        if "too low to rank" in note:
            say(f"  {note}")
    # the mixture was also pretrained to the forecast's target (downstream experiment): the
    # alignment forecast can be scored against a run it never saw
    mix = align.ranking.set_index("pretrain_data").loc[MIXTURE]
    nearest = (down["tokens"] - align.target_tokens).abs().idxmin()
    budgets = parts["alignment"]["tokens"]
    say(
        "  Isik et al.'s CE law fitted per corpus on these budgets "
        f"({budgets.min() / 1e3:.0f}k-{budgets.max() / 1e6:.1f}M) misses its own "
        f"data by up to {align.ranking['ce_fit_max_rel_error'].max():.1%}; its "
        f"{align.target_tokens / 1e6:g}M forecast for {MIXTURE} is {mix['ce_forecast']:.3f} vs "
        f"{down.loc[nearest, 'downstream_ce']:.3f} measured. The tool flags such forecasts "
        "(the report's notes); the law holds from 1M on (above)"
    )
    for note in mc.notes:
        if "fmt vs lora" in note or "lora is better below" in note:
            say(f"  {note}")
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
        figures=figures,
        lines=lines,
        seconds=seconds,
    )
