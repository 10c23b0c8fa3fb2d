"""PDF to Markdown (pymupdf): headings from font size and boldness, ruled tables as tables."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from assist.errors import InputError
from kb_ingest.parsers.markdown import rows_to_markdown_table
from kb_ingest.parsers.plaintext import join_lines, plain_text_to_markdown

__all__ = ["pdf_to_markdown"]

_PAGE_NUMBER = re.compile(
    r"^(?:\d+|-\s*\d+\s*-|第\s*\d+\s*页(?:\s*/?\s*共\s*\d+\s*页)?|page\s+\d+(?:\s+of\s+\d+)?)$", re.I
)


def pdf_to_markdown(data: bytes, rel: str) -> str:
    """PDF text to Markdown with headings from font size and boldness.

    The body size is the most common font size by character count; larger sizes are
    heading levels (largest first), and short bold lines at body size are the next level.
    """
    import pymupdf

    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as e:
        raise InputError(f"{rel}: corrupt or unreadable PDF ({type(e).__name__}: {e})") from e
    if doc.needs_pass:
        raise InputError(f"{rel}: the PDF is password-protected; remove the password and upload again")
    # (block id, font size, bold, text); a table is one entry with size -1 and its Markdown.
    lines: list[tuple[int, float, bool, str]] = []
    sizes: Counter[float] = Counter()
    block_no = 0
    try:
        for page in doc.pages():
            tables = _pdf_tables(page)
            emitted: set[int] = set()
            for block in page.get_text("dict", sort=True)["blocks"]:
                if block.get("type") != 0:
                    continue
                block_no += 1
                for line in block["lines"]:
                    spans = [s for s in line["spans"] if s["text"].strip()]
                    if not spans:
                        continue
                    x0, y0, x1, y1 = line["bbox"]
                    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                    inside = next(
                        (i for i, (r, _) in enumerate(tables) if r.contains(pymupdf.Point(cx, cy))), None
                    )
                    if inside is not None:
                        # Table text comes from the table's cells, in place of its first line.
                        if inside not in emitted:
                            emitted.add(inside)
                            block_no += 1
                            lines.append((block_no, -1.0, False, tables[inside][1]))
                        continue
                    text = "".join(s["text"] for s in spans).strip()
                    size = round(max(s["size"] for s in spans) * 2) / 2
                    bold = all(s["flags"] & 16 or "bold" in s["font"].lower() for s in spans)
                    sizes[size] += len(text)
                    lines.append((block_no, size, bold, text))
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{rel}: corrupt or unreadable PDF ({type(e).__name__}: {e})") from e
    if not lines:
        return ""
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    heading_sizes = sorted({s for s in sizes if s >= body + 1.5}, reverse=True)[:3]
    bold_level = len(heading_sizes) + 1

    out: list[str] = []
    prev_block = None
    last_heading: tuple[int, int] | None = None
    for blk, size, bold, text in lines:
        if size < 0:
            out.extend(["", *text.split("\n"), ""])
            prev_block = None
            continue
        if _PAGE_NUMBER.match(text):
            continue
        level = heading_sizes.index(size) + 1 if size in heading_sizes else None
        if level is None and bold and len(text) <= 40 and not re.search(r"[。.!！?？:：,，;；]$", text):
            level = bold_level
        if level is not None:
            if last_heading == (blk, level) and len(out) >= 2 and out[-2].startswith("#"):
                out[-2] = join_lines(out[-2], text)  # a heading wrapped onto a second line
            else:
                out.extend(["", f"{'#' * level} {text}", ""])
            last_heading = (blk, level)
            prev_block = None
            continue
        last_heading = None
        if prev_block is not None and blk != prev_block:
            out.append("")
        out.append(text)
        prev_block = blk
    return plain_text_to_markdown("\n".join(out), join_wrapped=True)


def _pdf_tables(page: Any) -> list[tuple[Any, str]]:
    """Ruled tables on a PDF page as (rectangle, Markdown table).

    Cell text is read with ``get_textbox`` per cell: pymupdf's own ``extract()`` misplaces
    full-width CJK punctuation (measured on examples/kb/manuals/*.pdf).
    """
    import pymupdf

    found: list[tuple[Any, str]] = []
    if not page.get_drawings():  # ruled tables need ruling lines; find_tables costs ~1 s a page
        return found
    for table in page.find_tables().tables:
        rows: list[list[str]] = []
        for row in table.rows:
            cells = []
            for cell in row.cells:
                text = page.get_textbox(pymupdf.Rect(cell)) if cell else ""
                joined = ""
                for part in (p.strip() for p in text.split("\n")):
                    joined = join_lines(joined, part) if joined and part else joined or part
                cells.append(joined)
            rows.append(cells)
        if len(rows) >= 2 and any(any(c for c in r) for r in rows):
            found.append((pymupdf.Rect(table.bbox), rows_to_markdown_table(rows)))
    return found
