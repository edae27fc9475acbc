"""Cloze accuracy scores a word as the model saw words in training: with its leading space,
encoded together with the context (issue: the built-in accuracy task sat at chance)."""

import pytest

torch = pytest.importorskip("torch")

from scalinglab.testbed.evaluate import cloze_accuracy  # noqa: E402


class SpaceBPE:
    """A toy BPE: ' cat' and ' dog' are single tokens (as after training); the bare words
    'cat'/'dog' are different tokens, and a trailing space is a token of its own."""

    BOS, EOS = 0, 1
    VOCAB = ["<s>", "</s>", "the", " ", " cat", " dog", "cat", "dog", " sat"]

    def encode(self, text: str) -> list[int]:
        out, i = [], 0
        pieces = sorted(self.VOCAB[2:], key=len, reverse=True)
        while i < len(text):
            for p in pieces:
                if text.startswith(p, i):
                    out.append(self.VOCAB.index(p))
                    i += len(p)
                    break
            else:
                raise ValueError(text[i:])
        return out


class Model(torch.nn.Module):
    """Predicts ' cat' after 'the' (it learned ' cat'), and spreads its mass evenly
    elsewhere; after 'the' + ' ' (a sequence never seen) it slightly prefers 'dog'."""

    class cfg:
        context = 32

    def forward(self, x):
        V = len(SpaceBPE.VOCAB)
        logits = torch.zeros(x.shape[0], x.shape[1], V)
        for b in range(x.shape[0]):  # choices are scored as rows of one batch
            for t in range(x.shape[1]):
                if int(x[b, t]) == SpaceBPE.VOCAB.index("the"):
                    logits[b, t, SpaceBPE.VOCAB.index(" cat")] = 5.0
                if int(x[b, t]) == SpaceBPE.VOCAB.index(" "):
                    logits[b, t, SpaceBPE.VOCAB.index("dog")] = 1.0
        return logits


def test_word_is_scored_with_its_leading_space():
    items = [("the ", ["dog", "cat"], 1), ("the", ["cat", "dog"], 0)]
    assert cloze_accuracy(Model(), items, SpaceBPE(), "cpu") == 1.0


def test_batched_scoring_equals_one_sequence_at_a_time():
    """Right-padded batches give each choice the log-probability it gets alone (a causal
    model never sees the padding after a sequence): same accuracy on 72 items."""
    import torch.nn.functional as F

    from scalinglab.testbed.data import ByteTokenizer, cloze_items
    from scalinglab.testbed.evaluate import _common_prefix
    from scalinglab.testbed.model import GPT, GPTConfig

    torch.manual_seed(0)
    tok = ByteTokenizer()
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context=96, d_model=16, n_layers=1, n_heads=2))
    text = "\n".join(
        f"and the {w} of the {v} went up to the {u} in the {w} day {v}"
        for w in ("king", "land", "people", "house", "city", "water")
        for v in ("morning", "evening", "night", "field")
        for u in ("mountain", "river", "temple")
    )
    items = cloze_items(text, n=200, seed=1)

    def one_at_a_time() -> float:
        correct = 0
        for ctx, choices, answer in items:
            base = ctx.rstrip()
            scores = []
            for ch in choices:
                full = tok.encode(f"{base} {ch}")
                w = full[_common_prefix(tok.encode(base), full) :]
                ids = [tok.BOS, *full[: len(full) - len(w)][-48:], *w]
                x = torch.tensor([ids])
                lp = F.log_softmax(model(x[:, :-1]), -1).gather(-1, x[:, 1:, None])[0, -len(w) :]
                scores.append(float(lp.sum()))
            correct += int(max(range(len(scores)), key=scores.__getitem__) == answer)
        return correct / len(items)

    assert len(items) == 72  # one item per line
    assert cloze_accuracy(model, items, tok, "cpu", batch=7) == one_at_a_time()


def test_continuations_from_a_shared_cache_equal_full_sequences():
    """Each tail's log-probabilities read from its context's shared KV cache equal those of
    the whole sequence run alone, for contexts and tails of different lengths."""
    import torch.nn.functional as F

    from scalinglab.testbed.model import GPT, GPTConfig

    torch.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=50, context=40, d_model=32, n_layers=2, n_heads=4)).eval()
    g = torch.Generator().manual_seed(2)
    contexts = [torch.randint(3, 50, (n,), generator=g).tolist() for n in (1, 7, 19, 12)]
    tails, owner = [], []
    for i in range(len(contexts)):
        for n in (1, 3, 5, 2):
            tails.append(torch.randint(3, 50, (n,), generator=g).tolist())
            owner.append(i)
    got = model.continuation_logprobs(contexts, tails, owner)
    assert got.shape == (16, 5)
    for r, (t, o) in enumerate(zip(tails, owner, strict=True)):
        x = torch.tensor([contexts[o] + t])
        want = F.log_softmax(model(x[:, :-1]), -1).gather(-1, x[:, 1:, None])[0, -len(t) :, 0]
        assert torch.allclose(got[r, : len(t)], want, atol=1e-5), r
        assert bool((got[r, len(t) :] == 0).all())
    with pytest.raises(ValueError, match="exceeds the context 40"):
        model.continuation_logprobs([list(range(3, 40))], [[5, 6, 7, 8]], [0])


def test_items_of_different_shapes_score_in_one_batch_and_long_words_are_cut():
    """A long-context item with short words beside a short-context item with a long word
    (each fits the context alone) raised in one batch; a word longer than the context
    raised outright. Both now score, the long word by its last tokens."""
    from scalinglab.testbed.data import ByteTokenizer
    from scalinglab.testbed.model import GPT, GPTConfig

    torch.manual_seed(0)
    tok = ByteTokenizer()
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context=32, d_model=16, n_layers=1, n_heads=2))
    items = [
        (" ".join("abcdefghijklmnopqrst"), ["cat", "dog", "cow", "pig"], 0),
        (
            "x y z",
            ["abcdefghijklmnop", "bcdefghijklmnopq", "cdefghijklmnopqr", "defghijklmnopqrs"],
            1,
        ),
        ("a b", ["w" * 40, "v" * 40], 0),
    ]
    acc = cloze_accuracy(model, items, tok, "cpu", batch=8)
    assert 0.0 <= acc <= 1.0
    one_by_one = [cloze_accuracy(model, [it], tok, "cpu") for it in items]
    assert acc == pytest.approx(sum(one_by_one) / 3)
