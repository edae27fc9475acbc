"""The downstream tasks at CPU scale (issue 20): the held-out-verse cloze with matched
distractors, chrF with bootstrap intervals, the aligned pretraining corpus."""

import math

import numpy as np
import pytest

pytest.importorskip("torch", reason="the testbed needs torch")

from scalinglab.testbed import corpora  # noqa: E402
from scalinglab.testbed.evaluate import (  # noqa: E402
    paired_bootstrap,
    score_interval,
    translation_metrics,
)

needs_bibles = pytest.mark.skipif(
    not (corpora.CORPORA["kjv"].available() and corpora.CORPORA["rv1909"].available()),
    reason="SWORD Bibles not installed: apt-get install -y sword-text-kjv sword-text-sparv "
    "diatheke",
)


@needs_bibles
def test_verse_cloze_items_are_held_out_and_matched():
    """1,000 items, half per language, from verses no pretraining corpus holds; every
    distractor has the answer's token count and a near corpus frequency."""
    from scalinglab.testbed.data import _word_counts, get_tokenizer, verse_cloze_items

    tok = get_tokenizer("bpe:2048")
    items = verse_cloze_items(tok, 1000)
    assert len(items) == 1000
    kjv, rv = corpora.corpus_text("kjv"), corpora.corpus_text("rv1909")
    en, es = items[:500], items[500:]
    # Held out of pretraining (by verse key, and a verse repeated elsewhere is not used).
    assert not any(ctx in kjv or ctx in rv for ctx, _, _ in items[::10])
    counts = {"en": _word_counts("engKJV2006eb"), "es": _word_counts("spaRV1909eb")}
    gaps = []
    for lang, part in (("en", en), ("es", es)):
        for _ctx, choices, answer in part:
            assert len(choices) == len(set(choices)) == 4 and 0 <= answer < 4
            n_tok = {len(tok.encode(" " + c)) for c in choices}
            assert len(n_tok) == 1, choices  # the same number of tokens
            f = counts[lang]
            a = math.log(max(f.get(choices[answer], 1), 1))
            gaps += [abs(math.log(f[c]) - a) for i, c in enumerate(choices) if i != answer]
    assert np.median(gaps) < 0.1 and np.quantile(gaps, 0.9) < 1.0
    # Answers spread over the four positions (chance is 0.25 for any fixed guess).
    assert max(np.bincount([a for _, _, a in items])) < 0.3 * len(items)


def test_chrf_interval_and_paired_bootstrap():
    import sacrebleu

    rng = np.random.default_rng(0)
    words = "el la de que y en los se del las un por con no una su para es al lo".split()
    refs = [" ".join(rng.choice(words, 8)) for _ in range(150)]
    # System b keeps more of each reference than system a.
    a = [" ".join(r.split()[:3]) for r in refs]
    b = [" ".join(r.split()[:6]) for r in refs]
    m = translation_metrics(a, refs)
    assert m["chrf"] == pytest.approx(sacrebleu.corpus_chrf(a, [refs]).score)
    assert m["bleu"] == pytest.approx(sacrebleu.corpus_bleu(a, [refs]).score)
    assert m["chrf_lo"] < m["chrf"] < m["chrf_hi"] and m["n_test"] == 150
    same = paired_bootstrap(a, a, refs)
    assert same["delta"] == same["lo"] == same["hi"] == 0
    up = paired_bootstrap(a, b, refs)
    assert up["delta"] == pytest.approx(score_interval(b, refs)[0] - score_interval(a, refs)[0])
    assert 0 < up["lo"] < up["delta"] < up["hi"] and up["p"] == 0
    # Pairing: the difference's interval is narrower than the sum of the two runs' own.
    own = [score_interval(h, refs) for h in (a, b)]
    assert up["hi"] - up["lo"] < sum(hi - lo for _, lo, hi in own)
    with pytest.raises(ValueError, match="same references"):
        paired_bootstrap(a, b[:-1], refs)


@needs_bibles
def test_parallel_bible_corpus_interleaves_verses_and_leaves_out_dev_test():
    from scalinglab.testbed.corpora import bible_verses, corpus_text, verse_bucket

    text = corpus_text("bible-parallel")
    lines = text.splitlines()
    en, es = bible_verses("engKJV2006eb"), bible_verses("spaRV1909eb")
    assert lines[0] == en["Genesis 1:1"] and lines[1] == es["Genesis 1:1"]
    assert lines[2] == en["Genesis 1:2"] and lines[3] == es["Genesis 1:2"]
    train = {v for k, v in [*en.items(), *es.items()] if verse_bucket(k) >= 2}
    held = {v for k, v in [*en.items(), *es.items()] if verse_bucket(k) < 2} - train
    assert len(held) > 1000 and not held & set(lines)  # no dev/test verse is pretraining text
    assert len(text) > 0.9 * (len(corpus_text("kjv")) + len(corpus_text("rv1909")))
