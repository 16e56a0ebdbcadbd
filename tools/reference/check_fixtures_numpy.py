#!/usr/bin/env python3
"""Independent float64 NumPy implementation of the Llama 4 text forward pass, written from
docs/llama4-spec.md §2 (not from transformers), run against every text-only logits case of every
fixture, and every "long_logits" case (the 12,000-token long-context fixture, at its stored
positions; attention runs in blocks of queries, so no [S, S] matrix is needed).  It checks that the
fixtures mean what the spec says (chunk masks, NoPE/temperature, interleaved llama3 RoPE with
float32 angles, weightless QK norm, sigmoid-scaled expert input, ...).  About 10 s in all.

    python tools/reference/check_fixtures_numpy.py [--data tests/data]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file as _load_np


def load_tensors(d: Path) -> dict:
    idx = d / "model.safetensors.index.json"
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if idx.exists() else ["model.safetensors"]
    out = {}
    for f in files:
        try:
            t = _load_np(str(d / f))
        except TypeError:  # bf16: numpy has no bfloat16, go through torch
            import torch
            from safetensors.torch import load_file

            t = {k: v.float().numpy() for k, v in load_file(str(d / f)).items()}
        out.update(t)
    return {k: v.astype(np.float64) for k, v in out.items()}


def text_config(cfg: dict) -> dict:
    tc = dict(cfg.get("text_config", cfg))
    if "rope_parameters" in tc:
        rp = dict(tc["rope_parameters"])
    else:
        rp = dict(tc.get("rope_scaling") or {"rope_type": "default"})
        rp["rope_theta"] = tc["rope_theta"]
    tc["_rope"] = rp
    L = tc["num_hidden_layers"]
    nrl = tc.get("no_rope_layers") or [int((i + 1) % tc.get("no_rope_layer_interval", 4) != 0) for i in range(L)]
    tc["_use_rope"] = [bool(x) for x in nrl]
    moe = tc.get("moe_layers")
    if moe is None:
        s = tc.get("interleave_moe_layer_step", 1)
        moe = list(range(s - 1, L, s))
    tc["_moe"] = set(moe)
    return tc


def inv_freq(tc) -> np.ndarray:
    rp, d = tc["_rope"], tc["head_dim"]
    # float32 like the reference, then widened
    inv = (1.0 / (np.float32(rp["rope_theta"]) ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d)))).astype(
        np.float32
    )
    if rp.get("rope_type", "default") == "llama3":
        f, lo, hi, n = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"], rp["original_max_position_embeddings"]
        wl = 2 * math.pi / inv.astype(np.float64)
        out = inv.astype(np.float64).copy()
        for j, w in enumerate(wl):
            if w < n / hi:
                pass
            elif w > n / lo:
                out[j] = inv[j] / f
            else:
                s = (n / w - lo) / (hi - lo)
                out[j] = (1 - s) * inv[j] / f + s * inv[j]
        return out
    return inv.astype(np.float64)


def rms(x, w=None, eps=1e-5):
    y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    return y * w if w is not None else y


def silu(x):
    return x / (1 + np.exp(-x))


def attention(q, k, v, chunk: int | None, block: int = 512) -> np.ndarray:
    """softmax(q·kᵀ/sqrt(d) + mask)·v per head with GQA (q head h reads kv head h // (H/Hkv)); the
    mask is causal, and with `chunk` also keeps keys to the query's own chunk of `chunk` positions.
    Queries go in blocks of `block` rows, so a 12,000-token sequence needs no [S, S] matrix."""
    S, H, d = q.shape
    Hkv = k.shape[1]
    o = np.empty_like(q)
    for i0 in range(0, S, block):
        i1 = min(S, i0 + block)
        qp = np.arange(i0, i1)
        j0 = (i0 // chunk) * chunk if chunk else 0  # keys before the block's first chunk are never seen
        kp = np.arange(j0, i1)
        mask = kp[None, :] <= qp[:, None]
        if chunk:
            mask &= (kp[None, :] // chunk) == (qp[:, None] // chunk)
        for hh in range(H):
            g = hh // (H // Hkv)
            sc = q[i0:i1, hh, :] @ k[j0:i1, g, :].T / math.sqrt(d)
            sc = np.where(mask, sc, -np.inf)
            sc = np.exp(sc - sc.max(-1, keepdims=True))
            sc /= sc.sum(-1, keepdims=True)
            o[i0:i1, hh, :] = sc @ v[j0:i1, g, :]
    return o


def forward(W: dict, tc: dict, prefix: str, tokens: list[int], trace: list | None = None) -> np.ndarray:
    p = lambda n: W[prefix + n]  # noqa: E731
    D, H, Hkv, d = tc["hidden_size"], tc["num_attention_heads"], tc["num_key_value_heads"], tc["head_dim"]
    C, eps = tc["attention_chunk_size"], tc["rms_norm_eps"]
    S = len(tokens)
    pos = np.arange(S)
    ang = (pos[:, None].astype(np.float32) * inv_freq(tc).astype(np.float32)[None, :]).astype(np.float64)
    cos, sin = np.cos(ang), np.sin(ang)
    h = p("embed_tokens.weight")[tokens]
    if trace is not None:
        trace.append(h)
    for l in range(tc["num_hidden_layers"]):
        q_ = f"layers.{l}."
        a = rms(h, p(q_ + "input_layernorm.weight"), eps)
        q = (a @ p(q_ + "self_attn.q_proj.weight").T).reshape(S, H, d)
        k = (a @ p(q_ + "self_attn.k_proj.weight").T).reshape(S, Hkv, d)
        v = (a @ p(q_ + "self_attn.v_proj.weight").T).reshape(S, Hkv, d)
        rope = tc["_use_rope"][l]
        if rope:
            def rot(x):
                x0, x1 = x[..., 0::2], x[..., 1::2]
                c, s = cos[:, None, :], sin[:, None, :]
                out = np.empty_like(x)
                out[..., 0::2] = x0 * c - x1 * s
                out[..., 1::2] = x0 * s + x1 * c
                return out

            q, k = rot(q), rot(k)
            if tc.get("use_qk_norm", True):
                q, k = rms(q, None, eps), rms(k, None, eps)
        elif tc.get("attn_temperature_tuning", True):
            sc = 1 + tc["attn_scale"] * np.log1p(np.floor((pos + 1) / tc["floor_scale"]))
            q = q * sc[:, None, None]
        o = attention(q, k, v, C if rope else None)
        h = h + o.reshape(S, H * d) @ p(q_ + "self_attn.o_proj.weight").T
        b = rms(h, p(q_ + "post_attention_layernorm.weight"), eps)
        ff = q_ + "feed_forward."
        if l in tc["_moe"]:
            kk = tc["num_experts_per_tok"]
            logits = b @ p(ff + "router.weight").T
            y = b @ p(ff + "shared_expert.gate_proj.weight").T
            y = (silu(y) * (b @ p(ff + "shared_expert.up_proj.weight").T)) @ p(ff + "shared_expert.down_proj.weight").T
            gu, dn = p(ff + "experts.gate_up_proj"), p(ff + "experts.down_proj")
            F = dn.shape[1]
            top = np.argsort(-logits, axis=-1, kind="stable")[:, :kk]
            for e in range(gu.shape[0]):
                rows, _ = np.nonzero(top == e)
                if rows.size == 0:
                    continue
                xe = b[rows] / (1 + np.exp(-logits[rows, e]))[:, None]
                gg = xe @ gu[e]
                y[rows] += (silu(gg[:, :F]) * gg[:, F:]) @ dn[e]
        else:
            y = (silu(b @ p(ff + "gate_proj.weight").T) * (b @ p(ff + "up_proj.weight").T)) @ p(ff + "down_proj.weight").T
        h = h + y
        if trace is not None:
            trace.append(h)
    h = rms(h, p("norm.weight"), eps)
    head = W["lm_head.weight"] if "lm_head.weight" in W else W["language_model.lm_head.weight"]
    return h @ head.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="tests/data", type=Path)
    args = ap.parse_args()
    worst_all = 0.0
    for d in sorted((args.data / "models").iterdir()):
        cases = json.load(open(d / "reference" / "cases.json"))
        cfg = json.load(open(d / "config.json"))
        tc = text_config(cfg)
        W = load_tensors(d)
        prefix = "language_model.model." if "language_model.model.embed_tokens.weight" in W else "model."
        for c in cases.get("logits", []):
            if "pixel_values" in c:
                continue
            ref = np.load(d / "reference" / c["file"]).astype(np.float64)
            trace = []
            got = forward(W, tc, prefix, c["tokens"], trace)
            err = float(np.abs(got - ref).max())
            rel = err / max(1.0, float(np.abs(ref).max()))
            print(f"{d.name:28s} {c['file']:12s} n={len(c['tokens']):2d} {c['compute_dtype']:8s} max|d|={err:.2e} rel={rel:.2e}")
            if c["compute_dtype"] == "float32":
                worst_all = max(worst_all, rel)
            if "hidden_states" in c:
                hs = np.load(d / "reference" / c["hidden_states"]).astype(np.float64)
                hs_err = max(
                    float(np.abs(a - b).max()) / max(1.0, float(np.abs(b).max())) for a, b in zip(trace, hs)
                )
                print(f"{d.name:28s} {c['hidden_states']}: per-layer residual stream rel={hs_err:.2e}")
                worst_all = max(worst_all, hs_err)
        for c in cases.get("long_logits", []):
            # long-context fixture: one long sequence, reference rows at c["positions"] only
            ref = np.load(d / "reference" / c["file"]).astype(np.float64)
            got = forward(W, tc, prefix, c["tokens"])[c["positions"]]
            err = float(np.abs(got - ref).max())
            rel = err / max(1.0, float(np.abs(ref).max()))
            n, m = len(c["tokens"]), len(c["positions"])
            print(f"{d.name:28s} {c['file']:12s} n={n} at {m} positions {c['compute_dtype']:8s} max|d|={err:.2e} rel={rel:.2e}")
            worst_all = max(worst_all, rel)
        for g in cases.get("greedy", []):
            seq = g["prompt"] + g["output"]
            lg = forward(W, tc, prefix, seq[:-1])
            pred = lg[len(g["prompt"]) - 1 :].argmax(-1).tolist()
            ok = pred == g["output"]
            print(f"{d.name:28s} greedy prompt_len={len(g['prompt'])} teacher-forced argmax matches: {ok}")
            if not ok:
                worst_all = float("inf")
    print(f"worst float32 relative error: {worst_all:.2e}")
    sys.exit(0 if worst_all <= 1e-5 else 1)


if __name__ == "__main__":
    main()
