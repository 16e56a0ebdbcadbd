#!/usr/bin/env python3
"""Writes a vocabulary-only Llama 4 GGUF laid out as llama.cpp's converter lays out Llama 4's
tokenizer, from the real tokenizer.model, with gguf-py (pinned in requirements-gguf.txt).

scout reads the tokenizer from such files (hub GGUFs of Scout come without tokenizer.model), and
tests/model/test_gguf_vocab.cpp checks that the tokenizer it builds from this file gives
tiktoken's ids on every golden. The file is ~13 MB (mostly merges), so it is written at test
time (a CTest fixture, tests/model/CMakeLists.txt) rather than committed. This script is written
independently of scout's own GGUF tokenizer writer (src/model/gguf_tokenizer.cpp), from the
conventions as documented in docs/tokenizer.md §4 and the converter's behaviour:

  convert_hf_to_gguf.py goes through HF's tokenizer.json (transformers' TikTokenConverter):
  - tokenizer.ggml.model "gpt2", tokenizer.ggml.pre "llama4";
  - tokens: ids 0..199999 are the token bytes in GPT-2's byte-level alphabet, type NORMAL;
    200000..201133 (the added tokens HF registers) their names, type CONTROL; the ids the HF file
    lacks are "[PAD<id>]", type UNUSED, except 201134, where transformers appends the converter's
    stray pad_token "<|finetune_right_pad_id|>" (CONTROL);
  - merges: every split of a token into two tokens, ordered by the merged token's rank, then by
    the left part's rank;
  - bos 200000, eos 200008 (<|eot|>, the Instruct model), pad 200018, add_bos_token true, and a
    chat template (a short stand-in here: scout never runs it, it only reports that it is there).

Usage: make_llamacpp_vocab_gguf.py TOKENIZER_MODEL OUT.gguf   (OUT is kept while it is up to date)
"""
import base64
import os
import sys

import gguf

N_REGULAR = 200_000
N_VOCAB = 202_048
N_HF_ADDED = 1_134  # specials HF's tokenizer.json registers: 200000..201133


def llama4_special_names():
    """The 2,048 special-token names in id order (docs/tokenizer.md §1.2)."""
    def reserved(family, a, b):
        return [f"<|{family}reserved_special_token_{i}|>" for i in range(a, b)]
    basic = ["<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]
    post_train = (["<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>", "<|step|>"]
                  + reserved("text_post_train_", 0, 6)
                  + ["<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>"]
                  + reserved("text_post_train_", 8, 69))
    vision = (["<|image_start|>", "<|image_end|>"] + reserved("vision_", 0, 2)
              + ["<|tile_x_separator|>", "<|tile_y_separator|>"] + reserved("vision_", 2, 6)
              + ["<|image|>"] + reserved("vision_", 6, 7) + ["<|patch|>"] + reserved("vision_", 7, 1048))
    reasoning = reserved("reasoning_", 0, 8) + ["<|reasoning_thinking_start|>", "<|reasoning_thinking_end|>"]
    names = basic + post_train + vision + reasoning
    names += reserved("", 0, N_VOCAB - N_REGULAR - len(names))
    assert len(names) == N_VOCAB - N_REGULAR and len(basic + post_train + vision) == N_HF_ADDED
    return names


def byte_level_alphabet():
    """GPT-2's bytes_to_unicode: printable Latin-1 bytes keep their code point, the other 68
    bytes take U+0100, U+0101, ... in byte order."""
    table, extra = {}, 0
    for b in range(256):
        if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def read_ranks(path):
    """tokenizer.model: one "<base64 bytes> <rank>" line per token, ranks 0..199999 in order."""
    tokens = []
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            text, rank = line.split()
            assert int(rank) == len(tokens), f"rank {rank} out of order"
            tokens.append(base64.b64decode(text))
    assert len(tokens) == N_REGULAR, f"{path}: {len(tokens)} tokens, expected {N_REGULAR}"
    return tokens


def merges_of(tokens, to_text):
    rank = {t: i for i, t in enumerate(tokens)}
    merges = []
    for t in tokens:  # rank order
        splits = [(rank[t[:k]], k) for k in range(1, len(t)) if t[:k] in rank and t[k:] in rank]
        for _, k in sorted(splits):
            merges.append(f"{to_text(t[:k])} {to_text(t[k:])}")
    return merges


# A minimal Llama 4 template (headers, <|eot|>, the generation prompt); the converter copies the
# checkpoint's much longer one. Only its presence matters to scout.
CHAT_TEMPLATE = (
    "{{- bos_token }}{%- for m in messages %}{{- '<|header_start|>' + m['role'] + '<|header_end|>\\n\\n' }}"
    "{{- m['content'] | trim }}{{- '<|eot|>' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|header_start|>assistant<|header_end|>\\n\\n' }}{%- endif %}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[-1].strip())
    model_path, out = sys.argv[1], sys.argv[2]
    if not os.path.exists(model_path):
        # As a test fixture: skipped (77) without the tokenizer, failed under CI, which has it.
        print(f"no tokenizer.model at {model_path}")
        sys.exit(1 if os.environ.get("CI") else 77)
    # Reused while newer than this script and the tokenizer (writing it takes ~10 s).
    if os.path.exists(out) and os.path.getmtime(out) > max(os.path.getmtime(__file__), os.path.getmtime(model_path)):
        print(f"{out}: up to date")
        return
    alphabet = byte_level_alphabet()
    to_text = lambda b: "".join(alphabet[x] for x in b)  # noqa: E731
    regular = read_ranks(model_path)
    specials = llama4_special_names()

    tokens = [to_text(t) for t in regular]
    types = [gguf.TokenType.NORMAL] * N_REGULAR
    for i in range(N_VOCAB - N_REGULAR):
        tok_id = N_REGULAR + i
        if i < N_HF_ADDED:
            tokens.append(specials[i])
            types.append(gguf.TokenType.CONTROL)
        elif i == N_HF_ADDED:
            tokens.append("<|finetune_right_pad_id|>")
            types.append(gguf.TokenType.CONTROL)
        else:
            tokens.append(f"[PAD{tok_id}]")
            types.append(gguf.TokenType.UNUSED)

    tmp = out + f".tmp{os.getpid()}"
    w = gguf.GGUFWriter(tmp, arch="llama4")
    w.add_name("Llama 4 vocabulary (llama.cpp converter layout)")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama4")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges_of(regular, to_text))
    w.add_bos_token_id(200000)
    w.add_eos_token_id(200008)
    w.add_pad_token_id(200018)
    w.add_add_bos_token(True)
    w.add_chat_template(CHAT_TEMPLATE)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, out)
    print(f"{out}: {len(tokens)} tokens, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
