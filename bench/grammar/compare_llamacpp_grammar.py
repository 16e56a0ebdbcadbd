#!/usr/bin/env python3
"""scout's allowed-token mask vs llama.cpp's grammar sampler, same schema, same text (issue 21).

For every schema of tests/server/structured_schemas.py and every seed:
1. scout (bench_grammar_mask, build with -DSCOUT_BENCH=ON) generates a random constrained value
   over the real Llama 4 vocabulary, timing at each step the mask as generation computes it
   (TokenConstraint, with its cache) and a fresh trie walk of the same state without the cache;
   it writes the chosen token ids.
2. llama.cpp (bench/grammar/llamacpp_grammar_mask.cpp, compiled here against LLAMA_CPP_SRC and its
   build's libllama / libllama-common) converts the same schema with its own
   json_schema_to_grammar (as llama-server does for response_format), loads the vocabulary from the
   same model's GGUF, and replays the same tokens: at each step its grammar sampler over all
   202,048 candidates (the full mask), and over the chosen token alone (its fast path when an
   unconstrained pick is already in the grammar).
3. With --xgrammar-python (a Python with xgrammar, pinned in bench/grammar/requirements.txt):
   xgrammar, the library vLLM and SGLang use, replays the same tokens too (xgrammar_mask.py); its
   compile_json_schema, which precomputes token sets per grammar position, is timed apart.
All run on one thread, one after the other, in the same run. The table shows per-step means.

Usage (from the repository root):
  python3 bench/grammar/compare_llamacpp_grammar.py --llama-cpp-src DIR --llama-cpp-build DIR \\
      --gguf MODEL.gguf [--tokenizer tokenizer.model] [--seeds 3] [--steps 200] [--json OUT] \\
      [--xgrammar-python PYTHON]
MODEL.gguf: any GGUF with the Llama 4 vocabulary, e.g. the 1.3 B demo model quantized by scout
(bench/README.md); LLAMA_CPP_SRC is vendor/llama.cpp of the pinned llama-cpp-python sdist.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "tests" / "server"))
from structured_schemas import SCHEMAS  # noqa: E402


def run_json(cmd: list[str]) -> dict:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp-src", type=Path, required=True)
    ap.add_argument("--llama-cpp-build", type=Path, required=True)
    ap.add_argument("--gguf", type=Path, required=True, help="a GGUF with the Llama 4 vocabulary")
    ap.add_argument("--tokenizer", type=Path, default=REPO.parent / "shared/data/llama4/tokenizer.model")
    ap.add_argument("--scout-bench", type=Path, default=REPO / "build/bench/grammar/bench_grammar_mask")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "scout-grammar-bench")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--xgrammar-python", help="a Python with xgrammar installed: add it to the comparison")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()

    a.work.mkdir(parents=True, exist_ok=True)
    driver = a.work / "llamacpp_grammar_mask"
    src = REPO / "bench/grammar/llamacpp_grammar_mask.cpp"
    if not driver.exists() or driver.stat().st_mtime < src.stat().st_mtime:
        s, b = a.llama_cpp_src, a.llama_cpp_build / "bin"
        subprocess.run(["g++", "-O2", "-std=c++17", str(src), f"-I{s}/common", f"-I{s}/include", f"-I{s}/ggml/include",
                        f"-I{s}/vendor", f"-L{b}", "-lllama-common", "-lllama", "-lggml", "-lggml-base",
                        f"-Wl,-rpath,{b}", "-o", str(driver)], check=True)
    if not a.scout_bench.exists():
        sys.exit(f"{a.scout_bench} is missing: configure with -DSCOUT_BENCH=ON and build bench_grammar_mask")

    rows = []
    print(f"{'schema':22s} {'steps':>5s} {'scout mask':>11s} {'scout walk':>11s} {'llama.cpp mask':>15s} "
          f"{'llama.cpp 1 token':>18s} {'ratio':>7s}" + (f" {'xgrammar':>10s} {'compile':>9s}" if a.xgrammar_python else ""))
    for name, schema in SCHEMAS.items():
        schema_file = a.work / f"{name}.json"
        schema_file.write_text(json.dumps(schema))
        for seed in range(1, a.seeds + 1):
            tokens = a.work / f"{name}-{seed}.tok"
            ours = run_json([str(a.scout_bench), str(a.tokenizer), str(schema_file), str(a.steps), str(seed), str(tokens)])
            theirs = run_json([str(driver), str(a.gguf), str(schema_file), str(tokens), str(a.work / f"{name}.gbnf")])
            # Compare the steps both engines timed (llama.cpp stops early if its grammar refuses the text).
            row = {"schema": name, "seed": seed, "scout": ours, "llama.cpp": theirs}
            xg = ""
            if a.xgrammar_python:
                row["xgrammar"] = run_json([a.xgrammar_python, str(REPO / "bench/grammar/xgrammar_mask.py"), str(a.tokenizer),
                                            str(schema_file), str(tokens)])
                xg = f" {row['xgrammar']['mask']['mean_ms']:8.3f}ms {row['xgrammar']['compile_ms']:7.1f}ms"
                if row["xgrammar"]["refused_at"] >= 0:
                    xg += f" (xgrammar refused token {row['xgrammar']['refused_at']})"
            rows.append(row)
            ratio = theirs["mask"]["mean_ms"] / ours["mask"]["mean_ms"]
            note = "" if theirs["refused_at"] < 0 else f"  (llama.cpp refused token {theirs['refused_at']})"
            print(f"{name:22s} {ours['steps']:5d} {ours['mask']['mean_ms']:9.3f}ms {ours['walk_without_cache']['mean_ms']:9.3f}ms "
                  f"{theirs['mask']['mean_ms']:13.3f}ms {theirs['chosen_token_only']['mean_ms'] if theirs['chosen_token_only'] else 0:16.4f}ms "
                  f"{ratio:6.0f}x{xg}{note}", flush=True)

    def per_step(engine: str, key: str) -> float:
        timed = [r[engine][key] for r in rows if r[engine][key]]
        return sum(t["total_ms"] for t in timed) / sum(t["n"] for t in timed)

    summary = {
        "scout_mask_ms_per_step": per_step("scout", "mask"),
        "scout_walk_ms_per_step": per_step("scout", "walk_without_cache"),
        "llamacpp_mask_ms_per_step": per_step("llama.cpp", "mask"),
        "llamacpp_chosen_token_ms_per_step": per_step("llama.cpp", "chosen_token_only"),
        "replays_refused_by_llamacpp": sum(1 for r in rows if r["llama.cpp"]["refused_at"] >= 0),
        "runs": len(rows),
    }
    summary["scout_grammar_build_ms_mean"] = statistics.fmean(r["scout"]["grammar_build_ms"] for r in rows)
    summary["llamacpp_grammar_convert_and_init_ms_mean"] = statistics.fmean(
        r["llama.cpp"]["grammar_convert_ms"] + r["llama.cpp"]["grammar_init_ms"] for r in rows)
    if a.xgrammar_python:
        summary["xgrammar_mask_ms_per_step"] = per_step("xgrammar", "mask")
        summary["xgrammar_compile_ms_mean"] = statistics.fmean(r["xgrammar"]["compile_ms"] for r in rows)
        summary["replays_refused_by_xgrammar"] = sum(1 for r in rows if r["xgrammar"]["refused_at"] >= 0)
    medians = [r["llama.cpp"]["mask"]["mean_ms"] / r["scout"]["mask"]["mean_ms"] for r in rows]
    summary["median_ratio_of_means"] = statistics.median(medians)
    print(f"\nall schemas, per step: scout mask {summary['scout_mask_ms_per_step']:.3f} ms (fresh walk "
          f"{summary['scout_walk_ms_per_step']:.3f} ms), llama.cpp full mask {summary['llamacpp_mask_ms_per_step']:.2f} ms, "
          f"llama.cpp chosen token only {summary['llamacpp_chosen_token_ms_per_step']:.4f} ms; "
          f"median ratio {summary['median_ratio_of_means']:.0f}x; {summary['replays_refused_by_llamacpp']} of "
          f"{len(rows)} replays refused by llama.cpp's grammar")
    if a.xgrammar_python:
        print(f"xgrammar: {summary['xgrammar_mask_ms_per_step']:.3f} ms per step after a compile of "
              f"{summary['xgrammar_compile_ms_mean']:.1f} ms per schema (scout builds its grammar in "
              f"{summary['scout_grammar_build_ms_mean']:.2f} ms); {summary['replays_refused_by_xgrammar']} replays refused")
    if a.json:
        a.json.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "threads": 1,
                                      "steps_max": a.steps, "summary": summary, "runs": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
