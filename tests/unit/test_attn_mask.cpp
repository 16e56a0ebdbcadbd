// kv/attn_mask.hpp: the chunk-local and full causal visibility rules at chunk edges.
#include <gtest/gtest.h>

#include "kv/attn_mask.hpp"

using scout::kv::first_visible_key;
using scout::kv::key_visible;

TEST(AttnMask, ChunkedEdgesWithChunk4) {
    // Spec examples: query 5 sees {4, 5}; query 7 sees {4..7}; query 8 sees only itself.
    EXPECT_EQ(first_visible_key(5, true, 4), 4);
    EXPECT_EQ(first_visible_key(7, true, 4), 4);
    EXPECT_EQ(first_visible_key(8, true, 4), 8);
    EXPECT_EQ(first_visible_key(0, true, 4), 0);
    EXPECT_EQ(first_visible_key(3, true, 4), 0);
    for (int64_t a = 0; a < 40; ++a)
        for (int64_t t = 0; t < 40; ++t) {
            const bool expected = t <= a && t / 4 == a / 4;
            ASSERT_EQ(key_visible(a, t, true, 4), expected) << "a=" << a << " t=" << t;
        }
}

TEST(AttnMask, GlobalIsPlainCausal) {
    for (int64_t a = 0; a < 30; ++a)
        for (int64_t t = 0; t < 30; ++t) ASSERT_EQ(key_visible(a, t, false, 4), t <= a);
}

TEST(AttnMask, ScoutChunk8192) {
    EXPECT_EQ(first_visible_key(8191, true, 8192), 0);
    EXPECT_EQ(first_visible_key(8192, true, 8192), 8192);
    EXPECT_FALSE(key_visible(8192, 8191, true, 8192));
    EXPECT_TRUE(key_visible(8192, 8191, false, 8192));
    // Chunking disabled (attention_chunk_size null): everything causal is visible.
    EXPECT_EQ(first_visible_key(100000, true, 0), 0);
}
