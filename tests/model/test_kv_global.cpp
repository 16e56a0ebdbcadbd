// A separate KV type for the global (NoPE) layers (--kv-type-global, BackendOptions::kv_type_global):
// the same type as the chunk rings gives the logits of one type bit for bit; a compact global
// type changes them a little, stores exactly those layers in it, and allocates what kv_size
// predicts for the two types.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "backend/factory.hpp"
#include "base/error.hpp"
#include "engine/model.hpp"
#include "fixture.hpp"
#include "kv/kv_cache.hpp"
#include "kv/kv_size.hpp"
#include "test_util.hpp"
#include "two_sequences.hpp"

namespace scout {
namespace {

using test::longest_case;
using test::run_two_sequences;

TEST(KvGlobal, SameTypeForTheGlobalLayersIsBitIdentical) {
    for (const auto& name : test::fixture_names()) {
        const test::Fixture fx = test::load_fixture(name);
        const auto model = engine::load_model(fx.dir);
        const auto& tokens = longest_case(fx).tokens;
        for (kv::KvType type : kv::all_kv_types()) {
            if (model->config.text.head_dim % kv::kv_block_elems(type) != 0) continue;
            SCOPED_TRACE(name + " kv " + std::string(kv::kv_type_name(type)));
            backend::BackendOptions o{.device = "cpu", .threads = 2, .kv_type = type, .kv_page_size = 4};
            const auto one = backend::make_forward(model->config.text, model->plan, model->weights, o);
            o.kv_type_global = type;
            const auto both = backend::make_forward(model->config.text, model->plan, model->weights, o);
            EXPECT_EQ(both->kv_type(), type);
            EXPECT_EQ(both->kv_type_global(), type);
            const auto r_one = run_two_sequences(*one, tokens), r_both = run_two_sequences(*both, tokens);
            const std::vector<float>& want = r_one.logits;
            const std::vector<float>& got = r_both.logits;
            const std::size_t bytes_one = r_one.a->bytes_allocated(), bytes_both = r_both.a->bytes_allocated();
            ASSERT_EQ(got.size(), want.size());
            ASSERT_FALSE(want.empty());
            EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0);
            EXPECT_EQ(bytes_both, bytes_one);
        }
    }
}

// tiny_scoutlike_bf16 (head_dim 32, so q8_0 and q4_0 fit): chunk rings of 4 positions in 3
// layers, one global layer.
TEST(KvGlobal, CompactGlobalLayersDifferSlightlyAndAllocateWhatKvSizeSays) {
    const test::Fixture fx = test::load_fixture("tiny_scoutlike_bf16");
    const auto model = engine::load_model(fx.dir);
    const model::TextConfig& c = model->config.text;
    ASSERT_EQ(c.head_dim % 32, 0);
    ASSERT_GT(model->plan.n_global(), 0);
    ASSERT_GT(model->plan.n_chunked(), 0);
    const auto& tokens = longest_case(fx).tokens;
    ASSERT_GT(static_cast<int64_t>(tokens.size()), model->plan.chunk_size) << "the rings must wrap";

    // Page size 1: pages are rows, so the allocation is exactly kv_size's arithmetic.
    backend::BackendOptions o{.device = "cpu", .threads = 2, .kv_type = kv::KvType::F32, .kv_page_size = 1};
    const auto f32 = backend::make_forward(c, model->plan, model->weights, o);
    const auto r_f32 = run_two_sequences(*f32, tokens);
    const std::vector<float>& want = r_f32.logits;
    const std::size_t f32_bytes = r_f32.a->bytes_allocated();

    for (const auto& [global, tol] : {std::pair{kv::KvType::Q8_0, 1e-2}, std::pair{kv::KvType::Q4_0, 1.5e-1}}) {
        SCOPED_TRACE(std::string(kv::kv_type_name(global)));
        o.kv_type_global = global;
        const auto mixed = backend::make_forward(c, model->plan, model->weights, o);
        EXPECT_EQ(mixed->kv_type(), kv::KvType::F32);
        EXPECT_EQ(mixed->kv_type_global(), global);
        const auto r = run_two_sequences(*mixed, tokens);
        const std::vector<float>& got = r.logits;
        const std::size_t bytes = r.a->bytes_allocated();
        ASSERT_EQ(got.size(), want.size());
        const double err = test::max_rel_to_scale(got, want);
        EXPECT_GT(err, 0.0) << "the global layers really are stored in " << kv::kv_type_name(global);
        EXPECT_LE(err, tol);

        // Each layer in its kind's type.
        const auto* seq = dynamic_cast<const kv::SequenceKv*>(r.a.get());
        ASSERT_NE(seq, nullptr);
        EXPECT_EQ(seq->type(), kv::KvType::F32);
        EXPECT_EQ(seq->global_type(), global);
        for (int64_t il = 0; il < model->plan.n_layers(); ++il)
            EXPECT_EQ(seq->layer(il).type(), model->plan.layers[static_cast<std::size_t>(il)].chunked ? kv::KvType::F32 : global)
                << "layer " << il;

        // Bytes: kv_size of the two types, and by hand.
        const auto n = static_cast<int64_t>(tokens.size());
        const kv::KvSize ks = kv::kv_size(c, model->plan, kv::KvType::F32, global);
        EXPECT_EQ(static_cast<int64_t>(bytes), ks.bytes_for(n, model->plan.chunk_size));
        const int64_t values = c.num_key_value_heads * c.head_dim;  // a multiple of 32
        const int64_t global_row = 2 * values / 32 * (global == kv::KvType::Q8_0 ? 34 : 18);
        const int64_t ring_row = 2 * values * 4;
        EXPECT_EQ(static_cast<int64_t>(bytes),
                  model->plan.n_global() * global_row * n + model->plan.n_chunked() * ring_row * model->plan.chunk_size);
        EXPECT_LT(bytes, f32_bytes);
        EXPECT_EQ(static_cast<int64_t>(f32_bytes), kv::kv_size(c, model->plan, kv::KvType::F32).bytes_for(n, model->plan.chunk_size));

        // KV beyond RAM holds global-layer pages: in the global type, same logits bit for bit.
        o.kv_ram_bytes = 1;
        const auto file = backend::make_forward(c, model->plan, model->weights, o);
        const std::vector<float> through_file = run_two_sequences(*file, tokens).logits;
        ASSERT_EQ(through_file.size(), got.size());
        EXPECT_EQ(std::memcmp(through_file.data(), got.data(), got.size() * sizeof(float)), 0);
        o.kv_ram_bytes = 0;
    }
}

// A global type the head size cannot store is refused at start, naming --kv-type-global.
TEST(KvGlobal, GlobalTypeThatDoesNotFitTheHeadsIsRefused) {
    const test::Fixture fx = test::load_fixture("tiny_text_f32");  // head_dim 24
    const auto model = engine::load_model(fx.dir);
    const backend::BackendOptions o{.device = "cpu", .threads = 1, .kv_type = kv::KvType::F16, .kv_type_global = kv::KvType::Q8_0};
    try {
        backend::make_forward(model->config.text, model->plan, model->weights, o);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--kv-type-global q8_0 stores blocks of 32 values, but this model's head_dim is 24"),
                  std::string::npos)
            << e.what();
    }
}

// kv::KvSize::bytes_allocated_for (the scheduler's KV-budget reservation) is what a sequence
// really allocates after n positions, for page sizes that do and do not divide n, both layer
// kinds' types, and positions before, at and past the chunk edge.
TEST(KvGlobal, BytesAllocatedForMatchesTheStorage) {
    for (const auto& name : test::fixture_names()) {
        const test::Fixture fx = test::load_fixture(name);
        const auto model = engine::load_model(fx.dir);
        const int64_t chunk = model->plan.chunk_size;
        for (const auto& [type, global] : {std::pair{kv::KvType::F32, kv::KvType::F32}, std::pair{kv::KvType::F16, kv::KvType::BF16}}) {
            for (int64_t page : {3, 4, 256}) {
                backend::BackendOptions o{.device = "cpu", .threads = 1, .kv_type = type, .kv_type_global = global, .kv_page_size = page};
                const auto fwd = backend::make_forward(model->config.text, model->plan, model->weights, o);
                const kv::KvSize size = kv::kv_size(model->config.text, model->plan, type, global);
                for (int64_t n : {1, 3, 4, 5, 9, 17, 300}) {
                    SCOPED_TRACE(name + " page " + std::to_string(page) + " n " + std::to_string(n));
                    auto kv = fwd->make_kv();
                    fwd->fill_kv_random(*kv, n, 1);
                    EXPECT_EQ(static_cast<int64_t>(kv->bytes_allocated()), size.bytes_allocated_for(n, chunk, page));
                }
            }
        }
    }
}

}  // namespace
}  // namespace scout
