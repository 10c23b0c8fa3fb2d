"""Structure-aware, CJK-aware chunking of parsed articles.

Rules (the reasons are retrieval and citation quality):

* An FAQ block is one chunk with all its phrasings, never split, even if long: a
  half FAQ answers nothing.
* STEPS and TABLE blocks are never cut mid-step or mid-row. One that exceeds the
  budget is split between steps/rows, and every part repeats the list intro or the
  table header so it still reads on its own.
* Consecutive small blocks under the same heading path are merged up to the budget.
* Long TEXT is split by LangChain's ``RecursiveCharacterTextSplitter`` measured in
  tokens, with separators that know Chinese sentence punctuation.

Chunk ids are content hashes (UUIDv5 of tenant, article id and the chunk's text plus
heading path), independent of the revision: re-ingesting unchanged text keeps ids.

Example:
    >>> chunks = chunk_article(article, count_tokens=lambda s: len(s.split()), max_tokens=200)
    >>> embedding_text(chunks[0])  # what the embedder sees: "title > section\\n\\ntext"
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Sequence

from assist.types import Block, BlockKind, Chunk, ParsedArticle

CHUNK_NAMESPACE = uuid.UUID("6f1c3a52-8a4e-5b7d-9c2f-3e0d4b6a7c18")
"""Fixed namespace of chunk ids; changing it changes every id (a full re-index)."""

CJK_SEPARATORS: list[str] = ["\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "，", ", ", " ", ""]

TokenCounter = Callable[[str], int]

_ITEM_START = re.compile(r"^(?P<indent>\s*)(?:[-*+]|\d{1,3}[.)])\s")


def chunk_id(tenant: str, article_id: str, text: str, heading_path: Sequence[str]) -> str:
    """The content-derived id of a chunk (revision-independent)."""
    digest = hashlib.sha256((text + "\n\x1f" + " > ".join(heading_path)).encode("utf-8")).hexdigest()
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{tenant}/{article_id}/{digest}"))


def embedding_text(chunk: Chunk) -> str:
    """The string to embed for a chunk: title and section as context, then the text.

    ``Chunk.text`` is what agents see and cite; the embedded string adds the title and
    heading path because a step such as "2. 提交申请" means nothing without its section.
    Model-specific prompts (``passage: ``) are the embedder's business, not added here.

    Example:
        >>> embedding_text(chunk)
        '退款流程 > 操作步骤\\n\\n1. 核实订单\\n2. 提交申请'
    """
    title = chunk.title.strip()
    path = [h.strip() for h in chunk.heading_path if h.strip()]
    if title and path and title in path[0]:
        title = ""  # the H1 restates the title (often with a document number): keep one
    parts: list[str] = []
    for p in (title, *path):
        if p and p != chunk.question and p not in parts:
            parts.append(p)
    return f"{' > '.join(parts)}\n\n{chunk.text}" if parts else chunk.text


def chunk_article(
    article: ParsedArticle,
    *,
    count_tokens: TokenCounter,
    max_tokens: int = 350,
    overlap_tokens: int = 40,
    revision: int = 1,
) -> list[Chunk]:
    """Cut an article into chunks that respect its structure.

    Args:
        article: A parsed article.
        count_tokens: Token counter of the embedding model (budgets are in its tokens).
        max_tokens: Budget of ``Chunk.text``. Only an FAQ, or a single step or table row,
            that alone exceeds it yields a larger chunk (they are never cut).
        overlap_tokens: Overlap between consecutive pieces of a long TEXT block.
        revision: The article revision stored on every chunk (not part of the id).

    Returns:
        Chunks in document order, ``chunk_index`` 0..n-1, without duplicate ids.
    """
    if max_tokens <= 0:
        raise ValueError("max_tokens must be positive")
    overlap_tokens = max(0, min(overlap_tokens, max_tokens // 2))
    pieces: list[tuple[BlockKind, str, tuple[str, ...], Block | None]] = []
    buf: list[Block] = []

    def flush() -> None:
        if not buf:
            return
        kinds = [b.kind for b in buf]
        kind = next((k for k in kinds if k != BlockKind.TEXT), BlockKind.TEXT)
        pieces.append((kind, "\n\n".join(b.text for b in buf), buf[0].heading_path, None))
        buf.clear()

    for block in article.blocks:
        text = block.text.strip()
        if not text:
            continue
        if block.kind == BlockKind.FAQ:
            flush()
            pieces.append((BlockKind.FAQ, text, block.heading_path, block))
            continue
        if count_tokens(text) > max_tokens:
            flush()
            for part in _split_block(block.kind, text, count_tokens, max_tokens, overlap_tokens):
                pieces.append((block.kind, part, block.heading_path, None))
            continue
        if buf and (
            buf[0].heading_path != block.heading_path
            or count_tokens("\n\n".join([*(b.text for b in buf), text])) > max_tokens
        ):
            flush()
        buf.append(block.model_copy(update={"text": text}))
    flush()

    meta = article.meta
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for kind, text, path, faq in pieces:
        cid = chunk_id(meta.tenant, meta.id, text, path)
        if cid in seen:  # the same text twice under the same heading adds nothing
            continue
        seen.add(cid)
        chunks.append(
            Chunk(
                id=cid,
                tenant=meta.tenant,
                article_id=meta.id,
                revision=revision,
                chunk_index=len(chunks),
                text=text,
                title=meta.title,
                heading_path=list(path),
                kind=kind,
                type=meta.type,
                language=meta.language,
                product=meta.product,
                channel=meta.channel,
                tags=list(meta.tags),
                effective_from=meta.effective_from,
                valid_until=meta.valid_until,
                question=faq.question if faq else None,
                alt_questions=list(faq.alt_questions) if faq else [],
                answer=faq.answer if faq else None,
            )
        )
    return chunks


def _split_block(
    kind: BlockKind, text: str, count_tokens: TokenCounter, max_tokens: int, overlap_tokens: int
) -> list[str]:
    if kind == BlockKind.STEPS:
        split = _split_steps(text)
        if split is not None:
            return _pack(*split, count_tokens=count_tokens, max_tokens=max_tokens)
    elif kind == BlockKind.TABLE:
        split = _split_table(text)
        if split is not None:
            return _pack(*split, count_tokens=count_tokens, max_tokens=max_tokens)
    return split_text(text, count_tokens=count_tokens, max_tokens=max_tokens, overlap_tokens=overlap_tokens)


def split_text(text: str, *, count_tokens: TokenCounter, max_tokens: int, overlap_tokens: int) -> list[str]:
    """Split prose on paragraph, line, then CJK/Latin sentence and clause boundaries."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        separators=CJK_SEPARATORS,
        # Punctuation stays with the sentence it ends, not the next one.
        keep_separator="end",
        chunk_size=max_tokens,
        chunk_overlap=overlap_tokens,
        length_function=count_tokens,
        strip_whitespace=True,
    )
    return [p for p in splitter.split_text(text) if p.strip()]


def _split_steps(text: str) -> tuple[list[str], list[list[str]]] | None:
    """(intro lines, items as line groups) of a Markdown list block; None if not a list."""
    lines = text.split("\n")
    starts = [(i, len(m.group("indent"))) for i, ln in enumerate(lines) if (m := _ITEM_START.match(ln))]
    if not starts:
        return None
    top = min(indent for _, indent in starts)
    top_starts = [i for i, indent in starts if indent == top]
    intro = [ln for ln in lines[: top_starts[0]] if ln.strip()]
    items = [lines[a:b] for a, b in zip(top_starts, [*top_starts[1:], len(lines)], strict=True)]
    return intro, items


def _split_table(text: str) -> tuple[list[str], list[list[str]]] | None:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) < 3 or not re.match(r"^\s*\|?\s*:?-{3,}", lines[1]):
        return None
    return lines[:2], [[ln] for ln in lines[2:]]


def _pack(
    header: list[str], items: list[list[str]], *, count_tokens: TokenCounter, max_tokens: int
) -> list[str]:
    """Greedily pack whole items under the budget, repeating ``header`` in every part."""
    parts: list[str] = []
    current: list[str] = []
    for item in items:
        candidate = "\n".join([*header, *current, *item]).strip()
        if current and count_tokens(candidate) > max_tokens:
            parts.append("\n".join([*header, *current]).strip())
            current = []
        current.extend(item)
    if current:
        parts.append("\n".join([*header, *current]).strip())
    return parts
