"""Word features: thesaurus candidates scored against the observed word in context."""

from dataclasses import dataclass

import numpy as np
import pytest

from unspin.context import get_context_model
from unspin.detect.features import FEATURE_NAMES, extract
from unspin.detect.train import label_words
from unspin.text import tokenize


@dataclass(frozen=True)
class _Cand:
    text: str
    weight: float
    source: str


class _TinyLexicon:
    """A hand-made reverse thesaurus, so these tests do not depend on the real one."""

    max_phrase_len = 2
    table = {
        "energy": [_Cand("power", 0.9, "wordnet+moby"), _Cand("vigor", 0.5, "moby")],
        "power": [_Cand("energy", 0.9, "wordnet+moby")],
        "resistance": [_Cand("opposition", 0.8, "moby")],
        "own dialog": [_Cand("have dialogue", 0.9, "phrase")],
    }

    def sources_of(self, phrase, limit=50):
        return self.table.get(phrase, [])[:limit]

    def has_entry(self, phrase):
        return phrase in self.table

    def may_start_phrase(self, first, second):
        return any(k.split(" ")[:2] == [first, second] for k in self.table)

    def may_continue(self, words):
        return any(k.split(" ")[: len(words) + 1][:-1] == list(words) for k in self.table)

    def out_weight(self, phrase):
        """What `phrase` could be spun into: the weights of the entries it is a source of."""
        return sum(c.weight for cands in self.table.values() for c in cands if c.text == phrase)


def _col(name):
    return FEATURE_NAMES.index(name)


@pytest.fixture(scope="module")
def context():
    return get_context_model()


def test_swapped_word_fits_worse_than_its_original(context):
    text = "The president said he was still secure in his energy after the vote."
    feats = extract(tokenize(text), _TinyLexicon(), context)
    words = [w.text for w in feats.words]
    energy = feats.matrix[words.index("energy")]
    assert energy[_col("has_candidates")] == 1
    assert energy[_col("lm_delta_best")] > 0  # "power" fits this context better
    span = feats.spans[feats.word_span[words.index("energy")]]
    assert span.candidates[0] == "power"
    # a word without thesaurus sources gets no candidate features
    assert feats.matrix[words.index("president")][_col("has_candidates")] == 0


def test_original_word_in_place_is_not_suspicious(context):
    text = "The president said he was still secure in his power after the vote."
    feats = extract(tokenize(text), _TinyLexicon(), context)
    words = [w.text for w in feats.words]
    assert feats.matrix[words.index("power")][_col("lm_delta_best")] < 0


def test_news_columns_compare_the_span_with_its_candidates_in_news_prose(context):
    """The news bigram columns: the observed words' fit per pair, the best of the first
    candidates' fit against it, and the observed fit in news against the web's."""
    from unspin.context.model import BOS
    from unspin.context.news import news_bigrams

    news = news_bigrams()
    spun = "The minister said talks with the resistance would begin in the spring."
    feats = extract(tokenize(spun), _TinyLexicon(), context)
    words = [w.text for w in feats.words]
    row = feats.matrix[words.index("resistance")]
    observed = news.fit("the", ["resistance"], "would")
    assert row[_col("news_fit_observed")] == pytest.approx(observed / 2, abs=1e-4)
    fit = news.fit("the", ["opposition"], "would")
    assert row[_col("news_fit_delta")] == pytest.approx(fit - observed, abs=1e-4)
    assert row[_col("news_fit_delta")] > 0  # news writes "the opposition" far more
    lp = context.bigram_logprob
    web = lp("the", "resistance") + lp("resistance", "would")
    assert row[_col("news_fit_vs_web")] == pytest.approx(observed - web, abs=1e-4)
    # a word without candidates: its own fit, no delta; the first word follows BOS
    first = feats.matrix[0]
    assert first[_col("news_fit_delta")] == 0
    expected = news.fit(BOS, ["the"], "minister") / 2
    assert first[_col("news_fit_observed")] == pytest.approx(expected, abs=1e-4)


def test_news_columns_equal_a_word_by_word_reading(context):
    """The batched news columns equal each word's span read on its own, with the real
    thesaurus (phrases, sentence edges, words the news counts never saw)."""
    from unspin.context.model import BOS, EOS
    from unspin.context.news import news_bigrams
    from unspin.detect.features import NEWS_CANDIDATES
    from unspin.lexicon import get_lexicon

    news = news_bigrams()
    text = (  # written for this test
        "In the long run, the council stated, the zorbling plan will go ahead. Residents "
        "welcomed it; a few kids protested outside the town hall on Friday evening."
    )
    feats = extract(tokenize(text), get_lexicon(), context)
    normed, sent = feats.normed, feats.sentences
    n = len(normed)
    assert any(s.last - s.first > 1 for s in feats.spans)
    for w in range(n):
        span = feats.spans[feats.word_span[w]]
        i, j = span.first, span.last
        before = normed[i - 1] if i and sent[i - 1] == sent[i] else BOS
        after = normed[j] if j < n and sent[j] == sent[i] else EOS
        observed = news.fit(before, normed[i:j], after)
        fits = [news.fit(before, c.split(), after) for c in span.candidates[:NEWS_CANDIDATES]]
        best = max(fits) if fits else observed
        lp = context.bigram_logprob
        web = lp(before, normed[i]) + lp(normed[j - 1], after)
        row = feats.matrix[w]
        assert row[_col("news_fit_observed")] == pytest.approx(observed / (j - i + 1), abs=1e-4)
        assert row[_col("news_fit_delta")] == pytest.approx(best - observed, abs=1e-4)
        assert row[_col("news_fit_vs_web")] == pytest.approx(observed - web, abs=1e-4)


def test_phrase_spans_and_mid_sentence_capitals(context):
    text = "Both sides now own dialog with the Resistance in the capital."
    feats = extract(tokenize(text), _TinyLexicon(), context)
    words = [w.text for w in feats.words]
    own = feats.word_span[words.index("own")]
    assert feats.spans[own].candidates[0] == "have dialogue"
    assert feats.word_span[words.index("dialog")] == own
    cap = feats.matrix[words.index("Resistance")]
    assert cap[_col("capital_mid_sentence")] == 1
    assert feats.matrix[words.index("Both")][_col("capital_mid_sentence")] == 0


def test_fast_mode_has_same_shape(context):
    text = "The president said he was still secure in his energy after the vote."
    slow = extract(tokenize(text), _TinyLexicon(), context)
    fast = extract(tokenize(text), _TinyLexicon(), context, fast=True)
    assert slow.matrix.shape == fast.matrix.shape == (len(slow.words), len(FEATURE_NAMES))
    assert np.isfinite(fast.matrix).all()
    # the noisy-channel columns are the default mode's only
    channel = [_col(c) for c in ("best_channel", "channel_odds", "out_weight_observed")]
    assert not fast.matrix[:, channel].any()
    assert slow.matrix[:, channel].any()


def test_label_words_marks_overlapping_words():
    words = [(0, 3), (4, 9), (10, 14), (15, 20)]

    @dataclass
    class S:
        start: int
        end: int

    assert label_words(words, [S(4, 14)]).tolist() == [0, 1, 1, 0]
    assert label_words(words, []).tolist() == [0, 0, 0, 0]


def test_batched_bigram_fits_equal_bigram_fit(context):
    """The scan scores all candidates of a document in one batch; it must score exactly like
    `bigram_fit`: pairs in the table, edges, apostrophes, unknown words, words found only in
    the bigram table ("100th anniversary"), and spans with no candidates."""
    phrases = [
        ("power",),
        ("have", "dialogue"),
        ("didn't",),
        ("qzxv",),
        ("in", "the", "end"),
        ("york",),
        ("100th",),
        ("anniversary",),
    ]
    contexts = [("the", "of"), ("<s>", "</s>"), ("qzxv", "said"), ("new", "city"), ("100th", "in")]
    keys = [context.pair_keys(phrases) for _ in contexts]
    keys.insert(2, context.pair_keys([]))
    lefts = [c[0] for c in contexts]
    rights = [c[1] for c in contexts]
    lefts.insert(2, "the")
    rights.insert(2, "end")
    batched = context.bigram_fits_many(lefts, keys, rights)
    expected = [context.bigram_fit(left, p, right) for left, right in contexts for p in phrases]
    assert batched == expected
    # the table holds these pairs: the batch found them, not only the back-off
    assert context.bigram_fit("new", ["york"], "city") > context.bigram_fit(
        "new", ["power"], "city"
    )
    assert context.bigram_fits_many([], [], []) == []


def test_a_capital_inside_a_run_of_capitals_reads_as_a_name(context):
    # "Power" in "Northern Power Company" is part of a name; a lone "Resistance" is a spinner's
    # stray capital. Both words have thesaurus sources, so both are scored.
    text = (
        "The Northern Power Company said on Monday that the Resistance had rejected its offer "
        "after talks ended late in the evening."
    )
    feats = extract(tokenize(text), _TinyLexicon(), context)
    words = [w.text for w in feats.words]
    power, resistance = (feats.matrix[words.index(w)] for w in ("Power", "Resistance"))
    assert power[_col("capital_mid_sentence")] == 1 and power[_col("capital_run")] == 1
    assert resistance[_col("capital_mid_sentence")] == 1 and resistance[_col("capital_run")] == 0
    # a word without sources keeps the column too
    company = feats.matrix[words.index("Company")]
    assert company[_col("has_candidates")] == 0 and company[_col("capital_run")] == 1
    # lower-case words and sentence starts are never part of a name run here
    assert feats.matrix[words.index("said"), _col("capital_run")] == 0
    assert feats.matrix[words.index("The"), _col("capital_run")] == 0


def test_name_runs_need_two_mid_sentence_capitals():
    from unspin.detect.features import name_runs
    from unspin.text import words as word_tokens

    text = "Snow fell on Lake Pinewood. Then Ferry services stopped, NATO said."
    ws = word_tokens(tokenize(text))
    starts = [i == 0 or ws[i - 1].sentence != ws[i].sentence for i in range(len(ws))]
    runs = [w.text for w, r in zip(ws, name_runs(ws, starts), strict=True) if r]
    # "Snow" and "Then" start sentences; "Ferry" stands alone; "NATO" is all capitals
    assert runs == ["Lake", "Pinewood"]


def test_channel_features_prefer_an_original_with_few_synonyms(context):
    """The noisy channel: of two equally linked candidates, the one that could have been spun
    into fewer words explains the observed word better; a word nothing is spun into has none."""
    from unspin.detect.features import channel_features

    class Lex(_TinyLexicon):
        table = {
            "trip": [_Cand("journey", 0.8, "moby")],
            "voyage": [_Cand("journey", 0.8, "moby")],
            # "tour" could become nine words, "journey" two: "trip" or "voyage".
            **{f"w{k}": [_Cand("tour", 0.8, "moby")] for k in range(9)},
        }

    lex = Lex()
    few = channel_features(lex, context, "trip", [("journey",)], [0.8], -10.0)
    many = channel_features(lex, context, "trip", [("tour",)], [0.8], -10.0)
    assert few[0] == pytest.approx(np.log(0.8 / 1.6))
    assert many[0] == pytest.approx(np.log(0.8 / 7.2))
    # the log odds that some candidate became the word grow as the word itself gets rarer
    rarer = channel_features(lex, context, "trip", [("journey",)], [0.8], -15.0)
    assert rarer[1] == pytest.approx(few[1] + 5.0)
    # "journey" is a source of two words: its own out-weight; a word with no candidates is 0.0
    assert channel_features(lex, context, "journey", [], [], -10.0) == (
        0.0,
        0.0,
        pytest.approx(np.log(1.6)),
    )


def test_own_logprobs_sum_to_the_language_models_windows():
    from unspin.detect.features import context_window, norm_word, own_logprobs
    from unspin.text import words as word_tokens

    text = (
        "The ferry left late. Nobody on the pier seemed to mind, since the evening was warm "
        "and the café stayed open! Later, the harbour master said the engine had failed twice"
    )
    context = get_context_model()
    toks = word_tokens(tokenize(text))
    normed = [norm_word(t.text) for t in toks]
    sent = [t.sentence for t in toks]
    assert len(set(sent)) == 3
    own = own_logprobs(context, normed, sent)
    n = len(normed)
    for i in range(n):
        for j in range(i + 1, min(i + 4, n) + 1):
            if sent[j - 1] != sent[i]:
                break
            left, right = context_window(normed, sent, i, j)
            # the same terms summed in the same order: equal, not just close
            assert own.window(i, j) == context.window_logprob(left, normed[i:j], right)
        left, _ = context_window(normed, sent, i, i + 1)
        assert own.at[i] == context.logprob(normed[i], left)
