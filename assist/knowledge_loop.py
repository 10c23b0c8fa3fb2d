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
import re
from collections.abc import Callable, Sequence
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
        if not row.get("question") and row.get(
            "turns"
        ):  # a conversation: its customer turns, as search sees them
            row["question"] = " ".join(
                t.get("text", "") for t in row["turns"] if t.get("role") == "customer"
            ).strip()
        if row.get("expect", "answer") != "answer" or not ids or not row.get("question"):
            report.skipped += 1
            continue
        art = articles.get_article(tenant, ids[0])
        before = repo.list(tenant, source="manual", article=ids[0]) if row.get("id") else []
        if any(b.external_id == str(row.get("id")) for b in before):
            report.skipped += 1
            continue
        repo.add(
            tenant,
            row["question"],
            expected_article=ids[0],
            expected_revision=art.live_revision if art is not None else None,
            language=row.get("language"),
            reference=row.get("reference"),
            source="manual",
            external_id=str(row["id"]) if row.get("id") else None,
            created_by=actor,
        )
        report.added += 1
    return report


def golden_from_feedback(
    db: Database, tenant: str, feedback_id: int, *, actor: str | None = None
) -> GoldenRecord:
    """The golden item of an accepted (or edited) draft: the customer's last question, the
    article the draft cited first (at the cited revision) and the reply that was sent."""
    from assist.db.feedback import FeedbackRecord
    from assist.db.models import Feedback

    with db.session(readonly=True) as s:
        row = s.get(Feedback, feedback_id)
        fb = (
            FeedbackRecord.model_validate(row, from_attributes=True)
            if row is not None and row.tenant == tenant
            else None
        )
    if fb is None:
        raise NotFoundError(f"no feedback {feedback_id} in this tenant")
    if fb.outcome == "rejected":
        raise InputError(
            f"feedback {feedback_id} rejected the draft: only accepted or edited drafts make golden items"
        )
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
        tenant,
        question,
        expected_article=first.get("article_id"),
        expected_revision=first.get("revision"),
        language=resp.get("language"),
        reference=fb.final_text or resp.get("text"),
        source="accepted_draft",
        external_id=f"feedback:{feedback_id}",
        created_by=actor,
    )


# ---------------------------------------------------------------- signals -> draft articles
SUGGESTED_TAG = "suggested"
"""Tag of the draft articles the loop proposes (``/km`` lists them as suggested articles)."""

_WORDING = {
    "zh": {
        "todo": "> 待知识管理员补充：本文由知识闭环根据未覆盖的客户问题自动生成，请核实并补全答案后再提交审核。",
        "questions": "客户的问法",
        "answer": "答案（草稿）",
        "answer_todo": "（待补充：请根据下方依据写出完整、准确的答案。）",
        "evidence": "依据",
        "related": "相关文章（未能完全回答）",
        "replies": "坐席实际发送的回复",
        "none": "（暂无依据：请联系业务部门确认。）",
    },
    "en": {
        "todo": "> To be completed by a knowledge manager: drafted by the knowledge loop from questions the "
        "knowledge base did not cover. Check and complete the answer before submitting it for review.",
        "questions": "How customers ask",
        "answer": "Answer (draft)",
        "answer_todo": "(To be completed: write the full, correct answer from the evidence below.)",
        "evidence": "Evidence",
        "related": "Related articles (did not fully answer)",
        "replies": "Replies agents actually sent",
        "none": "(No evidence yet: check with the business owner.)",
    },
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
    thresholds: dict[str, float] = field(default_factory=dict)
    """The cosine distance threshold used per language."""
    drafts: list[SuggestedDraft] = field(default_factory=list)


def collect_signals(db: Database, tenant: str, *, limit: int = 2000, edit_ratio: float = 0.6) -> list[Signal]:
    """Not-covered questions (the gap log), and the questions of drafts agents rejected or
    heavily edited (similarity of sent and suggested text below ``edit_ratio``)."""
    import difflib

    from assist.db import GapRepository
    from assist.text import detect_language

    out = [
        Signal(g.question, g.language or detect_language(g.question), "gap")
        for g in GapRepository(db).list(tenant, limit=limit)
    ]
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

    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    )
    return [int(x) for x in model.fit_predict(np.asarray(vectors, dtype=np.float32))]


DEFAULT_DISTANCE = 0.14
"""The fixed cosine distance used when a tenant has too little knowledge in a language to
measure its own scale (e5-small: related questions within ~0.09, unrelated Chinese ones from
~0.14; docs/knowledge-loop.md)."""
RELATIVE_DISTANCE = 0.7
"""Questions join a cluster below this fraction of the tenant's unrelated-question distance."""
MIN_BACKGROUND = 20
"""Knowledge-base questions a language needs before the threshold is measured from them."""


def background_questions(db: Database, tenant: str, language: str, *, cap: int = 300) -> list[str]:
    """The question-like texts of the tenant's live knowledge in ``language``: article titles,
    FAQ questions and their alternative phrasings (suggested drafts excluded), at most
    ``cap`` of them, spread evenly over the list."""
    repo = ArticleRepository(db)
    out: dict[str, None] = {}
    for a in repo.list_articles(tenant):
        if a.live_revision is None or SUGGESTED_TAG in (a.tags or []):
            continue
        rev = repo.get_revision(tenant, a.id, a.live_revision)
        if rev is None or rev.meta.language != language:
            continue
        for t in [
            rev.meta.title,
            *(q for b in rev.blocks for q in ([b.question] if b.question else []) + list(b.alt_questions)),
        ]:
            if t and t.strip():
                out.setdefault(t.strip(), None)
    texts = list(out)
    if len(texts) <= cap:
        return texts
    step = len(texts) / cap
    return [texts[int(i * step)] for i in range(cap)]


def relative_threshold(vectors: Any, background: Any, *, relative: float = RELATIVE_DISTANCE) -> float:
    """``relative`` times the median cosine distance between the questions (``vectors``) and
    the tenant's own knowledge-base questions (``background``): the distance at which
    questions count as one topic, measured on the tenant's data instead of fixed.

    Embedders are anisotropic (e5 puts all Chinese questions within a cosine distance of
    ~0.16 of each other, English ones within ~0.21), so a fixed threshold that separates
    topics in one language and one embedder merges or splits them in another. Almost every
    pair of a question and a knowledge-base question is unrelated, so their median distance
    is what "unrelated" means for this embedder, language and tenant; related questions sit
    well below it (e5-small on the sample tenant: topics within 0.55-0.58 of it, the closest
    distinct topics from 0.82-0.90 of it, in Chinese and English)."""
    import numpy as np

    x = np.asarray(vectors, dtype=np.float64)
    b = np.asarray(background, dtype=np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    return float(relative * np.median(1.0 - x @ b.T))


async def suggest_articles(
    indexer: Any,
    tenant: str,
    *,
    to_article: Callable[[Any, str], Any],
    distance: float | None = None,
    relative: float = RELATIVE_DISTANCE,
    min_size: int = 2,
    actor: str = "knowledge-loop",
) -> SuggestReport:
    """Cluster the tenant's signals per language and propose one draft article per cluster
    the knowledge base does not cover yet (``indexer``: a ``kb_ingest.indexing.Indexer``; the
    drafts are ingested unpublished, so they enter the workflow as draft revisions).
    ``to_article(meta, markdown)`` parses a draft's Markdown body into a ``ParsedArticle``.

    The clusters' cosine distance threshold is measured per tenant and language
    (:func:`relative_threshold`: ``relative`` times the median distance of the questions to
    the tenant's knowledge-base questions, which need :data:`MIN_BACKGROUND` texts, else
    :data:`DEFAULT_DISTANCE`); ``distance`` fixes it instead. ``min_size``: questions a
    cluster needs (one question alone is noise). ``report.thresholds``: what was used.
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
        threshold = distance
        if threshold is None:
            bg = background_questions(db, tenant, lang)
            threshold = DEFAULT_DISTANCE
            if len(bg) >= MIN_BACKGROUND:
                threshold = relative_threshold(
                    [vectors[i] for i in idx], await indexer.embedder.embed_queries(bg), relative=relative
                )
        report.thresholds[lang] = round(threshold, 4)
        labels = cluster([vectors[i] for i in idx], distance=threshold)
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
            hits = await indexer.store.search(
                dense=vectors[centre],
                sparse=indexer.sparse.encode_query(question),
                filters=SearchFilter(tenant=tenant, languages=[lang]),
                top_k=3,
                candidates=r.candidates,
                fusion=r.fusion,
            )
            hits = [h for h in hits if SUGGESTED_TAG not in (h.chunk.tags or [])]
            best = max((h.dense_score or 0.0 for h in hits), default=0.0)
            if best >= r.min_dense_score:
                report.covered += 1
                continue
            questions = list(dict.fromkeys(signals[i].question for i in members))
            key = hashlib.sha1(
                " ".join(sorted(normalize_question(q) for q in questions[:3])).encode()
            ).hexdigest()
            article_id = f"suggested-{lang}-{key[:10]}"
            w = _WORDING.get(lang, _WORDING["en"])
            evidence = [f"{h.chunk.title} ({h.chunk.article_id}): {h.chunk.text[:160]}" for h in hits]
            replies = list(dict.fromkeys(s.reply for i in members if (s := signals[i]).reply))
            body = _draft_body(w, questions, evidence, replies)
            meta = ArticleMeta(
                id=article_id,
                tenant=tenant,
                type=ArticleType.FAQ,
                title=question[:200],
                language=cast(Any, lang),
                tags=[SUGGESTED_TAG],
                owner=actor,
                status=ArticleStatus.DRAFT,
                source_file="knowledge-loop",
            )
            draft = SuggestedDraft(article_id, meta.title, lang, questions, len(members), evidence)
            report.drafts.append(draft)
            old = articles.get_article(tenant, article_id)
            if old is not None:
                report.existing += 1
                draft.created = False
                rev = articles.get_revision(tenant, article_id, old.latest_revision)
                if rev is not None and set(questions) <= set(draft_questions(rev.blocks)):
                    continue  # no new questions: the draft (and what a knowledge manager wrote in it) stays
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
    return [
        line[2:].strip()
        for b in blocks
        if b.heading_path and b.heading_path[-1] in heads
        for line in b.text.splitlines()
        if line.startswith("- ")
    ]


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
MAX_TURN_CHARS = 300
"""A simulated customer message longer than this is not a chat message (rejected)."""

_ROLE_PREFIX = re.compile(
    r"^\s*(?:customer|agent|user|assistant|bot|client|客户|客服|顾客|用户|坐席|机器人)\s*[:：]", re.IGNORECASE
)
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


@dataclass
class SimulationRun:
    """What the real pipeline answered to one simulated conversation."""

    item_id: int
    parent_id: int | None
    expected: str | None
    """``article@revision`` the conversation should be answered from."""
    turns: list[str]
    status: str
    """The draft's status (``drafted``, ``curated``, ``not_covered``, ``no_draft``), or ``error``."""
    rank: int | None = None
    """Rank of the expected article among the draft's sources (distinct articles), None: absent."""
    cited: bool = False
    """Whether the draft cites the expected article."""
    detail: str | None = None


@dataclass
class SimulateReport:
    tenant: str
    turns: int = 1
    """Customer messages per simulation (1: paraphrases of the question)."""
    items: int = 0
    """Golden items simulated."""
    added: int = 0
    skipped: int = 0
    """Generations already there (or equal to the question)."""
    rejected: dict[str, int] = field(default_factory=dict)
    """Generations refused by :func:`check_simulation`, per reason."""
    runs: list[SimulationRun] = field(default_factory=list)
    """The new simulations run through the pipeline (when it was given)."""

    @property
    def found(self) -> int:
        """Runs whose draft had the expected article among its sources."""
        return sum(r.rank is not None for r in self.runs)

    @property
    def cited(self) -> int:
        return sum(r.cited for r in self.runs)


def _flat(text: str) -> str:
    """NFKC, case-folded, without spaces and punctuation: for overlap and equality tests."""
    import unicodedata

    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).casefold())


def _answer_values(text: str) -> set[float]:
    """The values of the durations and amounts a text states (an answer's checkable facts)."""
    from assist.text import extract_amounts, extract_durations

    out = {v for d in extract_durations(text) for v in (d.low, d.high)}
    return out | {float(a.value) for a in extract_amounts(text)}


def check_simulation(
    turns: Sequence[str],
    *,
    question: str,
    language: str,
    answers: Sequence[str],
    known: Sequence[str] = (),
    n_turns: int,
) -> str | None:
    """Why a generated customer conversation is unusable, or None when it is fine.

    ``empty``: a message is blank; ``not_a_conversation``: not ``n_turns`` messages, repeated
    messages, agent lines ("客服：", "Agent:"), a message longer than :data:`MAX_TURN_CHARS`,
    the question asked word for word before the last message, or "|" (the turns' separator);
    ``wrong_language``: not in ``language``; ``injection``: a message reads as an instruction
    to a model; ``leaks_answer``: a message states a duration or amount of the answer
    (``answers``: the reference reply, the FAQ answer) that ``question`` and ``known`` (the
    title) do not, or copies 10 characters (Chinese) / 30 letters (English) of an answer
    that the question and title do not hold.

    Example:
        >>> check_simulation(["我上周买的耳机", "它退款要多久"], question="退款多久到账？", language="zh",
        ...                  answers=["审核通过后 3-7 个工作日到账"], n_turns=2) is None
        True
    """
    from assist.injection import looks_like_injection
    from assist.text import detect_language

    texts = [str(t).strip() for t in turns]
    if not texts or any(not t for t in texts):
        return "empty"
    flat = [_flat(t) for t in texts]
    if (
        len(texts) != n_turns
        or len(set(flat)) != len(flat)
        or any("|" in t for t in texts)
        or any(len(t) > MAX_TURN_CHARS or _ROLE_PREFIX.match(t) for t in texts)
        or (n_turns > 1 and _flat(question) in flat[:-1])
    ):
        return "not_a_conversation"
    whole = "\n".join(texts)
    if detect_language(whole, default=language) != language:  # type: ignore[arg-type]
        return "wrong_language"
    if any(looks_like_injection(t) for t in texts):
        return "injection"
    given = "\n".join([question, *known])
    said = _answer_values(whole) - _answer_values(given)
    if any(said & _answer_values(a) for a in answers if a):
        return "leaks_answer"
    import difflib

    longest = 10 if language == "zh" else 30
    inside = _flat(given)
    conv = _flat(whole)
    for a in answers:
        fa = _flat(a or "")
        if not fa:
            continue
        matcher = difflib.SequenceMatcher(None, conv, fa, autojunk=False)
        for m in matcher.get_matching_blocks():
            if m.size >= longest and conv[m.a : m.a + m.size] not in inside:
                return "leaks_answer"
    return None


def _conversation_schema(per_item: int, turns: int) -> dict[str, Any]:
    msg = {"type": "string", "minLength": 1, "maxLength": MAX_TURN_CHARS}
    conv = {
        "type": "object",
        "properties": {"turns": {"type": "array", "items": msg, "minItems": turns, "maxItems": turns}},
        "required": ["turns"],
        "additionalProperties": False,
    }
    return {
        "title": "simulated_conversations",
        "type": "object",
        "properties": {
            "conversations": {"type": "array", "items": conv, "minItems": 1, "maxItems": per_item}
        },
        "required": ["conversations"],
        "additionalProperties": False,
    }


def _article_for_prompt(rev: Any, max_chars: int = 1500) -> tuple[str, str, list[str]]:
    """Title, text (instruction-like sentences removed, :mod:`assist.injection`) and the FAQ
    answers of an article revision."""
    from assist.injection import sanitize, sanitize_passages

    if rev is None:
        return "", "", []
    blocks = list(rev.blocks)
    clean = sanitize_passages([" ".join([*b.heading_path, b.text]) for b in blocks])
    text = "\n".join(s.text for s in clean if s.text)[:max_chars]
    return sanitize(rev.meta.title or "").text, text, [b.answer for b in blocks if b.answer]


def _parse_conversations(raw: str) -> list[list[str]] | None:
    """The ``conversations`` of the model's JSON (each a list of customer messages); None
    when the answer is not that JSON. A message given as ``{"role": ..., "text": ...}`` keeps
    its text, marked so an agent's line fails :func:`check_simulation`."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    convs = data.get("conversations") if isinstance(data, dict) else None
    if not isinstance(convs, list):
        return None
    out: list[list[str]] = []
    for c in convs:
        turns = c.get("turns") if isinstance(c, dict) else c
        if not isinstance(turns, list):
            out.append([])
            continue
        msgs = []
        for t in turns:
            if isinstance(t, dict):
                role = str(t.get("role") or "customer").lower()
                text = str(t.get("text") or t.get("content") or "")
                msgs.append(text if role in ("customer", "user") else f"agent: {text}")
            else:
                msgs.append(str(t))
        out.append(msgs)
    return out


async def simulate_customers(
    db: Database,
    llm: Any,
    tenant: str,
    *,
    article_id: str | None = None,
    per_item: int = 3,
    turns: int = 1,
    limit: int = 200,
    pipeline: Any = None,
    actor: str | None = None,
) -> SimulateReport:
    """Simulated customers for the tenant's manual and accepted-draft golden items (of
    ``article_id`` only, when given), each stored as a ``simulated`` golden item with the
    parent's expected article, revision and reference, so the publish gate runs it
    (:mod:`assist.publish_gate`: the simulations of the articles being published).

    ``turns`` 1: the chat model paraphrases the question (``prompts/paraphrase.*.j2``).
    ``turns`` 2-4: it writes conversations of that many customer messages from the question
    and the article the item expects, at the expected revision
    (``prompts/simulate_conversation*.j2``, structured output); an opening that names the
    product or situation, follow-ups that refer back, a last message with the question's
    intent. Generations that :func:`check_simulation` refuses (empty, not a conversation,
    wrong language, instruction-like, leaking the answer) are counted in
    ``report.rejected`` and dropped.

    Each parent gets up to ``per_item`` simulations of each length: running again tops up
    (new wordings only). With ``pipeline`` (an ``AssistPipeline``), each new simulation is
    drafted by it, as an agent would get it: the report says whether the expected article
    was among the sources and cited (nothing is logged as a knowledge gap)."""
    from assist.injection import sanitize
    from assist.prompts import PromptLibrary
    from assist.publish_gate import SIMULATION_SEP, simulation_key, simulation_parent, simulation_turns
    from assist.types import ChatMessage, GenSettings

    if not 1 <= turns <= 4:
        raise InputError(f"a simulated conversation has 1 to 4 customer messages, not {turns}")
    repo = GoldenRepository(db)
    articles = ArticleRepository(db)
    parents = [i for i in repo.list(tenant, article=article_id) if i.source != "simulated"][:limit]
    sims = repo.list(tenant, source="simulated", article=article_id)
    have = {(i.expected_article, _flat(i.question)) for i in sims}
    count: dict[int, int] = {}
    for i in sims:
        pid = simulation_parent(i)
        if pid is not None and len(simulation_turns(i)) == turns:
            count[pid] = count.get(pid, 0) + 1
    prompts = PromptLibrary()
    report = SimulateReport(tenant=tenant, turns=turns, items=len(parents))
    added: list[GoldenRecord] = []
    revs: dict[tuple[str, int], Any] = {}
    for item in parents:
        want = per_item - count.get(item.id, 0)
        if want <= 0:
            continue
        lang = item.language if item.language in ("zh", "en") else "zh"
        question = sanitize(item.question).text or item.question
        rev = None
        if item.expected_article:
            art = articles.get_article(tenant, item.expected_article)
            n = item.expected_revision or (art.live_revision if art else None)
            if n is not None:
                if (item.expected_article, n) not in revs:
                    revs[(item.expected_article, n)] = articles.get_revision(tenant, item.expected_article, n)
                rev = revs[(item.expected_article, n)]
        title, text, faq_answers = _article_for_prompt(rev)
        if turns == 1:
            schema = {
                "type": "object",
                "properties": {
                    "paraphrases": {"type": "array", "items": {"type": "string"}, "maxItems": want}
                },
                "required": ["paraphrases"],
            }
            messages = [
                ChatMessage(
                    role="user", content=prompts.render("paraphrase", lang, question=question, n=want)
                )
            ]
        else:
            schema = _conversation_schema(want, turns)
            messages = [
                ChatMessage(
                    role="system", content=prompts.render("simulate_conversation", lang, n=want, turns=turns)
                ),
                ChatMessage(
                    role="user",
                    content=prompts.render(
                        "simulate_conversation_input", lang, question=question, title=title, article=text
                    ),
                ),
            ]
        out = await llm.complete(
            messages,
            settings=GenSettings(temperature=0.7, max_tokens=120 + 80 * want * turns, json_schema=schema),
        )
        if turns == 1:
            try:
                generated = [[str(p)] for p in (json.loads(out.text).get("paraphrases") or [])]
            except (ValueError, AttributeError):
                generated = []
        else:
            generated = _parse_conversations(out.text) or []
            if not generated:
                report.rejected["not_json"] = report.rejected.get("not_json", 0) + 1
        answers = [a for a in [item.reference, *faq_answers] if a]
        for conv in generated[:want]:
            msgs = [m.strip() for m in conv]
            reason = check_simulation(
                msgs, question=item.question, language=lang, answers=answers, known=[title], n_turns=turns
            )
            if reason is not None:
                report.rejected[reason] = report.rejected.get(reason, 0) + 1
                continue
            q = SIMULATION_SEP.join(msgs)
            if _flat(q) == _flat(item.question) or (item.expected_article, _flat(q)) in have:
                report.skipped += 1
                continue
            have.add((item.expected_article, _flat(q)))
            rec = repo.add(
                tenant,
                q,
                expected_article=item.expected_article,
                expected_revision=rev.revision if rev is not None else item.expected_revision,
                language=item.language,
                reference=item.reference,
                source="simulated",
                external_id=simulation_key(item.id, turns, q),
                created_by=actor,
            )
            added.append(rec)
            report.added += 1
    if pipeline is not None:
        for rec in added:
            report.runs.append(await run_simulation(pipeline, rec))
    return report


async def run_simulation(pipeline: Any, item: GoldenRecord) -> SimulationRun:
    """Draft a reply to a simulated golden item with the real pipeline (``AssistPipeline``):
    its customer messages as one conversation, so the retriever's conversation handling
    (the last turns as the query, entity carry-over, the optional rewrite) is what is tested.
    Nothing is logged as a knowledge gap and no metrics event is emitted."""
    import dataclasses

    from assist.errors import AssistError
    from assist.publish_gate import simulation_parent, simulation_turns
    from assist.types import Conversation, Turn

    msgs = simulation_turns(item)
    run = SimulationRun(item.id, simulation_parent(item), item.expected, msgs, "error")
    quiet = dataclasses.replace(pipeline, db=None, on_event=None)  # no gap log, no metrics
    lang = item.language if item.language in ("zh", "en") else None
    conv = Conversation(
        tenant=item.tenant, turns=[Turn(role="customer", text=m) for m in msgs], language=cast(Any, lang)
    )
    try:
        draft = await quiet.draft(conv)
    except AssistError as e:
        run.detail = e.message
        return run
    run.status = draft.status
    ranked = list(dict.fromkeys(s.chunk.article_id for s in draft.sources))
    if item.expected_article in ranked:
        run.rank = ranked.index(item.expected_article) + 1
    run.cited = any(c.article_id == item.expected_article for c in draft.citations)
    run.detail = draft.detail
    return run


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


async def suggest_faq_revisions(
    indexer: Any,
    tenant: str,
    *,
    content_hash: Callable[[Any, Any], str],
    min_corrections: int = 2,
    actor: str = "knowledge-loop",
    limit: int = 2000,
) -> list[SuggestedRevision]:
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
        blocks = [
            b.model_copy(update={"answer": new, "text": b.text.replace(old, new)}) if b is faq[0] else b
            for b in live.blocks
        ]
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
