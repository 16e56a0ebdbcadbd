#include "backend/factory.hpp"

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
        return cuda::make_cuda_forward(config, plan, weights, options);
#else
    if (options.device == "cuda")
        throw Error("this scout was built without CUDA (configure with -DSCOUT_CUDA=ON on a machine with nvcc); "
                    "use --device cpu");
#endif
    throw Error(cat("unknown device \"", options.device, "\" (choose cpu or cuda)"));
}

}  // namespace scout::backend
