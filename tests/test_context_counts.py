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


def test_pair_keys_hold_every_bigram_count():
    """The sorted pair keys the scan batches its lookups through give exactly the bigram
    dictionary's counts, for every pair in it, and 0 for pairs it lacks."""
    import numpy as np

    unigrams, bigrams, _, words, keys, counts = context_model._load_counts()
    ids = {w: k for k, w in enumerate(words)}
    assert set(ids) == {w for pair in bigrams for w in pair.split(" ")}
    keys, counts = np.frombuffer(keys, dtype=np.int64), np.frombuffer(counts)
    pairs = [p.split(" ") for p in bigrams]
    first = np.array([ids[a] for a, _ in pairs])
    second = np.array([ids[b] for _, b in pairs])
    found = context_model._pair_counts(keys, counts, first, second)
    assert found.tolist() == list(bigrams.values())
    # a pair of known words the table lacks counts 0, and so does an unknown word (-1)
    a, b = next((a, b) for a in ids for b in ("the", "of") if f"{a} {b}" not in bigrams)
    missing = context_model._pair_counts(
        keys, counts, np.array([ids[a], -1]), np.array([ids[b], ids["the"]])
    )
    assert missing.tolist() == [0.0, 0.0]
