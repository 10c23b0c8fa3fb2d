"""Shared test fixtures.

Network is off: hub downloads fail loudly (HF_HUB_OFFLINE), and real model-server
adapters refuse to send requests unless a test opts in with ``allow_backend_requests``.
Models come from ``assist models prepare`` (run by scripts/install.sh) in
``$ASSIST_TEST_MODELS``, ``$ASSIST_MODELS_PATH`` or ``./.assist/models``.

The ``fast`` tier (``ASSIST_MODELS_PATH=$(mktemp -d) pytest -m fast``) is every test under
``tests/unit`` that requests no model fixture (:data:`MODEL_FIXTURES`, directly or through
other fixtures) and is not marked slow, integration, browser or postgres: it is marked
here at collection. A test that needs a prepared model must request ``e5_dir`` or
``models_dir`` (or build on a fixture that does, like ``e5``/``stack``); run with an empty
models directory, a fast test that touches a model anyway fails loudly.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Temporary files (pytest's tmp_path included) on tmpfs: the embedded Qdrant engine and
# SQLite fsync on every collection and commit, which costs seconds per test on a busy disk
# (creating a collection: 2.5 s on this machine's disk, 0.1 s on /dev/shm).
# ASSIST_TEST_TMPFS=0 keeps the system's temporary directory.
if os.environ.get("ASSIST_TEST_TMPFS", "1") != "0" and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    tempfile.tempdir = "/dev/shm"
# Tests that script a FakeChatModel with free-text replies exercise the generative draft
# path; the product's default (auto: extractive for small models) is tested where a test
# sets ``draft={"mode": ...}`` itself (tests/unit/evidence).
os.environ.setdefault("ASSIST_DRAFT__MODE", "generative")

import pytest  # noqa: E402

import assist.llm as llm_pkg  # noqa: E402
from assist.config import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("ASSIST_TEST_MODELS") or os.environ.get("ASSIST_MODELS_PATH")
                  or REPO / ".assist" / "models")
SHARED_DATA = Settings(_env_file=None).resolved_data_dir  # ASSIST_DATA_DIR, default ../shared/data

MODEL_FIXTURES = frozenset({"e5_dir", "models_dir"})
"""Fixtures that hand out prepared models; every real-model fixture builds on one of them."""
NOT_FAST_MARKERS = frozenset({"slow", "integration", "browser", "postgres"})
UNIT_DIR = Path(__file__).resolve().parent / "unit"
_MODELS_AT_START = pytest.StashKey[list[str]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the fast tier; refuse a test marked ``fast`` by hand that requests a model."""
    wrong = []
    for item in items:
        needs_model = bool(MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ())))
        marked = {m.name for m in item.iter_markers()}
        if "fast" in marked:
            if needs_model:
                wrong.append(item.nodeid)
            continue
        if item.path.is_relative_to(UNIT_DIR) and not needs_model and not marked & NOT_FAST_MARKERS:
            item.add_marker(pytest.mark.fast)
    if wrong:
        raise pytest.UsageError(
            f"marked fast but requests a prepared model ({', '.join(sorted(MODEL_FIXTURES))}): "
            + ", ".join(wrong[:10])
        )


def _model_entries() -> list[str]:
    return sorted(p.name for p in MODELS_DIR.iterdir()) if MODELS_DIR.is_dir() else []


def pytest_configure(config: pytest.Config) -> None:
    """``-m fast`` without a models directory named: an empty one, so that a fast test that
    touches a model fails here too, as in ``ASSIST_MODELS_PATH=$(mktemp -d) pytest -m fast``."""
    global MODELS_DIR
    named = os.environ.get("ASSIST_TEST_MODELS") or os.environ.get("ASSIST_MODELS_PATH")
    if (getattr(config.option, "markexpr", "") or "").strip() == "fast" and not named:
        MODELS_DIR = Path(tempfile.mkdtemp(prefix="assist-no-models-"))
        os.environ["ASSIST_MODELS_PATH"] = str(MODELS_DIR)
        config.add_cleanup(lambda: shutil.rmtree(MODELS_DIR, ignore_errors=True))


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_MODELS_AT_START] = _model_entries()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run on an empty models directory (the fast tier) must leave it empty: a test that
    wrote a model there would let a later test find one it does not declare."""
    if session.config.stash.get(_MODELS_AT_START, None) == [] and (left := _model_entries()):
        session.config.get_terminal_writer().line(
            f"ERROR: tests wrote into the empty models directory {MODELS_DIR}: {left} "
            "(give such tests their own models_path)", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
