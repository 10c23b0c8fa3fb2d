"""The service serves a tenant switched to an adapted embedder (``assist models adapt``) with
that model and its own collection, and the other tenants with the configured one.

Real e5-small (skipped when not prepared), a 1-step adaptation registered as tenant
``nova``'s active version, the app with its lifespan (its own home: its own Qdrant folder).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assist.config import Settings
from assist.db import KeyRepository
from assist.embedders.adapt import AdaptConfig, LabelledPair, adapt_embedder, pairs_from_labelled
from assist.embedders.versions import next_version_dir, set_active
from assist.llm.fake import FakeChatModel
from assist.runtime import open_database
from serving.app import create_app
from tests.api.conftest import TENANT_A, TENANT_B, reply_fn
from tests.conftest import MODELS_DIR, REPO

PAIRS = [
    LabelledPair("积分怎么兑换", "如何用积分换礼品", 1),
    LabelledPair("积分怎么兑换", "怎么借款", 0),
    LabelledPair("订单在哪里看", "怎么查询订单", 1),
]
NOVA_ARTICLE = {
    "id": "nova-points-adapted", "title": "积分兑换", "language": "zh", "type": "faq", "publish": True,
    "body": "# 积分兑换\n\n积分可以在会员中心兑换礼品，兑换后三天内发货。NOVA-ADAPTED-MARKER",
}
ACME_ARTICLE = {
    "id": "acme-points-base", "title": "Acme points", "language": "en", "type": "policy", "publish": True,
    "body": "# Acme points\n\nAcme points are redeemed in the Acme wallet. ACME-BASE-MARKER",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    if not (MODELS_DIR / "e5-small" / "modules.json").is_file():
        pytest.skip("e5-small is not prepared (assist models prepare)")
    models = tmp_path / "models"  # the shared models folder stays free of test versions
    models.mkdir()
    for p in MODELS_DIR.iterdir():
        if p.name != "adapted":
            (models / p.name).symlink_to(p.resolve())
    return Settings(_env_file=None, env="test", home=tmp_path / "home", models_path=models,
                    tenants_dir=REPO / "examples" / "tenants", llm={"provider": "fake"},
                    server={"rate_limit": "100000/minute"})


def _keys(settings: Settings) -> dict[str, dict[str, str]]:
    db = open_database(settings)
    try:
        repo = KeyRepository(db)
        return {f"{t}:{role}": {"Authorization": f"Bearer {repo.create(f't-{role}', role, t)[0]}"}
                for t in (TENANT_A, TENANT_B) for role in ("agent", "knowledge_manager")}
    finally:
        db.dispose()


def _hits(c: TestClient, headers: dict[str, str], query: str) -> set[str]:
    r = c.post("/v1/search", json={"query": query, "top_k": 5}, headers=headers)
    assert r.status_code == 200, r.text
    return {h["article_id"] for h in r.json()["results"]}


def test_service_uses_the_tenants_adapted_embedder_until_rollback(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = next_version_dir(settings, TENANT_A)
    adapt_embedder(settings.models_dir / "e5-small", pairs_from_labelled(PAIRS), version,
                   config=AdaptConfig(max_steps=1, batch_size=4, warmup_ratio=0.0),
                   base_model_id="e5-small", show_progress_bar=False)
    set_active(settings, TENANT_A, version.name, action="adapt")
    keys = _keys(settings)
    app = create_app(settings, llm=FakeChatModel(reply_fn=reply_fn))
    with TestClient(app) as c:
        rts = app.state.tenant_runtimes
        r = c.post("/v1/articles", json=NOVA_ARTICLE, headers=keys[f"{TENANT_A}:knowledge_manager"])
        assert r.status_code == 201, r.text
        r = c.post("/v1/articles", json=ACME_ARTICLE, headers=keys[f"{TENANT_B}:knowledge_manager"])
        assert r.status_code == 201, r.text

        nova = c.portal.call(rts.get, TENANT_A)
        assert nova is not None and nova[0].embedder.model_id == version.name
        assert version.name in nova[0].store.collection
        assert nova[0].store.collection != app.state.pipeline.store.collection
        assert c.portal.call(rts.get, TENANT_B) is None  # the configured embedder, the main runtime
        assert nova[0].db is app.state.db and nova[0].llm is app.state.pipeline.llm

        # A's article went into A's adapted collection (only there), B's into the base one.
        assert NOVA_ARTICLE["id"] in _hits(c, keys[f"{TENANT_A}:agent"], "积分怎么兑换礼品")
        assert ACME_ARTICLE["id"] in _hits(c, keys[f"{TENANT_B}:agent"], "How are Acme points redeemed?")
        r = c.post("/v1/assist/draft", headers=keys[f"{TENANT_A}:agent"],
                   json={"turns": [{"role": "customer", "text": "积分怎么兑换礼品？"}]})
        assert r.status_code == 200, r.text
        assert NOVA_ARTICLE["id"] in {s["article_id"] for s in r.json()["sources"]}

        # Rollback (active.json replaced): A is served by the base model and collection again,
        # which this publication never reached (`assist models rollback` reindexes it first).
        set_active(settings, TENANT_A, None, action="rollback")
        assert c.portal.call(rts.get, TENANT_A) is None
        assert NOVA_ARTICLE["id"] not in _hits(c, keys[f"{TENANT_A}:agent"], "积分怎么兑换礼品")
        # Switching back reuses the runtime built for that version.
        set_active(settings, TENANT_A, version.name, action="activate")
        again = c.portal.call(rts.get, TENANT_A)
        assert again is not None and again[0] is nova[0]
        assert NOVA_ARTICLE["id"] in _hits(c, keys[f"{TENANT_A}:agent"], "积分怎么兑换礼品")
    assert nova[0]._closed  # closed with the app

    # The command line too: `assist search --tenant nova` searches nova's adapted collection,
    # the default tenant (acme here) the base one.
    for k, v in {"ASSIST_HOME": settings.home, "ASSIST_MODELS_PATH": settings.models_dir,
                 "ASSIST_TENANTS_DIR": settings.tenants_dir, "ASSIST_DEFAULT_TENANT": TENANT_B,
                 "ASSIST_ENV": "test"}.items():
        monkeypatch.setenv(k, str(v))
    from cli.main import app as cli

    def cli_hits(*args: str) -> set[str]:
        r = CliRunner().invoke(cli, ["search", "积分怎么兑换礼品", "--json", *args])
        assert r.exit_code == 0, r.output
        return {h["article_id"] for h in json.loads(r.stdout)["results"]}

    assert NOVA_ARTICLE["id"] in cli_hits("--tenant", TENANT_A)
    assert ACME_ARTICLE["id"] in cli_hits()
