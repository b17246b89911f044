"""Rewriting: apply accepted suggestions to the text, matching the case of what they replace.

This package's name is also the API's `unspin.restore(text)`. Importing the package binds
it to that name on `unspin`, so the package itself can be called as the function.
"""

import sys
from types import ModuleType
from typing import Any

from unspin.restore.rewrite import Edit, apply_edits, match_case

__all__ = ["Edit", "apply_edits", "match_case"]


class _CallableModule(ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """`unspin.api.restore`."""
        from unspin.api import restore

        return restore(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
