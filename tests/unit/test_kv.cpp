// KV memory: the pure layout rules (slots, pages, chunk rings, rewind), the KV types' row codecs
// against their definitions, and the host storage's typed rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>

#include "base/dtype.hpp"
#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "kv/kv_cache.hpp"
#include "kv/kv_layout.hpp"
#include "kv/kv_type.hpp"
#include "kv/page_store.hpp"
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
        EXPECT_NE(std::string(e.what()).find("f32, f16, bf16, q8_0, q4_0"), std::string::npos);
    }
    EXPECT_EQ(kv_row_bytes(KvType::F32, 64), 256);
    EXPECT_EQ(kv_row_bytes(KvType::F16, 64), 128);
    EXPECT_EQ(kv_row_bytes(KvType::Q8_0, 64), 68);
    EXPECT_EQ(kv_row_bytes(KvType::Q4_0, 64), 36);
    EXPECT_THROW(check_kv_type_fits(KvType::Q8_0, 24), Error);
    EXPECT_THROW(check_kv_type_fits(KvType::Q4_0, 48), Error);
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
                case KvType::Q4_0: {
                    // ggml's Q4_0 of the values clamped to ±8 x 65504 (so that the f16 scale stays
                    // finite): the element of largest magnitude, with its sign, maps to -8:
                    // d = max / -8, q = min(15, trunc(v / d + 8.5)), value = fp16(d) * (q - 8).
                    auto clamp = [](float y) { return std::clamp(y, -8.0f * 65504.0f, 8.0f * 65504.0f); };
                    float amax = 0, max = 0;
                    for (int64_t j = i / 32 * 32; j < i / 32 * 32 + 32; ++j)
                        if (std::fabs(clamp(x[static_cast<std::size_t>(j)])) > amax) {
                            amax = std::fabs(clamp(x[static_cast<std::size_t>(j)]));
                            max = clamp(x[static_cast<std::size_t>(j)]);
                        }
                    const float d = max / -8.0f;
                    const int q = std::min(15, static_cast<int>(clamp(v) * (1.0f / d) + 8.5f));
                    EXPECT_EQ(b, static_cast<float>(q - 8) * f16_to_f32(f32_to_f16(d)));
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

// K in tiles (kv_cache.hpp): a sequence stores K so in every layer whose type, pages and chunks
// allow it; the values read back per head are bit for bit those of the row layout, whatever slot
// of a tile they were written to; the tile itself is [head][c][lane].
TEST(HostKv, KTilesHoldTheRowsValues) {
    const model::LayerPlan plan = plan_of({true, false}, 128);
    SequenceKv f16(plan, 2, 32, {KvType::F16, 256});
    EXPECT_TRUE(f16.layer(0).k_tiled());  // ring of 128 slots in pages of 128
    EXPECT_TRUE(f16.layer(1).k_tiled());
    EXPECT_FALSE(SequenceKv(plan, 2, 32, {KvType::Q8_0, 256}).layer(1).k_tiled());  // blocks along the head
    EXPECT_FALSE(SequenceKv(plan, 2, 32, {KvType::F16, 96}).layer(1).k_tiled());     // pages of 1.5 tiles
    EXPECT_FALSE(SequenceKv(plan_of({true}, 100), 2, 32, {KvType::F16, 256}).layer(0).k_tiled());  // ring of 100
    EXPECT_THROW(LayerKv(KvType::Q4_0, 64, 32, 64, nullptr, KLayout::Tiles), Error);
    EXPECT_THROW(LayerKv(KvType::F16, 64, 32, 32, nullptr, KLayout::Tiles), Error);

    std::mt19937_64 rng(test::test_seed());
    for (KvType t : {KvType::F32, KvType::F16, KvType::BF16}) {
        SCOPED_TRACE(std::string(kv_type_name(t)));
        const int64_t d = 24, heads = 3;
        LayerKv rows(t, heads * d, d, 128), tiles(t, heads * d, d, 128, nullptr, KLayout::Tiles);
        ASSERT_TRUE(tiles.k_tiled());
        ASSERT_FALSE(rows.k_tiled());
        for (int64_t slot : {0, 1, 63, 64, 200, 130, 255, 127}) {  // any order, across tiles and pages
            const auto k = test::random_floats(rng, heads * d), v = test::random_floats(rng, heads * d);
            rows.write(slot, k.data(), v.data());
            tiles.write(slot, k.data(), v.data());
        }
        EXPECT_EQ(tiles.bytes_allocated(), rows.bytes_allocated());
        std::vector<float> a(static_cast<std::size_t>(d)), b(a.size());
        for (int64_t slot : {0, 1, 63, 64, 200, 130, 255, 127})
            for (int64_t g = 0; g < heads; ++g) {
                rows.k_head(slot, g, a.data());
                tiles.k_head(slot, g, b.data());
                ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "K slot " << slot << " head " << g;
                rows.v_head(slot, g, a.data());
                tiles.v_head(slot, g, b.data());
                ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "V slot " << slot << " head " << g;
                // The tile layout itself: value c of this head at element c * kKTile + lane.
                const int64_t elem = kv_row_bytes(t, 1);
                const uint8_t* tile = tiles.k_tile(slot - slot % kKTile, g);
                for (int64_t c = 0; c < d; ++c)
                    ASSERT_EQ(0, std::memcmp(tile + (c * kKTile + slot % kKTile) * elem,
                                             rows.k_raw(slot) + g * rows.head_bytes() + c * elem, static_cast<std::size_t>(elem)));
            }
    }
}

// The forward pass reserves a segment's slots, then encodes its rows on several threads (rows of
// one K tile from different threads write different lanes): the same bytes as one thread writing.
TEST(HostKv, WritesFromManyThreadsEqualOneThread) {
    std::mt19937_64 rng(test::test_seed());
    const int64_t d = 32, heads = 2, n = 300;
    for (KvType t : {KvType::F16, KvType::Q8_0}) {
        for (KLayout layout : {KLayout::Rows, KLayout::Tiles}) {
            if (layout == KLayout::Tiles && t == KvType::Q8_0) continue;  // blocks along the head: rows only
            SCOPED_TRACE(cat(kv_type_name(t), layout == KLayout::Tiles ? " tiles" : " rows"));
            LayerKv one(t, heads * d, d, 128, nullptr, layout), many(t, heads * d, d, 128, nullptr, layout);
            const auto k = test::random_floats(rng, n * heads * d), v = test::random_floats(rng, n * heads * d);
            const int64_t first = 5;  // not tile-aligned: threads share the edge tiles
            for (int64_t i = 0; i < n; ++i) one.write(first + i, k.data() + i * heads * d, v.data() + i * heads * d);
            for (int64_t i = 0; i < n; ++i) many.reserve_slot(first + i);
            ThreadPool pool(3);
            pool.parallel_for_grain(n, 7, [&](int64_t r0, int64_t r1, int) {
                for (int64_t i = r0; i < r1; ++i) many.write(first + i, k.data() + i * heads * d, v.data() + i * heads * d);
            });
            EXPECT_EQ(many.bytes_allocated(), one.bytes_allocated());
            std::vector<float> a(static_cast<std::size_t>(d)), b(a.size());
            for (int64_t slot = first; slot < first + n; ++slot)
                for (int64_t g = 0; g < heads; ++g) {
                    one.k_head(slot, g, a.data());
                    many.k_head(slot, g, b.data());
                    ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "K slot " << slot;
                    one.v_head(slot, g, a.data());
                    many.v_head(slot, g, b.data());
                    ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "V slot " << slot;
                }
        }
    }
}

// --kv-type-global: chunk rings in one type, global layers in another; the label users read.
TEST(HostKv, GlobalLayersInTheirOwnType) {
    const model::LayerPlan plan = plan_of({true, false, true}, 8);
    SequenceKv kv(plan, 2, 32, {KvType::F16, 4, nullptr, KvType::Q4_0});
    EXPECT_EQ(kv.type(), KvType::F16);
    EXPECT_EQ(kv.global_type(), KvType::Q4_0);
    EXPECT_EQ(kv.layer(0).type(), KvType::F16);
    EXPECT_EQ(kv.layer(1).type(), KvType::Q4_0);
    EXPECT_EQ(kv.layer(2).type(), KvType::F16);
    EXPECT_EQ(kv.type_of_layer(1), KvType::Q4_0);
    EXPECT_EQ(kv.layer(0).row_bytes(), 64 * 2);
    EXPECT_EQ(kv.layer(1).row_bytes(), 2 * 18);
    std::vector<float> k(64), v(64);
    for (int i = 0; i < 64; ++i) k[static_cast<std::size_t>(i)] = v[static_cast<std::size_t>(i)] = 0.1f * static_cast<float>(i);
    for (int64_t pos = 0; pos < 5; ++pos)
        for (int64_t il = 0; il < 3; ++il) kv.layer(il).write(kv.layout().slot(il, pos), k.data(), v.data());
    // Rings: 5 slots in pages of 4 -> 2 pages of 4 f16 rows, K and V, 2 layers; global: 2 pages of 4 q4_0 rows.
    EXPECT_EQ(kv.bytes_allocated(), static_cast<std::size_t>(2 * 2 * 2 * 4 * 128 + 2 * 2 * 4 * 36));
    // Unset: the global layers take `type`.
    SequenceKv same(plan, 2, 32, {KvType::BF16, 4});
    EXPECT_EQ(same.global_type(), KvType::BF16);
    EXPECT_EQ(same.layer(1).type(), KvType::BF16);
    // A global type the heads cannot hold names its flag.
    try {
        SequenceKv bad(plan, 2, 24, {KvType::F16, 4, nullptr, KvType::Q8_0});
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--kv-type-global q8_0 stores blocks of 32 values"), std::string::npos) << e.what();
    }
    EXPECT_EQ(kv_types_label(KvType::F16, KvType::F16), "f16");
    EXPECT_EQ(kv_types_label(KvType::F16, KvType::Q4_0), "f16 (chunked), q4_0 (global)");
}

// KV beyond RAM: pages in RAM up to the budget, then in the (already unlinked) file; file pages
// hold their data across drop_resident(); released pages are reused.
TEST(PageStore, RamUpToTheBudgetThenTheFile) {
    const std::size_t page = 3000;  // not a multiple of the system page: file pages are padded
    PageStore store(page, {2 * page, ""});
    uint8_t* a = store.allocate();
    uint8_t* b = store.allocate();
    uint8_t* c = store.allocate();
    uint8_t* d = store.allocate();
    EXPECT_FALSE(store.in_file(a));
    EXPECT_FALSE(store.in_file(b));
    EXPECT_TRUE(store.in_file(c));
    EXPECT_TRUE(store.in_file(d));
    EXPECT_EQ(store.ram_bytes_in_use(), 2 * page);
    EXPECT_EQ(store.file_bytes_in_use(), 2 * page);
    EXPECT_FALSE(std::filesystem::exists(store.file_path())) << "the file must be unlinked at once";
    std::mt19937_64 rng(test::test_seed());
    std::vector<uint8_t> want_c(page), want_d(page);
    for (auto& x : want_c) x = static_cast<uint8_t>(rng());
    for (auto& x : want_d) x = static_cast<uint8_t>(rng());
    std::memcpy(c, want_c.data(), page);
    std::memcpy(d, want_d.data(), page);
    store.drop_resident();
    EXPECT_EQ(std::memcmp(c, want_c.data(), page), 0);
    EXPECT_EQ(std::memcmp(d, want_d.data(), page), 0);
    store.release(c);
    EXPECT_EQ(store.file_bytes_in_use(), page);
    EXPECT_EQ(store.allocate(), c);  // the freed file page comes back first
    store.release(a);
    uint8_t* e = store.allocate();   // RAM budget has room again
    EXPECT_FALSE(store.in_file(e));
    for (uint8_t* p : {b, c, d, e}) store.release(p);
    EXPECT_EQ(store.ram_bytes_in_use(), 0u);
    EXPECT_EQ(store.file_bytes_in_use(), 0u);

    PageStore nowhere(page, {page, "/nonexistent/kv-dir"});
    uint8_t* r = nowhere.allocate();
    try {
        nowhere.allocate();
        FAIL() << "a file in a missing folder";
    } catch (const Error& err) {
        EXPECT_NE(std::string(err.what()).find("--kv-dir: cannot create the KV file in /nonexistent/kv-dir"),
                  std::string::npos) << err.what();
    }
    nowhere.release(r);
}

// A sequence whose global pages go to the file stores and returns the same bytes as one in RAM;
// chunk rings never go to the file.
TEST(PageStore, SequenceKvRowsThroughTheFileEqualRam) {
    const model::LayerPlan plan = plan_of({true, false, false}, 8);
    const int64_t row = 2 * 32;
    for (KvType t : {KvType::F32, KvType::F16, KvType::Q4_0}) {
        SCOPED_TRACE(std::string(kv_type_name(t)));
        auto store = std::make_shared<PageStore>(static_cast<std::size_t>(4 * kv_row_bytes(t, row)),
                                                 PageStoreOptions{static_cast<uint64_t>(3 * 4 * kv_row_bytes(t, row)), ""});
        SequenceKv ram(plan, 2, 32, {t, 4}), file(plan, 2, 32, {t, 4, store});
        ASSERT_FALSE(file.layer(1).k_tiled());  // pages of 4 slots: rows (K tiles: the next test)
        std::mt19937_64 rng(test::test_seed());
        for (int64_t pos = 0; pos < 37; ++pos) {
            const auto k = test::random_floats(rng, row), v = test::random_floats(rng, row);
            for (int64_t il = 0; il < 3; ++il) {
                ram.layer(il).write(ram.layout().slot(il, pos), k.data(), v.data());
                file.layer(il).write(file.layout().slot(il, pos), k.data(), v.data());
            }
        }
        store->drop_resident();
        for (int64_t il = 0; il < 3; ++il)
            for (int64_t pos = il == 0 ? 32 : 0; pos < 37; ++pos) {
                const int64_t slot = ram.layout().slot(il, pos);
                ASSERT_EQ(std::memcmp(ram.layer(il).k_raw(slot), file.layer(il).k_raw(slot), ram.layer(il).row_bytes()), 0);
                ASSERT_EQ(std::memcmp(ram.layer(il).v_raw(slot), file.layer(il).v_raw(slot), ram.layer(il).row_bytes()), 0);
            }
        // 2 global layers x (K, V) x 10 pages of 4 positions = 40 pages, 3 of them in RAM.
        EXPECT_EQ(file.bytes_allocated(), ram.bytes_allocated());
        EXPECT_EQ(file.bytes_in_file(), static_cast<std::size_t>((40 - 3) * 4 * kv_row_bytes(t, row)));
        EXPECT_EQ(ram.bytes_in_file(), 0u);
        EXPECT_EQ(file.layer(0).bytes_in_file(), 0u);  // the chunk ring
        file.clear();
        EXPECT_EQ(store->ram_bytes_in_use() + store->file_bytes_in_use(), 0u);
    }
}

// The same with K in tiles: pages of 64 slots, 150 positions (3 pages per global layer, a partial
// last tile), one page in RAM; every head read back equals the all-in-RAM sequence's.
TEST(PageStore, KTilesThroughTheFileEqualRam) {
    const model::LayerPlan plan = plan_of({true, false, false}, 64);
    const int64_t row = 2 * 32;
    for (KvType t : {KvType::F32, KvType::BF16}) {
        SCOPED_TRACE(std::string(kv_type_name(t)));
        const auto page = static_cast<std::size_t>(64 * kv_row_bytes(t, row));
        auto store = std::make_shared<PageStore>(page, PageStoreOptions{static_cast<uint64_t>(page), ""});
        SequenceKv ram(plan, 2, 32, {t, 64}), file(plan, 2, 32, {t, 64, store});
        ASSERT_TRUE(file.layer(1).k_tiled());
        std::mt19937_64 rng(test::test_seed());
        for (int64_t pos = 0; pos < 150; ++pos) {
            const auto k = test::random_floats(rng, row), v = test::random_floats(rng, row);
            for (int64_t il = 0; il < 3; ++il) {
                ram.layer(il).write(ram.layout().slot(il, pos), k.data(), v.data());
                file.layer(il).write(file.layout().slot(il, pos), k.data(), v.data());
            }
        }
        store->drop_resident();
        std::vector<float> a(32), b(32);
        for (int64_t il = 0; il < 3; ++il)
            for (int64_t pos = il == 0 ? 128 : 0; pos < 150; ++pos)
                for (int64_t g = 0; g < 2; ++g) {
                    const int64_t slot = ram.layout().slot(il, pos);
                    ram.layer(il).k_head(slot, g, a.data());
                    file.layer(il).k_head(slot, g, b.data());
                    ASSERT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * 32), 0) << il << " " << pos;
                    ram.layer(il).v_head(slot, g, a.data());
                    file.layer(il).v_head(slot, g, b.data());
                    ASSERT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * 32), 0) << il << " " << pos;
                }
        // 2 global layers x (K, V) x 3 pages = 12 pages, 1 of them in RAM.
        EXPECT_EQ(file.bytes_in_file(), 11 * page);
    }
}

}  // namespace
}  // namespace scout::kv
