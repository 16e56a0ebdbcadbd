// The flags every model-running command shares to choose and size its backend:
// --device, --threads, --kv-type, --kv-ram, --kv-dir (run, chat, serve, bench, logits).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "backend/factory.hpp"

namespace scout::apps {

struct BackendFlags {
    std::string device = "cpu";
    int threads = 0;
    std::string kv_type;  // empty: the default (kv::kDefaultKvType)
    std::string kv_ram;   // --kv-ram: byte budget for global-layer KV in RAM ("8G"); empty: none
    std::string kv_dir;   // --kv-dir: folder of the KV file past that budget
};

void add_backend_flags(CLI::App* cmd, BackendFlags& flags);
// Throws scout::Error for an unknown KV type or a malformed --kv-ram.
backend::BackendOptions backend_options(const BackendFlags& flags);

}  // namespace scout::apps
