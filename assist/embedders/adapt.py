"""Adapting an embedder to a tenant's language: contrastive fine-tuning on paraphrase pairs.

The training is sentence-transformers' own (:class:`SentenceTransformerTrainer`) with
:class:`MultipleNegativesRankingLoss`: for each (anchor, positive[, hard negative]) row the
anchor must be closer to its positive than to every other positive of the batch and to
the hard negatives. The model's own prompts are kept: anchors are encoded as queries
(e5: ``query: ``), positives and negatives as documents (``passage: ``), exactly as the
retriever encodes customer questions and indexed articles.

Nothing here knows about tenants: callers hand in :class:`TrainingPair` rows (built with
:func:`pairs_from_labelled` from labelled paraphrase pairs, or :func:`pairs_from_groups`
from groups of phrasings of one answer) and get a new model directory with a manifest.
A model directory is never overwritten: training writes to ``OUT.partial`` and renames it.

Example:
    >>> pairs = pairs_from_labelled([LabelledPair("怎么还款", "如何还款", 1)])
    >>> manifest = adapt_embedder(Path(".assist/models/e5-small"), pairs,
    ...                           Path("/tmp/e5-adapted"), config=AdaptConfig(max_steps=1))  # doctest: +SKIP
    >>> manifest.steps
    1
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assist.errors import ConfigError, InputError

log = logging.getLogger(__name__)

__all__ = [
    "MANIFEST_FILE",
    "AdaptConfig",
    "AdaptManifest",
    "LabelledPair",
    "TrainingPair",
    "adapt_embedder",
    "data_sha256",
    "pairs_from_groups",
    "pairs_from_labelled",
    "read_labelled_pairs",
    "read_manifest",
]

MANIFEST_FILE = "adapt_manifest.json"
"""The manifest every adapted model directory carries."""


@dataclass(frozen=True)
class LabelledPair:
    """Two sentences and whether they mean the same (1) or not (0)."""

    sentence1: str
    sentence2: str
    label: int


@dataclass(frozen=True)
class TrainingPair:
    """One training row: the anchor (encoded as a query), a positive (encoded as a
    document) and optionally a hard negative (encoded as a document)."""

    anchor: str
    positive: str
    negative: str | None = None


@dataclass(frozen=True)
class AdaptConfig:
    """How long and how hard to train. Defaults fit short questions on a CPU."""

    epochs: float = 1.0
    max_steps: int | None = None
    """Stop after this many optimizer steps (None: ``epochs`` decide)."""
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    max_seq_length: int = 64
    seed: int = 42
    symmetric: bool = True
    """Also rank anchors for each positive (MNRL's ``doc_to_query`` direction): paraphrases go both ways."""
    train_word_embeddings: bool = False
    """Off: the (large, mostly unused) word-embedding matrix is frozen, which keeps the
    optimizer step cheap on a CPU; the transformer layers learn."""
    train_layers: int | None = None
    """Train only the top N transformer layers (None: all); the frozen lower layers need no
    backward pass, which makes a step cheaper on a CPU."""
    max_seconds: float | None = None
    """Stop after the step that crosses this much training time (the steps done are in
    the manifest; ``max_steps`` set to that number reproduces the run)."""
    threads: int | None = None
    """torch intra-op threads (None: torch's default)."""
    scale: float = 20.0
    """MNRL's similarity scale (inverse temperature)."""


@dataclass
class AdaptManifest:
    """What ``MANIFEST_FILE`` records about one adapted model."""

    model_id: str
    base_model: str
    base_model_id: str
    created_at: str
    pairs: int
    with_negative: int
    data_sha256: str
    steps: int
    epochs: float
    train_seconds: float
    final_loss: float | None
    config: dict[str, Any]
    prompts: dict[str, str]
    data_sources: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True)


# ------------------------------------------------------------------------- data
def read_labelled_pairs(path: Path) -> list[LabelledPair]:
    """A JSONL file of ``{sentence1, sentence2, label}`` rows (``pairs.jsonl`` of a folder).

    Raises:
        InputError: Missing file, a bad line, or a row without both sentences and a 0/1 label.
    """
    f = path / "pairs.jsonl" if path.is_dir() else path
    if not f.is_file():
        raise InputError(f"{path}: no pairs file (a JSONL file, or a folder holding pairs.jsonl)")
    out: list[LabelledPair] = []
    with f.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                s1, s2, label = (
                    str(row["sentence1"]).strip(),
                    str(row["sentence2"]).strip(),
                    int(row["label"]),
                )
            except (ValueError, KeyError, TypeError) as e:
                raise InputError(f"{f}:{n}: not a {{sentence1, sentence2, label}} JSON line ({e})") from e
            if not s1 or not s2 or label not in (0, 1):
                raise InputError(f"{f}:{n}: both sentences must be non-empty and the label 0 or 1")
            out.append(LabelledPair(s1, s2, label))
    return out


def _bigrams(text: str) -> set[str]:
    t = "".join(text.lower().split())
    return {t[i : i + 2] for i in range(len(t) - 1)} or {t}


def _closest(text: str, candidates: Sequence[str]) -> str | None:
    """The candidate sharing most character bigrams with ``text`` (Jaccard; ties: first)."""
    mine = _bigrams(text)
    best, best_score = None, -1.0
    for c in candidates:
        other = _bigrams(c)
        score = len(mine & other) / max(1, len(mine | other))
        if score > best_score:
            best, best_score = c, score
    return best


def pairs_from_labelled(rows: Iterable[LabelledPair], *, hard_negatives: bool = True) -> list[TrainingPair]:
    """Positive pairs become training rows; a negative pair sharing a sentence with a
    positive row becomes that row's hard negative (a human-judged near miss). Duplicate
    pairs (either order) are kept once; order follows the input (deterministic)."""
    rows = list(rows)
    negatives: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.label == 0:
            negatives[r.sentence1].append(r.sentence2)
            negatives[r.sentence2].append(r.sentence1)
    seen: set[frozenset[str]] = set()
    out: list[TrainingPair] = []
    for r in rows:
        if r.label != 1 or r.sentence1 == r.sentence2:
            continue
        key = frozenset((r.sentence1, r.sentence2))
        if key in seen:
            continue
        seen.add(key)
        neg = None
        if hard_negatives:
            cands = [
                n for n in negatives.get(r.sentence1, []) + negatives.get(r.sentence2, []) if n not in key
            ]
            neg = cands[0] if cands else None
        out.append(TrainingPair(r.sentence1, r.sentence2, neg))
    return out


def pairs_from_groups(
    groups: Sequence[Sequence[str]], *, max_pairs_per_group: int = 20, hard_negatives: bool = True
) -> list[TrainingPair]:
    """Groups of phrasings that share one answer (an FAQ entry's question and its
    alternatives) -> pairs within each group; the hard negative of a pair is the phrasing
    of *another* group most similar in characters to its anchor.

    Groups with fewer than two distinct phrasings add nothing (no positive).
    """
    clean = [list(dict.fromkeys(p.strip() for p in g if p and p.strip())) for g in groups]
    out: list[TrainingPair] = []
    for gi, g in enumerate(clean):
        if len(g) < 2:
            continue
        others = [p for gj, h in enumerate(clean) if gj != gi for p in h if p not in g]
        n = 0
        for i, a in enumerate(g):
            for b in g[i + 1 :]:
                if n >= max_pairs_per_group:
                    break
                neg = _closest(a, others) if hard_negatives and others else None
                out.append(TrainingPair(a, b, neg))
                n += 1
    return out


def data_sha256(pairs: Sequence[TrainingPair]) -> str:
    """A fingerprint of the training rows, in order (the manifest's ``data_sha256``)."""
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps([p.anchor, p.positive, p.negative], ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def read_manifest(model_dir: Path) -> AdaptManifest | None:
    """The manifest of an adapted model directory, or None (a base model, or unreadable)."""
    f = model_dir / MANIFEST_FILE
    if not f.is_file():
        return None
    try:
        return AdaptManifest(**json.loads(f.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


# ------------------------------------------------------------------------- training
def _doc_prompt(prompts: dict[str, str]) -> str:
    for name in ("document", "passage", "corpus"):  # sentence-transformers' encode_document order
        if name in prompts:
            return prompts[name]
    return ""


def adapt_embedder(
    base: Path,
    pairs: Sequence[TrainingPair],
    out: Path,
    *,
    config: AdaptConfig | None = None,
    model_id: str | None = None,
    base_model_id: str | None = None,
    query_prompt_name: str | None = None,
    data_sources: dict[str, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    show_progress_bar: bool = True,
) -> AdaptManifest:
    """Fine-tune the sentence-transformers model in ``base`` on ``pairs`` and save the
    result as a new directory ``out`` (with :data:`MANIFEST_FILE`). CPU, seeded, bounded.

    Args:
        base: A local sentence-transformers directory (never modified).
        pairs: Training rows; rows with and without a negative may be mixed (they train as
            two datasets of one loss, batches drawn proportionally).
        out: The new model directory; must not exist.
        config: Epochs/steps, batch size, learning rate, sequence length, seed.
        model_id: Recorded name (default: ``out``'s name).
        base_model_id: The base's name as configured (``e5-small``).
        query_prompt_name: The model's prompt for queries (default ``query``).
        data_sources: Rows per source, recorded in the manifest.
        progress: ``progress(step, total_steps)`` after each optimizer step.
        show_progress_bar: The trainer's own progress bar (stderr).

    Raises:
        InputError: No pairs, or ``out`` exists already.
        ConfigError: ``base`` is not a local sentence-transformers directory.
    """
    cfg = config or AdaptConfig()
    if not pairs:
        raise InputError("no training pairs: an adaptation needs at least one (anchor, positive) pair")
    if out.exists():
        raise InputError(f"{out} exists already: an adapted model is never overwritten")
    if not (base / "modules.json").is_file():
        raise ConfigError(f"{base} is not a local sentence-transformers directory (no modules.json)")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("WANDB_DISABLED", "true")
    import datasets
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    transformers.set_seed(cfg.seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model.max_seq_length = cfg.max_seq_length
    prompts = {k: v for k, v in (model.prompts or {}).items() if v is not None}
    q_prompt = prompts.get(query_prompt_name or "query", "")
    d_prompt = _doc_prompt(prompts)
    _freeze(model, cfg)

    with_neg = [p for p in pairs if p.negative is not None]
    without = [p for p in pairs if p.negative is None]
    train: dict[str, Any] = {}
    if with_neg:
        train["triples"] = datasets.Dataset.from_dict(
            {
                "anchor": [p.anchor for p in with_neg],
                "positive": [p.positive for p in with_neg],
                "negative": [p.negative for p in with_neg],
            }
        )
    if without:
        train["pairs"] = datasets.Dataset.from_dict(
            {"anchor": [p.anchor for p in without], "positive": [p.positive for p in without]}
        )
    dataset: Any = datasets.DatasetDict(train) if len(train) > 1 else next(iter(train.values()))
    column_prompts = {"anchor": q_prompt, "positive": d_prompt, "negative": d_prompt}

    directions: tuple[Any, ...] = ("query_to_doc", "doc_to_query") if cfg.symmetric else ("query_to_doc",)
    loss = MultipleNegativesRankingLoss(model, scale=cfg.scale, directions=directions)

    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    work = partial / "_trainer"
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps if cfg.max_steps else -1,
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_ratio,  # a float below 1: a fraction of the steps (transformers 5)
        seed=cfg.seed,
        data_seed=cfg.seed,
        use_cpu=True,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        prompts=column_prompts,
        save_strategy="no",
        eval_strategy="no",
        logging_steps=max(1, min(50, (cfg.max_steps or 50))),
        report_to="none",
        disable_tqdm=not show_progress_bar,
        dataloader_num_workers=0,
        dataloader_drop_last=False,
    )

    losses: list[float] = []

    clock = [time.perf_counter()]

    class _Progress(TrainerCallback):  # type: ignore[misc]
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock[0] = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if progress is not None:
                progress(int(state.global_step), int(state.max_steps))
            if cfg.max_seconds is not None and time.perf_counter() - clock[0] >= cfg.max_seconds:
                log.info(
                    "training time budget of %.0f s reached at step %d", cfg.max_seconds, state.global_step
                )
                control.should_training_stop = True

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=dataset, loss=loss, callbacks=[_Progress()]
    )
    started = time.perf_counter()
    # The trainer prints its log lines and bar on stdout: keep stdout for the caller's output (--json).
    with contextlib.redirect_stdout(sys.stderr):
        result = trainer.train()
    seconds = time.perf_counter() - started
    for param in model.parameters():
        param.requires_grad = True
    shutil.rmtree(work, ignore_errors=True)
    model.save(str(partial))
    _drop_stale_exports(partial)

    manifest = AdaptManifest(
        model_id=model_id or out.name,
        base_model=str(base.resolve()),
        base_model_id=base_model_id or base.name,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        pairs=len(pairs),
        with_negative=len(with_neg),
        data_sha256=data_sha256(pairs),
        steps=int(result.global_step),
        epochs=float(cfg.epochs),
        train_seconds=round(seconds, 1),
        final_loss=losses[-1] if losses else (float(result.training_loss) if result.training_loss else None),
        config=asdict(cfg),
        prompts={"query": q_prompt, "document": d_prompt},
        data_sources=dict(data_sources or {}),
        versions={
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    )
    (partial / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    partial.rename(out)
    log.info("adapted %s -> %s: %d steps in %.0f s", base, out, manifest.steps, seconds)
    return manifest


def _freeze(model: Any, cfg: AdaptConfig) -> None:
    """Freeze the word embeddings (unless trained) and the layers below ``train_layers``."""
    import re

    layers = [
        int(m.group(1)) for n, _ in model.named_parameters() if (m := re.search(r"\.layer\.(\d+)\.", n))
    ]
    first = max(layers) + 1 - cfg.train_layers if layers and cfg.train_layers is not None else 0
    for name, param in model.named_parameters():
        m = re.search(r"\.layer\.(\d+)\.", name)
        if "word_embeddings" in name and not cfg.train_word_embeddings:
            param.requires_grad = False
        elif cfg.train_layers is not None and (m is None or int(m.group(1)) < first) and "embeddings" in name:
            param.requires_grad = False
        elif m is not None and int(m.group(1)) < first:
            param.requires_grad = False


def _drop_stale_exports(model_dir: Path) -> None:
    """An ONNX export copied from the base would describe the base's weights: remove it."""
    onnx = model_dir / "onnx"
    if onnx.exists():
        shutil.rmtree(onnx)
