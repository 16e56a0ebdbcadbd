"""The real Llama-4-Scout-17B-16E-Instruct and Llama-4-Maverick-17B-128E-Instruct config.json files
(hub layout, transformers-4.x key names: rope_theta / rope_scaling / torch_dtype), written from the
values in docs/llama4-spec.md §1.4, and checked with transformers: the derived layer plan and the
parameter counts (models built on the meta device, no memory used)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoConfig, Llama4ForCausalLM, Llama4ForConditionalGeneration

_VISION = {
    "attention_dropout": 0.0,
    "hidden_act": "gelu",
    "hidden_size": 1408,
    "image_size": 336,
    "initializer_range": 0.02,
    "intermediate_size": 5632,
    "model_type": "llama4_vision_model",
    "multi_modal_projector_bias": False,
    "norm_eps": 1e-05,
    "num_attention_heads": 16,
    "num_channels": 3,
    "num_hidden_layers": 34,
    "patch_size": 14,
    "pixel_shuffle_ratio": 0.5,
    "projector_dropout": 0.0,
    "projector_input_dim": 4096,
    "projector_output_dim": 4096,
    "rope_theta": 10000,
    "vision_feature_layer": -1,
    "vision_feature_select_strategy": "default",
    "vision_output_dim": 4096,
}


def _text(**kw):
    base = {
        "attention_bias": False,
        "attention_chunk_size": 8192,
        "attention_dropout": 0.0,
        "bos_token_id": 200000,
        "eos_token_id": [200001, 200007, 200008],
        "head_dim": 128,
        "hidden_act": "silu",
        "hidden_size": 5120,
        "initializer_range": 0.02,
        "intermediate_size": 8192,
        "intermediate_size_mlp": 16384,
        "model_type": "llama4_text",
        "num_attention_heads": 40,
        "num_experts_per_tok": 1,
        "num_hidden_layers": 48,
        "num_key_value_heads": 8,
        "output_router_logits": False,
        "pad_token_id": 200018,
        "rms_norm_eps": 1e-05,
        "rope_theta": 500000.0,
        "router_aux_loss_coef": 0.001,
        "router_jitter_noise": 0.0,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": 202048,
    }
    base.update(kw)
    return dict(sorted(base.items()))


def _top(text):
    return {
        "architectures": ["Llama4ForConditionalGeneration"],
        "boi_token_index": 200080,
        "eoi_token_index": 200081,
        "image_token_index": 200092,
        "model_type": "llama4",
        "text_config": text,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "vision_config": dict(_VISION),
    }


SCOUT = _top(
    _text(
        interleave_moe_layer_step=1,
        max_position_embeddings=10485760,
        no_rope_layers=[],
        num_local_experts=16,
        rope_scaling={
            "factor": 16.0,
            "high_freq_factor": 1.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3",
        },
        use_qk_norm=True,
    )
)

MAVERICK = _top(
    _text(
        interleave_moe_layer_step=2,
        max_position_embeddings=1048576,
        no_rope_layers=[1, 1, 1, 0] * 12,
        num_local_experts=128,
        rope_scaling=None,
        use_qk_norm=False,
    )
)

EXPECT = {
    # n_layers, chunked, global, moe, dense, text params
    "scout": dict(n_layers=48, n_chunked_layers=36, n_global_layers=12, n_moe_layers=48, n_dense_layers=0,
                  n_params_text=107_769_861_120),
    "maverick": dict(n_layers=48, n_chunked_layers=36, n_global_layers=12, n_moe_layers=24, n_dense_layers=24,
                     n_params_text=400_711_848_960),
}


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def write_and_check(out: Path) -> dict:
    info = {}
    for name, cfg in (("scout", SCOUT), ("maverick", MAVERICK)):
        d = Path(out) / name
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "config.json", "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        c = AutoConfig.from_pretrained(str(d))
        tc = c.text_config
        plan = {
            "n_layers": tc.num_hidden_layers,
            "n_chunked_layers": sum(t == "chunked_attention" for t in tc.layer_types),
            "n_global_layers": sum(t == "full_attention" for t in tc.layer_types),
            "n_moe_layers": len(tc.moe_layers),
            "n_dense_layers": tc.num_hidden_layers - len(tc.moe_layers),
            "nope_layers": [i for i, r in enumerate(tc.no_rope_layers) if not r],
            "moe_layers_head": tc.moe_layers[:6],
            "rope_parameters": tc.rope_parameters,
            "qk_norm_layers": sum(bool(r) and tc.use_qk_norm for r in tc.no_rope_layers),
        }
        for i in range(tc.num_hidden_layers):
            assert (tc.layer_types[i] == "chunked_attention") == bool(tc.no_rope_layers[i])
        with torch.device("meta"):
            text = Llama4ForCausalLM(tc)
            full = Llama4ForConditionalGeneration(c)
        plan["n_params_text"] = _count(text)
        plan["n_params_vision_model"] = _count(full.vision_model)
        plan["n_params_projector"] = _count(full.multi_modal_projector)
        plan["n_params_total"] = _count(full)
        kv_heads, hd = tc.num_key_value_heads, tc.head_dim
        plan["kv_bytes_per_token_global_layers_bf16"] = plan["n_global_layers"] * 2 * kv_heads * hd * 2
        plan["kv_bytes_per_token_all_layers_bf16"] = tc.num_hidden_layers * 2 * kv_heads * hd * 2
        for k, v in EXPECT[name].items():
            assert plan[k] == v, (name, k, plan[k], v)
        info[name] = plan
    return info
