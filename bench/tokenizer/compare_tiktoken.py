#!/usr/bin/env python3
"""Single-thread encode throughput: scout vs tiktoken on the same corpus, in the same run.

tiktoken is timed two ways on each corpus document (both single-threaded):
  tiktoken      Encoding.encode(doc) with Llama 4's ranks and the o200k pattern (the Rust core)
  llama-models  Tokenizer.encode(doc), the reference (tiktoken plus its Python 400k/25k chunking)
The ratio reported is scout's MB/s over plain tiktoken's (the stricter of the two). All three must
give the same number of ids. The three are timed in ROUNDS interleaved rounds of MIN_SECONDS each
and each reports its best pass, so a change in machine load affects all of them alike.

Usage: python compare_tiktoken.py BENCH_BINARY TOKENIZER_MODEL [CORPUS_JSONL] [MIN_SECONDS] [ROUNDS]
Needs tools/reference/requirements-tokenizer.txt (+ llama-models==0.3.0 --no-deps).
"""
import json
import subprocess
import sys
import time
from pathlib import Path

from llama_models.llama4.tokenizer import Tokenizer


def best_pass(fn, docs, min_seconds):
    # Thread CPU time, like bench_tokenizer: the machine may be shared, and time spent descheduled
    # is not the tokenizer's.
    best, n_ids, reps, start = 1e30, 0, 0, time.perf_counter()
    while reps < 3 or time.perf_counter() - start < min_seconds:
        t0 = time.thread_time()
        n_ids = sum(len(fn(d)) for d in docs)
        best = min(best, time.thread_time() - t0)
        reps += 1
    return best, n_ids


def main():
    binary, model = sys.argv[1], sys.argv[2]
    root = Path(__file__).resolve().parents[2]
    corpus = sys.argv[3] if len(sys.argv) > 3 else str(root / "tests/data/tokenizer/corpus.jsonl")
    min_seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    docs = [json.loads(line)["text"] for line in open(corpus, encoding="utf-8") if line.strip()]
    n_bytes = sum(len(d.encode()) for d in docs)

    tok = Tokenizer(Path(model))
    enc = tok.model
    results = {}

    def keep(name, secs, n_ids):
        if name not in results or secs < results[name][0]:
            results[name] = (secs, n_ids)

    for _ in range(rounds):
        keep("tiktoken", *best_pass(lambda d: enc.encode(d, allowed_special=set(), disallowed_special=()), docs,
                                    min_seconds))
        keep("llama-models", *best_pass(lambda d: tok.encode(d, bos=False, eos=False), docs, min_seconds))
        out = subprocess.run([binary, model, corpus, str(min_seconds)], check=True, capture_output=True, text=True)
        s = json.loads(out.stdout)
        keep("scout", s["best_cpu_seconds"], s["tokens"])

    print(f"corpus: {len(docs)} documents, {n_bytes} bytes ({n_bytes / 1e6:.2f} MB), single thread, "
          f"best of {rounds} interleaved rounds")
    for name, (secs, n_ids) in results.items():
        print(f"  {name:13s} {n_bytes / secs / 1e6:8.2f} MB/s   ({n_ids} ids, best pass {secs * 1e3:.1f} ms CPU)")
    ids = {n for _, n in results.values()}
    if len(ids) != 1:
        print(f"ERROR: id counts differ: {ids}")
        sys.exit(1)
    ratio = results["tiktoken"][0] / results["scout"][0]
    print(f"scout / tiktoken = {ratio:.2f}x   (goal >= 1.5x);  "
          f"scout / llama-models = {results['llama-models'][0] / results['scout'][0]:.2f}x")


if __name__ == "__main__":
    main()
