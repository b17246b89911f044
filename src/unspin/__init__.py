"""unspin: unmask machine-spun text — detect, pinpoint and restore thesaurus-spun wording."""

from unspin.api import restore, scan, scan_documents, spin, train
from unspin.types import Document, Flag, ScanResult

__all__ = ["scan", "scan_documents", "restore", "spin", "train", "Document", "Flag", "ScanResult"]
__version__ = "0.1.0"
