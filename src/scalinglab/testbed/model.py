"""A small decoder-only transformer in one readable module (after nanoGPT).

Pre-norm blocks, learned positions, tied input/output embeddings, PyTorch's fused
scaled-dot-product attention. `forward` accepts a soft prompt (prompt tuning prepends
learned embeddings) and a KV cache (fast greedy decoding for BLEU). Parameter counts are
reported total and non-embedding (token + position embeddings excluded), the two
conventions scaling-law papers use.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 260
    context: int = 128
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def non_embedding_params(self) -> int:
        """12 d^2 + 13 d per layer (attention, MLP, two LayerNorms) plus the final LayerNorm."""
        d = self.d_model
        return self.n_layers * (12 * d * d + 13 * d) + 2 * d

    def flops_per_token(self) -> float:
        """Training FLOPs per token, as for MFU: 6 x (non-embedding params + the output
        projection V d, a real matmul; the input lookup is not) + causal attention
        6 n_layers context d."""
        d = self.d_model
        return 6.0 * (self.non_embedding_params + self.vocab_size * d) + (
            6.0 * self.n_layers * self.context * d
        )


class Attention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.dropout = cfg.dropout

    def forward(
        self, x: torch.Tensor, cache: dict | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """mask: boolean (B, 1, T, keys), True where a query may attend (ragged decoding);
        without it attention is causal."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        causal = mask is None and (cache is None or T > 1)
        if mask is None and cache is not None and T > 1 and k.shape[2] > T:
            raise ValueError("multi-token steps on a non-empty cache need an explicit mask")
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            is_causal=causal,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.fc = nn.Linear(cfg.d_model, 4 * cfg.d_model)
        self.out = nn.Linear(4 * cfg.d_model, cfg.d_model)

    def forward(
        self, x: torch.Tensor, cache: dict | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache, mask)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.context, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2 scaled init of residual projections
            if name.endswith(("proj.weight", "out.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def n_params(self, non_embedding: bool = False) -> int:
        total = sum(p.numel() for n, p in self.named_parameters() if "prompt" not in n)
        if non_embedding:
            total -= self.tok.weight.numel() + self.pos.weight.numel()
        return total

    def hidden(
        self,
        idx: torch.Tensor,
        prefix: torch.Tensor | None = None,
        caches: list[dict] | None = None,
        start: int = 0,
    ) -> torch.Tensor:
        """The final LayerNorm's states (B, P + T, d), soft-prompt positions included: what
        the output projection reads. Scoring a few positions of each row projects only those
        (`head`), not all T x vocab logits."""
        x = self.embed(idx, prefix)
        T = x.shape[1]
        if start + T > self.cfg.context:
            raise ValueError(
                f"sequence of {start + T} positions exceeds the context {self.cfg.context}"
            )
        x = x + self.pos(torch.arange(start, start + T, device=idx.device))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x)

    def embed(self, idx: torch.Tensor, prefix: torch.Tensor | None = None) -> torch.Tensor:
        """Token embeddings (B, P + T, d) with the soft prompt's P embeddings first in every
        row (prompt tuning); positions are added by the caller (ragged rows differ)."""
        x = self.tok(idx)
        if prefix is None:
            return x
        return torch.cat([prefix.unsqueeze(0).expand(idx.shape[0], -1, -1), x], dim=1)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """Logits from final states: the tied output embedding."""
        return F.linear(h, self.tok.weight)

    def forward(
        self,
        idx: torch.Tensor,
        prefix: torch.Tensor | None = None,
        caches: list[dict] | None = None,
        start: int = 0,
    ) -> torch.Tensor:
        """Logits (B, T, vocab). prefix: (P, d) soft prompt embeddings prepended (their
        positions are dropped from the output). start: position offset when decoding with
        caches."""
        logits = self.head(self.hidden(idx, prefix, caches, start))
        return logits if prefix is None else logits[:, prefix.shape[0] :]

    @torch.no_grad()
    def continuation_logprobs(
        self, contexts: list[list[int]], tails: list[list[int]], owner: list[int], pad: int = 0
    ) -> torch.Tensor:
        """log p(tail token | its context, the tail before it): (len(tails), longest tail),
        zero past each tail's end. Each context is read once and its KV cache shared by the
        tails that continue it (tail r continues contexts[owner[r]]): a multiple-choice item
        costs one pass over its context, not one per choice. Contexts are right-padded (a
        causal model never attends forward, so padding after a context changes nothing);
        each tail sees its own context's real positions and its earlier tokens only."""
        dev = self.tok.weight.device
        lc = torch.tensor([len(c) for c in contexts], device=dev)
        lengths = torch.tensor([len(t) for t in tails], device=dev)
        L, S = int(lc.max()), int(lengths.max())
        own = torch.tensor(owner, device=dev)
        if int((lc[own] + lengths).max()) > self.cfg.context:  # padding may run past it
            raise ValueError(f"a context plus its tail exceeds the context {self.cfg.context}")
        x = torch.tensor([c + [pad] * (L - len(c)) for c in contexts], device=dev)
        x = self.tok(x) + self.pos(torch.arange(L, device=dev))
        caches: list[dict] = [{} for _ in self.blocks]
        for block, cache in zip(self.blocks, caches, strict=True):
            x = block(x, cache)
        last = self.ln_f(x[torch.arange(len(contexts), device=dev), lc - 1])  # (I, d)
        y = torch.tensor([t + [pad] * (S - len(t)) for t in tails], device=dev)
        start = lc[own]
        pos = (start[:, None] + torch.arange(S, device=dev)).clamp(max=self.cfg.context - 1)
        seen = torch.arange(L, device=dev)[None, :] < start[:, None]  # (R, L) real context
        mask = torch.cat(
            [
                seen[:, None, :].expand(-1, S, -1),
                torch.tril(torch.ones(S, S, dtype=torch.bool, device=dev))[None].expand(
                    len(tails), -1, -1
                ),
            ],
            dim=2,
        )
        h = self.tok(y) + self.pos(pos)
        for block, cache in zip(self.blocks, caches, strict=True):
            # each tail row reads its context's keys and values, one layer's copy at a time
            rows = {"k": cache.pop("k")[own], "v": cache.pop("v")[own]}
            h = block(h, rows, mask[:, None])
        reads = torch.cat([last[own][:, None], self.ln_f(h[:, :-1])], dim=1)  # (R, S, d)
        live = torch.arange(S, device=dev)[None, :] < lengths[:, None]
        out = torch.zeros(len(tails), S, device=dev)
        logp = F.log_softmax(self.head(reads[live]).float(), -1)
        out[live] = logp.gather(-1, y[live][:, None])[:, 0]
        return out

    @torch.no_grad()
    def generate(
        self,
        prompt: torch.Tensor,
        max_new: int,
        stop: int | None = None,
        prefix: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Greedy decoding of a batch of equal-length prompts with a KV cache."""
        caches: list[dict] = [{} for _ in self.blocks]
        logits = self(prompt, prefix=prefix, caches=caches)
        pos = prompt.shape[1] + (0 if prefix is None else prefix.shape[0])
        out = []
        done = torch.zeros(prompt.shape[0], dtype=torch.bool, device=prompt.device)
        nxt = logits[:, -1].argmax(-1)
        for _ in range(max_new):
            out.append(nxt)
            if stop is not None:
                done |= nxt == stop
                if bool(done.all()):
                    break
            if pos >= self.cfg.context:
                break
            logits = self(nxt[:, None], caches=caches, start=pos)
            pos += 1
            nxt = logits[:, -1].argmax(-1)
        return torch.stack(out, dim=1) if out else prompt[:, :0]

    @torch.no_grad()
    def generate_ragged(
        self,
        prompts: list[list[int]],
        room: list[int],
        stop: int | None = None,
        prefix: torch.Tensor | None = None,
        pad: int = 0,
    ) -> list[list[int]]:
        """Greedy decoding of prompts of different lengths in one batch: left-padded, each row
        with its own positions (soft prompt first, then its tokens as if unpadded) and an
        attention mask hiding its padding, so every row decodes as it would alone (and as
        `generate` does per equal-length group) at one forward pass per step for the whole
        batch. room[i]: at most this many tokens for prompt i; a row stops after `stop`."""
        dev = self.tok.weight.device
        B, L = len(prompts), max(len(p) for p in prompts)
        P = 0 if prefix is None else prefix.shape[0]
        T = P + L
        lengths = torch.tensor([len(p) for p in prompts], device=dev)
        idx = torch.tensor([[pad] * (L - len(p)) + list(p) for p in prompts], device=dev)
        slot = torch.arange(T, device=dev)
        first = P + L - lengths  # each row's first real token's slot
        valid = (slot[None] < P) | (slot[None] >= first[:, None])  # (B, T): not padding
        pos = torch.where(slot[None] < P, slot[None], slot[None] - (L - lengths)[:, None])
        pos = torch.where(valid, pos, torch.zeros_like(pos))
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=dev))
        own = torch.eye(T, dtype=torch.bool, device=dev)  # a pad slot sees itself: no NaN
        mask = causal[None] & (valid[:, None, :] | own[None])
        x = self.embed(idx, prefix) + self.pos(pos)
        caches: list[dict] = [{} for _ in self.blocks]
        for block, cache in zip(self.blocks, caches, strict=True):
            x = block(x, cache, mask[:, None])
        nxt = self.head(self.ln_f(x[:, -1])).argmax(-1)
        here = P + lengths  # the next token's position per row
        limit = torch.tensor(room, device=dev)
        done = limit <= 0
        out = []
        for step in range(int(limit.max()) if B else 0):
            out.append(nxt)
            if stop is not None:
                done |= nxt == stop
            done |= limit <= step + 1
            if bool(done.all()):
                break
            valid = torch.cat([valid, torch.ones(B, 1, dtype=torch.bool, device=dev)], 1)
            x = self.tok(nxt[:, None]) + self.pos(here.clamp(max=self.cfg.context - 1))[:, None]
            for block, cache in zip(self.blocks, caches, strict=True):
                x = block(x, cache, valid[:, None, None, :])
            nxt = self.head(self.ln_f(x[:, -1])).argmax(-1)
            here = here + 1
        gen = torch.stack(out, 1).tolist() if out else [[] for _ in prompts]
        return [row[: max(r, 0)] for row, r in zip(gen, room, strict=True)]
