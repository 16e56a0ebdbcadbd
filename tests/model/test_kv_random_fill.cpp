// Forward::fill_kv_random (what `scout bench --depth N --fill random` uses): the KV ends at the
// asked length, the values do not depend on the thread count, every layer's visible slots were
// written (decode after it reads no uninitialised row), and a second fill after a rewind
// continues where the rewind left off.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backend/factory.hpp"
#include "engine/model.hpp"
#include "fixture.hpp"
#include "test_util.hpp"

namespace scout {
namespace {

TEST(KvRandomFill, DeterministicAcrossThreadsAndDecodable) {
    // tiny_text_f32: chunk size 4, so 13 positions wrap the chunk rings three times.
    const auto model = engine::load_model(test::data_dir() / "models/tiny_text_f32");
    const int64_t chunk = model->plan.chunk_size;
    ASSERT_GT(chunk, 0);
    for (kv::KvType type : {kv::KvType::F32, kv::KvType::F16}) {
        SCOPED_TRACE(std::string(kv::kv_type_name(type)));
        std::vector<std::vector<float>> runs;
        for (int threads : {1, 3}) {
            const auto fwd = backend::make_forward(model->config.text, model->plan, model->weights,
                                                   {.device = "cpu", .threads = threads, .kv_type = type});
            const auto kv = fwd->make_kv();
            fwd->fill_kv_random(*kv, 13, 42);
            EXPECT_EQ(kv->n_past(), 13);
            std::vector<float> logits(5, std::nanf(""));
            const int32_t t = 7;
            fwd->forward(*kv, std::span<const int32_t>(&t, 1), false, logits);
            EXPECT_EQ(kv->n_past(), 14);
            for (float x : logits) ASSERT_TRUE(std::isfinite(x));
            runs.push_back(logits);
            // Rewind into an earlier chunk and fill again: back at 13 positions.
            const int64_t resume = kv->rewind(10);
            EXPECT_LE(resume, 10);
            fwd->fill_kv_random(*kv, 13 - resume, 43);
            EXPECT_EQ(kv->n_past(), 13);
        }
        EXPECT_EQ(runs[0], runs[1]);
        // Another seed gives other rows, hence other logits.
        const auto fwd = backend::make_forward(model->config.text, model->plan, model->weights,
                                               {.device = "cpu", .threads = 2, .kv_type = type});
        const auto kv = fwd->make_kv();
        fwd->fill_kv_random(*kv, 13, 99);
        std::vector<float> other;
        const int32_t t = 7;
        fwd->forward(*kv, std::span<const int32_t>(&t, 1), false, other);
        EXPECT_NE(other, runs[0]);
    }
}

}  // namespace
}  // namespace scout
