#include "apps/backend_flags.hpp"

#include <cstdio>
#include <memory>

#include "apps/cli_util.hpp"
#include "apps/progress.hpp"
#include "base/error.hpp"
#include "kv/kv_size.hpp"
#include "kv/kv_type.hpp"

namespace scout::apps {

void add_backend_flags(CLI::App* cmd, BackendFlags& f) {
    std::string devices;
    for (const auto& d : backend::compiled_devices()) devices += (devices.empty() ? "" : ", ") + d;
    cmd->add_option("--device", f.device,
                    "Where the model runs: auto (a GPU when one is present and the model fits in its free memory, "
                    "else the CPU), cpu, cuda or cuda:N (compiled in: " + devices + ")")
        ->capture_default_str();
    cmd->add_option("--gpu-math", f.gpu_math,
                    "How the GPU multiplies many rows at once (prompts, batches of more than 16 sequences): "
                    "exact (float32, matches the CPU up to summation order) or fast (bf16 tensor cores, "
                    "float32 accumulation; see docs/cuda.md for its error). Single-sequence decode is "
                    "float32 either way")
        ->capture_default_str();
    cmd->add_option("-t,--threads", f.threads,
                    "CPU worker threads (default: one per physical core this process may use; hyper-threads "
                    "of one core share its arithmetic units, so more rarely helps)");
    cmd->add_flag("--pin-threads", f.pin_threads,
                  "Bind worker thread i to physical core i (the main thread keeps core 0 to itself): steadier "
                  "speed on a busy or multi-socket server");
    cmd->add_option("--kv-type", f.kv_type,
                    "KV memory element type: " + kv::kv_type_list() + " (default " +
                        std::string(kv::kv_type_name(kv::kDefaultKvType)) +
                        "; f32 is the exact reference, q8_0 and q4_0 need head_dim divisible by 32)");
    cmd->add_option("--kv-type-global", f.kv_type_global,
                    "KV element type of the global (NoPE) layers only, whose KV grows with the context "
                    "(the chunked layers' rings stay at --kv-type): " + kv::kv_type_list() +
                        " (default: as --kv-type; e.g. --kv-type f16 --kv-type-global q8_0)");
    cmd->add_option("--kv-ram", f.kv_ram,
                    "KV beyond RAM: keep at most this many bytes of the global layers' KV in RAM (all "
                    "sequences together; e.g. 512M, 8G; K/M/G/T = powers of 1,024) and put the rest in a "
                    "file in --kv-dir, read back as needed; results are identical. Default: no limit");
    cmd->add_option("--kv-dir", f.kv_dir,
                    "Folder for the KV file of --kv-ram (default: the system's temporary folder); the file "
                    "is deleted when scout exits");
}

backend::BackendOptions resolve_backend(const BackendFlags& flags, const model::TextConfig& config,
                                        const model::LayerPlan& plan, uint64_t gpu_bytes, int64_t context_tokens,
                                        bool quiet) {
    backend::BackendOptions o = backend_options(flags);
    if (o.device == "auto") {
        // Besides the weights: one sequence's KV at this context and about 1 GiB of activations
        // (the CUDA workspace for 512 rows and a 128-row logit chunk of Scout's vocabulary).
        const kv::KvSize kv = kv::kv_size(config, plan, o.kv_type, o.global_kv_type());
        const auto other = static_cast<uint64_t>(kv.bytes_for(std::max<int64_t>(1, context_tokens), plan.chunk_size)) +
                           (uint64_t{1} << 30);
        const backend::DeviceChoice choice = backend::choose_device(o, gpu_bytes + other);
        if (!quiet && choice.gpu_present) std::fprintf(stderr, "%s\n", choice.reason.c_str());
        o.device = choice.device;
    }
    if (o.device != "cpu" && !quiet) {
        auto bar = std::make_shared<LazyProgressBar>("uploading weights to " + o.device);
        o.upload_progress = [bar](uint64_t done, uint64_t total) {
            bar->callback()(done, total);
            if (done >= total) bar->finish();
        };
    }
    return o;
}

kv::KvType parse_kv_type_flag(const std::string& value, std::string_view flag) {
    try {
        return kv::parse_kv_type(value);
    } catch (const Error& e) {
        throw Error(cat(flag, ": ", e.what()));
    }
}

backend::BackendOptions backend_options(const BackendFlags& f) {
    backend::BackendOptions o;
    o.device = f.device;
    if (f.gpu_math == "fast") o.gpu_math = backend::GpuMath::Fast;
    else check(f.gpu_math == "exact", cat("--gpu-math \"", f.gpu_math, "\": choose exact or fast"));
    check(f.threads >= 0, cat("--threads ", f.threads, " is negative; give a count, or leave it out for one per physical core"));
    o.threads = f.threads;
    o.pin_threads = f.pin_threads;
    if (!f.kv_type.empty()) o.kv_type = parse_kv_type_flag(f.kv_type, "--kv-type");
    if (!f.kv_type_global.empty()) o.kv_type_global = parse_kv_type_flag(f.kv_type_global, "--kv-type-global");
    if (!f.kv_ram.empty()) {
        o.kv_ram_bytes = parse_byte_size(f.kv_ram, "--kv-ram");
        check(o.kv_ram_bytes > 0, "--kv-ram must be more than 0 bytes (leave it out for no limit)");
    }
    check(f.kv_dir.empty() || !f.kv_ram.empty(), "--kv-dir needs --kv-ram (the KV goes to a file only past that budget)");
    o.kv_dir = f.kv_dir;
    return o;
}

}  // namespace scout::apps
