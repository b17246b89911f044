"""unspin: unmask machine-spun text — detect, pinpoint and restore thesaurus-spun wording.

Public names are imported lazily so that `import unspin` stays cheap and the stages can be
used on their own.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["scan", "scan_documents", "restore", "spin", "train", "Document", "Flag", "ScanResult"]

_WHERE = {
    "scan": "unspin.api",
    "scan_documents": "unspin.api",
    "restore": "unspin.api",
    "spin": "unspin.api",
    "train": "unspin.api",
    "Document": "unspin.types",
    "Flag": "unspin.types",
    "ScanResult": "unspin.types",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'unspin' has no attribute {name!r}")
