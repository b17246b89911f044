"""Readers: stream Documents from .txt, .html/.htm, .jsonl, .jsonl.gz and stdin."""

from unspin.io.readers import read_documents, read_path

__all__ = ["read_documents", "read_path"]
