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
two-verse context). An item's context is read once and its four choices scored from its
KV cache.

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

from .data import encode_many
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
    if len(a) <= len(b) and b[: len(a)] == a:  # the usual case, compared at C speed
        return len(a)
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
    the word's first token), which put the built-in task at chance. The choices of an item
    share its context: a GPT reads it once, `batch` items a pass, and scores every choice
    from its KV cache (`GPT.continuation_logprobs`), a quarter of the work of one row per
    choice; a model without that method gets one right-padded row per choice. `batch`:
    items a pass (fewer for large models: one layer's keys and values are copied per choice
    row, kept under ~256 MB)."""
    model.eval()
    contexts, tails, words, owner = _cloze_sequences_cached(items, tok, model.cfg.context)
    scores = np.empty(len(tails))
    if hasattr(model, "continuation_logprobs"):
        rows_of: list[list[int]] = [[] for _ in contexts]
        for r, o in enumerate(owner):
            rows_of[o].append(r)
        longest = [max(len(tails[r]) for r in rows) for rows in rows_of]
        # items of similar lengths together: little padding in either pass
        order = sorted(range(len(contexts)), key=lambda i: (len(contexts[i]), longest[i]))
        # one layer's keys and values copied per choice row: at most ~256 MB a pass
        per_item = 8 * model.cfg.d_model * model.cfg.context * max(len(r) for r in rows_of)
        step = max(1, min(batch, (256 << 20) // per_item))
        for first in range(0, len(order), step):
            chunk = order[first : first + step]
            rows = [r for i in chunk for r in rows_of[i]]
            slot = {i: j for j, i in enumerate(chunk)}
            lp = model.continuation_logprobs(
                [contexts[i] for i in chunk],
                [tails[r] for r in rows],
                [slot[owner[r]] for r in rows],
                pad=getattr(tok, "PAD", 0),
            ).cpu()
            for i, r in enumerate(rows):
                scores[r] = float(lp[i, len(tails[r]) - words[r] : len(tails[r])].sum())
    else:
        scores[:] = _row_scores(model, contexts, tails, words, owner, tok, device, batch)
    correct, at = 0, 0
    for _, choices, answer in items:
        correct += int(np.argmax(scores[at : at + len(choices)]) == answer)
        at += len(choices)
    model.train()
    return correct / max(len(items), 1)


_SEQUENCES: dict[tuple[int, int, int], tuple] = {}


def _cloze_sequences_cached(items, tok, context: int):
    """`_cloze_sequences`, kept for the last few item lists: a sweep worker scores dozens of
    runs on the same items (most of a second of encoding each time). Keyed by the identity
    of the list and of the tokenizer (`data.get_tokenizer` returns one object per vocabulary
    file); the entry holds both, so neither id is reused while cached. Item lists are treated
    as immutable (`data.accuracy_items` caches them too)."""
    key = (id(items), id(tok), context)
    hit = _SEQUENCES.get(key)
    if hit is None or hit[0] is not items or hit[1] is not tok:
        if len(_SEQUENCES) >= 4:
            _SEQUENCES.pop(next(iter(_SEQUENCES)))
        hit = _SEQUENCES[key] = (items, tok, _cloze_sequences(items, tok, context))
    return hit[2]


def _cloze_sequences(
    items, tok, context: int
) -> tuple[list[list[int]], list[list[int]], list[int], list[int]]:
    """Per item its shared context (BOS and the last context // 2 tokens that every choice's
    encoding starts with); per choice the tokens after it (`tails`), how many of them are the
    word (`words`, the ones scored) and its item (`owner`)."""
    contexts: list[list[int]] = []
    tails: list[list[int]] = []
    words: list[int] = []
    owner: list[int] = []
    texts = []
    for ctx, choices, _ in items:
        base = ctx.rstrip()
        texts += [base, *(f"{base} {ch.strip()}" for ch in choices)]
    encoded = iter(encode_many(tok, texts))
    for _, choices, _ in items:
        c_ids = next(encoded)
        fulls = [next(encoded) for _ in choices]
        word = [len(f) - _common_prefix(c_ids, f) or 1 for f in fulls]
        shared = min(
            min(_common_prefix(fulls[0], f), len(f) - w) for f, w in zip(fulls, word, strict=True)
        )
        longest = max(len(f) - shared for f in fulls)
        keep = max(min(context // 2, context - 1 - longest), 0)
        head = fulls[0][:shared]
        contexts.append([tok.BOS, *head[max(len(head) - keep, 0) :]])
        for f, w in zip(fulls, word, strict=True):
            tail = f[shared:][-(context - 1) :]  # a word longer than the context: its end
            tails.append(tail)
            words.append(min(w, len(tail)))
            owner.append(len(contexts) - 1)
    return contexts, tails, words, owner


def _row_scores(model, contexts, tails, words, owner, tok, device, batch: int) -> np.ndarray:
    """One right-padded row per choice (for a model that only maps ids to logits): padding
    after a sequence cannot change a causal model's log-probabilities before it."""
    seqs = [contexts[o] + t for o, t in zip(owner, tails, strict=True)]
    scores = np.empty(len(seqs))
    for start in range(0, len(seqs), batch):
        chunk = seqs[start : start + batch]
        width = max(len(ids) for ids in chunk)
        x = torch.full((len(chunk), width), getattr(tok, "PAD", 0), dtype=torch.long)
        for r, ids in enumerate(chunk):
            x[r, : len(ids)] = torch.tensor(ids)
        x = x.to(device)
        logp = F.log_softmax(model(x[:, :-1]).float(), -1)
        lp = logp.gather(-1, x[:, 1:, None])[..., 0].cpu().numpy()
        for r, ids in enumerate(chunk):
            k = words[start + r]
            scores[start + r] = lp[r, len(ids) - 1 - k : len(ids) - 1].sum()
    return scores


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
