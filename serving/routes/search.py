from __future__ import annotations

from fastapi import APIRouter

from assist.retrieval import RetrievalResult
from assist.types import RetrievedChunk
from serving.deps import AgentDep, PipelineDep
from serving.schemas import SearchPublic, SearchRequest, SourcePublic

router = APIRouter(prefix="/v1", tags=["search"])


def source_public(r: RetrievedChunk) -> SourcePublic:
    c = r.chunk
    return SourcePublic(chunk_id=c.id, article_id=c.article_id, revision=c.revision, title=c.title,
                        section=c.section, text=c.text, score=r.score, type=c.type.value, language=c.language)


def search_public(res: RetrievalResult) -> SearchPublic:
    return SearchPublic(query=res.query, covered=res.covered, top_dense=res.top_dense, entity=res.entity,
                        results=[source_public(r) for r in res.chunks])


@router.post("/search", response_model=SearchPublic, summary="Hybrid search of the caller's knowledge base")
async def search(body: SearchRequest, caller: AgentDep, pipe: PipelineDep) -> SearchPublic:
    res = await pipe.search(
        body.query, tenant=caller.tenant, top_k=body.top_k,
        languages=[body.language] if body.language else None,
        products=[body.product] if body.product else None,
        channels=[body.channel] if body.channel else None,
        types=[body.type] if body.type else None, mode=body.mode,
    )
    return search_public(res)
