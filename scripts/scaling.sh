#!/usr/bin/env bash
# How prompt processing and generation scale with CPU threads, scout against llama.cpp's
# llama-bench on the same GGUF files (issue 18). Made for the lent machine's 16-core Xeon (no
# network there), runs on any Linux machine:
#   1. builds scout (CPU only) and llama-bench (from the source vendored in the pinned
#      llama-cpp-python 0.3.36 sdist, in a work folder; never committed);
#   2. writes the models with `scout demo-model --gguf` (random weights, no download): the 1.3 B
#      Scout-structured model at Q4_K_M and Q8_0, and Scout's real dimensions cut to 4 layers at
#      Q4_K_M (~6 GB);
#   3. runs `scout bench --profile --json` and `llama-bench -o json` (pp512, tg128) at each
#      thread count, the two engines alternating, and prints the table with scout's per-stage
#      profile (ms per token and thread use).
# Output in $OUT (default scaling-out/): scaling.md (the tables), scaling.json (every run),
# log.txt, runs/*.json. Every step is time-limited and the whole stays under --budget seconds;
# what did not fit is marked skipped.
#
#   bash scripts/scaling.sh [--budget S] [--jobs N] [--threads "1 2 4 8 16"] [--big-threads "8 16"]
#                           [--reps R] [--work DIR] [--llama-src DIR|FILE.tgz]
#   bash scripts/scaling.sh --pack-llama-src     # here, with network: the trimmed llama.cpp source
#                                                # as .devdeps/llama-src.tgz (8 MB) for a machine
#                                                # without network (the sdist is 77 MB, over a carry's limit)
# On the lent machine: run `bash scripts/scaling.sh --budget 470` with carry [".devdeps"].
set -u

BUDGET=470
JOBS=$(nproc)
THREADS=""
BIG_THREADS=""
REPS=2
WORK=""
LLAMA_SRC=""
PACK=0
SDIST_PIN="llama-cpp-python==0.3.36"
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) BUDGET=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --big-threads) BIG_THREADS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --llama-src) LLAMA_SRC=$2; shift 2 ;;
    --pack-llama-src) PACK=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
WORK=${WORK:-$ROOT/build-scaling}
mkdir -p "$WORK"

# The sdist's vendored llama.cpp without what llama-bench's CPU build never reads (models, docs,
# tests, the GPU backends): 8 MB packed instead of 77.
pack_llama_src() {
  local sdist dir
  sdist=$(ls "$WORK"/llama_cpp_python-0.3.36.tar.gz 2>/dev/null)
  if [ -z "$sdist" ]; then
    python3 -m pip download --no-deps --no-binary :all: "$SDIST_PIN" -d "$WORK" >&2 || return 1
    sdist=$WORK/llama_cpp_python-0.3.36.tar.gz
  fi
  dir=$WORK/pack
  rm -rf "$dir" && mkdir -p "$dir" || return 1
  tar xzf "$sdist" -C "$dir" llama_cpp_python-0.3.36/vendor/llama.cpp || return 1
  mv "$dir/llama_cpp_python-0.3.36/vendor/llama.cpp" "$dir/llama.cpp" || return 1
  (cd "$dir/llama.cpp" && rm -rf models docs tests benches examples .git* tools/server/public* tools/server/webui &&
    for b in ggml/src/ggml-*/; do case "$b" in */ggml-cpu/|*/ggml-blas/) ;; *) rm -rf "$b" ;; esac; done) || return 1
  mkdir -p "$ROOT/.devdeps" && tar czf "$ROOT/.devdeps/llama-src.tgz" -C "$dir" llama.cpp || return 1
  echo "wrote $ROOT/.devdeps/llama-src.tgz ($(du -h "$ROOT/.devdeps/llama-src.tgz" | cut -f1))"
}
if [ "$PACK" = 1 ]; then pack_llama_src; exit $?; fi

OUT=${OUT:-$ROOT/scaling-out}
. "$ROOT/scripts/steps.sh"
mkdir -p "$OUT/runs"

CORES=$(python3 -c 'import os; print(len(os.sched_getaffinity(0)))' 2>/dev/null || nproc)
PHYS=$(lscpu -p=CORE,SOCKET 2>/dev/null | grep -v '^#' | sort -u | wc -l)
[ "$PHYS" -ge 1 ] 2>/dev/null || PHYS=$CORES
CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
# Thread counts: powers of two up to the physical cores, and the core count itself.
if [ -z "$THREADS" ]; then
  for t in 1 2 4 8 16 32 64 128; do [ "$t" -le "$PHYS" ] && THREADS="$THREADS $t"; done
  case " $THREADS " in *" $PHYS "*) ;; *) THREADS="$THREADS $PHYS" ;; esac
fi
if [ -z "$BIG_THREADS" ]; then
  for t in $THREADS; do [ "$t" -ge 8 ] && BIG_THREADS="$BIG_THREADS $t"; done
  [ -z "$BIG_THREADS" ] && BIG_THREADS=$(echo $THREADS | awk '{print $NF}')
fi
log "scaling check in $ROOT: $CPU, $CORES logical CPUs, $PHYS physical cores; threads [$THREADS], big model [$BIG_THREADS], reps $REPS, budget ${BUDGET}s"

# 1. Builds.
step configure-scout 60 cmake -S . -B "$WORK/scout" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCOUT_CUDA=OFF \
  -DSCOUT_TESTS=OFF -DSCOUT_BENCH=OFF -DSCOUT_SERVER=OFF
step build-scout 240 cmake --build "$WORK/scout" -j "$JOBS" --target scout
SCOUT=$WORK/scout/src/apps/scout

if [ -z "$LLAMA_SRC" ]; then
  for c in "$ROOT/.devdeps/llama-src.tgz" "$WORK/llama_cpp_python-0.3.36.tar.gz"; do [ -s "$c" ] && LLAMA_SRC=$c && break; done
fi
LSRC=$WORK/llama.cpp
if [ -d "$LLAMA_SRC" ]; then
  LSRC=$LLAMA_SRC
elif [ -n "$LLAMA_SRC" ] && [ ! -f "$LSRC/CMakeLists.txt" ]; then
  case "$LLAMA_SRC" in
    *llama_cpp_python*) step unpack-llama 60 bash -c "tar xzf '$LLAMA_SRC' -C '$WORK' llama_cpp_python-0.3.36/vendor/llama.cpp && mv '$WORK/llama_cpp_python-0.3.36/vendor/llama.cpp' '$LSRC'" ;;
    *) step unpack-llama 60 tar xzf "$LLAMA_SRC" -C "$WORK" ;;
  esac
elif [ -z "$LLAMA_SRC" ] && [ ! -f "$LSRC/CMakeLists.txt" ]; then
  log "no llama.cpp source: trying pip download of $SDIST_PIN (carry .devdeps/llama-src.tgz where there is no network)"
  step fetch-llama 120 bash -c "python3 -m pip download --no-deps --no-binary :all: '$SDIST_PIN' -d '$WORK' && tar xzf '$WORK/llama_cpp_python-0.3.36.tar.gz' -C '$WORK' llama_cpp_python-0.3.36/vendor/llama.cpp && mv '$WORK/llama_cpp_python-0.3.36/vendor/llama.cpp' '$LSRC'"
fi
step configure-llama 60 cmake -S "$LSRC" -B "$WORK/llama-build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
step build-llama 240 cmake --build "$WORK/llama-build" -j "$JOBS" --target llama-bench
LLAMA_BENCH=$WORK/llama-build/bin/llama-bench

# 2. Models (kept in the work folder between runs).
TOK=""
for t in ../shared/data/llama4/tokenizer.model shared/data/llama4/tokenizer.model "$HOME/.cache/scout/tokenizer.model"; do
  [ -s "$t" ] && TOK=$t && break
done
[ -z "$TOK" ] && log "no tokenizer.model found (../shared/data/llama4 or ~/.cache/scout; tools/fetch_tokenizer.sh gets one)"
model() {  # model NAME ARGS...: writes $WORK/NAME.gguf unless there (a cut-off write leaves no file)
  local name=$1
  shift
  [ -s "$WORK/$name.gguf" ] && return 0
  step "model-$name" 300 "$SCOUT" demo-model "$WORK/$name.gguf.part" --tokenizer "$TOK" --force "$@" &&
    mv "$WORK/$name.gguf.part" "$WORK/$name.gguf"
  rm -f "$WORK/$name.gguf.part"
}
model 1b-q4_k_m --gguf Q4_K_M --size 1b
model scout4l-q4_k_m --gguf Q4_K_M --config tests/data/configs/scout/config.json --layers 4
model 1b-q8_0 --gguf Q8_0 --size 1b

# 3. Runs, most wanted first, so a short budget still yields the main table.
run_pair() {  # run_pair MODEL THREADS
  local m=$1 t=$2
  [ -s "$WORK/$m.gguf" ] || return 0
  step_to "$OUT/runs/scout-$m-t$t.json" "scout-$m-t$t" 120 "$SCOUT" bench -m "$WORK/$m.gguf" -p 512 -n 128 \
    -r "$REPS" -t "$t" --profile --json
  step_to "$OUT/runs/llama-$m-t$t.json" "llama-$m-t$t" 120 "$LLAMA_BENCH" -m "$WORK/$m.gguf" -p 512 -n 128 \
    -r "$REPS" -t "$t" -o json
}
for t in $THREADS; do run_pair 1b-q4_k_m "$t"; done
for t in $BIG_THREADS; do run_pair scout4l-q4_k_m "$t"; done
for t in $BIG_THREADS; do run_pair 1b-q8_0 "$t"; done

# 4. The tables.
python3 - "$OUT" "$CPU" "$CORES" "$PHYS" "$(elapsed)" "${STEPS%,}" <<'PY'
import json, pathlib, sys
out, cpu, cores, phys, secs, steps = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
def load(p):
    try:
        return json.loads(p.read_text())
    except Exception:
        return None
rows, summary = [], {"cpu": cpu, "logical_cpus": cores, "physical_cores": phys, "seconds": secs,
                     "steps": json.loads("[" + steps + "]"), "runs": []}
names = {"1b-q4_k_m": "1.3 B synthetic, Q4_K_M", "1b-q8_0": "1.3 B synthetic, Q8_0",
         "scout4l-q4_k_m": "4 layers at Scout's dimensions, Q4_K_M"}
for f in sorted(out.glob("runs/scout-*.json")):
    m, t = f.stem[len("scout-"):].rsplit("-t", 1)
    s, l = load(f), load(out / "runs" / f"llama-{m}-t{t}.json")
    r = {"model": m, "threads": int(t), "scout": s, "llama": l}
    for key in ("pp", "tg"):
        r[f"scout_{key}"] = s[f"{key}_tok_s"]["median"] if s else None
        n_prompt = key == "pp"
        hit = [x for x in (l or []) if (x.get("n_prompt", 0) > 0) == n_prompt and (x.get("n_gen", 0) > 0) != n_prompt]
        r[f"llama_{key}"] = hit[0]["avg_ts"] if hit else None
    summary["runs"].append(r)
order = list(names)
summary["runs"].sort(key=lambda r: (order.index(r["model"]) if r["model"] in order else 9, r["threads"]))
def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"
def num(v):
    return f"{v:,.1f}" if v else "—"
md = [f"# scout vs llama.cpp by thread count\n", f"{cpu}; {cores} logical CPUs, {phys} physical cores. pp512 and tg128 in tok/s "
      "(medians of the reps); same GGUF files, llama-bench built from the llama-cpp-python 0.3.36 sdist.\n",
      "| model, type | threads | scout pp512 | llama.cpp pp512 | ratio | scout tg128 | llama.cpp tg128 | ratio |",
      "|---|---|---|---|---|---|---|---|"]
last = None
for r in summary["runs"]:
    label = names.get(r["model"], r["model"]) if r["model"] != last else ""
    last = r["model"]
    md.append(f"| {label} | {r['threads']} | {num(r['scout_pp'])} | {num(r['llama_pp'])} | {ratio(r['scout_pp'], r['llama_pp'])} "
              f"| {num(r['scout_tg'])} | {num(r['llama_tg'])} | {ratio(r['scout_tg'], r['llama_tg'])} |")
md.append("\n## scout's prompt stages (pp512): ms per token, and thread use (mean thread's work / wall)\n")
for r in summary["runs"]:
    s = r["scout"]
    if not s or "pp_profile_threads" not in s:
        continue
    md.append(f"**{names.get(r['model'], r['model'])}, {r['threads']} thread{'s' if r['threads'] != 1 else ''}**\n")
    md.append("| stage | ms | busiest thread ms | use | regions per pass |\n|---|---|---|---|---|")
    stages = s["pp_profile_ms_per_token"]
    pipeline = ["embed", "norms + residuals", "attn q/k/v proj", "rope, qk-norm, temp", "attention (kv)", "attn out proj",
                "moe (router+experts)", "dense ffn", "final norm + lm_head"]
    for stage in [x for x in pipeline if x in stages] + [x for x in stages if x not in pipeline]:
        ms = stages[stage]
        th = s["pp_profile_threads"][stage]
        if ms <= 0:
            continue
        md.append(f"| {stage} | {ms:.4f} | {th['busiest_ms']:.4f} | {100 * th['mean_thread_ms'] / ms:.0f}% | {th['regions_per_pass']:.1f} |")
    md.append("")
(out / "scaling.md").write_text("\n".join(md) + "\n")
(out / "scaling.json").write_text(json.dumps(summary, indent=1) + "\n")
print("\n".join(md))
PY
log "done in $(elapsed)s: $OUT/scaling.md"
