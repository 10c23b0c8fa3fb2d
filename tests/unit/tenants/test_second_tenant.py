"""A second sample tenant of another domain (a bank's card-service hotline) gets its own
wording end to end, and the sample retailer's words appear nowhere in its output.

Both tenants are ingested into one real stack (e5, the Qdrant engine, SQLite); the model
is scripted. What the bank tenant must show as its own: the company name and phrasebook in
the drafting prompt, the not-covered reply, the QA findings' phrasebook suggestions, its
own PII pattern (customer numbers LT + 10 digits) and the widget strings. The retailer
(tenant ``nova``) keeps its behaviour, and a tenant with no files gets neutral defaults.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assist.db import KeyRepository
from assist.llm.fake import FakeChatModel
from assist.pipeline import AssistPipeline
from assist.profile import load_profile, phrase_pattern
from assist.types import ChatMessage, Conversation, GenSettings, Turn
from tests.unit.tenants.conftest import TENANTS_DIR

pytestmark = pytest.mark.slow

NOVA = load_profile(TENANTS_DIR / "nova" / "profile.yaml")
BANK = load_profile(TENANTS_DIR / "bank" / "profile.yaml")


def _phrase_parts(profile) -> list[str]:
    """Every phrasebook line of a profile, cut at {agent} (the parts are what can leak)."""
    lines = [p for lang in ("zh", "en") for s in ("greeting", "apology", "soothing", "closing")
             for p in profile.phrases(lang, s)]
    return [part.strip() for line in lines for part in re.split(r"\{[a-z_]+\}", line) if len(part.strip()) >= 6]


# The sample retailer's words: its names, products and not-covered request, and every line
# of its phrasebook (whatever name stands for {agent}).
NOVA_WORDS = ["nova", "新星", "novabuds", "产品型号和订单号", "product model and your order number"]
NOVA_LINES = [re.compile(phrase_pattern(p), re.I) for lang in ("zh", "en")
              for s in ("greeting", "apology", "soothing", "closing") for p in NOVA.phrases(lang, s)]


def assert_no_nova(*texts: str) -> None:
    for text in texts:
        low = text.lower()
        leaked = [w for w in NOVA_WORDS if w in low] + [rx.pattern for rx in NOVA_LINES if rx.search(text)]
        assert not leaked, f"the sample retailer's words {leaked} in: {text!r}"


def reply_fn(messages: list[ChatMessage], settings: GenSettings) -> str:
    """Scripted model: structured calls get valid JSON, drafts repeat passage [1]'s first sentence."""
    schema = settings.json_schema
    if schema is not None:
        props = schema.get("properties", {})
        if "evidence" in props:
            return json.dumps({"evidence": [1]})
        if "category" in props:
            cats = props["category"].get("enum") or ["other"]
            return json.dumps({"category": cats[0], "sentiment": "neutral", "urgency": "normal", "reason": "test"})
        return "{}"
    user = messages[-1].content
    m = re.search(r"^\[1\] [^\n]*?[：:]\s?(.+?[。.!！])", user, re.M)
    return f"{m.group(1)} [1]" if m else "好的 [1]。"


def make(stack, *, mode: str | None = None) -> tuple[AssistPipeline, FakeChatModel]:
    settings, db, store, ix = stack
    settings = settings.model_copy(deep=True)
    if mode is not None:
        settings.draft.mode = mode  # type: ignore[assignment]
    llm = FakeChatModel(reply_fn=reply_fn)
    pipe = AssistPipeline.from_settings(settings, llm=llm, db=db, embedder=ix.embedder, store=store)
    return pipe, llm


def conv(tenant: str, *texts: str, roles: tuple[str, ...] | None = None) -> Conversation:
    roles = roles or ("customer",) * len(texts)
    return Conversation(tenant=tenant, turns=[Turn(role=r, text=t) for r, t in zip(roles, texts, strict=True)])  # type: ignore[arg-type]


def prompts_of(llm: FakeChatModel) -> list[str]:
    return [m.content for call in llm.calls for m in call.messages]


# ------------------------------------------------------------------ drafts
@pytest.mark.parametrize(("language", "question", "company"), [
    ("zh", "卡丢了冻结以后，新卡多久能寄到？", "澜汀银行信用卡中心"),
    ("en", "After freezing a lost card, how long until the replacement card arrives?", "Lanting Bank Card Services"),
])
async def test_bank_draft_prompt_names_the_bank_and_its_phrasebook(two_tenants, language, question, company) -> None:
    pipe, llm = make(two_tenants, mode="generative")
    pipe.settings.retrieval.min_dense_score = 0.0      # about drafting, not the covered decision
    pipe.settings.retrieval.curated_min_score = 1.01   # never the verbatim FAQ shortcut
    d = await pipe.draft(conv("bank", question))
    assert d.language == language and d.status in ("drafted", "no_draft", "not_covered")
    system = llm.calls[0].messages[0].content
    assert company in system
    # House style comes from the bank's own phrasebook article, found within the tenant.
    assert any(p in system for p in _phrase_parts(BANK)), system
    assert all(s.chunk.tenant == "bank" for s in d.sources)
    assert_no_nova(*prompts_of(llm), d.text, pipe.restore(d))


async def test_bank_extractive_draft_carries_no_retailer_words(two_tenants) -> None:
    pipe, llm = make(two_tenants, mode="extractive")
    pipe.settings.retrieval.min_dense_score = 0.0
    pipe.settings.retrieval.curated_min_score = 1.01
    d = await pipe.draft(conv("bank", "有一笔陌生交易不是我刷的，要怎么处理？"))
    assert all(s.chunk.tenant == "bank" for s in d.sources)
    assert_no_nova(*prompts_of(llm), d.text, pipe.restore(d))


@pytest.mark.parametrize(("tenant", "language", "question", "expected", "absent"), [
    ("bank", "zh", "你们的积分能换机票吗？", "卡号后四位", "产品型号和订单号"),
    ("bank", "en", "Can I swap my points for flights?", "last four digits of your card", "order number"),
    # The retailer keeps its wording, word for word.
    ("nova", "zh", "你们卖冰箱吗？",
     "抱歉，关于这个问题，知识库中暂时没有相关说明。请您补充一些信息（例如产品型号和订单号），我为您联系相关团队确认。", "卡号"),
    ("nova", "en", "Do you sell fridges?",
     "Sorry, I could not find this in our knowledge base yet. Could you tell me a little more — for example the "
     "product model and your order number — so I can check with the right team?", "card"),
])
async def test_not_covered_reply_uses_the_tenants_wording(two_tenants, tenant, language, question, expected,
                                                          absent) -> None:
    pipe, llm = make(two_tenants)
    pipe.settings.retrieval.min_dense_score = 0.99  # nothing is covered
    d = await pipe.draft(conv(tenant, question))
    assert d.status == "not_covered" and d.language == language
    if tenant == "nova":
        assert d.text == expected
    else:
        assert expected in d.text
        assert_no_nova(d.text)
    assert absent not in d.text
    assert llm.calls == []


# ------------------------------------------------------------------ QA


async def test_qa_findings_suggest_the_banks_phrasebook(two_tenants) -> None:
    pipe, _ = make(two_tenants)
    upset = conv("bank", "我的卡被盗刷了，气死我了！")
    report, _ = await pipe.qa("好的，我看一下。", tenant="bank", conversation=upset)
    by_check = {f.check: f.message for f in report.findings}
    assert "给您造成困扰，我们深表歉意。" in by_check["empathy"]
    assert "澜汀银行信用卡中心" in by_check["greeting"]
    assert_no_nova(*by_check.values())
    # The bank's phrasebook line counts as a greeting and as an apology; its forbidden words are found.
    greeted = "您好，澜汀银行信用卡中心，我是客服专员小林，请问有什么可以帮您？给您造成困扰，我们深表歉意。"
    report, _ = await pipe.qa(greeted, tenant="bank", conversation=upset)
    assert {f.check for f in report.findings} & {"greeting", "empathy"} == set()
    report, _ = await pipe.qa("这是银行规定，你自己去网点办。", tenant="bank", conversation=conv("bank", "怎么提额"))
    assert [f.check for f in report.findings].count("forbidden_words") == 2
    # English: the English phrasebook is suggested.
    report, _ = await pipe.qa("OK.", tenant="bank", conversation=conv("bank", "My card was stolen, this is a scam!"))
    msgs = " ".join(f.message for f in report.findings)
    assert "Lanting Bank Card Services" in msgs or "We apologise for the trouble" in msgs
    assert_no_nova(msgs)


async def test_qa_for_the_retailer_keeps_its_phrasebook(two_tenants) -> None:
    pipe, _ = make(two_tenants)
    report, _ = await pipe.qa("好的。", tenant="nova", conversation=conv("nova", "快递一直没到，气死我了！"))
    by_check = {f.check: f.message for f in report.findings}
    assert "新星电子客服" in by_check["greeting"] and "非常抱歉给您带来不便" in by_check["empathy"]


# ------------------------------------------------------------------ personal data
ACCOUNT = "LT2024031588"
CARD = "6222021234567890128"  # Luhn-valid


async def test_bank_masks_its_own_customer_numbers(two_tenants) -> None:
    pipe, llm = make(two_tenants, mode="generative")
    pipe.settings.retrieval.min_dense_score = 0.0
    text = f"我的客户号{ACCOUNT}，卡号{CARD}，卡丢了怎么办？"
    masked, mapping = pipe.mask_texts([text], tenant="bank")
    assert masked == ["我的客户号[ACCOUNT_1]，卡号[CARD_1]，卡丢了怎么办？"]
    assert mapping["[ACCOUNT_1]"] == ACCOUNT
    # The retailer's masker does not know the bank's numbers, and the bank's not the retailer's.
    assert ACCOUNT in pipe.mask_texts([text], tenant="nova")[0][0]
    assert pipe.mask_texts(["订单NV202411220001"], tenant="bank")[0] == ["订单NV202411220001"]
    assert pipe.mask_texts(["订单NV202411220001"], tenant="nova")[0] == ["订单[ORDER_1]"]
    # End to end: the model never sees the customer number; the agent does.
    d = await pipe.draft(conv("bank", text))
    sent = " ".join(prompts_of(llm))
    assert ACCOUNT not in sent and CARD not in sent and "[ACCOUNT_1]" in sent
    # A reply showing a full customer number is a critical QA finding for the bank.
    report, _ = await pipe.qa(f"已为您查询客户号{ACCOUNT}的账户。", tenant="bank")
    (f,) = [f for f in report.findings if f.check == "pii_exposure"]
    assert f.severity == "critical" and "account" in f.message and not report.passed
    assert d.status in ("drafted", "no_draft", "not_covered")


# ------------------------------------------------------------------ widget, and a tenant with no files
@pytest.fixture
def api(two_tenants):
    """The HTTP app on the two-tenant stack, with agent keys for bank, nova and a tenant
    created through the API (no files)."""
    settings, db, store, ix = two_tenants
    pipe, _ = make(two_tenants)
    keys = {t: KeyRepository(db).create(f"agent-{t}", "agent", t)[0] for t in ("bank", "nova", "acme")}
    from serving.app import create_app

    app = create_app(settings, pipeline=pipe, indexer=ix)
    with TestClient(app) as client:
        yield client, keys


def _get(client, keys, tenant: str, path: str) -> Any:
    r = client.get(path, headers={"Authorization": f"Bearer {keys[tenant]}"})
    assert r.status_code == 200, r.text
    return r.json() if path.startswith("/v1") else r.text


def _post(client, keys, tenant: str, path: str, body: dict[str, Any]) -> Any:
    r = client.post(path, json=body, headers={"Authorization": f"Bearer {keys[tenant]}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_widget_strings_and_neutral_defaults_over_http(api) -> None:
    client, keys = api
    bank = _get(client, keys, "bank", "/v1/tenant")
    assert bank["strings"]["zh"]["display_name"] == "澜汀银行信用卡中心"
    assert "尾号4821" in bank["strings"]["zh"]["paste_placeholder"]
    assert bank["strings"]["en"]["display_name"] == "Lanting Bank Card Services"
    assert_no_nova(json.dumps(bank, ensure_ascii=False))
    nova = _get(client, keys, "nova", "/v1/tenant")
    assert nova["strings"]["en"]["display_name"] == "Nova Electronics"
    # The strings every tenant's widget loads carry no tenant's wording.
    assert_no_nova(_get(client, keys, "bank", "/i18n.js"))

    # A tenant created through the API has no files: neutral wording, and escalation and
    # QA answer (no 500) with the neutral matrix and the default rubric.
    acme = _get(client, keys, "acme", "/v1/tenant")
    assert acme["strings"]["zh"]["display_name"] == "本公司"
    assert_no_nova(json.dumps(acme, ensure_ascii=False))
    turns = [{"role": "customer", "text": "我的卡被盗刷了，气死我了！"}]
    esc = _post(client, keys, "acme", "/v1/assist/escalation", {"turns": turns})
    assert esc["escalate"] is False or esc["rule_ids"] == ["model_hint"]
    qa = _post(client, keys, "acme", "/v1/assist/qa", {"reply": "好的。", "conversation": {"turns": turns}})
    assert {f["check"] for f in qa["findings"]} >= {"empathy"}
    assert_no_nova(json.dumps(qa, ensure_ascii=False))
    # The bank's matrix: a fraud report goes to the fraud desk.
    esc = _post(client, keys, "bank", "/v1/assist/escalation", {"turns": turns})
    assert esc["escalate"] and esc["target"] == "fraud_desk" and esc["sop_citation"].startswith("sop-card-fraud-zh")
