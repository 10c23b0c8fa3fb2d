"""Prompt templates: Jinja2, sandboxed, StrictUndefined, one per task and language.

Templates live in the top-level ``prompts`` package as ``<task>.<lang>.j2``.

Example:
    >>> lib = PromptLibrary()
    >>> text = lib.render("draft_reply", "en", question="...", passages=[], style=[], history=[])
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, meta
from jinja2.exceptions import TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from assist.errors import ConfigError


class PromptLibrary:
    def __init__(self, directory: Path | None = None) -> None:
        self._dir = directory or Path(str(resources.files("prompts")))
        self._env = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._cache: dict[str, Any] = {}

    def names(self) -> list[str]:
        return sorted(p.name[:-3] for p in self._dir.glob("*.j2"))

    def _source(self, name: str) -> str:
        path = self._dir / f"{name}.j2"
        if not path.exists():
            raise ConfigError(f"prompt template {path} is missing")
        return path.read_text(encoding="utf-8")

    def required_variables(self, task: str, language: str) -> set[str]:
        name = f"{task}.{language}"
        return meta.find_undeclared_variables(self._env.parse(self._source(name)))

    def render(self, task: str, language: str, **variables: Any) -> str:
        name = f"{task}.{language}"
        if name not in self._cache:
            self._cache[name] = self._env.from_string(self._source(name))
        try:
            return self._cache[name].render(**variables).strip() + "\n"
        except UndefinedError as e:
            required = sorted(self.required_variables(task, language))
            raise ConfigError(
                f"prompt {name!r}: {e.message}; required variables: {required}, provided: {sorted(variables)}"
            ) from e
        except TemplateError as e:
            raise ConfigError(f"prompt {name!r} failed to render: {e}") from e
