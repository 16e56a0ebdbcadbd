#include "apps/backend_flags.hpp"

#include "kv/kv_type.hpp"

namespace scout::apps {

void add_backend_flags(CLI::App* cmd, BackendFlags& f) {
    std::string devices;
    for (const auto& d : backend::compiled_devices()) devices += (devices.empty() ? "" : ", ") + d;
    cmd->add_option("--device", f.device, "Where the model runs (compiled in: " + devices + ")")->capture_default_str();
    cmd->add_option("-t,--threads", f.threads, "CPU worker threads (default: all cores)");
    cmd->add_option("--kv-type", f.kv_type,
                    "KV memory element type: " + kv::kv_type_list() + " (default " +
                        std::string(kv::kv_type_name(kv::kDefaultKvType)) +
                        "; f32 is the exact reference, q8_0 needs head_dim divisible by 32)");
}

backend::BackendOptions backend_options(const BackendFlags& f) {
    backend::BackendOptions o;
    o.device = f.device;
    o.threads = f.threads;
    if (!f.kv_type.empty()) o.kv_type = kv::parse_kv_type(f.kv_type);
    return o;
}

}  // namespace scout::apps
