// GGUF reader: metadata of every value type (fixture written by gguf-py), tensor infos,
// the llama4 fixture, and robustness: truncation at every offset, corrupted fields,
// wrong magic/version -> scout::Error naming the problem, never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <vector>

#include "base/error.hpp"
#include "io/gguf.hpp"
#include "test_util.hpp"

using namespace scout;
using scout::io::GgufFile;
using scout::io::GgufValueType;

namespace {

std::filesystem::path dir() { return test::data_dir() / "gguf"; }

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

// Parses bytes and returns the error message ("" when it parsed).
std::string parse_error(std::span<const uint8_t> b) {
    try {
        GgufFile f(b, "fixture");
        return "";
    } catch (const Error& e) {
        return e.what();
    }
}

template <typename T>
void poke(std::vector<uint8_t>& b, std::size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof(T));
}

}  // namespace

TEST(GgufReader, MetadataOfEveryType) {
    GgufFile f(dir() / "types.gguf");
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 32u);
    EXPECT_EQ(f.architecture(), "scout_test");
    EXPECT_EQ(f.get("test.u8").type, GgufValueType::U8);
    EXPECT_EQ(f.get("test.u8").as_int(), 200);
    EXPECT_EQ(f.get("test.i8").as_int(), -100);
    EXPECT_EQ(f.get("test.u16").as_int(), 60000);
    EXPECT_EQ(f.get("test.i16").as_int(), -30000);
    EXPECT_EQ(f.get("test.u32").as_uint(), 4000000000u);
    EXPECT_EQ(f.get("test.i32").as_int(), -2000000000);
    EXPECT_EQ(f.get("test.f32").as_float(), static_cast<double>(0.1f));
    EXPECT_TRUE(f.get("test.bool").as_bool());
    EXPECT_EQ(f.get("test.string").as_string(), "h\xc3\xa9llo w\xc3\xb6rld");
    EXPECT_EQ(f.get("test.u64").as_uint(), 18000000000000000000ull);
    EXPECT_THROW(f.get("test.u64").as_int(), Error);  // does not fit int64
    EXPECT_EQ(f.get("test.i64").as_int(), -9000000000000000000ll);
    EXPECT_EQ(f.get("test.f64").as_float(), 2.718281828459045);
    EXPECT_EQ(f.get("test.arr_i32").as_int_array(), (std::vector<int64_t>{1, -2, 3}));
    EXPECT_EQ(f.get("test.arr_f32").as_float_array(), (std::vector<double>{0.5, -1.5}));
    EXPECT_EQ(f.get("test.arr_str").as_string_array(), (std::vector<std::string_view>{"a", "", "ccc"}));
    EXPECT_EQ(f.get("test.arr_bool").elem_type, GgufValueType::BOOL);
    EXPECT_EQ(f.get("test.arr_bool").count, 2u);
    EXPECT_EQ(f.get("test.arr_u8").as_int_array(), (std::vector<int64_t>{1, 2, 255}));
    EXPECT_EQ(f.get("test.arr_u64").as_int_array(), (std::vector<int64_t>{int64_t{1} << 40, 7}));
    // Wrong-type access and missing keys are errors naming the problem.
    EXPECT_THROW(f.get("test.string").as_int(), Error);
    EXPECT_THROW(f.get("test.arr_i32").as_string_array(), Error);
    EXPECT_EQ(f.find("nope"), nullptr);
    try {
        f.get("nope");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing metadata key \"nope\""), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("types.gguf"), std::string::npos);
    }
    EXPECT_EQ(f.get_int("nope", 7), 7);
    EXPECT_THROW(f.get_int("test.string", 7), Error);
}

TEST(GgufReader, TensorInfos) {
    GgufFile f(dir() / "types.gguf");
    ASSERT_EQ(f.tensors().size(), 8u);
    const io::GgufTensorInfo* t = f.find_tensor("t.Q4_K");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->ne, (std::vector<int64_t>{512, 3}));     // GGUF order
    EXPECT_EQ(t->shape(), (std::vector<int64_t>{3, 512}));  // PyTorch order
    EXPECT_EQ(t->ggml_type, 12u);
    EXPECT_EQ(t->nbytes, 3u * 2u * 144u);
    EXPECT_EQ(t->offset % f.alignment(), 0u);
    EXPECT_EQ(f.data_offset() % f.alignment(), 0u);
    EXPECT_EQ(f.view("t.Q4_K").nbytes(), t->nbytes);
    EXPECT_THROW(f.view("missing"), Error);

    // A ggml type scout has no kernels for (Q3_K: 110 bytes per 256 values, so the tensor still
    // fits its data) parses, and using the tensor is an error naming the tensor and the type.
    auto b = read_all(dir() / "types.gguf");
    const char name[] = "t.Q4_K";
    const auto at = std::search(b.begin(), b.end(), name, name + 6) - b.begin();
    poke<uint32_t>(b, static_cast<std::size_t>(at) + 6 + 4 + 2 * 8, 11u);  // after the name: n_dims, 2 dims, type
    GgufFile q3(std::span<const uint8_t>(b), "q3k.gguf");
    ASSERT_EQ(q3.find_tensor("t.Q4_K")->type_name, "Q3_K");
    try {
        (void)q3.view("t.Q4_K");
        ADD_FAILURE() << "a Q3_K tensor was accepted";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("tensor \"t.Q4_K\" has type Q3_K, which scout does not support"), std::string::npos) << what;
        const auto list = what.find("(supported: ");  // the types scout does support, named
        ASSERT_NE(list, std::string::npos) << what;
        EXPECT_NE(what.find("Q4_K", list), std::string::npos) << what;
    }
}

TEST(GgufReader, Llama4FixtureHasTheLlamaCppTensorNames) {
    GgufFile f(dir() / "llama4_tiny.gguf");
    EXPECT_EQ(f.architecture(), "llama4");
    EXPECT_EQ(f.tensors().size(), 4u + 4u * 13u);
    EXPECT_EQ(f.get_int("llama4.block_count", 0), 4);
    EXPECT_EQ(f.view("blk.3.ffn_down_exps.weight").shape, (std::vector<int64_t>{4, 64, 32}));
    EXPECT_EQ(f.view("token_embd.weight").dtype, DType::Q8_0);
}

TEST(GgufReader, BadMagicAndVersion) {
    auto b = read_all(dir() / "types.gguf");
    auto m = b;
    m[0] = 'X';
    EXPECT_NE(parse_error(m).find("not a GGUF file"), std::string::npos);
    for (uint32_t v : {0u, 1u, 4u, 0x03000000u}) {
        auto c = b;
        poke<uint32_t>(c, 4, v);
        EXPECT_NE(parse_error(c).find("version"), std::string::npos) << v;
    }
    EXPECT_NE(parse_error(std::span<const uint8_t>()).find("not a GGUF file"), std::string::npos);
    EXPECT_THROW(GgufFile(dir() / "does_not_exist.gguf"), Error);
}

TEST(GgufReader, TruncatedAtEveryOffsetIsAnError) {
    for (const char* name : {"types.gguf", "llama4_tiny.gguf"}) {
        const auto b = read_all(dir() / name);
        GgufFile full(std::span<const uint8_t>(b), name);
        // Every prefix that cuts into the header or a tensor's data must fail cleanly.
        const std::size_t last_byte_needed = [&] {
            std::size_t end = full.data_offset();
            for (const auto& t : full.tensors()) end = std::max<std::size_t>(end, full.data_offset() + t.offset + t.nbytes);
            return end;
        }();
        // Every byte of the header; the data section (one bounds check) at a stride.
        for (std::size_t n = 0; n < last_byte_needed; n += n < full.data_offset() ? 1 : 61) {
            const std::string err = parse_error(std::span<const uint8_t>(b).first(n));
            ASSERT_FALSE(err.empty()) << name << " truncated to " << n << " bytes parsed";
            ASSERT_NE(err.find("fixture"), std::string::npos) << err;
        }
        EXPECT_FALSE(parse_error(std::span<const uint8_t>(b).first(last_byte_needed - 1)).empty());
        EXPECT_TRUE(parse_error(std::span<const uint8_t>(b).first(last_byte_needed)).empty());
    }
}

TEST(GgufReader, CorruptedFieldsAreErrors) {
    const auto b = read_all(dir() / "types.gguf");
    auto expect_error = [](std::vector<uint8_t> c, const char* what) {
        const std::string err = parse_error(c);
        EXPECT_NE(err.find(what), std::string::npos) << "wanted \"" << what << "\", got \"" << err << "\"";
    };
    {  // absurd tensor and KV counts
        auto c = b;
        poke<uint64_t>(c, 8, uint64_t{1} << 60);
        expect_error(c, "tensor count");
        c = b;
        poke<uint64_t>(c, 16, ~uint64_t{0});
        expect_error(c, "metadata count");
    }
    {  // first key length absurd
        auto c = b;
        poke<uint64_t>(c, 24, uint64_t{1} << 40);
        expect_error(c, "absurd");
    }
    {  // first value type unknown: key "general.architecture" (20 chars) at 24+8
        auto c = b;
        poke<uint32_t>(c, 24 + 8 + 20, 99u);
        expect_error(c, "unknown value type 99");
    }
    GgufFile f(std::span<const uint8_t>(b), "fixture");
    // Locate the tensor infos: the first one starts with the name "t.F32".
    const std::string first = "t.F32";
    std::size_t ti = 0;
    for (std::size_t i = 0; i + first.size() < b.size(); ++i)
        if (std::memcmp(b.data() + i, first.data(), first.size()) == 0) { ti = i - 8; break; }
    ASSERT_GT(ti, 0u);
    const std::size_t dims = ti + 8 + first.size();  // u32 n_dims, then u64 ne[2]
    {
        auto c = b;
        poke<uint32_t>(c, dims, 5u);
        expect_error(c, "has 5 dims");
        c = b;
        poke<uint32_t>(c, dims, 0u);
        expect_error(c, "has 0 dims");
        c = b;
        poke<uint64_t>(c, dims + 4, uint64_t{1} << 62);
        poke<uint64_t>(c, dims + 12, uint64_t{1} << 62);
        expect_error(c, "overflow");
        c = b;
        poke<uint64_t>(c, dims + 4, ~uint64_t{0});
        expect_error(c, "overflow");
        c = b;
        poke<uint64_t>(c, dims + 12, 1000000);  // 1000000 rows of 512 floats: past the end
        expect_error(c, "runs past the end");
        c = b;
        poke<uint32_t>(c, dims + 20, 77u);  // tensor type
        expect_error(c, "unknown tensor type id 77");
        c = b;
        poke<uint64_t>(c, dims + 24, 8u);  // offset not aligned
        expect_error(c, "not a multiple of the alignment");
        c = b;
        poke<uint64_t>(c, dims + 24, uint64_t{1} << 63);
        expect_error(c, "");
        EXPECT_FALSE(parse_error(c).empty());
    }
    {  // a duplicate tensor name: rename t.F16 to t.F32
        auto c = b;
        for (std::size_t i = ti + 20; i + 5 < c.size(); ++i)
            if (std::memcmp(c.data() + i, "t.F16", 5) == 0) { std::memcpy(c.data() + i, "t.F32", 5); break; }
        expect_error(c, "duplicate tensor name");
    }
    {  // duplicate key: rename test.u16 to test.u8_ (same length trick is not possible); use test.i8 -> test.u8
        auto c = b;
        for (std::size_t i = 0; i + 7 < c.size(); ++i)
            if (std::memcmp(c.data() + i, "test.i8", 7) == 0) { std::memcpy(c.data() + i, "test.u8", 7); break; }
        expect_error(c, "duplicate metadata key");
    }
    {  // bool value that is not 0/1
        auto c = b;
        for (std::size_t i = 0; i + 9 < c.size(); ++i)
            if (std::memcmp(c.data() + i, "test.bool", 9) == 0) { c[i + 9 + 4] = 7; break; }
        expect_error(c, "bool value 7");
    }
}

TEST(GgufReader, AlignmentKeyIsValidated) {
    // A file with general.alignment = 64 parses; 48 (not a power of two) or a wrong type fails.
    auto make = [](uint32_t type, uint64_t value) {
        std::vector<uint8_t> b;
        auto put = [&](auto v) { const auto* p = reinterpret_cast<const uint8_t*>(&v); b.insert(b.end(), p, p + sizeof(v)); };
        put(uint32_t{0x46554747}); put(uint32_t{3}); put(uint64_t{0}); put(uint64_t{1});
        const std::string key = "general.alignment";
        put(uint64_t{key.size()}); b.insert(b.end(), key.begin(), key.end());
        put(type);
        if (type == 4) put(static_cast<uint32_t>(value)); else put(value);
        return b;
    };
    EXPECT_EQ(parse_error(make(4, 64)), "");
    EXPECT_NE(parse_error(make(4, 48)).find("not a power of two"), std::string::npos);
    EXPECT_NE(parse_error(make(4, 0)).find("not a power of two"), std::string::npos);
    EXPECT_NE(parse_error(make(10, 64)).find("expected u32"), std::string::npos);
}

TEST(GgufReader, RandomByteFlipsNeverCrash) {
    const auto b = read_all(dir() / "types.gguf");
    std::mt19937_64 rng(test::test_seed());
    GgufFile clean(std::span<const uint8_t>(b), "fixture");
    const std::size_t header = clean.data_offset();
    for (int rep = 0; rep < 3000; ++rep) {
        auto c = b;
        for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) c[rng() % header] = static_cast<uint8_t>(rng());
        try {
            GgufFile f(std::span<const uint8_t>(c), "fixture");
            for (const auto& t : f.tensors()) {  // whatever parsed must be in bounds
                ASSERT_LE(f.data_offset() + t.offset + t.nbytes, c.size());
            }
        } catch (const Error&) {
        }
    }
}
