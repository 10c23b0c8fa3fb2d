"""Load YAML rule files into pydantic models, with errors that point at FILE:LINE.

Every tenant rule file (quality rubric, escalation matrix, taxonomy...) is edited by
hand by operators, so a mistake must say *where* it is: this loader keeps PyYAML's node
tree next to the plain data and maps each pydantic error location (``("checks",
"greeting", "severity")``) back to the line of the failing key.

Example:
    >>> from pydantic import BaseModel
    >>> class Rules(BaseModel):
    ...     pass_score: int
    >>> rules = load_yaml_model("examples/tenants/nova/rubric.yaml", Rules)  # doctest: +SKIP

A malformed file raises :class:`assist.errors.ConfigError` with one line per problem::

    examples/tenants/nova/rubric.yaml:12: checks.greeting.severity: Input should be 'info', ...
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from assist.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

__all__ = ["ConfigError", "line_of", "load_yaml_model", "parse_yaml_model"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys.

    PyYAML silently keeps the last duplicate, which hides a rule an operator thought
    was active; in a rule file that is always a mistake.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base class raises a marked error for unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """Return the 1-based line of the element at ``loc`` inside a composed YAML node.

    Walks mappings by key and sequences by index, as far as the path exists, and returns
    the line of the deepest node found: for a missing field that is the mapping that
    should hold it, for an extra or bad field the key itself.

    Args:
        node: The root node from ``yaml.compose``.
        loc: A pydantic error location (keys and list indices).

    Returns:
        The line number, or None when there is no node (an empty file).
    """
    if node is None:
        return None
    line = node.start_mark.line + 1
    current: yaml.Node = node
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    current = value_node
                    break
            else:
                return line
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(current.value):
                current = current.value[part]
                line = current.start_mark.line + 1
            else:
                return line
        else:
            return line
    return line


def _format_loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_yaml_model(text: str, model: type[M], *, source: str = "<string>") -> M:
    """Parse YAML text into ``model``; errors are ``ConfigError("SOURCE:LINE: reason")``.

    Args:
        text: The YAML document.
        model: The pydantic model to validate against (use ``extra="forbid"`` so typos fail).
        source: The name used in error messages (usually the file path).

    Raises:
        ConfigError: On a YAML syntax error, a duplicate key, or any validation error;
            one line per problem.
    """
    try:
        root = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = _UniqueKeyLoader(text).get_single_data() if root is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = " ".join(str(p) for p in (e.context, e.problem) if p)
        raise ConfigError(f"{source}:{line}: invalid YAML: {reason}; fix the syntax at that line") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}:1: invalid YAML: {e}") from e
    if data is None:
        raise ConfigError(f"{source}:1: the file is empty; expected a mapping for {model.__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors(include_url=False):
            loc = tuple(err.get("loc", ()))
            line = line_of(root, loc) or 1
            msg = str(err.get("msg", "invalid value"))
            if err.get("type") == "extra_forbidden" and loc:
                msg = f"unknown key {loc[-1]!r} (misspelt, or not supported here)"
            elif msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            lines.append(f"{source}:{line}: {_format_loc(loc)}: {msg}")
        raise ConfigError("\n".join(lines)) from e


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    """Load a YAML file into ``model``; errors are ``ConfigError("FILE:LINE: reason")``.

    Args:
        path: The YAML file.
        model: The pydantic model class.

    Raises:
        ConfigError: The file is missing or unreadable, is not valid YAML, or does not
            validate; the message names the file and line of each problem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found; check the path (relative paths are from the working directory)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the file ({e}); it must be UTF-8 text") from e
    return parse_yaml_model(text, model, source=str(path))
