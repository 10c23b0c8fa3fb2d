"""BEIR ``corpus.jsonl`` rows (``_id``, ``title``, ``text``, optional ``metadata``): one
article per row, FAQ when the row carries a question."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assist.errors import InputError
from assist.text import detect_language
from assist.types import ArticleType, Block, BlockKind, ParsedArticle
from kb_ingest.frontmatter import build_meta, sanitize_id
from kb_ingest.parsers.common import article
from kb_ingest.parsers.markdown import markdown_to_blocks
from kb_ingest.parsers.plaintext import plain_text_to_markdown
from kb_ingest.parsers.rows import render_faq, row_fields, row_meta

__all__ = ["beir_articles"]


def beir_articles(
    rows: list[dict[str, Any]], keys: Mapping[str, str | None], base: dict[str, Any], rel: str
) -> list[ParsedArticle]:
    articles: list[ParsedArticle] = []
    for n, row in enumerate(rows, start=1):
        where = f"{rel} line {n}"
        f = row_fields(row, keys)
        raw_id = f.get("id")
        text = str(f.get("text") or "").strip()
        if raw_id in (None, ""):
            raise InputError(f"{where}: a corpus row needs an 'id' (or '_id')")
        if not text:
            continue
        raw_extra = row.get("metadata")
        extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
        f2 = {**row_fields(extra, {}), **f}
        meta = row_meta(f2, base, where)
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
        articles.append(article(build_meta(meta, where=where), blocks))
    if not articles:
        raise InputError(f"{rel}: no corpus rows with text found")
    return articles
