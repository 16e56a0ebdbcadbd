#!/usr/bin/env bash
# The one script to run on a GPU machine (docs/cuda.md): builds scout with the CUDA backend, runs
# the CUDA tests and the GPU benchmarks, and writes what it measured to $OUT:
#   $OUT/device-check.json  summary: steps (status, seconds), probe, benchmarks
#   $OUT/log.txt            every command's output, with elapsed seconds per step
#   $OUT/probe.json, $OUT/bench-kernels.json, $OUT/bench-scout.json, $OUT/bench-scout-fast.json,
#   $OUT/bench-scout-pp8k.json, $OUT/bench-scout-ctx4k.json, $OUT/bench-1b.json, $OUT/bench-1b-file.json,
#   $OUT/compare-cpu.json, $OUT/serve-check.json, $OUT/ctest-cuda.xml
# Every step has a time limit and a failed step does not stop the others; the whole script stays
# under BUDGET seconds (default 470, for an 8-minute slot).
#
#   bash scripts/device-check.sh [--budget SECONDS] [--build-dir DIR] [--jobs N]
set -u

BUDGET=470
BUILD=build-cuda
JOBS=16
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) BUDGET=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
OUT=${OUT:-$ROOT/device-check-out}
# LOG, START, and elapsed, log, step, step_to, json_or_null: shared with scripts/scaling.sh.
. "$ROOT/scripts/steps.sh"

log "scout device check in $ROOT, output in $OUT, budget ${BUDGET}s"
step nvidia-smi 20 nvidia-smi
GPU=$(nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit,driver_version --format=csv,noheader 2>/dev/null | head -1)

# The GPU machine may have no Boost headers (so no `scout serve` there) and maybe no GoogleTest: the
# runner may carry GoogleTest's headers and static libraries in .devdeps/ (include/, lib/...).
# scripts/pack-devdeps.sh prepares .devdeps here, Boost's headers packed in .devdeps/boost.tgz
# (unpacked they are over a carry's limit): with them `scout serve` is built and checked too.
PREFIX=""
[ -d .devdeps ] && PREFIX="-DCMAKE_PREFIX_PATH=$ROOT/.devdeps"
SERVER=OFF
if [ -s .devdeps/boost.tgz ]; then
  step unpack-boost 60 tar xzf .devdeps/boost.tgz -C .devdeps && SERVER=ON
fi
step configure 90 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCOUT_CUDA=ON -DSCOUT_BENCH=OFF \
  -DSCOUT_SERVER=$SERVER -DSCOUT_CUDA_ARCHITECTURES=90a-real $PREFIX
step build 260 cmake --build "$BUILD" -j "$JOBS" --target scout test_cuda_ops test_cuda_model test_matvec_decode scout_cuda_bench scout_device_probe -- -k 0

BIN=$BUILD/tests/cuda
step_to "$OUT/probe.json" probe 60 "$BIN/scout_device_probe"
step ctest-cuda 120 ctest --test-dir "$BUILD" -L cuda --output-on-failure -j 8 --timeout 100 --output-junit "$OUT/ctest-cuda.xml"
# The Llama 4 tokenizer, for the steps that need a real vocabulary (serve-check, the demo model as a file).
TOK=""
for t in ../shared/data/llama4/tokenizer.model shared/data/llama4/tokenizer.model .devdeps/tokenizer.model \
    "$HOME/.cache/scout/tokenizer.model"; do
  [ -s "$t" ] && TOK=$t && break
done
# scout serve --device cuda against --device cpu over HTTP: five greedy requests at once on the
# demo model (its vocabulary is the tokenizer's), scripts/serve_check.py.
if [ "$SERVER" = ON ] && [ -n "$TOK" ] && command -v python3 >/dev/null && [ $(( BUDGET - $(elapsed) )) -gt 60 ]; then
  step demo-small 30 "$BUILD/src/apps/scout" demo-model "$BUILD/demo-small" --tokenizer "$TOK" --force &&
  step_to "$OUT/serve-check.json" serve-check 60 python3 scripts/serve_check.py "$BUILD/src/apps/scout" "$TOK" "$BUILD/demo-small"
else
  log "SKIP serve-check (server: $SERVER, tokenizer: ${TOK:-none}, $(( BUDGET - $(elapsed) ))s left)"
fi

# The product kernels alone (GB/s per kernel and row count, Scout's matrix shapes).
step_to "$OUT/bench-kernels.json" bench-kernels 90 "$BIN/scout_cuda_bench" --kernels
# The real Scout dimensions (48 layers, 16 experts, vocab 202,048) at Q4_K_M, weights made on the GPU.
step_to "$OUT/bench-scout.json" bench-scout 150 "$BIN/scout_cuda_bench" --synthetic tests/data/configs/scout/config.json \
  --type Q4_K_M -p 512 -n 64 -r 1 --batches 1,8,32,128 --agg-steps 8
# The fast mode (bf16 tensor cores for products of many rows): prefill at 512 and 8,192 tokens and
# aggregate decode at 32 / 128 sequences, Scout's dimensions.
step_to "$OUT/bench-scout-fast.json" bench-scout-fast 120 "$BIN/scout_cuda_bench" --synthetic tests/data/configs/scout/config.json \
  --type Q4_K_M --gpu-math fast -p 512 -n 0 -r 1 --batches 32,128 --agg-steps 8
step_to "$OUT/bench-scout-pp8k.json" bench-scout-pp8k 120 "$BIN/scout_cuda_bench" --synthetic tests/data/configs/scout/config.json \
  --type Q4_K_M --gpu-math fast -p 8192 -n 0 -r 1 --batches 1
# Batch-1 decode after 4,096 tokens of context (split-KV attention), the context prefilled in the fast mode.
step_to "$OUT/bench-scout-ctx4k.json" bench-scout-ctx4k 90 "$BIN/scout_cuda_bench" --synthetic tests/data/configs/scout/config.json \
  --type Q4_K_M --gpu-math fast -p 0 -n 32 -r 1 --context 4096 --batches 1
# The 1.3 B demo model's dimensions (scout demo-model --size 1b), Q4_K_M, weights made on the GPU.
step_to "$OUT/bench-1b.json" bench-1b 60 "$BIN/scout_cuda_bench" --demo-1b --type Q4_K_M -p 512 -n 128 -r 2 \
  --batches 1,8,32,128 --agg-steps 16

# The same 1.3 B model as a file (demo-model + scout quantize), when a tokenizer is at hand and time remains.
if [ -n "$TOK" ] && [ $(( BUDGET - $(elapsed) )) -gt 150 ]; then
  DEMO=$BUILD/demo-1b
  step demo-model 60 "$BUILD/src/apps/scout" demo-model "$DEMO" --size 1b --tokenizer "$TOK" --force &&
  step quantize 60 "$BUILD/src/apps/scout" quantize -m "$DEMO" --type Q4_K_M -o "$DEMO/model-q4_k_m.gguf" &&
  step_to "$OUT/bench-1b-file.json" bench-1b-file 40 "$BIN/scout_cuda_bench" --model "$DEMO/model-q4_k_m.gguf" \
    -p 512 -n 128 -r 2 --batches 1,8,32 --agg-steps 16
  # The fast mode's error: GPU logits (exact and fast) against the CPU's over 128 greedy tokens.
  step_to "$OUT/compare-cpu.json" compare-cpu 90 "$BIN/scout_cuda_bench" --model "$DEMO/model-q4_k_m.gguf" --compare-cpu 128
else
  log "SKIP demo-model file benchmark (tokenizer: ${TOK:-none}, $(( BUDGET - $(elapsed) ))s left)"
fi

cat > "$OUT/device-check.json" <<JSON
{
  "gpu": "$GPU",
  "total_seconds": $(elapsed),
  "steps": [${STEPS%,}],
  "probe": $(json_or_null "$OUT/probe.json"),
  "bench_kernels": $(json_or_null "$OUT/bench-kernels.json"),
  "bench_scout_q4_k_m": $(json_or_null "$OUT/bench-scout.json"),
  "bench_1b_q4_k_m": $(json_or_null "$OUT/bench-1b.json"),
  "bench_1b_file": $(json_or_null "$OUT/bench-1b-file.json"),
  "bench_scout_fast": $(json_or_null "$OUT/bench-scout-fast.json"),
  "bench_scout_pp8k_fast": $(json_or_null "$OUT/bench-scout-pp8k.json"),
  "bench_scout_ctx4k": $(json_or_null "$OUT/bench-scout-ctx4k.json"),
  "compare_cpu_1b": $(json_or_null "$OUT/compare-cpu.json"),
  "serve_check": $(json_or_null "$OUT/serve-check.json")
}
JSON
log "done in $(elapsed)s: $OUT/device-check.json"
