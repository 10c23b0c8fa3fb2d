"""HTML, DOCX and PPTX to Markdown (markitdown; a small python-pptx converter for slides)."""

from __future__ import annotations

import io
import re
from typing import Any

from assist.errors import InputError
from kb_ingest.frontmatter import split_front_matter
from kb_ingest.parsers.common import one_line
from kb_ingest.parsers.markdown import rows_to_markdown_table
from kb_ingest.parsers.plaintext import ITEM, escape_md_line

__all__ = ["docx_to_markdown", "html_to_markdown", "pptx_to_markdown"]


def html_to_markdown(html: str, rel: str) -> tuple[str, dict[str, Any], str]:
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


def docx_to_markdown(data: bytes, rel: str) -> str:
    from markitdown import StreamInfo
    from markitdown.converters import DocxConverter

    try:
        result = DocxConverter().convert(io.BytesIO(data), StreamInfo(extension=".docx"))
    except Exception as e:  # zipfile.BadZipFile, KeyError, lxml errors... all mean "corrupt"
        raise InputError(
            f"{rel}: corrupt or unreadable DOCX ({type(e).__name__}: {e}); re-save it from Word"
        ) from e
    return _unescape_md(result.markdown or "")


def pptx_to_markdown(data: bytes, rel: str) -> str:
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
        out.append(f"# {one_line(title) or f'Slide {number}'}\n")
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
                    out.append(escape_md_line(paras[0][1]) + "\n")
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
    m = ITEM.match(text)
    if m and (m.group("num") or m.group("pnum")):
        return f"{'   ' * level}{int(m.group('num') or m.group('pnum'))}. {m.group('rest')}"
    return f"{'  ' * level}- {text}"
