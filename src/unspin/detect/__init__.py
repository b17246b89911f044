"""Detection: features → learned model → per-word P(swapped) and calibrated P(spun)."""
