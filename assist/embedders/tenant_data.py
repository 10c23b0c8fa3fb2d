"""What a tenant's adaptation trains on, and the golden-set check before a switch.

Training rows (:func:`tenant_training_pairs`):

* the phrasings of each live FAQ entry (its question and alternative questions) are
  paraphrases of each other: pairs within an entry; the closest phrasing of *another*
  entry is the hard negative (:func:`assist.embedders.adapt.pairs_from_groups`);
* accepted paraphrases: golden items that came from accepted drafts or simulated
  customers, paired with the question (or title) of the article they expect. Items a
  knowledge manager wrote (``manual``) are never trained on, so the golden check keeps
  an untouched part;
* optional labelled pairs from a file (``--pairs``).

The check (:func:`golden_scores`, :func:`compare`): every golden item that expects an
article is searched through a pipeline's retriever (the tenant's serving path, hybrid);
hit@k and reciprocal rank of the expected article are compared between the current and
the new model. The new model is "not worse" when it hits at least as many items overall
and on the ``manual`` items alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from assist.db import ArticleRepository, Database
from assist.db.golden import GoldenRecord, GoldenRepository
from assist.embedders.adapt import TrainingPair, pairs_from_groups
from assist.types import BlockKind, SearchFilter

__all__ = ["GateDecision", "GoldenScore", "compare", "golden_scores", "tenant_training_pairs"]

TRAINED_GOLDEN_SOURCES = ("accepted_draft", "simulated")


def _live_faq_groups(db: Database, tenant: str) -> tuple[list[list[str]], dict[str, str]]:
    """Phrasing groups of the tenant's live FAQ entries, and each article's anchor text
    (its first FAQ question, else its title)."""
    repo = ArticleRepository(db)
    groups: list[list[str]] = []
    anchor: dict[str, str] = {}
    for art in repo.list_articles(tenant):
        if art.live_revision is None:
            continue
        rev = repo.get_revision(tenant, art.id, art.live_revision)
        if rev is None:
            continue
        for block in rev.blocks:
            if block.kind == BlockKind.FAQ and block.question:
                groups.append([block.question, *block.alt_questions])
                anchor.setdefault(art.id, block.question)
        if art.id not in anchor and art.title:
            anchor[art.id] = art.title
    return groups, anchor


def tenant_training_pairs(
    db: Database, tenant: str, *, extra: Sequence[TrainingPair] = (), hard_negatives: bool = True
) -> tuple[list[TrainingPair], dict[str, int]]:
    """The tenant's training rows and how many came from each source."""
    from assist.publish_gate import simulation_turns  # the knowledge loop sits above the embedders

    groups, anchor = _live_faq_groups(db, tenant)
    faq = pairs_from_groups(groups, hard_negatives=hard_negatives)
    accepted: list[TrainingPair] = []
    for item in GoldenRepository(db).list(tenant):
        if item.source not in TRAINED_GOLDEN_SOURCES or not item.expected_article:
            continue
        if len(simulation_turns(item)) > 1:
            # A simulated conversation: its messages lean on each other ("它能退吗？"), none of
            # them alone is a paraphrase of the article's question.
            continue
        target = anchor.get(item.expected_article)
        if target and target.strip() != item.question.strip():
            accepted.append(TrainingPair(item.question, target))
    pairs = [*faq, *accepted, *extra]
    return pairs, {"faq_phrasings": len(faq), "accepted_paraphrases": len(accepted), "pairs_file": len(extra)}


class GoldenScore(BaseModel):
    """How one model's index answers the tenant's golden items."""

    model_id: str
    items: int = 0
    hits: int = 0
    mrr: float = 0.0
    manual_items: int = 0
    manual_hits: int = 0
    per_item: dict[int, int | None] = Field(default_factory=dict)
    """Golden item id -> rank (1-based) of the expected article among the first k, or None."""


class GateDecision(BaseModel):
    switch: bool
    reason: str
    current: GoldenScore
    candidate: GoldenScore
    worse: list[int] = Field(default_factory=list)
    """Items the current model hits and the candidate misses."""
    better: list[int] = Field(default_factory=list)


def _article_ranking(chunks: Sequence[Any]) -> list[str]:
    seen: list[str] = []
    for c in chunks:
        aid = c.chunk.article_id
        if aid not in seen:
            seen.append(aid)
    return seen


async def golden_scores(
    retriever: Any, model_id: str, tenant: str, items: Sequence[GoldenRecord], *, k: int = 5
) -> GoldenScore:
    """Search every item that expects an article; rank of that article among the first ``k``."""
    score = GoldenScore(model_id=model_id)
    rr = 0.0
    for item in items:
        if not item.expected_article:
            continue
        res = await retriever.retrieve(item.question, SearchFilter(tenant=tenant), top_k=max(k, 10))
        ranking = _article_ranking(res.chunks)[:k]
        rank = ranking.index(item.expected_article) + 1 if item.expected_article in ranking else None
        score.per_item[item.id] = rank
        score.items += 1
        if rank is not None:
            score.hits += 1
            rr += 1.0 / rank
        if item.source == "manual":
            score.manual_items += 1
            score.manual_hits += rank is not None
    score.mrr = round(rr / score.items, 4) if score.items else 0.0
    return score


def compare(current: GoldenScore, candidate: GoldenScore) -> GateDecision:
    """Switch when the candidate hits at least as many golden items as the current model,
    overall and on the manual items (never trained on)."""
    worse = [i for i, r in current.per_item.items() if r is not None and candidate.per_item.get(i) is None]
    better = [i for i, r in candidate.per_item.items() if r is not None and current.per_item.get(i) is None]
    if current.items == 0:
        return GateDecision(
            switch=False,
            reason="the tenant has no golden items that expect an article: "
            "nothing shows the new model is not worse (add golden items, or --force)",
            current=current,
            candidate=candidate,
        )
    if candidate.hits < current.hits:
        reason = (
            f"worse: {candidate.hits}/{candidate.items} golden items hit vs {current.hits}/{current.items}"
        )
        return GateDecision(
            switch=False, reason=reason, current=current, candidate=candidate, worse=worse, better=better
        )
    if candidate.manual_hits < current.manual_hits:
        reason = (
            f"worse on the manual items (never trained on): {candidate.manual_hits}/{candidate.manual_items} "
            f"vs {current.manual_hits}/{current.manual_items}"
        )
        return GateDecision(
            switch=False, reason=reason, current=current, candidate=candidate, worse=worse, better=better
        )
    reason = (
        f"not worse: {candidate.hits}/{candidate.items} golden items hit vs {current.hits}/{current.items} "
        f"(MRR {candidate.mrr} vs {current.mrr})"
    )
    return GateDecision(
        switch=True, reason=reason, current=current, candidate=candidate, worse=worse, better=better
    )
