"""Tokenizers, token streams for pretraining, and the downstream tasks.

Byte-level tokenization by default (nothing to download, any language and code); a BPE
vocabulary trained locally with `tokenizers` is the option for larger runs.
Tasks: en->es translation from the KJV / Reina-Valera 1909 verse alignment (fixed dev and
test splits by verse hash, finetuning subsets drawn reproducibly per seed), and a cloze
multiple-choice accuracy task built from held-out text.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .corpora import (
    CACHE_VERSION,
    CorpusError,
    bible_verses,
    corpus_text,
    data_dir,
    get_corpus,
    parse_mixture,
    verse_bucket,
)


class ByteTokenizer:
    """UTF-8 bytes plus four specials: PAD=256, BOS=257, EOS=258, SEP=259."""

    PAD, BOS, EOS, SEP = 256, 257, 258, 259
    vocab_size = 260
    name = "byte"

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids) -> str:
        return bytes(int(i) for i in ids if int(i) < 256).decode("utf-8", errors="replace")


class BPETokenizer:
    """A byte-level BPE vocabulary trained locally with HF `tokenizers` (no download)."""

    def __init__(self, text: str | None = None, vocab_size: int = 1024, path: Path | None = None):
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        if path is not None:
            self._set(Tokenizer.from_file(str(path)))
            return
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        specials = ["<pad>", "<bos>", "<eos>", "<sep>"]
        tok.train_from_iterator(
            [text],
            trainers.BpeTrainer(
                vocab_size=vocab_size,
                special_tokens=specials,
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            ),
        )
        self._set(tok)

    def _set(self, tok) -> None:
        self._tok = tok
        specials = ["<pad>", "<bos>", "<eos>", "<sep>"]
        self.PAD, self.BOS, self.EOS, self.SEP = (tok.token_to_id(s) for s in specials)
        self.vocab_size = tok.get_vocab_size()
        self.name = f"bpe{self.vocab_size}"

    def save(self, path: Path) -> None:
        self._tok.save(str(path))

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text).ids

    def encode_many(self, texts: list[str]) -> list[list[int]]:
        """Many short texts at once (the tokenizer's batch encoder, in parallel)."""
        return [enc.ids for enc in self._tok.encode_batch(texts)]

    def encode_long(self, text: str) -> list[int]:
        """A whole corpus: encoded line by line in parallel (one huge string is slow)."""
        lines = text.splitlines(keepends=True)
        out: list[int] = []
        for i in range(0, len(lines), 20_000):
            for enc in self._tok.encode_batch(lines[i : i + 20_000]):
                out.extend(enc.ids)
        return out

    def decode(self, ids) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=True)


# The shared BPE vocabulary is trained on equal parts of English, Spanish and code, so that
# models pretrained on different corpora (the alignment contrast) see the same tokens.
BPE_SOURCES = ("kjv", "rv1909", "python")
BPE_CHARS_PER_SOURCE = 1_500_000


_LOADED: dict[Path, Any] = {}
_BYTE = ByteTokenizer()  # stateless: one object, so caches keyed by it hit


def get_tokenizer(name: str = "byte"):
    """'byte' (default) or 'bpe:N': the shared N-token BPE vocabulary, trained once on
    BPE_SOURCES and cached in the data directory."""
    if name == "byte":
        return _BYTE
    kind, _, size = name.partition(":")
    if kind != "bpe" or not size.isdigit():
        raise CorpusError(f"unknown tokenizer '{name}'; use 'byte' or 'bpe:N' (e.g. bpe:2048)")
    path = data_dir() / f"bpe-{size}-{CACHE_VERSION}.json"
    if path in _LOADED:  # one object per vocabulary file: a worker loads it once
        return _LOADED[path]
    if path.exists():
        return _LOADED.setdefault(path, BPETokenizer(path=path))
    text = "".join(corpus_text(c)[:BPE_CHARS_PER_SOURCE] for c in BPE_SOURCES)
    tok = BPETokenizer(text, vocab_size=int(size))
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tok.save(tmp)
    os.replace(tmp, path)  # concurrent workers: the last complete file wins, none is partial
    return tok


def encode_corpus(name: str, tokenizer) -> np.ndarray:
    """A corpus as token ids, cached per tokenizer (sweeps pretrain on it dozens of times)."""
    cid = get_corpus(name).cache_name
    path = data_dir() / f"tokens-{cid}-{tokenizer.name}-{CACHE_VERSION}.npy"
    if path.exists():
        return np.load(path)
    text = corpus_text(name)
    enc = getattr(tokenizer, "encode_long", tokenizer.encode)
    ids = np.asarray(enc(text), dtype=np.int32)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, ids)
    os.replace(tmp, path)
    return ids


def token_stream(
    spec: str, tokenizer, max_chars: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) token arrays for a corpus or a weighted mixture ('kjv:0.5,...').

    Each corpus contributes its share of characters (max_chars given) or of tokens; the last
    5% of each corpus (by position) is its validation part, so the split never leaks.
    """
    weights = parse_mixture(spec)
    train_parts, val_parts = [], []
    if max_chars is None:
        ids = {name: encode_corpus(name, tokenizer) for name in weights}
        cuts = {name: int(len(v) * 0.95) for name, v in ids.items()}
        # Exact token shares, as large as the corpora allow: a 50/50 mixture of two
        # equal-sized corpora uses both whole.
        total = min(cuts[n] / w for n, w in weights.items())
        for name, w in weights.items():
            train_parts.append(ids[name][: int(total * w)])
            val_parts.append(ids[name][cuts[name] :])
        return np.concatenate(train_parts), np.concatenate(val_parts)
    for name, w in weights.items():
        text = corpus_text(name)
        cut = int(len(text) * 0.95)
        tr = text[:cut][: int(max_chars * w)]
        va = text[cut:][: max(2000, int(max_chars * w * 0.05))]
        train_parts.append(np.asarray(tokenizer.encode(tr), dtype=np.int32))
        val_parts.append(np.asarray(tokenizer.encode(va), dtype=np.int32))
    return np.concatenate(train_parts), np.concatenate(val_parts)


# -- translation en->es ---------------------------------------------------------------------
@dataclass
class TranslationData:
    train: list[tuple[str, str]]
    dev: list[tuple[str, str]]
    test: list[tuple[str, str]]

    def subset(self, size: int, seed: int) -> list[tuple[str, str]]:
        """A reproducible finetuning subset of `size` pairs for `seed`."""
        if size > len(self.train):
            raise CorpusError(f"finetune size {size} exceeds the {len(self.train)} training pairs")
        idx = np.random.default_rng(seed).permutation(len(self.train))[:size]
        return [self.train[i] for i in sorted(idx)]

    def fitting(self, tok: Any, max_len: int) -> TranslationData:
        """Only pairs whose encoded sequence (BOS src SEP tgt EOS) fits `max_len` tokens, so
        that no target is truncated."""

        def keep(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
            return [
                (s, t) for s, t in pairs if len(tok.encode(s)) + len(tok.encode(t)) + 3 <= max_len
            ]

        return TranslationData(keep(self.train), keep(self.dev), keep(self.test))


_bucket = verse_bucket  # same split for verses and gettext messages


def translation_en_es(
    max_chars: int = 200, n_dev: int = 500, n_test: int = 500, max_pair_bytes: int | None = None
) -> TranslationData:
    """Aligned KJV / Reina-Valera verses: dev and test fixed by verse-key hash.

    max_pair_bytes: keep pairs whose encoded training sequence (BOS src SEP tgt EOS, bytes)
    fits, so that no target is truncated by the model's context.
    """
    for name in ("kjv", "rv1909"):
        c = get_corpus(name)
        if not c.available():
            raise CorpusError(
                f"task translation_en_es needs corpus '{name}'; install it with: {c.install}"
            )
    en, es = bible_verses("engKJV2006eb"), bible_verses("spaRV1909eb")
    if max_pair_bytes is not None:
        keys = [
            k
            for k in en
            if k in es and len(en[k].encode()) + len(es[k].encode()) + 3 <= max_pair_bytes
        ]
    else:
        keys = [k for k in en if k in es and len(en[k]) <= max_chars and len(es[k]) <= max_chars]
    dev = [(en[k], es[k]) for k in keys if _bucket(k) == 0][:n_dev]
    test = [(en[k], es[k]) for k in keys if _bucket(k) == 1][:n_test]
    train = [(en[k], es[k]) for k in keys if _bucket(k) >= 2]
    return TranslationData(train, dev, test)


LOCALE_DIR = Path("/usr/share/locale")
# Debian packages whose message catalogs feed the en->de / en->fr tasks (most are on any
# Debian system already; the rest make the sets larger).
GETTEXT_PACKAGES = (
    "coreutils",
    "tar",
    "grep",
    "sed",
    "findutils",
    "diffutils",
    "gettext",
    "bash",
    "dpkg",
    "apt",
    "gnupg",
    "git",
    "wget",
    "util-linux-locales",
    "libc-l10n",
    "e2fsprogs",
    "procps",
)
_FORMAT = re.compile(r"%[-+ #0-9.*]*[a-zA-Z]|\{[^}]*\}|\$\w+|<[^>]+>")


def gettext_pairs(lang: str) -> list[tuple[str, str]]:
    """(English msgid, translated msgstr) from every installed .mo catalog for `lang`,
    cleaned: accelerators removed, format directives and markup dropped, whitespace
    normalised, 3..200 characters, one pair per English message."""
    import gettext

    files = sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.mo"))
    if not files:
        raise CorpusError(
            f"no gettext catalogs for '{lang}' in {LOCALE_DIR}; install translations with: "
            f"apt-get install -y {' '.join(GETTEXT_PACKAGES)}"
        )
    seen: dict[str, str] = {}
    for f in files:
        try:
            with f.open("rb") as fh:
                # the parsed catalog has no public API; typeshed leaves the private
                # _catalog attribute out, so it is read from the instance's __dict__
                cat = vars(gettext.GNUTranslations(fh))["_catalog"]
        except Exception:  # a malformed catalog is skipped, not fatal
            continue
        for src, tgt in cat.items():
            if not isinstance(src, str) or not isinstance(tgt, str) or not src or not tgt:
                continue
            s, t = (
                re.sub(r"\s+", " ", x.replace("_", "").replace("&", "")).strip() for x in (src, tgt)
            )
            if "%" in s + t or _FORMAT.search(s) or _FORMAT.search(t) or s == t:
                continue
            if 3 <= len(s) <= 200 and 3 <= len(t) <= 200 and s not in seen:
                seen[s] = t
    return sorted(seen.items())


def _split_pairs(
    pairs: list[tuple[str, str]], n_dev: int, n_test: int, max_pair_bytes: int | None
) -> TranslationData:
    if max_pair_bytes is not None:
        pairs = [
            (s, t) for s, t in pairs if len(s.encode()) + len(t.encode()) + 3 <= max_pair_bytes
        ]
    dev = [p for p in pairs if _bucket(p[0]) == 0][:n_dev]
    test = [p for p in pairs if _bucket(p[0]) == 1][:n_test]
    train = [p for p in pairs if _bucket(p[0]) >= 2]
    return TranslationData(train, dev, test)


def translation_en_de(
    n_dev: int = 500, n_test: int = 500, max_pair_bytes: int | None = None, **_: Any
) -> TranslationData:
    """English -> German UI messages from the machine's gettext catalogs."""
    return _split_pairs(gettext_pairs("de"), n_dev, n_test, max_pair_bytes)


def translation_en_fr(
    n_dev: int = 500, n_test: int = 500, max_pair_bytes: int | None = None, **_: Any
) -> TranslationData:
    """English -> French UI messages from the machine's gettext catalogs."""
    return _split_pairs(gettext_pairs("fr"), n_dev, n_test, max_pair_bytes)


TASKS: dict[str, Callable[..., TranslationData]] = {
    "translation_en_es": translation_en_es,
    "translation_en_de": translation_en_de,
    "translation_en_fr": translation_en_fr,
}


def get_task(name: str) -> Callable[..., TranslationData]:
    try:
        return TASKS[name]
    except KeyError:
        raise CorpusError(f"unknown task '{name}'; known: {', '.join(TASKS)}") from None


def cloze_items(
    text: str, n: int = 200, n_choices: int = 4, seed: int = 0
) -> list[tuple[str, list[str], int]]:
    """Multiple-choice cloze from held-out lines: context, choices (last word and distractor
    words of the same text), index of the correct one."""
    rng = np.random.default_rng(seed)
    lines = [ln.strip() for ln in text.splitlines() if len(ln.split()) >= 6]
    words = sorted({w for ln in lines for w in ln.split() if w.isalpha() and len(w) > 2})
    if len(lines) < 10 or len(words) < n_choices:
        raise CorpusError("not enough held-out text to build a cloze task")
    items = []
    for i in rng.permutation(len(lines))[:n]:
        *ctx, last = lines[i].split()
        last = last.strip(".,;:?!'\"()")
        if not last.isalpha():
            continue
        wrong = [w for w in rng.choice(words, n_choices * 2, replace=False) if w != last]
        choices = [last, *wrong[: n_choices - 1]]
        order = rng.permutation(n_choices)
        items.append(
            (" ".join(ctx) + " ", [choices[j] for j in order], int(np.flatnonzero(order == 0)[0]))
        )
    return items


# -- the accuracy task: cloze on held-out verses ---------------------------------------------
_WORD = re.compile(r"[^\W\d_]+")
_BIBLES = (("en", "engKJV2006eb"), ("es", "spaRV1909eb"))


def _word_counts(module: str) -> dict[str, int]:
    """Word counts over the verses pretraining may see (buckets >= 2)."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for k, v in bible_verses(module).items():
        if verse_bucket(k) >= 2:
            counts.update(_WORD.findall(v))
    return dict(counts)


def verse_cloze_items(
    tok: Any, n: int = 1000, n_choices: int = 4, seed: int = 0, pool: int = 12
) -> list[tuple[str, list[str], int]]:
    """The accuracy task: n cloze items (half English, half Spanish) from the translation
    task's dev/test verses, which no pretraining corpus contains (nor their text elsewhere).

    An item is a verse without its last word and `n_choices` words: the true one and
    distractors of the same language with the same number of tokens (a word's tokens with its
    leading space, as the model reads it) and the nearest corpus frequency (drawn from the
    `pool` nearest). Both matter at 10^4-10^6 parameters: random distractors are mostly
    rare words a unigram model already rejects (too easy, no signal across sizes), and
    unmatched frequency or length moves the weakest models below chance (a model that
    prefers short frequent words). Chance is 1 / n_choices (0.25).
    """
    rng = np.random.default_rng(seed)
    items: list[tuple[str, list[str], int]] = []
    per_lang = [n // len(_BIBLES) + (i < n % len(_BIBLES)) for i in range(len(_BIBLES))]
    for (_, module), want in zip(_BIBLES, per_lang, strict=True):
        counts = _word_counts(module)
        words = [w for w, c in counts.items() if c >= 2 and len(w) >= 3]
        n_tok = dict(zip(words, _token_lengths(tok, words), strict=True))
        groups: dict[int, list[tuple[float, str]]] = {}
        for w in words:
            groups.setdefault(n_tok[w], []).append((math.log(counts[w]), w))
        by_len = {k: sorted(g) for k, g in groups.items()}  # by log-frequency, for bisection
        keys = {k: np.array([lf for lf, _ in g]) for k, g in by_len.items()}
        all_verses = bible_verses(module)
        seen = {v for k, v in all_verses.items() if verse_bucket(k) >= 2}
        # Held out by key and by text: a verse repeated elsewhere in the Bible ("And the
        # LORD spake unto Moses, saying,") is in the pretraining text and is not used.
        verses = [v for k, v in all_verses.items() if verse_bucket(k) < 2 and v not in seen]
        got = 0
        for i in rng.permutation(len(verses)):
            if got == want:
                break
            *ctx, last = verses[i].split()
            word = last.strip(".,;:?!'\"()¿¡")
            if len(ctx) < 5 or len(word) < 3 or not _WORD.fullmatch(word):
                continue
            length = n_tok.get(word) or len(tok.encode(" " + word))
            if length not in by_len:
                continue
            target = math.log(max(counts.get(word, 1), 1))
            at = int(np.searchsorted(keys[length], target))
            window = by_len[length][max(0, at - pool - 1) : at + pool + 1]
            same = sorted((abs(lf - target), w) for lf, w in window if w.lower() != word.lower())
            if len(same) < n_choices - 1:
                continue
            near = [w for _, w in same[:pool]]
            wrong = [str(w) for w in rng.choice(near, n_choices - 1, replace=False)]
            order = rng.permutation(n_choices)
            choices = [word, *wrong]
            items.append(
                (" ".join(ctx), [choices[j] for j in order], int(np.flatnonzero(order == 0)[0]))
            )
            got += 1
        if got < want:
            raise CorpusError(f"only {got} cloze items from {module}'s held-out verses ({want})")
    return items


def _token_lengths(tok: Any, words: list[str]) -> list[int]:
    """Tokens of each word read with its leading space (batched under BPE)."""
    return [len(ids) for ids in encode_many(tok, [" " + w for w in words])]


def encode_many(tok: Any, texts: list[str]) -> list[list[int]]:
    """Encode many short texts: batched where the tokenizer can (BPE), else one by one."""
    if hasattr(tok, "encode_many"):
        return tok.encode_many(texts)
    return [tok.encode(t) for t in texts]


def accuracy_items(pretrain_data: str, tok: Any, n: int) -> list[tuple[str, list[str], int]]:
    """The items a pretraining run's `accuracy` is measured on: the held-out-verse cloze when
    the Bibles are installed (one task for every pretraining source, so accuracies compare),
    else a cloze from the held-out tail of the run's first corpus (unmatched distractors)."""
    if all(get_corpus(c).available() for c in ("kjv", "rv1909")):
        return _verse_cloze_cached(tok, n)
    first = next(iter(parse_mixture(pretrain_data)))
    text = corpus_text(first)
    return cloze_items(text[int(len(text) * 0.95) :], n=n, seed=0)


_CLOZE_CACHE: dict[tuple[str, int], list[tuple[str, list[str], int]]] = {}


def _verse_cloze_cached(tok: Any, n: int) -> list[tuple[str, list[str], int]]:
    key = (str(getattr(tok, "name", type(tok).__name__)), n)
    if key not in _CLOZE_CACHE:  # a worker measures dozens of runs on the same items
        _CLOZE_CACHE[key] = verse_cloze_items(tok, n)
    return _CLOZE_CACHE[key]
