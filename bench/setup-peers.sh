#!/usr/bin/env bash
# Creates a throwaway virtual environment with the peers SwiftClas is measured against:
# PyTorch + timm (training and eager inference), onnx + onnxruntime (inference, export checks), safetensors.
# Usage: bench/setup-peers.sh [VENV_DIR]   (default: .venv-bench; `make bench-venv` runs it). About 5 GB (PyTorch's
# PyPI wheel, the one the README's figures were measured with, pulls CUDA libraries it will not use here); takes a
# few minutes.
set -euo pipefail
V=${1:-.venv-bench}
[ -x "$V/bin/python" ] || python3 -m venv "$V"
"$V/bin/pip" install -q -r "$(dirname "$0")/requirements.txt"
echo "peer venv ready: $V/bin/python"
