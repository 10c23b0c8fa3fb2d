"""Optional stages around the search: a reranker and an LLM query rewrite.

Both sit behind seams of ``assist.retrieval`` (``Reranker``, ``QueryRewriter``) and are
off by default (``retrieval.reranker``, ``retrieval.rewrite_query``):

- ``LLMReranker``: the chat model orders the fused candidates (listwise, one structured
  call; JSON via ``response_format``). Costs one model call per search.
- ``CrossEncoderReranker`` (``assist.embedders.cross_encoder``): a sentence-transformers
  CrossEncoder scores (query, passage) pairs. No reranker weights can be had offline
  here, so it is tested for plumbing only; production points ``retrieval.rerank_model``
  at a local model directory (e.g. a bge-reranker checkpoint).
- ``LLMQueryRewriter``: the chat model turns a multi-turn conversation into one
  standalone question ("it" -> the product) before the search.

Every stage fails open: a model error or an unusable answer keeps the fused order or
the conversation query, logged, never an error to the caller. Passages and turns are
data: instruction-like sentences are removed before they reach the model
(``assist.injection.sanitize``), and the texts are already masked by the pipeline.

Example:
    >>> reranker = make_reranker(settings.retrieval, llm=llm)   # doctest: +SKIP
    >>> retriever = Retriever(..., reranker=reranker)           # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from assist.config import RetrievalSettings
from assist.drafting import prompt_history
from assist.errors import ConfigError, LLMError
from assist.injection import sanitize
from assist.llm.base import ChatModel
from assist.prompts import PromptLibrary
from assist.retrieval import QueryRewriter, Reranker
from assist.text import detect_language
from assist.types import ChatMessage, GenSettings, RetrievedChunk, Turn

log = logging.getLogger(__name__)

_RANKING_SCHEMA = {
    "type": "object",
    "properties": {"ranking": {"type": "array", "items": {"type": "integer"}}},
    "required": ["ranking"],
    "additionalProperties": False,
}
_QUERY_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string"}},
    "required": ["query"],
    "additionalProperties": False,
}


def apply_ranking(chunks: Sequence[RetrievedChunk], ranking: Sequence[int]) -> list[RetrievedChunk]:
    """Reorder ``chunks`` by 1-based ``ranking``; numbers out of range or repeated are
    ignored, and chunks the ranking leaves out keep their order after the ranked ones.

    Example:
        >>> [c for c in apply_ranking(["a", "b", "c"], [3, 9, 3, 1])]  # doctest: +SKIP
        ['c', 'a', 'b']
    """
    seen: set[int] = set()
    order: list[int] = []
    for n in ranking:
        i = int(n) - 1
        if 0 <= i < len(chunks) and i not in seen:
            seen.add(i)
            order.append(i)
    order += [i for i in range(len(chunks)) if i not in seen]
    return [chunks[i] for i in order]


@dataclass
class LLMReranker:
    """The chat model ranks the first ``candidates`` results (listwise, structured output)."""

    llm: ChatModel
    prompts: PromptLibrary = field(default_factory=PromptLibrary)
    candidates: int = 10
    passage_chars: int = 400

    async def rerank(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]:
        head, tail = list(chunks[: self.candidates]), list(chunks[self.candidates :])
        if len(head) < 2:
            return head + tail
        lang = detect_language(query)
        passages = [
            {"n": i, "title": c.chunk.title, "text": (sanitize(c.chunk.text).text or "")[: self.passage_chars]}
            for i, c in enumerate(head, start=1)
        ]
        messages = [
            ChatMessage(role="system", content=self.prompts.render("rerank", lang)),
            ChatMessage(
                role="user",
                content=self.prompts.render(
                    "rerank_input", lang, query=sanitize(query).text or query, passages=passages
                ),
            ),
        ]
        try:
            out = await self.llm.complete(
                messages, settings=GenSettings(temperature=0.0, max_tokens=120, json_schema=_RANKING_SCHEMA)
            )
            ranking = json.loads(out.text).get("ranking")
            if not isinstance(ranking, list):
                raise ValueError("no ranking list")
            ranked = apply_ranking(head, [int(n) for n in ranking])
        except LLMError as e:
            log.warning("rerank: model unavailable, fused order kept: %s", e.message)
            return head + tail
        except (ValueError, TypeError, AttributeError) as e:
            log.warning("rerank: unusable model answer, fused order kept: %s", e)
            return head + tail
        return ranked + tail


@dataclass
class LLMQueryRewriter:
    """The chat model rewrites the conversation's last customer turn as one standalone
    search query. Single-turn conversations are returned as they are (no model call)."""

    llm: ChatModel
    prompts: PromptLibrary = field(default_factory=PromptLibrary)
    history_turns: int = 4
    max_chars: int = 300

    async def rewrite(self, turns: Sequence[Turn]) -> str | None:
        said = [t for t in turns if t.role != "system" and t.text.strip()]
        if len(said) < 2:
            return None
        lang = detect_language(said[-1].text)
        history = prompt_history(said[-self.history_turns - 1 :], lang)
        messages = [
            ChatMessage(role="system", content=self.prompts.render("query_rewrite", lang)),
            ChatMessage(role="user", content=self.prompts.render("conversation_input", lang, history=history)),
        ]
        try:
            out = await self.llm.complete(
                messages, settings=GenSettings(temperature=0.0, max_tokens=80, json_schema=_QUERY_SCHEMA)
            )
            query = json.loads(out.text).get("query")
        except LLMError as e:
            log.warning("query rewrite: model unavailable, conversation query kept: %s", e.message)
            return None
        except (ValueError, AttributeError) as e:
            log.warning("query rewrite: unusable model answer, conversation query kept: %s", e)
            return None
        if not isinstance(query, str) or not query.strip():
            return None
        return query.strip()[: self.max_chars]


def make_reranker(
    settings: RetrievalSettings, *, llm: ChatModel | None, prompts: PromptLibrary | None = None
) -> Reranker | None:
    """The reranker ``settings`` ask for, or None.

    ``reranker="cross-encoder"`` (or just ``rerank_model`` set) loads the CrossEncoder at
    ``rerank_model``; ``"llm"`` ranks with ``llm``.

    Raises:
        ConfigError: A cross-encoder without a model path, or an LLM reranker without a model.
    """
    kind = settings.reranker
    if kind == "none" and settings.rerank_model:
        kind = "cross-encoder"
    if kind == "none":
        return None
    if kind == "llm":
        if llm is None:
            raise ConfigError("retrieval.reranker=llm needs a chat model")
        return LLMReranker(llm, prompts or PromptLibrary(), candidates=settings.rerank_candidates)
    if not settings.rerank_model:
        raise ConfigError(
            "retrieval.reranker=cross-encoder needs ASSIST_RETRIEVAL__RERANK_MODEL: a local "
            "sentence-transformers CrossEncoder directory"
        )
    from assist.embedders.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(settings.rerank_model, candidates=settings.rerank_candidates)


def make_rewriter(
    settings: RetrievalSettings, *, llm: ChatModel | None, prompts: PromptLibrary | None = None
) -> QueryRewriter | None:
    """The query rewriter when ``settings.rewrite_query`` is on (and a model exists), else None."""
    if not settings.rewrite_query:
        return None
    if llm is None:
        raise ConfigError("retrieval.rewrite_query needs a chat model")
    return LLMQueryRewriter(llm, prompts or PromptLibrary(), history_turns=settings.history_turns)
