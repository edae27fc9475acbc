"""Evaluation: BLEU and chrF by greedy decoding (KV cache), cloze accuracy."""

from __future__ import annotations

from collections import defaultdict

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
    tuned: Tuned, sources: list[str], tok, device, max_new: int = 160, batch: int = 32
) -> list[str]:
    """Greedy translations. Sources of equal token length are decoded together so that
    absolute positions stay aligned without padding."""
    model = tuned.model
    model.eval()
    ctx = model.cfg.context - (0 if tuned.prefix is None else tuned.prefix.shape[0])
    prompts = {}
    for i, s in enumerate(sources):
        ids, _ = encode_pair(s, "", tok, ctx)
        prompts[i] = ids[: ctx - 1] if len(ids) >= ctx else ids[:-1]  # drop the EOS
    groups: dict[int, list[int]] = defaultdict(list)
    for i, ids in prompts.items():
        groups[len(ids)].append(i)
    out = [""] * len(sources)
    for length, idx in groups.items():
        room = min(max_new, ctx - length)
        for j in range(0, len(idx), batch):
            chunk = idx[j : j + batch]
            x = torch.tensor([prompts[i] for i in chunk], dtype=torch.long, device=device)
            gen = model.generate(x, room, stop=tok.EOS, prefix=tuned.prefix)
            for i, row in zip(chunk, gen.tolist(), strict=True):
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
def cloze_accuracy(model, items, tok, device) -> float:
    """Share of items where the correct word gets the highest total log-probability.

    The context and the word are encoded together ("... the" + " cat"), and the word's
    tokens are those after the context's own encoding. Encoding them apart ("... the " and
    "cat") gives a BPE token sequence the model never saw in training (the space belongs to
    the word's first token), which put the built-in task at chance."""
    model.eval()
    correct = 0
    half = model.cfg.context // 2
    for ctx, choices, answer in items:
        base = ctx.rstrip()
        c_ids = tok.encode(base)
        scores = []
        for ch in choices:
            full = tok.encode(f"{base} {ch.strip()}")
            w = full[_common_prefix(c_ids, full) :] or full[-1:]
            ids = [tok.BOS, *full[: len(full) - len(w)][-half:], *w][-model.cfg.context :]
            x = torch.tensor([ids], device=device)
            logp = F.log_softmax(model(x[:, :-1]).float(), -1)
            lp = logp.gather(-1, x[:, 1:, None])[0, -len(w) :, 0]
            scores.append(float(lp.sum()))
        correct += int(np.argmax(scores) == answer)
    model.train()
    return correct / max(len(items), 1)
