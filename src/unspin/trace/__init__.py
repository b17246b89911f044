"""Trace spun copies to their sources and cluster them: fingerprints, alignment, index, clusters.

- `fingerprint` — canonical immutable-word stream → shingles → MinHash → LSH band keys (pure).
- `align` — word alignment of a text against a source: similarity, spin ratio, substitutions.
- `index` — an embedded SQLite index of fingerprints for `trace` (one file, no server).
- `cluster` — union-find over verified pairs, roles (source/copy/unique), consensus restoration.

Heavy modules are imported lazily: `from unspin.trace.fingerprint import ...` loads only numpy.
"""
