"""Limits that keep one upload from costing the service minutes: checked before parsing.

Office files (DOCX, PPTX, XLSX) are ZIP archives of XML. A few hundred kilobytes can
expand to hundreds of megabytes of XML ("zip bomb"), which the XML parsers then hold in
memory and walk for minutes. The archive's own directory says how large each member is,
so the check costs nothing: the total expanded size and the compression ratio are bounded.

Example:
    >>> check_archive(Path("manual.docx"), name="manual.docx")   # doctest: +SKIP
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from assist.errors import InputError

ZIP_EXTENSIONS = frozenset({".docx", ".pptx", ".xlsx", ".xlsm"})
MAX_EXPANDED_BYTES = 64 * 1024 * 1024
"""Total uncompressed size of an office file's members (real manuals stay far below)."""
MAX_RATIO = 100
"""Uncompressed / compressed size above which an archive larger than RATIO_FLOOR is refused
(ordinary office XML compresses 5 to 20 times)."""
RATIO_FLOOR = 8 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_PDF_PAGES = 5_000
"""Pages of one PDF (counting them reads only the cross-reference table)."""
MAX_TABLE_ROWS = 100_000
"""Rows of one CSV/XLSX/JSONL table (a Q&A table or a BEIR corpus; the largest public corpus
we evaluate on has 12,039)."""


def check_rows(count: int, *, name: str) -> None:
    """Refuse a table as soon as it passes :data:`MAX_TABLE_ROWS` rows (read row by row, so a
    huge table fails fast instead of being read whole)."""
    if count > MAX_TABLE_ROWS:
        raise InputError(f"{name}: more than {MAX_TABLE_ROWS} rows; split the table into several files")


def check_archive(path: Path, *, name: str) -> None:
    """Refuse an office file whose contents would expand past the limits (a clear
    :class:`InputError`, before any parser touches it). Non-archives pass untouched."""
    if path.suffix.lower() not in ZIP_EXTENSIONS:
        return
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable archive: the parser reports the file as corrupt
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"{name}: the archive has {len(infos)} parts (limit {MAX_MEMBERS}); "
                         "this is not an ordinary office file")
    expanded = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if expanded > MAX_EXPANDED_BYTES:
        raise InputError(f"{name}: expands to {expanded // (1024 * 1024)} MB of content (limit "
                         f"{MAX_EXPANDED_BYTES // (1024 * 1024)} MB); split the document")
    if expanded > RATIO_FLOOR and expanded / packed > MAX_RATIO:
        raise InputError(f"{name}: compressed {expanded // packed}:1 (limit {MAX_RATIO}:1); this looks like a "
                         "zip bomb, not a document")


def check_pdf(path: Path, *, name: str) -> None:
    """Refuse a PDF with more than :data:`MAX_PDF_PAGES` pages before extracting its text."""
    if path.suffix.lower() != ".pdf":
        return
    try:
        import pymupdf

        with pymupdf.open(path) as doc:
            pages = doc.page_count
    except Exception:  # unreadable: the parser reports the file as corrupt
        return
    if pages > MAX_PDF_PAGES:
        raise InputError(f"{name}: {pages} pages (limit {MAX_PDF_PAGES}); split the document")


def check_document(path: Path, *, name: str) -> None:
    """Every pre-parse limit for ``path`` (office archives, PDF pages)."""
    check_archive(path, name=name)
    check_pdf(path, name=name)
