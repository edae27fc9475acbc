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
        for t in range(x.shape[1]):
            if int(x[0, t]) == SpaceBPE.VOCAB.index("the"):
                logits[0, t, SpaceBPE.VOCAB.index(" cat")] = 5.0
            if int(x[0, t]) == SpaceBPE.VOCAB.index(" "):
                logits[0, t, SpaceBPE.VOCAB.index("dog")] = 1.0
        return logits


def test_word_is_scored_with_its_leading_space():
    items = [("the ", ["dog", "cat"], 1), ("the", ["cat", "dog"], 0)]
    assert cloze_accuracy(Model(), items, SpaceBPE(), "cpu") == 1.0
