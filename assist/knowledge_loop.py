"""The knowledge loop: signals (gaps, rejected and edited drafts) become draft articles, and
accepted drafts and curated items grow each tenant's golden set (the publish gate's yardstick,
:mod:`assist.publish_gate`).

Example:
    >>> import_golden(db, Path("eval/golden"), tenant="nova")          # doctest: +SKIP
    ImportReport(added=56, skipped=24)
    >>> golden_from_feedback(db, "nova", feedback_id=12, actor="km-1")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from assist.db import ArticleRepository, Database, FeedbackRepository, SuggestionRepository
from assist.db.golden import GoldenRecord, GoldenRepository
from assist.errors import InputError, NotFoundError


@dataclass
class ImportReport:
    added: int = 0
    skipped: int = 0
    """Items that expect no answer from an article (escalations, chit-chat) or came in before."""


def _golden_file(path: Path) -> Path:
    f = path / "golden.jsonl" if path.is_dir() else path
    if not f.is_file():
        raise InputError(f"{path}: no golden set there (a golden.jsonl file, or a folder holding one)")
    return f


def import_golden(db: Database, path: Path, *, tenant: str, actor: str | None = None) -> ImportReport:
    """Load a golden file (``eval/golden/golden.jsonl`` lines: ``id``, ``language``, ``question``
    or ``turns``, ``reference``, ``article_ids``, ``expect``) into the tenant's golden set. Items that expect
    an answer from an article become ``manual`` items expecting its live revision; importing
    twice adds nothing."""
    f = _golden_file(path)
    repo = GoldenRepository(db)
    articles = ArticleRepository(db)
    report = ImportReport()
    for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise InputError(f"{f}:{n}: not a JSON line ({e})") from e
        ids = row.get("article_ids") or []
        if not row.get("question") and row.get("turns"):  # a conversation: its customer turns, as search sees them
            row["question"] = " ".join(t.get("text", "") for t in row["turns"] if t.get("role") == "customer").strip()
        if row.get("expect", "answer") != "answer" or not ids or not row.get("question"):
            report.skipped += 1
            continue
        art = articles.get_article(tenant, ids[0])
        before = repo.list(tenant, source="manual", article=ids[0]) if row.get("id") else []
        if any(b.external_id == str(row.get("id")) for b in before):
            report.skipped += 1
            continue
        repo.add(tenant, row["question"], expected_article=ids[0],
                 expected_revision=art.live_revision if art is not None else None,
                 language=row.get("language"), reference=row.get("reference"), source="manual",
                 external_id=str(row["id"]) if row.get("id") else None, created_by=actor)
        report.added += 1
    return report


def golden_from_feedback(db: Database, tenant: str, feedback_id: int, *, actor: str | None = None) -> GoldenRecord:
    """The golden item of an accepted (or edited) draft: the customer's last question, the
    article the draft cited first (at the cited revision) and the reply that was sent."""
    from assist.db.feedback import FeedbackRecord
    from assist.db.models import Feedback

    with db.session(readonly=True) as s:
        row = s.get(Feedback, feedback_id)
        fb = FeedbackRecord.model_validate(row, from_attributes=True) if row is not None and row.tenant == tenant else None
    if fb is None:
        raise NotFoundError(f"no feedback {feedback_id} in this tenant")
    if fb.outcome == "rejected":
        raise InputError(f"feedback {feedback_id} rejected the draft: only accepted or edited drafts "
                         "make golden items")
    sug = SuggestionRepository(db).get(tenant, fb.suggestion_id) if fb.suggestion_id else None
    if sug is None or sug.kind != "draft":
        raise InputError(f"feedback {feedback_id} is not about a draft reply")
    turns = (sug.request or {}).get("turns") or []
    question = next((t.get("text") for t in reversed(turns) if t.get("role") == "customer"), None)
    if not question:
        raise InputError(f"the draft of feedback {feedback_id} has no customer question")
    resp = sug.response or {}
    cited = resp.get("citations") or resp.get("sources") or []
    if not cited:
        raise InputError(f"the draft of feedback {feedback_id} cites no article: nothing to expect")
    first = cited[0]
    return GoldenRepository(db).add(
        tenant, question, expected_article=first.get("article_id"), expected_revision=first.get("revision"),
        language=resp.get("language"), reference=fb.final_text or resp.get("text"), source="accepted_draft",
        external_id=f"feedback:{feedback_id}", created_by=actor)


# ---------------------------------------------------------------- signals -> draft articles
SUGGESTED_TAG = "suggested"
"""Tag of the draft articles the loop proposes (``/km`` lists them as suggested articles)."""

_WORDING = {
    "zh": {"todo": "> 待知识管理员补充：本文由知识闭环根据未覆盖的客户问题自动生成，请核实并补全答案后再提交审核。",
           "questions": "客户的问法", "answer": "答案（草稿）",
           "answer_todo": "（待补充：请根据下方依据写出完整、准确的答案。）",
           "evidence": "依据", "related": "相关文章（未能完全回答）", "replies": "坐席实际发送的回复",
           "none": "（暂无依据：请联系业务部门确认。）"},
    "en": {"todo": "> To be completed by a knowledge manager: drafted by the knowledge loop from questions the "
                   "knowledge base did not cover. Check and complete the answer before submitting it for review.",
           "questions": "How customers ask", "answer": "Answer (draft)",
           "answer_todo": "(To be completed: write the full, correct answer from the evidence below.)",
           "evidence": "Evidence", "related": "Related articles (did not fully answer)",
           "replies": "Replies agents actually sent", "none": "(No evidence yet: check with the business owner.)"},
}


@dataclass
class Signal:
    question: str
    language: str
    kind: str
    """``gap`` (not covered), ``rejected`` or ``edited`` (a draft agents rejected or rewrote)."""
    reply: str | None = None
    """The reply the agent sent instead (edited drafts)."""


@dataclass
class SuggestedDraft:
    article_id: str
    title: str
    language: str
    questions: list[str]
    signals: int
    evidence: list[str]
    revision: int | None = None
    created: bool = True


@dataclass
class SuggestReport:
    tenant: str
    signals: int = 0
    clusters: int = 0
    covered: int = 0
    """Clusters whose central question the knowledge base already answers (skipped)."""
    existing: int = 0
    """Clusters with a suggested draft already (updated only when new questions came in)."""
    drafts: list[SuggestedDraft] = field(default_factory=list)


def collect_signals(db: Database, tenant: str, *, limit: int = 2000, edit_ratio: float = 0.6) -> list[Signal]:
    """Not-covered questions (the gap log), and the questions of drafts agents rejected or
    heavily edited (similarity of sent and suggested text below ``edit_ratio``)."""
    import difflib

    from assist.db import GapRepository
    from assist.text import detect_language

    out = [Signal(g.question, g.language or detect_language(g.question), "gap")
           for g in GapRepository(db).list(tenant, limit=limit)]
    sugs = SuggestionRepository(db)
    for fb in FeedbackRepository(db).list(tenant, limit=limit):
        if fb.outcome == "accepted" or not fb.suggestion_id:
            continue
        sug = sugs.get(tenant, fb.suggestion_id)
        if sug is None or sug.kind != "draft":
            continue
        turns = (sug.request or {}).get("turns") or []
        q = next((t.get("text") for t in reversed(turns) if t.get("role") == "customer"), None)
        if not q:
            continue
        original = str((sug.response or {}).get("text", ""))
        if fb.outcome == "edited":
            ratio = difflib.SequenceMatcher(None, original, fb.final_text or "").ratio()
            if ratio >= edit_ratio:
                continue
        lang = (sug.response or {}).get("language") or detect_language(q)
        out.append(Signal(q, lang, fb.outcome, fb.final_text if fb.outcome == "edited" else None))
    return out


def cluster(vectors: list[list[float]], *, distance: float) -> list[int]:
    """Agglomerative clustering (average linkage, cosine distance below ``distance``)."""
    if len(vectors) == 1:
        return [0]
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=distance)
    return [int(x) for x in model.fit_predict(np.asarray(vectors, dtype=np.float32))]


async def suggest_articles(indexer: Any, tenant: str, *, to_article: Callable[[Any, str], Any],
                           distance: float = 0.14, min_size: int = 2,
                           actor: str = "knowledge-loop") -> SuggestReport:
    """Cluster the tenant's signals per language and propose one draft article per cluster
    the knowledge base does not cover yet (``indexer``: a ``kb_ingest.indexing.Indexer``; the
    drafts are ingested unpublished, so they enter the workflow as draft revisions).
    ``to_article(meta, markdown)`` parses a draft's Markdown body into a ``ParsedArticle``.

    ``distance``: the cosine distance under which questions join a cluster (e5 embeds related
    questions close together: its cosines rarely fall below 0.7). ``min_size``: questions
    a cluster needs (one question alone is noise).
    """
    import hashlib

    import numpy as np

    from assist.db.feedback import normalize_question
    from assist.types import ArticleMeta, ArticleStatus, ArticleType, SearchFilter

    db: Database = indexer.db
    report = SuggestReport(tenant=tenant)
    signals = collect_signals(db, tenant)
    report.signals = len(signals)
    if not signals:
        return report
    vectors = await indexer.embedder.embed_queries([s.question for s in signals])
    articles = ArticleRepository(db)
    r = indexer.settings.retrieval
    todo: list[Any] = []
    for lang in sorted({s.language for s in signals}):
        idx = [i for i, s in enumerate(signals) if s.language == lang]
        labels = cluster([vectors[i] for i in idx], distance=distance)
        groups: dict[int, list[int]] = {}
        for i, lab in zip(idx, labels, strict=True):
            groups.setdefault(lab, []).append(i)
        for members in groups.values():
            if len(members) < min_size:
                continue
            report.clusters += 1
            m = np.asarray([vectors[i] for i in members], dtype=np.float32)
            mean = m.mean(axis=0)
            centre = members[int(np.argmax(m @ mean))]
            question = signals[centre].question
            hits = await indexer.store.search(dense=vectors[centre], sparse=indexer.sparse.encode_query(question),
                                              filters=SearchFilter(tenant=tenant, languages=[lang]), top_k=3,
                                              candidates=r.candidates, fusion=r.fusion)
            hits = [h for h in hits if SUGGESTED_TAG not in (h.chunk.tags or [])]
            best = max((h.dense_score or 0.0 for h in hits), default=0.0)
            if best >= r.min_dense_score:
                report.covered += 1
                continue
            questions = list(dict.fromkeys(signals[i].question for i in members))
            key = hashlib.sha1(" ".join(sorted(normalize_question(q) for q in questions[:3])).encode()).hexdigest()
            article_id = f"suggested-{lang}-{key[:10]}"
            w = _WORDING.get(lang, _WORDING["en"])
            evidence = [f"{h.chunk.title} ({h.chunk.article_id}): {h.chunk.text[:160]}" for h in hits]
            replies = list(dict.fromkeys(s.reply for i in members if (s := signals[i]).reply))
            body = _draft_body(w, questions, evidence, replies)
            meta = ArticleMeta(id=article_id, tenant=tenant, type=ArticleType.FAQ, title=question[:200],
                               language=cast(Any, lang), tags=[SUGGESTED_TAG], owner=actor, status=ArticleStatus.DRAFT,
                               source_file="knowledge-loop")
            draft = SuggestedDraft(article_id, meta.title, lang, questions, len(members), evidence)
            if articles.get_article(tenant, article_id) is not None:
                report.existing += 1
                draft.created = False
            report.drafts.append(draft)
            todo.append(to_article(meta, body))
    if todo:
        await indexer.ingest_articles(todo, tenant=tenant, publish=False, actor=actor)
        for d in report.drafts:
            a = articles.get_article(tenant, d.article_id)
            d.revision = a.latest_revision if a else None
    return report


def draft_questions(blocks: Any) -> list[str]:
    """The customer questions listed in a suggested draft (its "How customers ask" section)."""
    heads = {w["questions"] for w in _WORDING.values()}
    return [line[2:].strip() for b in blocks if b.heading_path and b.heading_path[-1] in heads
            for line in b.text.splitlines() if line.startswith("- ")]


def _draft_body(w: dict[str, str], questions: list[str], evidence: list[str], replies: list[str]) -> str:
    lines = [w["todo"], "", f"## {w['questions']}", ""]
    lines += [f"- {q}" for q in questions]
    lines += ["", f"## {w['answer']}", "", w["answer_todo"], "", f"## {w['evidence']}", ""]
    if replies:
        lines += [f"### {w['replies']}", ""] + [f"- {r}" for r in replies] + [""]
    if evidence:
        lines += [f"### {w['related']}", ""] + [f"- {e}" for e in evidence]
    if not replies and not evidence:
        lines.append(w["none"])
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- simulated customers
@dataclass
class SimulateReport:
    tenant: str
    items: int = 0
    """Golden items paraphrased."""
    added: int = 0
    skipped: int = 0
    """Paraphrases that came back empty, equal to the question, or already there."""


async def simulate_customers(db: Database, llm: Any, tenant: str, *, article_id: str | None = None,
                             per_item: int = 3, limit: int = 200, actor: str | None = None) -> SimulateReport:
    """Paraphrase the tenant's manual and accepted-draft golden items (of ``article_id`` only,
    when given) with the chat model into ``per_item`` customer phrasings each; each becomes a
    ``simulated`` golden item with the same expected article, revision and reference, so the
    publish gate runs it too. Running again adds only phrasings not seen before."""
    from assist.prompts import PromptLibrary
    from assist.types import ChatMessage, GenSettings

    repo = GoldenRepository(db)
    parents = [i for i in repo.list(tenant, article=article_id) if i.source != "simulated"][:limit]
    have = {(i.expected_article, i.question) for i in repo.list(tenant, source="simulated", article=article_id)}
    prompts = PromptLibrary()
    schema = {"type": "object", "properties": {"paraphrases": {"type": "array", "items": {"type": "string"},
                                                               "maxItems": per_item}},
              "required": ["paraphrases"]}
    report = SimulateReport(tenant=tenant, items=len(parents))
    for item in parents:
        lang = item.language if item.language in ("zh", "en") else "zh"
        text = prompts.render("paraphrase", lang, question=item.question, n=per_item)
        out = await llm.complete([ChatMessage(role="user", content=text)],
                                 settings=GenSettings(temperature=0.7, max_tokens=400, json_schema=schema))
        try:
            phrasings = json.loads(out.text).get("paraphrases") or []
        except (ValueError, AttributeError):
            phrasings = []
        for k, p in enumerate(phrasings[:per_item]):
            p = str(p).strip()
            if not p or p == item.question or (item.expected_article, p) in have:
                report.skipped += 1
                continue
            have.add((item.expected_article, p))
            repo.add(tenant, p, expected_article=item.expected_article, expected_revision=item.expected_revision,
                     language=item.language, reference=item.reference, source="simulated",
                     external_id=f"sim:{item.id}:{len(have)}:{k}", created_by=actor)
            report.added += 1
    return report


# ---------------------------------------------------------------- corrections -> FAQ revisions
@dataclass
class SuggestedRevision:
    article_id: str
    corrections: int
    """Edited drafts of this curated answer."""
    answer: str
    """The answer agents sent most recently, proposed as the new one."""
    diff: str
    revision: int | None = None


async def suggest_faq_revisions(indexer: Any, tenant: str, *, content_hash: Callable[[Any, Any], str],
                                min_corrections: int = 2, actor: str = "knowledge-loop",
                                limit: int = 2000) -> list[SuggestedRevision]:
    """Curated FAQ answers that agents corrected at least ``min_corrections`` times become a
    draft revision of that FAQ entry, its answer replaced by the most recent corrected reply
    (with the diff). The revision is staged, not published: a knowledge manager reviews it,
    and publishing it goes through the gate. ``content_hash(meta, blocks)``: the parsers' hash
    (``kb_ingest.parsers.content_hash``)."""
    import difflib

    from assist.types import ArticleStatus, ParsedArticle

    db: Database = indexer.db
    sugs = SuggestionRepository(db)
    by_article: dict[str, list[str]] = {}
    for fb in reversed(FeedbackRepository(db).list(tenant, outcome="edited", limit=limit)):  # oldest first
        sug = sugs.get(tenant, fb.suggestion_id) if fb.suggestion_id else None
        resp = (sug.response or {}) if sug is not None else {}
        if sug is None or sug.kind != "draft" or resp.get("status") != "curated" or not fb.final_text:
            continue
        cited = resp.get("citations") or resp.get("sources") or []
        if cited and cited[0].get("article_id"):
            by_article.setdefault(cited[0]["article_id"], []).append(fb.final_text.strip())
    articles = ArticleRepository(db)
    out: list[SuggestedRevision] = []
    todo: list[Any] = []
    for aid, finals in by_article.items():
        if len(finals) < min_corrections:
            continue
        art = articles.get_article(tenant, aid)
        if art is None or art.live_revision is None:
            continue
        live = articles.get_revision(tenant, aid, art.live_revision)
        faq = [b for b in (live.blocks if live else []) if b.answer]
        if live is None or len(faq) != 1 or faq[0].answer == finals[-1]:
            continue
        old, new = faq[0].answer or "", finals[-1]
        blocks = [b.model_copy(update={"answer": new, "text": b.text.replace(old, new)}) if b is faq[0] else b
                  for b in live.blocks]
        meta = live.meta.model_copy(update={"status": ArticleStatus.DRAFT})
        todo.append(ParsedArticle(meta=meta, blocks=blocks, content_hash=content_hash(meta, blocks)))
        diff = "".join(difflib.unified_diff([old + "\n"], [new + "\n"], f"{aid}@{live.revision}", "agents"))
        out.append(SuggestedRevision(aid, len(finals), new, diff))
    if todo:
        await indexer.ingest_articles(todo, tenant=tenant, publish=False, actor=actor)
        for r in out:
            a = articles.get_article(tenant, r.article_id)
            r.revision = a.latest_revision if a else None
    return out

