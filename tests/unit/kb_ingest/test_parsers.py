"""Parsers: one test per format (zh and en), encodings, metadata, and every refusal."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest

from assist.errors import ConfigError, InputError
from assist.types import ArticleStatus, ArticleType, BlockKind, ParsedArticle
from kb_ingest.parsers import markdown_to_blocks, parse_file, plain_text_to_markdown
from kb_ingest.parsers.headers import (
    FAQ_HEADERS_FILE,
    FaqHeaders,
    canon_header,
    header_index,
    load_faq_headers,
)
from tests.unit.kb_ingest.fixtures.make import (
    FIXTURES,
    make_docx,
    make_pdf,
    make_pdf_table,
    make_pptx,
    make_xlsx,
)

pytestmark = [pytest.mark.unit, pytest.mark.fast]

MAX = 2_000_000


def parse_one(path: Path, **kw: object) -> ParsedArticle:
    articles = parse_file(path, max_bytes=MAX, **kw)  # type: ignore[arg-type]
    assert len(articles) == 1
    return articles[0]


def kinds(article: ParsedArticle) -> list[str]:
    return [b.kind.value for b in article.blocks]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# --------------------------------------------------------------------------- Markdown


def test_markdown_zh_front_matter_and_structure() -> None:
    a = parse_one(FIXTURES / "sop_zh.md")
    m = a.meta
    assert (m.id, m.tenant, m.type, m.title, m.language) == (
        "sop-refund-zh",
        "acme",
        ArticleType.SOP,
        "退款处理流程",
        "zh",
    )
    assert (m.product, m.channel, m.tags, m.owner) == ("手机", "在线客服", ["退款", "售后"], "售后运营组")
    assert m.status == ArticleStatus.PUBLISHED
    assert (m.effective_from, m.valid_until, m.review_by) == (
        date(2026, 1, 1),
        date(2027, 12, 31),
        date(2026, 6, 30),
    )
    assert m.source_file == "sop_zh.md"
    assert kinds(a) == ["text", "text", "steps", "table"]
    intro, cond, steps, table = a.blocks
    assert intro.heading_path == ("退款处理流程",)
    assert cond.heading_path == ("退款处理流程", "一、受理条件")
    # The colon-ended intro sentence travels with its list; the nested bullet stays inside its step.
    assert steps.text.startswith("请按以下步骤处理：\n1. 核验身份")
    assert "- 超过七天的转人工审核。" in steps.text and steps.text.rstrip().endswith("3. 提交退款申请。")
    assert steps.heading_path == ("退款处理流程", "二、处理步骤")
    assert table.text.splitlines()[0] == "| 支付方式 | 到账时间 |"
    assert table.heading_path == ("退款处理流程", "三、时效")


def test_markdown_en_without_front_matter_gets_id_title_language(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "guides/Refund Guide.md",
        "# Refund Guide\n\nCustomers may return items.\n\n## Steps\n\n- Check\n- Refund\n",
    )
    a = parse_one(path, root=tmp_path)
    assert a.meta.id == "guides-refund-guide"
    assert a.meta.title == "Refund Guide" and a.meta.language == "en"
    assert a.meta.source_file == "guides/Refund Guide.md"
    assert kinds(a) == ["text", "steps"]
    assert a.blocks[1].heading_path == ("Refund Guide", "Steps")


def test_chinese_file_name_gives_valid_distinct_stable_id(tmp_path: Path) -> None:
    p1 = write(tmp_path, "退款流程.md", "# 退款\n\n内容一。")
    p2 = write(tmp_path, "开户流程.md", "# 开户\n\n内容二。")
    id1, id2 = parse_one(p1).meta.id, parse_one(p2).meta.id
    assert id1 != id2
    assert id1 == parse_one(p1).meta.id
    assert id1.startswith("doc-") and id1.isascii()


def test_defaults_and_sidecar_are_overridden_by_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\nproduct: 宽带\n---\n# 标题\n\n正文内容。")
    write(tmp_path, "a.md.meta.yaml", "product: 手机\nchannel: 电话\n")
    a = parse_one(path, defaults={"tenant": "t1", "channel": "web", "type": "policy"})
    assert (a.meta.tenant, a.meta.type, a.meta.channel, a.meta.product) == (
        "t1",
        ArticleType.POLICY,
        "电话",
        "宽带",
    )


def test_heading_levels_reset_path() -> None:
    blocks = markdown_to_blocks("# A\n\n## B\n\n### C\n\nc text\n\n## D\n\nd text\n")
    assert [b.heading_path for b in blocks] == [("A", "B", "C"), ("A", "D")]


# --------------------------------------------------------------------------- HTML / TXT


def test_html_headings_lists_tables(tmp_path: Path) -> None:
    html = """<html><head><title>Billing FAQ</title><script>var x=1;</script></head><body>
    <h1>Billing</h1><p>How billing works.</p>
    <h2>Disputes</h2><ol><li>Collect the invoice number.</li><li>Open a dispute ticket.</li></ol>
    <h3>Fees</h3><table><tr><th>Type</th><th>Fee</th></tr><tr><td>Late</td><td>$5</td></tr></table>
    </body></html>"""
    a = parse_one(write(tmp_path, "billing.html", html))
    assert a.meta.title == "Billing FAQ" and a.meta.language == "en"
    assert kinds(a) == ["text", "steps", "table"]
    assert a.blocks[1].heading_path == ("Billing", "Disputes")
    assert "2. Open a dispute ticket." in a.blocks[1].text
    assert a.blocks[2].heading_path == ("Billing", "Disputes", "Fees")
    assert a.blocks[2].text.splitlines()[0] == "| Type | Fee |"
    assert "var x" not in " ".join(b.text for b in a.blocks)


def test_html_zh(tmp_path: Path) -> None:
    html = "<h1>积分规则</h1><p>每消费一元累计一积分。</p><ul><li>积分有效期一年</li><li>不可转让</li></ul>"
    a = parse_one(write(tmp_path, "points.htm", html))
    assert a.meta.language == "zh" and kinds(a) == ["text", "steps"]
    assert a.blocks[0].heading_path == ("积分规则",)


def test_txt_gbk_with_chinese_section_labels_and_numbered_steps(tmp_path: Path) -> None:
    text = "话费充值说明\n\n一、充值方式\n支持微信、支付宝充值。\n\n二、操作步骤\n1、打开应用\n2、选择充值金额\n3、完成支付\n"
    a = parse_one(write(tmp_path, "recharge.txt", text.encode("gbk")))
    assert a.meta.language == "zh"
    assert "支持微信、支付宝充值。" in a.blocks[1].text or "支持微信、支付宝充值。" in a.blocks[0].text
    steps = [b for b in a.blocks if b.kind == BlockKind.STEPS]
    assert len(steps) == 1
    assert a.meta.title == "话费充值说明"  # a short first line followed by a blank line
    assert steps[0].heading_path == ("话费充值说明", "二、操作步骤")
    assert steps[0].text == "1. 打开应用\n2. 选择充值金额\n3. 完成支付"


def test_txt_utf8_bom_and_gb18030(tmp_path: Path) -> None:
    bom = parse_one(write(tmp_path, "bom.txt", "\ufeff中文内容，带有字节顺序标记。".encode()))
    assert bom.blocks[0].text == "中文内容，带有字节顺序标记。"
    rare = parse_one(write(tmp_path, "rare.txt", "生僻字𠀀测试内容。".encode("gb18030")))
    assert rare.blocks[0].text == "生僻字𠀀测试内容。"


def test_plain_text_keeps_non_list_numbers() -> None:
    md = plain_text_to_markdown("The fee is 1.5 dollars.\n2024. A year to remember.")
    assert [b.kind for b in markdown_to_blocks(md)] == [BlockKind.TEXT]


# --------------------------------------------------------------------------- Office / PDF


def test_docx_zh_headings_steps_table(tmp_path: Path) -> None:
    a = parse_one(make_docx(tmp_path / "开户.docx"))
    assert a.meta.title == "开户流程" and a.meta.language == "zh"
    assert kinds(a) == ["text", "steps", "table"]
    assert a.blocks[1].heading_path == ("开户流程", "办理步骤")
    assert a.blocks[1].text == "1. 核实客户身份证件\n2. 填写开户申请表\n3. 签署服务协议"
    # DOCX tables have no header style; the first row becomes the Markdown header.
    assert a.blocks[2].text.splitlines()[0] == "| 材料 | 说明 |"


def test_pptx_en_slide_titles_bullets_tables(tmp_path: Path) -> None:
    a = parse_one(make_pptx(tmp_path / "reset.pptx"))
    assert a.meta.title == "Password Reset" and a.meta.language == "en"
    assert kinds(a) == ["steps", "table"]
    assert a.blocks[0].heading_path == ("Password Reset",)
    assert a.blocks[0].text.count("\n- ") == 2
    assert a.blocks[1].heading_path == ("Reset Limits",)
    assert a.blocks[1].text.splitlines()[2] == "| App | 3 per day |"


@pytest.mark.parametrize(
    ("chinese", "title", "section", "first_step"),
    [
        (True, "挂失处理规范", "操作步骤", "1. 核验客户身份。"),
        (False, "Card Loss Policy", "Procedure", "1. Verify the customer's identity."),
    ],
)
def test_pdf_headings_from_font_size(
    tmp_path: Path, chinese: bool, title: str, section: str, first_step: str
) -> None:
    a = parse_one(make_pdf(tmp_path / "card.pdf", chinese=chinese))
    assert a.meta.title == title and a.meta.language == ("zh" if chinese else "en")
    assert kinds(a) == ["text", "steps"]
    assert a.blocks[1].heading_path == (title, section)
    assert a.blocks[1].text.splitlines() == [first_step, *a.blocks[1].text.splitlines()[1:]]
    assert len(a.blocks[1].text.splitlines()) == 3


def test_pdf_ruled_table_becomes_table_block(tmp_path: Path) -> None:
    a = parse_one(make_pdf_table(tmp_path / "fees.pdf"))
    assert kinds(a) == ["text", "table", "text"]
    assert a.blocks[1].text == "| 渠道 | 费用 |\n|---|---|\n| 柜台 | 5 元 |\n| 网银 | 免费 |"
    assert a.blocks[1].heading_path == ("费用标准",)


def test_html_site_chrome_is_dropped_and_underscores_unescaped(tmp_path: Path) -> None:
    html = (
        "<body><nav><a href='/kb'>首页</a> &gt; SOP</nav><h1>交接班</h1>"
        "<p>分类填写 logistics_delay。</p><footer>页面维护：运营组</footer></body>"
    )
    a = parse_one(write(tmp_path, "handover.html", html))
    assert [b.text for b in a.blocks] == ["分类填写 logistics_delay。"]


def test_pptx_numbered_paragraphs_stay_numbered(tmp_path: Path) -> None:
    import pptx

    prs = pptx.Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "投诉处理"
    tf = slide.placeholders[1].text_frame
    tf.text = "1. 致歉"
    tf.add_paragraph().text = "2. 升级"
    prs.save(tmp_path / "c.pptx")
    a = parse_one(tmp_path / "c.pptx")
    assert a.blocks[0].kind == BlockKind.STEPS and a.blocks[0].text == "1. 致歉\n2. 升级"


# --------------------------------------------------------------------------- Q&A tables


def test_csv_faq_zh_headers_alternatives_and_sidecar(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "faq_zh.csv", tmp_path / "faq_zh.csv")
    shutil.copy(FIXTURES / "faq_zh.csv.meta.yaml", tmp_path / "faq_zh.csv.meta.yaml")
    articles = parse_file(tmp_path / "faq_zh.csv", max_bytes=MAX)
    assert [a.meta.id for a in articles] == ["faq-refund-001", "faq-refund-002"]
    a = articles[0]
    assert (a.meta.type, a.meta.language, a.meta.product, a.meta.channel) == (
        ArticleType.FAQ,
        "zh",
        "手机",
        "在线客服",
    )
    assert a.meta.tags == ["faq", "退款"]
    assert a.meta.title == "怎么申请退款？"
    (block,) = a.blocks
    assert block.heading_path == ()
    assert block.kind == BlockKind.FAQ
    assert block.alt_questions == ("退款怎么弄", "如何退钱", "能退款吗")
    assert block.text.startswith(
        "问：怎么申请退款？\n相似问法：退款怎么弄；如何退钱；能退款吗\n答：在“我的订单”"
    )


def test_xlsx_faq_en(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "faq.xlsx",
        [
            ["Question", "Alt Questions", "Answer", "Article ID", "Product"],
            [
                "How do I reset my password?",
                "forgot password\nreset pwd",
                "Use the reset link in the app.",
                "faq-pwd",
                "app",
            ],
            [None, None, None, None, None],
            ["Can I change my email?", "", "Yes, under Settings > Account.", "faq-email", "app"],
        ],
    )
    articles = parse_file(path, max_bytes=MAX)
    assert [a.meta.id for a in articles] == ["faq-pwd", "faq-email"]
    b = articles[0].blocks[0]
    assert b.alt_questions == ("forgot password", "reset pwd")
    assert (
        b.text
        == "Q: How do I reset my password?\nAlso asked: forgot password | reset pwd\nA: Use the reset link in the app."
    )
    assert articles[0].meta.language == "en" and articles[0].meta.product == "app"
    assert articles[1].blocks[0].text == "Q: Can I change my email?\nA: Yes, under Settings > Account."


def test_jsonl_faq_without_ids_gets_stable_ids(tmp_path: Path) -> None:
    rows = [
        {"question": "营业时间？", "alternatives": ["几点开门"], "answer": "每天9点到21点。"},
        {"question": "在哪里取号？", "answer": "在大厅取号机。"},
    ]
    path = write(tmp_path, "faq.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    first = parse_file(path, max_bytes=MAX)
    assert [a.meta.id for a in first] == [a.meta.id for a in parse_file(path, max_bytes=MAX)]
    assert len({a.meta.id for a in first}) == 2 and all(a.meta.id.startswith("faq-") for a in first)
    assert first[0].blocks[0].alt_questions == ("几点开门",)


def test_non_qa_csv_becomes_a_table_article(tmp_path: Path) -> None:
    a = parse_one(write(tmp_path, "fees.csv", "套餐,月费\n基础,29\n畅享,59\n"))
    assert kinds(a) == ["table"] and a.meta.language == "zh"
    assert a.blocks[0].text.splitlines()[2] == "| 基础 | 29 |"


def test_beir_corpus_rows_with_sanitised_ids(tmp_path: Path) -> None:
    rows = [
        {
            "id": "Product Defect/Initiate Refund",
            "title": "Product Defect > Initiate Refund",
            "text": "Ask for the reason.\n  - Pull up the account\n  - Validate the purchase",
        },
        {
            "id": "hotel:0:1",
            "title": "Guest House",
            "text": "No, pets are not allowed.",
            "domain": "hotel",
            "question": "Can I bring my pet?",
        },
        {"_id": "bq-d1", "title": "", "text": "为什么开通了却没有额度"},
    ]
    path = write(tmp_path, "corpus.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    a, b, c = parse_file(path, max_bytes=MAX)
    assert a.meta.id.startswith("Product-Defect-Initiate-Refund-") and a.meta.type == ArticleType.FAQ
    assert a.meta.title == "Product Defect > Initiate Refund"
    assert [blk.kind for blk in a.blocks] == [BlockKind.TEXT, BlockKind.STEPS]
    assert b.meta.id == "hotel:0:1" and b.meta.tags == ["hotel"]
    assert b.blocks[0].kind == BlockKind.FAQ and b.blocks[0].question == "Can I bring my pet?"
    assert c.meta.id == "bq-d1" and c.meta.language == "zh" and c.blocks[0].text == "为什么开通了却没有额度"


def test_beir_detected_by_columns_for_other_names(tmp_path: Path) -> None:
    path = write(tmp_path, "passages.jsonl", json.dumps({"id": "p1", "text": "Some passage."}))
    assert parse_one(path).meta.id == "p1"


# --------------------------------------------------------------------------- content hash


def test_content_hash_is_stable_and_ignores_status(tmp_path: Path) -> None:
    body = "# T\n\nBody text."
    p1 = write(tmp_path, "a/x.md", "---\nid: x\nstatus: draft\n---\n" + body)
    p2 = write(tmp_path, "b/x.md", "---\nid: x\nstatus: published\n---\n" + body)
    p3 = write(tmp_path, "c/x.md", "---\nid: x\n---\n" + body + " Changed.")
    h1, h2, h3 = (parse_one(p).content_hash for p in (p1, p2, p3))
    assert h1 == h2 == parse_one(p1).content_hash
    assert h3 != h1 and len(h1) == 64


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.rtf", "hello", "unsupported file type '.rtf'"),
        ("empty.md", "", "file is empty"),
        ("blank.md", "---\nid: x\n---\n\n   \n", "no text found"),
        ("bad-type.md", "---\ntype: memo\n---\n# T\n\ntext", "field 'type' has invalid value 'memo'"),
        (
            "bad-date.md",
            "---\neffective_from: next monday\n---\n# T\n\ntext",
            "field 'effective_from' has unparsable date 'next monday'",
        ),
        ("bad-date2.md", "---\nvalid_until: 2026-02-30\n---\n# T\n\ntext", "field 'valid_until'"),
        ("bad-id.md", "---\nid: 退款 流程\n---\n# T\n\ntext", "field 'id' has invalid value '退款 流程'"),
        ("bad-lang.md", "---\nlanguage: fr\n---\n# T\n\ntext", "field 'language'"),
        ("bad-yaml.md", "---\ntitle: [unclosed\n---\n# T\n\ntext", "malformed YAML at line"),
        ("list-yaml.md", "---\n- a\n- b\n---\n# T\n\ntext", "must be a YAML mapping"),
        ("dup.csv", "question,answer,id\nQ1,A1,same\nQ2,A2,same\n", "duplicate article id 'same'"),
        ("half.csv", "question,answer\nQ1,\n", "row 2: a Q&A row needs both"),
        ("bad.jsonl", '{"question": "q", "answer": "a"}\nnot json\n', "line 2 is not valid JSON"),
        ("nothing.jsonl", '{"foo": 1}\n', "expected Q&A columns"),
    ],
)
def test_refusals_name_the_reason(tmp_path: Path, name: str, content: str, reason: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as e:
        parse_file(path, max_bytes=MAX)
    assert reason in e.value.message
    assert name in e.value.message


def test_oversize_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "big.md", "# T\n\n" + "x" * 200)
    with pytest.raises(InputError, match="over the 100-byte limit"):
        parse_file(path, max_bytes=100)


@pytest.mark.parametrize("ext", [".docx", ".pptx", ".pdf", ".xlsx"])
def test_corrupt_binaries_are_refused(tmp_path: Path, ext: str) -> None:
    path = write(tmp_path, f"broken{ext}", b"PK\x03\x04 this is not really a zip or pdf " * 10)
    with pytest.raises(InputError, match=rf"corrupt or unreadable {ext[1:].upper()}"):
        parse_file(path, max_bytes=MAX)


def test_zip_without_document_parts_is_corrupt_docx(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(InputError, match="corrupt or unreadable DOCX"):
        parse_file(path, max_bytes=MAX)


def test_bad_sidecar_yaml_is_refused(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "f.xlsx", [["question", "answer"], ["q", "a"]])
    write(tmp_path, "f.xlsx.meta.yaml", "type: [oops")
    with pytest.raises(InputError, match=r"f.xlsx.meta.yaml.*malformed YAML"):
        parse_file(path, max_bytes=MAX)


def test_image_only_pdf_has_no_text(tmp_path: Path) -> None:
    import pymupdf

    doc = pymupdf.open()
    doc.new_page()
    doc.save(tmp_path / "scan.pdf")
    with pytest.raises(InputError, match="no text found"):
        parse_file(tmp_path / "scan.pdf", max_bytes=MAX)


def test_faq_collection_sidecar_id_and_title(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "faq_zh.csv", tmp_path / "faq.csv")
    (tmp_path / "faq.csv").write_text("问题,答案\n怎么退款？,在订单页申请。\n", encoding="utf-8")
    write(tmp_path, "faq.csv.meta.yaml", "id: faq-general\ntitle: 常见问题\nlanguage: zh\n")
    (a,) = parse_file(tmp_path / "faq.csv", max_bytes=MAX)
    assert a.meta.id.startswith("faq-general-") and a.meta.title == "怎么退款？"
    assert a.blocks[0].heading_path == ("常见问题",)


def test_gbk_csv_and_markdown_extension(tmp_path: Path) -> None:
    csv_path = write(
        tmp_path, "常见问题.csv", "问题,相似问法,答案\n怎么改密码？,忘记密码,在设置中修改。\n".encode("gbk")
    )
    (a,) = parse_file(csv_path, max_bytes=MAX)
    assert a.blocks[0].question == "怎么改密码？" and a.blocks[0].answer == "在设置中修改。"
    assert a.meta.id.startswith("doc-") and a.meta.language == "zh"
    md = parse_one(write(tmp_path, "notes.markdown", "# Notes\n\nPlain text."))
    assert md.blocks[0].text == "Plain text."


def test_pdf_heading_wrapped_over_two_lines_is_one_heading(tmp_path: Path) -> None:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_textbox(pymupdf.Rect(72, 60, 300, 130), "A very long document title that wraps", fontsize=20)
    page.insert_text((72, 160), "Body text of the document goes here.", fontsize=11)
    page.insert_text((72, 180), "More body text so the body size is clear.", fontsize=11)
    doc.save(tmp_path / "wrap.pdf")
    a = parse_one(tmp_path / "wrap.pdf")
    assert a.blocks[0].heading_path == ("A very long document title that wraps",)


# --------------------------------------------------------------------------- header aliases (resource file)


def test_packaged_header_aliases_load_and_ship_as_package_data() -> None:
    import tomllib

    headers = load_faq_headers()
    assert "标准问题" in headers.question and "entity_name" in headers.product
    assert FAQ_HEADERS_FILE.parent.name == "resources" and FAQ_HEADERS_FILE.parent.parent.name == "kb_ingest"
    pyproject = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text("utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["kb_ingest"]
    assert any(FAQ_HEADERS_FILE.relative_to(FAQ_HEADERS_FILE.parents[1]).match(p) for p in patterns)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("question: [q]\nanswer: [a]\nid: [id]\ntext: [text]\nremark: [备注]\n", ":5: remark: unknown key"),
        ("question: []\nanswer: [a]\nid: [id]\ntext: [text]\n", ":1: question: List should have at least 1"),
        ("answer: [a]\nid: [id]\ntext: [text]\n", "question: Field required"),
        (
            "question: [q, 问题]\nanswer: [a, 问题]\nid: [id]\ntext: [text]\n",
            "header '问题' is listed under both 'question' and 'answer'",
        ),
        ("question: [q]\nanswer: [a]\nid: [id]\ntext: [' _ ']\n", "header ' _ ' is empty"),
        ("question: [q\nanswer: [a]\n", "invalid YAML"),
    ],
)
def test_malformed_header_aliases_name_file_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "faq_headers.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_faq_headers(path)
    assert str(path) in str(e.value) and reason in str(e.value)


def test_header_aliases_match_ignoring_case_spaces_and_separators() -> None:
    index = header_index(FaqHeaders(question=["Standard Question"], answer=["a"], id=["id"], text=["text"]))
    assert index["standardquestion"] == "question"
    assert canon_header("Alt-Questions") == "alt_questions" and canon_header("备注") is None


def test_wrapped_pdf_lines_join_without_spaces_between_chinese_characters() -> None:
    text = "退款审核通过后\n原路退回。\n\nRefunds are re-\nturned in\n3 days."
    assert plain_text_to_markdown(text, join_wrapped=True) == (
        "退款审核通过后原路退回。\n\nRefunds are returned in 3 days."
    )


@pytest.mark.parametrize("name, body", [
    ("big.csv", "question,answer\n" + "".join(f"q{i},a{i}\n" for i in range(6))),
    ("big.jsonl", "".join(f'{{"question": "q{i}", "answer": "a{i}"}}\n' for i in range(6))),
])
def test_a_table_past_the_row_limit_fails_fast_with_a_clear_error(tmp_path, monkeypatch, name, body):
    from assist.errors import InputError
    from kb_ingest import limits
    from kb_ingest.parsers import parse_file

    monkeypatch.setattr(limits, "MAX_TABLE_ROWS", 5)
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match="more than 5 rows"):
        parse_file(path, root=tmp_path, max_bytes=1_000_000)
