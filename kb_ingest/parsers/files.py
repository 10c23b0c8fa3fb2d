"""``parse_file``: pick the parser by extension, merge metadata, check ids."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assist.errors import InputError
from assist.text import detect_language
from assist.types import ParsedArticle
from kb_ingest.frontmatter import build_meta, merge_meta, read_sidecar, slug_id, split_front_matter
from kb_ingest.parsers.common import article, decode_bytes
from kb_ingest.parsers.markdown import first_heading, markdown_to_blocks
from kb_ingest.parsers.office import docx_to_markdown, html_to_markdown, pptx_to_markdown
from kb_ingest.parsers.pdf import pdf_to_markdown
from kb_ingest.parsers.plaintext import plain_text_to_markdown
from kb_ingest.parsers.tables import TABLE_EXTS, parse_table_file

__all__ = ["HTML_EXTS", "MARKDOWN_EXTS", "SUPPORTED_EXTENSIONS", "parse_file"]

MARKDOWN_EXTS = frozenset({".md", ".markdown"})
HTML_EXTS = frozenset({".html", ".htm"})
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {*MARKDOWN_EXTS, *HTML_EXTS, ".txt", ".docx", ".pptx", ".pdf", *TABLE_EXTS}
)


def parse_file(
    path: Path,
    *,
    defaults: Mapping[str, Any] | None = None,
    max_bytes: int,
    root: Path | None = None,
) -> list[ParsedArticle]:
    """Parse one knowledge file into articles.

    Args:
        path: The file. Its extension picks the parser (see ``SUPPORTED_EXTENSIONS``).
        defaults: ArticleMeta fields applied first (tenant, product, ...); a sidecar
            ``<file>.meta.yaml``, front matter and table columns override them.
        max_bytes: Files larger than this are refused.
        root: The knowledge-base root; ids derived from file names and ``source_file``
            use the path relative to it (default: the file name only).

    Returns:
        One article for documents; one per row for Q&A tables and BEIR corpora.

    Raises:
        InputError: unsupported extension, empty/oversize/corrupt file, bad metadata,
            duplicate ids within the file.
    """
    path = Path(path)
    ext = path.suffix.lower()
    rel = _relative_name(path, root)
    if ext not in SUPPORTED_EXTENSIONS:
        raise InputError(
            f"{rel}: unsupported file type {ext or '(none)'!r}; supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}"
        )
    if not path.is_file():
        raise InputError(f"{rel}: not a file")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{rel}: file is {size} bytes, over the {max_bytes}-byte limit; split it or raise the limit"
        )
    if size == 0:
        raise InputError(f"{rel}: file is empty")
    data = path.read_bytes()
    base = merge_meta(defaults, read_sidecar(path), where=rel)
    base["source_file"] = rel

    if ext in TABLE_EXTS:
        articles = parse_table_file(path, data, base, rel)
    else:
        md, doc_meta, title_hint = _to_markdown(path, ext, data, rel)
        blocks = markdown_to_blocks(md)
        if not blocks:
            raise InputError(f"{rel}: no text found (scanned PDF or image-only document?)")
        meta_data = merge_meta(base, doc_meta, where=rel)
        meta_data.setdefault("title", title_hint or first_heading(blocks) or path.stem)
        meta_data.setdefault("id", slug_id(rel))
        meta_data.setdefault(
            "language", detect_language(" ".join(b.text for b in blocks)[:20000], default="en")
        )
        meta_data["source_file"] = rel
        articles = [article(build_meta(meta_data, where=rel), blocks)]

    seen: set[str] = set()
    for a in articles:
        if a.meta.id in seen:
            raise InputError(f"{rel}: duplicate article id {a.meta.id!r}; ids must be unique within a file")
        seen.add(a.meta.id)
    return articles


def _relative_name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def _to_markdown(path: Path, ext: str, data: bytes, rel: str) -> tuple[str, dict[str, Any], str]:
    """Return (markdown, metadata found in the document, title hint)."""
    if ext in MARKDOWN_EXTS:
        body, fm = split_front_matter(decode_bytes(data, where=rel), where=rel)
        return body, fm, ""
    if ext == ".txt":
        return plain_text_to_markdown(decode_bytes(data, where=rel)), {}, ""
    if ext in HTML_EXTS:
        return html_to_markdown(decode_bytes(data, where=rel), rel)
    if ext == ".docx":
        return docx_to_markdown(data, rel), {}, ""
    if ext == ".pptx":
        return pptx_to_markdown(data, rel), {}, ""
    if ext == ".pdf":
        return pdf_to_markdown(data, rel), {}, ""
    raise InputError(f"{rel}: unsupported file type {ext!r}")  # pragma: no cover - guarded above
