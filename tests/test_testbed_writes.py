"""Testbed caches and preset outputs go through the one safe writer: never through a planted
link, never half a file (issue 19, 'atomic writes everywhere')."""

import pytest

pytest.importorskip("torch", reason="the testbed needs torch")

from scalinglab.errors import OutputPathError  # noqa: E402
from scalinglab.testbed import corpora  # noqa: E402


def test_corpus_cache_is_never_written_through_a_planted_link(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAB_DATA", str(tmp_path / "cache"))
    victim = tmp_path / "victim.txt"
    cache = corpora.data_dir() / f"corpus-python.{corpora.CACHE_VERSION}.txt"
    cache.symlink_to(victim)  # dangling: exists() is False, so the cache is rebuilt
    with pytest.raises(OutputPathError):
        corpora.corpus_text("python")
    assert not victim.exists()
    cache.unlink()
    text = corpora.corpus_text("python")
    assert cache.read_text(encoding="utf-8") == text and not cache.is_symlink()
    assert not list(cache.parent.glob("*.partial"))
