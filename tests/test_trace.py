"""Tests for tracing: spin-proof fingerprints, word alignment, the SQLite index, source restore."""

from __future__ import annotations

import json
import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from unspin.spin import spin
from unspin.trace.align import align, apply_substitutions
from unspin.trace.fingerprint import (
    Canonicalizer,
    FingerprintParams,
    default_canonicalizer,
    estimated_similarity,
    fingerprint,
    minhash,
    shingle_hashes,
)
from unspin.trace.index import Index, IndexError_, document_date
from unspin.trace.restore import source_restore
from unspin.types import Document

# Self-written news paragraphs: names, numbers and ordinary prose, as a spinner would meet them.
HARBOUR = (
    "The harbour commission in Port Elsby approved a budget of 4.2 million pounds on Monday, "
    "after Councillor Maren Holt argued that repairs to the Kestrel Quay sea wall could not wait "
    "until 2027. Local fishermen welcomed the decision, although several business owners said "
    "the plan would close the main road for at least six weeks. The commission expects the work "
    "to begin in March and to finish before the summer season, when visitors return to the "
    "town. Holt said the council had studied three options and chosen the cheapest one that "
    "still protected the houses along Tern Street from winter storms."
)
FACTORY = (
    "Orvane Motors will cut 850 jobs at its plant in Deltaburg, the company said on Thursday, "
    "blaming weak demand for its electric vans in Europe. Chief executive Ilse Varga told "
    "reporters that production of the Orvane K5 would move to a smaller site near Lisnaberg by "
    "the end of 2025. Union leaders called the announcement a betrayal and promised to fight the "
    "closure, while regional officials asked the firm to delay its decision until a rescue plan "
    "could be discussed with investors."
)
ORCHARD = (
    "A late frost destroyed nearly half of the apple harvest in the Vellin valley this spring, "
    "according to a survey published by the regional farmers' union on Friday. Growers such as "
    "Tomas Brek, who runs a 40-hectare orchard near Saint Amel, said insurance would cover only "
    "part of the loss. The union asked the ministry for emergency support and warned that prices "
    "for local cider could rise by 15 percent before the end of the year."
)
PROFILES = ("spinbot", "bestspinner", "wordai", "moby-rare", "tortured")


class FakeLexicon:
    """A lexicon-like object listing its phrases (what `Canonicalizer.from_lexicon` reads)."""

    def phrases(self) -> list[str]:
        return ["big", "large", "leading", "inter alia", "say", "state", "well-being"]


# --------------------------------------------------------------------------- fingerprint


def test_canonicalizer_keeps_names_and_numbers_and_drops_thesaurus_words() -> None:
    canon = Canonicalizer.from_lexicon(FakeLexicon())
    assert canon.is_mutable("big") and canon.is_mutable("Large")
    assert canon.is_mutable("alia")  # a word inside a stored multiword phrase
    assert canon.is_mutable("leadings")  # a broken inflection of a stored word
    assert canon.is_mutable("states") and canon.is_mutable("said")  # inflections via lemmas
    assert canon.is_mutable("the")  # function words are never immutable
    assert not canon.is_mutable("Elsby") and not canon.is_mutable("4.2")
    assert not canon.is_mutable("K5")
    words = canon.immutable_words("The big Orvane K5 van said 850 jobs at Deltaburg were large")
    assert words == ["orvane", "k5", "van", "850", "jobs", "deltaburg"]


def test_canonicalizer_pickles_to_the_same_stream() -> None:
    canon = Canonicalizer.from_lexicon(FakeLexicon())
    copy = pickle.loads(pickle.dumps(canon))
    assert np.array_equal(copy.stream(HARBOUR), canon.stream(HARBOUR))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.4])
def test_spinning_does_not_change_the_fingerprint(profile: str, rate: float) -> None:
    canon = default_canonicalizer()
    for seed, text in enumerate((HARBOUR, FACTORY, ORCHARD)):
        spun = spin(text, profile, rate=rate, seed=seed)
        assert spun.swaps, "the simulator must have changed something"
        assert canon.immutable_words(spun.text) == canon.immutable_words(text)
        a, b = fingerprint(text, canon), fingerprint(spun.text, canon)
        assert estimated_similarity(a.signature, b.signature) == 1.0
        assert np.array_equal(a.bands, b.bands)


def test_unrelated_texts_share_no_band() -> None:
    canon = default_canonicalizer()
    fps = [fingerprint(t, canon) for t in (HARBOUR, FACTORY, ORCHARD)]
    for i in range(3):
        for j in range(i + 1, 3):
            assert estimated_similarity(fps[i].signature, fps[j].signature) < 0.1
            assert not set(fps[i].bands.tolist()) & set(fps[j].bands.tolist())


def test_minhash_estimates_jaccard() -> None:
    rng = np.random.default_rng(7)
    universe = rng.integers(0, 2**63, size=3000, dtype=np.uint64)
    for overlap in (0.2, 0.5, 0.8):
        shared = int(1000 * overlap)
        a = universe[:1000]
        b = np.concatenate([universe[:shared], universe[1000 : 2000 - shared]])
        true = shared / (2000 - shared)
        est = estimated_similarity(minhash(a, 256), minhash(b, 256))
        assert abs(est - true) < 0.1, (overlap, est, true)


def test_shingles_of_short_and_empty_streams() -> None:
    assert len(shingle_hashes(np.array([], dtype=np.uint64), 3)) == 0
    two = shingle_hashes(np.array([5, 9], dtype=np.uint64), 3)
    assert len(two) == 1
    order = shingle_hashes(np.array([1, 2, 3, 4], dtype=np.uint64), 3)
    backwards = shingle_hashes(np.array([4, 3, 2, 1], dtype=np.uint64), 3)
    assert len(order) == 2 and not set(order.tolist()) & set(backwards.tolist())


def test_short_texts_get_no_lsh_keys_but_an_exact_key() -> None:
    fp = fingerprint("Holt said it was fine.", default_canonicalizer())
    assert len(fp.bands) == 0
    assert fp.exact == fingerprint("holt said it was fine", default_canonicalizer()).exact


def test_params_are_checked() -> None:
    with pytest.raises(ValueError):
        FingerprintParams(bands=40, rows=4)
    assert 0.3 < FingerprintParams().threshold < 0.6


# --------------------------------------------------------------------------- alignment


@pytest.mark.parametrize("profile", PROFILES)
def test_alignment_recovers_every_swap(profile: str) -> None:
    for seed, text in enumerate((HARBOUR, FACTORY, ORCHARD)):
        spun = spin(text, profile, rate=0.35, seed=seed)
        a = align(spun.text, text)
        assert a.similarity >= 0.95
        for s in a.substitutions:
            assert spun.text[s.start : s.end] == s.text
            assert text[s.source_start : s.source_end] == s.source_text
        for swap in spun.swaps:
            if swap.end > swap.start:
                assert any(s.start < swap.end and swap.start < s.end for s in a.substitutions)
        restored = apply_substitutions(spun.text, a.substitutions)
        assert restored.split() == text.split()
        # the spin ratio tracks the words the simulator changed
        changed = sum(len(s.text.split()) for s in spun.swaps)
        assert abs(a.spin_ratio * a.words - changed) <= 0.1 * changed + 2


def test_alignment_of_unrelated_texts_is_not_similar() -> None:
    for a, b in ((HARBOUR, FACTORY), (FACTORY, ORCHARD), (ORCHARD, HARBOUR)):
        assert align(a, b).similarity < 0.6


def test_changed_names_and_numbers_are_edits_not_swaps() -> None:
    edited = HARBOUR.replace("4.2 million", "5.9 million").replace("Maren Holt", "Ada Quill")
    a = align(edited, HARBOUR)
    assert a.edits == 2 and a.substitutions == []
    assert 0.9 < a.similarity < 1.0


def test_identical_texts() -> None:
    a = align(HARBOUR, HARBOUR)
    assert a.similarity == 1.0 and a.spin_ratio == 0.0 and a.identity == 1.0
    assert align("", HARBOUR).similarity == 0.0


# --------------------------------------------------------------------------- index


def _corpus() -> list[Document]:
    return [
        Document("harbour", HARBOUR, {"date": "2024-03-02"}),
        Document("factory", FACTORY, {}),
        Document("orchard", ORCHARD, {"date": "01-APR-2024 10:00:00.00"}),
    ]


def test_index_traces_a_spun_copy_to_its_source(tmp_path: Path) -> None:
    with Index(tmp_path / "ix.sqlite", create=True) as ix:
        assert ix.add(_corpus()).added == 3
        for seed, (doc, profile) in enumerate(zip(_corpus(), PROFILES, strict=False)):
            spun = spin(doc.text, profile, rate=0.3, seed=seed)
            result = ix.trace(spun.text, doc_id="query").to_dict()
            assert [m["source_id"] for m in result["matches"]] == [doc.id]
            match = result["matches"][0]
            assert set(match) == {"source_id", "similarity", "spin_ratio", "substitutions"}
            assert match["similarity"] >= 0.95 and match["spin_ratio"] > 0.05
            for sub in match["substitutions"]:
                assert spun.text[sub["start"] : sub["end"]] == sub["text"]
        assert ix.trace("Nothing like any indexed story.", doc_id="q").matches == []


def test_index_ranks_the_source_before_another_spun_copy(tmp_path: Path) -> None:
    light = spin(HARBOUR, "wordai", rate=0.1, seed=3).text
    heavy = spin(HARBOUR, "bestspinner", rate=0.4, seed=4).text
    with Index(tmp_path / "ix.sqlite", create=True) as ix:
        ix.add([Document("heavy", heavy), Document("light", light), *_corpus()])
        ranked = [m.source_id for m in ix.trace(light, doc_id="light").matches]
    assert ranked[0] == "harbour" and "heavy" in ranked and "light" not in ranked


def test_the_source_is_found_among_many_copies_indexed_before_it(tmp_path: Path) -> None:
    """Spin-proof fingerprints tie a whole family of copies; the copies that share the traced
    text's synonyms outnumber the source among those most like it, so the family's centre
    must be looked at too, whatever the order the documents were indexed in."""
    rotation = ("spinbot", "wordai", "spinnerchief", "bestspinner")
    copies = [
        Document(f"page{k}", spin(FACTORY, rotation[k % 4], rate=0.3, seed=k).text)
        for k in range(30)
    ]
    with Index(tmp_path / "ix.sqlite", create=True) as ix:
        ix.add([*copies, Document("original", FACTORY), *_corpus()[:1]])
        for seed in (777, 778):
            suspect = spin(FACTORY, rotation[seed % 4], rate=0.3, seed=seed).text
            matches = ix.trace(suspect, doc_id="suspect").matches
            assert matches[0].source_id == "original"
            assert len(matches) == 5 and "harbour" not in {m.source_id for m in matches}


def test_a_namesake_with_other_words_is_traced(tmp_path: Path) -> None:
    """Only the text itself is left out as "self": a file named like an indexed document
    (another day's copy.txt) is traced to it."""
    spun = spin(HARBOUR, "spinbot", rate=0.3, seed=2).text
    with Index(tmp_path / "ix.sqlite", create=True) as ix:
        ix.add(_corpus())
        assert [m.source_id for m in ix.trace(spun, doc_id="harbour").matches] == ["harbour"]
        assert ix.trace(HARBOUR, doc_id="harbour").matches == []
        with pytest.raises(ValueError, match="limit"):
            ix.trace(spun, limit=0)
        import unspin.api

        with pytest.raises(TypeError, match="text must be a str"):
            unspin.api.trace(None, index=ix)  # type: ignore[arg-type]


def test_an_index_one_may_not_write_is_read_as_it_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    path = tmp_path / "ix.sqlite"
    with Index(path, create=True) as ix:
        ix.add(_corpus())
    spun = spin(FACTORY, "wordai", rate=0.3, seed=1).text
    real_access = os.access
    monkeypatch.setattr(  # as in a read-only folder or with an immutable file
        os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode)
    )
    with Index(path) as ix:
        assert [m.source_id for m in ix.trace(spun).matches] == ["factory"]
        with pytest.raises(IndexError_, match="unwritable"):
            ix.add([Document("new", ORCHARD.replace("April", "May"))])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix.sqlite"]  # no WAL files made


def test_a_damaged_index_is_bad_input_naming_it(tmp_path: Path) -> None:
    from unspin.errors import InputError

    path = tmp_path / "ix.sqlite"
    with Index(path, create=True) as ix:
        ix.add(_corpus())
    spun = spin(HARBOUR, "spinbot", rate=0.3, seed=5).text
    with sqlite3.connect(path) as db:
        db.execute("UPDATE docs SET text = ? WHERE id = 'harbour'", (b"not zlib at all",))
    with Index(path) as ix, pytest.raises(InputError, match="damaged"):
        ix.trace(spun)
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM docs WHERE id = 'harbour'")  # its bands stay behind
    with Index(path) as ix, pytest.raises(InputError, match=str(path)):
        ix.trace(spun)
    with pytest.raises(IndexError_, match="cannot open or create"):
        Index(tmp_path / "ix.sqlite" / "inside.sqlite", create=True)


def test_index_resumes_and_skips_known_ids(tmp_path: Path) -> None:
    path = tmp_path / "ix.sqlite"
    docs = _corpus()
    with Index(path, create=True) as ix:
        ix.add(docs[:2])  # a build stopped after its first batch
    with Index(path, create=True) as ix:
        stats = ix.add(docs + [Document("harbour", "A different text under a known id.")])
        assert (stats.added, stats.skipped) == (1, 3)
        assert sorted(ix.ids()) == ["factory", "harbour", "orchard"]
        assert ix.text_of("harbour") == HARBOUR
        assert ix.text_of("missing") is None


def test_index_refuses_foreign_files_and_other_settings(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    with pytest.raises(IndexError_):
        Index(other)
    path = tmp_path / "ix.sqlite"
    Index(path, create=True).close()
    with pytest.raises(IndexError_):
        Index(path, params=FingerprintParams(bands=16, rows=8))
    with pytest.raises(FileNotFoundError):
        Index(tmp_path / "none.sqlite")


def test_document_dates() -> None:
    assert document_date({"date": "2020-07-21"}) == "2020-07-21"
    assert document_date({"date": "2020-07-21T10:11:12Z"}) == "2020-07-21T10:11:12"
    assert document_date({"date": "26-FEB-1987 15:01:11.79"}) == "1987-02-26T15:01:11"
    assert document_date({"date": "yesterday"}) is None
    assert document_date({}) is None


def test_source_restore_uses_the_alignment(tmp_path: Path) -> None:
    spun = spin(FACTORY, "spinbot", rate=0.3, seed=11)
    with Index(tmp_path / "ix.sqlite", create=True) as ix:
        ix.add(_corpus())
        result = source_restore(spun.text, ix, doc_id="q")
        assert source_restore(ORCHARD[:60] + " and then something else.", ix) is None
    assert result is not None
    d = result.to_dict()
    assert d["evidence"] == "source" and d["source_id"] == "factory"
    assert d["verdict"] == "spun"
    assert d["restored"].split() == FACTORY.split()
    swapped = [(s.start, s.end) for s in spun.swaps if s.end > s.start]
    for f in d["flags"]:
        assert any(f["start"] < b and a < f["end"] for a, b in swapped)
        assert spun.text[f["start"] : f["end"]] == f["text"]


def test_cli_index_trace_and_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from unspin.cli import main

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": d.id, "text": d.text}) for d in _corpus()))
    index = tmp_path / "ix.sqlite"
    spun = tmp_path / "spun.txt"
    spun.write_text(spin(ORCHARD, "bestspinner", rate=0.3, seed=5).text)

    def run(*args: str) -> int:
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        return int(exc.value.code)

    assert run("index", "build", str(corpus), "--index", str(index), "--workers", "1") == 0
    capsys.readouterr()
    assert run("trace", str(spun), "--index", str(index), "--format", "json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["id"] == "spun.txt" and out["matches"][0]["source_id"] == "orchard"
    assert run("trace", str(spun), "--index", str(index)) == 0
    text = capsys.readouterr().out
    assert "orchard" in text and "source text" in text
    assert run("scan", str(spun), "--index", str(index), "--format", "jsonl") == 0
    scanned = json.loads(capsys.readouterr().out)
    assert scanned["evidence"] == "source" and scanned["source_id"] == "orchard"
    assert run("trace", str(spun), "--index", str(tmp_path / "missing.sqlite")) == 2
    assert "no such index" in capsys.readouterr().err


def test_word_level_comparison_agrees_with_the_alignment() -> None:
    from unspin.context import get_context_model
    from unspin.trace.align import compare_words
    from unspin.trace.cluster import block_margin, naturalness_margin
    from unspin.trace.fingerprint import normalized_words

    context = get_context_model()
    cases = zip((HARBOUR, FACTORY, ORCHARD), PROFILES[:3], strict=True)
    for seed, (text, profile) in enumerate(cases):
        spun = spin(text, profile, rate=0.3, seed=seed).text
        for a, b in ((spun, text), (text, spun), (FACTORY, HARBOUR)):
            full = align(a, b)
            wa, wb = normalized_words(a), normalized_words(b)
            fast = compare_words(wa, wb)
            assert fast.similarity == pytest.approx(full.similarity)
            assert fast.identity == pytest.approx(full.identity)
            assert fast.spin_ratio == pytest.approx(full.spin_ratio)
            assert block_margin(fast.spin_blocks, wa, wb, context) == pytest.approx(
                naturalness_margin(full, a, b, context)
            )
