// KV memory: the pure layout rules (slots, pages, chunk rings, rewind), the KV types' row codecs
// against their definitions, and the host storage's typed rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "base/dtype.hpp"
#include "base/error.hpp"
#include "kv/kv_cache.hpp"
#include "kv/kv_layout.hpp"
#include "kv/kv_type.hpp"
#include "test_util.hpp"

namespace scout::kv {
namespace {

model::LayerPlan plan_of(std::vector<bool> chunked, int64_t chunk) {
    model::LayerPlan p;
    p.chunk_size = chunk;
    for (bool c : chunked) {
        model::LayerRule r;
        r.chunked = c;
        p.layers.push_back(r);
    }
    return p;
}

TEST(KvLayout, SlotsAndPagesForRingsAndGlobalLayers) {
    const KvLayout l(plan_of({true, false}, 10), 4);
    EXPECT_EQ(l.page_slots(0), 4);  // min(C, page)
    EXPECT_EQ(l.page_slots(1), 4);
    EXPECT_EQ(l.slot(0, 23), 3);    // ring: pos % C
    EXPECT_EQ(l.slot(1, 23), 23);   // global: pos
    EXPECT_EQ(l.page_of(0, 23), 0);
    EXPECT_EQ(l.offset_in_page(1, 23), 3);
    EXPECT_EQ(l.page_of(1, 23), 5);
    EXPECT_EQ(l.pages_needed(0, 1000), 3);  // a ring never needs more than ceil(C / page)
    EXPECT_EQ(l.pages_needed(1, 9), 3);
    const KvLayout big_page(plan_of({true}, 6), 256);
    EXPECT_EQ(big_page.page_slots(0), 6);
}

TEST(KvLayout, RewindRecomputesAtMostOneChunk) {
    KvLayout l(plan_of({true, false}, 8), 4);
    l.advance(20);                  // chunks [0,8) [8,16) [16,20)
    EXPECT_EQ(l.rewind(18), 18);    // same chunk as n_past-1: nothing to recompute
    EXPECT_EQ(l.rewind(16), 16);    // a chunk edge: a new chunk never looks back
    l.advance(4);
    EXPECT_EQ(l.rewind(12), 8);     // 11 lies in an earlier chunk than 19: resume at its start
    EXPECT_EQ(l.n_past(), 8);
    EXPECT_THROW(l.rewind(9), Error);
    KvLayout global(plan_of({false}, 0), 4);
    global.advance(30);
    EXPECT_EQ(global.rewind(7), 7);  // global layers keep every position
}

TEST(KvType, NamesAndSizes) {
    for (KvType t : all_kv_types()) EXPECT_EQ(parse_kv_type(kv_type_name(t)), t);
    EXPECT_EQ(parse_kv_type("Q8_0"), KvType::Q8_0);
    try {
        parse_kv_type("q4");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("f32, f16, bf16, q8_0"), std::string::npos);
    }
    EXPECT_EQ(kv_row_bytes(KvType::F32, 64), 256);
    EXPECT_EQ(kv_row_bytes(KvType::F16, 64), 128);
    EXPECT_EQ(kv_row_bytes(KvType::Q8_0, 64), 68);
    EXPECT_THROW(check_kv_type_fits(KvType::Q8_0, 24), Error);
    EXPECT_NO_THROW(check_kv_type_fits(KvType::Q8_0, 128));
}

TEST(KvType, CodecsFollowTheirDefinitions) {
    const uint64_t seed = test::test_seed();
    std::mt19937_64 rng(seed);
    const int64_t n = 96;
    auto x = test::random_floats(rng, n, 3.0f);
    x[5] = 1e6f;   // beyond f16's range: clamped, never inf
    x[6] = -1e6f;
    std::vector<uint8_t> buf(static_cast<std::size_t>(kv_row_bytes(KvType::F32, n)));
    std::vector<float> back(static_cast<std::size_t>(n));
    for (KvType t : all_kv_types()) {
        SCOPED_TRACE(std::string(kv_type_name(t)));
        kv_encode_row(t, x.data(), n, buf.data());
        kv_decode_row(t, buf.data(), n, back.data());
        for (int64_t i = 0; i < n; ++i) {
            const float v = x[static_cast<std::size_t>(i)], b = back[static_cast<std::size_t>(i)];
            switch (t) {
                case KvType::F32: EXPECT_EQ(b, v); break;
                case KvType::F16: EXPECT_EQ(b, f16_to_f32(f32_to_f16(std::clamp(v, -65504.0f, 65504.0f)))); break;
                case KvType::BF16: EXPECT_EQ(b, round_bf16(v)); break;
                case KvType::Q8_0: {
                    // ggml's Q8_0: d = amax / 127 over the block of 32, q = round(v / d) with the
                    // unrounded d, value = fp16(d) * q.
                    float amax = 0;
                    for (int64_t j = i / 32 * 32; j < i / 32 * 32 + 32; ++j) amax = std::max(amax, std::fabs(x[static_cast<std::size_t>(j)]));
                    const float d = amax / 127.0f;
                    EXPECT_EQ(b, f16_to_f32(f32_to_f16(d)) * std::round(v * (1.0f / d)));
                    break;
                }
            }
            EXPECT_TRUE(std::isfinite(b));
        }
    }
}

TEST(HostKv, TypedRowsPerHeadAndBytes) {
    const model::LayerPlan plan = plan_of({true, false}, 8);
    for (KvType t : all_kv_types()) {
        SCOPED_TRACE(std::string(kv_type_name(t)));
        SequenceKv kv(plan, 2, 32, {t, 4});
        std::vector<float> k(64), v(64), head(32), expect(64);
        for (int i = 0; i < 64; ++i) {
            k[static_cast<std::size_t>(i)] = 0.25f * static_cast<float>(i - 30);
            v[static_cast<std::size_t>(i)] = -0.5f * static_cast<float>(i);
        }
        kv.layer(1).write(kv.layout().slot(1, 9), k.data(), v.data());
        std::vector<uint8_t> enc(static_cast<std::size_t>(kv_row_bytes(t, 64)));
        kv_encode_row(t, k.data(), 64, enc.data());
        kv_decode_row(t, enc.data(), 64, expect.data());
        kv.layer(1).k_head(9, 1, head.data());
        EXPECT_EQ(0, std::memcmp(head.data(), expect.data() + 32, 32 * sizeof(float)));
        // Global layer: positions 0..9 -> pages of 4 slots: 3 pages each for K and V.
        EXPECT_EQ(kv.bytes_allocated(), static_cast<std::size_t>(2 * 3 * 4 * kv_row_bytes(t, 64)));
        kv.advance(10);
        kv.clear();
        EXPECT_EQ(kv.bytes_allocated(), 0u);
        EXPECT_EQ(kv.n_past(), 0);
    }
    EXPECT_THROW(SequenceKv(plan, 2, 24, {KvType::Q8_0, 4}), Error);
}

}  // namespace
}  // namespace scout::kv
