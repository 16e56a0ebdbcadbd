// A decode step performs no heap allocation in steady state (the workspace is sized once, the
// kernels keep their per-thread buffers): what a CUDA graph will need of the GPU backend, and what
// keeps allocator traffic out of every token on the CPU. Own binary, because counting needs the
// global operator new replaced for the whole program (alloc_counter.cpp).
#include <gtest/gtest.h>

#include <vector>

#include "alloc_counter.hpp"
#include "backend/factory.hpp"
#include "engine/model.hpp"
#include "fixture.hpp"
#include "test_util.hpp"

namespace scout {
namespace {

// Every fixture (HF float32/bf16 layouts) and a quantized GGUF file (int8 kernels), every KV type
// the head size allows, 1 and 2 threads; also a batch of several sequences.
TEST(DecodeAlloc, SteadyStateDecodeStepAllocatesNothing) {
    std::vector<std::filesystem::path> models;
    for (const auto& name : test::fixture_names()) models.push_back(test::data_dir() / "models" / name);
    for (const auto& f : std::filesystem::directory_iterator(test::data_dir() / "gguf"))
        if (f.path().extension() == ".gguf" && f.path().filename().string().rfind("llama4_", 0) == 0)
            models.push_back(f.path());
    ASSERT_GE(models.size(), 4u);
    for (const auto& path : models) {
        const auto model = engine::load_model(path);
        for (kv::KvType type : kv::all_kv_types()) {
            if (model->config.text.head_dim % kv::kv_block_elems(type) != 0) continue;
            for (int threads : {1, 2}) {
                SCOPED_TRACE(path.filename().string() + " kv " + std::string(kv::kv_type_name(type)) + " threads " +
                             std::to_string(threads));
                const auto fwd = backend::make_forward(model->config.text, model->plan, model->weights,
                                                       {.device = "cpu", .threads = threads, .kv_type = type});
                const auto a = fwd->make_kv(), b = fwd->make_kv();
                std::vector<float> logits;
                const auto V = static_cast<int32_t>(model->config.text.vocab_size);
                const std::vector<int32_t> prompt = {1 % V, 5 % V, 9 % V, 17 % V, 33 % V, 65 % V, 129 % V};
                fwd->forward(*a, prompt, false, logits);
                fwd->forward(*b, prompt, false, logits);
                std::vector<backend::SequenceStep> steps(2);
                int32_t ta = 3, tb = 4;
                steps[0] = {a.get(), std::span<const int32_t>(&ta, 1), {}, {}, false};
                steps[1] = {b.get(), std::span<const int32_t>(&tb, 1), {}, {}, false};
                fwd->forward(steps, logits);  // warm-up: buffers reach their decode size
                fwd->forward(*a, std::span<const int32_t>(&ta, 1), false, logits);
                // Positions 9..14 stay inside the first KV page (256 slots): no page is due.
                const long before = test::allocation_count();
                for (int i = 0; i < 3; ++i) {
                    fwd->forward(*a, std::span<const int32_t>(&ta, 1), false, logits);
                    fwd->forward(steps, logits);
                }
                EXPECT_EQ(test::allocation_count() - before, 0);
            }
        }
    }
    SCOUT_SKIP_IF_ALLOCATIONS_UNCOUNTED();
}

}  // namespace
}  // namespace scout
