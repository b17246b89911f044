"""Tokenizer with character offsets, sentence splitter and detokenizer.

Contract (used by every later stage):
- `tokenize(text) -> list[Token]` — words, numbers and punctuation with exact spans into `text`
  (`text[t.start:t.end] == t.text`), each tagged with its sentence index. Whitespace is not a token.
- `sentence_spans(text) -> list[tuple[int, int]]` — sentence boundaries as character spans.
- `words(tokens) -> list[Token]` — only the word tokens.
"""

from unspin.text.tokenize import sentence_spans, tokenize, words

__all__ = ["tokenize", "sentence_spans", "words"]
