"""LocalModelServer's lifecycle, with a stand-in for vLLM (a tiny script with the same CLI).

The real vLLM server is exercised by tests/integration/test_vllm_server.py.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assist.config import Settings
from assist.errors import ConfigError, LLMError
from assist.llm.local_server import LocalModelServer
from tests.unit.llm.conftest import StubServer

pytestmark = pytest.mark.unit

# Answers GET /v1/models like vLLM, after forking a child (as vLLM forks its engine core),
# and writes both pids so the test can check that stop() reaches the whole group.
FAKE_VLLM = textwrap.dedent(
    """
    import argparse, json, os, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    p = argparse.ArgumentParser()
    p.add_argument("-m"); p.add_argument("--model"); p.add_argument("--served-model-name")
    p.add_argument("--host"); p.add_argument("--port", type=int)
    args, _ = p.parse_known_args()
    if os.environ.get("FAKE_VLLM_CRASH"):
        print("RuntimeError: simulated engine failure", flush=True); sys.exit(3)
    child = os.fork()
    if child == 0:
        time.sleep(3600); sys.exit(0)
    with open(os.environ["FAKE_VLLM_PIDS"], "w") as f:
        f.write(f"{os.getpid()} {child} {os.environ['OMP_NUM_THREADS']} {os.environ['HF_HUB_OFFLINE']}")
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def do_GET(self):
            body = json.dumps({"data": [{"id": args.served_model_name}]}).encode()
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
    time.sleep(0.5)
    HTTPServer((args.host, args.port), H).serve_forever()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by a parent that is gone) counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def fake_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    script = tmp_path / "fake_vllm.py"
    script.write_text(FAKE_VLLM)
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    model_dir = tmp_path / "models" / "qwen2.5-0.5b-instruct"
    model_dir.mkdir(parents=True)
    (model_dir / "config.json").write_text("{}")
    monkeypatch.setenv("FAKE_VLLM_PIDS", str(tmp_path / "pids"))
    return Settings(
        _env_file=None,
        home=tmp_path / "home",
        models_path=tmp_path / "models",
        llm={
            "engine_python": python,
            "engine_port": _free_port(),
            "engine_threads": 1,
            "engine_start_timeout_s": 30,
        },
    )


def test_command_and_environment(fake_engine: Settings) -> None:
    server = LocalModelServer(fake_engine)
    cmd = server.command()
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--served-model-name") + 1] == "qwen2.5-0.5b-instruct"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--max-model-len") + 1] == "2048"
    assert "--enforce-eager" in cmd
    assert '"disable_any_whitespace": true' in cmd[cmd.index("--structured-outputs-config") + 1]
    env = server.environment()
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert env["OMP_NUM_THREADS"] == "1"
    assert env["HF_HUB_OFFLINE"] == "1"


def test_start_serves_and_stop_kills_the_process_group(fake_engine: Settings, tmp_path: Path) -> None:
    with LocalModelServer(fake_engine) as server:
        assert server.running
        assert server.startup_s is not None
        leader, child, threads, offline = (tmp_path / "pids").read_text().split()
        assert (threads, offline) == ("1", "1")
        assert _alive(int(leader)) and _alive(int(child))
        assert (fake_engine.home / "logs" / "vllm.log").is_file()
    assert not server.running
    deadline = time.monotonic() + 5
    while _alive(int(child)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(int(leader))
    assert not _alive(int(child)), "the forked engine child outlived stop()"
    server.stop()  # idempotent


def test_a_healthy_server_on_the_port_is_reused_and_left_running(
    stub_server: StubServer, tmp_path: Path
) -> None:
    stub_server.models = ["qwen2.5-0.5b-instruct"]
    port = int(stub_server.base_url.split(":")[2].split("/")[0])
    settings = Settings(
        _env_file=None, home=tmp_path, llm={"engine_port": port, "engine_python": tmp_path / "missing-python"}
    )
    server = LocalModelServer(settings).start()  # no venv needed: nothing is spawned
    assert server.running and server.startup_s is None
    server.stop()
    assert len(stub_server.received) == 1  # still up, only our probe reached it


def test_a_server_for_another_model_on_the_port_is_a_config_error(
    stub_server: StubServer, tmp_path: Path
) -> None:
    port = int(stub_server.base_url.split(":")[2].split("/")[0])
    settings = Settings(_env_file=None, home=tmp_path, llm={"engine_port": port})
    with pytest.raises(ConfigError, match="ASSIST_LLM__ENGINE_PORT"):
        LocalModelServer(settings).start()


def test_missing_venv_says_how_to_install(fake_engine: Settings, tmp_path: Path) -> None:
    fake_engine.llm.engine_python = tmp_path / "nope" / "bin" / "python"
    with pytest.raises(ConfigError, match="install_vllm.sh"):
        LocalModelServer(fake_engine).start()


def test_missing_model_says_how_to_prepare(fake_engine: Settings, tmp_path: Path) -> None:
    fake_engine.llm.model = "not-prepared"
    with pytest.raises(ConfigError, match="models prepare"):
        LocalModelServer(fake_engine).start()


def test_a_crash_during_startup_reports_the_log_tail(
    fake_engine: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_CRASH", "1")
    server = LocalModelServer(fake_engine)
    with pytest.raises(LLMError, match="simulated engine failure"):
        server.start()
    assert not server.running


def test_a_model_path_is_served_under_its_directory_name(fake_engine: Settings) -> None:
    fake_engine.llm.model = str(fake_engine.models_dir / "qwen2.5-0.5b-instruct")
    server = LocalModelServer(fake_engine)
    assert server.served_model_name == "qwen2.5-0.5b-instruct"
    assert server.model_dir == fake_engine.models_dir / "qwen2.5-0.5b-instruct"
