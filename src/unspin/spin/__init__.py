"""The spinner simulator: clean text in, spun text plus the exact swaps out (training labels)."""

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
