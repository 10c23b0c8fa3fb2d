"""Markdown to structural blocks (markdown-it-py): headings give each block its path,
top-level lists become STEPS, tables TABLE, the rest TEXT."""

from __future__ import annotations

import re

from assist.types import Block, BlockKind
from kb_ingest.parsers.common import one_line

__all__ = ["first_heading", "markdown_to_blocks", "rows_to_markdown_table"]

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
            title = one_line(_strip_inline_md(tokens[i + 1].content))
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
    cells = [[one_line(str(c)).replace("|", "\\|") for c in r] + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
    return "\n".join(lines)


def first_heading(blocks: list[Block]) -> str:
    """The top heading of the first block that has one ("" when none has)."""
    for b in blocks:
        if b.heading_path:
            return b.heading_path[0]
    return ""
