"""Embedder adaptation without a model: training rows, the version registry, the switch rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.config import Settings
from assist.embedders.adapt import (
    MANIFEST_FILE,
    LabelledPair,
    TrainingPair,
    data_sha256,
    pairs_from_groups,
    pairs_from_labelled,
    read_labelled_pairs,
)
from assist.embedders.tenant_data import GoldenScore, compare
from assist.embedders.versions import (
    list_versions,
    next_version_dir,
    read_registry,
    rollback_target,
    set_active,
    tenant_models_dir,
    tenant_settings,
)
from assist.errors import InputError, NotFoundError

pytestmark = pytest.mark.unit


def test_labelled_pairs_positive_rows_hard_negatives_and_duplicates() -> None:
    rows = [
        LabelledPair("怎么还款", "如何还款", 1),
        LabelledPair("如何还款", "怎么还款", 1),  # the same pair the other way round
        LabelledPair("怎么还款", "怎么借款", 0),
        LabelledPair("额度多少", "能借多少", 1),
        LabelledPair("同一句", "同一句", 1),  # no pair of two identical sentences
    ]
    pairs = pairs_from_labelled(rows)
    assert pairs == [
        TrainingPair("怎么还款", "如何还款", "怎么借款"),
        TrainingPair("额度多少", "能借多少", None),
    ]
    assert all(p.negative is None for p in pairs_from_labelled(rows, hard_negatives=False))


def test_groups_give_pairs_within_and_the_closest_other_phrasing_as_negative() -> None:
    groups = [["怎么查询订单", "订单在哪里看"], ["怎么取消订单", "不想要了能取消吗"], ["单独一句"]]
    pairs = pairs_from_groups(groups)
    assert [(p.anchor, p.positive) for p in pairs] == [
        ("怎么查询订单", "订单在哪里看"),
        ("怎么取消订单", "不想要了能取消吗"),
    ]
    assert pairs[0].negative == "怎么取消订单"  # shares the most characters, another entry
    assert pairs[1].negative not in groups[1]


def test_data_fingerprint_is_stable_and_order_sensitive() -> None:
    a, b = TrainingPair("a", "b"), TrainingPair("c", "d", "e")
    assert data_sha256([a, b]) == data_sha256([a, b]) != data_sha256([b, a])


def test_read_labelled_pairs(tmp_path: Path) -> None:
    f = tmp_path / "pairs.jsonl"
    f.write_text(json.dumps({"sentence1": "甲", "sentence2": "乙", "label": 1}, ensure_ascii=False) + "\n\n")
    assert read_labelled_pairs(tmp_path) == [LabelledPair("甲", "乙", 1)]
    f.write_text('{"sentence1": "甲", "label": 1}\n')
    with pytest.raises(InputError, match="pairs.jsonl:1"):
        read_labelled_pairs(f)


def _settings(tmp_path: Path, model: str = "e5-small") -> Settings:
    return Settings(
        _env_file=None,
        env="test",
        home=tmp_path / "home",
        models_path=tmp_path / "models",
        embedder={"model": model},
    )


def _fake_version(settings: Settings, tenant: str, created: str) -> Path:
    """A folder that looks like an adapted model (manifest + modules.json), no weights."""
    d = next_version_dir(settings, tenant)
    d.mkdir(parents=True)
    (d / "modules.json").write_text("[]")
    (d / MANIFEST_FILE).write_text(
        json.dumps(
            {
                "model_id": d.name,
                "base_model": "x",
                "base_model_id": "e5-small",
                "created_at": created,
                "pairs": 3,
                "with_negative": 1,
                "data_sha256": "0",
                "steps": 1,
                "epochs": 1.0,
                "train_seconds": 2.0,
                "final_loss": None,
                "config": {},
                "prompts": {},
            }
        )
    )
    return d


def test_registry_switch_rollback_and_tenant_settings(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    assert read_registry(s, "nova") is None and tenant_settings(s, "nova") is s
    with pytest.raises(InputError, match="nothing to roll back"):
        rollback_target(s, "nova")
    v1 = _fake_version(s, "nova", "2026-12-08T00:00:01+00:00")
    v2 = _fake_version(s, "nova", "2026-12-08T00:00:02+00:00")
    assert (v1.name, v2.name) == ("e5-small-nova-v1", "e5-small-nova-v2")
    with pytest.raises(NotFoundError):
        set_active(s, "nova", "e5-small-nova-v9", action="adapt")

    set_active(s, "nova", v1.name, action="adapt")
    set_active(s, "nova", v2.name, action="adapt")
    assert [v.name for v in list_versions(s, "nova") if v.active] == [v2.name]
    resolved = tenant_settings(s, "nova")
    assert resolved.embedder.model == str(v2) and resolved.embedder.quantize == "none"
    assert tenant_settings(s, "bank") is s  # other tenants untouched
    assert s.embedder.model == "e5-small"  # the caller's settings are not modified

    # rollback walks back: v2 -> v1 -> base
    assert rollback_target(s, "nova") == v1.name
    set_active(s, "nova", v1.name, action="rollback")
    assert rollback_target(s, "nova") is None
    set_active(s, "nova", None, action="rollback")
    assert tenant_settings(s, "nova") is s
    reg = read_registry(s, "nova")
    assert reg is not None and [h.action for h in reg.history] == ["adapt", "adapt", "rollback", "rollback"]
    assert not list((tenant_models_dir(s, "nova")).glob(".active-*"))  # no temporary file left behind


def test_an_adapted_model_of_another_base_is_not_used(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    v1 = _fake_version(s, "nova", "2026-12-08T00:00:01+00:00")
    set_active(s, "nova", v1.name, action="adapt")
    other = _settings(tmp_path, model="embeddinggemma")
    assert tenant_settings(other, "nova") is other


def test_tenant_ids_cannot_escape_the_models_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        tenant_models_dir(_settings(tmp_path), "../etc")


def _score(model: str, per_item: dict[int, int | None], manual: set[int]) -> GoldenScore:
    hits = [i for i, r in per_item.items() if r is not None]
    return GoldenScore(
        model_id=model,
        items=len(per_item),
        hits=len(hits),
        per_item=per_item,
        manual_items=len(manual),
        manual_hits=len([i for i in hits if i in manual]),
    )


def test_switch_only_when_not_worse() -> None:
    cur = _score("base", {1: 1, 2: None, 3: 2}, manual={1})
    assert compare(cur, _score("new", {1: 1, 2: 1, 3: 3}, manual={1})).switch
    worse = compare(cur, _score("new", {1: 1, 2: None, 3: None}, manual={1}))
    assert not worse.switch and worse.worse == [3] and "worse" in worse.reason
    # as many hits overall, but a manual (never trained on) item lost: no switch
    assert not compare(cur, _score("new", {1: None, 2: 1, 3: 1}, manual={1})).switch
    assert not compare(_score("base", {}, set()), _score("new", {}, set())).switch  # nothing to judge by
