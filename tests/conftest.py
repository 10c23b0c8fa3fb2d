"""Shared test fixtures.

Network is off: hub downloads fail loudly (HF_HUB_OFFLINE), and real model-server
adapters refuse to send requests unless a test opts in with ``allow_backend_requests``.
Models come from ``assist models prepare`` (run by scripts/install.sh) in
``$ASSIST_TEST_MODELS`` or ``./.assist/models``.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests that script a FakeChatModel with free-text replies exercise the generative draft
# path; the product's default (auto: extractive for small models) is tested where a test
# sets ``draft={"mode": ...}`` itself (tests/unit/evidence).
os.environ.setdefault("ASSIST_DRAFT__MODE", "generative")

import pytest  # noqa: E402

import assist.llm as llm_pkg  # noqa: E402
from assist.config import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("ASSIST_TEST_MODELS", REPO / ".assist" / "models"))
SHARED_DATA = Path(os.environ.get("ASSIST_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _no_backend_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_pkg, "ALLOW_BACKEND_REQUESTS", False)


@pytest.fixture
def allow_backend_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_pkg, "ALLOW_BACKEND_REQUESTS", True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated in a temporary ASSIST_HOME, with the prepared models, fake LLM."""
    return Settings(
        _env_file=None,
        env="test",
        home=tmp_path / "home",
        models_path=MODELS_DIR,
        llm={"provider": "fake"},
    )


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS_DIR


@pytest.fixture(scope="session")
def e5_dir() -> Path:
    path = MODELS_DIR / "e5-small"
    if not (path / "modules.json").exists():
        pytest.fail(f"{path} is missing: run `assist models prepare` (scripts/install.sh does)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA
