"""Ticket routing: few-shot intent classification with out-of-scope detection.

A router embeds a handful of labelled examples per category (the same ``query: `` prompt
on both sides, because routing compares a customer message with other customer
messages: a symmetric task) and fits a light classifier on the normalised vectors:

* ``logreg``: scikit-learn ``LogisticRegression``; confidence = the top class probability.
* ``knn``: cosine to the class centroids and to the nearest examples; confidence = the best
  cosine, mapped through a softmax for the scores.

Two things sit around either head by default (session 7, ``docs/quality.md``, "Routing by
default"): the vectors are *centred* (the mean of the training examples subtracted, then
renormalised: e5 vectors share a large common component), and a *lexical* model (TF-IDF
word 1-2-grams and character 2-5-grams, logistic regression, fitted on the same examples)
joins the dense one in a probability ensemble (weighted geometric mean, ``lexical_weight``
0.3 on the lexical side). The lexical model separates intents that share a topic but not
their words (``card_arrival`` vs ``activate_my_card``), which a small embedder blurs;
character n-grams also work for Chinese. Routing a vector then needs the message's text too.

With ``label_names`` on, each category's name ("card_arrival" -> "card arrival", or the
names a caller passes) is added as one more example of that category. The name is part of
the label set, not test data, and it is the one example that states the intent outright:
on 10-shot banking77 it lifts e5-small accuracy 0.814 -> 0.827 and on CLINC150 0.863 ->
0.882, at the cost of one extra embedding per category (``docs/quality.md``, "Routing").

A message is *out of scope* when its out-of-scope signal (default: the best cosine to a
class centroid) is below ``oos_threshold``. The threshold is chosen on the few-shot data
alone (:meth:`EmbeddingRouter.calibrate_threshold`): a cross-validation over the examples
gives held-out signals of in-scope messages, and the threshold is the value that rejects
at most ``max_in_scope_rejection`` of them. Test intents are never looked at, so the
numbers reported by ``bench/routing_eval.py`` are honest.

:class:`TaxonomyRouter` wraps an :class:`EmbeddingRouter` for a tenant taxonomy
(``examples/tenants/<tenant>/taxonomy.yaml`` + ``routing_examples.jsonl``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assist.embedders.base import Embedder
from assist.errors import ConfigError
from assist.rules_loader import load_yaml_model

RoutingMethod = Literal["logreg", "knn"]
OOSSignal = Literal["similarity", "confidence"]

OOS_LABEL = "oos"
"""Examples with this label are never a class: they only help calibrate the threshold."""

DEFAULT_OOS_THRESHOLD = 0.0
"""No rejection until :meth:`EmbeddingRouter.calibrate_threshold` sets a threshold."""


class RoutingResult(BaseModel):
    """The routing decision for one message.

    ``label`` is the best in-scope label even when ``out_of_scope`` is true, so a caller
    can still show "closest: X". ``scores`` holds the top three ``(label, score)`` pairs.
    ``confidence`` is the top probability (logreg) or best class score (knn);
    ``similarity`` the best cosine to a class centroid. ``out_of_scope`` compares the
    router's ``oos_signal`` (one of those two) with its threshold.
    """

    model_config = ConfigDict(frozen=True)

    label: str
    confidence: float
    scores: list[tuple[str, float]]
    out_of_scope: bool
    similarity: float = 0.0


class ThresholdCalibration(BaseModel):
    """What :meth:`EmbeddingRouter.calibrate_threshold` measured and chose."""

    threshold: float
    max_in_scope_rejection: float
    folds: int
    cv_accuracy: float
    """Held-out accuracy of the cross-validation (in-scope examples, no rejection)."""
    cv_in_scope_rejected: float
    """Fraction of held-out in-scope examples below the threshold."""
    cv_oos_recall: float | None = None
    """Fraction of ``oos`` examples (when the few-shot data has them) below the threshold."""


def humanise_label(label: str) -> str:
    """Turn a label id into words an embedder understands: ``"card_arrival"`` -> ``"card arrival"``."""
    return " ".join(label.replace("-", "_").split("_")).strip()


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


LEXICAL_WEIGHT = 0.3
"""Default weight of the lexical model in the probability ensemble (see :class:`EmbeddingRouter`)."""


def _lexical_vectorizer() -> Any:
    """Word uni/bigrams plus character 2-5-grams inside word boundaries, TF-IDF with
    sublinear counts; character n-grams also cover Chinese, which has no spaces."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )


class _Model:
    """A fitted classifier over normalised vectors (and, with a lexical weight, the example
    texts); no embedder, so cross-validation can refit it cheaply."""

    def __init__(
        self,
        method: RoutingMethod,
        *,
        C: float,
        k: int,
        temperature: float,
        lexical_weight: float = 0.0,
        center: bool = False,
    ) -> None:
        self.method = method
        self.C = C
        self.k = k
        self.temperature = temperature
        self.lexical_weight = lexical_weight
        self.center = center
        self.labels: list[str] = []
        self._mean: np.ndarray | None = None

    def _prep(self, x: np.ndarray) -> np.ndarray:
        """Subtract the training mean and renormalise: e5 vectors share a large common
        component (every cosine is 0.7-0.9), which the classes then differ around."""
        return x if self._mean is None else _normalise(x - self._mean)

    def fit(self, x: np.ndarray, y: Sequence[str], texts: Sequence[str] | None = None) -> _Model:
        self.labels = sorted(set(y))
        idx = {label: i for i, label in enumerate(self.labels)}
        yi = np.array([idx[label] for label in y])
        self._mean = x.mean(axis=0) if self.center else None
        x = self._prep(x)
        if self.method == "logreg" or self.lexical_weight > 0:
            if len(self.labels) < 2:
                raise ConfigError("routing needs at least two categories with examples")
        if self.method == "logreg":
            from sklearn.linear_model import LogisticRegression

            # A large C: with ~10 examples per class the default C=1 gives near-uniform
            # probabilities, which makes the top probability useless as a confidence.
            self._clf = LogisticRegression(C=self.C, max_iter=2000)
            self._clf.fit(x, yi)
        if self.lexical_weight > 0:
            if texts is None or len(texts) != len(yi):
                raise ConfigError("the lexical routing model needs the example texts")
            from sklearn.linear_model import LogisticRegression

            self._vectorizer = _lexical_vectorizer()
            self._lex = LogisticRegression(C=self.C, max_iter=2000)
            self._lex.fit(self._vectorizer.fit_transform(list(texts)), yi)
        self._x = x
        self._yi = yi
        self._centroids = _normalise(np.stack([x[yi == i].mean(axis=0) for i in range(len(self.labels))]))
        return self

    def similarity(self, x: np.ndarray) -> np.ndarray:
        """Best cosine between each row and a class centroid: "how close to anything we know"."""
        return (self._prep(x) @ self._centroids.T).max(axis=1)

    def scores(self, x: np.ndarray, texts: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(probabilities over labels, confidence per row)``; ``texts`` (the
        messages) are required when the model has a lexical part."""
        x = self._prep(x)
        if self.method == "logreg":
            proba = self._with_lexical(self._clf.predict_proba(x), texts)
            return proba, proba.max(axis=1)
        # Class score = mean of the centroid cosine and the mean of the k best example
        # cosines of that class: the centroid is robust, the neighbours keep multi-modal
        # classes ("refund" said ten different ways) from being averaged away.
        sims = x @ self._x.T
        cent = x @ self._centroids.T
        n_labels = len(self.labels)
        knn = np.empty_like(cent)
        for i in range(n_labels):
            s = sims[:, self._yi == i]
            k = min(self.k, s.shape[1])
            knn[:, i] = np.sort(s, axis=1)[:, -k:].mean(axis=1)
        class_scores = (cent + knn) / 2.0
        z = class_scores / self.temperature
        z = z - z.max(axis=1, keepdims=True)
        proba = np.exp(z)
        proba /= proba.sum(axis=1, keepdims=True)
        # Confidence is the raw best cosine: it says "how close to anything we know",
        # which is what out-of-scope detection needs; softmax mass does not.
        return self._with_lexical(proba, texts), class_scores.max(axis=1)

    def _with_lexical(self, proba: np.ndarray, texts: Sequence[str] | None) -> np.ndarray:
        """The probability ensemble: a weighted geometric mean of the dense model's and the
        lexical model's probabilities (``lexical_weight`` on the lexical side)."""
        if self.lexical_weight <= 0:
            return proba
        if texts is None or len(texts) != proba.shape[0]:
            raise ConfigError("the lexical routing model needs the message texts, one per vector")
        lex = self._lex.predict_proba(self._vectorizer.transform(list(texts)))
        w = self.lexical_weight
        logp = (1.0 - w) * np.log(proba + 1e-12) + w * np.log(lex + 1e-12)
        logp -= logp.max(axis=1, keepdims=True)
        out = np.exp(logp)
        return np.asarray(out / out.sum(axis=1, keepdims=True))


class EmbeddingRouter:
    """Few-shot router over frozen embeddings, with out-of-scope rejection.

    Args:
        embedder: Any :class:`~assist.embedders.base.Embedder`. Both examples and messages
            go through ``embed_queries`` (symmetric prompt).
        examples: ``(text, label)`` pairs; label ``"oos"`` marks out-of-scope examples,
            which are used only to report calibration quality.
        method: ``"logreg"`` or ``"knn"``.
        oos_threshold: Signal value below which a message is out of scope. ``None`` keeps
            the default (no rejection) until :meth:`calibrate_threshold` is called.
        oos_signal: ``"similarity"`` (best centroid cosine; default: on CLINC150 with
            e5-small it separates out-of-scope messages better, AUROC 0.96 vs 0.94 for the
            logreg probability) or ``"confidence"``.
        C: Inverse regularisation of the logistic regression.
        k: Neighbours per class for ``knn``.
        temperature: Softmax temperature of ``knn`` scores.
        label_names: Add category names as extra examples. ``True`` uses each label id in
            words (:func:`humanise_label`); a mapping ``label -> [names]`` gives the names
            (e.g. a taxonomy's Chinese and English names). ``False`` (default) adds none.
        lexical_weight: Weight of the lexical (TF-IDF) model in the probability ensemble,
            in ``[0, 1)``; 0 routes on the vectors alone (then :meth:`predict_vectors`
            needs no texts).
        center: Subtract the mean of the training vectors (and renormalise) before the
            classifier and the centroid similarity.

    Example:
        >>> router = EmbeddingRouter(embedder, [("where is my parcel", "logistics_delay"),
        ...                                     ("I want my money back", "refund_return")])
        >>> await router.fit()
        >>> router.calibrate_threshold(max_in_scope_rejection=0.05)
        >>> (result,) = await router.predict(["my package has not arrived"])
        >>> result.label, result.out_of_scope
        ('logistics_delay', False)
    """

    def __init__(
        self,
        embedder: Embedder,
        examples: Sequence[tuple[str, str]],
        *,
        method: RoutingMethod = "logreg",
        oos_threshold: float | None = None,
        oos_signal: OOSSignal = "similarity",
        C: float = 100.0,
        k: int = 3,
        temperature: float = 0.02,
        label_names: bool | Mapping[str, Sequence[str]] = False,
        lexical_weight: float = LEXICAL_WEIGHT,
        center: bool = True,
    ) -> None:
        if not 0.0 <= lexical_weight < 1.0:
            raise ConfigError(f"lexical_weight must be in [0, 1), got {lexical_weight}")
        if method not in ("logreg", "knn"):
            raise ConfigError(f"unknown routing method {method!r}: use 'logreg' or 'knn'")
        if not examples:
            raise ConfigError("routing needs labelled examples: pass (text, label) pairs")
        self.embedder = embedder
        self.examples = list(examples)
        self.examples += self._label_name_examples(label_names)
        self.method: RoutingMethod = method
        if oos_signal not in ("similarity", "confidence"):
            raise ConfigError(f"unknown oos_signal {oos_signal!r}: use 'similarity' or 'confidence'")
        self.oos_signal: OOSSignal = oos_signal
        self.oos_threshold = DEFAULT_OOS_THRESHOLD if oos_threshold is None else oos_threshold
        self.C = C
        self.k = k
        self.temperature = temperature
        self.lexical_weight = lexical_weight
        self.center = center
        self._x: np.ndarray | None = None
        self._model: _Model | None = None
        self.calibration: ThresholdCalibration | None = None
        self._cv_cache: tuple[Any, np.ndarray, np.ndarray, np.ndarray] | None = None

    def _label_name_examples(self, label_names: bool | Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
        labels = sorted({label for _, label in self.examples if label != OOS_LABEL})
        if label_names is False:
            return []
        if label_names is True:
            return [(humanise_label(label), label) for label in labels]
        unknown = sorted(set(label_names) - set(labels))
        if unknown:
            raise ConfigError(
                f"label_names has labels without examples: {unknown}; add examples for them "
                f"or drop them from label_names (known: {labels})"
            )
        return [(name, label) for label in labels for name in label_names.get(label, []) if name.strip()]

    @property
    def labels(self) -> list[str]:
        """In-scope labels, sorted."""
        return sorted({label for _, label in self.examples if label != OOS_LABEL})

    def _new_model(self) -> _Model:
        return _Model(
            self.method,
            C=self.C,
            k=self.k,
            temperature=self.temperature,
            lexical_weight=self.lexical_weight,
            center=self.center,
        )

    async def _embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = await self.embedder.embed_queries(list(texts))
        return _normalise(np.asarray(vectors, dtype=np.float32))

    async def fit(self) -> EmbeddingRouter:
        """Embed the examples and fit the classifier."""
        x = await self._embed([t for t, _ in self.examples])
        return self.fit_vectors(x)

    def fit_vectors(self, x: np.ndarray) -> EmbeddingRouter:
        """Fit on precomputed example vectors (row i = ``self.examples[i]``, which ends with
        the label-name examples when ``label_names`` is on); for cached runs."""
        x = _normalise(np.asarray(x, dtype=np.float32))
        if x.shape[0] != len(self.examples):
            raise ConfigError(f"got {x.shape[0]} vectors for {len(self.examples)} examples")
        self._x = x
        mask = np.array([label != OOS_LABEL for _, label in self.examples])
        y = [label for _, label in self.examples if label != OOS_LABEL]
        texts = [text for text, label in self.examples if label != OOS_LABEL]
        self._model = self._new_model().fit(x[mask], y, texts)
        self._cv_cache = None
        return self

    def _cross_validate(
        self, labels: np.ndarray, texts: np.ndarray, in_scope: np.ndarray, fold_of: np.ndarray, folds: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Held-out OOS signal and correctness of every in-scope example, and the mean
        signal of each ``oos`` example over the folds' models."""
        assert self._x is not None
        conf = np.zeros(len(labels))
        correct = np.zeros(len(labels), dtype=bool)
        oos_idx = np.flatnonzero(~in_scope)
        oos_conf = np.zeros((folds, len(oos_idx)))
        for f in range(folds):
            train = in_scope & (fold_of != f)
            test = in_scope & (fold_of == f)
            model = self._new_model().fit(self._x[train], list(labels[train]), list(texts[train]))
            proba, c = model.scores(self._x[test], list(texts[test]))
            conf[test] = c if self.oos_signal == "confidence" else model.similarity(self._x[test])
            correct[test] = np.array(model.labels)[proba.argmax(axis=1)] == labels[test]
            if len(oos_idx):
                xo = self._x[oos_idx]
                oos_conf[f] = (
                    model.scores(xo, list(texts[oos_idx]))[1]
                    if self.oos_signal == "confidence"
                    else model.similarity(xo)
                )
        return conf, correct, oos_conf

    def calibrate_threshold(
        self, *, max_in_scope_rejection: float = 0.05, folds: int = 5, seed: int = 0
    ) -> ThresholdCalibration:
        """Choose ``oos_threshold`` by cross-validation on the few-shot examples only.

        Each fold holds out a share of every class's examples and fits on the rest; the
        threshold is the ``max_in_scope_rejection`` quantile of the held-out in-scope
        confidences, so at most that share of genuine in-scope messages would be
        rejected. Caveat, measured on CLINC150: few-shot examples written together are
        closer to each other than real traffic is, so real messages score lower than the
        held-out examples and the realised rejection rate is higher than the target
        (5% target -> ~8% of real in-scope messages rejected); pick the target with that
        in mind.

        Args:
            max_in_scope_rejection: The share of in-scope messages we accept to lose to
                "out of scope" (0.05 = 5%).
            folds: Cross-validation folds (capped by the smallest class size).
            seed: Shuffling seed, for reproducible thresholds.

        Returns:
            The measurements and the chosen threshold (also stored on ``self.calibration``).
        """
        if self._x is None:
            raise ConfigError("call fit() before calibrate_threshold()")
        labels = np.array([label for _, label in self.examples])
        texts = np.array([text for text, _ in self.examples], dtype=object)
        in_scope = labels != OOS_LABEL
        counts = {lab: int((labels == lab).sum()) for lab in set(labels[in_scope])}
        folds = max(2, min(folds, min(counts.values())))
        rng = np.random.default_rng(seed)
        fold_of = np.full(len(labels), -1)
        for lab in counts:
            idx = np.flatnonzero(labels == lab)
            rng.shuffle(idx)
            fold_of[idx] = np.arange(len(idx)) % folds
        # The held-out signals depend on the folds, not on the budget: cached, so that an
        # operating curve (one calibration per budget) costs one cross-validation.
        key = (folds, seed, self.oos_signal)
        if self._cv_cache is None or self._cv_cache[0] != key:
            self._cv_cache = (key, *self._cross_validate(labels, texts, in_scope, fold_of, folds))
        _, conf, correct, oos_conf = self._cv_cache
        held = conf[in_scope]
        # The k-th smallest held-out confidence with k = floor(rate * n): a strict "<" then
        # rejects at most k of the n in-scope examples (interpolated quantiles can overshoot).
        k = int(np.floor(max_in_scope_rejection * len(held)))
        threshold = float(np.sort(held)[k]) if k > 0 else 0.0
        self.oos_threshold = threshold
        self.calibration = ThresholdCalibration(
            threshold=threshold,
            max_in_scope_rejection=max_in_scope_rejection,
            folds=folds,
            cv_accuracy=float(correct[in_scope].mean()),
            cv_in_scope_rejected=float((held < threshold).mean()),
            cv_oos_recall=float((oos_conf.mean(axis=0) < threshold).mean()) if oos_conf.shape[1] else None,
        )
        return self.calibration

    async def predict(self, texts: Sequence[str]) -> list[RoutingResult]:
        """Route each text; see :class:`RoutingResult`."""
        if not texts:
            return []
        return self.predict_vectors(await self._embed(texts), texts)

    def predict_vectors(self, x: np.ndarray, texts: Sequence[str] | None = None) -> list[RoutingResult]:
        """Route precomputed message vectors (for cached evaluation runs); ``texts``, the
        messages themselves, are required unless ``lexical_weight`` is 0."""
        if self._model is None:
            raise ConfigError("the router is not fitted: call `await router.fit()` first")
        x = _normalise(np.asarray(x, dtype=np.float32))
        proba, conf = self._model.scores(x, texts)
        sim = self._model.similarity(x)
        signal = sim if self.oos_signal == "similarity" else conf
        labels = self._model.labels
        out: list[RoutingResult] = []
        for row, c, s, g in zip(proba, conf, sim, signal, strict=True):
            top = np.argsort(-row)[:3]
            out.append(
                RoutingResult(
                    label=labels[int(top[0])],
                    confidence=float(c),
                    scores=[(labels[int(i)], float(row[i])) for i in top],
                    out_of_scope=bool(g < self.oos_threshold),
                    similarity=float(s),
                )
            )
        return out


# ----------------------------------------------------------------------------- taxonomy


class Category(BaseModel):
    """One routing category of a tenant."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    description: str = ""
    fallback: bool = False
    """The catch-all category (``other``): out-of-scope messages are routed here."""


class Taxonomy(BaseModel):
    """A tenant's category taxonomy (``taxonomy.yaml``).

    Example:
        >>> tax = Taxonomy.load("examples/tenants/nova/taxonomy.yaml")
        >>> tax.ids()[:2]
        ['order_inquiry', 'logistics_delay']
    """

    model_config = ConfigDict(extra="forbid")

    tenant: str
    categories: list[Category]

    @field_validator("categories")
    @classmethod
    def _unique(cls, v: list[Category]) -> list[Category]:
        seen: set[str] = set()
        for c in v:
            if c.id in seen:
                raise ValueError(f"duplicate category id {c.id!r}")
            seen.add(c.id)
        if sum(c.fallback for c in v) > 1:
            raise ValueError("at most one category may be the fallback")
        return v

    def ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def get(self, category_id: str) -> Category:
        for c in self.categories:
            if c.id == category_id:
                return c
        raise KeyError(category_id)

    @property
    def fallback(self) -> str | None:
        return next((c.id for c in self.categories if c.fallback), None)

    @classmethod
    def load(cls, path: str | Path) -> Taxonomy:
        """Load and validate a taxonomy file; errors are ``ConfigError("FILE:LINE: reason")``."""
        return load_yaml_model(Path(path), cls)


def load_examples(path: str | Path) -> list[tuple[str, str]]:
    """Read ``{"text", "label"}`` JSON lines (a ``language`` field is allowed and ignored)."""
    path = Path(path)
    out: list[tuple[str, str]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append((str(row["text"]), str(row["label"])))
        except (json.JSONDecodeError, KeyError) as e:
            raise ConfigError(f"{path}:{n}: expected a JSON object with 'text' and 'label' ({e})") from e
    return out


class TaxonomyRouter:
    """Routes customer messages to a tenant's taxonomy categories.

    Out-of-scope messages go to the taxonomy's fallback category (``other``) with
    ``out_of_scope=True``; examples labelled with the fallback id are treated as
    out-of-scope examples, because "other" is by nature not one coherent intent.
    ``category_names=True`` adds each category's ``name_zh`` and ``name_en`` as examples
    of it (see ``label_names`` in :class:`EmbeddingRouter`).

    Example:
        >>> router = TaxonomyRouter.from_files(embedder, "examples/tenants/nova/taxonomy.yaml",
        ...                                    "examples/tenants/nova/routing_examples.jsonl")
        >>> await router.fit()
        >>> (r,) = await router.predict(["我的快递一周了还没到"])
        >>> r.label
        'logistics_delay'
    """

    def __init__(
        self,
        embedder: Embedder,
        taxonomy: Taxonomy,
        examples: Sequence[tuple[str, str]],
        *,
        method: RoutingMethod = "logreg",
        max_in_scope_rejection: float = 0.02,
        category_names: bool = False,
    ) -> None:
        known = set(taxonomy.ids())
        unknown = sorted({label for _, label in examples if label not in known})
        if unknown:
            raise ConfigError(
                f"routing examples use categories not in the taxonomy: {unknown}; "
                f"add them to taxonomy.yaml or fix the labels (known: {sorted(known)})"
            )
        fallback = taxonomy.fallback
        mapped = [(t, OOS_LABEL if label == fallback else label) for t, label in examples]
        missing = sorted(known - {label for _, label in examples} - ({fallback} if fallback else set()))
        if missing:
            raise ConfigError(
                f"categories without routing examples: {missing}; add a few to the examples file"
            )
        self.taxonomy = taxonomy
        self.max_in_scope_rejection = max_in_scope_rejection
        # The category names (both languages) as extra examples: see EmbeddingRouter.
        names = (
            {c.id: [c.name_zh, c.name_en] for c in taxonomy.categories if c.id != fallback}
            if category_names
            else False
        )
        self.router = EmbeddingRouter(embedder, mapped, method=method, label_names=names)

    @classmethod
    def from_files(
        cls, embedder: Embedder, taxonomy_path: str | Path, examples_path: str | Path, **kwargs: Any
    ) -> TaxonomyRouter:
        return cls(embedder, Taxonomy.load(taxonomy_path), load_examples(examples_path), **kwargs)

    async def fit(self) -> TaxonomyRouter:
        await self.router.fit()
        self.router.calibrate_threshold(max_in_scope_rejection=self.max_in_scope_rejection)
        return self

    async def predict(self, texts: Sequence[str]) -> list[RoutingResult]:
        results = await self.router.predict(texts)
        fallback = self.taxonomy.fallback
        if fallback is None:
            return results
        return [r.model_copy(update={"label": fallback}) if r.out_of_scope else r for r in results]
