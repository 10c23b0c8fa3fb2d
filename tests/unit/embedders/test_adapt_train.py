"""A tiny real adaptation of e5-small (1 step on a handful of pairs), and the whole
``assist models adapt / versions / rollback`` cycle on the sample tenant: new version beside
the base, golden set before the switch, the tenant's own collection, rollback in one command.
Skipped when e5-small is not prepared."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assist.config import Settings
from assist.embedders.adapt import (
    MANIFEST_FILE,
    AdaptConfig,
    adapt_embedder,
    pairs_from_labelled,
    read_manifest,
)
from assist.embedders.adapt import LabelledPair as P
from assist.errors import InputError

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
PAIRS = [
    P("怎么还款", "如何还款", 1),
    P("怎么还款", "怎么借款", 0),
    P("额度是多少", "我能借多少钱", 1),
    P("订单在哪里看", "怎么查询订单", 1),
    P("How do I get a refund?", "Can I have my money back?", 1),
]


@pytest.fixture
def e5_or_skip(models_dir: Path) -> Path:
    path = models_dir / "e5-small"
    if not (path / "modules.json").is_file():
        pytest.skip("e5-small is not prepared (assist models prepare)")
    return path


def test_one_step_writes_a_new_version_with_its_manifest(e5_or_skip: Path, tmp_path: Path) -> None:
    out = tmp_path / "e5-small-t-v1"
    pairs = pairs_from_labelled(PAIRS)
    seen: list[tuple[int, int]] = []
    m = adapt_embedder(
        e5_or_skip,
        pairs,
        out,
        config=AdaptConfig(max_steps=1, batch_size=4, warmup_ratio=0.0),
        base_model_id="e5-small",
        progress=lambda s, t: seen.append((s, t)),
        show_progress_bar=False,
    )
    assert m.steps == 1 and seen[-1] == (1, 1) and m.train_seconds > 0
    assert m.pairs == 4 and m.with_negative == 1 and len(m.data_sha256) == 64
    assert m.prompts == {"query": "query: ", "document": "passage: "}  # the model's own prompts
    assert (out / "modules.json").is_file() and read_manifest(out) == m
    assert not out.with_name(out.name + ".partial").exists()
    cfg = json.loads((out / "config_sentence_transformers.json").read_text())
    assert cfg["prompts"]["query"] == "query: "  # the adapted model keeps prompting like the base
    with pytest.raises(InputError, match="never overwritten"):
        adapt_embedder(e5_or_skip, pairs, out, config=AdaptConfig(max_steps=1))
    with pytest.raises(InputError, match="no training pairs"):
        adapt_embedder(e5_or_skip, [], tmp_path / "other")

    from sentence_transformers import SentenceTransformer

    base, new = (SentenceTransformer(str(p), device="cpu", local_files_only=True) for p in (e5_or_skip, out))
    a, b = base.encode_query(["怎么还款"]), new.encode_query(["怎么还款"])
    assert a.shape == b.shape and float(abs(a - b).max()) > 0  # it did learn something


def test_models_adapt_versions_rollback_cycle(
    e5_or_skip: Path, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assist.embedders.versions import read_registry, tenant_settings
    from assist.runtime import Runtime
    from cli.main import app

    models = tmp_path / "models"
    models.mkdir()
    (models / "e5-small").symlink_to(e5_or_skip)
    env = {
        "ASSIST_HOME": str(tmp_path / "home"),
        "ASSIST_MODELS_PATH": str(models),
        "ASSIST_DEFAULT_TENANT": "nova",
        "ASSIST_TENANTS_DIR": str(ROOT / "examples" / "tenants"),
        "ASSIST_ENV": "test",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    kb = tmp_path / "kb"
    kb.mkdir()
    for name in ("faq-zh.csv", "faq-zh.csv.meta.yaml"):
        shutil.copy(ROOT / "examples" / "kb" / "faq" / name, kb / name)
    cli = CliRunner()
    assert cli.invoke(app, ["ingest", str(kb), "--publish"]).exit_code == 0
    r = cli.invoke(app, ["kb", "golden", "import", str(ROOT / "eval" / "golden")])
    assert r.exit_code == 0, r.output

    r = cli.invoke(
        app,
        [
            "models",
            "adapt",
            "--tenant",
            "nova",
            "--max-steps",
            "1",
            "--batch-size",
            "4",
            "--lr",
            "1e-7",
            "--json",
        ],
    )
    assert r.exit_code in (0, 3), r.output
    out = json.loads(r.stdout)
    assert out["version"] == "e5-small-nova-v1" and out["steps"] == 1
    assert out["data_sources"]["faq_phrasings"] > 0
    assert out["golden"]["current"]["items"] > 0 and out["index"]["chunks_embedded"] > 0
    # a 1-step, tiny-learning-rate model answers the golden set as the base does: switched
    assert r.exit_code == 0 and out["switched"], out["reason"]
    version = models / "adapted" / "nova" / "e5-small-nova-v1"
    assert (version / MANIFEST_FILE).is_file() and (version / "gate.json").is_file()
    assert (models / "e5-small" / "modules.json").is_file()  # the base is untouched

    s = Settings()
    resolved = tenant_settings(s, "nova")
    assert resolved.embedder.model == str(version) and tenant_settings(s, "bank").embedder.model == "e5-small"
    rt = Runtime.build(s, need_llm=False, tenant="nova")
    try:
        assert rt.embedder.model_id == "e5-small-nova-v1"
        assert "e5-small-nova-v1" in rt.store.collection  # type: ignore[attr-defined]
    finally:
        import anyio

        anyio.run(rt.close)

    r = cli.invoke(app, ["models", "versions", "--tenant", "nova", "--json"])
    listed = json.loads(r.stdout)
    assert listed["active"] == "e5-small-nova-v1" and listed["versions"][0]["gate"]["decision"]["switch"]

    r = cli.invoke(app, ["models", "rollback", "--tenant", "nova", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["active"] == "e5-small"
    reg = read_registry(s, "nova")
    assert reg is not None and reg.active is None and reg.history[-1].action == "rollback"
    r = cli.invoke(app, ["models", "rollback", "--tenant", "nova"])
    assert r.exit_code == 2 and "nothing to roll back" in r.output
