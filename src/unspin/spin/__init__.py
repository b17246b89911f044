"""The spinner simulator: clean text in, spun text plus the exact swaps out (training labels).

This package's name is also the API's `unspin.spin(text, profile, ...)`. Importing the package
binds it to that name on `unspin`, so the package itself can be called as the function.
"""

import sys
from types import ModuleType
from typing import Any

from unspin.spin.simulator import (
    PROFILES,
    SpinProfile,
    SpinResult,
    Swap,
    eligible_words,
    spin,
    spin_documents,
)

__all__ = [
    "PROFILES",
    "SpinProfile",
    "SpinResult",
    "Swap",
    "eligible_words",
    "spin",
    "spin_documents",
]


class _CallableModule(ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """`unspin.spin.simulator.spin`."""
        return spin(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
