// The vision tower against Hugging Face transformers on the tiny multimodal checkpoint
// (tests/data/models/tiny_multimodal_f32, made by tools/reference/make_model_fixtures.py):
// the reference encoder's output and projected rows equal Llama4VisionModel's and
// Llama4MultiModalProjector's, and the text model fed those rows at the <|patch|> tokens gives
// Llama4ForConditionalGeneration's logits, in one pass and in cached decode after the image.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>

#include "backend/cpu/forward_cpu.hpp"
#include "base/error.hpp"
#include "engine/model.hpp"
#include "fixture.hpp"
#include "test_util.hpp"
#include "image/decode.hpp"
#include "io/hf_checkpoint.hpp"
#include "vision/encoder_cpu.hpp"
#include "vision/encoder_reference.hpp"
#include "vision/processor_config.hpp"
#include "vision/vision_tower.hpp"
#include "vision/vision_config.hpp"
#include "vision/vision_weights.hpp"

using namespace scout;

namespace {

struct VisionFixture {
    test::Fixture fx = test::load_fixture("tiny_multimodal_f32");
    std::unique_ptr<engine::Model> model = engine::load_model(fx.dir);
    vision::VisionConfig config =
        vision::parse_vision_config(model->config.vision_config, model->config.text.hidden_size);
    vision::VisionWeights weights = vision::load_vision_weights(*model->hf, config);

    const test::LogitsCase& image_case() const {
        const auto it = std::find_if(fx.logits.begin(), fx.logits.end(), [](const auto& c) { return c.has_pixels; });
        if (it == fx.logits.end()) throw Error("the fixture has no case with pixel values");
        return *it;
    }
    NpyArray reference(const std::string& file) const { return read_npy_f32(fx.dir / "reference" / file); }
};

// The text model's logits for `tokens`, the rows at the image token replaced by `rows`; the
// first `prefill` tokens in one step, the rest one by one (prefill == size: one pass).
std::vector<float> logits_with_image(const VisionFixture& v, const std::vector<int32_t>& tokens,
                                     const std::vector<float>& rows, size_t prefill) {
    const engine::Model& m = *v.model;
    cpu::CpuForward fwd(m.config.text, m.plan, m.weights,
                        backend::BackendOptions{.device = "cpu", .threads = 2, .kv_type = kv::KvType::F32});
    const auto kv = fwd.make_kv();
    const int64_t D = m.config.text.hidden_size;
    std::vector<float> all, part;
    size_t done = 0, used_rows = 0;
    while (done < tokens.size()) {
        const size_t len = std::min(done == 0 ? prefill : size_t{1}, tokens.size() - done);
        std::vector<int64_t> at;
        for (size_t i = 0; i < len; ++i)
            if (tokens[done + i] == m.config.image_token_index) at.push_back(static_cast<int64_t>(i));
        backend::SequenceStep step;
        step.kv = kv.get();
        step.tokens = std::span<const int32_t>(tokens).subspan(done, len);
        step.embedding_rows = at;
        step.embeddings = std::span<const float>(rows).subspan(used_rows * D, at.size() * D);
        step.all_logits = true;
        fwd.forward(backend::Batch(&step, 1), part);
        all.insert(all.end(), part.begin(), part.end());
        used_rows += at.size();
        done += len;
    }
    EXPECT_EQ(used_rows * D, rows.size()) << "every projected row lands on an image token";
    return all;
}

TEST(VisionEncoder, ConfigIsReadFromTheCheckpoint) {
    const VisionFixture v;
    EXPECT_EQ(v.config.hidden_size, 32);
    EXPECT_EQ(v.config.head_dim(), 16);
    EXPECT_EQ(v.config.grid(), 4);
    EXPECT_EQ(v.config.tokens_per_tile(), 4);
    EXPECT_EQ(v.config.text_hidden_size, v.model->config.text.hidden_size);
    EXPECT_EQ(v.weights.layers.size(), 2u);
}

TEST(VisionEncoder, ReferenceEncoderMatchesTransformers) {
    const VisionFixture v;
    const test::LogitsCase& c = v.image_case();
    const NpyArray pixels = v.reference(c.pixel_values);
    ASSERT_EQ(pixels.shape.size(), 4u);
    const std::vector<float> features = vision::encode_tiles_reference(v.config, v.weights, pixels.data, pixels.shape[0]);
    const NpyArray want = v.reference(c.vision_adapter_out);
    ASSERT_EQ(features.size(), want.data.size());
    const double err = test::max_rel_to_scale(features, want.data);
    EXPECT_LE(err, 1e-4);
    RecordProperty("adapter_rel_err", std::to_string(err));

    const std::vector<float> rows = vision::project_features_reference(v.config, v.weights, features);
    const NpyArray want_rows = v.reference(c.image_features);
    ASSERT_EQ(rows.size(), want_rows.data.size());
    const double rerr = test::max_rel_to_scale(rows, want_rows.data);
    EXPECT_LE(rerr, 1e-4);
    RecordProperty("projected_rel_err", std::to_string(rerr));
    std::printf("adapter output: max error %.3g of scale; projected rows: %.3g\n", err, rerr);
}

TEST(VisionEncoder, FastEncoderMatchesTransformers) {
    const VisionFixture v;
    const test::LogitsCase& c = v.image_case();
    const NpyArray pixels = v.reference(c.pixel_values);
    ThreadPool pool(3);
    const std::vector<float> features = vision::encode_tiles(v.config, v.weights, pixels.data, pixels.shape[0], pool);
    const double err = test::max_rel_to_scale(features, v.reference(c.vision_adapter_out).data);
    EXPECT_LE(err, 1e-4);
    const std::vector<float> rows = vision::project_features(v.config, v.weights, features, pool);
    const double rerr = test::max_rel_to_scale(rows, v.reference(c.image_features).data);
    EXPECT_LE(rerr, 1e-4);
    std::printf("fast encoder: adapter output %.3g of scale; projected rows %.3g\n", err, rerr);
}

// A tower of sizes unlike the fixture's (5 heads of 8, 3-pixel patches in a 6 x 6 grid: the pixel
// shuffle needs an even grid and the 2-D RoPE a head_dim divisible by 4), random weights.
struct RandomTower {
    vision::VisionConfig config;
    vision::VisionWeights weights;
    explicit RandomTower(uint64_t seed) {
        vision::VisionConfig& c = config;
        c.hidden_size = 40;
        c.num_heads = 5;  // head_dim 8
        c.num_layers = 3;
        c.intermediate_size = 4 * c.hidden_size;
        c.image_size = 18;
        c.patch_size = 3;  // 6 x 6 patches, 37 tokens, 9 after the shuffle
        c.projector_input_dim = c.projector_output_dim = c.vision_output_dim = 24;
        c.text_hidden_size = 19;
        std::mt19937_64 rng(seed);
        auto r = [&](int64_t n, float scale) { return test::random_floats(rng, static_cast<size_t>(n), scale); };
        const int64_t D = c.hidden_size, F = c.intermediate_size, P = c.projector_output_dim;
        vision::VisionWeights& w = weights;
        w.patch_embed = r(D * c.patch_dim(), 0.2f);
        w.class_embedding = r(D, 1.0f);
        w.positions = r((c.patches() + 1) * D, 0.5f);
        w.ln_pre_w = r(D, 1.0f), w.ln_pre_b = r(D, 0.3f), w.ln_post_w = r(D, 1.0f), w.ln_post_b = r(D, 0.3f);
        for (int64_t i = 0; i < c.num_layers; ++i) {
            vision::VisionLayerWeights& L = w.layers.emplace_back();
            L.ln1_w = r(D, 1.0f), L.ln1_b = r(D, 0.3f), L.ln2_w = r(D, 1.0f), L.ln2_b = r(D, 0.3f);
            L.wq = r(D * D, 0.3f), L.bq = r(D, 0.2f), L.wk = r(D * D, 0.3f), L.bk = r(D, 0.2f);
            L.wv = r(D * D, 0.3f), L.bv = r(D, 0.2f), L.wo = r(D * D, 0.2f), L.bo = r(D, 0.2f);
            L.fc1_w = r(F * D, 0.2f), L.fc1_b = r(F, 0.2f), L.fc2_w = r(D * F, 0.1f), L.fc2_b = r(D, 0.2f);
        }
        w.adapter_fc1 = r(P * c.shuffled_dim(), 0.1f);
        w.adapter_fc2 = r(P * P, 0.2f);
        w.projector = r(c.text_hidden_size * P, 0.2f);
    }
};

TEST(VisionEncoder, FastEncoderMatchesItsTwinOnRandomTowersForAnyThreadCount) {
    const uint64_t seed = test::test_seed();
    const RandomTower t(seed);
    const vision::VisionConfig& c = t.config;
    std::mt19937_64 rng(seed + 1);
    const int64_t tiles = 3;
    const std::vector<float> pixels =
        test::random_floats(rng, static_cast<size_t>(tiles * c.num_channels * c.image_size * c.image_size), 2.0f);
    const std::vector<float> want =
        vision::project_features_reference(c, t.weights, vision::encode_tiles_reference(c, t.weights, pixels, tiles));
    ASSERT_EQ(want.size(), static_cast<size_t>(tiles * c.tokens_per_tile() * c.text_hidden_size));
    std::vector<float> first;
    for (int threads : {1, 2, 3, 7}) {
        SCOPED_TRACE(cat("seed ", seed, " threads ", threads));
        ThreadPool pool(threads);
        const std::vector<float> got =
            vision::project_features(c, t.weights, vision::encode_tiles(c, t.weights, pixels, tiles, pool), pool);
        ASSERT_EQ(got.size(), want.size());
        EXPECT_LE(test::max_rel_to_scale(got, want), 1e-5);
        if (first.empty()) first = got;
        EXPECT_EQ(0, std::memcmp(first.data(), got.data(), got.size() * sizeof(float))) << "the thread count changed the result";
    }
    // Tiles are independent: the second tile alone gives the same rows as inside the batch.
    ThreadPool pool(2);
    const size_t per_tile = static_cast<size_t>(c.num_channels * c.image_size * c.image_size);
    const std::vector<float> alone = vision::encode_tiles(
        c, t.weights, std::span<const float>(pixels).subspan(per_tile, per_tile), 1, pool);
    const std::vector<float> batch = vision::encode_tiles(c, t.weights, pixels, tiles, pool);
    const size_t rows = static_cast<size_t>(c.tokens_per_tile() * c.projector_output_dim);
    EXPECT_TRUE(std::equal(alone.begin(), alone.end(), batch.begin() + static_cast<std::ptrdiff_t>(rows)));
}

TEST(VisionEncoder, LogitsWithAnImageMatchTransformersAndCachedDecode) {
    const VisionFixture v;
    const test::LogitsCase& c = v.image_case();
    const NpyArray pixels = v.reference(c.pixel_values);
    const std::vector<float> rows = vision::project_features_reference(
        v.config, v.weights, vision::encode_tiles_reference(v.config, v.weights, pixels.data, pixels.shape[0]));
    const NpyArray want = v.fx.load_logits(c);
    const std::vector<float> full = logits_with_image(v, c.tokens, rows, c.tokens.size());
    ASSERT_EQ(full.size(), want.data.size());
    const double scale = std::max(1.0, test::max_abs(want.data));
    const double err = test::max_abs_diff(full, want.data) / scale;
    EXPECT_LE(err, 1e-4);
    std::printf("logits with an image (%zu tokens): max error %.3g of scale\n", c.tokens.size(), err);
    // Decode after the image: prefill stops inside and right after the image block, the rest
    // comes one token at a time.
    const auto first = std::find(c.tokens.begin(), c.tokens.end(), v.model->config.image_token_index) - c.tokens.begin();
    for (size_t prefill : {size_t(first + 2), size_t(first + v.config.tokens_per_tile() + 1), size_t{1}}) {
        SCOPED_TRACE(cat("prefill ", prefill));
        const std::vector<float> split = logits_with_image(v, c.tokens, rows, prefill);
        EXPECT_LE(test::max_abs_diff(split, full), 1e-5 * scale);
    }
}

TEST(VisionEncoder, BadConfigsAndPixelsAreClearErrors) {
    const VisionFixture v;
    auto cfg = v.model->config.vision_config;
    cfg["pixel_shuffle_ratio"] = 0.25;
    EXPECT_THROW(vision::parse_vision_config(cfg, 64), Error);
    cfg = v.model->config.vision_config;
    cfg["intermediate_size"] = 100;
    try {
        vision::parse_vision_config(cfg, 64);
        ADD_FAILURE() << "intermediate_size 100 was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("intermediate_size"), std::string::npos) << e.what();
    }
    cfg = v.model->config.vision_config;
    cfg.erase("patch_size");
    EXPECT_THROW(vision::parse_vision_config(cfg, 64), Error);
    const std::vector<float> short_pixels(10);
    EXPECT_THROW(vision::encode_tiles_reference(v.config, v.weights, short_pixels, 1), Error);
}

struct ImageCase {
    std::string name, file;
    std::vector<int32_t> tokens;
    std::vector<std::string> images;
    std::vector<std::pair<int, int>> grids;  // (rows, cols) per image
};

std::vector<ImageCase> image_cases(const test::Fixture& fx) {
    const auto j = io::read_json_file(fx.dir / "reference" / "image_cases.json");
    std::vector<ImageCase> out;
    for (const auto& c : j.at("cases")) {
        ImageCase ic{c.at("name"), c.at("file"), c.at("tokens").get<std::vector<int32_t>>(), {}, {}};
        for (const auto& im : c.at("images")) {
            ic.images.push_back(im.at("file"));
            ic.grids.emplace_back(im.at("rows"), im.at("cols"));
        }
        out.push_back(std::move(ic));
    }
    return out;
}

TEST(VisionPipeline, ImageFilesGiveTransformersLogits) {
    const VisionFixture v;
    const vision::VisionTower tower =
        vision::load_vision_tower(*v.model->hf, v.model->config.vision_config, v.model->config.text.hidden_size);
    EXPECT_EQ(tower.processor.tile_size, 28);  // from the fixture's preprocessor_config.json
    EXPECT_EQ(tower.processor.max_tiles, 4);
    const auto cases = image_cases(v.fx);
    ASSERT_EQ(cases.size(), 3u);
    for (const ImageCase& c : cases) {
        SCOPED_TRACE(c.name);
        std::vector<float> rows;
        for (size_t i = 0; i < c.images.size(); ++i) {
            ThreadPool pool(2);
            const vision::EncodedImage e = vision::encode_image(tower, load_image(v.fx.dir / "images" / c.images[i]), pool);
            EXPECT_EQ(e.layout.rows, c.grids[i].first);
            EXPECT_EQ(e.layout.cols, c.grids[i].second);
            rows.insert(rows.end(), e.rows.begin(), e.rows.end());
        }
        const NpyArray want = v.reference(c.file);
        const std::vector<float> full = logits_with_image(v, c.tokens, rows, c.tokens.size());
        ASSERT_EQ(full.size(), want.data.size());
        const double err = test::max_rel_to_scale(full, want.data);
        EXPECT_LE(err, 1e-4);
        std::printf("%s (%zu tokens, %zu images): max logit error %.3g of scale\n", c.name.c_str(), c.tokens.size(),
                    c.images.size(), err);
        const std::vector<float> cached = logits_with_image(v, c.tokens, rows, 5);  // decode through the images
        EXPECT_LE(test::max_rel_to_scale(cached, full), 1e-5);
    }
}

// Token ids as `scout logits --tokens` takes them.
std::string comma_separated(const std::vector<int32_t>& tokens) {
    std::string ids;
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (i > 0) ids += ',';
        ids += std::to_string(tokens[i]);
    }
    return ids;
}

TEST(VisionPipeline, ScoutLogitsTakesImages) {
    const VisionFixture v;
    const ImageCase c = image_cases(v.fx).at(1);  // two images of different grids
    const std::string ids = comma_separated(c.tokens);
    const auto out = test::work_dir() / "vision_logits.npy";
    std::string cmd = test::scout_binary() + " logits -m " + test::shell_quote(v.fx.dir) + " --tokens " + ids +
                      " --prefill 7 --step 3 --kv-type f32 -o " + test::shell_quote(out);
    for (const auto& im : c.images) cmd += " --image " + test::shell_quote(v.fx.dir / "images" / im);
    const auto r = test::run_command(cmd);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("1x3 tiles + global view"), std::string::npos) << r.output;
    EXPECT_LE(test::max_rel_to_scale(read_npy_f32(out).data, v.reference(c.file).data), 1e-4);

    // One image for a block of two: the counts are named.
    const auto bad = test::run_command(test::scout_binary() + " logits -m " + test::shell_quote(v.fx.dir) + " --tokens " +
                                       ids + " -o " + test::shell_quote(out) + " --image " +
                                       test::shell_quote(v.fx.dir / "images" / c.images[0]));
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.output.find("image tokens"), std::string::npos) << bad.output;
    // A text-only checkpoint says so.
    const auto text_only = test::run_command(test::scout_binary() + " logits -m " +
                                             test::shell_quote(test::data_dir() / "models" / "tiny_text_f32") +
                                             " --tokens 1,2 -o " + test::shell_quote(out) + " --image " +
                                             test::shell_quote(v.fx.dir / "images" / c.images[0]));
    EXPECT_NE(text_only.status, 0);
    EXPECT_NE(text_only.output.find("text-only"), std::string::npos) << text_only.output;
}

// llama.cpp's way of holding the vision tower: an mmproj file (the fixture's, written by llama.cpp's
// converter, and the one scout quantize writes beside the model). The logits equal transformers'
// as from the checkpoint alone.
TEST(VisionPipeline, MmprojFilesGiveTransformersLogits) {
    const VisionFixture v;
    const ImageCase c = image_cases(v.fx).at(1);  // two images of different grids
    const std::string ids = comma_separated(c.tokens);
    const auto gguf = test::work_dir() / "tiny_multimodal_f32.gguf";
    const auto q = test::run_command(test::scout_binary() + " quantize -m " + test::shell_quote(v.fx.dir) +
                                     " --type F32 --mmproj-type F32 --force -o " + test::shell_quote(gguf));
    ASSERT_EQ(q.status, 0) << q.output;
    // scout quantize wrote the vision tower beside the model, as llama.cpp's mmproj file.
    const auto own_mmproj = test::work_dir() / "mmproj-tiny_multimodal_f32.gguf";
    EXPECT_NE(q.output.find("mmproj-tiny_multimodal_f32.gguf"), std::string::npos) << q.output;
    const auto out = test::work_dir() / "vision_logits_gguf.npy";
    const std::string mmproj = test::shell_quote(v.fx.dir / "mmproj" / "mmproj-f32.gguf");
    std::string images;
    for (const auto& im : c.images) images += " --image " + test::shell_quote(v.fx.dir / "images" / im);
    // The tower from either file; the text model from the checkpoint, whose config holds the tiny
    // vocabulary's image token (a GGUF model takes Llama 4's <|patch|>, which this vocabulary lacks).
    for (const std::string& file : {mmproj, test::shell_quote(own_mmproj)}) {  // llama.cpp's converter's, scout's
        const auto r = test::run_command(test::scout_binary() + " logits -m " + test::shell_quote(v.fx.dir) + " --tokens " +
                                         ids + " --kv-type f32 -o " + test::shell_quote(out) + images + " --mmproj " + file +
                                         " --max-tiles 4");
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_LE(test::max_rel_to_scale(read_npy_f32(out).data, v.reference(c.file).data), 1e-4) << file;
    }
    // A GGUF model without the mmproj file: the error says what to give.
    const auto missing = test::run_command(test::scout_binary() + " logits -m " + test::shell_quote(gguf) + " --tokens " +
                                           ids + " -o " + test::shell_quote(out) + images);
    EXPECT_NE(missing.status, 0);
    EXPECT_NE(missing.output.find("--mmproj"), std::string::npos) << missing.output;
}

TEST(VisionPipeline, UnsupportedProcessorSettingsAreNamed) {
    const VisionFixture v;
    auto j = io::read_json_file(v.fx.dir / "preprocessor_config.json");
    EXPECT_NO_THROW(vision::parse_processor_options(j, v.config));
    for (auto [key, value] : {std::pair<std::string, nlohmann::json>{"resize_to_max_canvas", true},
                              {"image_mean", {0.48, 0.45, 0.4}},
                              {"size", {{"height", 28}, {"width", 56}}},
                              {"resample", 3}}) {
        auto bad = j;
        bad[key] = value;
        try {
            vision::parse_processor_options(bad, v.config);
            ADD_FAILURE() << key << " was accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    }
    auto other_tile = j;
    other_tile["size"] = {{"height", 336}, {"width", 336}};
    EXPECT_THROW(vision::parse_processor_options(other_tile, v.config), Error);
}

}  // namespace
