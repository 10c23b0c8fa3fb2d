"""The knowledge loop for knowledge managers: the golden set, the publish gate (a dry run, and
the 409 of a blocked publication), suggested draft articles, and stale articles.

Mounted by :func:`install` (one line in ``serving.app``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from assist.db import ArticleRepository
from assist.db.golden import GoldenRecord, GoldenRepository
from assist.errors import NotFoundError
from assist.publish_gate import GateReport, PublishBlocked, PublishGate
from serving.deps import DbDep, KMDep, indexer_for, pipeline_for

router = APIRouter(prefix="/v1/kb", tags=["knowledge loop"])


class GoldenIn(BaseModel):
    model_config = {"extra": "forbid"}

    question: str = Field(min_length=1, max_length=4000)
    article_id: str = Field(min_length=1, max_length=200)
    revision: int | None = Field(
        None, ge=1, le=2**31 - 1, description="Default: the article's live revision."
    )
    reference: str | None = Field(
        None, max_length=20_000, description="The reference reply (its numbers are checked)."
    )
    language: Literal["zh", "en"] | None = None


class GoldenFromFeedback(BaseModel):
    model_config = {"extra": "forbid"}

    feedback_id: int = Field(ge=1, le=2**31 - 1)


class GoldenPublic(BaseModel):
    id: int
    question: str
    language: str | None
    expected_article: str | None
    expected_revision: int | None
    reference: str | None
    source: str
    created_by: str | None
    created_at: datetime
    parent_id: int | None = Field(
        None, description="A simulated item: the golden item it was generated from."
    )
    turns: list[str] | None = Field(None, description="A simulated conversation: its customer messages.")


class SuggestionsRun(BaseModel):
    model_config = {"extra": "forbid"}

    distance: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="A fixed cosine distance under which questions form "
        "one cluster; default: measured per tenant and language (relative).",
    )
    relative: float = Field(
        0.7,
        ge=0.05,
        le=1.5,
        description="Questions cluster below this fraction of the median "
        "distance between them and the tenant's knowledge-base questions.",
    )
    min_size: int = Field(2, ge=1, le=1000, description="Questions a cluster needs to become a draft.")


def _golden(r: GoldenRecord) -> GoldenPublic:
    from assist.publish_gate import simulation_parent, simulation_turns

    turns = simulation_turns(r)
    return GoldenPublic(
        **r.model_dump(include=set(GoldenPublic.model_fields) - {"parent_id", "turns"}),
        parent_id=simulation_parent(r),
        turns=turns if len(turns) > 1 else None,
    )


def _masked(request: Request, tenant: str, text: str | None) -> str | None:
    if text is None:
        return None
    return request.app.state.pipeline.masker_for(tenant).mask(text).text


@router.get(
    "/golden", response_model=list[GoldenPublic], summary="The golden set: what the publish gate checks"
)
def golden_list(
    caller: KMDep, db: DbDep, article: str | None = None, limit: int = Query(1000, ge=1, le=10_000)
) -> list[GoldenPublic]:
    return [_golden(r) for r in GoldenRepository(db).list(caller.tenant, article=article, limit=limit)]


@router.post("/golden", response_model=GoldenPublic, status_code=201, summary="Add a golden item")
def golden_add(body: GoldenIn, caller: KMDep, db: DbDep, request: Request) -> GoldenPublic:
    from assist.text import detect_language

    art = ArticleRepository(db).get_article(caller.tenant, body.article_id)
    if art is None:
        raise NotFoundError(f"no article {body.article_id!r} in this tenant")
    rec = GoldenRepository(db).add(
        caller.tenant,
        _masked(request, caller.tenant, body.question) or "",
        expected_article=body.article_id,
        expected_revision=body.revision or art.live_revision,
        language=body.language or detect_language(body.question),
        reference=_masked(request, caller.tenant, body.reference),
        source="manual",
        created_by=caller.name,
    )
    return _golden(rec)


@router.post(
    "/golden/from-feedback",
    response_model=GoldenPublic,
    status_code=201,
    summary="One click: the accepted (or edited) draft of a feedback becomes a golden item",
)
def golden_from_feedback(body: GoldenFromFeedback, caller: KMDep, db: DbDep) -> GoldenPublic:
    from assist.knowledge_loop import golden_from_feedback as make

    return _golden(make(db, caller.tenant, body.feedback_id, actor=caller.name))


class SimulateIn(BaseModel):
    model_config = {"extra": "forbid"}

    article_id: str | None = Field(None, max_length=200, description="Only items expecting this article.")
    per_item: int = Field(3, ge=1, le=10, description="Simulations per item (and length).")
    turns: int = Field(
        1,
        ge=1,
        le=4,
        description="Customer messages per simulation: 1 paraphrases the question, "
        "2-4 write a conversation that ends with the question's intent.",
    )
    run: bool = Field(True, description="Draft each new simulation with the pipeline and report the outcome.")


@router.post(
    "/golden/simulate",
    summary="Simulated customers: paraphrases or multi-turn conversations of golden "
    "items, stored as 'simulated' items the publish gate runs",
)
async def golden_simulate(
    caller: KMDep, db: DbDep, request: Request, body: SimulateIn | None = None
) -> dict[str, Any]:
    from dataclasses import asdict

    from assist.knowledge_loop import simulate_customers

    body = body or SimulateIn.model_validate({})
    pipe = await pipeline_for(request, caller.tenant)
    report = await simulate_customers(
        db,
        pipe.llm,
        caller.tenant,
        article_id=body.article_id,
        per_item=body.per_item,
        turns=body.turns,
        pipeline=pipe if body.run else None,
        actor=caller.name,
    )
    return {**asdict(report), "found": report.found, "cited": report.cited}


@router.delete("/golden/{item_id}", status_code=204, summary="Delete a golden item")
def golden_delete(item_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)], caller: KMDep, db: DbDep) -> None:
    GoldenRepository(db).delete(caller.tenant, item_id)


@router.post(
    "/gate/{article_id}",
    response_model=GateReport,
    summary="Run the publish gate for a revision without publishing it",
)
async def gate(
    article_id: str,
    caller: KMDep,
    db: DbDep,
    request: Request,
    revision: int | None = Query(None, ge=1, le=2**31 - 1),
) -> GateReport:
    art = ArticleRepository(db).get_article(caller.tenant, article_id)
    if art is None:
        raise NotFoundError(f"no article {article_id!r} in this tenant")
    return await PublishGate.of(await indexer_for(request, caller.tenant)).evaluate(
        caller.tenant, article_id, revision or art.latest_revision
    )


@router.post(
    "/suggestions/run",
    summary="Cluster gaps and rejected/edited drafts into suggested draft articles; "
    "repeatedly corrected curated answers into suggested FAQ revisions",
)
async def suggestions_run(
    caller: KMDep, request: Request, body: SuggestionsRun | None = None
) -> dict[str, Any]:
    from dataclasses import asdict

    from assist.knowledge_loop import suggest_articles, suggest_faq_revisions

    body = body or SuggestionsRun.model_validate({})
    from kb_ingest.parsers import content_hash

    ix = await indexer_for(request, caller.tenant)
    report = await suggest_articles(
        ix,
        caller.tenant,
        to_article=_to_article,
        distance=body.distance,
        relative=body.relative,
        min_size=body.min_size,
        actor=caller.name,
    )
    revisions = await suggest_faq_revisions(ix, caller.tenant, content_hash=content_hash, actor=caller.name)
    return {**asdict(report), "revisions": [asdict(r) for r in revisions]}


@router.get("/suggestions", summary="Suggested draft articles waiting for a knowledge manager")
def suggestions(caller: KMDep, db: DbDep) -> list[dict[str, Any]]:
    from assist.knowledge_loop import SUGGESTED_TAG, draft_questions

    repo = ArticleRepository(db)
    out = []
    for a in repo.list_articles(caller.tenant):
        if SUGGESTED_TAG not in (a.tags or []) or a.live_revision is not None or a.status == "archived":
            continue
        rev = repo.get_revision(caller.tenant, a.id, a.latest_revision)
        questions = draft_questions(rev.blocks)[:50] if rev else []
        out.append(
            {
                "article_id": a.id,
                "title": a.title,
                "language": a.language,
                "status": a.status,
                "revision": a.latest_revision,
                "updated_at": a.updated_at,
                "text": "\n\n".join(b.text for b in rev.blocks) if rev else "",
                "questions": questions,
            }
        )
    return out


@router.get("/stale", summary="Live articles past review_by or valid_until, with the questions they answered")
def stale(caller: KMDep, db: DbDep, days: int = Query(30, ge=1, le=366)) -> list[dict[str, Any]]:
    from assist.db import SuggestionRepository

    today = date.today()
    repo = ArticleRepository(db)
    rows = [
        a
        for a in repo.list_articles(caller.tenant)
        if a.status != "archived"
        and ((a.review_by and a.review_by <= today) or (a.valid_until and a.valid_until < today))
    ]
    if not rows:
        return []
    since = datetime.now(UTC) - timedelta(days=days)
    asked: dict[str, list[str]] = {}
    for s in SuggestionRepository(db).list(caller.tenant, kind="draft", limit=5000):
        if s.created_at < since:
            continue
        turns = (s.request or {}).get("turns") or []
        q = next((t.get("text") for t in reversed(turns) if t.get("role") == "customer"), None)
        for c in (s.response or {}).get("citations") or []:
            if (
                q
                and len(asked.setdefault(c.get("article_id"), [])) < 10
                and q not in asked[c.get("article_id")]
            ):
                asked[c.get("article_id")].append(q)
    return [
        {
            "article_id": a.id,
            "title": a.title,
            "review_by": a.review_by,
            "valid_until": a.valid_until,
            "expired": bool(a.valid_until and a.valid_until < today),
            "live_revision": a.live_revision,
            "questions": asked.get(a.id, []),
        }
        for a in rows
    ]


def _to_article(meta, body: str):
    from assist.types import ParsedArticle
    from kb_ingest.parsers import content_hash, markdown_to_blocks

    blocks = markdown_to_blocks(body)
    return ParsedArticle(meta=meta, blocks=blocks, content_hash=content_hash(meta, blocks))


async def _blocked(_: Request, e: Exception) -> JSONResponse:
    """409 in the one envelope, with the items that got worse (``error.regressions``)."""
    from serving.errors import error_body

    assert isinstance(e, PublishBlocked)
    body = error_body(409, e.message, e.code).model_dump()
    body["error"]["regressions"] = [r.model_dump(mode="json") for r in e.report.regressions]
    body["error"]["gate"] = e.report.model_dump(mode="json", exclude={"regressions"})
    return JSONResponse(body, status_code=409)


def install(app: FastAPI) -> None:
    """Mount the routes and the 409 of a blocked publication."""
    from serving import errors

    app.include_router(router, responses=errors.ERROR_RESPONSES)
    app.add_exception_handler(PublishBlocked, _blocked)
