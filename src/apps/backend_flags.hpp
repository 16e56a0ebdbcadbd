// The flags every model-running command shares to choose and size its backend:
// --device, --threads, --kv-type (run, chat, serve, bench, logits).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "backend/factory.hpp"

namespace scout::apps {

struct BackendFlags {
    std::string device = "cpu";
    int threads = 0;
    std::string kv_type;  // empty: the default (kv::kDefaultKvType)
};

void add_backend_flags(CLI::App* cmd, BackendFlags& flags);
// Throws scout::Error for an unknown KV type.
backend::BackendOptions backend_options(const BackendFlags& flags);

}  // namespace scout::apps
