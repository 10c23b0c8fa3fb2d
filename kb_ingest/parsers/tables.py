"""Q&A tables (CSV, XLSX, JSONL): one FAQ article per row; a table that is not Q&A (a fee
schedule) is one article with a TABLE block; BEIR corpora go to :mod:`.beir`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assist.errors import InputError
from assist.text import detect_language
from assist.types import ArticleType, Block, BlockKind, ParsedArticle
from kb_ingest import limits
from kb_ingest.frontmatter import build_meta, sanitize_id, slug_id
from kb_ingest.parsers.beir import beir_articles
from kb_ingest.parsers.common import article, decode_bytes, one_line
from kb_ingest.parsers.headers import canon_header
from kb_ingest.parsers.markdown import rows_to_markdown_table
from kb_ingest.parsers.rows import render_faq, row_fields, row_meta, split_alts

__all__ = ["TABLE_EXTS", "parse_table_file"]

TABLE_EXTS = frozenset({".csv", ".xlsx", ".jsonl"})


def parse_table_file(path: Path, data: bytes, base: dict[str, Any], rel: str) -> list[ParsedArticle]:
    rows = _read_rows(path, data, rel)
    if not rows:
        raise InputError(f"{rel}: no rows found")
    keys = {k: canon_header(k) for r in rows[:50] for k in r}
    canon = set(keys.values())
    if "question" in canon and "answer" in canon:
        return _faq_articles(rows, keys, base, rel)
    is_beir = path.name.lower() == "corpus.jsonl" or (
        path.suffix.lower() == ".jsonl" and {"id", "text"} <= canon and "answer" not in canon
    )
    if is_beir:
        return beir_articles(rows, keys, base, rel)
    if path.suffix.lower() in (".csv", ".xlsx"):
        # Not a Q&A table (e.g. a fee schedule): keep it as one article with a TABLE block.
        header = list(rows[0])
        table = rows_to_markdown_table([header, *[[str(r.get(h, "")) for h in header] for r in rows]])
        blocks = [Block(kind=BlockKind.TABLE, text=table)]
        meta = dict(base)
        meta.setdefault("id", slug_id(rel))
        meta.setdefault("title", path.stem)
        meta.setdefault("language", detect_language(table[:20000], default="en"))
        return [article(build_meta(meta, where=rel), blocks)]
    raise InputError(
        f"{rel}: expected Q&A columns (question/问题, answer/答案) or BEIR rows (id, text); found {sorted(keys)}"
    )


def _read_rows(path: Path, data: bytes, rel: str) -> list[dict[str, Any]]:
    ext = path.suffix.lower()
    if ext == ".csv":
        text = decode_bytes(data, where=rel)
        try:
            dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        out = []
        for r in csv.DictReader(io.StringIO(text), dialect=dialect):
            out.append(dict(r))
            limits.check_rows(len(out), name=rel)
        return out
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
            limits.check_rows(len(rows), name=rel)
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
            if len(rows) > limits.MAX_TABLE_ROWS:
                wb.close()
                limits.check_rows(len(rows), name=rel)
    wb.close()
    return rows


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
        f = row_fields(row, keys)
        question = one_line(str(f.get("question") or ""))
        answer = str(f.get("answer") or "").strip()
        if not question and not answer:
            continue
        if not question or not answer:
            raise InputError(f"{where}: a Q&A row needs both a question and an answer")
        alts = [a for a in split_alts(f.get("alt_questions")) if a != question]
        meta = row_meta(f, row_base, where)
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
        articles.append(article(build_meta(meta, where=where), [block]))
    if not articles:
        raise InputError(f"{rel}: no Q&A rows with text found")
    return articles
