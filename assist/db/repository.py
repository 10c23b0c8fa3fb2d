"""All repositories in one import (they live in articles.py, keys.py, feedback.py, evalruns.py).

Repositories return frozen pydantic records, never ORM objects: nothing outlives its session.

Example:
    >>> from assist.db.repository import ArticleRepository, KeyRepository
"""

from __future__ import annotations

from .articles import (
    ArticleRecord,
    ArticleRepository,
    ArticleStats,
    IndexState,
    RevisionRecord,
    RevisionState,
    WorkflowAction,
    WorkflowEventRecord,
)
from .evalruns import EvalItemRecord, EvalRunRecord, EvalRunRepository
from .feedback import (
    FeedbackRecord,
    FeedbackRepository,
    GapGroup,
    GapRecord,
    GapRepository,
    Outcome,
    SuggestionKind,
    SuggestionRecord,
    SuggestionRepository,
    normalize_question,
)
from .keys import ApiKeyRecord, KeyRepository, Role, hash_key

__all__ = [
    "ApiKeyRecord",
    "ArticleRecord",
    "ArticleRepository",
    "ArticleStats",
    "EvalItemRecord",
    "EvalRunRecord",
    "EvalRunRepository",
    "FeedbackRecord",
    "FeedbackRepository",
    "GapGroup",
    "GapRecord",
    "GapRepository",
    "IndexState",
    "KeyRepository",
    "Outcome",
    "RevisionRecord",
    "RevisionState",
    "Role",
    "SuggestionKind",
    "SuggestionRecord",
    "SuggestionRepository",
    "WorkflowAction",
    "WorkflowEventRecord",
    "hash_key",
    "normalize_question",
]
