"""Routing: the router's logic on a deterministic n-gram embedder, the Nova taxonomy on real e5."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assist.errors import ConfigError
from assist.routing import (
    EmbeddingRouter,
    Taxonomy,
    TaxonomyRouter,
    humanise_label,
    load_examples,
)

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
NOVA = REPO / "examples" / "tenants" / "nova"


class NgramEmbedder:
    """Hashed character trigrams: similar strings get similar vectors (unlike FakeEmbedder,
    whose vectors are random per text), so classification logic can be tested exactly."""

    model_id = "ngram-test"
    dim = 256

    def warm_up(self) -> None:
        pass

    def _vec(self, text: str) -> list[float]:
        v = np.zeros(self.dim)
        t = f"  {text.lower()}  "
        for i in range(len(t) - 2):
            v[int(hashlib.md5(t[i : i + 3].encode()).hexdigest(), 16) % self.dim] += 1.0
        return list(v / (np.linalg.norm(v) or 1.0))

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vec(t) for t in texts]

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        raise AssertionError("routing must embed examples as queries (symmetric prompt)")

    async def embed_query(self, text: str) -> list[float]:
        return self._vec(text)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


EXAMPLES = [
    *[(f"where is my parcel number {i}", "delivery") for i in range(8)],
    *[(f"refund my money for order {i}", "refund") for i in range(8)],
    *[(f"reset my password account {i}", "account") for i in range(8)],
    ("tell me a joke", "oos"),
    ("what is the weather", "oos"),
]


@pytest.mark.parametrize("method", ["logreg", "knn"])
async def test_router_predicts_labels_and_top3(method: str) -> None:
    router = await EmbeddingRouter(NgramEmbedder(), EXAMPLES, method=method).fit()  # type: ignore[arg-type]
    assert router.labels == ["account", "delivery", "refund"]  # "oos" is never a class
    results = await router.predict(["where is my parcel", "refund my money", "reset password"])
    assert [r.label for r in results] == ["delivery", "refund", "account"]
    for r in results:
        assert len(r.scores) == 3 and r.scores[0][0] == r.label
        assert r.scores[0][1] >= r.scores[1][1] >= r.scores[2][1]
        assert not r.out_of_scope  # no threshold until calibrated
    assert await router.predict([]) == []


@pytest.mark.parametrize("method", ["logreg", "knn"])
async def test_calibrated_threshold_rejects_far_away_text(method: str) -> None:
    router = await EmbeddingRouter(NgramEmbedder(), EXAMPLES, method=method).fit()  # type: ignore[arg-type]
    cal = router.calibrate_threshold(max_in_scope_rejection=0.05, folds=4)
    assert cal.folds == 4 and router.oos_threshold == cal.threshold > 0
    assert cal.cv_in_scope_rejected <= 0.05 + 1e-9
    assert cal.cv_oos_recall is not None
    far, near = await router.predict(["xyzzy qqq zzz vvv", "where is my parcel number 9"])
    assert far.out_of_scope and far.confidence < cal.threshold
    assert not near.out_of_scope and near.label == "delivery"


async def test_calibration_is_deterministic_and_uses_only_examples() -> None:
    a = await EmbeddingRouter(NgramEmbedder(), EXAMPLES).fit()  # type: ignore[arg-type]
    b = await EmbeddingRouter(NgramEmbedder(), EXAMPLES).fit()  # type: ignore[arg-type]
    assert a.calibrate_threshold(seed=3) == b.calibrate_threshold(seed=3)


async def test_router_errors() -> None:
    with pytest.raises(ConfigError, match="method"):
        EmbeddingRouter(NgramEmbedder(), EXAMPLES, method="svm")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="examples"):
        EmbeddingRouter(NgramEmbedder(), [])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="fit"):
        await EmbeddingRouter(NgramEmbedder(), EXAMPLES).predict(["x"])  # type: ignore[arg-type]


def test_humanise_label() -> None:
    assert humanise_label("card_arrival") == "card arrival"
    assert humanise_label("top-up_failed") == "top up failed"


async def test_label_names_become_examples_of_their_label() -> None:
    # Two labels whose examples share nothing with "cancel subscription", so only the
    # label-name example can route a message that says exactly that.
    examples = [
        *[(f"where is my parcel number {i}", "delivery") for i in range(6)],
        *[(f"zzz qqq {i}", "cancel_subscription") for i in range(6)],
        ("tell me a joke", "oos"),
    ]
    plain = EmbeddingRouter(NgramEmbedder(), examples)  # type: ignore[arg-type]
    named = EmbeddingRouter(NgramEmbedder(), examples, label_names=True)  # type: ignore[arg-type]
    assert named.examples[: len(examples)] == examples  # training rows first, unchanged
    assert named.examples[len(examples) :] == [
        ("cancel subscription", "cancel_subscription"),
        ("delivery", "delivery"),
    ]  # one per in-scope label, sorted; never one for "oos"
    assert len(plain.examples) == len(examples)  # off by default (backwards compatible)
    await named.fit()
    (r,) = await named.predict(["please cancel my subscription"])
    assert r.label == "cancel_subscription"
    with pytest.raises(ConfigError, match="vectors"):
        named.fit_vectors(np.zeros((len(examples), 8)))  # vectors must cover the name rows too

    custom = EmbeddingRouter(
        NgramEmbedder(),  # type: ignore[arg-type]
        examples,
        label_names={"delivery": ["物流", "shipping", " "]},
    )
    assert custom.examples[len(examples) :] == [("物流", "delivery"), ("shipping", "delivery")]
    with pytest.raises(ConfigError, match="label_names has labels without examples: \\['refund'\\]"):
        EmbeddingRouter(NgramEmbedder(), examples, label_names={"refund": ["refund"]})  # type: ignore[arg-type]


def test_taxonomy_router_category_names() -> None:
    tax = Taxonomy.load(NOVA / "taxonomy.yaml")
    examples = load_examples(NOVA / "routing_examples.jsonl")
    router = TaxonomyRouter(NgramEmbedder(), tax, examples, category_names=True)  # type: ignore[arg-type]
    added = router.router.examples[len(examples) :]
    in_scope = [c for c in tax.categories if c.id != tax.fallback]
    assert sorted(added) == sorted((name, c.id) for c in in_scope for name in (c.name_zh, c.name_en))
    default = TaxonomyRouter(NgramEmbedder(), tax, examples)  # type: ignore[arg-type]
    assert len(default.router.examples) == len(examples)


def test_nova_taxonomy_and_examples_are_consistent() -> None:
    tax = Taxonomy.load(NOVA / "taxonomy.yaml")
    assert tax.ids() == [
        "order_inquiry",
        "logistics_delay",
        "refund_return",
        "repair_warranty",
        "product_usage",
        "complaint",
        "account_privacy",
        "billing_payment",
        "other",
    ]
    assert tax.fallback == "other" and tax.get("complaint").name_zh == "投诉"
    rows = [
        json.loads(line)
        for line in (NOVA / "routing_examples.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    for cid in tax.ids():
        langs = [r["language"] for r in rows if r["label"] == cid]
        assert langs.count("zh") >= 4 and langs.count("en") >= 4, cid


def test_taxonomy_router_rejects_unknown_labels() -> None:
    tax = Taxonomy.load(NOVA / "taxonomy.yaml")
    examples = load_examples(NOVA / "routing_examples.jsonl") + [("hello", "greetings")]
    with pytest.raises(ConfigError, match="greetings"):
        TaxonomyRouter(NgramEmbedder(), tax, examples)  # type: ignore[arg-type]


def test_taxonomy_load_error_has_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "taxonomy.yaml"
    bad.write_text(
        "tenant: x\ncategories:\n  - id: a\n    name_zh: 甲\n    name_en: a\n  - id: a\n    name_zh: 乙\n    name_en: b\n"
    )
    with pytest.raises(ConfigError, match=r"taxonomy.yaml:\d+: .*duplicate category id 'a'"):
        Taxonomy.load(bad)


@pytest.mark.slow
async def test_nova_router_on_real_e5(e5_dir: Path) -> None:
    from assist.embedders.sentence_transformers import SentenceTransformerEmbedder

    router = TaxonomyRouter.from_files(
        SentenceTransformerEmbedder(e5_dir), NOVA / "taxonomy.yaml", NOVA / "routing_examples.jsonl"
    )
    await router.fit()
    # Paraphrases not in the examples file, both languages.
    texts = {
        "我买的耳机快两周了还没送到，物流一直不动": "logistics_delay",
        "The vacuum I ordered still hasn't arrived and tracking is stuck": "logistics_delay",
        "我想把没拆封的手表退掉，钱怎么退": "refund_return",
        "How can I get an invoice for the laptop I bought?": "billing_payment",
        "净化器怎么设置睡眠模式": "product_usage",
        "I can't sign in, I think I forgot my password": "account_privacy",
    }
    results = await router.predict(list(texts))
    assert [r.label for r in results] == list(texts.values())
    assert not any(r.out_of_scope for r in results)
    # Out of scope for a retailer's service desk: routed to the fallback category.
    off_topic = await router.predict(["Can you write me a poem about cats?", "推荐一家好吃的餐厅"])
    assert [(r.label, r.out_of_scope) for r in off_topic] == [("other", True), ("other", True)]


# ------------------------------------------------------------- the lexical half of the head


class TopicEmbedder(NgramEmbedder):
    """A coarse embedder: a text's vector says only which topic word it mentions ("card",
    "transfer", "卡"), so intents inside one topic are indistinguishable to the dense model,
    the way e5-small blurs ``card_arrival`` and ``activate_my_card``."""

    TOPICS = ("card", "transfer", "卡")

    def _vec(self, text: str) -> list[float]:
        v = np.zeros(len(self.TOPICS) + 1)
        hits = [i for i, t in enumerate(self.TOPICS) if t in text.lower()]
        v[hits[0] if hits else -1] = 1.0
        return list(v)


TOPIC_EXAMPLES = [
    *[(f"my card has not arrived yet {w}", "card_arrival") for w in ("", "please", "still", "help", "why")],
    *[
        (f"how do i activate the card {w}", "activate_my_card")
        for w in ("", "please", "now", "help", "today")
    ],
    *[(f"the transfer failed {w}", "failed_transfer") for w in ("", "again", "today", "why", "help")],
    *[
        (f"how long does a transfer take {w}", "transfer_timing")
        for w in ("", "usually", "abroad", "now", "?")
    ],
    *[(f"我的卡还没寄到 {w}", "card_arrival") for w in ("", "怎么办", "好久了")],
    *[(f"卡怎么激活 {w}", "activate_my_card") for w in ("", "请问", "在哪里")],
]
TOPIC_MESSAGES = {
    "card still not arrived after a week": "card_arrival",
    "need to activate my new card": "activate_my_card",
    "my transfer failed, what happened": "failed_transfer",
    "transfer take how many days": "transfer_timing",
    "新卡一直没寄到": "card_arrival",
    "新卡怎么激活": "activate_my_card",
}


@pytest.mark.parametrize("method", ["logreg", "knn"])
async def test_lexical_features_separate_intents_the_embedder_blurs(method: str) -> None:
    dense = await EmbeddingRouter(TopicEmbedder(), TOPIC_EXAMPLES, method=method, lexical_weight=0.0).fit()  # type: ignore[arg-type]
    mixed = await EmbeddingRouter(TopicEmbedder(), TOPIC_EXAMPLES, method=method).fit()  # type: ignore[arg-type]
    assert mixed.lexical_weight == 0.3  # on by default
    gold = list(TOPIC_MESSAGES.values())
    dense_labels = [r.label for r in await dense.predict(list(TOPIC_MESSAGES))]
    mixed_results = await mixed.predict(list(TOPIC_MESSAGES))
    assert [r.label for r in mixed_results] == gold  # English word and Chinese character n-grams
    assert sum(a == b for a, b in zip(dense_labels, gold, strict=True)) <= 4  # the topic alone: a coin toss
    for r in mixed_results:  # the scores stay a distribution, best first
        assert r.scores[0][0] == r.label and 0.0 < r.scores[0][1] <= 1.0


async def test_lexical_router_needs_message_texts_with_vectors() -> None:
    router = await EmbeddingRouter(TopicEmbedder(), TOPIC_EXAMPLES).fit()  # type: ignore[arg-type]
    x = np.asarray(await TopicEmbedder().embed_queries(["card not arrived"]))
    with pytest.raises(ConfigError, match="texts"):
        router.predict_vectors(x)
    (r,) = router.predict_vectors(x, ["card not arrived"])
    assert r.label == "card_arrival"
    vectors_only = EmbeddingRouter(TopicEmbedder(), TOPIC_EXAMPLES, lexical_weight=0.0)  # type: ignore[arg-type]
    vectors_only.fit_vectors(np.asarray(await TopicEmbedder().embed_queries([t for t, _ in TOPIC_EXAMPLES])))
    assert len(vectors_only.predict_vectors(x)) == 1  # no lexical part: vectors suffice
    with pytest.raises(ConfigError, match="lexical_weight"):
        EmbeddingRouter(TopicEmbedder(), TOPIC_EXAMPLES, lexical_weight=1.0)  # type: ignore[arg-type]


async def test_centering_removes_the_shared_component() -> None:
    # Every vector carries the same large offset (as e5's do); centred, the similarity of a
    # text unlike every example drops far below the examples' own, uncentred it does not.
    class Offset(NgramEmbedder):
        def _vec(self, text: str) -> list[float]:
            return list(np.asarray(super()._vec(text)) + 3.0 / np.sqrt(self.dim))

    far = "xyzzy qqq zzz vvv"
    sims = {}
    for center in (False, True):
        router = await EmbeddingRouter(Offset(), EXAMPLES, center=center).fit()  # type: ignore[arg-type]
        near_r, far_r = await router.predict(["where is my parcel number 9", far])
        assert near_r.label == "delivery"
        sims[center] = (near_r.similarity, far_r.similarity)
    assert sims[False][1] > 0.8  # the offset makes everything look alike
    assert sims[True][1] < 0.5 < sims[True][0]


async def test_operating_curve_recalibration_reuses_the_cross_validation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assist import routing

    router = await EmbeddingRouter(NgramEmbedder(), EXAMPLES).fit()  # type: ignore[arg-type]
    fits = 0
    real_fit = routing._Model.fit

    def counting_fit(self: routing._Model, *args: object, **kwargs: object) -> routing._Model:
        nonlocal fits
        fits += 1
        return real_fit(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(routing._Model, "fit", counting_fit)
    a = router.calibrate_threshold(max_in_scope_rejection=0.0, folds=4)
    b = router.calibrate_threshold(max_in_scope_rejection=0.2, folds=4)
    assert fits == 4  # one model per fold, once
    assert a.threshold <= b.threshold and a.cv_accuracy == b.cv_accuracy
    router.calibrate_threshold(max_in_scope_rejection=0.2, folds=3)
    assert fits == 7  # other folds: a new cross-validation
