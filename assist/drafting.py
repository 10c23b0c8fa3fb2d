"""Reply drafts grounded in retrieved knowledge, with validated citations.

Three outcomes besides a generated draft: a *curated* answer (a published FAQ entry
matched with high confidence, returned verbatim, no generation), *not covered* (the
knowledge base does not answer: a clarifying reply and a flag), and *no draft* (the
model server failed: the caller still gets the sources).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from assist.injection import sanitize
from assist.llm.base import ChatModel
from assist.profile import neutral_profile
from assist.prompts import PromptLibrary
from assist.types import ChatMessage, Citation, GenSettings, RetrievedChunk, Turn

_CITE = re.compile(r"\[(\d{1,3})\]")
_REMOVED = {"en": "(message withheld: it held only instructions)", "zh": "（该消息只含指令，已略去）"}
_ROLE_NAMES = {
    "en": {"customer": "Customer", "agent": "Agent", "bot": "Bot", "system": "Note"},
    "zh": {"customer": "客户", "agent": "坐席", "bot": "机器人", "system": "备注"},
}


def prompt_history(turns: Sequence[Turn], language: str) -> list[dict[str, str]]:
    """Turns as the prompts show them: the role named in the prompt's language, the text
    with planted instructions removed. A turn that was nothing but an instruction is shown
    as a neutral marker, never as the raw text."""
    names = _ROLE_NAMES[language]
    removed = _REMOVED[language]
    return [{"role": names.get(t.role, t.role), "text": sanitize(t.text).text or removed} for t in turns]


@dataclass(frozen=True)
class Passage:
    number: int
    title: str
    section: str
    text: str
    source: RetrievedChunk


def make_passages(chunks: Sequence[RetrievedChunk], *, max_chars: int | None = None
                  ) -> tuple[list[Passage], list[str]]:
    """Number the retrieved chunks [1..n], strip planted instructions from their text and
    cut each to ``max_chars`` (the model's context is a budget shared by all passages)."""
    passages, flags = [], []
    for i, r in enumerate(chunks, start=1):
        clean = sanitize(r.chunk.text)
        if clean.flagged:
            flags.append(f"injection_removed:{r.chunk.article_id}")
        text = " ".join(clean.text.split())
        if max_chars and len(text) > max_chars:
            text = text[:max_chars].rstrip() + "…"
        passages.append(Passage(i, r.chunk.title, r.chunk.section, text, r))
    return passages, flags


@dataclass(frozen=True)
class CheckedText:
    text: str
    used: list[int]
    invalid: list[int]


def check_citations(text: str, n_passages: int) -> CheckedText:
    """Keep citation markers that point at a passage in the context; drop the rest.

    Example:
        >>> check_citations("Refunds take 3-7 days [1][4].", 2)
        CheckedText(text='Refunds take 3-7 days [1].', used=[1], invalid=[4])
    """
    used: list[int] = []
    invalid: list[int] = []

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if 1 <= n <= n_passages:
            if n not in used:
                used.append(n)
            return m.group(0)
        if n not in invalid:
            invalid.append(n)
        return ""

    out = _CITE.sub(repl, text)
    out = re.sub(r"[ \t]+([。．.!！?？,，])", r"\1", out).strip()
    return CheckedText(out, used, invalid)


def attribute_and_check(text: str, passages: Sequence[Passage], *, attribute_at: float = 0.6,
                        support_at: float = 0.3) -> tuple[str, list[str]]:
    """Ground a generated reply sentence by sentence.

    A sentence without a citation whose content clearly comes from one passage (token
    overlap >= ``attribute_at``) gets that passage's marker (small models often forget
    them); a cited sentence whose tokens its passages do not support (< ``support_at``) is
    flagged for the agent. Returns the text and flags.
    """
    from assist.text import sentence_spans, support_overlap

    if not passages:
        return text, []
    out: list[str] = []
    flags: list[str] = []
    pos = 0
    attributed = False
    for s, e in sentence_spans(text):
        out.append(text[pos:s])
        sentence = text[s:e]
        cited = [int(m.group(1)) for m in _CITE.finditer(sentence)]
        if not cited:
            scores = [(support_overlap(sentence, p.text + " " + p.title), p.number) for p in passages]
            best, number = max(scores)
            if best >= attribute_at:
                end = len(sentence.rstrip("。．.!！?？"))
                sentence = f"{sentence[:end]} [{number}]{sentence[end:]}"
                attributed = True
        else:
            support = " ".join(passages[n - 1].text + " " + passages[n - 1].title
                               for n in cited if 1 <= n <= len(passages))
            if support and support_overlap(sentence, support) < support_at:
                flags.append(f"unsupported_sentence:{s}-{e}")
        out.append(sentence)
        pos = e
    out.append(text[pos:])
    if attributed:
        flags.append("citations_attributed")
    return "".join(out), flags


def citations_for(used: Sequence[int], passages: Sequence[Passage]) -> list[Citation]:
    out = []
    for n in used:
        p = passages[n - 1]
        c = p.source.chunk
        out.append(
            Citation(
                number=n,
                chunk_id=c.id,
                article_id=c.article_id,
                revision=c.revision,
                title=c.title,
                section=c.section,
                snippet=p.text[:300],
            )
        )
    return out


@dataclass
class DraftWriter:
    """Renders the draft prompt and asks the chat model for a cited reply.

    Example:
        >>> writer = DraftWriter(llm=FakeChatModel(replies=["Refunds take 3-7 days [1]."]), prompts=PromptLibrary())
        >>> text = await writer.generate(turns, passages, "en", style=[])   # doctest: +SKIP
    """

    llm: ChatModel
    prompts: PromptLibrary
    company: str | None = None
    """The name the prompt gives the company; per call ``company=`` (the tenant profile's
    display name) wins, and without either the neutral profile's name is used."""
    gen: GenSettings | None = None
    history_turns: int = 4

    def messages(self, turns: Sequence[Turn], passages: Sequence[Passage], language: str,
                 style: Sequence[str], *, company: str | None = None) -> list[ChatMessage]:
        question = prompt_history(turns[-1:], language)[0]["text"] if turns else ""
        history = prompt_history(turns[-self.history_turns - 1:-1], language)
        company = company or self.company or neutral_profile().company(language)
        system = self.prompts.render("draft_reply", language, company=company, style=list(style))
        user = self.prompts.render(
            "draft_reply_input",
            language,
            passages=[{"number": p.number, "title": p.title, "section": p.section, "text": p.text} for p in passages],
            history=history,
            question=question,
        )
        return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]

    async def generate(self, turns, passages, language: str, style: Sequence[str], *,
                       company: str | None = None) -> str:
        completion = await self.llm.complete(self.messages(turns, passages, language, style, company=company),
                                             settings=self._gen())
        return completion.text

    async def stream(self, turns, passages, language: str, style: Sequence[str], *,
                     company: str | None = None) -> AsyncIterator[str]:
        async for delta in self.llm.stream(self.messages(turns, passages, language, style, company=company),
                                           settings=self._gen()):
            yield delta

    def _gen(self) -> GenSettings:
        # A presence penalty stops small models from looping over the passages.
        return self.gen or GenSettings(temperature=0.3, max_tokens=300, presence_penalty=0.6)
