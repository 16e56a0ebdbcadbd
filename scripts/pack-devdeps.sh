#!/usr/bin/env bash
# Prepares .devdeps/ (ignored by git) on this machine, for the GPU machine, which has nvcc, cmake
# and ninja but no network, no GoogleTest and no Boost: the device tool's `run` carries it with
# carry [".devdeps"] (64 MiB at most; this makes about 30 MB):
#   .devdeps/include/{gtest,gmock}, .devdeps/lib/x86_64-linux-gnu/{libgtest*,libgmock*.a, cmake/GTest}
#                                    GoogleTest from Debian's packages (the CUDA tests)
#   .devdeps/boost.tgz               Boost's headers and CMake files, packed (162 MB unpacked):
#                                    device-check.sh unpacks them to build `scout serve` there
#   .devdeps/llama-src.tgz           the trimmed llama.cpp source of the pinned llama-cpp-python
#                                    sdist (scripts/scaling.sh --pack-llama-src; needs PyPI)
#   .devdeps/tokenizer.model         the Llama 4 tokenizer, when ../shared has it
#
#   bash scripts/pack-devdeps.sh [--no-llama-src]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
D=.devdeps
LIB=/usr/lib/x86_64-linux-gnu
mkdir -p "$D/include" "$D/lib/x86_64-linux-gnu/cmake"
cp -r /usr/include/gtest /usr/include/gmock "$D/include/"
cp "$LIB"/libgtest*.a "$LIB"/libgmock*.a "$D/lib/x86_64-linux-gnu/"
cp -r "$LIB/cmake/GTest" "$D/lib/x86_64-linux-gnu/cmake/"
boost_cmake=$(cd /usr && ls -d lib/x86_64-linux-gnu/cmake/Boost-* lib/x86_64-linux-gnu/cmake/boost_headers-* \
  lib/x86_64-linux-gnu/cmake/BoostDetectToolset-* 2>/dev/null || true)
tar czf "$D/boost.tgz" -C /usr include/boost $boost_cmake
for t in ../shared/data/llama4/tokenizer.model "$HOME/.cache/scout/tokenizer.model"; do
  [ -s "$t" ] && cp "$t" "$D/tokenizer.model" && break
done
[ "${1:-}" = "--no-llama-src" ] || [ -s "$D/llama-src.tgz" ] || bash scripts/scaling.sh --pack-llama-src
du -sh "$D" "$D"/*.tgz
