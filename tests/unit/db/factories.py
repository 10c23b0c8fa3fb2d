"""Builders of article metadata and blocks for the db tests."""

from __future__ import annotations

from assist.types import ArticleMeta, ArticleType, Block, BlockKind


def make_meta(article_id: str = "refund-sop", **kw: object) -> ArticleMeta:
    base: dict[str, object] = {
        "id": article_id,
        "title": "退款流程",
        "type": ArticleType.SOP,
        "language": "zh",
    }
    base.update(kw)
    return ArticleMeta(**base)  # type: ignore[arg-type]


def make_blocks(text: str = "第一步：核实订单。") -> list[Block]:
    return [
        Block(kind=BlockKind.STEPS, text=text, heading_path=("退款", "步骤")),
        Block(
            kind=BlockKind.FAQ,
            text="Q: 多久到账? A: 3天",
            question="多久到账?",
            answer="3天",
            alt_questions=("何时到账",),
        ),
    ]
