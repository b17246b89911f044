"""The spinner simulator: exact, reversible swaps with each profile's characteristic behaviour."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unspin.spin import PROFILES, SpinProfile, SpinResult, spin
from unspin.spin.simulator import SWAPPABLE_FUNCTION_WORDS, spin_documents


@dataclass(frozen=True)
class _Cand:
    text: str
    weight: float
    source: str


def _c(spec: str, source: str = "wordnet+moby") -> list[_Cand]:
    """'word:weight|word:weight' -> candidates (weight 1 when omitted)."""
    out = []
    for part in spec.split("|"):
        text, _, w = part.partition(":")
        out.append(_Cand(text, float(w or 1.0), source))
    return out


class _FakeLexicon:
    """A small hand-made forward thesaurus, so these tests do not depend on the real one."""

    max_phrase_len = 3

    def __init__(self) -> None:
        t: dict[str, list[_Cand]] = {
            "quick": _c("fast|rapid:0.5") + _c("expeditious:0.2", "moby"),
            "fox": _c("vixen:0.6|reynard:0.2", "moby"),
            "jumped": _c("leaped|sprang:0.5|bounced:0.3"),
            "lazy": _c("idle|slothful:0.3|indolent:0.3"),
            "dog": _c("hound|canine:0.5") + _c("pooch:0.4", "moby"),
            "river": _c("stream|waterway:0.4"),
            "bank": _c("shore|embankment:0.3"),
            "farmers": _c("growers|planters:0.4|agriculturalists:0.2"),
            "harvest": _c("crop|yield:0.6|reaping:0.1"),
            "talks": _c("discussions|negotiations:0.7|dialogues:0.3"),
            "opposition": _c("resistance|rivals:0.5"),
            "village": _c("hamlet|settlement:0.6"),
            "market": _c("marketplace|bazaar:0.4"),
            "prices": _c("costs|rates:0.5"),
            "rose": _c("increased|climbed:0.6|soared:0.3"),
            "sharply": _c("steeply|abruptly:0.4"),
            "week": _c("seven days:0.3", "moby"),
            "help": _c("assistance|aid:0.8") + _c("lend a hand:0.3", "phrase"),
            "since": _c("because of|as", "phrase"),
            "but": _c("however|yet", "phrase"),
            "have": _c("own|possess:0.7", "phrase"),
            "in recent years": _c("in the last few years|lately:0.6", "phrase"),
            "a lot of": _c("a great deal of|plenty of", "phrase"),
            "mark": _c("score|grade"),  # also a name: "Mark" mid-sentence must stay
            "said": _c("stated|declared:0.5", "phrase"),
            "old": _c("aged|elderly:0.6"),
            "road": _c("street|route:0.7"),
            "new": _c("fresh|novel:0.5"),
        }
        self.table = t

    def synonyms_of(self, phrase: str, limit: int = 50) -> list[_Cand]:
        return self.table.get(phrase, [])[:limit]

    def has_entry(self, phrase: str) -> bool:
        return phrase in self.table


LEX = _FakeLexicon()

SENTENCES = [
    "The quick fox jumped over the lazy dog near the river bank.",
    "Farmers in the village have sold a lot of the harvest at the market.",
    "Prices rose sharply last week, but the farmers said they need help.",
    "Talks with the opposition have stalled in recent years, Mark said on Monday.",
    "Since 2019 the old road to the new market has been closed for 3 months.",
    "“The harvest is quick,” said Anna Lindqvist, “but prices rose.”",
    "In recent years the dog and the fox have shared the river bank.",
]
LONG_TEXT = " ".join(SENTENCES * 12)


def _check_exact(result: SpinResult) -> None:
    """Spans are exact, sorted, non-overlapping, and undoing them restores the original."""
    prev_end, prev_orig_end = -1, -1
    for s in result.swaps:
        assert result.text[s.start : s.end] == s.text
        assert result.original[s.orig_start : s.orig_end] == s.original
        assert s.start >= prev_end and s.orig_start >= prev_orig_end
        assert s.text != s.original
        prev_end, prev_orig_end = s.end, s.orig_end
    assert result.undo() == result.original
    # outside the swaps the two texts are identical, piece by piece
    a = b = 0
    for s in result.swaps:
        assert result.text[a : s.start] == result.original[b : s.orig_start]
        a, b = s.end, s.orig_end
    assert result.text[a:] == result.original[b:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.integers(0, len(SENTENCES) - 1), min_size=1, max_size=6),
    seps=st.lists(st.sampled_from([" ", "\n", "\n\n", "  "]), min_size=6, max_size=6),
    profile=st.sampled_from(sorted(PROFILES)),
    rate=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
)
def test_swaps_are_exact_and_reversible(picks, seps, profile, rate, seed):
    text = "".join(SENTENCES[p] + seps[k] for k, p in enumerate(picks))
    result = spin(text, profile, rate=rate, seed=seed, lexicon=LEX)
    assert result.original == text
    assert result.profile == profile
    _check_exact(result)


def test_same_inputs_give_same_output_and_seeds_differ():
    a = spin(LONG_TEXT, "spinbot", rate=0.3, seed=7, lexicon=LEX)
    b = spin(LONG_TEXT, "spinbot", rate=0.3, seed=7, lexicon=LEX)
    c = spin(LONG_TEXT, "spinbot", rate=0.3, seed=8, lexicon=LEX)
    assert a == b
    assert a.text != c.text


def test_rate_zero_returns_text_unchanged():
    for name in PROFILES:
        result = spin(LONG_TEXT, name, rate=0.0, seed=3, lexicon=LEX)
        assert result.text == LONG_TEXT and result.swaps == []


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.4])
def test_realised_rate_is_near_the_requested_one(rate):
    # Every eligible content word of this text has synonyms, so any rate is reachable.
    words = "quick fox jumped lazy dog river bank village market prices rose sharply".split()
    text = " ".join(
        f"The {words[k % 12]} and the {words[(k * 5 + 1) % 12]} stayed." for k in range(150)
    )
    # eligible: the two thesaurus words and "stayed" per sentence (450); "stayed" has none
    n_eligible = 150 * 3
    shares = []
    for seed in range(5):
        result = spin(text, "bestspinner", rate=rate, seed=seed, lexicon=LEX)
        _check_exact(result)
        shares.append(result.changed_words / n_eligible)
    mean = sum(shares) / len(shares)
    assert abs(mean - rate) < 0.02, shares


def test_names_numbers_and_punctuation_stay():
    text = (
        "Mark said the talks in 2019 cost 3.5 million dollars. Later, Anna Mark met the "
        "opposition in Quick River; talks with Mark took 12 days."
    )
    kept = ["Mark", "2019", "3.5", "Anna", "Quick River", "12", ";", "."]
    for seed in range(30):
        result = spin(text, "moby-rare", rate=1.0, seed=seed, lexicon=LEX)
        _check_exact(result)
        for s in result.swaps:
            for word in kept:
                assert word not in s.original.split(), (word, s)
            assert not re.search(r"\d", s.original)
        assert result.text.count("Mark") == 3


def test_sentence_initial_capital_is_carried_over():
    text = "Talks resumed. Farmers waited. Prices rose."
    seen = 0
    for seed in range(10):
        result = spin(text, "wordai", rate=1.0, seed=seed, lexicon=LEX)
        for s in result.swaps:
            if s.original[0].isupper():
                assert s.text[0].isupper()
                seen += 1
    assert seen > 10


def _many(profile: str | SpinProfile, rate: float = 0.5, n: int = 20) -> list[SpinResult]:
    return [spin(LONG_TEXT, profile, rate=rate, seed=s, lexicon=LEX) for s in range(n)]


def _mid_sentence_capitals(result: SpinResult) -> int:
    return sum(1 for s in result.swaps if s.text[:1].isupper() and s.original[:1].islower())


def test_case_breaks_only_when_keep_case_is_false():
    assert not PROFILES["moby-rare"].keep_case and PROFILES["wordai"].keep_case
    assert sum(_mid_sentence_capitals(r) for r in _many("moby-rare")) > 0
    for name, prof in PROFILES.items():
        if prof.keep_case:
            assert sum(_mid_sentence_capitals(r) for r in _many(name, n=5)) == 0, name


def _wrong_forms(result: SpinResult) -> int:
    """Swaps whose text is no candidate of the original (only broken inflection makes those)."""
    bad = 0
    for s in result.swaps:
        cands = {c.text for c in LEX.synonyms_of(s.original.lower(), 50)}
        if s.text and s.text.lower() not in cands:
            bad += 1
    return bad


def test_inflection_breaks_only_when_keep_inflection_is_false():
    assert sum(_wrong_forms(r) for r in _many("bestspinner")) > 0
    broken = {"fox", "foxes", "vixens", "leap", "leaps", "leaping", "hounds", "crops"}
    words = {s.text.lower() for r in _many("bestspinner") for s in r.swaps}
    assert words & broken
    for name, prof in PROFILES.items():
        if prof.keep_inflection:
            assert sum(_wrong_forms(r) for r in _many(name, n=5)) == 0, name


def test_drops_only_with_drop_rate():
    drops = [s for r in _many("spinbot", n=30) for s in r.swaps if s.text == ""]
    assert drops
    for s in drops:
        assert s.original.split()[0] in set("the a an that on of to in at for".split())
    for name, prof in PROFILES.items():
        if prof.drop_rate == 0:
            assert all(s.text for r in _many(name, n=5) for s in r.swaps), name


def _phrase_share(results: list[SpinResult]) -> float:
    """Share of (non-drop) swaps that are multiword on either side or of a function word."""
    function = SWAPPABLE_FUNCTION_WORDS
    swaps = [s for r in results for s in r.swaps if s.text]
    phrase = [
        s for s in swaps if " " in s.original or " " in s.text or s.original.lower() in function
    ]
    return len(phrase) / len(swaps)


def test_phrase_heavy_profiles_make_phrase_and_function_word_swaps():
    wordai = _phrase_share(_many("wordai", rate=0.3))
    wordnet = _phrase_share(_many("wordnet", rate=0.3))
    assert wordai > 0.3
    assert wordai > wordnet + 0.15
    multi = [s for r in _many("wordai", rate=0.3) for s in r.swaps if " " in s.original]
    assert {s.original.lower() for s in multi} & {"in recent years", "a lot of"}


def test_thesaurus_setting_filters_sources():
    moby_only = {c.text for cands in LEX.table.values() for c in cands if c.source == "moby"}
    used = {s.text.lower() for r in _many("wordnet") for s in r.swaps}
    assert used and not used & moby_only
    phrase_only = replace(PROFILES["wordai"], name="phrase-only", thesaurus="phrase")
    allowed = {c.text for cands in LEX.table.values() for c in cands if c.source == "phrase"}
    for r in _many(phrase_only, n=5):
        for s in r.swaps:
            assert s.text.lower() in allowed | {""}


def test_common_preference_picks_more_frequent_words_than_rare():
    from wordfreq import zipf_frequency

    def mean_zipf(profile: SpinProfile) -> float:
        zs = [zipf_frequency(s.text, "en") for r in _many(profile) for s in r.swaps if s.text]
        return sum(zs) / len(zs)

    base = replace(PROFILES["bestspinner"], keep_inflection=True, drop_rate=0.0)
    common = mean_zipf(replace(base, name="c", prefer="common"))
    uniform = mean_zipf(replace(base, name="u", prefer="uniform"))
    rare = mean_zipf(replace(base, name="r", prefer="rare"))
    assert common > uniform + 0.2 > rare + 0.4


def test_profiles_are_documented_and_valid():
    assert len(PROFILES) >= 5
    for name, p in PROFILES.items():
        assert p.name == name and len(p.description) > 40
        assert p.thesaurus in {"wordnet", "moby", "both", "phrase", "all"}
        assert 0 < p.rate <= 1 and 0 <= p.phrase_rate <= 1 and 0 <= p.drop_rate < 0.2


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown spin profile"):
        spin("text", "nope", lexicon=LEX)
    with pytest.raises(ValueError, match="rate"):
        spin("text", "spinbot", rate=1.5, lexicon=LEX)


def test_labels_mark_swapped_words_of_the_spun_text():
    result = spin(LONG_TEXT, "spinbot", rate=0.3, seed=1, lexicon=LEX)
    labels = result.labels()
    assert 0 < sum(lab for *_, lab in labels) < len(labels)
    for start, end, lab in labels:
        inside = any(s.start < end and start < s.end for s in result.swaps)
        assert lab == int(inside)


def test_spin_documents_is_seeded_and_mixes_profiles():
    texts = SENTENCES * 4
    a = list(spin_documents(texts, ["spinbot", "wordnet"], [0.2, 0.4], seed=5, lexicon=LEX))
    b = list(spin_documents(texts, ["spinbot", "wordnet"], [0.2, 0.4], seed=5, lexicon=LEX))
    assert a == b
    assert {r.profile for r in a} == {"spinbot", "wordnet"}
    for r, t in zip(a, texts, strict=True):
        assert r.original == t
        _check_exact(r)


# ---- with the project lexicon ----------------------------------------------------------------

REAL_TEXT = (
    "The city council said on Tuesday that it would build a new bridge over the river, although "
    "many residents have raised concerns about traffic and noise. Since the plan was announced "
    "in March, more than 2,000 people have signed a petition against it. Councillor Maria Okafor "
    "told reporters that the project would help small businesses and create hundreds of jobs. "
    "In recent years the town has struggled to attract investment, but officials believe the "
    "bridge could change that. Critics argue the money should be spent on schools and hospitals "
    "instead, because the old crossing still works. The final decision is expected next month, "
    "after a public meeting at the library. Engineers estimate that construction will take two "
    "years and cost about 45 million pounds, which is a lot of money for a small town.\n\n"
    "Local farmers worry that the new road will cut through their fields. Several families "
    "have lived in the valley for generations, and they say the noise will drive away birds and "
    "tourists. However, supporters point out that the current route is dangerous and slow."
)


@pytest.fixture(scope="module")
def lexicon():
    from unspin.lexicon import get_lexicon

    return get_lexicon()


def test_real_lexicon_every_profile_is_exact_and_near_its_rate(lexicon):
    for name, prof in PROFILES.items():
        shares = []
        for seed in range(6):
            result = spin(REAL_TEXT, name, seed=seed, lexicon=lexicon)
            _check_exact(result)
            shares.append(result.realised_rate())
        mean = sum(shares) / len(shares)
        assert abs(mean - prof.rate) < 0.03, (name, shares)


def test_real_lexicon_is_deterministic(lexicon):
    a = spin(REAL_TEXT, "spinbot", rate=0.3, seed=11, lexicon=lexicon)
    b = spin(REAL_TEXT, "spinbot", rate=0.3, seed=11)  # default lexicon: the same one
    assert a == b and a.swaps


def test_real_lexicon_keeps_names_and_numbers(lexicon):
    for seed in range(10):
        result = spin(REAL_TEXT, "moby-rare", rate=0.8, seed=seed, lexicon=lexicon)
        for kept in ["Maria Okafor", "2,000", "45 million", "March", "Tuesday"]:
            assert kept in result.text
        assert all(not re.search(r"\d|[A-Z]", s.original[1:]) for s in result.swaps)


def test_real_phrase_heavy_profile_rewrites_phrases_and_connectives(lexicon):
    results = [spin(REAL_TEXT, "wordai", seed=s, lexicon=lexicon) for s in range(10)]
    multi = [s for r in results for s in r.swaps if " " in s.original]
    function = [
        s
        for r in results
        for s in r.swaps
        if s.original.lower()
        in {
            "since",
            "although",
            "but",
            "however",
            "have",
            "because",
            "about",
            "more",
            "many",
            "several",
            "instead",
            "after",
        }
    ]
    assert multi and function
    assert _phrase_share(results) > 0.45
    one_for_one = _phrase_share(
        [spin(REAL_TEXT, "wordnet", seed=s, lexicon=lexicon) for s in range(10)]
    )
    assert one_for_one < 0.3


def test_real_common_choices_are_more_common_than_rare_ones(lexicon):
    from wordfreq import zipf_frequency

    def mean_zipf(name: str) -> float:
        zs = [
            zipf_frequency(s.text, "en")
            for seed in range(8)
            for s in spin(REAL_TEXT, name, rate=0.3, seed=seed, lexicon=lexicon).swaps
            if s.text
        ]
        return sum(zs) / len(zs)

    assert mean_zipf("wordai") > mean_zipf("bestspinner") > mean_zipf("moby-rare")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.integers(0, 8),
    length=st.integers(1, 6),
    profile=st.sampled_from(sorted(PROFILES)),
    rate=st.floats(0.05, 1.0),
    seed=st.integers(0, 2**31),
)
def test_real_lexicon_swaps_are_exact_and_reversible(start, length, profile, rate, seed):
    from unspin.lexicon import get_lexicon
    from unspin.text import sentence_spans

    spans = sentence_spans(REAL_TEXT)[start : start + length]
    text = REAL_TEXT[spans[0][0] : spans[-1][1]] if spans else REAL_TEXT
    _check_exact(spin(text, profile, rate=rate, seed=seed, lexicon=get_lexicon()))


def test_real_tortured_picks_go_deeper_into_the_list_than_common(lexicon):
    from unspin.spin.simulator import plain_candidates

    def mean_rank(name: str) -> float:
        ranks = []
        for seed in range(8):
            for s in spin(REAL_TEXT, name, rate=0.4, seed=seed, lexicon=lexicon).swaps:
                texts = [t for t, _, _ in plain_candidates(lexicon, s.original.lower(), 60)]
                if s.text.lower() in texts:
                    ranks.append(texts.index(s.text.lower()))
        return sum(ranks) / len(ranks)

    assert mean_rank("tortured") > mean_rank("wordai") + 3


def test_calibration_reads_only_odd_rows_and_cleans_answers(tmp_path):
    from unspin.spin.calibrate import calibration_pairs

    csv_path = tmp_path / "t.csv"
    csv_path.write_text(
        "tortured_phrase,expected_phrase,num_papers\n"
        '"""colossal figures"" AND ""big numbers""",big numbers (BN),"1,200"\n'
        '"""reserved row""",held out,5\n'
        '"""shaky guess""",unsure answer (?),3\n'
        '"""reserved again""",held out,2\n'
        '"""Quick Fox""",fast fox / swift fox,1\n',
        encoding="utf-8",
    )
    assert list(calibration_pairs(csv_path)) == [
        ("big numbers", "colossal figures"),
        ("fast fox", "quick fox"),
    ]


def test_pick_model_fit_recovers_known_preferences():
    import math
    import random

    from unspin.spin.calibrate import Observation, fit_pick_model
    from unspin.spin.simulator import _zipf

    pool = "house car tree river stone table window garden bridge market city field".split()
    pool += "abode vehicle sapling rivulet pebble bench casement arbor viaduct bazaar".split()
    rng = random.Random(0)
    true_a, true_b = 0.8, 2.0
    found = []
    for k in range(400):
        cands = tuple((w, rng.uniform(0.1, 1.0)) for w in rng.sample(pool, 8))
        scores = [true_a * _zipf(t) + true_b * math.log(w) for t, w in cands]
        top = max(scores)
        chosen = rng.choices(cands, weights=[math.exp(s - top) for s in scores])[0][0]
        found.append(Observation(f"w{k}", chosen, cands))
    a, b, ll, ll0 = fit_pick_model(found)
    assert abs(a - true_a) < 0.25 and abs(b - true_b) < 0.5
    assert ll > ll0
