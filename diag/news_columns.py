"""What the news columns add: news register and news bigram fit, to the ranker and word model.

Run from the repository root: `python diag/news_columns.py [--paragraphs N] [--fast]`. Spins
paragraphs of the word model's half of the train split (seeded; the bench's test split is not
read, and the news counts come from the encoder's half), builds the ranker's and the word
model's rows the way `unspin train` does, and fits each model on 60 % of the paragraphs with
and without the news columns, scoring it on the other 40 %:
- the ranker without its register columns (`register_candidate`, `register_delta`,
  `register_gap`: `unspin.text.register`), without its news-fit columns (`news_fit_delta`,
  `news_fit_gap`: `unspin.context.news`), and with both: how often the original of a single
  swap comes first, by profile;
- the word model without and with its news-fit columns (`news_fit_observed`,
  `news_fit_delta`, `news_fit_vs_web`): word AUROC and the best word F1.
Without the encoder's columns, which only `unspin train` computes.
"""

from __future__ import annotations

from channel import _without, examples_from_args, ranker_line, word_line  # a sibling script

from unspin.detect.features import FEATURE_NAMES
from unspin.restore.rank import RANK_FEATURE_NAMES

RANK_REGISTER = ("register_candidate", "register_delta", "register_gap")
RANK_NEWS = ("news_fit_delta", "news_fit_gap")
WORD_NEWS = ("news_fit_observed", "news_fit_delta", "news_fit_vs_web")


def main() -> None:
    spans, words, cut = examples_from_args(__doc__.splitlines()[0])
    for label, cols in (
        ("ranker without register ", _without(RANK_FEATURE_NAMES, RANK_REGISTER + RANK_NEWS)),
        ("ranker without news fit ", _without(RANK_FEATURE_NAMES, RANK_NEWS)),
        ("ranker with both        ", list(range(len(RANK_FEATURE_NAMES)))),
    ):
        print(ranker_line(label, spans, cut, cols))
    for label, cols in (
        ("word model without news fit", _without(FEATURE_NAMES, WORD_NEWS)),
        ("word model with news fit   ", list(range(len(FEATURE_NAMES)))),
    ):
        print(word_line(label, words, cut, cols))


if __name__ == "__main__":
    main()
