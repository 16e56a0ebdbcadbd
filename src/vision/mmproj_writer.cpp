#include "vision/mmproj_writer.hpp"

#include <cstring>
#include <vector>

#include "backend/cpu/ops/weight_matrix.hpp"
#include "base/error.hpp"
#include "io/gguf_writer.hpp"
#include "vision/mmproj_gguf.hpp"
#include "vision/vision_config.hpp"
#include "vision/vision_weights.hpp"

namespace scout::vision {
namespace {

// Every tensor of the tower and projector, by its Hugging Face name, in the converter's order.
std::vector<std::string> hf_tensor_names(const VisionConfig& c) {
    std::vector<std::string> names;
    VisionWeights unbound;  // only the names are wanted: no field is filled
    for_each_vision_tensor(c, unbound, [&](const std::string& name, const std::vector<int64_t>&, std::vector<float>&) {
        names.push_back(name);
    });
    return names;
}

// F16 for the matrices that the converter stores in F16 (2-D weights, the patch embedding
// included); F32 for vectors and the position embedding.
DType stored_type(const std::string& hf_name, const TensorView& t, MmprojType type) {
    if (type == MmprojType::F32 || t.shape.size() < 2 || hf_name.ends_with("positional_embedding_vlm")) return DType::F32;
    return DType::F16;
}

}  // namespace

void write_llama4_mmproj(const io::HfCheckpoint& ck, const nlohmann::json& vision_config, int64_t text_hidden_size,
                         const std::filesystem::path& out, const MmprojWriteOptions& options) {
    if (vision_config.is_null()) throw Error(cat(ck.dir().string(), " has no vision_config: it is a text-only checkpoint"));
    const VisionConfig c = parse_vision_config(vision_config, text_hidden_size);
    const std::vector<std::string> names = hf_tensor_names(c);
    for (const std::string& n : names)
        if (!ck.find(n)) throw Error(cat("mmproj: tensor ", n, " is missing from ", ck.dir().string()));

    io::GgufWriter w(out);
    w.add_string("general.architecture", "clip");
    w.add_string("general.type", "mmproj");
    if (!options.name.empty()) w.add_string("general.name", options.name);
    w.add_u32("general.file_type", options.type == MmprojType::F16 ? 1 : 0);  // llama_ftype: MOSTLY_F16 / ALL_F32
    w.add_bool("clip.has_vision_encoder", true);
    w.add_u32("clip.vision.projection_dim", static_cast<uint32_t>(c.text_hidden_size));
    w.add_u32("clip.vision.image_size", static_cast<uint32_t>(c.image_size));
    w.add_u32("clip.vision.patch_size", static_cast<uint32_t>(c.patch_size));
    w.add_u32("clip.vision.embedding_length", static_cast<uint32_t>(c.hidden_size));
    w.add_u32("clip.vision.feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
    w.add_u32("clip.vision.block_count", static_cast<uint32_t>(c.num_layers));
    w.add_u32("clip.vision.attention.head_count", static_cast<uint32_t>(c.num_heads));
    const float half[3] = {0.5f, 0.5f, 0.5f};  // Llama 4's image_mean and image_std
    w.add_f32_array("clip.vision.image_mean", half);
    w.add_f32_array("clip.vision.image_std", half);
    w.add_string("clip.projector_type", "llama4");
    // The converter writes the config's norm_eps; every Llama 4 has 1e-5, which HF uses regardless.
    w.add_f32("clip.vision.attention.layer_norm_epsilon", static_cast<float>(vision_config.value("norm_eps", 1e-5)));
    w.add_u32("clip.vision.projector.scale_factor", static_cast<uint32_t>(1.0 / c.pixel_shuffle_ratio + 0.5));
    w.add_bool("clip.use_gelu", true);
    w.add_u32("general.quantization_version", 2);

    std::vector<DType> types;
    for (const std::string& n : names) {
        const TensorView& t = *ck.find(n);
        types.push_back(stored_type(n, t, options.type));
        w.add_tensor_info(mmproj_tensor_name(n), types.back(), t.shape);
    }
    std::vector<float> row;
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < names.size(); ++i) {
        const TensorView& t = *ck.find(names[i]);
        const int64_t cols = t.shape.back(), rows = t.numel() / cols;
        const cpu::WeightMatrix m{t.data, t.dtype, rows, cols, cols};
        const size_t elem = types[i] == DType::F16 ? 2 : 4;
        bytes.resize(static_cast<size_t>(t.numel()) * elem);
        row.resize(static_cast<size_t>(cols));
        for (int64_t r = 0; r < rows; ++r) {
            m.row_to_f32(r, 0, cols, row.data());  // exact for F32/BF16/F16 sources
            uint8_t* dst = bytes.data() + static_cast<size_t>(r * cols) * elem;
            if (types[i] == DType::F16) {
                for (int64_t k = 0; k < cols; ++k) {
                    const uint16_t h = f32_to_f16(row[static_cast<size_t>(k)]);
                    std::memcpy(dst + 2 * k, &h, 2);
                }
            } else {
                std::memcpy(dst, row.data(), static_cast<size_t>(cols) * 4);
            }
        }
        w.write_tensor_data(mmproj_tensor_name(names[i]), bytes);
    }
    w.finish();
}

}  // namespace scout::vision
