"""Parse knowledge files into :class:`~assist.types.ParsedArticle` values.

One general mechanism: every document format is first converted to Markdown
(markitdown for DOCX/HTML, small python-pptx and pymupdf converters for slides and
PDFs, a plain-text normaliser for TXT), then a single Markdown block parser
(markdown-it-py) turns that Markdown into structural :class:`~assist.types.Block` values
with heading paths. Q&A tables (CSV/XLSX/JSONL) and BEIR ``corpus.jsonl`` files are
row-oriented and map straight to FAQ/TEXT blocks.

Modules, one format family each: :mod:`.files` (``parse_file``: the entry point),
:mod:`.common` (article value, content hash, decoding), :mod:`.plaintext`,
:mod:`.markdown`, :mod:`.office` (HTML/DOCX/PPTX), :mod:`.pdf`, :mod:`.tables` (Q&A
CSV/XLSX/JSONL), :mod:`.beir`, :mod:`.rows` (shared row helpers) and :mod:`.headers`
(the column-header aliases, ``kb_ingest/resources/faq_headers.yaml``).

Example:
    >>> from pathlib import Path
    >>> root = Path("examples/kb")
    >>> (a,) = parse_file(root / "sop/sop-refund-return-zh.md", max_bytes=5_000_000, root=root)
    >>> a.meta.id, a.blocks[0].kind.value, a.blocks[0].heading_path[-1]
    ('sop-refund-return-zh', 'table', '1. 政策要点')
"""

from kb_ingest.parsers.common import content_hash, decode_bytes
from kb_ingest.parsers.files import HTML_EXTS, MARKDOWN_EXTS, SUPPORTED_EXTENSIONS, parse_file
from kb_ingest.parsers.markdown import markdown_to_blocks, rows_to_markdown_table
from kb_ingest.parsers.plaintext import plain_text_to_markdown
from kb_ingest.parsers.rows import render_faq
from kb_ingest.parsers.tables import TABLE_EXTS

__all__ = [
    "HTML_EXTS",
    "MARKDOWN_EXTS",
    "SUPPORTED_EXTENSIONS",
    "TABLE_EXTS",
    "content_hash",
    "decode_bytes",
    "markdown_to_blocks",
    "parse_file",
    "plain_text_to_markdown",
    "render_faq",
    "rows_to_markdown_table",
]
