"""What every parser shares: the article value, its content hash, text decoding."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

from assist.errors import InputError
from assist.types import ArticleMeta, Block, ParsedArticle

__all__ = ["article", "content_hash", "decode_bytes", "one_line"]


def article(meta: ArticleMeta, blocks: list[Block]) -> ParsedArticle:
    """A parsed article with its content hash."""
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


def one_line(text: str) -> str:
    """Collapse white space (newlines included) to single spaces."""
    return re.sub(r"\s+", " ", text).strip()
