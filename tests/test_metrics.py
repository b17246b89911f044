"""Benchmark metrics on hand-computed cases."""

import math

from unspin.bench import metrics


def test_auroc_perfect_random_and_ties():
    assert metrics.auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert metrics.auroc([0.1, 0.2], [0.9, 0.8]) == 0.0
    assert metrics.auroc([0.5, 0.5], [0.5, 0.5]) == 0.5
    assert math.isclose(metrics.auroc([0.9, 0.3], [0.5, 0.1]), 0.75)


def test_edit_distance_counts_word_edits():
    a = "the cat sat on the mat".split()
    assert metrics.edit_distance(a, a) == 0
    assert metrics.edit_distance(a, "the dog sat on the mat".split()) == 1
    assert metrics.edit_distance(a, "the cat sat on mat".split()) == 1
    assert metrics.edit_distance([], a) == len(a)


def test_flag_counts_overlap_rule():
    flags = [(0, 5), (10, 12), (30, 35)]
    swaps = [(3, 8), (11, 20), (40, 45)]
    correct, n_flags, found, n_swaps = metrics.flag_counts(flags, swaps)
    assert (correct, n_flags, found, n_swaps) == (2, 3, 2, 3)
    f = metrics.f1_from_counts(correct, n_flags, found, n_swaps)
    assert math.isclose(f["f1"], 2 / 3)


def test_word_list_drops_punctuation_keeps_inner_apostrophes():
    assert metrics.word_list("It didn't rain, he said.") == ["It", "didn't", "rain", "he", "said"]


def test_suggestion_counts_judge_only_exactly_flagged_swaps():
    flags = [(0, 5, "Large"), (10, 12, "in  the end"), (20, 24, None), (30, 35, "big")]
    swaps = [(0, 5, "large"), (10, 12, "in the end"), (20, 24, "dog"), (31, 35, "huge")]
    # (0, 5) right despite case, (10, 12) right despite spacing; (20, 24) has no suggestion and
    # (31, 35) is not flagged exactly, so neither is judged.
    assert metrics.suggestion_counts(flags, swaps) == (2, 2)
    assert metrics.suggestion_counts([(0, 5, "small")], swaps) == (0, 1)


def test_reliability_at_even_odds_on_hand_computed_cases():
    # Every text scored at what it is: no error at all.
    exact = metrics.reliability([1.0, 1.0], [0.0, 0.0, 0.0])
    assert exact["brier"] == 0.0 and exact["ece"] == 0.0
    # All at 0.5: a Brier score of 0.25, and at even odds half of that bin is spun, so the
    # ECE is 0 however many more clean texts there are.
    flat = metrics.reliability([0.5], [0.5, 0.5, 0.5])
    assert flat["brier"] == 0.25 and flat["ece"] == 0.0
    assert flat["bins"] == [
        {"low": 0.5, "high": 0.6, "texts": 4, "mean_p": 0.5, "spun_share": 0.5}
    ]
    # Overconfident: spun texts at 0.9 and clean texts at 0.9 too, half each: the bin's spun
    # share is 0.5 against a mean P of 0.9.
    over = metrics.reliability([0.9, 0.9], [0.9])
    assert math.isclose(over["ece"], 0.4) and math.isclose(over["brier"], 0.41)
    # A clean text at P 1.0 falls in the last bin, not past it.
    assert metrics.reliability([1.0], [1.0])["bins"][0]["low"] == 0.9
    assert math.isnan(metrics.reliability([], [0.2])["ece"])
