#!/usr/bin/env python3
"""Peak RSS of a long run at each KV type (issue 14): what --kv-type saves in a real process.

For each type, `scout run` twice under /usr/bin/time: a short prompt (the baseline: weights, code,
buffers) and a prompt that fills the context (the repository's docs, cut to exactly
--positions - 8 tokens with <|begin_of_text|>), then 8 greedy tokens, with -c --positions. The
difference of the two peak RSS figures is what the long context costs; it is printed beside the KV
bytes `scout info` says that type allocates (per token of the global-attention layers + the fixed
chunk rings), so the two can be compared.

Usage (from the repository root, after building scout):
  build/src/apps/scout demo-model demo-model --tokenizer ~/.cache/scout/tokenizer.model
  python3 bench/kv_rss.py -m demo-model                    # 16,384 positions, all four types
  python3 bench/kv_rss.py -m bench-1b --types f16,q8_0 --json out.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
N_GEN = 8


def n_tokens(scout: str, tokenizer: str, text: str, work: Path) -> int:
    f = work / "probe.txt"
    f.write_text(text)
    out = subprocess.check_output([scout, "tokenize", "--tokenizer", tokenizer, "--file", str(f), "--json"])
    return len(json.loads(out))


def prompt_of(scout: str, tokenizer: str, n: int, work: Path) -> Path:
    """The docs and README, cut at the longest prefix of at most n tokens (bisection on characters)."""
    text = "\n".join(p.read_text() for p in sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"])
    while n_tokens(scout, tokenizer, text, work) < n:
        text += text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if n_tokens(scout, tokenizer, text[:mid], work) <= n:
            lo = mid
        else:
            hi = mid - 1
    got = n_tokens(scout, tokenizer, text[:lo], work)
    if got != n:
        sys.exit(f"error: could not cut the prompt to {n} tokens (got {got})")
    path = work / "prompt.txt"
    path.write_text(text[:lo])
    return path


def peak_rss(cmd: list[str]) -> tuple[int, str]:
    """(peak RSS in bytes, scout's speed line) of one run."""
    r = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    kb = int(re.findall(r"maxrss_kb=(\d+)", r.stderr)[-1])
    speed = next((l for l in r.stderr.splitlines() if l.startswith("[prompt")), "")
    return kb * 1024, speed


def kv_bytes(scout: str, model: str) -> dict[str, tuple[int, int]]:
    """Per type: (bytes per token of the global layers, fixed bytes of the chunk rings), from scout info."""
    info = json.loads(subprocess.check_output([scout, "info", "-m", model, "--json"]))
    return {t: (v["bytes_per_token"], v["chunk_ring_bytes"]) for t, v in info["kv"].items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True, help="checkpoint directory or GGUF file")
    ap.add_argument("--scout", default=str(REPO / "build/src/apps/scout"))
    ap.add_argument("--tokenizer", help="tokenizer.model (default: the model's own)")
    ap.add_argument("--positions", type=int, default=16384, help="context filled: prompt + 8 generated")
    ap.add_argument("--types", default="f32,f16,bf16,q8_0")
    ap.add_argument("-t", "--threads", type=int)
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    tokenizer = args.tokenizer or args.model
    kv = kv_bytes(args.scout, args.model)
    threads = ["-t", str(args.threads)] if args.threads else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prompt = prompt_of(args.scout, tokenizer, args.positions - N_GEN - 1, work)  # + BOS
        for t in args.types.split(","):
            common = ["-m", args.model, "-c", str(args.positions), "-n", str(N_GEN), "--temp", "0", "--kv-type", t] + threads
            base, _ = peak_rss([args.scout, "run", "-p", "The capital of France is"] + common)
            full, speed = peak_rss([args.scout, "run", "-f", str(prompt)] + common)
            per_token, rings = kv[t]
            expected = per_token * args.positions + rings
            rows.append({"kv_type": t, "positions": args.positions, "peak_rss_short": base, "peak_rss_long": full,
                         "growth": full - base, "kv_allocated": expected, "speed": speed})
            print(f"{t:5s} peak RSS {full / 2**20:8.1f} MiB (short run {base / 2**20:7.1f}): +{(full - base) / 2**20:7.1f} MiB"
                  f" for {args.positions} positions; KV by scout info {expected / 2**20:7.1f} MiB   {speed}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
