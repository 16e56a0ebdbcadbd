// GGUF inference: each fixture converted with scout's exporter (llama.cpp's llama4 layout:
// split/transposed experts, rope_freqs divisors) and run from the GGUF file. F32 must match
// transformers as tightly as the safetensors path; quantized types are measured (top-1
// agreement, mean KL divergence against the reference) with bounds a little above the
// values measured when this test was written (docs/gguf.md).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "backend/cpu/forward_cpu.hpp"
#include "kv/kv_type.hpp"
#include "base/error.hpp"
#include "engine/model.hpp"
#include "fixture.hpp"
#include "test_util.hpp"
#include "kv/kv_cache.hpp"
#include "io/gguf.hpp"
#include "io/gguf_writer.hpp"
#include "model/gguf_export.hpp"

using namespace scout;
namespace fs = std::filesystem;

namespace {

struct Agreement {
    double rel_err = 0;  // max |Δ| / max(1, max|ref|)
    double top1 = 0;     // fraction of positions with the same argmax
    double kl = 0;       // mean KL(ref || ours)
};

Agreement compare(const std::vector<float>& ours, const std::vector<float>& ref, int64_t vocab) {
    Agreement a;
    const auto n = static_cast<int64_t>(ref.size()) / vocab;
    a.rel_err = test::max_rel_to_scale(ours, ref);
    for (int64_t t = 0; t < n; ++t) {
        const float* r = ref.data() + t * vocab;
        const float* o = ours.data() + t * vocab;
        int64_t ar = 0, ao = 0;
        double mr = r[0], mo = o[0];
        for (int64_t v = 0; v < vocab; ++v) {
            if (r[v] > r[ar]) ar = v;
            if (o[v] > o[ao]) ao = v;
            mr = std::max(mr, static_cast<double>(r[v]));
            mo = std::max(mo, static_cast<double>(o[v]));
        }
        a.top1 += ar == ao;
        double zr = 0, zo = 0;
        for (int64_t v = 0; v < vocab; ++v) {
            zr += std::exp(r[v] - mr);
            zo += std::exp(o[v] - mo);
        }
        for (int64_t v = 0; v < vocab; ++v) {
            const double lr = r[v] - mr - std::log(zr), lo = o[v] - mo - std::log(zo);
            a.kl += std::exp(lr) * (lr - lo);
        }
    }
    a.top1 /= static_cast<double>(n);
    a.kl /= static_cast<double>(n);
    return a;
}

std::vector<float> run_all(const engine::Model& m, const std::vector<int32_t>& tokens) {
        cpu::CpuForward fwd(m.config.text, m.plan, m.weights, backend::BackendOptions{.device = "cpu", .threads = 2, .kv_type = kv::KvType::F32});
    const auto kv_mem = fwd.make_kv();
    kv::KvMemory& kv = *kv_mem;
    std::vector<float> logits;
    fwd.forward(kv, tokens, true, logits);
    return logits;
}

class GgufModel : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufModel, ExportedFilesRunAndMatchTheReference) {
    const test::Fixture fx = test::load_fixture(GetParam());
    const auto hf = engine::load_model(fx.dir);
    const test::LogitsCase* c = nullptr;
    for (const auto& l : fx.logits)
        if (!l.has_pixels && l.compute_dtype == "float32" && (!c || l.tokens.size() > c->tokens.size())) c = &l;
    ASSERT_NE(c, nullptr);
    const std::vector<float> ref = fx.load_logits(*c).data;
    const int64_t V = hf->config.text.vocab_size;
    // {mix, max relative error, min top-1 agreement, max mean KL}
    struct Expect {
        model::GgufMix mix;
        double rel, top1, kl;
    };
    for (const Expect& e : {Expect{model::GgufMix::F32, 1e-4, 1.0, 1e-6}, Expect{model::GgufMix::F16, 5e-3, 0.9, 1e-4},
                            Expect{model::GgufMix::BF16, 4e-2, 0.85, 1e-3}, Expect{model::GgufMix::Q8_0, 0.4, 0.75, 0.02},
                            Expect{model::GgufMix::Q4_K_M, 0.4, 0.75, 0.02}}) {
        SCOPED_TRACE(model::gguf_mix_name(e.mix));
        const fs::path out = fs::temp_directory_path() /
                             (GetParam() + "_" + model::gguf_mix_name(e.mix) + "_" + std::to_string(::getpid()) + ".gguf");
        model::export_llama4_gguf(*hf->hf, hf->config, hf->plan, hf->weights, out, {e.mix, GetParam()});
        const auto g = engine::load_model(out);
        EXPECT_EQ(g->plan.n_chunked(), hf->plan.n_chunked());
        EXPECT_EQ(g->plan.chunk_size, hf->plan.chunk_size);
        const Agreement a = compare(run_all(*g, c->tokens), ref, V);
        RecordProperty(std::string("top1_") + model::gguf_mix_name(e.mix), std::to_string(a.top1));
        EXPECT_LE(a.rel_err, e.rel);
        EXPECT_GE(a.top1, e.top1);
        EXPECT_LE(a.kl, e.kl);
        std::printf("%-28s %-7s rel %.2e  top-1 %.3f  KL %.2e\n", GetParam().c_str(), model::gguf_mix_name(e.mix),
                    a.rel_err, a.top1, a.kl);
        fs::remove(out);
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufModel, ::testing::ValuesIn(test::fixture_names()),
                         [](const auto& info) { return info.param; });

// Rows are quantized on a thread pool: the file must not depend on the thread count (the
// experts of tiny_scoutlike_bf16 go through the tiled transposing gather).
TEST(GgufModelExport, SameFileForAnyThreadCount) {
    const auto hf = engine::load_model(test::data_dir() / "models" / "tiny_scoutlike_bf16");
    for (const model::GgufMix mix : {model::GgufMix::Q4_K_M, model::GgufMix::BF16}) {
        SCOPED_TRACE(model::gguf_mix_name(mix));
        std::vector<std::string> bytes;
        for (const int threads : {1, 3}) {
            const fs::path out = fs::temp_directory_path() /
                                 ("scout_threads_" + std::to_string(threads) + "_" + std::to_string(::getpid()) + ".gguf");
            model::GgufExportOptions o{mix, "t"};
            o.threads = threads;
            model::export_llama4_gguf(*hf->hf, hf->config, hf->plan, hf->weights, out, o);
            std::ifstream f(out, std::ios::binary);
            bytes.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
            fs::remove(out);
        }
        EXPECT_GT(bytes[0].size(), 0u);
        EXPECT_TRUE(bytes[0] == bytes[1]);
    }
}

// Writes `src` as the n parts of a split model, the way llama.cpp's gguf-split does: every
// part carries split.no / split.count / split.tensors.count, the first also all metadata, and
// the tensors are dealt out in file order. Returns the parts' paths.
std::vector<fs::path> write_split(const io::GgufFile& src, const fs::path& dir, const std::string& prefix, int n) {
    std::vector<fs::path> parts;
    const auto& tensors = src.tensors();
    const std::size_t per = (tensors.size() + n - 1) / static_cast<std::size_t>(n);
    for (int i = 0; i < n; ++i) {
        char suffix[32];
        std::snprintf(suffix, sizeof(suffix), "-%05d-of-%05d.gguf", i + 1, n);
        parts.push_back(dir / (prefix + suffix));
        io::GgufWriter w(parts.back());
        if (i == 0)
            for (const auto& kv : src.metadata()) w.add_value(kv.key, kv.value);
        w.add_u16("split.no", static_cast<uint16_t>(i));
        w.add_u16("split.count", static_cast<uint16_t>(n));
        w.add_i32("split.tensors.count", static_cast<int32_t>(tensors.size()));
        const std::size_t t0 = i * per, t1 = std::min(tensors.size(), t0 + per);
        for (std::size_t t = t0; t < t1; ++t) w.add_tensor_info(tensors[t].name, *tensors[t].dtype, tensors[t].shape());
        for (std::size_t t = t0; t < t1; ++t)
            w.write_tensor_data(tensors[t].name, std::span<const uint8_t>(src.tensor_data(tensors[t]), tensors[t].nbytes));
        w.finish();
    }
    return parts;
}

// A model split by gguf-split loads from its first part and computes exactly what the whole
// file does; a missing part, a later part given first, and unrecognisable names are refused
// with errors that say what to do.
TEST(GgufModel, SplitFilesLoadFromTheFirstPart) {
    const auto hf = engine::load_model(test::data_dir() / "models" / "tiny_scoutlike_bf16");
    const fs::path dir = fs::temp_directory_path() / ("scout_split_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path whole = dir / "whole.gguf";
    model::export_llama4_gguf(*hf->hf, hf->config, hf->plan, hf->weights, whole, {model::GgufMix::Q8_0, "t"});
    const std::vector<fs::path> parts = write_split(io::GgufFile(whole), dir, "tiny-Q8_0", 3);

    const io::GgufFile joined(parts[0]);
    EXPECT_EQ(joined.n_files(), 3u);
    const io::GgufFile one(whole);
    ASSERT_EQ(joined.tensors().size(), one.tensors().size());
    for (const auto& t : one.tensors()) {
        const io::GgufTensorInfo* j = joined.find_tensor(t.name);
        ASSERT_NE(j, nullptr) << t.name;
        ASSERT_EQ(j->nbytes, t.nbytes);
        EXPECT_EQ(0, std::memcmp(joined.tensor_data(*j), one.tensor_data(t), t.nbytes)) << t.name;
    }
    const std::vector<int32_t> tokens = {1, 17, 200, 42, 9, 77, 5};
    const auto m_whole = engine::load_model(whole), m_split = engine::load_model(parts[0]);
    const std::vector<float> a = run_all(*m_whole, tokens), b = run_all(*m_split, tokens);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));

    const auto error_of = [](const fs::path& p) {
        try {
            engine::load_model(p);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    std::string err = error_of(parts[1]);
    EXPECT_NE(err.find("part 2 of a model split into 3"), std::string::npos) << err;
    EXPECT_NE(err.find("-00001-of-00003.gguf"), std::string::npos) << err;
    const fs::path renamed = dir / "first.gguf";
    fs::copy_file(parts[0], renamed);
    err = error_of(renamed);
    EXPECT_NE(err.find("does not end in -00001-of-00003.gguf"), std::string::npos) << err;
    fs::remove(parts[2]);
    err = error_of(parts[0]);
    EXPECT_NE(err.find("part 3 of 3 is missing"), std::string::npos) << err;
    EXPECT_NE(err.find(parts[2].string()), std::string::npos) << err;
    fs::remove_all(dir);
}

TEST(GgufModelErrors, TruncatedAndWrongFiles) {
    const auto hf = engine::load_model(test::data_dir() / "models" / "tiny_text_f32");
    const fs::path out = fs::temp_directory_path() / ("scout_trunc_" + std::to_string(::getpid()) + ".gguf");
    model::export_llama4_gguf(*hf->hf, hf->config, hf->plan, hf->weights, out, {model::GgufMix::Q8_0, "t"});
    fs::resize_file(out, fs::file_size(out) - 100);
    try {
        engine::load_model(out);
        ADD_FAILURE() << "a truncated GGUF loaded";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(out.string()), std::string::npos) << e.what();
    }
    fs::remove(out);
    // A safetensors file given where a GGUF or a directory is expected.
    EXPECT_THROW(engine::load_model(test::data_dir() / "models" / "tiny_text_f32" / "model.safetensors"), Error);
}

}  // namespace
