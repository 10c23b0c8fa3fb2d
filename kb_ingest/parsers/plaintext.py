"""Plain text (TXT files, PDF text) to Markdown: Chinese section labels become headings,
numbered and bulleted lines in any common style become list items."""

from __future__ import annotations

import re

from assist.text.cjk import CJK_TEXT_RANGES
from assist.text.numbers import CN_NUMERAL_CHARS

__all__ = ["ITEM", "escape_md_line", "join_lines", "plain_text_to_markdown"]

ITEM = re.compile(
    r"^\s*(?:(?P<num>\d{1,3})\s*[.、．)）](?!\d)|[(（](?P<pnum>\d{1,3})[)）]|(?P<circ>[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])"
    r"|(?P<bullet>[•·●▪◦■□○]|[\-*+](?=\s)))\s*(?P<rest>\S.*)$"
)
_CN_HEADING = re.compile(
    rf"^\s*(?:第[{CN_NUMERAL_CHARS}\d]+[章节部分篇]|[{CN_NUMERAL_CHARS}]+[、.．])\s*\S.{{0,40}}$"
)
_WIDE_END = re.compile(f"[{CJK_TEXT_RANGES}]$")
_WIDE_START = re.compile(f"^[{CJK_TEXT_RANGES}]")


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
        if ITEM.match(line) and len(out) >= 2 and out[-1] == "" and ITEM.match(out[-2]):
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
        m = ITEM.match(line)
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
            out[-1] = join_lines(out[-1], stripped)
            continue
        if in_list and raw[:1].isspace():
            out.append("   " + stripped)  # continuation of a list item
            continue
        if in_list:
            out.append("")
            in_list = False
        out.append(escape_md_line(line) if not join_wrapped else stripped)
    return "\n".join(out)


def _promote_title_line(text: str) -> str:
    """A short first line followed by a blank line is the document title (an H1)."""
    m = re.match(r"\A\s*([^\n]{1,60})\n[ \t]*\n", text)
    if m and not re.search(r"[。.!！?？:：,，;；]$", m.group(1).strip()) and not ITEM.match(m.group(1)):
        return f"# {m.group(1).strip()}\n\n" + text[m.end() :]
    return text


def join_lines(prev: str, nxt: str) -> str:
    """Join two lines of one wrapped paragraph: no space between Chinese characters."""
    if _WIDE_END.search(prev) or _WIDE_START.match(nxt):
        return prev + nxt
    if prev.endswith("-") and not prev.endswith(" -"):
        return prev[:-1] + nxt
    return f"{prev} {nxt}"


def escape_md_line(line: str) -> str:
    """Escape a plain line that would read as Markdown syntax ("2024. Note")."""
    return re.sub(r"^(\s*)(\d+)\.(\s)", r"\1\2\\.\3", line)
