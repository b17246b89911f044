"""Benchmark data: the fixed train/test split and the samplers built on it."""

from __future__ import annotations

import gzip
import json

from unspin.bench.datasets import sample_articles, sample_paragraphs, split_of


def _corpus(tmp_path, n=200):
    # Written for this test: documents of two paragraphs, the second long enough to count.
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for k in range(n):
            words = " ".join(f"word{k}x{j}" for j in range(60 + k % 120))
            text = f"Short opening line number {k}.\n\n{words}"
            fh.write(json.dumps({"id": f"doc-{k}", "text": text, "source": "test"}) + "\n")
    return str(path)


def test_split_is_fixed_and_about_one_in_ten():
    ids = [f"id-{k}" for k in range(5000)]
    test = [i for i in ids if split_of(i) == "test"]
    assert 0.07 < len(test) / len(ids) < 0.13
    assert [split_of(i) for i in ids[:50]] == [split_of(i) for i in ids[:50]]


def test_articles_respect_split_length_and_seed(tmp_path):
    path = _corpus(tmp_path)
    arts = sample_articles([path], "test", 100, seed=1, min_words=100, max_words=150)
    assert arts, "the corpus holds test-split documents in range"
    for a in arts:
        assert split_of(a.doc_id) == "test"
        assert 100 <= len(a.text.split()) <= 150
        assert a.index == -1 and "\n\n" in a.text  # the whole document, not a paragraph
    again = sample_articles([path], "test", 100, seed=1, min_words=100, max_words=150)
    assert [a.doc_id for a in again] == [a.doc_id for a in arts]
    train_ids = {p.doc_id for p in sample_paragraphs([path], "train", 1000)}
    assert not train_ids & {a.doc_id for a in arts}  # never a training document


def test_encoder_and_word_model_parts_are_disjoint_halves_of_train(tmp_path):
    from unspin.bench.datasets import part_of

    path = _corpus(tmp_path, n=400)
    enc = sample_paragraphs([path], "train", 1000, part="encoder")
    words = sample_paragraphs([path], "train", 1000, part="words")
    everything = sample_paragraphs([path], "train", 1000)
    enc_ids, word_ids = {p.doc_id for p in enc}, {p.doc_id for p in words}
    assert enc_ids and word_ids and not enc_ids & word_ids
    assert enc_ids | word_ids == {p.doc_id for p in everything}
    assert all(part_of(i) == "encoder" for i in enc_ids)
    assert 0.35 < len(enc_ids) / (len(enc_ids) + len(word_ids)) < 0.65


def test_per_doc_caps_paragraphs_taken_from_one_document(tmp_path):
    # Written for this test: every document holds five long paragraphs.
    path = tmp_path / "multi.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for k in range(300):
            paras = [" ".join(f"w{k}p{p}n{j}" for j in range(45)) for p in range(5)]
            fh.write(json.dumps({"id": f"m-{k}", "text": "\n\n".join(paras)}) + "\n")
    capped = sample_paragraphs([str(path)], "train", 10_000)
    wide = sample_paragraphs([str(path)], "train", 10_000, per_doc=10)
    docs = {p.doc_id for p in capped}
    assert docs == {p.doc_id for p in wide}
    assert len(capped) == 3 * len(docs)  # the evaluation default: three per document
    assert len(wide) == 5 * len(docs)  # every paragraph once the cap is above five
    assert len({(p.doc_id, p.index) for p in wide}) == len(wide)
