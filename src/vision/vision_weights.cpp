#include "vision/vision_weights.hpp"

#include <utility>

#include "backend/cpu/ops/weight_matrix.hpp"
#include "base/error.hpp"

namespace scout::vision {
namespace {

std::vector<float> tensor_f32(const VisionTensorLookup& find, const std::string& source, const std::string& name,
                              std::vector<int64_t> shape) {
    const std::optional<TensorView> t = find(name);
    if (!t) throw Error(cat("vision weights: tensor ", name, " is missing from ", source));
    if (t->shape != shape)
        throw Error(cat("vision weights: ", name, " has shape ", shape_str(t->shape), ", the config needs ", shape_str(shape)));
    if (!(t->dtype == DType::F32 || t->dtype == DType::BF16 || t->dtype == DType::F16 || dtype_is_quantized(t->dtype)))
        throw Error(cat("vision weights: ", name, " is ", dtype_name(t->dtype), ", which scout cannot read"));
    // Rows of the innermost dimension, widened by the CPU kernels' own reader (block formats
    // come in whole rows, so their blocks stay aligned).
    const int64_t cols = shape.back(), rows = t->numel() / cols;
    if (dtype_is_quantized(t->dtype) && cols % dtype_block_elems(t->dtype) != 0)
        throw Error(cat("vision weights: ", name, " rows of ", cols, " are not whole ", dtype_name(t->dtype), " blocks"));
    const cpu::WeightMatrix m{t->data, t->dtype, rows, cols, cols};
    std::vector<float> out(static_cast<size_t>(t->numel()));
    for (int64_t r = 0; r < rows; ++r) m.row_to_f32(r, 0, cols, out.data() + r * cols);
    return out;
}

}  // namespace

VisionWeights load_vision_weights(const io::HfCheckpoint& ck, const VisionConfig& c) {
    return load_vision_weights(
        [&](const std::string& name) -> std::optional<TensorView> {
            const TensorView* t = ck.find(name);
            return t ? std::optional<TensorView>(*t) : std::nullopt;
        },
        ck.dir().string(), c);
}

VisionWeights load_vision_weights(const VisionTensorLookup& find, const std::string& source, const VisionConfig& c) {
    VisionWeights w;
    for_each_vision_tensor(c, w, [&](const std::string& name, std::vector<int64_t> shape, std::vector<float>& field) {
        field = tensor_f32(find, source, name, std::move(shape));
    });
    return w;
}

}  // namespace scout::vision
