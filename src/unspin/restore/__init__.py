"""Rewriting: apply accepted suggestions to the text, matching the case of what they replace."""

from unspin.restore.rewrite import Edit, apply_edits, match_case

__all__ = ["Edit", "apply_edits", "match_case"]
