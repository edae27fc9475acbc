"""Named designs of the transfer experiment (Hernandez et al. 2021, "Scaling laws for
transfer"): `scalinglab testbed transfer --preset cpu --out runs.csv`.

Hernandez et al. train each model size N twice on D_F tokens of a target distribution (Python
code): from scratch, and after pretraining on text. The from-scratch runs give L(N, D); a
pretrained run's loss read on that curve is worth D_E tokens of target data, and the data
transferred D_T = D_E - D_F follows D_T = k D_F^alpha N^beta (text -> python: alpha = 0.18,
beta = 0.38). To fit that law the design needs >= 2 sizes and >= 2 D_F from scratch (the
yardstick, Kaplan's L(N, D) has 4 parameters), D_F spread over orders of magnitude (alpha),
N spread as far as the machine allows (beta), and runs in the low-data regime, where more
target data still lowers the from-scratch loss (a run whose D_F saturates its model is
flagged `high_data` by `scalinglab transfer` and may be left out with --where).

The `cpu` preset, and why each choice:

- source kjv -> target python: English prose to code, the paper's text -> python pair at
  byte level (both corpora ship offline; `testbed corpora`). The target's validation text is
  held out from every D_F subset.
- 3 sizes, d_model 32 / 64 / 128 (2 layers, 2 heads): 25k, 100k and 397k non-embedding
  parameters, a 16x span of N, so N^0.38 moves D_T about 2.9x. A fourth size (d256, 1.6M)
  would cost more than the other three together on 2 cores.
- D_F = 12.5K, 50K, 200K, 800K bytes: 4 sizes 4x apart (64x, 1.8 orders), so D_F^0.18
  moves D_T about 2.1x. 800K is under 20 tokens per parameter for d64 and d128 (2.0M, 7.9M:
  the low-data regime the law is about); for d32 (510K) it is over, and `scalinglab
  transfer` may flag those runs `high_data`. Python's training split holds 2.0M bytes at the
  experiment's 2M chars, so every D_F is a distinct prefix of real code.
- 4M tokens of kjv pretraining per size (2 epochs of its 2.0M training bytes): more
  pretraining transfers more, and 4M is 10 tokens per parameter for the largest model, at
  about 5 minutes of one core.
- early stopping, as Hernandez et al. report the best loss: evaluate every 25K tokens at a
  constant rate, stop after 8 evaluations (200K tokens) without improvement, never before 4
  epochs of D_F (a plateau in the first epochs is noise), at most 4M tokens. Each run then
  ends at its own best point, so its loss depends on N and D_F, not on how long a schedule
  let it train (a cosine schedule that grows with D_F confounds the two). 25K between
  evaluations is 2 epochs of the smallest D_F, which overfits within a few.

Cost: `TransferPreset.estimate_seconds` (the sweep planner's per-token rate, calibrated on
this testbed's measured runs at one thread, plus 32 validation batches per evaluation) puts
every run at its cap at 357 thread-minutes, an upper bound: early stopping ends the small-D_F
runs after a few hundred thousand tokens, so at a third of the caps on average it is about
123 thread-minutes (`estimate_seconds(0.3)`), a little less in one process on 2 cores (two
torch threads). (The rate was recalibrated on the cpu sweep preset's 147 runs of its 75-min
invocation on 2026-12-03: these were 339 and 117 at the rate before, 299 and 103 at the
2026-12-02 rate, 157 and 54 before that.) Not yet
measured at full size. Resumable as every transfer experiment: `--resume` keeps the runs
already in --out and trains only the missing ones; the settings are recorded in each row
(`exp_*`) and a resumed file must keep them.

Any option given on the command line wins over the preset's value (`--preset cpu
--d-models 32,64` is the same design on two sizes); the rows record what was run.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class TransferPreset:
    """One transfer design: the corpora, model sizes, D_F grid and training rule."""

    name: str
    source: str
    target: str
    source_tokens: int  # pretraining tokens on the source, per model size
    finetune_sizes: tuple[int, ...]  # D_F: target tokens each run may see
    train_tokens: int  # cap on tokens trained per run (min_epochs x D_F may exceed it)
    d_models: tuple[int, ...]  # one 2-layer, 2-head model per width
    min_epochs: float = 0.0
    eval_every: int | None = None  # tokens between evaluations (early stopping)
    patience: int | None = None  # evaluations without improvement before stopping
    context: int = 128
    batch_size: int = 16
    n_evals: int = 6  # cosine mode only (no patience): evaluations per run
    eval_batches: int = 32  # validation batches per evaluation (run_transfer's)

    def models(self) -> list[dict[str, int]]:
        """The model of each width, as `run_transfer` takes them."""
        return [dict(d_model=d, n_layers=2, n_heads=2) for d in self.d_models]

    def runs(self) -> list[dict[str, Any]]:
        """Every run the design trains: per size, one pretraining run on the source, then
        from scratch and pretrained at each D_F; `max_tokens` is the run's cap."""
        out: list[dict[str, Any]] = []
        for d in self.d_models:
            out.append(
                {
                    "d_model": d,
                    "arm": "pretrain",
                    "finetune_size": 0,
                    "max_tokens": self.source_tokens,
                }  # fmt: skip
            )
            for d_f in self.finetune_sizes:
                cap = int(max(self.train_tokens, self.min_epochs * d_f))
                for arm in ("scratch", "pretrained"):
                    out.append({"d_model": d, "arm": arm, "finetune_size": d_f, "max_tokens": cap})
        return out

    def estimate_seconds(self, tokens_fraction: float = 1.0) -> float:
        """One-thread seconds, every run at `tokens_fraction` of its cap (1.0: the upper
        bound), at the sweep planner's calibrated per-token rate (`sweep.estimate`), with
        validation: `eval_batches` forward batches (a third of a training token's cost) per
        evaluation."""
        from .model import GPTConfig
        from .sweep.estimate import PRE_S_PER_FLOP, PRE_S_PER_TOKEN

        total = 0.0
        for r in self.runs():
            cfg = GPTConfig(vocab_size=260, context=self.context, d_model=r["d_model"],
                            n_layers=2, n_heads=2)  # fmt: skip
            per_token = PRE_S_PER_TOKEN + PRE_S_PER_FLOP * cfg.flops_per_token()
            trained = r["max_tokens"] * (1.0 if r["arm"] == "pretrain" else tokens_fraction)
            if r["arm"] != "pretrain" and self.eval_every:
                evals = trained / self.eval_every
            else:
                evals = self.n_evals
            eval_tokens = evals * self.eval_batches * self.batch_size * self.context
            total += (trained + eval_tokens / 3) * per_token
        return total

    def check(self) -> None:
        """Refuse a design that cannot run, naming the setting, before anything trains (a
        zero D_F or an odd width used to fail minutes in, or train nothing)."""
        from .train import TestbedError

        def bad(setting: str, why: str) -> TestbedError:
            return TestbedError(f"transfer design '{self.name}': {setting} {why}")

        for key in ("source_tokens", "train_tokens", "context", "batch_size", "n_evals",
                    "eval_batches"):  # fmt: skip
            if getattr(self, key) < 1:
                raise bad(key, f"must be >= 1, got {getattr(self, key)}")
        for key in ("finetune_sizes", "d_models"):
            values = getattr(self, key)
            if not values:
                raise bad(key, "needs at least one value")
            if len(set(values)) < len(values):
                raise bad(key, f"lists a value twice: {list(values)}")
            if min(values) < 1:
                raise bad(key, f"must all be >= 1, got {list(values)}")
        odd = [d for d in self.d_models if d % 2]
        if odd:
            raise bad("d_models", f"must be even (2 attention heads), got {odd}")
        if not 0 <= self.min_epochs < float("inf"):
            raise bad("min_epochs", f"must be a finite number >= 0, got {self.min_epochs}")
        if self.eval_every is not None and self.eval_every < 1:
            raise bad("eval_every", f"must be >= 1 tokens, got {self.eval_every}")
        if self.patience is not None:
            if self.patience < 1:
                raise bad("patience", f"must be >= 1 evaluations, got {self.patience}")
            if not self.eval_every:
                raise bad("patience", "needs eval_every (tokens between evaluations)")

    def settings(self) -> dict[str, Any]:
        """The design as the command line writes it (what a preset sets, for the record)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}


TRANSFER_PRESETS: dict[str, TransferPreset] = {
    "cpu": TransferPreset(
        name="cpu",
        source="kjv",
        target="python",
        source_tokens=4_000_000,
        finetune_sizes=(12_500, 50_000, 200_000, 800_000),
        train_tokens=4_000_000,
        d_models=(32, 64, 128),
        min_epochs=4.0,
        eval_every=25_000,
        patience=8,
    ),
}


def get_transfer_preset(name: str) -> TransferPreset:
    """A named transfer design; an unknown name is a TestbedError listing the known ones."""
    from .train import TestbedError

    try:
        return TRANSFER_PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(TRANSFER_PRESETS))
        raise TestbedError(f"unknown transfer preset '{name}'; choose from {known}") from None


def with_options(preset: TransferPreset, **given: Any) -> TransferPreset:
    """The preset with the options given on the command line (the caller passes only those
    the user set, so the preset's value stays wherever an option was left at its default)."""
    from .train import TestbedError

    known = {f.name for f in fields(preset)} - {"name"}
    unknown = sorted(set(given) - known)
    if unknown:
        raise TestbedError(f"unknown transfer setting {unknown}; known: {', '.join(sorted(known))}")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    return replace(preset, **values)
