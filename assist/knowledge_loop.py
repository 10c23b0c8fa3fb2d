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
from dataclasses import dataclass
from pathlib import Path

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
    """Load a golden file (``eval/golden/golden.jsonl`` lines: ``id``, ``language``, ``question``,
    ``reference``, ``article_ids``, ``expect``) into the tenant's golden set. Items that expect
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
    fb = next((f for f in FeedbackRepository(db).list(tenant, limit=100_000) if f.id == feedback_id), None)
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
