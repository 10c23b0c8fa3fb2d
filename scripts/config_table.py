"""Print (or check) the README's configuration table, generated from ``Settings``.

    python scripts/config_table.py           # print the table
    python scripts/config_table.py --check   # exit 1 if README.md is out of date
    python scripts/config_table.py --write   # rewrite the table in README.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from assist.config import Settings

BEGIN, END = "<!-- config-table:begin -->", "<!-- config-table:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return ""
    else:
        value = field.default
    if value is None:
        return ""
    if hasattr(value, "get_secret_value"):
        return "(secret)"
    return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        env = f"{prefix}{name.upper()}"
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows += _rows(ann, env + "__")
            continue
        doc = (field.description or "").replace("\n", " ").replace("|", "\\|")
        rows.append(f"| `{env}` | {_default(field)} | {doc} |")
    return rows


def table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|", *_rows(Settings, "ASSIST_")]
    return "\n".join(lines)


def main() -> int:
    block = f"{BEGIN}\n{table()}\n{END}"
    if "--check" in sys.argv or "--write" in sys.argv:
        text = README.read_text(encoding="utf-8")
        start, end = text.index(BEGIN), text.index(END) + len(END)
        if "--write" in sys.argv:
            README.write_text(text[:start] + block + text[end:], encoding="utf-8")
            return 0
        if text[start:end] != block:
            print("README.md configuration table is out of date: run python scripts/config_table.py --write")
            return 1
        return 0
    print(table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
