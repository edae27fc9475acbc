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


@torch.no_grad()
def cloze_accuracy(model, items, tok, device) -> float:
    """Share of items where the correct word gets the highest total log-probability."""
    model.eval()
    correct = 0
    for ctx, choices, answer in items:
        scores = []
        c_ids = tok.encode(ctx)[-(model.cfg.context // 2) :]
        for ch in choices:
            w = tok.encode(ch)
            ids = torch.tensor([[tok.BOS, *c_ids, *w]], device=device)[:, -model.cfg.context :]
            logp = F.log_softmax(model(ids[:, :-1]).float(), -1)
            tgt = ids[:, 1:]
            lp = logp.gather(-1, tgt[..., None])[0, -len(w) :, 0]
            scores.append(float(lp.sum()))
        correct += int(np.argmax(scores) == answer)
    model.train()
    return correct / max(len(items), 1)
