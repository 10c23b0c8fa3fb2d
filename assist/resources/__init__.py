"""Data files that ship with the core: sentiment lexicons and the neutral tenant defaults.

They are package data (``pyproject.toml``), read through :func:`resource_path`, and each is
validated when it is loaded, like a tenant's rule files.

    sentiment/{zh,en}.yaml            lexicons, negators, intensifiers (assist.sentiment)
    tenant_defaults/profile.yaml      neutral wording for a tenant without a profile
    tenant_defaults/taxonomy.yaml     one "general" category
    tenant_defaults/escalation.yaml   no rules: only model hints can escalate
    tenant_defaults/rubric.yaml       the default quality rubric; a tenant rubric's check
                                      without patterns takes them from here
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["resource_path"]


def resource_path(*parts: str) -> Path:
    """The path of a packaged resource file (``resource_path("sentiment", "zh.yaml")``)."""
    return Path(str(files(__name__).joinpath(*parts)))
