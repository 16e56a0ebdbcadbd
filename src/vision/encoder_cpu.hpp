// The Llama 4 vision encoder, adapter and projector on the CPU backend's kernels: the same steps
// as encoder_reference.hpp (its slow twin, which tests compare it with), with the products on
// matmul_nt (SIMD, split over the pool's threads) and attention, norms, RoPE and GELU split over
// the threads too.
//
// Weights are float32 (vision_weights.hpp widens BF16/F16 once at load): the tower is compute
// bound (577 tokens per weight read), and the float32 product kernel runs ~1.4x faster than one
// that widens F16 in its inner loop, for 3.5 GB instead of 1.7 GB at Scout's size.
//
// Each output value is computed by one thread in a fixed order, so results do not depend on the
// thread count (tested bit for bit).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.hpp"
#include "vision/vision_config.hpp"
#include "vision/vision_weights.hpp"

namespace scout::vision {

// pixels [tiles, C, S, S] -> adapter output [tiles * tokens_per_tile, P], tile by tile.
std::vector<float> encode_tiles(const VisionConfig& config, const VisionWeights& weights, std::span<const float> pixels,
                                int64_t tiles, ThreadPool& pool);

// features [rows, P] -> [rows, text hidden] (multi_modal_projector.linear_1).
std::vector<float> project_features(const VisionConfig& config, const VisionWeights& weights,
                                    std::span<const float> features, ThreadPool& pool);

}  // namespace scout::vision
