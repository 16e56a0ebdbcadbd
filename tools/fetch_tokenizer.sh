#!/usr/bin/env bash
# Fetches Llama 4's tokenizer.model from a public, pinned source and verifies it.
#
# The file ships inside Meta's `llama-models` package on PyPI (llama_models/llama4/tokenizer.model,
# the same file as in the Llama 4 checkpoints); tools/fetch_llama_models_file.sh downloads that one
# wheel (no dependencies) with pip, extracts the file, checks its sha256 and copies it to DEST.
#
# Usage: tools/fetch_tokenizer.sh DEST [CACHE_DIR]
#   DEST       where to write tokenizer.model (a file path, or a directory)
#   CACHE_DIR  where the wheel is kept (default: ~/.cache/scout/tokenizer)
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 DEST [CACHE_DIR]" >&2
  exit 2
fi
exec bash "$(dirname "$0")/fetch_llama_models_file.sh" llama_models/llama4/tokenizer.model \
  d0bdbaf59b0762c8c807617e2d8ea51420eb1b1de266df2495be755c8e0ed6ed "$@"
