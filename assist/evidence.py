"""Evidence-first drafts: find the sentences that answer, let the model choose, compose.

    retrieved chunks ─► + more chunks of the same long articles ─► sentences
        ─► score (dense: the embedder on sentences; lexical: the question's tokens)
        ─► the model chooses numbered sentences, or none (one short structured call)
        ─► compose (chosen sentences + neighbours, citations, phrasebook greeting/closing)
        ─► claim check + policy check (assist.claims)

The reply of an *extractive* draft is made of the knowledge base's own sentences, so a
small embedded model can only choose wrongly, never invent: the claim check still runs and
a draft with no supported sentence is never returned as ``drafted``. *Generative* drafts
(free text from :class:`~assist.drafting.DraftWriter`, for a production 7-8B model) go
through the same claim and policy checks (:meth:`EvidenceDrafter.verify`). ``auto`` picks
extractive for small models (``draft.model_params_b`` or the size in the model's name).

No web imports; the pipeline's draft branch calls :class:`EvidenceDrafter`.

Example:
    >>> drafter = EvidenceDrafter(llm=llm, prompts=PromptLibrary(), embedder=emb, settings=DraftSettings())
    >>> out = await drafter.extractive(turns, chunks, "zh", style=[])        # doctest: +SKIP
    >>> out.text, out.status
    ('交接班时，值班人员不得离开岗位 [1]。', 'drafted')
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from assist.claims import check_claims, check_policy, evidence_verdict, verdict_support
from assist.config import DraftSettings, Settings
from assist.drafting import Passage, prompt_history
from assist.embedders.base import Embedder
from assist.errors import LLMError
from assist.injection import sanitize
from assist.llm.base import ChatModel
from assist.prompts import PromptLibrary
from assist.text import content_tokens as _content_tokens
from assist.text import sentence_spans
from assist.text.vague import referring_expressions
from assist.text.yesno import is_yes_no_question, parse_yes_no, split_leading_verdict, verdict_words
from assist.types import ChatMessage, GenSettings, RetrievedChunk, Turn

__all__ = [
    "EvidenceDraft",
    "EvidenceDrafter",
    "EvidenceSentence",
    "draft_mode",
    "evidence_verdict",
    "is_yes_no_question",
    "split_sentences",
]

log = logging.getLogger(__name__)

DraftMode = Literal["extractive", "generative"]
MoreChunks = Callable[[str, list[str], int], Awaitable[list[RetrievedChunk]]]
"""``(question, article_ids, k) -> chunks``: more chunks of the best articles."""

NO_SUPPORTED_CLAIM = "no_supported_claim"
"""Flag of a draft whose every sentence the claim check removed (status ``not_covered``)."""


def _model_params_b(settings: Settings) -> float:
    d = settings.draft
    if d.model_params_b is not None:
        return d.model_params_b
    m = re.search(r"(?<![\d.])(\d+(?:\.\d+)?)\s*b(?![a-z])", settings.llm.model.lower())
    return float(m.group(1)) if m else 0.0


def selection_mode(settings: Settings) -> Literal["model", "scorer"]:
    """Who chooses the evidence of an extractive draft: ``draft.selector``, with ``auto``
    resolved by model size (the model from ``draft.select_min_params_b`` up; below it the
    scorer's best sentence, no model call: measured in docs/quality.md, the 0.5B model's
    choice was no better than the scorer's first candidate and took 3-10 s on CPU).

    Example:
        >>> selection_mode(Settings(_env_file=None, draft={"selector": "auto"}))
        'scorer'
    """
    d = settings.draft
    if d.selector != "auto":
        return d.selector
    return "model" if _model_params_b(settings) >= d.select_min_params_b else "scorer"


def draft_mode(settings: Settings) -> DraftMode:
    """The draft mode to use: ``draft.mode``, with ``auto`` resolved by model size.

    ``auto`` is extractive when the chat model has fewer than ``draft.generative_min_params_b``
    billion parameters: ``draft.model_params_b`` when set, else the size written in the
    model's name (``qwen2.5-0.5b-instruct`` -> 0.5); a name with no size counts as small.

    Example:
        >>> draft_mode(Settings(_env_file=None))
        'extractive'
    """
    d = settings.draft
    if d.mode != "auto":
        return d.mode
    return "generative" if _model_params_b(settings) >= d.generative_min_params_b else "extractive"


# --------------------------------------------------------------------------- sentences
_CLAUSE_BREAK = re.compile(r"(?<=[，,；;：:、])")
_HEADING = re.compile(r"^\s*#+\s*")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)、])\s+")


def split_sentences(text: str, *, max_chars: int = 160) -> list[str]:
    """Sentences of ``text`` (zh and en; a line is at least one sentence); a sentence
    longer than ``max_chars`` is cut at clause boundaries (commas, semicolons, colons) into
    pieces of at most about ``max_chars``. Headings and bullet marks are stripped.

    Example:
        >>> split_sentences("## 值班\\n交接班时，值班人员不得离开岗位。Refunds take 3 days.")
        ['值班', '交接班时，值班人员不得离开岗位。', 'Refunds take 3 days.']
    """
    out: list[str] = []
    for s, e in sentence_spans(text):
        sentence = _BULLET.sub("", _HEADING.sub("", text[s:e])).strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            out.append(sentence)
            continue
        piece = ""
        for part in _CLAUSE_BREAK.split(sentence):
            if piece and len(piece) + len(part) > max_chars:
                out.append(piece.strip())
                piece = ""
            piece += part
        if piece.strip():
            out.append(piece.strip())
    return [s for s in out if any(ch.isalnum() for ch in s)]


@dataclass(frozen=True)
class EvidenceSentence:
    """A candidate sentence: where it is, and how well it answers the question."""

    passage: int
    """Number of its passage (1-based, the citation number)."""
    index: int
    """Position among its passage's sentences."""
    text: str
    score: float = 0.0
    dense: float = 0.0
    lexical: float = 0.0


@dataclass
class Evidence:
    passages: list[Passage]
    sentences: dict[int, list[str]]
    """Passage number -> all its sentences (neighbours come from here)."""
    ranked: list[EvidenceSentence]
    """Candidates, best first."""


@dataclass
class EvidenceDraft:
    """The outcome of an evidence-first draft (the pipeline turns it into a ``Draft``)."""

    text: str
    status: Literal["drafted", "not_covered", "no_draft"]
    passages: list[Passage]
    used: list[int] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    chosen: list[EvidenceSentence] = field(default_factory=list)
    detail: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    """A clarifying question's candidate topics (status ``not_covered``, flag ``clarify``):
    the pipeline asks the customer which one they mean."""


CLARIFY = "clarify"
"""Flag of a reply that asks the customer which of several topics they mean."""


def _clean(text: str) -> tuple[str, bool]:
    """Planted instructions removed; white space collapsed within lines (lines kept)."""
    s = sanitize(text)
    lines = [" ".join(line.split()) for line in s.text.splitlines()]
    return "\n".join(line for line in lines if line), s.flagged


def _lexical(question_tokens: set[str], sentence: str, title: str) -> float:
    """Share of the question's content tokens found in the sentence (title: half weight)."""
    if not question_tokens:
        return 0.0
    st = _content_tokens(sentence)
    tt = _content_tokens(title) - st
    return (len(question_tokens & st) + 0.5 * len(question_tokens & tt)) / len(question_tokens)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


# --------------------------------------------------------------------------- drafter
@dataclass
class EvidenceDrafter:
    """Evidence-first drafting: gather and score evidence sentences, one structured model
    call to choose among them, compose, check.

    Args:
        llm: The chat model (one short JSON call per extractive draft).
        prompts: Templates ``evidence_select`` (system) and ``evidence_select_input`` (data).
        embedder: Scores sentences (``embed_queries`` / ``embed_documents``).
        settings: :class:`~assist.config.DraftSettings`.
        more_chunks: Optional ``(question, article_ids, k) -> chunks`` fetching more chunks of
            the best articles (a long document holds its answer in several chunks).
        on_llm: Metrics hook ``(seconds, completion)`` for the selection call.

    Example:
        >>> d = EvidenceDrafter(llm=FakeChatModel(replies=['{"evidence": [1]}']), prompts=PromptLibrary(),
        ...                     embedder=FakeEmbedder(), settings=DraftSettings())
    """

    llm: ChatModel
    prompts: PromptLibrary
    embedder: Embedder
    settings: DraftSettings
    more_chunks: MoreChunks | None = None
    on_llm: Callable[[float, Any], None] | None = None
    use_model: bool = True
    """Let the model choose the evidence (one structured call); False: the scorer's best
    sentence, with a yes/no verdict read from its polarity (no model call)."""

    # ------------------------------------------------------------------ evidence
    async def gather(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        *,
        context: str | None = None,
        more_chunks: MoreChunks | None = None,
    ) -> Evidence:
        """Score the sentences of the best chunks (plus more chunks of the same articles)."""
        s = self.settings
        picked = list(chunks[: s.evidence_chunks])
        more = more_chunks or self.more_chunks
        if more is not None and picked and len(picked) < s.evidence_chunks + s.extra_article_chunks:
            articles = list(dict.fromkeys(c.chunk.article_id for c in picked[:2]))
            seen = {c.chunk.id for c in picked}
            try:
                extra = await more(question, articles, s.extra_article_chunks + len(picked))
            except Exception:  # more evidence is a bonus; never fail a draft for it
                log.warning("could not fetch more chunks of %s", articles, exc_info=True)
                extra = []
            for c in extra:
                if c.chunk.id not in seen and len(picked) < s.evidence_chunks + s.extra_article_chunks:
                    picked.append(c)
                    seen.add(c.chunk.id)
        passages: list[Passage] = []
        sentences: dict[int, list[str]] = {}
        flat: list[tuple[int, int, str]] = []
        for i, r in enumerate(picked, start=1):
            text, _ = _clean(r.chunk.text)
            if r.chunk.answer and r.chunk.question:
                text = _clean(r.chunk.answer)[0] or text  # an FAQ entry's evidence is its answer
            passages.append(Passage(i, r.chunk.title, r.chunk.section, text, r))
            sents = split_sentences(text, max_chars=s.sentence_chars)
            sentences[i] = sents
            flat.extend((i, j, t) for j, t in enumerate(sents))
        if not flat:
            return Evidence(passages, sentences, [])
        qtokens = _content_tokens(question)
        lex = [_lexical(qtokens, t, passages[p - 1].title) for p, _, t in flat]
        # Embedding every sentence of long chunks costs time: pre-select by lexical match
        # and position (earlier chunks rank higher), keeping a generous pool for the embedder.
        order = sorted(range(len(flat)), key=lambda k: (-lex[k], flat[k][0], flat[k][1]))
        pool = sorted(order[: s.embed_pool])
        queries = [question] + ([context] if context and context != question else [])
        qvecs = await self.embedder.embed_queries(queries)
        dvecs = await self.embedder.embed_documents([flat[k][2] for k in pool])
        ranked: list[EvidenceSentence] = []
        for k, vec in zip(pool, dvecs, strict=True):
            dense = max(_dot(q, vec) for q in qvecs)
            p, j, t = flat[k]
            score = dense + s.lexical_weight * lex[k] - s.rank_penalty * (p - 1)
            ranked.append(EvidenceSentence(p, j, t, score, dense, lex[k]))
        ranked.sort(key=lambda e: (-e.score, e.passage, e.index))
        return Evidence(passages, sentences, ranked)

    # ------------------------------------------------------------------ selection
    def selection_schema(self, n: int, yes_no: bool) -> dict[str, Any]:
        props: dict[str, Any] = {
            "evidence": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, n + 1))},
                "maxItems": self.settings.max_selected,
            }
        }
        required = ["evidence"]
        if yes_no:
            props["verdict"] = {"type": "string", "enum": ["yes", "no", "unclear"]}
            required.append("verdict")
        return {
            "title": "evidence_selection",
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }

    def selection_messages(
        self, turns: Sequence[Turn], candidates: Sequence[EvidenceSentence], language: str, yes_no: bool
    ) -> list[ChatMessage]:
        history = prompt_history(turns[-3:-1], language) if len(turns) > 1 else []
        for h in history:
            h["text"] = h["text"][: self.settings.history_chars]
        question = prompt_history(turns[-1:], language)[0]["text"] if turns else ""
        system = self.prompts.render(
            "evidence_select", language, max_selected=self.settings.max_selected, yes_no=yes_no
        )
        user = self.prompts.render(
            "evidence_select_input",
            language,
            question=question,
            history=history,
            sentences=[{"n": i, "text": c.text} for i, c in enumerate(candidates, start=1)],
        )
        return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]

    async def select(
        self, turns: Sequence[Turn], candidates: Sequence[EvidenceSentence], language: str
    ) -> tuple[list[int], str | None]:
        """The model's choice: candidate numbers (1-based; empty = none answers) and, for a
        yes/no question, its verdict. Raises ``LLMError`` when the model is unavailable."""
        question = turns[-1].text if turns else ""
        yes_no = is_yes_no_question(question)
        gen = GenSettings(
            temperature=0.0,
            max_tokens=self.settings.select_max_tokens,
            json_schema=self.selection_schema(len(candidates), yes_no),
            timeout_s=self.settings.select_timeout_s,
        )
        started = time.perf_counter()
        out = await self.llm.complete(
            self.selection_messages(turns, candidates, language, yes_no), settings=gen
        )
        if self.on_llm is not None:
            self.on_llm(time.perf_counter() - started, out)
        try:
            data = json.loads(out.text)
        except ValueError:
            log.warning("evidence selection: the model did not return JSON: %r", out.text[:200])
            raise LLMError("the model's evidence selection was not JSON", retryable=False) from None
        if not isinstance(data, dict):
            raise LLMError("the model's evidence selection was not a JSON object", retryable=False)
        raw = data.get("evidence") or []
        picked: list[int] = []
        for v in raw if isinstance(raw, list) else []:
            if isinstance(v, int) and 1 <= v <= len(candidates) and v not in picked:
                picked.append(v)
        verdict = data.get("verdict") if yes_no else None
        return picked[: self.settings.max_selected], verdict if verdict in ("yes", "no") else None

    # ------------------------------------------------------------------ compose
    def _with_neighbours(self, ev: Evidence, chosen: Sequence[EvidenceSentence]) -> list[tuple[int, int]]:
        """(passage, index) of the chosen sentences plus the neighbours they need: the one
        before a short or referring sentence, the ones after a sentence that announces a
        list (ends with a colon)."""
        keep: set[tuple[int, int]] = set()
        for c in chosen:
            sents = ev.sentences[c.passage]
            keep.add((c.passage, c.index))
            text = c.text
            short = len(text) < self.settings.short_sentence_chars
            refers = bool(
                re.match(
                    r"^(?:它|其|该|此|这|那|上述|以上|同时|此外|另外|但|但是|不过|并且|而且|"
                    r"it\b|this\b|that\b|these\b|those\b|they\b|then\b|also\b|but\b|however\b)",
                    text,
                    re.I,
                )
            )
            if (short or refers) and c.index > 0:
                keep.add((c.passage, c.index - 1))
            if text.rstrip().endswith((":", "：")):
                for j in range(c.index + 1, min(len(sents), c.index + 1 + self.settings.list_items)):
                    keep.add((c.passage, j))
        return sorted(keep)

    def compose(
        self,
        ev: Evidence,
        chosen: Sequence[EvidenceSentence],
        language: str,
        *,
        verdict: str | None = None,
        greeting: str | None = None,
        closing: str | None = None,
        question: str = "",
    ) -> str:
        """The reply: evidence sentences in document order, each with its citation, lightly
        connected, with the verdict of a yes/no question first and the tenant's greeting
        and closing around it."""
        zh = language == "zh"
        parts: list[str] = []
        last_passage: int | None = None
        for p, j in self._with_neighbours(ev, chosen):
            text = ev.sentences[p][j].strip()
            end = ""
            m = re.search(r"[。！？!?；;.．…，,、:：]+$", text)
            if m:
                text, end = text[: m.start()], m.group()
            if end[-1:] in (":", "："):
                end = end[-1]  # announces the list that follows
            elif end[-1:] not in ("。", "！", "？", "!", "?", ".", "…"):
                end = "。" if zh else "."
            if last_passage is not None and p != last_passage:
                if not zh and text[:1].isupper() and text[1:2].islower():
                    text = text[:1].lower() + text[1:]
                text = ("另外，" if zh else "Also, ") + text
            parts.append(f"{text} [{p}]{end}")
            last_passage = p
        body = ("" if zh else " ").join(parts)
        pieces = [x for x in (greeting, verdict_text(verdict, language, question), body, closing) if x]
        return ("" if zh else " ").join(pieces)

    # ------------------------------------------------------------------ drafts
    async def extractive(
        self,
        turns: Sequence[Turn],
        chunks: Sequence[RetrievedChunk],
        language: str,
        *,
        style: Sequence[str] = (),
        greeting: str | None = None,
        closing: str | None = None,
        context: str | None = None,
        more_chunks: MoreChunks | None = None,
    ) -> EvidenceDraft:
        """An extractive draft: at most one model call (the selection)."""
        t0 = time.perf_counter()
        question = turns[-1].text if turns else ""
        ev = await self.gather(question, chunks, context=context, more_chunks=more_chunks)
        timings = {"evidence_s": time.perf_counter() - t0}
        candidates = ev.ranked[: self.settings.evidence_sentences]
        if not candidates or candidates[0].lexical < self.settings.min_evidence_lexical:
            return EvidenceDraft(
                "",
                "not_covered",
                ev.passages,
                flags=["no_evidence"],
                timings=timings,
                detail="no sentence of the retrieved knowledge relates to the question",
            )
        topics = (
            self.ambiguous_topics(question, ev, [t.text for t in turns[:-1]])
            if self.settings.clarify
            else None
        )
        if topics is not None:
            return EvidenceDraft(
                "",
                "not_covered",
                ev.passages,
                flags=[CLARIFY],
                timings=timings,
                topics=topics,
                detail="the question fits several topics of the knowledge base nearly equally",
            )
        verdict_flag = "model_verdict"
        if self.use_model:
            t1 = time.perf_counter()
            try:
                picked, verdict = await self.select(turns, candidates, language)
            except LLMError as e:
                timings["select_s"] = time.perf_counter() - t1
                return EvidenceDraft(
                    "",
                    "no_draft",
                    ev.passages,
                    flags=["model_unavailable"],
                    timings=timings,
                    detail=f"no draft could be written: {e.message}",
                )
            timings["select_s"] = time.perf_counter() - t1
        else:
            # A yes/no question may be restated by a sentence a little further down.
            candidates = ev.ranked[: 2 * self.settings.evidence_sentences]
            picked, verdict = self.scorer_choice(question, candidates)
            verdict_flag = "verdict_from_evidence"
        chosen = [candidates[i - 1] for i in picked]
        if not chosen:
            return EvidenceDraft(
                "",
                "not_covered",
                ev.passages,
                flags=["model_chose_no_evidence"],
                timings=timings,
                detail="no evidence sentence answers the question",
            )
        text = self.compose(
            ev, chosen, language, verdict=verdict, greeting=greeting, closing=closing, question=question
        )
        framing = [x for x in (greeting, closing) if x]
        # The verdict is no courtesy: the claim check keeps it only if the sentence after it
        # gives the same answer (by construction for the scorer's verdict; the model's may not).
        draft = self.verify(text, ev.passages, style=[*style, *framing], question=question)
        draft.chosen = chosen
        draft.timings = timings
        draft.flags.append("selected_by_model" if self.use_model else "selected_by_scorer")
        if verdict and split_leading_verdict(_after_greeting(draft.text, greeting))[0] == verdict:
            draft.flags.append(verdict_flag)
        return draft

    def ambiguous_topics(self, question: str, ev: Evidence, history: Sequence[str] = ()) -> list[str] | None:
        """The candidate topics to ask about when ``question`` is underspecified, else None.

        All must hold: the question is vague (at most ``draft.clarify_short_tokens`` content
        tokens, or it refers to something it does not name: "this model", "the country",
        这款; :func:`assist.text.vague.referring_expressions`); the best evidence sentences
        of two or more articles (or sections of one) score within ``draft.clarify_margin``
        of the best; and neither the question nor the last turns name one of them more
        than the others (a label is named by the content tokens it shares with them).
        Labels are the articles' titles (with the section where titles repeat); articles
        without a title are compared by their best sentence and offered as no topic (the
        clarifying question then asks in general).

        Example:
            >>> d.ambiguous_topics("Does this restaurant chain operate in India?", ev)   # doctest: +SKIP
            ["History of McDonald's", 'Taco Bell']
        """
        s = self.settings
        if not ev.ranked:
            return None
        q_tokens = _content_tokens(question)
        first_turn = not history
        vague = len(q_tokens) <= s.clarify_short_tokens or bool(
            referring_expressions(question, pronouns=first_turn)
        )
        if not vague:
            return None
        best: dict[tuple[str, str], tuple[float, EvidenceSentence]] = {}
        for e in ev.ranked:
            p = ev.passages[e.passage - 1]
            key = (p.source.chunk.article_id, p.section.strip())
            if key not in best:
                best[key] = (e.score, e)
        top = max(score for score, _ in best.values())
        close = sorted(
            ((sc, k, e) for k, (sc, e) in best.items() if sc >= top - s.clarify_margin), key=lambda x: -x[0]
        )
        if len(close) < 2:
            return None
        titles = [" ".join(ev.passages[e.passage - 1].title.split()) for _, _, e in close]
        labels: list[str] = []
        descriptors: list[set[str]] = []
        for (_, (_, section), e), title in zip(close, titles, strict=True):
            label = title if titles.count(title) == 1 or not section else f"{title} – {section}"
            described = label if title else e.text
            if label and label.lower() in (x.lower() for x in labels):
                continue
            labels.append(label)
            descriptors.append(_content_tokens(described))
        if len(descriptors) < 2:
            return None
        # A question (or the conversation just before it) that names one of them is clear.
        said = q_tokens | _content_tokens(" ".join(history[-2:]))
        named = sorted((len(said & d) for d in descriptors), reverse=True)
        if named[0] > named[1]:
            return None
        return [x for x in labels if x][: s.clarify_max_topics]

    def scorer_choice(
        self, question: str, candidates: Sequence[EvidenceSentence]
    ) -> tuple[list[int], str | None]:
        """The scorer's choice (no model call): the best candidate; for a yes/no question the
        candidate that restates the question most closely and the verdict it gives
        (:func:`assist.claims.verdict_support`), or the best candidate and no verdict when
        none restates it (never a guess).

        Example:
            >>> d.scorer_choice("原告是否再婚？", [EvidenceSentence(1, 0, "原告诉称双方感情破裂。"),
            ...                                  EvidenceSentence(1, 1, "原告离婚后未再婚。")])   # doctest: +SKIP
            ([2], 'no')
        """
        # A sentence that asks (an FAQ's question, a heading) answers nothing.
        first = next((i for i, c in enumerate(candidates, start=1) if not _asks(c.text)), 1)
        yn = parse_yes_no(question)
        if yn is None:
            return [first], None
        best: tuple[float, int, str] | None = None
        for i, c in enumerate(candidates, start=1):
            verdict, strength = verdict_support(yn, c.text)
            if verdict is not None and (best is None or strength > best[0] + 1e-9):
                best = (strength, i, verdict)
        if best is None:
            return [first], None
        return [best[1]], best[2]

    def verify(
        self,
        text: str,
        passages: Sequence[Passage],
        *,
        style: Sequence[str] = (),
        question: str | None = None,
    ) -> EvidenceDraft:
        """Claim check and policy check of a reply against its passages (any draft mode).

        A reply with no supported claim left comes back ``not_covered`` with the flag
        ``no_supported_claim`` (its text is empty: the caller writes the not-covered reply).
        """
        evidence = {p.number: f"{p.title}\n{p.source.chunk.text}" for p in passages}
        claims = check_claims(
            text, evidence, style=style, min_support=self.settings.min_support, question=question
        )
        policy = check_policy(claims.text, evidence)
        flags = [*claims.flags, *policy.flags]
        if claims.supported == 0 or not policy.text.strip():
            return EvidenceDraft(
                "",
                "not_covered",
                list(passages),
                flags=[*flags, NO_SUPPORTED_CLAIM],
                detail="no sentence of the draft is supported by its cited evidence",
            )
        # Sentences the policy check removed may have held the only citation of a passage,
        # or every claim (what is left is courtesy): count again.
        used = [n for n in claims.used if f"[{n}]" in policy.text]
        if (
            policy.removed
            and check_claims(
                policy.text, evidence, style=style, min_support=self.settings.min_support, question=question
            ).supported
            == 0
        ):
            return EvidenceDraft(
                "",
                "not_covered",
                list(passages),
                flags=[*flags, NO_SUPPORTED_CLAIM],
                detail="no sentence of the draft passed the policy check",
            )
        return EvidenceDraft(policy.text, "drafted", list(passages), used=used, flags=flags)


def _asks(sentence: str) -> bool:
    return unicodedata.normalize("NFKC", sentence).rstrip().endswith("?")


def _after_greeting(text: str, greeting: str | None) -> str:
    return text[len(greeting) :].lstrip() if greeting and text.startswith(greeting) else text


def verdict_text(verdict: str | None, language: str, question: str = "") -> str | None:
    """The answer to a yes/no question that leads an extractive reply, in the question's
    own verb ("是的。" / "可以。" / "没有。" / "No.").

    Example:
        >>> verdict_text("yes", "zh", "可以戴着游泳吗？"), verdict_text("no", "zh", "房子是否有产权证？")
        ('可以。', '没有。')
    """
    if verdict not in ("yes", "no"):
        return None
    q = parse_yes_no(question)
    yes, no = verdict_words(q.verb if q else "be", language)
    return yes if verdict == "yes" else no


def greeting_and_closing(style: Sequence[str], language: str) -> tuple[str | None, str | None]:
    """A greeting and a closing among the tenant's phrasebook lines (None when absent).

    Phrasebook lines often read ``标准问候："您好，……"``: the quoted phrase is used.
    ``{agent}`` placeholders are left for the agent (lines holding one are skipped).
    """

    def phrase(line: str) -> str:
        m = re.search(r"[“\"「](.+?)[”\"」]", line)
        return (m.group(1) if m else line).strip()

    greet_rx = re.compile(r"^(?:您好|你好|hello|hi|dear)", re.I)
    close_rx = re.compile(
        r"(?:还有什么|其他问题|祝您|anything else|have a (?:nice|good|great)|glad to help)", re.I
    )
    greeting = closing = None
    for line in style:
        p = phrase(line)
        if "{" in p or len(p) > 60:
            continue
        if greeting is None and greet_rx.search(p):
            greeting = p
        elif closing is None and close_rx.search(p):
            closing = p
    return greeting, closing


@dataclass
class ClaimFilter:
    """The claim and policy checks over a streamed generative reply, piece by piece.

    Feed it the whole sentences a stream releases; it returns what may be shown: supported
    sentences, and courtesy sentences once a supported claim has come (a reply of courtesy
    alone is no answer). The final text is what it released, so streamed and final agree.

    Example:
        >>> f = ClaimFilter(passages)                                         # doctest: +SKIP
        >>> f.feed("您好！"), f.feed("值班人员可以走 [1]。"), f.feed("交接班时不得离开岗位 [1]。")   # doctest: +SKIP
        ('', '', '您好！交接班时不得离开岗位 [1]。')
    """

    passages: Sequence[Passage]
    style: Sequence[str] = ()
    min_support: float = 0.5
    question: str | None = None
    """The customer's question: a yes/no verdict the reply leads with is checked against
    the claim after it (held back until that claim comes; dropped if none does)."""
    supported: int = 0
    flags: list[str] = field(default_factory=list)
    used: list[int] = field(default_factory=list)
    _held: str = ""
    _verdict: str = ""
    _out: list[str] = field(default_factory=list)

    def feed(self, piece: str) -> str:
        if not piece.strip():
            self._held += piece
            return ""
        if self._verdict:  # a verdict waits for the claim that decides it
            piece, self._verdict = self._verdict + piece, ""
        elif self.question and is_yes_no_question(self.question):
            verdict, _, rest = split_leading_verdict(piece.strip())
            if verdict is not None and not _content_tokens(re.sub(r"\[\d+\]", "", rest)):
                self._verdict = piece
                return ""
        lead = piece[: len(piece) - len(piece.lstrip())]
        evidence = {p.number: f"{p.title}\n{p.source.chunk.text}" for p in self.passages}
        claims = check_claims(
            piece.strip(), evidence, style=self.style, min_support=self.min_support, question=self.question
        )
        policy = check_policy(claims.text, evidence) if claims.text else None
        self.flags.extend(
            f for f in [*claims.flags, *(policy.flags if policy else [])] if f not in self.flags
        )
        kept = policy.text if policy else ""
        if not kept:
            return ""
        supported = claims.supported
        if policy and policy.removed:  # the policy check may have taken the claims
            supported = check_claims(
                kept, evidence, style=self.style, min_support=self.min_support, question=self.question
            ).supported
        if supported == 0:
            self._held += lead + kept  # courtesy only: wait for a claim
            return ""
        self.supported += supported
        self.used.extend(n for n in claims.used if n not in self.used and f"[{n}]" in kept)
        out = self._held + lead + kept
        self._held = ""
        if not self._out:
            out = out.lstrip()
        self._out.append(out)
        return out

    def close(self) -> str:
        """Courtesy held back after the last claim is released (only if a claim was)."""
        out = self._held if self.supported and self._held.strip() else ""
        self._held = self._verdict = ""  # a verdict no claim followed is dropped
        if out:
            self._out.append(out)
        return out

    @property
    def text(self) -> str:
        return "".join(self._out)
