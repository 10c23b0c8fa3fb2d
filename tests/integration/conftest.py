"""The integration tier: real servers, started once per session.

``vllm_server`` starts the REAL embedded model server (vLLM's CPU build serving the
prepared Qwen2.5 0.5B model) through :class:`~assist.llm.local_server.LocalModelServer`,
exactly as the product does, and stops it at the end of the session.

Environment:
    ASSIST_TEST_VLLM_PYTHON: the vLLM venv's python (default ``./.assist/vllm-venv/bin/python``,
        created by scripts/install_vllm.sh).
    ASSIST_TEST_LLM_BASE_URL / ASSIST_TEST_LLM_MODEL / ASSIST_TEST_LLM_API_KEY: run the tier against an already
        running OpenAI-compatible server instead (e.g. vLLM on a GPU); nothing is started.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assist.config import Settings
from assist.llm.local_server import LocalModelServer
from tests.conftest import MODELS_DIR, REPO


@dataclass(frozen=True)
class VLLMEndpoint:
    base_url: str
    model: str
    startup_s: float | None
    """Seconds from spawn to healthy; None when an external or reused server was used."""
    api_key: str | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMEndpoint]:
    """A real vLLM OpenAI-compatible server for the whole session."""
    external = os.environ.get("ASSIST_TEST_LLM_BASE_URL")
    if external:
        model = os.environ.get("ASSIST_TEST_LLM_MODEL", "qwen2.5-0.5b-instruct")
        yield VLLMEndpoint(external, model, None, os.environ.get("ASSIST_TEST_LLM_API_KEY"))
        return
    python = Path(
        os.environ.get("ASSIST_TEST_VLLM_PYTHON", REPO / ".assist" / "vllm-venv" / "bin" / "python")
    )
    if not python.exists():
        pytest.fail(f"{python} is missing: run scripts/install_vllm.sh (or set ASSIST_TEST_VLLM_PYTHON)")
    if not (MODELS_DIR / "qwen2.5-0.5b-instruct" / "config.json").exists():
        pytest.fail(f"no prepared chat model in {MODELS_DIR}: run `python -m assist.provision.qwen prepare`")
    settings = Settings(
        _env_file=None,
        env="test",
        home=tmp_path_factory.mktemp("vllm-home"),
        models_path=MODELS_DIR,
        llm={
            "provider": "embedded",
            "engine_python": python,
            # A free port: never collide with (or reuse) a developer's server on 8011.
            "engine_port": _free_port(),
            "engine_threads": int(os.environ.get("ASSIST_TEST_VLLM_THREADS", "1")),
            "engine_start_timeout_s": 600,
        },
    )
    server = LocalModelServer(settings)
    server.start()
    try:
        yield VLLMEndpoint(server.base_url, server.served_model_name, server.startup_s)
    finally:
        server.stop()
