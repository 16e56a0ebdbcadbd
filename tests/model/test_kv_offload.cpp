// KV beyond RAM (--kv-ram): with the global layers' KV pages in the file, every fixture's logits
// equal the all-in-RAM run's bit for bit — prefill, decode steps, several sequences sharing one
// budget — and the KV really is in the file.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "backend/factory.hpp"
#include "engine/model.hpp"
#include "fixture.hpp"
#include "test_util.hpp"
#include "two_sequences.hpp"

namespace scout {
namespace {

// Logits of the shared two-sequence run and the bytes both sequences keep in the KV file.
std::vector<float> run(backend::Forward& fwd, const std::vector<int32_t>& tokens, std::size_t& bytes_in_file) {
    test::TwoSequenceRun r = test::run_two_sequences(fwd, tokens);
    bytes_in_file = r.a->bytes_in_file() + r.b->bytes_in_file();
    return std::move(r.logits);
}

TEST(KvOffload, LogitsThroughTheFileEqualAllInRamBitForBit) {
    for (const auto& name : test::fixture_names()) {
        const test::Fixture fx = test::load_fixture(name);
        const auto model = engine::load_model(fx.dir);
        const test::LogitsCase* longest = &test::longest_case(fx);
        for (kv::KvType type : {kv::KvType::F32, kv::KvType::F16}) {
            SCOPED_TRACE(name + " kv " + std::string(kv::kv_type_name(type)));
            backend::BackendOptions o{.device = "cpu", .threads = 2, .kv_type = type, .kv_page_size = 4};
            const auto ram_fwd = backend::make_forward(model->config.text, model->plan, model->weights, o);
            o.kv_ram_bytes = 1;  // below one page: every global page goes to the file
            const auto file_fwd = backend::make_forward(model->config.text, model->plan, model->weights, o);
            std::size_t in_file_ram = 0, in_file = 0;
            const std::vector<float> want = run(*ram_fwd, longest->tokens, in_file_ram);
            const std::vector<float> got = run(*file_fwd, longest->tokens, in_file);
            EXPECT_EQ(in_file_ram, 0u);
            if (model->plan.n_global() > 0) {
                EXPECT_GT(in_file, 0u);
            }
            ASSERT_EQ(got.size(), want.size());
            EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0);
        }
    }
}

}  // namespace
}  // namespace scout
