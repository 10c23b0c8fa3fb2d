"""The only module that imports ragas (and its LangChain helpers).

Scores answer samples with ragas' faithfulness, response relevancy, context precision
(with reference) and context recall, using an OpenAI-compatible chat model as judge and
our own embedder (wrapped as ragas embeddings) for response relevancy. Vendor types stay
in here: callers pass :class:`AnswerSample` and get plain ``dict[str, float]`` back.

A 0.5B judge (the embedded default) only proves the pipeline runs; trust the numbers
only with a strong judge (``ASSIST_LLM__JUDGE_MODEL`` on an OpenAI-compatible server).

Example:
    >>> scores = await ragas_scores([AnswerSample("q", "a", ["ctx"], "ref")],
    ...                             judge=JudgeConfig("http://127.0.0.1:8011/v1", "qwen"),
    ...                             embedder=embedder)                         # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assist.embedders.base import Embedder

METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")


@dataclass(frozen=True)
class AnswerSample:
    user_input: str
    response: str
    retrieved_contexts: list[str]
    reference: str


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 120.0


def _embeddings(embedder: Embedder) -> Any:
    from ragas.embeddings import BaseRagasEmbeddings

    class _OurEmbeddings(BaseRagasEmbeddings):
        """Our embedder behind ragas' legacy embeddings interface."""

        def __init__(self) -> None:
            super().__init__()

        async def aembed_query(self, text: str) -> list[float]:
            return await embedder.embed_query(text)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return await embedder.embed_documents(texts)

        # ragas calls the sync methods from inside its own running event loop, where
        # asyncio.run() is refused: run our coroutine on a loop of its own in a worker thread.
        def embed_query(self, text: str) -> list[float]:
            return _blocking(lambda: embedder.embed_query(text))

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return _blocking(lambda: embedder.embed_documents(texts))

    return _OurEmbeddings()


def _blocking(make: Any) -> Any:
    """Run the coroutine ``make()`` to completion on a fresh event loop in a worker thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _judge(cfg: JudgeConfig) -> Any:
    from langchain_openai import ChatOpenAI
    from ragas.llms import LangchainLLMWrapper

    chat = ChatOpenAI(base_url=cfg.base_url, model=cfg.model, api_key=cfg.api_key or "not-needed",
                      temperature=0.0, timeout=cfg.timeout_s, max_retries=1)
    return LangchainLLMWrapper(chat)


def _evaluate(samples: Sequence[AnswerSample], judge: JudgeConfig, embedder: Embedder) -> list[dict[str, float]]:
    from ragas import EvaluationDataset, evaluate
    from ragas.metrics import (
        Faithfulness,
        LLMContextPrecisionWithReference,
        LLMContextRecall,
        ResponseRelevancy,
    )
    from ragas.run_config import RunConfig

    data = EvaluationDataset.from_list([s.__dict__ for s in samples])
    result = evaluate(
        data,
        metrics=[Faithfulness(), ResponseRelevancy(strictness=1), LLMContextPrecisionWithReference(),
                 LLMContextRecall()],
        llm=_judge(judge),
        embeddings=_embeddings(embedder),
        run_config=RunConfig(timeout=int(judge.timeout_s) * 3, max_workers=1, max_retries=1),
        show_progress=True,
        raise_exceptions=False,
    )
    df = result.to_pandas()
    names = {"faithfulness": "faithfulness", "answer_relevancy": "answer_relevancy",
             "llm_context_precision_with_reference": "context_precision", "context_recall": "context_recall"}
    rows: list[dict[str, float]] = []
    for _, r in df.iterrows():
        row: dict[str, float] = {}
        for col, name in names.items():
            v = r.get(col)
            if isinstance(v, (int, float)) and not math.isnan(float(v)):
                row[name] = float(v)
        rows.append(row)
    return rows


async def ragas_scores(samples: Sequence[AnswerSample], *, judge: JudgeConfig,
                       embedder: Embedder) -> list[dict[str, float]]:
    """Per-sample ragas scores (a metric is missing where the judge failed to answer).

    ragas runs its own event loop; it gets a worker thread so ours is not disturbed.
    """
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    if not samples:
        return []
    return await asyncio.to_thread(_evaluate, list(samples), judge, embedder)
