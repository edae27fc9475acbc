"""Evaluation: the downstream metrics of the testbed, chosen to move at 10^4-10^6 parameters.

Accuracy (Gadre et al.'s loss -> error law needs an error that falls with loss): a 4-way
cloze on the translation task's held-out verses, 1,000 items half English half Spanish
(`data.verse_cloze_items`). What makes it learnable here: the answer is the verse's last word
scored with its leading space, encoded with its context (as the model read words in
training), and the distractors have the answer's token count and corpus frequency, so a
model cannot win on length or unigram frequency and only context can lift it above chance.
Chance is 0.25; the standard error of an accuracy p on n items is sqrt(p (1 - p) / n),
at most 0.016 for 1,000 items (exported as `accuracy_se`). A probe with the cpu preset's
models measured 0.21 -> 0.49 across sizes and budgets, r(error, loss) = 0.96; "pick the
next verse" and last-word exact match stayed near chance (these models barely use a
two-verse context). Every choice of every item is one row of a batched forward pass.

Translation (Isik et al.): en->es verses, greedy decoding with the KV cache. chrF is the
headline at CPU scale: BLEU needs matching 4-grams, which models this small rarely produce
(0.1-3 BLEU), while chrF's character n-grams credit partly right words, so it moves with
pretraining (probe: +7.5 [6.4, 8.7] chrF from 0.25M to 4M tokens, BLEU <= 3.3). Each run
reports chrF with a 95% bootstrap interval over its test verses and BLEU beside it (BLEU is
the headline on the gpu preset); two runs compare by a paired bootstrap over the same verses
(`paired_bootstrap`, Koehn 2004), whose interval is narrower than the runs' own because the
verses' difficulty is shared.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .train import Tuned, encode_pair


def bleu_score(hypotheses: list[str], references: list[str]) -> float:
    import sacrebleu

    return float(sacrebleu.corpus_bleu(hypotheses, [references]).score)


def chrf_score(hypotheses: list[str], references: list[str]) -> float:
    import sacrebleu

    return float(sacrebleu.corpus_chrf(hypotheses, [references]).score)


@torch.no_grad()
def translate(
    tuned: Tuned, sources: list[str], tok, device, max_new: int = 160, batch: int = 256
) -> list[str]:
    """Greedy translations, `batch` sources a forward pass. Sources of different token
    lengths decode together (`GPT.generate_ragged`: left-padded, own positions, padding
    masked), each as it would alone. Decoding them in groups of equal length took ~30
    groups of a few rows for 156 test verses, 8-9 s a finetuning run; one batch takes ~1 s."""
    model = tuned.model
    model.eval()
    ctx = model.cfg.context - (0 if tuned.prefix is None else tuned.prefix.shape[0])
    prompts = []
    for s in sources:
        ids, _ = encode_pair(s, "", tok, ctx)
        prompts.append(ids[: ctx - 1] if len(ids) >= ctx else ids[:-1])  # drop the EOS
    order = sorted(range(len(sources)), key=lambda i: len(prompts[i]))  # little padding
    out = [""] * len(sources)
    for j in range(0, len(order), batch):
        chunk = order[j : j + batch]
        gen = model.generate_ragged(
            [prompts[i] for i in chunk],
            [min(max_new, ctx - len(prompts[i])) for i in chunk],
            stop=tok.EOS,
            prefix=tuned.prefix,
            pad=getattr(tok, "PAD", 0),
        )
        for i, row in zip(chunk, gen, strict=True):
            if tok.EOS in row:
                row = row[: row.index(tok.EOS)]
            out[i] = tok.decode(row).strip()
    model.train()
    return out


def _common_prefix(a: list[int], b: list[int]) -> int:
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k


@torch.no_grad()
def cloze_accuracy(model, items, tok, device, batch: int = 256) -> float:
    """Share of items where the correct word gets the highest total log-probability.

    The context and the word are encoded together ("... the" + " cat"), and the word's
    tokens are those after the context's own encoding. Encoding them apart ("... the " and
    "cat") gives a BPE token sequence the model never saw in training (the space belongs to
    the word's first token), which put the built-in task at chance. Every choice of every
    item is one row of a right-padded batch (`batch` rows a forward pass): padding after a
    sequence cannot change a causal model's log-probabilities of the tokens before it, and
    1,000 items cost a few passes instead of 4,000."""
    model.eval()
    half = model.cfg.context // 2
    pad = getattr(tok, "PAD", 0)
    seqs: list[tuple[list[int], int]] = []  # (ids, number of word tokens at the end)
    for ctx, choices, _ in items:
        base = ctx.rstrip()
        c_ids = tok.encode(base)
        for ch in choices:
            full = tok.encode(f"{base} {ch.strip()}")
            w = full[_common_prefix(c_ids, full) :] or full[-1:]
            ids = [tok.BOS, *full[: len(full) - len(w)][-half:], *w][-model.cfg.context :]
            seqs.append((ids, min(len(w), len(ids) - 1)))
    scores = np.empty(len(seqs))
    for start in range(0, len(seqs), batch):
        chunk = seqs[start : start + batch]
        width = max(len(ids) for ids, _ in chunk)
        x = torch.full((len(chunk), width), pad, dtype=torch.long)
        for r, (ids, _) in enumerate(chunk):
            x[r, : len(ids)] = torch.tensor(ids)
        x = x.to(device)
        if hasattr(model, "hidden"):  # project only the word's positions: ~3 of ~50 a row
            rows = [r for r, (_, k) in enumerate(chunk) for _ in range(k)]
            cols = [len(ids) - 1 - k + j for ids, k in chunk for j in range(k)]
            h = model.hidden(x[:, :-1])[rows, cols]
            logp = F.log_softmax(model.head(h).float(), -1)
            lp = logp.gather(-1, x[rows, [c + 1 for c in cols]][:, None])[:, 0].cpu().numpy()
            scores[start : start + len(chunk)] = np.bincount(rows, lp, minlength=len(chunk))
            continue
        logp = F.log_softmax(model(x[:, :-1]).float(), -1)
        lp = logp.gather(-1, x[:, 1:, None])[..., 0].cpu().numpy()
        for r, (ids, k) in enumerate(chunk):
            scores[start + r] = lp[r, len(ids) - 1 - k : len(ids) - 1].sum()
    correct, at = 0, 0
    for _, choices, answer in items:
        correct += int(np.argmax(scores[at : at + len(choices)]) == answer)
        at += len(choices)
    model.train()
    return correct / max(len(items), 1)


# -- translation scores with intervals --------------------------------------------------------
def translation_metrics(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """What a finetuning run reports: chrF (the headline at CPU scale) with its 95% bootstrap
    interval over the test verses, and BLEU (the headline on the gpu preset)."""
    chrf, lo, hi = score_interval(hypotheses, references, "chrf")
    return {
        "bleu": bleu_score(hypotheses, references),
        "chrf": chrf,
        "chrf_lo": lo,
        "chrf_hi": hi,
        "n_test": len(references),
    }


def _metric(name: str):
    from sacrebleu.metrics import BLEU, CHRF

    if name == "chrf":
        return CHRF()
    if name == "bleu":
        return BLEU()
    raise ValueError(f"unknown metric '{name}'; use 'chrf' or 'bleu'")


def _sentence_stats(metric, hypotheses: list[str], references: list[str]) -> np.ndarray:
    """Per-sentence sufficient statistics: a corpus score is computed from their sum, so a
    bootstrap resample of sentences is a resample of rows (sacrebleu's own approach)."""
    return np.asarray(metric._extract_corpus_statistics(hypotheses, [references]), dtype=float)


def score_interval(
    hypotheses: list[str],
    references: list[str],
    metric: str = "chrf",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Corpus chrF (or BLEU) and its bootstrap interval over test sentences."""
    m = _metric(metric)
    stats = _sentence_stats(m, hypotheses, references)
    score = float(m._compute_score_from_stats(list(stats.sum(0))).score)
    idx = np.random.default_rng(seed).integers(0, len(stats), size=(n_boot, len(stats)))
    boot = [float(m._compute_score_from_stats(list(stats[i].sum(0))).score) for i in idx]
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return score, float(lo), float(hi)


def paired_bootstrap(
    hyps_a: list[str],
    hyps_b: list[str],
    references: list[str],
    metric: str = "chrf",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Difference of corpus scores, b - a, of two systems on the same test sentences, with
    a paired bootstrap interval (Koehn 2004): each resample draws the same sentences for
    both, so the sentence-to-sentence spread both share cancels. `p` is the share of
    resamples where the difference is <= 0 (one-sided)."""
    if not (len(hyps_a) == len(hyps_b) == len(references)):
        raise ValueError("paired bootstrap needs both systems' outputs for the same references")
    m = _metric(metric)
    sa, sb = (_sentence_stats(m, h, references) for h in (hyps_a, hyps_b))

    def score(stats: np.ndarray) -> float:
        return float(m._compute_score_from_stats(list(stats.sum(0))).score)

    a, b = score(sa), score(sb)
    idx = np.random.default_rng(seed).integers(0, len(sa), size=(n_boot, len(sa)))
    diffs = np.array([score(sb[i]) - score(sa[i]) for i in idx])
    lo, hi = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    return {
        "a": a,
        "b": b,
        "delta": b - a,
        "lo": float(lo),
        "hi": float(hi),
        "p": float(np.mean(diffs <= 0)),
        "n": len(references),
    }
