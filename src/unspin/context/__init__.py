"""How natural a word is in its context: trigram LM, web bigram counts and word frequency."""

from unspin.context.model import ContextModel, get_context_model

__all__ = ["ContextModel", "get_context_model"]
