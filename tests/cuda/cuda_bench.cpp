// scout_cuda_bench: decode / prefill speed of the CUDA backend, for scripts/device-check.sh: what
// `scout bench --synthetic ... --device cuda` measures plus aggregate decode of many sequences, the
// kernels alone and the fast mode's error against the CPU. Prints one JSON object.
//
//   scout_cuda_bench --synthetic CONFIG.json [--type Q4_K_M]   real dimensions, random weights on the GPU
//   scout_cuda_bench --demo-1b [--type Q4_K_M]                 the `scout demo-model --size 1b` dimensions
//   scout_cuda_bench --model PATH                              a checkpoint dir or GGUF file, uploaded
//   scout_cuda_bench --kernels                                 mat-vec / product kernels alone (GB/s)
//   scout_cuda_bench --model PATH --compare-cpu N              the GPU's logits (exact and fast mode) against
//                                                              the CPU's over N greedily generated tokens
//   options: -p N (prefill tokens, 512)  -n N (decode steps, 128)  --batches 1,8,32,128
//            --agg-steps N (32)  --kv-type f16  -r N (reps, 2)  --context N (prompt before decode, 16)
//            --gpu-math exact|fast (exact)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include <cublas_v2.h>

#include "backend/cuda/device_buffer.hpp"
#include "backend/factory.hpp"
#include "backend/cuda/forward_cuda.hpp"
#include "backend/cuda/ops.hpp"
#include "quant/quant.hpp"
#include "base/error.hpp"
#include "engine/model.hpp"
#include "io/hf_checkpoint.hpp"
#include "model/demo_model.hpp"
#include "model/weight_traffic.hpp"

using namespace scout;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Args {
    std::string model, synthetic, type = "Q4_K_M", kv_type = "f16", gpu_math = "exact";
    bool demo_1b = false, kernels = false;
    int64_t compare_cpu = 0;  // generated tokens to compare over (--model only)
    int64_t n_prompt = 512, n_gen = 128, agg_steps = 32, context = 16;
    int reps = 2;
    std::vector<int64_t> batches = {1, 8, 32, 128};
};

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string s = argv[i];
        const auto next = [&]() -> std::string {
            check(i + 1 < argc, cat(s, " needs a value"));
            return argv[++i];
        };
        if (s == "--model") a.model = next();
        else if (s == "--synthetic") a.synthetic = next();
        else if (s == "--demo-1b") a.demo_1b = true;
        else if (s == "--kernels") a.kernels = true;
        else if (s == "--type") a.type = next();
        else if (s == "--kv-type") a.kv_type = next();
        else if (s == "--gpu-math") a.gpu_math = next();
        else if (s == "--compare-cpu") a.compare_cpu = std::stoll(next());
        else if (s == "-p") a.n_prompt = std::stoll(next());
        else if (s == "-n") a.n_gen = std::stoll(next());
        else if (s == "-r") a.reps = std::stoi(next());
        else if (s == "--agg-steps") a.agg_steps = std::stoll(next());
        else if (s == "--context") a.context = std::stoll(next());
        else if (s == "--batches") {
            a.batches.clear();
            std::string v = next();
            for (std::size_t p = 0; p < v.size();) {
                const std::size_t q = v.find(',', p);
                a.batches.push_back(std::stoll(v.substr(p, q - p)));
                p = q == std::string::npos ? v.size() : q + 1;
            }
        } else throw Error(cat("unknown argument ", s));
    }
    check(!a.model.empty() + !a.synthetic.empty() + a.demo_1b + a.kernels == 1,
          "give one of --model, --synthetic, --demo-1b, --kernels");
    check(a.gpu_math == "exact" || a.gpu_math == "fast", "--gpu-math: exact or fast");
    check(a.compare_cpu == 0 || !a.model.empty(), "--compare-cpu needs --model (the CPU reads the same file)");
    return a;
}

std::vector<int32_t> random_tokens(std::mt19937& rng, int64_t n, int64_t vocab) {
    std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(std::min<int64_t>(vocab, 200000) - 1));
    std::vector<int32_t> t(static_cast<std::size_t>(n));
    for (auto& x : t) x = d(rng);
    return t;
}

// ---- --kernels: the product kernels alone, on random weights of Scout's shapes ---------------
// Each case times one launch sequence with CUDA events over enough repetitions for ~20 ms,
// cycling through copies of the weights so that they come from HBM, not L2 (50 MB).
struct Timer {
    cudaEvent_t a = nullptr, b = nullptr;
    Timer() {
        SCOUT_CUDA_CHECK(cudaEventCreate(&a));
        SCOUT_CUDA_CHECK(cudaEventCreate(&b));
    }
    ~Timer() {
        cudaEventDestroy(a);
        cudaEventDestroy(b);
    }
    // Seconds per call of f(rep).
    template <class F>
    double time(F&& f) {
        f(0);  // warm-up
        SCOUT_CUDA_CHECK(cudaEventRecord(a));
        f(1);
        SCOUT_CUDA_CHECK(cudaEventRecord(b));
        SCOUT_CUDA_CHECK(cudaEventSynchronize(b));
        float ms = 0;
        SCOUT_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
        const int reps = static_cast<int>(std::clamp(20.0 / std::max(1e-3, static_cast<double>(ms)), 3.0, 300.0));
        SCOUT_CUDA_CHECK(cudaEventRecord(a));
        for (int r = 0; r < reps; ++r) f(r);
        SCOUT_CUDA_CHECK(cudaEventRecord(b));
        SCOUT_CUDA_CHECK(cudaEventSynchronize(b));
        SCOUT_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
        SCOUT_CUDA_CHECK(cudaGetLastError());
        return static_cast<double>(ms) * 1e-3 / reps;
    }
};

struct BenchMatrix {
    std::vector<cuda::DeviceBuffer> copies;
    std::vector<cuda::DeviceMatrix> m;
    std::size_t bytes = 0;  // one copy
};
BenchMatrix bench_matrix(DType t, int64_t experts, int64_t N, int64_t K, uint64_t seed) {
    BenchMatrix b;
    const std::size_t row = quant::row_size(t, K);
    b.bytes = row * static_cast<std::size_t>(N * experts);
    const std::size_t n = std::max<std::size_t>(1, (std::size_t{256} << 20) / b.bytes + 1);
    for (std::size_t i = 0; i < n; ++i) {
        b.copies.emplace_back(b.bytes);
        cuda::fill_random(b.copies.back().get(), t, N * experts, K, 1.0f / std::sqrt(static_cast<float>(K)), seed + i, nullptr);
        cuda::DeviceMatrix m;
        m.data = b.copies.back().get();
        m.dtype = t;
        m.out = N;
        m.in = K;
        m.row_bytes = row;
        m.expert_bytes = experts > 1 ? row * static_cast<std::size_t>(N) : 0;
        b.m.push_back(m);
    }
    return b;
}

nlohmann::json run_kernels() {
    nlohmann::json rows = nlohmann::json::array();
    Timer timer;
    const int64_t kMaxT = 256, kMaxK = 8192, kMaxN = 202048;
    cuda::DeviceBuffer x(static_cast<std::size_t>(kMaxT * kMaxK) * 4), y(static_cast<std::size_t>(128 * kMaxN) * 4),
        y2(static_cast<std::size_t>(kMaxT * kMaxK) * 4);
    cuda::fill_random(x.get(), DType::F32, kMaxT, kMaxK, 1.0f, 99, nullptr);
    const auto record = [&](const std::string& name, const std::string& kernel, DType t, int64_t N, int64_t K, int64_t T,
                            double secs, double bytes) {
        rows.push_back({{"case", name}, {"kernel", kernel}, {"dtype", std::string(dtype_name(t))}, {"N", N}, {"K", K}, {"T", T},
                        {"us", secs * 1e6}, {"gb_s", bytes / secs / 1e9}});
        std::fprintf(stderr, "%-10s %-5s %6lld x %5lld T %3lld  %-22s %9.1f us %7.0f GB/s\n", name.c_str(),
                     std::string(dtype_name(t)).c_str(),
                     static_cast<long long>(N), static_cast<long long>(K), static_cast<long long>(T), kernel.c_str(),
                     secs * 1e6, bytes / secs / 1e9);
    };
    struct Shape {
        const char* name;
        DType t;
        int64_t N, K;
    };
    // Single products at decode row counts: the old warp-per-row kernel against matvec_jobs.
    for (const Shape& sh : {Shape{"gate", DType::Q4_K, 8192, 5120}, Shape{"down", DType::Q4_K, 5120, 8192},
                            Shape{"down", DType::Q6_K, 5120, 8192}, Shape{"lm_head", DType::Q6_K, 202048, 5120},
                            Shape{"gate", DType::Q8_0, 8192, 5120}, Shape{"wq", DType::Q4_K, 5120, 5120}}) {
        BenchMatrix w = bench_matrix(sh.t, 1, sh.N, sh.K, 7);
        const double bytes = static_cast<double>(w.bytes);
        for (int64_t T : {1, 2, 8}) {
            const auto nc = w.m.size();
            record(sh.name, "old warp-per-row", sh.t, sh.N, sh.K, T, timer.time([&](int r) {
                cuda::matmul_kernel(2, x.as<float>(), T, w.m[r % nc], y.as<float>(), {}, nullptr);
            }), bytes);
            for (int rpw : {2, 1}) {
                if (rpw == 1 && (T != 1 || sh.t == DType::Q8_0)) continue;
                record(sh.name, cat("matvec_jobs r", rpw), sh.t, sh.N, sh.K, T, timer.time([&](int r) {
                    const cuda::MatvecJob job{&w.m[r % nc], nullptr, x.as<float>(), T, y.as<float>(), {}};
                    cuda::matvec_jobs(&job, 1, nullptr, rpw);
                }), bytes);
            }
        }
        if (sh.t == DType::Q4_K && sh.N == 8192) {  // gate+up SwiGLU: one pair launch against two products + silu_mul
            const auto nc = w.m.size();
            for (int64_t T : {1, 8}) {
                record("gate+up", "pair (1 launch)", sh.t, sh.N, sh.K, T, timer.time([&](int r) {
                    const cuda::MatvecJob job{&w.m[r % nc], &w.m[(r + 1) % nc], x.as<float>(), T, y.as<float>(), {}};
                    cuda::matvec_jobs(&job, 1, nullptr);
                }), 2 * bytes);
                record("gate+up", "old 2 products + silu", sh.t, sh.N, sh.K, T, timer.time([&](int r) {
                    cuda::matmul_kernel(2, x.as<float>(), T, w.m[r % nc], y.as<float>(), {}, nullptr);
                    cuda::matmul_kernel(2, x.as<float>(), T, w.m[(r + 1) % nc], y2.as<float>(), {}, nullptr);
                    cuda::silu_mul(y.as<float>(), y2.as<float>(), T * sh.N, nullptr);
                }), 2 * bytes);
            }
            // More rows: matvec_jobs (chunks of 8) against the tiled kernel.
            for (int64_t T : {16, 32, 64, 128}) {
                record(sh.name, "tiled", sh.t, sh.N, sh.K, T, timer.time([&](int r) {
                    cuda::matmul_kernel(1, x.as<float>(), T, w.m[r % nc], y.as<float>(), {}, nullptr);
                }), bytes);
                record(sh.name, "matvec_jobs r2", sh.t, sh.N, sh.K, T, timer.time([&](int r) {
                    const cuda::MatvecJob job{&w.m[r % nc], nullptr, x.as<float>(), T, y.as<float>(), {}};
                    cuda::matvec_jobs(&job, 1, nullptr);
                }), bytes);
            }
        }
        if (sh.N == 202048) {
            for (int64_t T : {32, 128}) {
                record(sh.name, "tiled", sh.t, sh.N, sh.K, T, timer.time([&](int) {
                    cuda::matmul_kernel(1, x.as<float>(), T, w.m[0], y.as<float>(), {}, nullptr);
                }), bytes);
                record(sh.name, "matvec_jobs r2", sh.t, sh.N, sh.K, T, timer.time([&](int) {
                    const cuda::MatvecJob job{&w.m[0], nullptr, x.as<float>(), T, y.as<float>(), {}};
                    cuda::matvec_jobs(&job, 1, nullptr);
                }), bytes);
            }
        }
    }
    // Grouped MoE experts (16 x 8192 x 5120 Q4_K): rows routed at random, grouped per expert.
    {
        const int64_t E = 16, N = 8192, K = 5120;
        BenchMatrix w = bench_matrix(DType::Q4_K, E, N, K, 11);
        std::mt19937 rng(5);
        for (int64_t rows : {8, 32, 128, 256}) {
            std::vector<int32_t> count(static_cast<std::size_t>(E), 0);
            for (int64_t i = 0; i < rows; ++i) ++count[static_cast<std::size_t>(rng() % E)];
            std::vector<int32_t> expert, offset{0};
            for (int32_t e = 0; e < E; ++e)
                if (count[static_cast<std::size_t>(e)] > 0) expert.push_back(e), offset.push_back(offset.back() + count[static_cast<std::size_t>(e)]);
            const auto active = static_cast<int64_t>(expert.size());
            while (static_cast<int64_t>(expert.size()) < std::min(E, rows)) expert.push_back(0), offset.push_back(offset.back());
            cuda::DeviceBuffer de(expert.size() * 4), doff(offset.size() * 4);
            SCOUT_CUDA_CHECK(cudaMemcpy(de.get(), expert.data(), expert.size() * 4, cudaMemcpyHostToDevice));
            SCOUT_CUDA_CHECK(cudaMemcpy(doff.get(), offset.data(), offset.size() * 4, cudaMemcpyHostToDevice));
            const cuda::RowGroups g{de.as<int32_t>(), doff.as<int32_t>(), static_cast<int>(expert.size())};
            const double bytes = static_cast<double>(w.bytes) * static_cast<double>(active) / static_cast<double>(E);
            record("moe16", "tiled", DType::Q4_K, N, K, rows, timer.time([&](int) {
                cuda::matmul_kernel(1, x.as<float>(), rows, w.m[0], y.as<float>(), g, nullptr);
            }), bytes);
            record("moe16", "matvec_jobs r2", DType::Q4_K, N, K, rows, timer.time([&](int) {
                const cuda::MatvecJob job{&w.m[0], nullptr, x.as<float>(), rows, y.as<float>(), g};
                cuda::matvec_jobs(&job, 1, nullptr);
            }), bytes);
        }
    }
    // Prompt-sized products in the fast mode: kind 4 (own WMMA kernel, weights decoded per tile)
    // against cuBLAS on bf16 (weights decoded to a bf16 copy + activations rounded + cublasGemmEx,
    // float32 accumulation: what a library GEMM costs per product), and the float32 tiled kernel.
    // TFLOP/s = 2·N·K·T / time; then max |cuBLAS − kind 4| / max |kind 4| (same bf16 inputs).
    {
        cublasHandle_t handle = nullptr;
        check(cublasCreate(&handle) == CUBLAS_STATUS_SUCCESS, "cublasCreate failed");
        const int64_t kT = 2048;
        cuda::DeviceBuffer xt(static_cast<std::size_t>(kT * kMaxK) * 4), xb(static_cast<std::size_t>(kT * kMaxK) * 2),
            wb(static_cast<std::size_t>(8192) * 8192 * 2), yt(static_cast<std::size_t>(kT) * 8192 * 4),
            yc(static_cast<std::size_t>(kT) * 8192 * 4);
        cuda::fill_random(xt.get(), DType::F32, kT, kMaxK, 1.0f, 98, nullptr);
        for (const Shape& sh : {Shape{"gate", DType::Q4_K, 8192, 5120}, Shape{"down", DType::Q6_K, 5120, 8192},
                                Shape{"wq", DType::Q4_K, 5120, 5120}}) {
            BenchMatrix w = bench_matrix(sh.t, 1, sh.N, sh.K, 13);
            for (int64_t T : {128, 512, 2048}) {
                const double flop = 2.0 * static_cast<double>(sh.N * sh.K * T);
                const auto gemm = [&]() {
                    const float alpha = 1.0f, beta = 0.0f;
                    const auto st = cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(sh.N), static_cast<int>(T),
                                                 static_cast<int>(sh.K), &alpha, wb.get(), CUDA_R_16BF, static_cast<int>(sh.K),
                                                 xb.get(), CUDA_R_16BF, static_cast<int>(sh.K), &beta, yc.get(), CUDA_R_32F,
                                                 static_cast<int>(sh.N), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
                    check(st == CUBLAS_STATUS_SUCCESS, "cublasGemmEx failed");
                };
                const auto tflops = [&](const std::string& kernel, double secs) {
                    rows.push_back({{"case", std::string(sh.name) + " prefill"}, {"kernel", kernel},
                                    {"dtype", std::string(dtype_name(sh.t))}, {"N", sh.N}, {"K", sh.K}, {"T", T},
                                    {"us", secs * 1e6}, {"tflop_s", flop / secs / 1e12}});
                    std::fprintf(stderr, "%-10s %-5s %6lld x %5lld T %4lld  %-28s %9.1f us %7.1f TFLOP/s\n", sh.name,
                                 std::string(dtype_name(sh.t)).c_str(), static_cast<long long>(sh.N),
                                 static_cast<long long>(sh.K), static_cast<long long>(T), kernel.c_str(), secs * 1e6,
                                 flop / secs / 1e12);
                };
                tflops("wmma bf16 (kind 4)", timer.time([&](int r) {
                    cuda::matmul_kernel(4, xt.as<float>(), T, w.m[r % w.m.size()], yt.as<float>(), {}, nullptr);
                }));
                tflops("cublas bf16 + dequant", timer.time([&](int r) {
                    cuda::dequantize_bf16(w.m[r % w.m.size()], wb.as<uint16_t>(), nullptr);
                    cuda::round_bf16(xt.as<float>(), T * sh.K, xb.as<uint16_t>(), nullptr);
                    gemm();
                }));
                tflops("cublas bf16 gemm only", timer.time([&](int) { gemm(); }));
                if (T <= 512)
                    tflops("tiled f32 (kind 1)", timer.time([&](int r) {
                        cuda::matmul_kernel(1, xt.as<float>(), T, w.m[r % w.m.size()], yt.as<float>(), {}, nullptr);
                    }));
                // Same weights in both: compare the outputs.
                cuda::matmul_kernel(4, xt.as<float>(), T, w.m[0], yt.as<float>(), {}, nullptr);
                cuda::dequantize_bf16(w.m[0], wb.as<uint16_t>(), nullptr);
                cuda::round_bf16(xt.as<float>(), T * sh.K, xb.as<uint16_t>(), nullptr);
                gemm();
                SCOUT_CUDA_CHECK(cudaDeviceSynchronize());
                std::vector<float> a(static_cast<std::size_t>(T * sh.N)), b(a.size());
                SCOUT_CUDA_CHECK(cudaMemcpy(a.data(), yt.get(), a.size() * 4, cudaMemcpyDeviceToHost));
                SCOUT_CUDA_CHECK(cudaMemcpy(b.data(), yc.get(), b.size() * 4, cudaMemcpyDeviceToHost));
                double diff = 0, mag = 0;
                for (std::size_t i = 0; i < a.size(); ++i)
                    diff = std::max(diff, static_cast<double>(std::abs(a[i] - b[i]))), mag = std::max(mag, static_cast<double>(std::abs(a[i])));
                rows.push_back({{"case", std::string(sh.name) + " prefill"}, {"kernel", "cublas vs kind 4"}, {"T", T},
                                {"max_rel_diff", diff / std::max(1e-30, mag)}});
            }
        }
        cublasDestroy(handle);
    }
    return rows;
}

// ---- --compare-cpu: the GPU's logits against the CPU's (the fast mode's error) -----------------

// Softmax statistics of one row of logits against a reference row: KL(ref || got) in nats, whether
// the argmax agrees, and the largest logit difference over the reference's logit spread.
struct RowCompare {
    double kl = 0, max_diff = 0;
    bool top1 = false;
};
RowCompare compare_row(const float* ref, const float* got, int64_t V) {
    double mr = -1e300, mg = -1e300, lo = 1e300;
    int64_t ar = 0, ag = 0;
    for (int64_t i = 0; i < V; ++i) {
        if (ref[i] > mr) mr = ref[i], ar = i;
        if (got[i] > mg) mg = got[i], ag = i;
        lo = std::min(lo, static_cast<double>(ref[i]));
    }
    double zr = 0, zg = 0;
    for (int64_t i = 0; i < V; ++i) zr += std::exp(ref[i] - mr), zg += std::exp(got[i] - mg);
    RowCompare c;
    for (int64_t i = 0; i < V; ++i) {
        const double lr = ref[i] - mr - std::log(zr), lg = got[i] - mg - std::log(zg);
        c.kl += std::exp(lr) * (lr - lg);
        c.max_diff = std::max(c.max_diff, std::abs(static_cast<double>(ref[i]) - got[i]));
    }
    c.max_diff /= std::max(1e-30, mr - lo);
    c.top1 = ar == ag;
    return c;
}

// The CPU generates n tokens greedily after a fixed prompt, keeping its logits at each step; the GPU
// then reads prompt + generated tokens in one pass (all logits: the prompt-sized products that the
// fast mode moves to tensor cores) in each math mode, and its rows are compared with the CPU's.
nlohmann::json compare_with_cpu(const engine::Model& model, const backend::BackendOptions& gpu_opt, int64_t n) {
    const auto& c = model.config.text;
    const int64_t V = c.vocab_size;
    std::mt19937 rng(99);
    const std::vector<int32_t> prompt = random_tokens(rng, 32, V);
    backend::BackendOptions cpu_opt;
    cpu_opt.device = "cpu";
    cpu_opt.kv_type = gpu_opt.kv_type;
    auto cpu = backend::make_forward(c, model.plan, model.weights, cpu_opt);
    auto kv = cpu->make_kv();
    std::vector<float> logits, cpu_rows;
    std::vector<int32_t> tokens = prompt;
    const double t0 = now();
    cpu->forward(*kv, prompt, false, logits);
    for (int64_t i = 0; i < n; ++i) {
        cpu_rows.insert(cpu_rows.end(), logits.begin(), logits.end());
        const auto next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        tokens.push_back(next);
        if (i + 1 < n) cpu->forward(*kv, std::span<const int32_t>(&tokens.back(), 1), false, logits);
    }
    std::fprintf(stderr, "CPU: %lld tokens generated in %.1f s\n", static_cast<long long>(n), now() - t0);
    nlohmann::json out = {{"prompt_tokens", prompt.size()}, {"generated_tokens", n}, {"kv_type", kv::kv_type_name(gpu_opt.kv_type)}};
    for (backend::GpuMath mode : {backend::GpuMath::Exact, backend::GpuMath::Fast}) {
        backend::BackendOptions o = gpu_opt;
        o.gpu_math = mode;
        auto gpu = cuda::make_cuda_forward(c, model.plan, model.weights, o);
        auto gkv = gpu->make_kv();
        // Rows prompt.size() - 1 ... predict the generated tokens.
        const std::span<const int32_t> all(tokens.data(), tokens.size() - 1);
        gpu->forward(*gkv, all, true, logits);
        double kl_sum = 0, kl_max = 0, diff_max = 0;
        int64_t agree = 0;
        for (int64_t i = 0; i < n; ++i) {
            const int64_t row = static_cast<int64_t>(prompt.size()) - 1 + i;
            const RowCompare r = compare_row(cpu_rows.data() + i * V, logits.data() + row * V, V);
            kl_sum += r.kl, kl_max = std::max(kl_max, r.kl), diff_max = std::max(diff_max, r.max_diff);
            agree += r.top1;
        }
        const char* name = mode == backend::GpuMath::Fast ? "fast" : "exact";
        out[name] = {{"top1_agreement", static_cast<double>(agree) / n}, {"mean_kl_nats", kl_sum / n},
                     {"max_kl_nats", kl_max}, {"max_logit_diff_over_spread", diff_max}};
        std::fprintf(stderr, "GPU %s vs CPU: top-1 %lld/%lld, mean KL %.3g nats, max %.3g\n", name,
                     static_cast<long long>(agree), static_cast<long long>(n), kl_sum / n, kl_max);
    }
    return out;
}

int run(const Args& a) {
    if (a.kernels) {
        std::string why;
        check(cuda::device_available(&why), why);
        nlohmann::json out;
        out["kernels"] = run_kernels();
        std::cout << out.dump(1) << std::endl;
        return 0;
    }
    nlohmann::json out;
    std::string why;
    check(cuda::device_available(&why), why);
    const cuda::DeviceInfo info = cuda::device_info(0);
    out["device"] = {{"name", info.name}, {"memory_gib", static_cast<double>(info.total_bytes) / (1 << 30)},
                     {"sms", info.sm_count}};
    backend::BackendOptions opt;
    opt.device = "cuda";
    opt.kv_type = kv::parse_kv_type(a.kv_type);
    opt.max_batch_rows = std::max<int64_t>(512, a.n_prompt);
    opt.gpu_math = a.gpu_math == "fast" ? backend::GpuMath::Fast : backend::GpuMath::Exact;
    out["gpu_math"] = a.gpu_math;
    if (a.compare_cpu > 0) {
        const auto m = engine::load_model(a.model);
        out["model"] = a.model;
        out["compare_cpu"] = compare_with_cpu(*m, opt, a.compare_cpu);
        std::cout << out.dump(2) << std::endl;
        return 0;
    }
    const double t0 = now();
    std::unique_ptr<engine::Model> model;  // --model only: must outlive the forward
    std::unique_ptr<backend::Forward> fwd;
    double bytes_per_token = 0;
    if (!a.model.empty()) {
        model = engine::load_model(a.model);
        bytes_per_token = model::weight_bytes_per_token(model->weights, model->config.text, model->plan);
        fwd = cuda::make_cuda_forward(model->config.text, model->plan, model->weights, opt);
        out["model"] = a.model;
    } else {
        const model::TextConfig cfg =
            a.demo_1b ? model::parse_model_config(model::demo_model_config(model::DemoSize::B1)).text
                      : model::parse_model_config(io::read_json_file(a.synthetic)).text;
        bytes_per_token = cuda::synthetic_bytes_per_token(cfg, a.type);
        fwd = cuda::make_synthetic_forward(cfg, {a.type, 1}, opt);
        out["model"] = a.demo_1b ? std::string("synthetic demo-1b") : "synthetic " + a.synthetic;
        out["type"] = a.type;
    }
    const auto& c = fwd->config();
    out["setup_s"] = now() - t0;
    out["weight_bytes"] = fwd->memory().weight_bytes;
    out["workspace_bytes"] = fwd->memory().workspace_bytes;
    out["bytes_per_token"] = bytes_per_token;
    out["kv_type"] = a.kv_type;
    std::fprintf(stderr, "model ready in %.1f s: %.2f GB of weights, %.3f GB read per token\n", now() - t0,
                 static_cast<double>(fwd->memory().weight_bytes) / 1e9, bytes_per_token / 1e9);
    std::mt19937 rng(1234);
    std::vector<float> logits;

    if (a.n_prompt > 0) {  // prefill: one call of n_prompt tokens on a fresh sequence
        std::vector<double> rates;
        for (int rep = 0; rep <= a.reps; ++rep) {
            auto kv = fwd->make_kv();
            const auto ids = random_tokens(rng, a.n_prompt, c.vocab_size);
            const double s = now();
            fwd->forward(*kv, ids, false, logits);
            if (rep > 0) rates.push_back(static_cast<double>(a.n_prompt) / (now() - s));  // rep 0 warms up
        }
        out["pp"] = {{"tokens", a.n_prompt}, {"tok_s", median(rates)}};
        std::fprintf(stderr, "pp%lld: %.1f tok/s\n", static_cast<long long>(a.n_prompt), median(rates));
    }
    if (a.n_gen > 0) {  // batch-1 decode after a short context
        std::vector<double> rates;
        for (int rep = 0; rep <= a.reps; ++rep) {
            auto kv = fwd->make_kv();
            fwd->forward(*kv, random_tokens(rng, a.context, c.vocab_size), false, logits);
            const int64_t steps = rep == 0 ? 8 : a.n_gen;
            const auto ids = random_tokens(rng, steps, c.vocab_size);
            const double s = now();
            for (int64_t i = 0; i < steps; ++i) fwd->forward(*kv, std::span<const int32_t>(&ids[i], 1), false, logits);
            if (rep > 0) rates.push_back(static_cast<double>(steps) / (now() - s));
        }
        const double tg = median(rates);
        out["tg"] = {{"tokens", a.n_gen}, {"context", a.context}, {"tok_s", tg}, {"gb_s", tg * bytes_per_token / 1e9}};
        std::fprintf(stderr, "tg%lld: %.1f tok/s, %.0f GB/s of weights\n", static_cast<long long>(a.n_gen), tg,
                     tg * bytes_per_token / 1e9);
        // Where a decode step's time goes (synchronizing after each stage: slightly slower than above).
        backend::StageProfile prof;
        auto kv = fwd->make_kv();
        fwd->forward(*kv, random_tokens(rng, a.context, c.vocab_size), false, logits);
        fwd->set_profile(&prof);
        const int64_t steps = 16;
        for (int64_t i = 0; i < steps; ++i) fwd->forward(*kv, random_tokens(rng, 1, c.vocab_size), false, logits);
        fwd->set_profile(nullptr);
        nlohmann::json p;
        for (int i = 0; i < static_cast<int>(backend::Stage::Count); ++i)
            p[std::string(backend::StageProfile::name(static_cast<backend::Stage>(i)))] =
                prof.seconds[static_cast<std::size_t>(i)] * 1e3 / steps;
        out["tg_profile_ms_per_token"] = p;
    }
    nlohmann::json agg = nlohmann::json::array();
    for (int64_t B : a.batches) {  // B sequences decoding together (continuous batching's steady state)
        if (B <= 1 || a.agg_steps <= 0) continue;
        std::vector<std::unique_ptr<kv::KvMemory>> kvs;
        std::vector<std::vector<int32_t>> prompts;
        std::vector<backend::SequenceStep> steps;
        for (int64_t i = 0; i < B; ++i) {
            kvs.push_back(fwd->make_kv());
            prompts.push_back(random_tokens(rng, a.context, c.vocab_size));
            steps.push_back({kvs.back().get(), prompts.back(), {}, {}, false});
        }
        const double p0 = now();
        fwd->forward(backend::Batch(steps), logits);
        const double prefill_s = now() - p0;
        std::vector<int32_t> next = random_tokens(rng, B, c.vocab_size);
        for (int64_t i = 0; i < B; ++i) steps[static_cast<std::size_t>(i)].tokens = std::span<const int32_t>(&next[static_cast<std::size_t>(i)], 1);
        fwd->forward(backend::Batch(steps), logits);  // warm-up step
        const double s = now();
        for (int64_t st = 0; st < a.agg_steps; ++st) fwd->forward(backend::Batch(steps), logits);
        const double secs = now() - s;
        const double rate = static_cast<double>(B * a.agg_steps) / secs;
        // The same steps when the samplers need only the top logit (greedy serving: forward_top,
        // selected on the device): only 9 bytes per sequence cross PCIe instead of the vocabulary.
        backend::TopLogits top;
        fwd->forward_top(backend::Batch(steps), 1, top);  // warm-up (its own graph)
        const double s1 = now();
        for (int64_t st = 0; st < a.agg_steps; ++st) fwd->forward_top(backend::Batch(steps), 1, top);
        const double secs1 = now() - s1;
        const double rate1 = static_cast<double>(B * a.agg_steps) / secs1;
        agg.push_back({{"batch", B}, {"steps", a.agg_steps}, {"tok_s", rate}, {"step_ms", secs * 1e3 / a.agg_steps},
                       {"tok_s_device_top1", rate1}, {"step_ms_device_top1", secs1 * 1e3 / a.agg_steps},
                       {"prefill_tok_s", static_cast<double>(B * a.context) / prefill_s}});
        std::fprintf(stderr, "decode x%lld: %.1f tok/s (%.2f ms per step); top-1 on the device: %.1f tok/s\n",
                     static_cast<long long>(B), rate, secs * 1e3 / a.agg_steps, rate1);
    }
    out["aggregate"] = agg;
    std::cout << out.dump(2) << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "scout_cuda_bench: %s\n", e.what());
        return 1;
    }
}
