// GGUF writer: metadata and tensors round-trip through scout's writer and reader.
// The file written by WritesEveryTypeAndReadsItBack (scout_written.gguf in the test's
// working directory) is also the input of
//   tools/reference/make_gguf_fixtures.py --verify scout_written.gguf
// which checks with gguf-py that the file is readable and that gguf-py decodes
// scout's quantized blocks to the values scout decodes (docs/gguf.md records the run).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "base/error.hpp"
#include "io/gguf.hpp"
#include "io/gguf_writer.hpp"
#include "quant/quant.hpp"
#include "test_util.hpp"

using namespace scout;
using scout::io::GgufFile;
using scout::io::GgufWriter;

namespace {
constexpr DType kTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0,
                            DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::vector<uint8_t> quantize(DType t, const std::vector<float>& x, int64_t cols) {
    const std::size_t rb = quant::row_size(t, cols);
    std::vector<uint8_t> q(rb * (x.size() / cols));
    for (std::size_t r = 0; r < x.size() / cols; ++r) quant::quantize_row(t, x.data() + r * cols, q.data() + r * rb, cols);
    return q;
}
}  // namespace

TEST(GgufWriter, WritesEveryTypeAndReadsItBack) {
    std::mt19937_64 rng(test::test_seed());
    const auto path = std::filesystem::current_path() / "scout_written.gguf";
    const int64_t rows = 5, cols = 768;
    std::vector<std::vector<uint8_t>> data;
    std::vector<std::vector<float>> deq;
    {
        GgufFile src(test::data_dir() / "gguf" / "types.gguf");
        GgufWriter w(path);
        // Every KV of the gguf-py fixture, copied verbatim (general.architecture included).
        for (const auto& kv : src.metadata()) w.add_value(kv.key, kv.value);
        w.add_string("scout.note", "written by test_gguf_writer");
        w.add_i32_array("scout.ints", std::vector<int32_t>{-1, 0, 7});
        w.add_f32_array("scout.floats", std::vector<float>{0.25f});
        w.add_string_array("scout.strings", std::vector<std::string>{"x", "", "yz"});
        w.add_u64("scout.u64", 1ull << 50);
        EXPECT_THROW(w.add_u32("scout.u64", 1), Error);  // duplicate key
        for (DType t : kTypes) {
            const auto x = test::random_floats(rng, rows * cols, 0.03f);
            data.push_back(quantize(t, x, cols));
            std::vector<float> d(x.size());
            const std::size_t rb = quant::row_size(t, cols);
            for (int64_t r = 0; r < rows; ++r)
                quant::dequantize_row(t, data.back().data() + r * rb, d.data() + r * cols, cols);
            deq.push_back(std::move(d));
            const std::string name = cat("q.", quant::type_name(t));
            w.add_tensor_info(name, t, {rows, cols});
            w.add_tensor_info(name + ".scout", DType::F32, {rows, cols});
        }
        EXPECT_THROW(w.add_tensor_info("q.F32", DType::F32, {1, 32}), Error);   // declared twice
        EXPECT_THROW(w.add_tensor_info("bad", DType::Q4_K, {2, 100}), Error);  // not a block multiple
        for (std::size_t i = 0; i < std::size(kTypes); ++i) {
            const std::string name = cat("q.", quant::type_name(kTypes[i]));
            EXPECT_THROW(w.write_tensor_data(name + ".scout", data[i]), Error);  // out of order
            w.write_tensor_data(name, data[i]);
            EXPECT_THROW(w.write_tensor_data(name + ".scout", {}), Error);       // wrong size
            w.write_tensor_data(name + ".scout", {reinterpret_cast<const uint8_t*>(deq[i].data()), deq[i].size() * 4});
        }
        EXPECT_THROW(w.add_u32("late", 1), Error);
        w.finish();
    }
    GgufFile f(path);
    GgufFile src(test::data_dir() / "gguf" / "types.gguf");
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.metadata().size(), src.metadata().size() + 5);
    for (const auto& kv : src.metadata()) {  // every value identical, arrays byte for byte
        SCOPED_TRACE(kv.key);
        const io::GgufValue& v = f.get(kv.key);
        EXPECT_EQ(v.type, kv.value.type);
        EXPECT_EQ(v.u, kv.value.u);
        EXPECT_EQ(v.i, kv.value.i);
        EXPECT_EQ(v.f, kv.value.f);
        EXPECT_EQ(v.s, kv.value.s);
        EXPECT_EQ(v.count, kv.value.count);
        ASSERT_EQ(v.raw_size, kv.value.raw_size);
        if (v.raw_size) {
            EXPECT_EQ(std::memcmp(v.raw, kv.value.raw, v.raw_size), 0);
        }
    }
    EXPECT_EQ(f.get("scout.note").as_string(), "written by test_gguf_writer");
    EXPECT_EQ(f.get("scout.ints").as_int_array(), (std::vector<int64_t>{-1, 0, 7}));
    EXPECT_EQ(f.get("scout.floats").as_float_array(), (std::vector<double>{0.25}));
    EXPECT_EQ(f.get("scout.strings").as_string_array(), (std::vector<std::string_view>{"x", "", "yz"}));
    EXPECT_EQ(f.get("scout.u64").as_uint(), 1ull << 50);
    ASSERT_EQ(f.tensors().size(), 2 * std::size(kTypes));
    for (std::size_t i = 0; i < std::size(kTypes); ++i) {
        const TensorView v = f.view(cat("q.", quant::type_name(kTypes[i])));
        EXPECT_EQ(v.dtype, kTypes[i]);
        EXPECT_EQ(v.shape, (std::vector<int64_t>{rows, cols}));
        ASSERT_EQ(v.nbytes(), data[i].size());
        EXPECT_EQ(std::memcmp(v.data, data[i].data(), data[i].size()), 0);
    }
}

TEST(GgufWriter, CustomAlignmentAndEmptyFile) {
    const auto path = std::filesystem::current_path() / "scout_written_align.gguf";
    {
        GgufWriter w(path, 64);
        w.add_string("general.architecture", "llama4");
        w.add_tensor_info("a", DType::F32, {3});
        w.add_tensor_info("b", DType::Q8_0, {2, 32});
        std::vector<uint8_t> a(12, 1), b(68, 2);
        w.write_tensor_data("a", a);
        w.write_tensor_data("b", b);
        w.finish();
    }
    GgufFile f(path);
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.find_tensor("b")->offset, 64u);
    EXPECT_EQ(f.data_offset() % 64, 0u);
    EXPECT_EQ(static_cast<const uint8_t*>(f.view("b").data)[67], 2);
    EXPECT_THROW(GgufWriter(path, 48), Error);
    {
        GgufWriter w(path);
        w.finish();
    }
    GgufFile empty(path);
    EXPECT_TRUE(empty.tensors().empty());
    EXPECT_TRUE(empty.metadata().empty());
}

TEST(GgufWriter, UnfinishedFileIsRemoved) {
    const auto path = std::filesystem::current_path() / "scout_unfinished.gguf";
    std::filesystem::remove(path);
    {
        GgufWriter w(path);
        w.add_tensor_info("a", DType::F32, {4});
        w.add_tensor_info("b", DType::F32, {4});
        w.write_tensor_data("a", std::vector<uint8_t>(16));
        EXPECT_THROW(w.add_tensor_info("late", DType::F32, {4}), Error);
        EXPECT_THROW(w.finish(), Error);  // "b" has no data
        EXPECT_TRUE(std::filesystem::exists(path.string() + ".tmp"));
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}
