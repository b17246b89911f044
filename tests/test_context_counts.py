"""The web counts load from a marshal copy in the cache dir, rebuilt when missing or damaged."""

from __future__ import annotations

from unspin.context import model as context_model


def _fresh_counts():
    context_model._load_counts.cache_clear()
    try:
        return context_model._load_counts()
    finally:
        context_model._load_counts.cache_clear()


def test_counts_cache_round_trip_and_repair(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSPIN_CACHE_DIR", str(tmp_path))
    parsed = _fresh_counts()
    (cache,) = tmp_path.glob("wordsegment-counts-*.marshal")
    assert parsed[0]["the"] > parsed[0]["cat"] > 0 and parsed[1]["of the"] > 0
    cached = _fresh_counts()
    assert cached == parsed  # the copy holds exactly what parsing gave
    cache.write_bytes(cache.read_bytes()[:1000])  # a truncated file, as after a full disk
    assert _fresh_counts() == parsed
    assert cache.stat().st_size > 1000  # and it was written again whole
    assert not list(tmp_path.glob("*.tmp"))
