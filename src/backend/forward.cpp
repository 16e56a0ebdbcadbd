#include "backend/forward.hpp"

#include "base/error.hpp"

namespace scout::backend {

std::string_view StageProfile::name(Stage s) {
    switch (s) {
        case Stage::Embed: return "embed";
        case Stage::Norms: return "norms + residuals";
        case Stage::AttnQkv: return "attn q/k/v proj";
        case Stage::RopeScale: return "rope, qk-norm, temp";
        case Stage::Attention: return "attention (kv)";
        case Stage::AttnOut: return "attn out proj";
        case Stage::Moe: return "moe (router+experts)";
        case Stage::DenseFfn: return "dense ffn";
        case Stage::LmHead: return "final norm + lm_head";
        case Stage::Count: break;
    }
    return "?";
}

void Forward::fill_kv_random(kv::KvMemory&, int64_t, uint64_t) {
    throw Error(cat("the ", capabilities().device, " backend cannot fill KV memory with random rows: use --fill prefill"));
}

}  // namespace scout::backend
