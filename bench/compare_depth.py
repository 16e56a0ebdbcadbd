#!/usr/bin/env python3
"""scout vs llama.cpp at long context (issue 17): prompt processing of long prompts and
generation after a deep context, on the same GGUF file, same threads, same run.

For every measurement each engine runs in its own process, alternating scout / llama.cpp
repetition by repetition (a shared VM's speed drifts over minutes), and the medians are compared:

  pp N    one prompt of N tokens into an empty context: `scout bench -p N -n 0` against
          `llama-bench -p N -n 0 -fa 1` (llama.cpp's default batch 2048 / micro-batch 512)
  tg @ D  generation of --n-gen tokens after D tokens of context: `scout bench -p 0 -n G -d D`
          against `llama-bench -p 0 -n G -d D -fa 1`. llama-bench makes the context by a real
          prefill before every repetition; scout by default writes random K/V rows
          (`--fill random`: the same bytes are read and multiplied, the logits are meaningless),
          which is what makes depths beyond llama.cpp's reach measurable here. --scout-fill
          prefill runs scout's own prefill instead.
  tg @ D  (scout only) for --scout-only-depths, too deep for llama.cpp's prefill on this machine.

Both use the KV type --kv-type (llama-bench -ctk/-ctv; scout --kv-type) and flash attention on
for llama.cpp (its fast path at depth). llama-bench is built from the llama.cpp source vendored in
the pinned llama-cpp-python 0.3.36 sdist (see bench/README.md); it is not part of this project.

Usage:
  python3 bench/compare_depth.py --model 1b-q4km.gguf --llama-bench /path/to/llama-bench \
      --threads 2 --reps 3 --pp 512,4096,16384 --tg-depths 0,4096,16384 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parse_sizes(text: str) -> list[int]:
    out = []
    for part in filter(None, text.split(",")):
        mult = {"K": 1024, "M": 1024 * 1024}.get(part[-1].upper(), 1)
        out.append(int(part[:-1] if mult > 1 else part) * mult)
    return out


def run_json(cmd: list[str]) -> dict | list:
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    out = json.loads(p.stdout)
    print(f"  {time.time() - t0:6.1f} s  {' '.join(cmd)}", file=sys.stderr)
    return out


def scout_run(args, n_prompt: int, n_gen: int, depth: int) -> dict:
    cmd = [args.scout, "bench", "-m", args.model, "-p", str(n_prompt), "-n", str(n_gen), "-r", "1",
           "-t", str(args.threads), "--kv-type", args.kv_type, "--json"]
    if depth:
        cmd += ["-d", str(depth), "--fill", args.scout_fill]
    r = run_json(cmd)
    return {"pp": r["pp_tok_s"]["median"] if n_prompt else None,
            "tg": r["tg_tok_s"]["median"] if n_gen else None, "peak_rss_bytes": r.get("peak_rss_bytes")}


def llama_run(args, n_prompt: int, n_gen: int, depth: int) -> dict:
    cmd = [args.llama_bench, "-m", args.model, "-p", str(n_prompt), "-n", str(n_gen), "-d", str(depth), "-r", "1",
           "-t", str(args.threads), "-fa", "1", "-ctk", args.kv_type, "-ctv", args.kv_type, "-o", "json"]
    rows = run_json(cmd)
    pp = next((r["avg_ts"] for r in rows if r["n_prompt"] > 0), None)
    tg = next((r["avg_ts"] for r in rows if r["n_gen"] > 0), None)
    return {"pp": pp, "tg": tg, "build": rows[0].get("build_commit"), "cpu": rows[0].get("cpu_info")}


def compare(args, label: str, n_prompt: int, n_gen: int, depth: int, with_llama: bool) -> dict:
    print(f"{label}:", file=sys.stderr)
    key = "pp" if n_prompt else "tg"
    s, l = [], []
    for _ in range(args.reps):
        s.append(scout_run(args, n_prompt, n_gen, depth)[key])
        if with_llama:
            l.append(llama_run(args, n_prompt, n_gen, depth)[key])
    row = {"what": label, "n_prompt": n_prompt, "n_gen": n_gen, "depth": depth, "scout_tok_s": s,
           "scout_median": statistics.median(s)}
    if with_llama:
        row.update({"llama_tok_s": l, "llama_median": statistics.median(l),
                    "ratio": statistics.median(s) / statistics.median(l)})
    line = f"{label:>14}: scout {row['scout_median']:8.2f} tok/s"
    if with_llama:
        line += f"   llama.cpp {row['llama_median']:8.2f} tok/s   scout/llama.cpp {row['ratio']:.2f}x"
    print(line, flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scout", default=str(REPO / "build/src/apps/scout"))
    ap.add_argument("--llama-bench", help="llama.cpp's llama-bench binary (without it: scout alone)")
    ap.add_argument("--model", required=True, help="GGUF file both engines load")
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("-r", "--reps", type=int, default=3, help="alternating repetitions per point (median)")
    ap.add_argument("--kv-type", default="f16")
    ap.add_argument("--pp", default="512,4096,16384", help="prompt lengths (K = 1,024)")
    ap.add_argument("--tg-depths", default="0,4096,16384", help="depths for tg against llama.cpp")
    ap.add_argument("--scout-only-depths", default="65536,122880", help="depths for scout's tg alone")
    ap.add_argument("-n", "--n-gen", type=int, default=32)
    ap.add_argument("--scout-fill", default="random", choices=["random", "prefill"])
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args()

    with_llama = bool(args.llama_bench)
    rows = []
    for n in parse_sizes(args.pp):
        rows.append(compare(args, f"pp{n}", n, 0, 0, with_llama))
    for d in parse_sizes(args.tg_depths):
        rows.append(compare(args, f"tg{args.n_gen} @ d{d}", 0, args.n_gen, d, with_llama))
    for d in parse_sizes(args.scout_only_depths):
        rows.append(compare(args, f"tg{args.n_gen} @ d{d}", 0, args.n_gen, d, False))

    if args.json_out:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        info = {"date": time.strftime("%Y-%m-%d"), "commit": commit, "machine": platform.processor() or platform.machine(),
                "model": args.model, "threads": args.threads, "reps": args.reps, "kv_type": args.kv_type,
                "scout_fill": args.scout_fill, "n_gen": args.n_gen, "command": " ".join(sys.argv), "rows": rows}
        Path(args.json_out).write_text(json.dumps(info, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
