// Robustness of checkpoint loading: corrupt, truncated and mismatched checkpoints give a
// clear scout::Error naming the problem (and the tensor and file where there is one).
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "engine/model.hpp"
#include "io/safetensors.hpp"
#include "test_util.hpp"

using namespace scout;
namespace fs = std::filesystem;

namespace {

struct RawTensor {
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};
using RawTensors = std::map<std::string, RawTensor>;

RawTensors read_tensors(const fs::path& file) {
    io::SafetensorsFile f(file);
    RawTensors out;
    for (const auto& [name, v] : f.tensors()) {
        const auto* p = static_cast<const uint8_t*>(v.data);
        out[name] = {std::string(dtype_name(v.dtype)), v.shape, std::vector<uint8_t>(p, p + v.nbytes())};
    }
    return out;
}

void write_tensors(const fs::path& file, const RawTensors& tensors) {
    nlohmann::json header = nlohmann::json::object();
    std::size_t offset = 0;
    for (const auto& [name, t] : tensors) {
        header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    const uint64_t len = h.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
    out << h;
    for (const auto& [name, t] : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
}

// A private copy of a fixture in a temporary directory.
class CheckpointErrors : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("scout_ckpt_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        const fs::path src = test::data_dir() / "models" / "tiny_text_f32";
        for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(src / f, dir_ / f);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Expects load_model to fail with a message containing every fragment.
    void expect_error(std::initializer_list<std::string> fragments) {
        try {
            engine::load_model(dir_);
            ADD_FAILURE() << "load_model succeeded on a broken checkpoint";
        } catch (const Error& e) {
            for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
                << "message \"" << e.what() << "\" lacks \"" << f << "\"";
        }
    }
    void modify(const std::function<void(RawTensors&)>& fn) {
        RawTensors t = read_tensors(dir_ / "model.safetensors");
        fn(t);
        write_tensors(dir_ / "model.safetensors", t);
    }
    void modify_config(const std::function<void(nlohmann::json&)>& fn) {
        nlohmann::json j = io::read_json_file(dir_ / "config.json");
        fn(j);
        std::ofstream(dir_ / "config.json") << j.dump(2);
    }

    fs::path dir_;
};

TEST_F(CheckpointErrors, IntactCopyLoads) { EXPECT_NO_THROW(engine::load_model(dir_)); }

TEST_F(CheckpointErrors, RewrittenCopyLoads) {
    modify([](RawTensors&) {});  // our writer must produce a valid file, or the tests below prove nothing
    EXPECT_NO_THROW(engine::load_model(dir_));
}

TEST_F(CheckpointErrors, MissingDirectoryAndConfig) {
    fs::remove(dir_ / "config.json");
    expect_error({"config.json not found", "scout demo-model"});
    fs::remove_all(dir_);
    expect_error({"does not exist"});
}

TEST_F(CheckpointErrors, NoWeights) {
    fs::remove(dir_ / "model.safetensors");
    expect_error({"no weights", "model.safetensors"});
}

TEST_F(CheckpointErrors, TruncatedFile) {
    fs::resize_file(dir_ / "model.safetensors", fs::file_size(dir_ / "model.safetensors") / 2);
    expect_error({"model.safetensors", "truncated"});
    fs::resize_file(dir_ / "model.safetensors", 5);
    expect_error({"too small"});
}

TEST_F(CheckpointErrors, CorruptHeader) {
    {
        std::fstream f(dir_ / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(0);
        const char huge[8] = {'\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\x7f'};
        f.write(huge, 8);
    }
    expect_error({"header length", "exceeds"});
    {
        std::fstream f(dir_ / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
        const char len[8] = {16, 0, 0, 0, 0, 0, 0, 0};
        f.write(len, 8);
        f.write("{not json at all", 16);
    }
    expect_error({"not valid JSON"});
}

TEST_F(CheckpointErrors, MissingTensor) {
    modify([](RawTensors& t) { t.erase("model.layers.1.self_attn.k_proj.weight"); });
    expect_error({"lacks tensor \"model.layers.1.self_attn.k_proj.weight\"", "[48, 64]"});
}

TEST_F(CheckpointErrors, WrongShapeNamesTensorAndFile) {
    modify([](RawTensors& t) {
        auto& x = t["model.layers.0.self_attn.q_proj.weight"];
        x.shape = {48, 128};  // same byte count, different shape
    });
    expect_error({"model.layers.0.self_attn.q_proj.weight", "model.safetensors", "[48, 128]", "[96, 64]"});
}

TEST_F(CheckpointErrors, UnsupportedDtype) {
    modify([](RawTensors& t) { t["model.norm.weight"].dtype = "I32"; });
    expect_error({"model.norm.weight", "I32"});
}

TEST_F(CheckpointErrors, BytesDoNotMatchShape) {
    modify([](RawTensors& t) { t["model.norm.weight"].shape = {65}; });
    expect_error({"model.norm.weight", "do not match"});
}

TEST_F(CheckpointErrors, UnexpectedTextTensor) {
    // A router in a layer the config calls dense: config and weights disagree.
    modify([](RawTensors& t) { t["model.layers.0.feed_forward.router.weight"] = t["model.layers.1.feed_forward.router.weight"]; });
    expect_error({"model.layers.0.feed_forward.router.weight", "not expected by config.json"});
}

TEST_F(CheckpointErrors, ConfigDisagreesWithWeights) {
    modify_config([](nlohmann::json& j) { j["intermediate_size_mlp"] = 50; });
    expect_error({"model.layers.0.feed_forward.gate_proj.weight", "[48, 64]", "[50, 64]"});
}

TEST_F(CheckpointErrors, IndexNamesMissingShard) {
    std::ofstream(dir_ / "model.safetensors.index.json")
        << R"({"metadata": {}, "weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}})";
    expect_error({"model-00002-of-00002.safetensors", "missing"});
    std::ofstream(dir_ / "model.safetensors.index.json")
        << R"({"metadata": {}, "weight_map": {"model.norm.weight": "../../etc/passwd"}})";
    expect_error({"plain file name"});
}

TEST_F(CheckpointErrors, MalformedConfigJson) {
    std::ofstream(dir_ / "config.json") << "{\"model_type\": \"llama4_text\", ";
    expect_error({"config.json", "not valid JSON"});
}

}  // namespace
