// Bit-exactness against gguf-py (tests/data/gguf, tools/reference/make_gguf_fixtures.py):
// scout's dequantization of every tensor type equals gguf.quants.dequantize bit for bit,
// and scout's Q8_0/Q4_0/F16/BF16 quantization of the same input equals gguf.quants.quantize
// byte for byte (both follow ggml's reference rounding).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/npy.hpp"
#include "io/gguf.hpp"
#include "quant/quant.hpp"
#include "test_util.hpp"

using namespace scout;

namespace {
const char* const kTypes[] = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"};
std::filesystem::path dir() { return test::data_dir() / "gguf"; }
}  // namespace

TEST(GgufTypes, DequantizeBitIdenticalToGgufPy) {
    io::GgufFile f(dir() / "types.gguf");
    for (const char* name : kTypes) {
        SCOPED_TRACE(name);
        const TensorView v = f.view(std::string("t.") + name);
        ASSERT_EQ(quant::type_name(v.dtype), name);
        ASSERT_EQ(v.shape, (std::vector<int64_t>{3, 512}));
        const NpyArray want = read_npy_f32(dir() / "types" / (std::string(name) + ".npy"));
        ASSERT_EQ(want.data.size(), 3u * 512u);
        std::vector<float> got(3 * 512);
        const std::size_t rb = quant::row_size(v.dtype, 512);
        for (int r = 0; r < 3; ++r)
            quant::dequantize_row(v.dtype, static_cast<const uint8_t*>(v.data) + r * rb, got.data() + r * 512, 512);
        int mismatches = 0;
        for (std::size_t i = 0; i < got.size(); ++i) {
            uint32_t a, b;
            std::memcpy(&a, &got[i], 4);
            std::memcpy(&b, &want.data[i], 4);
            if (a != b && mismatches++ < 5) ADD_FAILURE() << "element " << i << ": scout " << got[i] << " gguf-py " << want.data[i];
        }
        EXPECT_EQ(mismatches, 0);
    }
}

TEST(GgufTypes, QuantizeMatchesGgufPyWhereItFollowsGgml) {
    io::GgufFile f(dir() / "types.gguf");
    const NpyArray src = read_npy_f32(dir() / "types" / "src.npy");
    ASSERT_EQ(src.data.size(), 3u * 512u);
    for (const char* name : {"F16", "BF16", "Q8_0", "Q4_0"}) {
        SCOPED_TRACE(name);
        const TensorView v = f.view(std::string("t.") + name);
        std::vector<uint8_t> q(v.nbytes());
        const std::size_t rb = quant::row_size(v.dtype, 512);
        for (int r = 0; r < 3; ++r) quant::quantize_row(v.dtype, src.data.data() + r * 512, q.data() + r * rb, 512);
        EXPECT_EQ(std::memcmp(q.data(), v.data, q.size()), 0);
    }
}
