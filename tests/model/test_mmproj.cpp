// llama.cpp's mmproj GGUF for Llama 4, read by scout: the files in
// tests/data/models/tiny_multimodal_f32/mmproj/ were written by llama.cpp's own converter
// (tools/reference/make_mmproj_fixture.py, convert_hf_to_gguf.py --mmproj --outtype f32 / f16)
// from the tiny multimodal checkpoint, so the tower read from them must equal the one read from
// the checkpoint: the same weights (f32), the same rows for an image, and logits within the f16
// rounding of the weights for the f16 file.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "base/error.hpp"
#include "engine/model.hpp"
#include "fixture.hpp"
#include "image/decode.hpp"
#include "io/gguf.hpp"
#include "test_util.hpp"
#include "vision/mmproj_gguf.hpp"
#include "vision/mmproj_writer.hpp"
#include "vision/vision_tower.hpp"

using namespace scout;

namespace {

struct MmprojFixture {
    test::Fixture fx = test::load_fixture("tiny_multimodal_f32");
    std::unique_ptr<engine::Model> model = engine::load_model(fx.dir);
    vision::VisionTower hf =
        vision::load_vision_tower(*model->hf, model->config.vision_config, model->config.text.hidden_size);
    std::filesystem::path mmproj(const char* type) const { return fx.dir / "mmproj" / cat("mmproj-", type, ".gguf"); }
};

std::vector<float> rows_of(const vision::VisionTower& t, const std::filesystem::path& image) {
    ThreadPool pool(2);
    return vision::encode_image(t, load_image(image), pool).rows;
}

}  // namespace

TEST(Mmproj, NamesFollowLlamaCpp) {
    EXPECT_EQ(vision::mmproj_tensor_name("vision_model.patch_embedding.linear.weight"), "v.patch_embd.weight");
    EXPECT_EQ(vision::mmproj_tensor_name("vision_model.positional_embedding_vlm"), "v.position_embd.weight");
    EXPECT_EQ(vision::mmproj_tensor_name("vision_model.model.layers.12.mlp.fc1.bias"), "v.blk.12.ffn_up.bias");
    EXPECT_EQ(vision::mmproj_tensor_name("vision_model.model.layers.0.self_attn.o_proj.weight"), "v.blk.0.attn_out.weight");
    EXPECT_EQ(vision::mmproj_tensor_name("vision_model.vision_adapter.mlp.fc2.weight"), "mm.model.mlp.2.weight");
    EXPECT_EQ(vision::mmproj_tensor_name("multi_modal_projector.linear_1.weight"), "mm.model.fc.weight");
    EXPECT_THROW(vision::mmproj_tensor_name("language_model.model.embed_tokens.weight"), Error);
}

TEST(Mmproj, F32FileGivesTheCheckpointsTowerExactly) {
    const MmprojFixture m;
    vision::VisionTower t = vision::load_vision_tower_mmproj(m.mmproj("f32"));
    t.processor.max_tiles = m.hf.processor.max_tiles;  // the file has no tile limit; the fixture's is 4
    EXPECT_EQ(t.config.hidden_size, m.hf.config.hidden_size);
    EXPECT_EQ(t.config.num_layers, m.hf.config.num_layers);
    EXPECT_EQ(t.config.projector_output_dim, m.hf.config.projector_output_dim);
    EXPECT_EQ(t.config.text_hidden_size, m.hf.config.text_hidden_size);
    EXPECT_EQ(t.config.layer_norm_eps, m.hf.config.layer_norm_eps);
    EXPECT_EQ(t.processor.tile_size, m.hf.processor.tile_size);
    EXPECT_EQ(t.weights.patch_embed, m.hf.weights.patch_embed);
    EXPECT_EQ(t.weights.positions, m.hf.weights.positions);
    EXPECT_EQ(t.weights.layers.back().fc2_w, m.hf.weights.layers.back().fc2_w);
    EXPECT_EQ(t.weights.adapter_fc2, m.hf.weights.adapter_fc2);
    EXPECT_EQ(t.weights.projector, m.hf.weights.projector);
    const auto image = m.fx.dir / "images" / "wide.png";
    EXPECT_EQ(rows_of(t, image), rows_of(m.hf, image));
}

TEST(Mmproj, F16FileIsWithinItsRounding) {
    const MmprojFixture m;
    vision::VisionTower t = vision::load_vision_tower_mmproj(m.mmproj("f16"));
    EXPECT_EQ(t.processor.max_tiles, 16);  // the file has no tile limit: HF's default
    t.processor.max_tiles = m.hf.processor.max_tiles;  // the fixture's preprocessor_config.json says 4
    const auto image = m.fx.dir / "images" / "tall_rgba.png";
    const std::vector<float> got = rows_of(t, image), want = rows_of(m.hf, image);
    ASSERT_EQ(got.size(), want.size());
    const double err = test::max_rel_to_scale(got, want);
    std::printf("f16 mmproj: projected rows within %.3g of scale of the f32 checkpoint's\n", err);
    EXPECT_LE(err, 1e-2);  // f16 weights: 2^-11 relative per weight
    EXPECT_GT(err, 0.0);   // the file really holds f16 weights
}

TEST(Mmproj, OtherFilesAreRefusedByName) {
    const MmprojFixture m;
    // A text model's GGUF is not an mmproj file.
    const std::filesystem::path dir = test::work_dir() / "mmproj_errors";
    std::filesystem::create_directories(dir);
    const auto text_gguf = dir / "text.gguf";
    {
        std::vector<uint8_t> bytes;
        const auto put = [&](const void* p, size_t n) { bytes.insert(bytes.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n); };
        const uint32_t version = 3;
        const uint64_t n_tensors = 0, n_kv = 1, key_len = 20, type = 8, val_len = 6;
        put("GGUF", 4), put(&version, 4), put(&n_tensors, 8), put(&n_kv, 8);
        put(&key_len, 8), put("general.architecture", 20);
        const uint32_t t32 = static_cast<uint32_t>(type);
        put(&t32, 4), put(&val_len, 8), put("llama4", 6);
        std::ofstream(text_gguf, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                          static_cast<std::streamsize>(bytes.size()));
    }
    try {
        vision::load_vision_tower_mmproj(text_gguf);
        ADD_FAILURE() << "a text GGUF was taken for an mmproj file";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("is not a Llama 4 mmproj file"), std::string::npos) << e.what();
    }
    EXPECT_THROW(vision::load_vision_tower_mmproj(dir / "absent.gguf"), Error);
}

// scout quantize's mmproj writer gives, tensor for tensor and byte for byte, what llama.cpp's own
// converter wrote from the same checkpoint, with one intended difference: post_attention_layernorm
// goes under v.blk.N.ln2 (what llama.cpp's CLIP graph reads as the pre-MLP norm), where the pinned
// converter writes attn_post_norm.
TEST(Mmproj, WriterGivesTheConvertersFile) {
    const MmprojFixture m;
    for (const char* type : {"f16", "f32"}) {
        SCOPED_TRACE(type);
        const auto out = test::work_dir() / cat("mmproj_written_", type, ".gguf");
        vision::write_llama4_mmproj(*m.model->hf, m.model->config.vision_config, m.model->config.text.hidden_size, out,
                                    {std::string(type) == "f16" ? vision::MmprojType::F16 : vision::MmprojType::F32, "tiny"});
        const io::GgufFile ours(out), theirs(m.mmproj(type));
        int keys = 0;
        for (const io::GgufKV& kv : theirs.metadata()) {
            if (kv.key.rfind("clip.", 0) != 0 && kv.key != "general.architecture" && kv.key != "general.type" &&
                kv.key != "general.file_type")
                continue;
            const io::GgufValue* v = ours.find(kv.key);
            ASSERT_NE(v, nullptr) << kv.key;
            EXPECT_EQ(v->type, kv.value.type) << kv.key;
            EXPECT_EQ(v->u, kv.value.u) << kv.key;
            EXPECT_EQ(v->f, kv.value.f) << kv.key;
            EXPECT_EQ(v->s, kv.value.s) << kv.key;
            EXPECT_EQ(v->count, kv.value.count) << kv.key;
            ASSERT_EQ(v->raw_size, kv.value.raw_size) << kv.key;
            if (v->raw_size > 0) {  // arrays
                EXPECT_EQ(0, std::memcmp(v->raw, kv.value.raw, v->raw_size)) << kv.key;
            }
            ++keys;
        }
        EXPECT_EQ(keys, 17);  // 14 clip.* keys and 3 general.* ones
        ASSERT_EQ(ours.tensors().size(), theirs.tensors().size());
        for (const io::GgufTensorInfo& t : theirs.tensors()) {
            std::string name = t.name;
            if (const size_t at = name.find(".attn_post_norm."); at != std::string::npos) name.replace(at, 16, ".ln2.");
            const io::GgufTensorInfo* o = ours.find_tensor(name);
            ASSERT_NE(o, nullptr) << name;
            EXPECT_EQ(o->type_name, t.type_name) << name;
            EXPECT_EQ(o->ne, t.ne) << name;
            ASSERT_EQ(o->nbytes, t.nbytes) << name;
            EXPECT_EQ(0, std::memcmp(ours.tensor_data(*o), theirs.tensor_data(t), t.nbytes)) << name;
        }
    }
}
