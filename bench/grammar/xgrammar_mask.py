#!/usr/bin/env python3
"""xgrammar's side of bench/grammar/compare_llamacpp_grammar.py (--xgrammar-python): the same schema,
the same token sequence as bench_grammar_mask, through xgrammar (the library vLLM and SGLang use
for response_format), on the real Llama 4 vocabulary.

  python xgrammar_mask.py TOKENIZER_MODEL SCHEMA_JSON TOKENS

The vocabulary: tokenizer.model's 200,000 byte strings (VocabType.RAW) plus the 2,048 special
tokens as empty strings (xgrammar never allows those inside the structure), stop tokens <|eot|>,
<|eom|>, <|end_of_text|>. compile_json_schema runs on one thread (scout and llama.cpp compute
their masks on one); its time is reported apart, since xgrammar precomputes per-position token
sets there that scout computes lazily at each step. Then at each step fill_next_token_bitmask is
timed and the step's token accepted. Prints one JSON object. Needs xgrammar
(bench/grammar/requirements.txt; it brings torch)."""
import base64
import json
import statistics
import sys
import time

import numpy as np
import xgrammar as xgr

N_SPECIAL = 2048
# Llama 4's special token ids that end a reply (docs/tokenizer.md).
STOP = {"<|eot|>": 200008, "<|eom|>": 200007, "<|end_of_text|>": 200001}


def stats(v):
    s = sorted(v)
    return {"n": len(s), "mean_ms": statistics.fmean(s), "median_ms": s[len(s) // 2],
            "p99_ms": s[int(0.99 * (len(s) - 1))], "max_ms": s[-1], "total_ms": sum(s)}


def main():
    tok_path, schema_path, tokens_path = sys.argv[1:4]
    vocab = [base64.b64decode(line.split()[0]) for line in open(tok_path, "rb") if line.strip()]
    vocab += [b""] * N_SPECIAL
    info = xgr.TokenizerInfo(vocab, xgr.VocabType.RAW, vocab_size=len(vocab), stop_token_ids=sorted(STOP.values()))
    compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
    schema = open(schema_path).read()
    t0 = time.perf_counter()
    compiled = compiler.compile_json_schema(schema, any_whitespace=True)
    compile_ms = (time.perf_counter() - t0) * 1e3
    matcher = xgr.GrammarMatcher(compiled)
    tokens = [int(x) for x in open(tokens_path).read().split()]
    bitmask = xgr.allocate_token_bitmask(1, info.vocab_size)  # a torch tensor of int32 words
    times, allowed, refused_at = [], [], -1
    for step in range(len(tokens) + 1):
        t0 = time.perf_counter()
        matcher.fill_next_token_bitmask(bitmask)
        times.append((time.perf_counter() - t0) * 1e3)
        allowed.append(int(np.unpackbits(bitmask.numpy().view(np.uint8)).sum()))
        if step == len(tokens):
            break
        if not matcher.accept_token(tokens[step]):
            refused_at = step
            break
    print(json.dumps({"engine": "xgrammar", "steps": len(times), "tokens": len(tokens), "refused_at": refused_at,
                      "mean_allowed": statistics.fmean(allowed), "compile_ms": compile_ms, "mask": stats(times)}))


if __name__ == "__main__":
    main()
