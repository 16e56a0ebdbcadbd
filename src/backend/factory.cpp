#include "backend/factory.hpp"

#include <cmath>

#include "backend/cpu/forward_cpu.hpp"
#include "base/error.hpp"
#ifdef SCOUT_HAVE_CUDA
#include "backend/cuda/forward_cuda.hpp"
#endif

namespace scout::backend {

std::vector<std::string> compiled_devices() {
#ifdef SCOUT_HAVE_CUDA
    return {"cpu", "cuda"};
#else
    return {"cpu"};
#endif
}

std::vector<GpuSummary> list_gpus(std::string* why_none) {
    std::vector<GpuSummary> out;
#ifdef SCOUT_HAVE_CUDA
    std::string why;
    if (!cuda::device_available(&why)) {
        if (why_none) *why_none = why;
        return out;
    }
    for (int i = 0;; ++i) {
        cuda::DeviceInfo info;
        try {
            info = cuda::device_info(i);
        } catch (const Error&) {
            break;  // past the last device
        }
        out.push_back({cat("cuda:", i), info.name, info.total_bytes, info.free_bytes});
    }
#else
    if (why_none) *why_none = "this scout was built without CUDA";
#endif
    return out;
}

uint64_t gpu_weight_bytes(const model::TextWeights& weights) {
#ifdef SCOUT_HAVE_CUDA
    return cuda::device_weight_bytes(weights);
#else
    (void)weights;
    return 0;
#endif
}

DeviceChoice choose_device(const BackendOptions& options, uint64_t need_bytes) {
    if (options.device != "auto") return {options.device, cat("device ", options.device, " (--device)")};
    std::string why;
    const std::vector<GpuSummary> gpus = list_gpus(&why);
    if (gpus.empty()) return {"cpu", cat("device cpu: ", why), false};
    const GpuSummary& g = gpus.front();
    const auto gib = [](uint64_t b) { return cat(std::round(static_cast<double>(b) / (1 << 30) * 10) / 10, " GiB"); };
    if (options.kv_ram_bytes > 0) return {"cpu", cat("device cpu: --kv-ram runs on the CPU only (", g.name, " not used)"), true};
    if (options.kv_type == kv::KvType::Q4_0 || options.global_kv_type() != options.kv_type)
        return {"cpu", cat("device cpu: this KV type choice runs on the CPU only (", g.name, " not used)"), true};
    if (need_bytes > g.free_bytes)  // weights, KV, activations
        return {"cpu", cat("device cpu: the model needs ", gib(need_bytes), " on the GPU but ", g.name, " has ",
                           gib(g.free_bytes), " free (--device cuda to try anyway)"), true};
    return {g.device, cat("device ", g.device, ": ", g.name, ", ", gib(need_bytes), " of ", gib(g.free_bytes),
                          " free used (--device cpu to stay on the CPU)"), true};
}

SyntheticForward make_synthetic_forward(const model::TextConfig& config, const std::string& type, uint64_t seed,
                                        const BackendOptions& options) {
#ifdef SCOUT_HAVE_CUDA
    if (options.device == "cuda" || options.device.rfind("cuda:", 0) == 0)
        return {cuda::make_synthetic_forward(config, {type, seed}, options, options.upload_progress),
                cuda::synthetic_bytes_per_token(config, type)};
#endif
    throw Error(cat("synthetic weights in device memory need a GPU device, not \"", options.device,
                    "\" (on the CPU, scout bench --synthetic writes a random GGUF file and reads it)"));
}

uint64_t synthetic_gpu_bytes(const model::TextConfig& config, const std::string& type) {
#ifdef SCOUT_HAVE_CUDA
    return cuda::synthetic_weight_bytes(config, type);
#else
    (void)config, (void)type;
    return 0;
#endif
}

std::unique_ptr<Forward> make_forward(const model::TextConfig& config, const model::LayerPlan& plan,
                                      const model::TextWeights& weights, const BackendOptions& options) {
    if (options.device == "cpu") {
        check(options.gpu_math == GpuMath::Exact,
              "--gpu-math fast runs on the GPU only (bf16 tensor cores); the CPU computes in float32: "
              "leave --gpu-math out, or use --device cuda");
        return std::make_unique<cpu::CpuForward>(config, plan, weights, options);
    }
#ifdef SCOUT_HAVE_CUDA
    if (options.device == "cuda" || options.device.rfind("cuda:", 0) == 0)
        return cuda::make_cuda_forward(config, plan, weights, options, options.upload_progress);
#else
    if (options.device == "cuda")
        throw Error("this scout was built without CUDA (configure with -DSCOUT_CUDA=ON on a machine with nvcc); "
                    "use --device cpu");
#endif
    check(options.device != "auto", "make_forward: resolve --device auto with choose_device first");
    throw Error(cat("unknown device \"", options.device, "\" (choose auto, cpu or cuda)"));
}

}  // namespace scout::backend
