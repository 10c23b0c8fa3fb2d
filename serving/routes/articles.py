"""Articles for knowledge managers: create, update, upload, preview, list, revisions,
diff, and the workflow (submit, approve, publish, archive, rollback)."""

from __future__ import annotations

import difflib
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError

from assist import publish_gate
from assist.db import ArticleRepository
from assist.errors import InputError, NotFoundError
from assist.types import ArticleMeta, ArticleStatus, IngestError, ParsedArticle
from kb_ingest.chunking import chunk_article
from kb_ingest.limits import check_document
from kb_ingest.parsers import SUPPORTED_EXTENSIONS, content_hash, markdown_to_blocks, parse_file
from serving.deps import AnyReaderDep, DbDep, KMDep, indexer_for
from serving.schemas import (
    ArticleIn,
    ArticlePublic,
    ArticleUpdate,
    EventPublic,
    IngestPublic,
    PreviewPublic,
    RevisionPublic,
    RollbackRequest,
    WorkflowRequest,
)

router = APIRouter(prefix="/v1/articles", tags=["articles"])

# Revision numbers are bounded so an absurd one is a 422, not a database overflow (500):
# SQLite and PostgreSQL integers are 64-bit at most.
MAX_REVISION = 2**31 - 1
RevisionPath = Annotated[int, PathParam(ge=1, le=MAX_REVISION)]


async def _indexer(request: Request, tenant: str):
    """The indexer of the tenant's embedder (its adapted model's collection after a switch)."""
    return await indexer_for(request, tenant)


def _public(a) -> ArticlePublic:
    return ArticlePublic(id=a.id, tenant=a.tenant, title=a.title, type=a.type.value, language=a.language,
                         status=a.status, product=a.product, channel=a.channel, tags=a.tags,
                         live_revision=a.live_revision, latest_revision=a.latest_revision,
                         effective_from=a.effective_from, valid_until=a.valid_until, review_by=a.review_by,
                         updated_at=a.updated_at)


def _get(db, tenant: str, article_id: str):
    a = ArticleRepository(db).get_article(tenant, article_id)
    if a is None:
        raise NotFoundError(f"no article {article_id!r} in this tenant")
    return a


def _check_dates(meta: ArticleMeta) -> None:
    if meta.effective_from and meta.valid_until and meta.valid_until < meta.effective_from:
        raise RequestValidationError([{
            "loc": ("body", "valid_until"), "type": "value_error", "input": str(meta.valid_until),
            "msg": f"valid_until {meta.valid_until} is before effective_from {meta.effective_from}: "
                   "an article cannot expire before it takes effect",
        }])


def _article_from_body(meta: ArticleMeta, body: str) -> ParsedArticle:
    blocks = markdown_to_blocks(body)
    if not blocks:
        raise InputError("the article body has no text")
    return ParsedArticle(meta=meta, blocks=blocks, content_hash=content_hash(meta, blocks))


async def _store(request: Request, caller, art: ParsedArticle, publish: bool,
                 override_reason: str | None = None) -> ArticlePublic:
    ix = await _indexer(request, caller.tenant)
    with publish_gate.override(override_reason):  # blocked by the publish gate: 409 with the regressions
        report = await ix.ingest_articles([art], tenant=caller.tenant, publish=publish, actor=caller.name)
    if report.errors:
        raise InputError("; ".join(e.error for e in report.errors))
    return _public(_get(request.app.state.db, caller.tenant, art.meta.id))


@router.post("", response_model=ArticlePublic, status_code=201, summary="Write an article (Markdown body)")
async def create(body: ArticleIn, caller: KMDep, db: DbDep, request: Request) -> ArticlePublic:
    if ArticleRepository(db).get_article(caller.tenant, body.id) is not None:
        from assist.errors import ConflictError

        raise ConflictError(f"article {body.id!r} exists; update it with PUT /v1/articles/{body.id}")
    meta = ArticleMeta(id=body.id, tenant=caller.tenant, type=body.type, title=body.title, language=body.language,
                       product=body.product, channel=body.channel, tags=body.tags, owner=caller.name,
                       effective_from=body.effective_from, valid_until=body.valid_until, review_by=body.review_by,
                       source_file="api")
    _check_dates(meta)
    return await _store(request, caller, _article_from_body(meta, body.body), body.publish,
                        body.override_reason)


@router.put("/{article_id}", response_model=ArticlePublic, summary="Update an article: a new revision")
async def update(article_id: str, body: ArticleUpdate, caller: KMDep, db: DbDep, request: Request) -> ArticlePublic:
    repo = ArticleRepository(db)
    a = _get(db, caller.tenant, article_id)
    latest = repo.get_revision(caller.tenant, article_id, a.latest_revision)
    assert latest is not None
    changes = body.model_dump(exclude_unset=True, exclude={"body", "publish", "override_reason"})
    meta = latest.meta.model_copy(update={**changes, "tenant": caller.tenant})
    _check_dates(meta)
    if body.body is not None:
        art = _article_from_body(meta, body.body)
    else:
        art = ParsedArticle(meta=meta, blocks=latest.blocks, content_hash=content_hash(meta, latest.blocks))
    return await _store(request, caller, art, body.publish, body.override_reason)


async def _save_uploads(files: list[UploadFile], limit: int, tmp: Path) -> tuple[list[Path], list[IngestError]]:
    """Save each upload under ``tmp``; a bad one (type, size, name) is reported, the rest kept."""
    paths: list[Path] = []
    bad: list[IngestError] = []
    for f in files:
        name = Path((f.filename or "upload").replace("\\", "/")).name or "upload"
        if Path(name).suffix.lower() not in SUPPORTED_EXTENSIONS and not name.endswith(".meta.yaml"):
            bad.append(IngestError(file=name, error=f"unsupported file type; supported: "
                                                    f"{', '.join(sorted(SUPPORTED_EXTENSIONS))}"))
            continue
        dest = tmp / name
        if dest.exists():
            bad.append(IngestError(file=name, error="the same file name twice in one upload; rename one"))
            continue
        size = 0
        with dest.open("wb") as out:
            while chunk := await f.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    break
                out.write(chunk)
        if size > limit:
            dest.unlink(missing_ok=True)
            bad.append(IngestError(file=name, error=f"larger than the {limit}-byte upload limit"))
            continue
        paths.append(dest)
    return paths, bad


def _hide_paths(text: str, tmp: Path) -> str:
    """Messages name the uploaded file, never the server's temporary folder."""
    for form in {str(tmp), str(tmp.resolve())}:
        text = text.replace(form + "/", "").replace(form, "")
    return text


def _upload_errors(errors: list[IngestError], tmp: Path) -> list[dict[str, str]]:
    return [{"file": _hide_paths(e.file, tmp), "error": _hide_paths(e.error, tmp)} for e in errors]


@router.post("/upload", response_model=IngestPublic, summary="Upload files (multipart); bad files are reported")
async def upload(caller: KMDep, request: Request, files: Annotated[list[UploadFile], File()],
                 publish: Annotated[bool, Form()] = False) -> IngestPublic:
    limit = request.app.state.settings.ingest.max_file_bytes
    tmp = Path(tempfile.mkdtemp(prefix="assist-upload-"))
    try:
        saved, bad = await _save_uploads(files, limit, tmp)
        if bad and not saved:  # nothing to ingest at all: the request itself is wrong
            raise InputError("; ".join(f"{e.file}: {e.error}" for e in bad))
        paths = [p for p in saved if not p.name.endswith(".meta.yaml")]
        try:
            ix = await _indexer(request, caller.tenant)
            report = await ix.ingest_paths(paths, tenant=caller.tenant, publish=publish, actor=caller.name)
        except publish_gate.PublishBlocked:
            raise  # 409 with the regressions (it names articles and golden items, no paths)
        except InputError as e:
            raise InputError(_hide_paths(e.message, tmp)) from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.files += len(bad)
    return IngestPublic(**report.model_dump(exclude={"errors"}), errors=_upload_errors([*bad, *report.errors], tmp))


def _preview_file(p: Path, tmp: Path, settings, embedder, tenant: str) -> list[dict]:
    check_document(p, name=p.name)
    out = []
    for a in parse_file(p, max_bytes=settings.ingest.max_file_bytes, root=tmp, defaults={"tenant": tenant}):
        chunks = chunk_article(a, count_tokens=embedder.count_tokens, max_tokens=settings.ingest.chunk_tokens,
                               overlap_tokens=settings.ingest.chunk_overlap_tokens)
        out.append({"file": p.name, "meta": a.meta.model_dump(mode="json"),
                    "chunks": [{"index": c.chunk_index, "kind": c.kind.value, "section": c.section,
                                "text": c.text, "tokens": embedder.count_tokens(c.text)} for c in chunks]})
    return out


@router.post("/preview", response_model=PreviewPublic, summary="Parse and chunk files without storing anything")
async def preview(caller: KMDep, request: Request, files: Annotated[list[UploadFile], File()]) -> PreviewPublic:
    settings = request.app.state.settings
    embedder = request.app.state.pipeline.embedder
    tmp = Path(tempfile.mkdtemp(prefix="assist-preview-"))
    out: list[dict] = []
    try:
        saved, bad = await _save_uploads(files, settings.ingest.max_file_bytes, tmp)
        out.extend(_upload_errors(bad, tmp))
        for p in saved:
            if p.name.endswith(".meta.yaml"):
                continue
            try:
                # Parsing and chunking are CPU work: a worker thread keeps the event loop free.
                out.extend(await anyio.to_thread.run_sync(_preview_file, p, tmp, settings, embedder, caller.tenant))
            except InputError as e:
                out.append({"file": p.name, "error": _hide_paths(e.message, tmp)})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return PreviewPublic(articles=out)


@router.get("", response_model=list[ArticlePublic], summary="List articles")
def list_articles(caller: AnyReaderDep, db: DbDep, status: ArticleStatus | None = None,
                  expiring_before: date | None = None, review_before: date | None = None,
                  limit: int = Query(500, ge=1, le=5000)) -> list[ArticlePublic]:
    rows = ArticleRepository(db).list_articles(caller.tenant, status=status.value if status else None,
                                               expiring_before=expiring_before, review_before=review_before)
    return [_public(a) for a in rows[:limit]]


@router.get("/{article_id}", response_model=ArticlePublic, summary="Get an article")
def get_article(article_id: str, caller: AnyReaderDep, db: DbDep) -> ArticlePublic:
    return _public(_get(db, caller.tenant, article_id))


@router.get("/{article_id}/revisions", response_model=list[RevisionPublic], summary="Revision history")
def revisions(article_id: str, caller: AnyReaderDep, db: DbDep) -> list[RevisionPublic]:
    _get(db, caller.tenant, article_id)
    return [RevisionPublic(revision=r.revision, state=r.state, index_state=r.index_state, content_hash=r.content_hash,
                           created_by=r.created_by, created_at=r.created_at, chunks=len(r.chunk_ids))
            for r in ArticleRepository(db).list_revisions(caller.tenant, article_id)]


@router.get("/{article_id}/revisions/{revision}", summary="One revision's content")
def revision(article_id: str, revision: RevisionPath, caller: AnyReaderDep, db: DbDep) -> dict:
    r = ArticleRepository(db).get_revision(caller.tenant, article_id, revision)
    if r is None:
        raise NotFoundError(f"article {article_id!r} has no revision {revision}")
    return {"revision": r.revision, "state": r.state, "meta": r.meta.model_dump(mode="json"),
            "text": _render(r.blocks)}


def _render(blocks) -> str:
    return "\n\n".join((("#" * min(len(b.heading_path), 6) + " " + b.heading_path[-1] + "\n\n") if b.heading_path else "")
                       + b.text for b in blocks)


@router.get("/{article_id}/diff", summary="Unified diff between two revisions")
def diff(article_id: str, caller: AnyReaderDep, db: DbDep,
         from_revision: int = Query(..., alias="from", ge=1, le=MAX_REVISION),
         to_revision: int = Query(..., alias="to", ge=1, le=MAX_REVISION)) -> dict:
    repo = ArticleRepository(db)
    a = repo.get_revision(caller.tenant, article_id, from_revision)
    b = repo.get_revision(caller.tenant, article_id, to_revision)
    if a is None or b is None:
        raise NotFoundError(f"article {article_id!r} lacks revision {from_revision if a is None else to_revision}")
    text = "".join(difflib.unified_diff(_render(a.blocks).splitlines(True), _render(b.blocks).splitlines(True),
                                        f"{article_id}@{from_revision}", f"{article_id}@{to_revision}"))
    return {"from": from_revision, "to": to_revision, "diff": text}


@router.get("/{article_id}/events", response_model=list[EventPublic], summary="Workflow history: who did what")
def events(article_id: str, caller: AnyReaderDep, db: DbDep) -> list[EventPublic]:
    _get(db, caller.tenant, article_id)
    return [EventPublic(action=e.action, revision=e.revision, actor=e.actor, at=e.at, note=e.note)
            for e in ArticleRepository(db).events(caller.tenant, article_id)]


def _rev(db, tenant: str, article_id: str, revision: int | None) -> int:
    return revision or _get(db, tenant, article_id).latest_revision


@router.post("/{article_id}/submit", response_model=ArticlePublic, summary="Submit a draft for review")
def submit(article_id: str, body: WorkflowRequest, caller: KMDep, db: DbDep) -> ArticlePublic:
    ArticleRepository(db).transition(caller.tenant, article_id, _rev(db, caller.tenant, article_id, body.revision),
                                     "submit", actor=caller.name, note=body.note)
    return _public(_get(db, caller.tenant, article_id))


@router.post("/{article_id}/approve", response_model=ArticlePublic, summary="Approve a revision in review")
def approve(article_id: str, body: WorkflowRequest, caller: KMDep, db: DbDep) -> ArticlePublic:
    ArticleRepository(db).transition(caller.tenant, article_id, _rev(db, caller.tenant, article_id, body.revision),
                                     "approve", actor=caller.name, note=body.note)
    return _public(_get(db, caller.tenant, article_id))


@router.post("/{article_id}/publish", response_model=ArticlePublic, summary="Publish: the revision goes live atomically")
async def publish(article_id: str, body: WorkflowRequest, caller: KMDep, db: DbDep, request: Request) -> ArticlePublic:
    rev = _rev(db, caller.tenant, article_id, body.revision)
    ix = await _indexer(request, caller.tenant)
    with publish_gate.override(body.override_reason):  # blocked by the publish gate: 409 with the regressions
        await ix.publish(caller.tenant, article_id, rev, actor=caller.name, note=body.note)
    return _public(_get(db, caller.tenant, article_id))


@router.post("/{article_id}/archive", response_model=ArticlePublic, summary="Archive: out of search, kept for rollback")
async def archive(article_id: str, body: WorkflowRequest, caller: KMDep, db: DbDep, request: Request) -> ArticlePublic:
    ix = await _indexer(request, caller.tenant)
    await ix.archive(caller.tenant, article_id, actor=caller.name, note=body.note)
    return _public(_get(db, caller.tenant, article_id))


@router.post("/{article_id}/rollback", response_model=ArticlePublic, summary="Serve an earlier published revision again")
async def rollback(article_id: str, body: RollbackRequest, caller: KMDep, db: DbDep, request: Request) -> ArticlePublic:
    ix = await _indexer(request, caller.tenant)
    await ix.rollback(caller.tenant, article_id, body.to_revision, actor=caller.name, note=body.note)
    return _public(_get(db, caller.tenant, article_id))
