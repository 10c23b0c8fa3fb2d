"""The shared YAML rule loader: models validate, and every mistake names FILE:LINE."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

from assist.errors import ConfigError
from assist.rules_loader import line_of, load_yaml_model, parse_yaml_model

pytestmark = pytest.mark.unit


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    severity: Literal["low", "high"] = "low"
    pattern: str = ".*"

    @field_validator("pattern")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"bad regular expression {v!r}: {e}") from e
        return v


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: str
    rules: list[Rule] = []


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rules.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as ei:
        load_yaml_model(path, RuleFile)
    return ei.value.message


def test_valid_file_loads(tmp_path: Path) -> None:
    p = _write(tmp_path, "tenant: nova\nrules:\n  - id: a\n    severity: high\n")
    model = load_yaml_model(p, RuleFile)
    assert model.tenant == "nova"
    assert model.rules[0].severity == "high"


def test_bad_enum_value_points_at_its_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "tenant: nova\nrules:\n  - id: a\n  - id: b\n    severity: urgent\n")
    msg = _error(p)
    assert msg.startswith(f"{p}:5: rules[1].severity:")
    assert "'low' or 'high'" in msg


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "tenant: nova\nrules:\n  - id: a\n    severty: high\n")
    msg = _error(p)
    assert msg == f"{p}:4: rules[0].severty: unknown key 'severty' (misspelt, or not supported here)"


def test_validator_error_reason_is_kept(tmp_path: Path) -> None:
    p = _write(tmp_path, "tenant: nova\nrules:\n  - id: a\n    pattern: '(unclosed'\n")
    msg = _error(p)
    assert msg.startswith(f"{p}:4: rules[0].pattern: bad regular expression '(unclosed'")


def test_missing_required_field_points_at_the_parent(tmp_path: Path) -> None:
    p = _write(tmp_path, "tenant: nova\nrules:\n  - severity: high\n")
    msg = _error(p)
    assert msg.startswith(f"{p}:3: rules[0].id: Field required")


def test_several_problems_one_line_each(tmp_path: Path) -> None:
    p = _write(tmp_path, "rules:\n  - id: a\n    severity: x\n  - id: b\n    extra: 1\n")
    lines = _error(p).splitlines()
    assert len(lines) == 3
    assert {ln.split(": ", 1)[0] for ln in lines} == {f"{p}:1", f"{p}:3", f"{p}:5"}


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "tenant: nova\nrules:\n  - id: [a\n  - id: b\n")
    msg = _error(p)
    assert re.match(rf"{re.escape(str(p))}:\d+: invalid YAML", msg)
    assert int(msg.split(":")[1]) >= 3


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    p = _write(tmp_path, "tenant: nova\nrules: []\ntenant: other\n")
    msg = _error(p)
    assert msg.startswith(f"{p}:3: invalid YAML") and "duplicate key 'tenant'" in msg


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_yaml_model(tmp_path / "nope.yaml", RuleFile)
    p = _write(tmp_path, "# only a comment\n")
    assert "the file is empty" in _error(p)


def test_parse_from_string_and_line_of() -> None:
    import yaml

    text = "a:\n  b:\n    - x\n    - y\n"
    root = yaml.compose(text)
    assert line_of(root, ("a", "b", 1)) == 4
    assert line_of(root, ("a", "b", "missing")) == 2  # the key that should hold it
    with pytest.raises(ConfigError, match=r"^inline:1: tenant: Input should be a valid string"):
        parse_yaml_model("tenant: [1]\n", RuleFile, source="inline")
