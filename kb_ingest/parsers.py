"""Parse knowledge files into :class:`~assist.types.ParsedArticle` values.

One general mechanism: every document format is first converted to Markdown
(markitdown for DOCX/HTML, small python-pptx and pymupdf converters for slides and
PDFs, a plain-text normaliser for TXT), then a single Markdown block parser
(markdown-it-py) turns that Markdown into structural :class:`~assist.types.Block` values
with heading paths. Q&A tables (CSV/XLSX/JSONL) and BEIR ``corpus.jsonl`` files are
row-oriented and map straight to FAQ/TEXT blocks.

Example:
    >>> root = Path("examples/kb")
    >>> (a,) = parse_file(root / "sop/sop-refund-return-zh.md", max_bytes=5_000_000, root=root)
    >>> a.meta.id, a.blocks[0].kind.value, a.blocks[0].heading_path[-1]
    ('sop-refund-return-zh', 'table', '1. 政策要点')
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from assist.errors import InputError
from assist.text import detect_language
from assist.types import ArticleMeta, ArticleType, Block, BlockKind, ParsedArticle
from kb_ingest.frontmatter import (
    build_meta,
    merge_meta,
    read_sidecar,
    sanitize_id,
    slug_id,
    split_front_matter,
)

MARKDOWN_EXTS = frozenset({".md", ".markdown"})
HTML_EXTS = frozenset({".html", ".htm"})
TABLE_EXTS = frozenset({".csv", ".xlsx", ".jsonl"})
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {*MARKDOWN_EXTS, *HTML_EXTS, ".txt", ".docx", ".pptx", ".pdf", *TABLE_EXTS}
)


# --------------------------------------------------------------------------- entry point


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
        articles = _parse_table_file(path, data, base, rel)
    else:
        md, doc_meta, title_hint = _to_markdown(path, ext, data, rel)
        blocks = markdown_to_blocks(md)
        if not blocks:
            raise InputError(f"{rel}: no text found (scanned PDF or image-only document?)")
        meta_data = merge_meta(base, doc_meta, where=rel)
        meta_data.setdefault("title", title_hint or _first_heading(blocks) or path.stem)
        meta_data.setdefault("id", slug_id(rel))
        meta_data.setdefault("language", detect_language(" ".join(b.text for b in blocks)[:20000], default="en"))
        meta_data["source_file"] = rel
        articles = [_article(build_meta(meta_data, where=rel), blocks)]

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


def _article(meta: ArticleMeta, blocks: list[Block]) -> ParsedArticle:
    return ParsedArticle(meta=meta, blocks=blocks, content_hash=content_hash(meta, blocks))


def content_hash(meta: ArticleMeta, blocks: Iterable[Block]) -> str:
    """sha256 of metadata (without status/source_file) and blocks, canonically serialised.

    Status is left out so publishing an unchanged article is not a content change.
    """
    payload = {
        "meta": meta.model_dump(mode="json", exclude={"status", "source_file"}),
        "blocks": [b.model_dump(mode="json") for b in blocks],
    }
    canon = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- decoding


def decode_bytes(data: bytes, *, where: str) -> str:
    """Decode text: UTF-8 (BOM or not) first, then GB18030 for Chinese, then detection.

    GB18030 is a superset of GBK/GB2312, so it decodes any of them; it is tried before
    charset-normalizer because short Chinese files are often mis-guessed as Big5 or
    a Latin code page.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if not re.search(r"[\x00-\x08\x0e-\x1f]", text):
            return text
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InputError(f"{where}: cannot detect the text encoding; save it as UTF-8")
    return str(best)


# --------------------------------------------------------------------------- to Markdown


def _to_markdown(path: Path, ext: str, data: bytes, rel: str) -> tuple[str, dict[str, Any], str]:
    """Return (markdown, metadata found in the document, title hint)."""
    if ext in MARKDOWN_EXTS:
        body, fm = split_front_matter(decode_bytes(data, where=rel), where=rel)
        return body, fm, ""
    if ext == ".txt":
        return plain_text_to_markdown(decode_bytes(data, where=rel)), {}, ""
    if ext in HTML_EXTS:
        return _html_to_markdown(decode_bytes(data, where=rel), rel)
    if ext == ".docx":
        return _docx_to_markdown(data, rel), {}, ""
    if ext == ".pptx":
        return _pptx_to_markdown(data, rel), {}, ""
    if ext == ".pdf":
        return _pdf_to_markdown(data, rel), {}, ""
    raise InputError(f"{rel}: unsupported file type {ext!r}")  # pragma: no cover - guarded above


def _html_to_markdown(html: str, rel: str) -> tuple[str, dict[str, Any], str]:
    from bs4 import BeautifulSoup
    from markitdown.converters import HtmlConverter

    # HTML may carry front matter too (some CMS exports do); honour it the same way.
    html, fm = split_front_matter(html, where=rel)
    soup = BeautifulSoup(html, "html.parser")
    # Site chrome (breadcrumbs, footers, sidebars) is not knowledge and would pollute chunks.
    for tag in soup.find_all(["nav", "footer", "aside", "script", "style", "noscript", "form"]):
        tag.decompose()
    result = HtmlConverter().convert_string(str(soup))
    return _unescape_md(result.markdown or ""), fm, (result.title or "").strip()


def _unescape_md(md: str) -> str:
    # markdownify escapes every underscore ("logistics\_delay"); intraword underscores are
    # not emphasis in CommonMark, and the escaped form breaks exact-term search.
    return re.sub(r"(?<=\w)\\_(?=\w)", "_", md)


def _docx_to_markdown(data: bytes, rel: str) -> str:
    from markitdown import StreamInfo
    from markitdown.converters import DocxConverter

    try:
        result = DocxConverter().convert(io.BytesIO(data), StreamInfo(extension=".docx"))
    except Exception as e:  # zipfile.BadZipFile, KeyError, lxml errors... all mean "corrupt"
        raise InputError(
            f"{rel}: corrupt or unreadable DOCX ({type(e).__name__}: {e}); re-save it from Word"
        ) from e
    return _unescape_md(result.markdown or "")


def _pptx_to_markdown(data: bytes, rel: str) -> str:
    """Slides to Markdown: the slide title is an H1; each text frame with several
    paragraphs becomes a bullet list (slides are lists), tables become tables.

    markitdown's converter drops bullet structure, which the chunker needs to keep
    steps together, hence this small converter.
    """
    import pptx

    try:
        prs = pptx.Presentation(io.BytesIO(data))
    except Exception as e:
        raise InputError(f"{rel}: corrupt or unreadable PPTX ({type(e).__name__}: {e}); re-save it") from e
    out: list[str] = []
    for number, slide in enumerate(prs.slides, start=1):
        title_shape = slide.shapes.title
        title = (
            title_shape.text_frame.text.strip()
            if title_shape is not None and title_shape.has_text_frame
            else ""
        )
        out.append(f"# {_one_line(title) or f'Slide {number}'}\n")
        shapes = sorted(
            (s for s in slide.shapes if title_shape is None or s.shape_id != title_shape.shape_id),
            key=lambda s: ((s.top or 0), (s.left or 0)),
        )
        for shape in shapes:
            if shape.has_text_frame:
                paras = [
                    (p.level, "".join(r.text for r in p.runs).strip()) for p in shape.text_frame.paragraphs
                ]
                paras = [(lvl, t) for lvl, t in paras if t]
                if len(paras) == 1:
                    out.append(_escape_md_line(paras[0][1]) + "\n")
                elif paras:
                    out.append("\n".join(_pptx_item(lvl, t) for lvl, t in paras) + "\n")
            elif getattr(shape, "has_table", False) and shape.has_table:
                rows = [[c.text for c in row.cells] for row in shape.table.rows]
                out.append(rows_to_markdown_table(rows) + "\n")
        if slide.has_notes_slide:
            notes = (
                slide.notes_slide.notes_text_frame.text.strip() if slide.notes_slide.notes_text_frame else ""
            )
            if notes:
                out.append(f"Notes: {notes}\n")
    return "\n".join(out)


def _pptx_item(level: int, text: str) -> str:
    # Slide text often numbers its own steps ("1. 致歉"): keep them an ordered list.
    m = _ITEM.match(text)
    if m and (m.group("num") or m.group("pnum")):
        return f"{'   ' * level}{int(m.group('num') or m.group('pnum'))}. {m.group('rest')}"
    return f"{'  ' * level}- {text}"


_PAGE_NUMBER = re.compile(
    r"^(?:\d+|-\s*\d+\s*-|第\s*\d+\s*页(?:\s*/?\s*共\s*\d+\s*页)?|page\s+\d+(?:\s+of\s+\d+)?)$", re.I
)


def _pdf_to_markdown(data: bytes, rel: str) -> str:
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
                out[-2] = _join_wrapped(out[-2], text)  # a heading wrapped onto a second line
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
                    joined = _join_wrapped(joined, part) if joined and part else joined or part
                cells.append(joined)
            rows.append(cells)
        if len(rows) >= 2 and any(any(c for c in r) for r in rows):
            found.append((pymupdf.Rect(table.bbox), rows_to_markdown_table(rows)))
    return found


# --------------------------------------------------------------------------- plain text

_CN_NUM = "一二三四五六七八九十百零〇"
_ITEM = re.compile(
    r"^\s*(?:(?P<num>\d{1,3})\s*[.、．)）](?!\d)|[(（](?P<pnum>\d{1,3})[)）]|(?P<circ>[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])"
    r"|(?P<bullet>[•·●▪◦■□○]|[\-*+](?=\s)))\s*(?P<rest>\S.*)$"
)
_CN_HEADING = re.compile(rf"^\s*(?:第[{_CN_NUM}\d]+[章节部分篇]|[{_CN_NUM}]+[、.．])\s*\S.{{0,40}}$")


def plain_text_to_markdown(text: str, *, join_wrapped: bool = False) -> str:
    """Normalise plain text (TXT files, PDF text) into Markdown the block parser understands.

    Chinese section labels (``一、退款条件``, ``第二章 ...``) become headings, and numbered
    or bulleted lines in any common style (``1、``, ``（2）``, ``③``, ``•``) become Markdown
    list items, so steps survive as one STEPS block. Lines already in Markdown syntax pass.

    Args:
        text: The text.
        join_wrapped: Join hard-wrapped lines of one paragraph (PDF layout) into one line.
    """
    out: list[str] = []
    in_list = False
    base_indent = 0
    text = _promote_title_line(text) if not join_wrapped else text
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            out.append("")
            in_list = False
            continue
        if _ITEM.match(line) and len(out) >= 2 and out[-1] == "" and _ITEM.match(out[-2]):
            # Blank lines between items (one PDF block per item) must not end the list.
            out.pop()
            in_list = True
        if stripped.startswith(("#", "|", ">", "```")):
            out.append(line)
            in_list = False
            continue
        if _CN_HEADING.match(stripped) and not re.search(r"[。；;，,]", stripped):
            # 一、 is level 2 (the document title is level 1); 第X章 is level 1.
            level = 1 if stripped.startswith("第") else 2
            out.extend(["", f"{'#' * level} {stripped}", ""])
            in_list = False
            continue
        m = _ITEM.match(line)
        if m:
            rest = m.group("rest")
            if m.group("bullet"):
                item = f"- {rest}"
            else:
                num = m.group("num") or m.group("pnum")
                if num is None:
                    num = str("①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳".index(m.group("circ")) + 1)
                item = f"{int(num)}. {rest}"
            raw_indent = len(raw) - len(raw.lstrip())
            if not in_list:
                base_indent = raw_indent
            # Only a bullet indented deeper than the list's first item is nested (a sub-point).
            indent = "   " if in_list and raw_indent > base_indent + 1 and m.group("bullet") else ""
            if not in_list and out and out[-1] != "":
                out.append("")
            out.append(indent + item)
            in_list = True
            continue
        if join_wrapped and out and out[-1] != "" and not out[-1].lstrip().startswith("#"):
            out[-1] = _join_wrapped(out[-1], stripped)
            continue
        if in_list and raw[:1].isspace():
            out.append("   " + stripped)  # continuation of a list item
            continue
        if in_list:
            out.append("")
            in_list = False
        out.append(_escape_md_line(line) if not join_wrapped else stripped)
    return "\n".join(out)


def _promote_title_line(text: str) -> str:
    """A short first line followed by a blank line is the document title (an H1)."""
    m = re.match(r"\A\s*([^\n]{1,60})\n[ \t]*\n", text)
    if m and not re.search(r"[。.!！?？:：,，;；]$", m.group(1).strip()) and not _ITEM.match(m.group(1)):
        return f"# {m.group(1).strip()}\n\n" + text[m.end() :]
    return text


def _join_wrapped(prev: str, nxt: str) -> str:
    if re.search(r"[\u3000-\u9fff\uff00-\uffef]$", prev) or re.match(r"^[\u3000-\u9fff\uff00-\uffef]", nxt):
        return prev + nxt
    if prev.endswith("-") and not prev.endswith(" -"):
        return prev[:-1] + nxt
    return f"{prev} {nxt}"


def _escape_md_line(line: str) -> str:
    # A plain line like "2024. Note" or "= total" must not turn into Markdown syntax.
    return re.sub(r"^(\s*)(\d+)\.(\s)", r"\1\2\\.\3", line)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------- Markdown blocks

_LIST_INTRO = re.compile(r"[:：]\s*$")
_MAX_INTRO_CHARS = 300
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")


def markdown_to_blocks(md: str) -> list[Block]:
    """Split Markdown into structural blocks with heading paths.

    Top-level lists become one STEPS block (with a preceding paragraph that ends in a
    colon as its intro line), tables one TABLE block (Markdown table text, header row
    first), everything else TEXT. The block text is the Markdown source slice, so
    emphasis and links survive for the drafting model.

    Example:
        >>> [b.kind.value for b in markdown_to_blocks("# A\\n\\nIntro:\\n\\n1. x\\n2. y\\n")]
        ['steps']
    """
    from markdown_it import MarkdownIt

    md = _IMAGE.sub(lambda m: m.group(1), md)
    parser = MarkdownIt("commonmark").enable("table")
    tokens = parser.parse(md)
    src = md.split("\n")
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []

    def heading_path() -> tuple[str, ...]:
        return tuple(t for _, t in path)

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.level != 0 or tok.map is None or tok.type.endswith("_close"):
            i += 1
            continue
        start, end = tok.map
        source = "\n".join(src[start:end]).strip()
        if tok.type == "heading_open":
            level = int(tok.tag[1])
            title = _one_line(_strip_inline_md(tokens[i + 1].content))
            path[:] = [(lvl, t) for lvl, t in path if lvl < level]
            if title:
                path.append((level, title))
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            intro = ""
            prev = blocks[-1] if blocks else None
            if (
                prev is not None
                and prev.kind == BlockKind.TEXT
                and prev.heading_path == heading_path()
                and _LIST_INTRO.search(prev.text)
                and "\n\n" not in prev.text
            ):
                blocks.pop()
                head, _, last = prev.text.rpartition("\n")
                # The intro is repeated in every part of a split list, so keep it short:
                # a long paragraph keeps its body and lends only its lead-in line.
                if len(prev.text) <= _MAX_INTRO_CHARS or not head:
                    intro = prev.text
                else:
                    intro = last
                    blocks.append(prev.model_copy(update={"text": head.strip()}))
            text = f"{intro}\n{source}" if intro else source
            blocks.append(Block(kind=BlockKind.STEPS, text=text, heading_path=heading_path()))
        elif tok.type == "table_open":
            blocks.append(
                Block(kind=BlockKind.TABLE, text=_normalise_table(source), heading_path=heading_path())
            )
        elif tok.type == "html_block":
            text = _html_text(source)
            if text:
                blocks.append(Block(kind=BlockKind.TEXT, text=text, heading_path=heading_path()))
        elif tok.type == "hr":
            pass
        elif source:
            blocks.append(Block(kind=BlockKind.TEXT, text=source, heading_path=heading_path()))
        i += 1
    return blocks


def _strip_inline_md(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[*_`]+", "", text)


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser").get_text("\n").strip()


def _split_row(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)]


def _normalise_table(source: str) -> str:
    """Re-render a Markdown table; an all-empty header row (DOCX tables without a
    header style) is replaced by the first body row, so the header can be repeated."""
    lines = [ln for ln in source.split("\n") if ln.strip()]
    if len(lines) < 2:
        return source
    header = _split_row(lines[0])
    body = [_split_row(ln) for ln in lines[2:]]
    if not any(header) and body:
        header, body = body[0], body[1:]
    return rows_to_markdown_table([header, *body])


def rows_to_markdown_table(rows: list[list[str]]) -> str:
    """Render rows (first row = header) as a Markdown table."""
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    cells = [[_one_line(str(c)).replace("|", "\\|") for c in r] + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
    return "\n".join(lines)


def _first_heading(blocks: list[Block]) -> str:
    for b in blocks:
        if b.heading_path:
            return b.heading_path[0]
    return ""


# --------------------------------------------------------------------------- Q&A tables

_ALIASES: dict[str, tuple[str, ...]] = {
    "question": (
        "question",
        "q",
        "query",
        "standard_question",
        "问题",
        "标准问题",
        "标准问",
        "问",
        "问法",
        "主问题",
    ),
    "alt_questions": (
        "alternatives",
        "alt_questions",
        "alternative_questions",
        "alt",
        "similar_questions",
        "paraphrases",
        "variants",
        "相似问法",
        "相似问题",
        "相似问",
        "扩展问",
        "扩展问法",
        "其他问法",
        "同义问法",
    ),
    "answer": ("answer", "a", "response", "reply", "答案", "回答", "答复", "标准答案", "答"),
    "id": ("article_id", "id", "_id", "faq_id", "doc_id", "编号", "文章id", "问题id"),
    "category": ("category", "分类", "类别", "类目", "domain", "领域"),
    # entity_name: BEIR-style corpora about named entities (hotels, shops) use it for what a
    # product is to a retailer; it drives the retriever's entity carry-over.
    "product": ("product", "产品", "业务", "产品线", "entity_name"),
    "channel": ("channel", "渠道"),
    "tags": ("tags", "tag", "标签", "keywords", "关键词"),
    "title": ("title", "标题"),
    "text": ("text", "content", "passage", "正文", "内容"),
    "language": ("language", "lang", "语言"),
    "type": ("type", "类型"),
    "owner": ("owner", "负责人"),
    "status": ("status", "状态"),
    "effective_from": ("effective_from", "生效日期", "生效时间"),
    "valid_until": ("valid_until", "失效日期", "有效期至", "截止日期"),
    "review_by": ("review_by", "复审日期", "复核日期"),
}
_ALIAS_INDEX = {re.sub(r"[\s_\-]", "", a.lower()): canon for canon, al in _ALIASES.items() for a in al}
_ALT_SPLIT = re.compile(r"\s*(?:\|\||\||\n|；)\s*")


def _canon_header(name: str) -> str | None:
    return _ALIAS_INDEX.get(re.sub(r"[\s_\-]", "", str(name).strip().lower()))


def render_faq(question: str, alt_questions: Iterable[str], answer: str, language: str) -> str:
    """The text of an FAQ block: question, other phrasings, answer (zh or en labels)."""
    alts = [a for a in alt_questions if a]
    if language == "zh":
        parts = [f"问：{question}"] + ([f"相似问法：{'；'.join(alts)}"] if alts else []) + [f"答：{answer}"]
    else:
        parts = [f"Q: {question}"] + ([f"Also asked: {' | '.join(alts)}"] if alts else []) + [f"A: {answer}"]
    return "\n".join(parts)


def _read_rows(path: Path, data: bytes, rel: str) -> list[dict[str, Any]]:
    ext = path.suffix.lower()
    if ext == ".csv":
        text = decode_bytes(data, where=rel)
        try:
            dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        return [dict(r) for r in csv.DictReader(io.StringIO(text), dialect=dialect)]
    if ext == ".jsonl":
        rows = []
        for n, line in enumerate(decode_bytes(data, where=rel).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(
                    f"{rel}: line {n} is not valid JSON ({e.msg}); one JSON object per line"
                ) from e
            if not isinstance(row, dict):
                raise InputError(f"{rel}: line {n} is not a JSON object")
            rows.append(row)
        return rows
    # .xlsx
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:
        raise InputError(
            f"{rel}: corrupt or unreadable XLSX ({type(e).__name__}: {e}); re-save it from Excel"
        ) from e
    rows = []
    for ws in wb.worksheets:
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if not header:
            continue
        names = [str(h).strip() if h is not None else "" for h in header]
        for values in it:
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            rows.append({n: ("" if v is None else v) for n, v in zip(names, values, strict=False) if n})
    wb.close()
    return rows


def _parse_table_file(path: Path, data: bytes, base: dict[str, Any], rel: str) -> list[ParsedArticle]:
    rows = _read_rows(path, data, rel)
    if not rows:
        raise InputError(f"{rel}: no rows found")
    keys = {k: _canon_header(k) for r in rows[:50] for k in r}
    canon = set(keys.values())
    if "question" in canon and "answer" in canon:
        return _faq_articles(rows, keys, base, rel)
    is_beir = path.name.lower() == "corpus.jsonl" or (
        path.suffix.lower() == ".jsonl" and {"id", "text"} <= canon and "answer" not in canon
    )
    if is_beir:
        return _beir_articles(rows, keys, base, rel)
    if path.suffix.lower() in (".csv", ".xlsx"):
        # Not a Q&A table (e.g. a fee schedule): keep it as one article with a TABLE block.
        header = list(rows[0])
        table = rows_to_markdown_table([header, *[[str(r.get(h, "")) for h in header] for r in rows]])
        blocks = [Block(kind=BlockKind.TABLE, text=table)]
        meta = dict(base)
        meta.setdefault("id", slug_id(rel))
        meta.setdefault("title", path.stem)
        meta.setdefault("language", detect_language(table[:20000], default="en"))
        return [_article(build_meta(meta, where=rel), blocks)]
    raise InputError(
        f"{rel}: expected Q&A columns (question/问题, answer/答案) or BEIR rows (id, text); found {sorted(keys)}"
    )


def _row_fields(row: Mapping[str, Any], keys: Mapping[str, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        c = keys.get(k) or _canon_header(k)
        if c is not None and c not in out:
            out[c] = v
    return out


def _split_alts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p for p in _ALT_SPLIT.split(str(value).strip()) if p]


def _row_meta(f: dict[str, Any], base: dict[str, Any], where: str) -> dict[str, Any]:
    row_meta = {
        k: f[k]
        for k in (
            "product",
            "channel",
            "title",
            "language",
            "type",
            "owner",
            "status",
            "effective_from",
            "valid_until",
            "review_by",
        )
        if f.get(k) not in (None, "")
    }
    tags = list(base.get("tags", []))
    for key in ("tags", "category"):
        if f.get(key) not in (None, ""):
            tags += merge_meta({"tags": f[key]}, where=where)["tags"]
    meta = merge_meta(base, row_meta, where=where)
    if tags:
        meta["tags"] = list(dict.fromkeys(tags))
    return meta


def _faq_articles(
    rows: list[dict[str, Any]], keys: Mapping[str, str | None], base: dict[str, Any], rel: str
) -> list[ParsedArticle]:
    # A file-level id/title (sidecar, defaults) names the collection: each row is its own
    # article (rows carry their own product/tags), ids are "<collection id>-<question hash>"
    # and the collection title becomes the FAQ's section.
    stem = str(base.get("id") or slug_id(rel))
    collection = str(base.get("title") or "").strip()
    row_base = {k: v for k, v in base.items() if k not in ("id", "title")}
    articles: list[ParsedArticle] = []
    for n, row in enumerate(rows, start=2 if rel.lower().endswith((".csv", ".xlsx")) else 1):
        where = f"{rel} row {n}"
        f = _row_fields(row, keys)
        question = _one_line(str(f.get("question") or ""))
        answer = str(f.get("answer") or "").strip()
        if not question and not answer:
            continue
        if not question or not answer:
            raise InputError(f"{where}: a Q&A row needs both a question and an answer")
        alts = [a for a in _split_alts(f.get("alt_questions")) if a != question]
        meta = _row_meta(f, row_base, where)
        meta["type"] = meta.get("type", ArticleType.FAQ.value)
        meta.setdefault("title", question)
        meta.setdefault("language", detect_language(question + answer, default="en"))
        raw_id = f.get("id")
        meta["id"] = (
            sanitize_id(str(raw_id))
            if raw_id not in (None, "")
            else f"{stem}-{hashlib.sha256(question.encode('utf-8')).hexdigest()[:10]}"
        )
        text = render_faq(question, alts, answer, meta["language"])
        block = Block(
            kind=BlockKind.FAQ,
            text=text,
            heading_path=(collection,) if collection else (),
            question=question,
            alt_questions=tuple(alts),
            answer=answer,
        )
        articles.append(_article(build_meta(meta, where=where), [block]))
    if not articles:
        raise InputError(f"{rel}: no Q&A rows with text found")
    return articles


def _beir_articles(
    rows: list[dict[str, Any]], keys: Mapping[str, str | None], base: dict[str, Any], rel: str
) -> list[ParsedArticle]:
    articles: list[ParsedArticle] = []
    for n, row in enumerate(rows, start=1):
        where = f"{rel} line {n}"
        f = _row_fields(row, keys)
        raw_id = f.get("id")
        text = str(f.get("text") or "").strip()
        if raw_id in (None, ""):
            raise InputError(f"{where}: a corpus row needs an 'id' (or '_id')")
        if not text:
            continue
        raw_extra = row.get("metadata")
        extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
        f2 = {**_row_fields(extra, {}), **f}
        meta = _row_meta(f2, base, where)
        title = str(row.get("title") or "").strip()
        if title:
            meta["title"] = title
        meta["id"] = sanitize_id(str(raw_id))
        meta["type"] = meta.get("type", ArticleType.FAQ.value)
        question = str(f.get("question") or "").strip()
        meta.setdefault("language", detect_language((question + text)[:5000], default="en"))
        if question:
            block = Block(
                kind=BlockKind.FAQ,
                text=render_faq(question, [], text, meta["language"]),
                question=question,
                answer=text,
            )
            blocks = [block]
        elif "\n" in text:
            blocks = markdown_to_blocks(plain_text_to_markdown(text)) or [Block(text=text)]
        else:
            blocks = [Block(text=text)]
        articles.append(_article(build_meta(meta, where=where), blocks))
    if not articles:
        raise InputError(f"{rel}: no corpus rows with text found")
    return articles
