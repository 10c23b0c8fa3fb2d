"""Topics and trends: conversations grouped with the embedder, named from their messages,
and flagged when their volume or complaint share rises week over week.

* Each conversation is represented by its first customer turn (the problem statement; masked,
  as stored), embedded with
  the product's :class:`assist.embedders.base.Embedder` (``embed_documents``).
* scikit-learn ``KMeans`` on the normalised vectors; without ``k``, the number of topics is
  the one with the best silhouette among a few candidates.
* A topic's name is its top terms by class-based TF-IDF (c-TF-IDF: the term frequency in the
  topic's text times ``log(1 + average words per topic / frequency of the term in all
  topics)``) over jieba words (Chinese) and words (English), from scikit-learn's
  ``CountVectorizer``.
* A topic is *rising* in a week when its conversations per day with data grew by
  ``volume_ratio`` over the week before (and reached ``min_volume`` in the week), or its
  complaint share rose by ``complaint_delta`` (with at least ``min_complaints`` complaints).
  Partial weeks count per day, so a month starting on a Sunday does not look like a surge.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import numpy as np
from sqlalchemy import and_, select

from assist.db.ops import OpsConversation, OpsMessage
from assist.ops.kpis import month_range

__all__ = ["TopicModel", "ctfidf_names", "tokenize"]

_C = OpsConversation.__table__
_M = OpsMessage.__table__
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9]*_\d+\]")
_WORD = re.compile(r"[a-z][a-z0-9'-]*[a-z0-9]|[\u4e00-\u9fff]+|\d+(?:\.\d+)*")
_STOP = {
    "the", "and", "for", "you", "your", "with", "this", "that", "have", "has", "was", "are", "not", "but", "how",
    "can", "what", "when", "where", "will", "from", "all", "its", "it's", "my", "our", "any", "get", "got",
    "does", "did", "still", "that's", "i'm", "can't", "won't", "don't", "yet", "after", "since", "very", "want", "please", "hello", "thanks", "thank",
    "我的", "你们", "怎么", "什么", "请问", "一下", "可以", "还是", "已经", "没有", "一个", "这个", "怎么办",
    "为什么", "是不是", "能不能", "谢谢", "您好", "你好", "以后", "时候", "现在", "问题", "就是", "但是", "如果",
}


def tokenize(text: str) -> list[str]:
    """Words for topic names: jieba for Chinese runs, lower-cased words for English; no
    placeholders, stop words, single characters or bare numbers."""
    import jieba

    text = _PLACEHOLDER.sub(" ", text.lower())
    out: list[str] = []
    for m in _WORD.finditer(text):
        w = m.group(0)
        if w[0] >= "\u4e00":
            out += [t for t in jieba.lcut(w) if len(t) >= 2 and t not in _STOP]
        elif not w[0].isdigit() and len(w) >= 3 and w not in _STOP:
            out.append(w)
    return out


def ctfidf_names(docs_by_topic: Sequence[Sequence[str]], top: int = 3) -> list[list[str]]:
    """Top terms per topic by c-TF-IDF (each topic's documents joined into one class document)."""
    from sklearn.feature_extraction.text import CountVectorizer

    classes = [" \n ".join(d) for d in docs_by_topic]
    vec = CountVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False)
    try:
        tf = vec.fit_transform(classes).toarray().astype(float)
    except ValueError:  # no words at all
        return [[] for _ in classes]
    terms = vec.get_feature_names_out()
    avg_words = tf.sum() / max(1, len(classes))
    idf = np.log(1 + avg_words / np.maximum(tf.sum(axis=0), 1))
    tf = tf / np.maximum(tf.sum(axis=1, keepdims=True), 1)
    scores = tf * idf
    return [[terms[j] for j in np.argsort(-row)[:top] if row[j] > 0] for row in scores]


@dataclass
class TopicModel:
    """Args:
        embedder: Any :class:`assist.embedders.base.Embedder`.
        volume_ratio, min_volume, complaint_delta, min_complaints: when a topic is rising.
        min_days: Weeks with fewer days of data are not compared (a month's ragged ends).
        max_chars: Characters of customer text per conversation that are embedded.
    """

    embedder: Any
    volume_ratio: float = 2.0
    min_volume: int = 30
    min_days: int = 3
    complaint_delta: float = 0.15
    min_complaints: int = 5
    max_chars: int = 400
    seed: int = 0

    async def fit(self, texts: Sequence[str], k: int | None = None) -> np.ndarray:
        """Cluster labels for ``texts`` (embedding awaited, clustering in a worker thread)."""
        if len(texts) < 3:
            return np.zeros(len(texts), dtype=int)
        vecs = np.asarray(await self.embedder.embed_documents(list(texts)), dtype=np.float32)
        return await anyio.to_thread.run_sync(self._cluster, vecs, k)

    def _cluster(self, vecs: np.ndarray, k: int | None) -> np.ndarray:
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        n = len(vecs)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        if k is not None:
            return KMeans(n_clusters=max(1, min(k, n)), n_init=4, random_state=self.seed).fit_predict(vecs)
        best: tuple[float, np.ndarray] | None = None
        sample = min(n, 2000)
        distinct = len(np.unique(vecs.round(5), axis=0))
        if distinct < 7:
            return KMeans(n_clusters=max(1, distinct), n_init=4, random_state=self.seed).fit_predict(vecs)
        for cand in (c for c in (6, 8, 10, 12) if c < distinct):
            labels = KMeans(n_clusters=cand, n_init=4, random_state=self.seed).fit_predict(vecs)
            s = silhouette_score(vecs, labels, sample_size=sample, random_state=self.seed)
            if best is None or s > best[0]:
                best = (s, labels)
        return best[1] if best is not None else np.zeros(n, dtype=int)

    def _load(self, ops: Any, tenant: str, month: str | None) -> tuple[list[dict[str, Any]], list[str]]:
        cond = [_C.c.tenant == tenant]
        if month:
            lo, hi = month_range(month)
            cond += [_C.c.day >= lo, _C.c.day <= hi]
        with ops.db.connection(readonly=True) as conn:
            convs = [dict(r._mapping) for r in conn.execute(
                select(_C.c.id, _C.c.week, _C.c.day, _C.c.complaint).where(and_(*cond))
                .order_by(_C.c.started_at, _C.c.id))]
            texts: dict[str, str] = {}
            q = (select(_M.c.conversation_id, _M.c.text).join(_C, and_(_M.c.tenant == _C.c.tenant,
                                                                     _M.c.conversation_id == _C.c.id))
                 .where(and_(*cond), _M.c.role == "customer").order_by(_M.c.conversation_id, _M.c.seq))
            for r in conn.execute(q):
                texts.setdefault(r.conversation_id, r.text)
        return convs, [texts.get(c["id"], "")[: self.max_chars] or "-" for c in convs]

    async def fit_tenant(self, ops: Any, tenant: str, *, month: str | None = None, k: int | None = None,
                         ) -> dict[str, Any]:
        """Cluster the tenant's conversations (of ``month``), store each one's topic, name the
        topics and compute their weekly trends."""
        convs, docs = await anyio.to_thread.run_sync(self._load, ops, tenant, month)
        labels = await self.fit(docs, k)

        def finish() -> dict[str, Any]:
            ops.store.set_topics(tenant, {c["id"]: int(lab) for c, lab in zip(convs, labels, strict=True)})
            return self.describe(convs, docs, labels)

        return await anyio.to_thread.run_sync(finish)

    def describe(self, convs: Sequence[dict[str, Any]], docs: Sequence[str], labels: np.ndarray) -> dict[str, Any]:
        ids = sorted(set(int(x) for x in labels))
        by_topic = {t: [d for d, lab in zip(docs, labels, strict=True) if lab == t] for t in ids}
        names = ctfidf_names([by_topic[t] for t in ids])
        weeks = sorted({str(c["week"]) for c in convs})
        active: dict[str, set[str]] = defaultdict(set)
        for c in convs:
            active[str(c["week"])].add(str(c.get("day", c["week"])))
        vol: dict[int, Counter[str]] = defaultdict(Counter)
        comp: dict[int, Counter[str]] = defaultdict(Counter)
        for c, lab in zip(convs, labels, strict=True):
            w = str(c["week"])
            vol[int(lab)][w] += 1
            comp[int(lab)][w] += int(bool(c.get("complaint")))
        topics: list[dict[str, Any]] = []
        for t, name in zip(ids, names, strict=True):
            series = []
            rising_weeks = []
            prev: tuple[int, float, float] | None = None
            prev_days = 0
            for w in weeks:
                n, k = vol[t][w], comp[t][w]
                share = k / n if n else 0.0
                per_day = n / max(1, len(active[w]))
                reasons = []
                if prev is not None and len(active[w]) >= self.min_days and prev_days >= self.min_days:
                    pn, pshare, pday = prev
                    if n >= self.min_volume and per_day >= self.volume_ratio * max(pday, 1 / 7):
                        reasons.append(f"volume {pday:.1f}→{per_day:.1f} a day")
                    if k >= self.min_complaints and share - pshare >= self.complaint_delta:
                        reasons.append(f"complaint share {pshare:.0%}→{share:.0%}")
                if reasons:
                    rising_weeks.append({"week": w, "reasons": reasons})
                series.append({"week": w, "conversations": n, "complaints": k, "complaint_share": round(share, 4)})
                prev, prev_days = (n, share, per_day), len(active[w])
            size = sum(vol[t].values())
            topics.append({
                "id": t, "name": " / ".join(name) or f"topic {t}", "terms": name, "size": size,
                "complaint_share": round(sum(comp[t].values()) / size, 4) if size else 0.0,
                "weeks": series, "rising": bool(rising_weeks), "rising_weeks": rising_weeks,
            })
        topics.sort(key=lambda x: -x["size"])
        return {"conversations": len(convs), "weeks": weeks, "topics": topics}
