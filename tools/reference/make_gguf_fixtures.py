#!/usr/bin/env python3
"""GGUF fixtures for scout's GGUF reader and block-format tests (tests/data/gguf/).

Writes, with gguf-py's GGUFWriter (the reference writer of llama.cpp's Python tools):
  types.gguf         one [3, 512] tensor of every weight type scout supports
                     (F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K) plus metadata of every
                     GGUF value type, arrays included.
  types/<T>.npy      gguf-py's numpy dequantization (gguf.quants.dequantize) of
                     tensor "t.<T>" as float32 [3, 512]: the bit-exact expectation.
  types/src.npy      the float32 input that F32/F16/BF16/Q8_0/Q4_0 were quantized from
                     (gguf.quants.quantize; gguf-py has no K-quant quantizer, so the
                     K-quant tensors are random blocks with valid fp16 scales).
  llama4_tiny.gguf   a tiny llama.cpp-style `llama4` text model: the metadata keys
                     llama.cpp's converter writes and every tensor name of the
                     architecture (random small weights, F32/F16/Q8_0).
  llama4_min.gguf    a one-layer llama4 file of zeros (28 KB): fuzzing seed
                     (tests/fuzz) and the smallest valid llama4 input.

Check mode (records that gguf-py reads what scout writes):
  make_gguf_fixtures.py --verify FILE
reads FILE (written by scout's GGUF writer in test_gguf_writer) with gguf-py's
GGUFReader, dequantizes every tensor "q.<T>" with gguf-py and compares it with the
F32 tensor "q.<T>.scout" holding scout's own dequantization: they must be equal bit
for bit. Prints one line per tensor and "N passed, 0 failed".

Usage:
  python3 -m venv .venv-gguf && .venv-gguf/bin/pip install -r tools/reference/requirements-gguf.txt
  .venv-gguf/bin/python tools/reference/make_gguf_fixtures.py [--out tests/data/gguf]
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V

SEED = 20261127
TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"]
GGPY_QUANTIZES = {"F32", "F16", "BF16", "Q8_0", "Q4_0"}


def random_k_blocks(rng, qtype, n_blocks):
    """Random bytes for every field, then finite fp16 super-block scales.

    Scales cover normal, subnormal and negative fp16 values so that the fp16
    decoding paths are exercised too."""
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)

    def scales(k):
        v = rng.standard_normal(k).astype(np.float32) * np.float32(0.01)
        v[::7] = np.float32(3e-6) * np.sign(v[::7])      # fp16 subnormals
        return v.astype(np.float16).view(np.uint8).reshape(k, 2)

    if qtype in (T.Q4_K, T.Q5_K):       # d at bytes 0-1, dmin at 2-3
        raw[:, 0:2] = scales(n_blocks)
        raw[:, 2:4] = scales(n_blocks)
    elif qtype == T.Q6_K:               # d at the end (bytes 208-209)
        raw[:, 208:210] = scales(n_blocks)
    return raw


def write_types(out: Path):
    rng = np.random.default_rng(SEED)
    rows, cols = 3, 512
    src = (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)
    src[0, :5] = [0.0, -0.0, 1e-8, -70000.0 / 1e6, 65000.0 / 1e5]   # zeros, tiny, larger values
    (out / "types").mkdir(parents=True, exist_ok=True)
    np.save(out / "types" / "src.npy", src)

    w = gguf.GGUFWriter(str(out / "types.gguf"), "scout_test")
    # Metadata of every value type (keys read back by test_gguf_reader.cpp).
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.1)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo wörld")
    w.add_uint64("test.u64", 18000000000000000000)
    w.add_int64("test.i64", -9000000000000000000)
    w.add_float64("test.f64", 2.718281828459045)
    w.add_key_value("test.arr_i32", [1, -2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("test.arr_f32", [0.5, -1.5], V.ARRAY, sub_type=V.FLOAT32)
    w.add_key_value("test.arr_str", ["a", "", "ccc"], V.ARRAY, sub_type=V.STRING)
    w.add_key_value("test.arr_bool", [True, False], V.ARRAY, sub_type=V.BOOL)
    w.add_key_value("test.arr_u8", [1, 2, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_key_value("test.arr_u64", [2**40, 7], V.ARRAY, sub_type=V.UINT64)
    for name in TYPES:
        qt = T[name]
        if name in GGPY_QUANTIZES:
            data = src if qt == T.F32 else gguf.quants.quantize(src, qt)
            if qt == T.F16:
                w.add_tensor(f"t.{name}", data)
            elif qt == T.F32:
                w.add_tensor(f"t.{name}", data)
            else:
                w.add_tensor(f"t.{name}", data, raw_dtype=qt)
        else:
            block, type_size = gguf.GGML_QUANT_SIZES[qt]
            data = random_k_blocks(rng, qt, rows * cols // block).reshape(rows, cols // block * type_size)
            w.add_tensor(f"t.{name}", data, raw_dtype=qt)
        expected = gguf.quants.dequantize(np.asarray(data), qt).astype(np.float32).reshape(rows, cols)
        np.save(out / "types" / f"{name}.npy", expected)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_llama4_tiny(out: Path):
    """A tiny llama4 GGUF with the keys and tensor names llama.cpp uses (peers.md §1.3-1.4)."""
    rng = np.random.default_rng(SEED + 1)
    n_layer, d, n_head, n_kv, hd, n_exp, f_exp, f_mlp, vocab = 4, 64, 4, 2, 16, 4, 32, 96, 64
    arch = "llama4"
    w = gguf.GGUFWriter(str(out / "llama4_tiny.gguf"), arch)
    w.add_name("scout tiny llama4 fixture")
    w.add_block_count(n_layer)
    w.add_context_length(10485760)
    w.add_embedding_length(d)
    w.add_feed_forward_length(f_mlp)
    w.add_expert_feed_forward_length(f_exp)
    w.add_expert_count(n_exp)
    w.add_expert_used_count(1)
    w.add_interleave_moe_layer_step(1)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(500000.0)
    w.add_rope_dimension_count(hd)
    w.add_vocab_size(vocab)
    w.add_file_type(7)  # MOSTLY_Q8_0
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama4")
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)

    def t(name, shape, qt=T.F32):
        x = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        if qt == T.F32:
            w.add_tensor(name, x)
        elif qt == T.F16:
            w.add_tensor(name, x.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(x, qt), raw_dtype=qt)

    # Shapes in PyTorch order (gguf-py reverses them into GGUF's ne[] order).
    t("token_embd.weight", (vocab, d), T.Q8_0)
    t("output_norm.weight", (d,))
    t("output.weight", (vocab, d), T.Q8_0)
    # llama3-scaled RoPE frequency factors (factor 16, low/high 1/1, original 8192): the
    # divisor applied to each inv_freq band; values here are arbitrary but positive.
    w.add_tensor("rope_freqs.weight", np.linspace(1.0, 16.0, hd // 2, dtype=np.float32))
    for il in range(n_layer):
        p = f"blk.{il}."
        t(p + "attn_norm.weight", (d,))
        t(p + "attn_q.weight", (n_head * hd, d), T.Q8_0)
        t(p + "attn_k.weight", (n_kv * hd, d), T.Q8_0)
        t(p + "attn_v.weight", (n_kv * hd, d), T.Q8_0)
        t(p + "attn_output.weight", (d, n_head * hd), T.Q8_0)
        t(p + "ffn_norm.weight", (d,))
        t(p + "ffn_gate_inp.weight", (n_exp, d))
        t(p + "ffn_gate_exps.weight", (n_exp, f_exp, d), T.F16)
        t(p + "ffn_up_exps.weight", (n_exp, f_exp, d), T.F16)
        t(p + "ffn_down_exps.weight", (n_exp, d, f_exp), T.F16)
        t(p + "ffn_gate_shexp.weight", (f_exp, d), T.Q8_0)
        t(p + "ffn_up_shexp.weight", (f_exp, d), T.Q8_0)
        t(p + "ffn_down_shexp.weight", (d, f_exp), T.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_llama4_min(out: Path):
    w = gguf.GGUFWriter(str(out / "llama4_min.gguf"), "llama4")
    for k, v in [("block_count", 1), ("embedding_length", 32), ("feed_forward_length", 32),
                 ("expert_feed_forward_length", 32), ("expert_count", 2), ("expert_used_count", 1),
                 ("interleave_moe_layer_step", 1), ("context_length", 64)]:
        w.add_uint32(f"llama4.{k}", v)
    w.add_uint32("llama4.attention.head_count", 2)
    w.add_uint32("llama4.attention.head_count_kv", 1)
    w.add_float32("llama4.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_float32("llama4.rope.freq_base", 500000.0)
    w.add_uint32("llama4.rope.dimension_count", 16)
    w.add_uint32("llama4.vocab_size", 32)
    w.add_key_value("tokenizer.ggml.tokens", ["a", "b"], V.ARRAY, sub_type=V.STRING)
    z = lambda *s: np.zeros(s, np.float32)
    w.add_tensor("token_embd.weight", gguf.quants.quantize(z(32, 32), T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("output_norm.weight", z(32))
    w.add_tensor("rope_freqs.weight", np.ones(8, np.float32))
    for n, s in [("attn_norm", (32,)), ("attn_q", (32, 32)), ("attn_k", (16, 32)), ("attn_v", (16, 32)),
                 ("attn_output", (32, 32)), ("ffn_norm", (32,)), ("ffn_gate_inp", (2, 32)),
                 ("ffn_gate_exps", (2, 32, 32)), ("ffn_up_exps", (2, 32, 32)), ("ffn_down_exps", (2, 32, 32)),
                 ("ffn_gate_shexp", (32, 32)), ("ffn_up_shexp", (32, 32)), ("ffn_down_shexp", (32, 32))]:
        w.add_tensor(f"blk.0.{n}.weight", z(*s).astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def verify(path: Path) -> int:
    r = gguf.GGUFReader(str(path))
    tensors = {t.name: t for t in r.tensors}
    passed = failed = 0
    for name, t in sorted(tensors.items()):
        if not name.startswith("q.") or name.endswith(".scout"):
            continue
        ref = tensors.get(name + ".scout")
        got = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32).ravel()
        want = np.asarray(ref.data).astype(np.float32).ravel() if ref is not None else None
        ok = want is not None and got.shape == want.shape and np.array_equal(got.view(np.uint32), want.view(np.uint32))
        print(f"{name}: {t.tensor_type.name} shape={[int(d) for d in t.shape]} {'OK' if ok else 'MISMATCH'}")
        passed += ok
        failed += not ok
    kv = {f.name: f for f in r.fields.values()}
    print(f"metadata keys read by gguf-py: {len(kv)}; architecture = "
          f"{bytes(kv['general.architecture'].parts[-1]).decode() if 'general.architecture' in kv else '?'}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "tests/data/gguf")
    ap.add_argument("--verify", type=Path, help="check a GGUF file written by scout with gguf-py")
    a = ap.parse_args()
    if a.verify:
        sys.exit(verify(a.verify))
    a.out.mkdir(parents=True, exist_ok=True)
    write_types(a.out)
    write_llama4_tiny(a.out)
    write_llama4_min(a.out)
    print(f"wrote fixtures to {a.out} with gguf {gguf.__version__ if hasattr(gguf, '__version__') else '0.19.0'}")


if __name__ == "__main__":
    main()
