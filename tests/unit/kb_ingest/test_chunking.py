"""Chunking: structure is never cut, budgets hold, ids are content-derived and stable."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from assist.types import ArticleMeta, ArticleType, Block, BlockKind, Chunk, ParsedArticle
from kb_ingest.chunking import CHUNK_NAMESPACE, chunk_article, chunk_id, embedding_text
from kb_ingest.parsers import parse_file, render_faq
from tests.unit.kb_ingest.fixtures.make import FIXTURES

pytestmark = pytest.mark.unit


def count_tokens(text: str) -> int:
    """A simple, deterministic token count: one per CJK character or Latin word/symbol."""
    return len(re.findall(r"[\u4e00-\u9fff]|[A-Za-z0-9]+|[^\sA-Za-z0-9\u4e00-\u9fff]", text))


def article(*blocks: Block, **meta: object) -> ParsedArticle:
    fields = {"id": "art-1", "tenant": "acme", "title": "Refunds", "language": "en", **meta}
    return ParsedArticle(meta=ArticleMeta.model_validate(fields), blocks=list(blocks))


def chunks_of(a: ParsedArticle, **kw: object) -> list[Chunk]:
    return chunk_article(a, count_tokens=count_tokens, **kw)  # type: ignore[arg-type]


def test_faq_is_one_chunk_even_over_budget() -> None:
    answer = "。".join(f"第{i}条说明退款需要满足的条件和注意事项" for i in range(40))
    alts = ("怎么退款", "如何退钱", "退款流程是什么")
    block = Block(
        kind=BlockKind.FAQ,
        text=render_faq("怎么申请退款？", alts, answer, "zh"),
        question="怎么申请退款？",
        alt_questions=alts,
        answer=answer,
    )
    (chunk,) = chunks_of(article(block, type="faq", language="zh"), max_tokens=50)
    assert count_tokens(chunk.text) > 50
    assert chunk.kind == BlockKind.FAQ and chunk.text == block.text
    assert (chunk.question, chunk.alt_questions, chunk.answer) == ("怎么申请退款？", list(alts), answer)
    assert all(a in chunk.text for a in alts)


def test_long_steps_split_between_steps_with_intro_repeated() -> None:
    steps = [f"{i}. Step {i} checks the order and writes a note for item {i}." for i in range(1, 13)]
    steps.insert(3, "   - a nested detail that belongs to step three")
    text = "Follow these steps:\n" + "\n".join(steps)
    chunks = chunks_of(
        article(Block(kind=BlockKind.STEPS, text=text, heading_path=("Refunds", "Steps"))), max_tokens=60
    )
    assert len(chunks) > 1
    seen: list[str] = []
    for c in chunks:
        lines = c.text.splitlines()
        assert lines[0] == "Follow these steps:"
        assert count_tokens(c.text) <= 60
        assert c.kind == BlockKind.STEPS and c.heading_path == ["Refunds", "Steps"]
        seen += lines[1:]
    assert seen == steps  # every step exactly once, in order, never cut
    holder = next(c for c in chunks if "3. Step 3" in c.text)
    assert "nested detail" in holder.text


def test_single_step_over_budget_is_kept_whole() -> None:
    big = "2. " + " ".join(["word"] * 80)
    chunks = chunks_of(article(Block(kind=BlockKind.STEPS, text=f"1. short\n{big}\n3. short")), max_tokens=30)
    assert [c.text for c in chunks] == ["1. short", big, "3. short"]


def test_long_table_split_between_rows_with_header_repeated() -> None:
    header = ["| 渠道 | 时效 | 说明 |", "|---|---|---|"]
    rows = [f"| 渠道{i} | {i} 个工作日 | 退款原路返回到支付账户 |" for i in range(20)]
    block = Block(kind=BlockKind.TABLE, text="\n".join(header + rows), heading_path=("时效",))
    chunks = chunks_of(article(block, language="zh"), max_tokens=80)
    assert len(chunks) > 2
    got: list[str] = []
    for c in chunks:
        lines = c.text.splitlines()
        assert lines[:2] == header and count_tokens(c.text) <= 80 and c.kind == BlockKind.TABLE
        got += lines[2:]
    assert got == rows


def test_small_blocks_merge_under_same_heading_only() -> None:
    a = article(
        Block(text="First para.", heading_path=("A",)),
        Block(text="Second para.", heading_path=("A",)),
        Block(kind=BlockKind.STEPS, text="1. x\n2. y", heading_path=("A",)),
        Block(text="Other section.", heading_path=("A", "B")),
    )
    chunks = chunks_of(a, max_tokens=100)
    assert [c.text for c in chunks] == ["First para.\n\nSecond para.\n\n1. x\n2. y", "Other section."]
    assert chunks[0].kind == BlockKind.STEPS
    assert [c.chunk_index for c in chunks] == [0, 1]
    # With a tight budget the merge stops before overflowing.
    assert [c.text for c in chunks_of(a, max_tokens=5)][:2] == ["First para.", "Second para."]


def test_long_chinese_text_splits_at_sentence_ends_within_budget() -> None:
    sentences = [f"第{i}句说明客户申请退款时需要核实的信息。" for i in range(30)]
    text = "".join(sentences)
    chunks = chunks_of(
        article(Block(text=text, heading_path=("说明",)), language="zh"), max_tokens=60, overlap_tokens=20
    )
    assert len(chunks) > 3
    for c in chunks:
        assert count_tokens(c.text) <= 60
        assert c.text.endswith("。")  # cut at a sentence end, not mid-sentence
    # Overlap: consecutive chunks share at least one sentence.
    assert any(s in chunks[0].text and s in chunks[1].text for s in sentences)
    assert all(s in "".join(c.text for c in chunks) for s in sentences)


def test_chunks_carry_article_fields() -> None:
    a = parse_file(FIXTURES / "sop_zh.md", max_bytes=1_000_000)[0]
    chunks = chunk_article(a, count_tokens=count_tokens, revision=3)
    assert chunks
    for c in chunks:
        assert (c.tenant, c.article_id, c.revision, c.type, c.language) == (
            "acme",
            "sop-refund-zh",
            3,
            ArticleType.SOP,
            "zh",
        )
        assert (c.title, c.product, c.channel, c.tags) == (
            "退款处理流程",
            "手机",
            "在线客服",
            ["退款", "售后"],
        )
        assert c.effective_from is not None and c.valid_until is not None
        assert c.heading_path and c.heading_path[0] == "退款处理流程"
    steps = next(c for c in chunks if c.kind == BlockKind.STEPS)
    assert steps.heading_path == ["退款处理流程", "二、处理步骤"]


def test_embedding_text_adds_title_and_section() -> None:
    a = article(
        Block(kind=BlockKind.STEPS, text="1. Check\n2. Refund", heading_path=("Refunds (SOP-2)", "Steps")),
        title="Refunds",
    )
    (c,) = chunks_of(a)
    assert c.text == "1. Check\n2. Refund"
    assert embedding_text(c) == "Refunds (SOP-2) > Steps\n\n1. Check\n2. Refund"
    faq = Block(kind=BlockKind.FAQ, text="Q: q?\nA: a", question="q?", answer="a")
    (fc,) = chunks_of(article(faq, title="q?"))
    assert embedding_text(fc) == "Q: q?\nA: a"


def test_ids_are_content_derived_stable_and_revision_independent() -> None:
    blocks = [Block(text=f"Paragraph {i} " + "text " * 30, heading_path=(f"S{i}",)) for i in range(4)]
    first = chunks_of(article(*blocks), max_tokens=40)
    again = chunks_of(article(*blocks), max_tokens=40, revision=2)
    assert [c.id for c in first] == [c.id for c in again]
    assert all(uuid.UUID(c.id).version == 5 for c in first)
    assert first[0].id == chunk_id("acme", "art-1", first[0].text, first[0].heading_path)
    assert first[0].id == str(uuid.uuid5(CHUNK_NAMESPACE, f"acme/art-1/{_digest(first[0])}"))

    changed = list(blocks)
    changed[2] = Block(text="A rewritten paragraph.", heading_path=("S2",))
    after = chunks_of(article(*changed), max_tokens=40)
    assert [c.id for c in after if c.heading_path != ["S2"]] == [
        c.id for c in first if c.heading_path != ["S2"]
    ]
    assert {c.id for c in after if c.heading_path == ["S2"]}.isdisjoint(c.id for c in first)

    other_tenant = chunks_of(article(*blocks, tenant="other"), max_tokens=40)
    assert {c.id for c in other_tenant}.isdisjoint(c.id for c in first)


def _digest(c: Chunk) -> str:
    import hashlib

    return hashlib.sha256((c.text + "\n\x1f" + " > ".join(c.heading_path)).encode("utf-8")).hexdigest()


def test_same_text_under_other_heading_gets_other_id_and_duplicates_collapse() -> None:
    a = article(
        Block(text="Same.", heading_path=("A",)),
        Block(text="Same.", heading_path=("B",)),
        Block(kind=BlockKind.FAQ, text="Q: x\nA: y", question="x", answer="y"),
        Block(kind=BlockKind.FAQ, text="Q: x\nA: y", question="x", answer="y"),
    )
    chunks = chunks_of(a)
    assert len(chunks) == 3 and len({c.id for c in chunks}) == 3


def test_budget_respected_on_the_real_sample_kb() -> None:
    root = Path(__file__).resolve().parents[3] / "examples" / "kb"
    files = [p for p in root.rglob("*.md")] if root.exists() else []
    if not files:
        pytest.skip("examples/kb has no Markdown files yet")
    for path in files:
        for art in parse_file(path, max_bytes=5_000_000, root=root):
            for c in chunk_article(art, count_tokens=count_tokens, max_tokens=120):
                if c.kind == BlockKind.TEXT:
                    assert count_tokens(c.text) <= 120, (path, c.text)


@pytest.mark.slow
def test_real_e5_tokenizer_budget(models_dir: Path) -> None:
    tok_file = models_dir / "e5-small" / "tokenizer.json"
    if not tok_file.exists():
        pytest.skip(f"{tok_file} missing: run `assist models prepare`")
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tok_file))

    def e5_tokens(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    art = parse_file(FIXTURES / "sop_zh.md", max_bytes=1_000_000)[0]
    long = Block(text="退款审核通过后，款项将在三到七个工作日内原路退回。" * 60, heading_path=("说明",))
    art = art.model_copy(update={"blocks": [*art.blocks, long]})
    chunks = chunk_article(art, count_tokens=e5_tokens, max_tokens=100, overlap_tokens=20)
    assert len(chunks) > 3
    assert all(e5_tokens(c.text) <= 100 for c in chunks)
