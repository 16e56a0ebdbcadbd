#!/usr/bin/env python3
"""scout's GGUF export checked with llama.cpp (through llama-cpp-python).

llama.cpp is the reference loader for `llama4` GGUF files, so a file written by
`scout quantize` must (1) load in llama.cpp, (2) give the same logits there as in
`scout logits` on the same file, and (3) tokenize text as scout does, from the
tokenizer metadata alone.

The tiny test fixtures have a 256-token vocabulary, which llama.cpp refuses (its
tokenizer must match the embedding rows), so this uses `scout demo-model`: Scout's
structure scaled down, random weights, the real 202,048-token vocabulary.

llama.cpp hard-codes the attention chunk (8192) and ignores scout's
`scout.llama4.attention_chunk_size` key; the demo model's config says 64. So the
logits are compared on a copy of the demo checkpoint whose config says 8192: both
engines then run the same model (global attention on every layer for sequences
shorter than 8192). Everything else llama.cpp hard-codes for llama4 (NoPE every
4th layer, QK norm on RoPE layers, temperature tuning 0.1 / 8192) is what the demo
config says too.

Setup (llama-cpp-python builds llama.cpp from source; on 2 cores this takes ~10 min):
    python3 -m venv .venv-llama
    .venv-llama/bin/pip install -r tools/reference/requirements-llamacpp.txt
Run:
    .venv-llama/bin/python tools/reference/check_llamacpp.py \\
        --scout build/src/apps/scout --tokenizer ../shared/data/llama4/tokenizer.model
Exit status 0 when every type loads, the F32 file agrees within --f32-tol and the
tokenizations agree; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "  leading spaces,\ttabs\nand\n\nnewlines   ",
    "Numbers: 1234567890 3.14159 -42 1e-5",
    "Grüße aus München! Ça va? 你好，世界。こんにちは Привет мир",
    "def f(x):\n    return x ** 2  # comment\n",
    "emoji 🦙🔥 and accents: naïve café",
    "I'm sure you'll see they've done it, haven't they?",
    "typed special text: <|eot|> <|begin_of_text|>",
    "https://example.com/path?query=1&b=2",
]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def scout_tokens(scout: str, tokenizer: str, text: str, allow_special: bool) -> list[int]:
    cmd = [scout, "tokenize", "--tokenizer", tokenizer, "--file", "-", "--json"]
    if allow_special:
        cmd.append("--allow-special")
    return json.loads(run(cmd, input=text).stdout)


def prepare_model(scout: str, tokenizer: str, work: Path) -> Path:
    demo = work / "demo"
    if not (demo / "model.safetensors").exists():
        run([scout, "demo-model", str(demo), "--tokenizer", tokenizer])
    # The same weights under a config whose attention chunk is llama.cpp's hard-coded 8192.
    same = work / "demo-chunk8192"
    same.mkdir(parents=True, exist_ok=True)
    for name in os.listdir(demo):
        if name == "config.json":
            continue
        link = same / name
        if not link.exists():
            link.symlink_to((demo / name).resolve())
    config = json.loads((demo / "config.json").read_text())
    text_config = config.get("text_config", config)
    text_config["attention_chunk_size"] = 8192
    (same / "config.json").write_text(json.dumps(config, indent=2))
    return same


def dequantized_copy(src: Path, dst: Path) -> None:
    """src with every tensor dequantized to F32 by gguf-py (metadata copied as is).

    llama.cpp on this file runs the quantized file's weight values with F32 activations,
    which is what scout does on the quantized file itself, so the two must agree like F32."""
    import gguf

    reader = gguf.GGUFReader(src)
    writer = gguf.GGUFWriter(dst, arch=reader.fields["general.architecture"].contents())
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), vtype, sub)
    for t in reader.tensors:
        writer.add_tensor(t.name, gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def llama_logits(llama_cpp, gguf: Path, ids: list[int], threads: int):
    # F32 KV cache and no flash attention, so llama.cpp's own rounding stays out of the comparison.
    n = max(256, len(ids))
    llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=n, n_batch=n, n_ubatch=n, logits_all=True, n_threads=threads,
                          type_k=0, type_v=0, flash_attn=False, verbose=False)
    llm.eval(ids)
    return llm, np.array(llm.scores[: len(ids)], dtype=np.float32)


def rel_rms(a: np.ndarray, ref: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - ref) ** 2)) / np.sqrt(np.mean(ref.astype(np.float64) ** 2)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scout", default="build/src/apps/scout")
    ap.add_argument("--tokenizer", default="../shared/data/llama4/tokenizer.model")
    ap.add_argument("--work", default="build/llamacpp-check", help="scratch directory (demo model, GGUF files)")
    ap.add_argument("--types", default="F32,BF16,Q8_0,Q4_K_M")
    ap.add_argument("--n-tokens", type=int, default=160)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--f32-tol", type=float, default=1e-3, help="largest relative RMS accepted for F32")
    ap.add_argument("--json-out", help="write the measurements here")
    ap.add_argument("--reuse", action="store_true", help="keep GGUF files already in --work instead of re-exporting")
    args = ap.parse_args()

    import llama_cpp  # after argparse, so --help works without it

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    model_dir = prepare_model(args.scout, args.tokenizer, work)
    ok = True
    report: dict = {"llama_cpp_python": llama_cpp.__version__, "n_tokens": args.n_tokens, "types": {}}

    # Token ids: BOS, then a real text's tokens, then random regular ids to reach n_tokens.
    rng = np.random.default_rng(1234)
    ids = [200000] + scout_tokens(args.scout, args.tokenizer, " ".join(TEXTS[:6]), False)
    ids += [int(x) for x in rng.integers(0, 200000, size=max(0, args.n_tokens - len(ids)))]
    ids = ids[: args.n_tokens]

    tokenizer_checked = False
    f32: dict = {}  # each engine's logits from the F32 file, when F32 is among --types (list it first)
    for typ in args.types.split(","):
        gguf = work / f"demo-{typ}.gguf"
        t0 = time.time()
        if not (args.reuse and gguf.exists()):
            run([args.scout, "quantize", "-m", str(model_dir), "--type", typ, "-o", str(gguf), "--force"])
        t_quant = time.time() - t0
        ours_path = work / f"scout-{typ}.npy"
        run([args.scout, "logits", "-m", str(gguf), "--tokens", ",".join(map(str, ids)), "-o", str(ours_path),
             "-t", str(args.threads)])
        ours = np.load(ours_path)

        t0 = time.time()
        llm, theirs = llama_logits(llama_cpp, gguf, ids, args.threads)
        t_llama = time.time() - t0
        assert theirs.shape == ours.shape, (theirs.shape, ours.shape)
        r = rel_rms(ours, theirs)
        top1 = float(np.mean(np.argmax(ours, 1) == np.argmax(theirs, 1)))
        maxabs = float(np.max(np.abs(ours - theirs)))
        entry = {"rel_rms": r, "top1": top1, "max_abs": maxabs, "gguf_bytes": gguf.stat().st_size}
        print(f"{typ:7s} scout vs llama.cpp, same file: rel RMS {r:.3e}  top-1 {top1 * 100:.1f}%  max|d| {maxabs:.3e}  "
              f"({gguf.stat().st_size / 1e6:.0f} MB, quantize {t_quant:.0f}s, llama.cpp {t_llama:.0f}s)")
        if typ == "F32":
            f32 = {"scout": ours, "llama": theirs}
        elif f32:
            # Each engine against its own F32 result: how much of the difference above is the
            # weights' rounding (shared by both) and how much the engine's arithmetic (llama.cpp
            # rounds activations to BF16 / Q8_0 / Q8_K for its dot products; scout keeps them F32).
            for eng, mine in (("scout", ours), ("llama", theirs)):
                e = rel_rms(mine, f32[eng])
                t1 = float(np.mean(np.argmax(mine, 1) == np.argmax(f32[eng], 1)))
                entry[f"{eng}_vs_own_f32"] = {"rel_rms": e, "top1": t1}
                print(f"        {eng:5s} {typ} vs {eng} F32: rel RMS {e:.3e}  top-1 {t1 * 100:.1f}%")
        if typ != "F32":
            deq = work / f"demo-{typ}-dequantized-F32.gguf"
            dequantized_copy(gguf, deq)
            llm_deq, deq_logits = llama_logits(llama_cpp, deq, ids, args.threads)
            del llm_deq
            deq.unlink()
            e = rel_rms(ours, deq_logits)
            t1 = float(np.mean(np.argmax(ours, 1) == np.argmax(deq_logits, 1)))
            entry["scout_vs_llama_dequantized_f32"] = {"rel_rms": e, "top1": t1}
            print(f"        scout {typ} vs llama.cpp on the same weights dequantized to F32: rel RMS {e:.3e}  "
                  f"top-1 {t1 * 100:.1f}%")
            if e > args.f32_tol:
                ok = False
                print(f"  scout reads {typ} differently from llama.cpp (more than {args.f32_tol})")
        report["types"][typ] = entry
        if typ == "F32" and r > args.f32_tol:
            ok = False
            print(f"  F32 differs more than {args.f32_tol}")

        if not tokenizer_checked:  # the vocabulary is the same in every file
            tokenizer_checked = True
            n_same = 0
            for text in TEXTS:
                for special in (False, True):
                    want = scout_tokens(args.scout, args.tokenizer, text, special)
                    got = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
                    same = want == list(got)
                    n_same += same
                    if not same:
                        ok = False
                        print(f"  tokenizer differs (special={special}) on {text!r}:\n    scout {want}\n    llama {list(got)}")
            n_all = 2 * len(TEXTS)
            # add_bos_token: llama.cpp puts BOS first by default, as the HF tokenizer does.
            with_bos = list(llm.tokenize(b"Hi", add_bos=True, special=False))
            bos_ok = with_bos[:1] == [200000]
            ok = ok and bos_ok
            # Generation must end at every id of generation_config's eos list (Instruct: end_of_text, eom, eot).
            gen = json.loads((model_dir / "generation_config.json").read_text())
            eos_ids = gen["eos_token_id"] if isinstance(gen["eos_token_id"], list) else [gen["eos_token_id"]]
            vocab = llama_cpp.llama_model_get_vocab(llm.model)
            eog_ok = all(llama_cpp.llama_vocab_is_eog(vocab, t) for t in eos_ids)
            ok = ok and eog_ok
            report["tokenizer"] = {"texts_same": n_same, "texts": n_all, "bos_first": bos_ok, "eos_ids_end_generation": eog_ok}
            print(f"tokenizer: {n_same}/{n_all} tokenizations identical to scout's; BOS first: {bos_ok}; "
                  f"eos ids {eos_ids} end generation in llama.cpp: {eog_ok}")
        del llm

    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
