from __future__ import annotations

import difflib

from fastapi import APIRouter, Query, Request

from assist.db import FeedbackRepository, GapRepository, SuggestionRepository
from assist.errors import InputError, NotFoundError
from serving.deps import AgentDep, CallerDep, DbDep
from serving.schemas import FeedbackPublic, FeedbackRequest, GapGroupPublic

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post("/feedback", response_model=FeedbackPublic, status_code=201,
             summary="Record what the agent did with a suggestion")
def feedback(body: FeedbackRequest, caller: AgentDep, db: DbDep, request: Request) -> FeedbackPublic:
    suggestion = SuggestionRepository(db).get(caller.tenant, body.suggestion_id)
    if suggestion is None:
        raise NotFoundError(f"no suggestion {body.suggestion_id!r} for this tenant")
    if body.outcome == "edited" and not body.final_text:
        raise InputError("outcome 'edited' needs final_text: the text the agent actually sent")
    if body.outcome == "rejected" and not body.reason:
        raise InputError("outcome 'rejected' needs a reason")
    diff = None
    final_text = body.final_text
    masker = request.app.state.pipeline.masker_for(caller.tenant)
    if final_text:
        final_text = masker.mask(final_text).text  # stored texts never carry personal data
        original = str((suggestion.response or {}).get("text", ""))
        diff = "".join(difflib.unified_diff(original.splitlines(True), final_text.splitlines(True),
                                            "suggested", "sent"))
    rec = FeedbackRepository(db, redact=masker.redact).add(caller.tenant, body.outcome, suggestion_id=body.suggestion_id,
                                     final_text=final_text,
                                     diff=diff, reason=body.reason, actor=caller.name)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics:
        metrics.feedback.labels(outcome=body.outcome).inc()
    return FeedbackPublic(id=rec.id, suggestion_id=rec.suggestion_id, outcome=rec.outcome, diff=rec.diff,
                          created_at=rec.created_at)


@router.get("/kb/gaps", response_model=list[GapGroupPublic],
            summary="Questions the knowledge base did not cover, grouped, most frequent first")
def gaps(caller: CallerDep, db: DbDep, limit: int = Query(50, ge=1, le=500)) -> list[GapGroupPublic]:
    groups = GapRepository(db).grouped(caller.tenant, limit=limit)
    return [GapGroupPublic(question=g.example, count=g.count, last_seen=g.last_seen)
            for g in groups]
