"""A tiny valid Llama 4 checkpoint whose greedy reply is a fixed token chain, e.g. a tool call.

The weights are set by hand so the model is a bigram lookup table over a short chain of tokens:

- one decoder layer whose attention and MLP add nothing (every projection is zero), so the hidden
  state at a position is just the embedding of the token there;
- token chain[i] embeds as the one-hot vector e_i (hidden size >= chain length); every other token
  embeds as zero;
- the final RMSNorm maps e_i to sqrt(D) * e_i (norm weights are 1), and lm_head row chain[i + 1]
  has LOGIT_WEIGHT in column i, so after chain[i] the token chain[i + 1] scores
  sqrt(D) * LOGIT_WEIGHT (~256) against 0 for every other token: it wins under greedy decoding and,
  in practice, under any sampling temperature near 1.

So each token of the chain except the last needs a unique successor: chain[:-1] must not repeat.
Start the chain with the last prompt token (the chat template ends the prompt with
`<|header_start|>assistant<|header_end|>` + "\\n\\n", token 368) and end it with `<|eot|>`
(200008), a stop token; the model then answers every chat prompt with exactly chain[1:].

Only the standard library is used (the pytest venv pins just the openai client and pytest). The
file is written with the real 202,048-token vocabulary in bf16: about 13 MB, written in well
under a second.

    python3 tool_call_model.py OUT_DIR TOKENIZER_MODEL ID ID ... (the chain, prompt token first)
"""
import json
import math
import shutil
import struct
import sys
from pathlib import Path

VOCAB = 202048
BOS, EOT, EOM, END_OF_TEXT, PAD = 200000, 200008, 200007, 200001, 200018
LOGIT_WEIGHT = 64.0  # exact in bf16


def bf16(x):
    """The bf16 bytes of a float (exact for the values used here: 0, 1, powers of two)."""
    return struct.pack("<f", x)[2:]


def config(hidden, n_heads, head_dim, mlp):
    return {
        "architectures": ["Llama4ForCausalLM"],
        "model_type": "llama4_text",
        "torch_dtype": "bfloat16",
        "vocab_size": VOCAB,
        "hidden_size": hidden,
        "intermediate_size": mlp,
        "intermediate_size_mlp": mlp,
        "num_hidden_layers": 1,
        "num_attention_heads": n_heads,
        "num_key_value_heads": n_heads,
        "head_dim": head_dim,
        "moe_layers": [],  # one dense layer
        "num_local_experts": 1,
        "num_experts_per_tok": 1,
        "no_rope_layers": [1],
        "attention_chunk_size": 8192,
        "use_qk_norm": False,
        "attn_temperature_tuning": False,
        "rope_theta": 500000.0,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-5,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "bos_token_id": BOS,
        "eos_token_id": [END_OF_TEXT, EOM, EOT],
        "pad_token_id": PAD,
    }


def write_safetensors(path, tensors):
    """tensors: list of (name, shape, bytes) in bf16, written in order."""
    header, offset = {}, 0
    for name, shape, data in tensors:
        assert len(data) == 2 * math.prod(shape), name
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, _, data in tensors:
            f.write(data)


def write_chain_model(out_dir, tokenizer_model, chain, hidden=16):
    """Writes config.json, model.safetensors and tokenizer.model into out_dir (see the module doc)."""
    chain = [int(t) for t in chain]
    if len(chain) < 2:
        raise ValueError("the chain needs a prompt token and at least one reply token")
    if len(set(chain[:-1])) != len(chain) - 1:
        raise ValueError(f"every chain token but the last must be distinct (unique successor): {chain}")
    if not all(0 <= t < VOCAB for t in chain):
        raise ValueError(f"token id out of range: {chain}")
    if len(chain) - 1 > hidden:
        hidden = 1 << (len(chain) - 2).bit_length()  # a power of two >= the number of sources
    n_heads, head_dim, mlp = 2, hidden // 2, hidden
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    D = hidden
    embed = bytearray(2 * VOCAB * D)
    head = bytearray(2 * VOCAB * D)
    one, big = bf16(1.0), bf16(LOGIT_WEIGHT)
    for i, (tok, nxt) in enumerate(zip(chain, chain[1:])):
        p = 2 * (tok * D + i)
        embed[p:p + 2] = one
        p = 2 * (nxt * D + i)
        head[p:p + 2] = big
    ones = one * D

    def zeros(*shape):
        return (list(shape), bytes(2 * math.prod(shape)))

    t = [("model.embed_tokens.weight", [VOCAB, D], bytes(embed))]
    lp = "model.layers.0."
    t.append((lp + "input_layernorm.weight", [D], ones))
    t.append((lp + "post_attention_layernorm.weight", [D], ones))
    for name, shape in [("self_attn.q_proj.weight", (n_heads * head_dim, D)),
                        ("self_attn.k_proj.weight", (n_heads * head_dim, D)),
                        ("self_attn.v_proj.weight", (n_heads * head_dim, D)),
                        ("self_attn.o_proj.weight", (D, n_heads * head_dim)),
                        ("feed_forward.gate_proj.weight", (mlp, D)),
                        ("feed_forward.up_proj.weight", (mlp, D)),
                        ("feed_forward.down_proj.weight", (D, mlp))]:
        t.append((lp + name, *zeros(*shape)))
    t.append(("model.norm.weight", [D], ones))
    t.append(("lm_head.weight", [VOCAB, D], bytes(head)))

    (out / "config.json").write_text(json.dumps(config(D, n_heads, head_dim, mlp), indent=2) + "\n")
    write_safetensors(out / "model.safetensors", t)
    if Path(tokenizer_model).resolve() != (out / "tokenizer.model").resolve():
        shutil.copyfile(tokenizer_model, out / "tokenizer.model")
    return out


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__.rsplit("\n\n", 1)[1])
    write_chain_model(sys.argv[1], sys.argv[2], sys.argv[3:])
