"""Readers: stream Documents from .txt, .html/.htm, .jsonl[.gz], .parquet, .warc[.gz] and stdin."""

from unspin.io.readers import ReadStats, html_main_text, read_documents, read_path

__all__ = ["ReadStats", "html_main_text", "read_documents", "read_path"]
