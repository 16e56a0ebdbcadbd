#!/usr/bin/env bash
# Fetches one file of Meta's `llama-models` package on PyPI (a pinned wheel) and verifies it.
# The wheel ships Llama 4's tokenizer.model (the same file as in the checkpoints) and two photos
# (llama_models/resources/dog.jpg and pasta.jpeg) that the image processor tests read.
# This downloads that one wheel (no dependencies) with pip, extracts MEMBER, checks its sha256 and
# copies it to DEST.
#
# Usage: tools/fetch_llama_models_file.sh MEMBER SHA256 DEST [CACHE_DIR]
#   MEMBER     path inside the wheel, e.g. llama_models/llama4/tokenizer.model
#   DEST       where to write it (a file path, or a directory)
#   CACHE_DIR  where the wheel is kept (default: ~/.cache/scout/tokenizer)
set -euo pipefail

PACKAGE="llama-models==0.3.0"

if [[ $# -lt 3 ]]; then
  echo "usage: $0 MEMBER SHA256 DEST [CACHE_DIR]" >&2
  exit 2
fi
member="$1"
sha256="$2"
dest="$3"
cache="${4:-${HOME}/.cache/scout/tokenizer}"
[[ -d "$dest" ]] && dest="$dest/$(basename "$member")"
mkdir -p "$cache"

python="$(command -v python3 || true)"
if [[ -z "$python" ]]; then
  echo "error: python3 is needed (for pip and to read the wheel)" >&2
  exit 1
fi

wheel="$(ls "$cache"/llama_models-0.3.0-*.whl 2>/dev/null | head -n 1 || true)"
if [[ -z "$wheel" ]]; then
  echo "downloading $PACKAGE (no dependencies) into $cache" >&2
  "$python" -m pip download --quiet --no-deps --dest "$cache" "$PACKAGE"
  wheel="$(ls "$cache"/llama_models-0.3.0-*.whl | head -n 1)"
fi

tmp="$(mktemp "${dest}.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
"$python" - "$wheel" "$member" "$tmp" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY

got="$(sha256sum "$tmp" | cut -d' ' -f1)"
if [[ "$got" != "$sha256" ]]; then
  echo "error: sha256 of the extracted $member is $got, expected $sha256; delete $cache and retry" >&2
  exit 1
fi
mv "$tmp" "$dest"
trap - EXIT
echo "$member (sha256 $sha256) -> $dest" >&2
