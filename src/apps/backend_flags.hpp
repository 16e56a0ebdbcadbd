// The flags every model-running command shares to choose and size its backend:
// --device, --gpu-math, --threads, --pin-threads, --kv-type, --kv-type-global, --kv-ram, --kv-dir
// (run, chat, serve, bench, logits).
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "backend/factory.hpp"
#include "kv/kv_type.hpp"

namespace scout::apps {

struct BackendFlags {
    std::string device = "auto";
    std::string gpu_math = "exact";  // --gpu-math exact|fast
    int threads = 0;
    bool pin_threads = false;    // --pin-threads
    std::string kv_type;         // empty: the default (kv::kDefaultKvType)
    std::string kv_type_global;  // --kv-type-global: the global layers' KV type; empty: as --kv-type
    std::string kv_ram;   // --kv-ram: byte budget for global-layer KV in RAM ("8G"); empty: none
    std::string kv_dir;   // --kv-dir: folder of the KV file past that budget
};

void add_backend_flags(CLI::App* cmd, BackendFlags& flags);
// Throws scout::Error for an unknown KV type or a malformed --kv-ram.
backend::BackendOptions backend_options(const BackendFlags& flags);

// backend_options with --device auto resolved for this model (backend::choose_device: the weights'
// gpu_bytes, the KV of `context_tokens` positions and activations), and a progress bar for the
// weights' upload to a GPU. Says on stderr which GPU runs it, or why a GPU present is not used,
// unless quiet; nothing when there is no GPU.
backend::BackendOptions resolve_backend(const BackendFlags& flags, const model::TextConfig& config,
                                        const model::LayerPlan& plan, uint64_t gpu_bytes, int64_t context_tokens,
                                        bool quiet);

// A KV type named by `flag` (--kv-type, --kv-type-global); the error names the flag.
kv::KvType parse_kv_type_flag(const std::string& value, std::string_view flag);

}  // namespace scout::apps
