// scout's side of bench/vision/compare_mtmd.py: times the vision encoder (vision/encoder_cpu.hpp,
// tower + pixel shuffle + adapter + projector) on an mmproj file.
//   bench_vision_encoder MMPROJ THREADS REPS TILES...
// For each TILES count: REPS timings of encoding that many tiles one after another, after one
// warm-up tile, printed as one JSON object per line (the same shape as llamacpp_clip_encode).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "base/error.hpp"
#include "vision/encoder_cpu.hpp"
#include "vision/mmproj_gguf.hpp"

using namespace scout;

int main(int argc, char** argv) try {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s MMPROJ THREADS REPS TILES...\n", argv[0]);
        return 2;
    }
    const int threads = std::atoi(argv[2]), reps = std::atoi(argv[3]);
    const auto t0 = std::chrono::steady_clock::now();
    const vision::VisionTower tower = vision::load_vision_tower_mmproj(argv[1]);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const vision::VisionConfig& c = tower.config;
    ThreadPool pool(threads);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> tile(static_cast<size_t>(c.num_channels * c.image_size * c.image_size));
    for (float& v : tile) v = u(rng);
    auto encode = [&] { return vision::project_features(c, tower.weights, vision::encode_tiles(c, tower.weights, tile, 1, pool), pool); };
    const auto w0 = std::chrono::steady_clock::now();
    const std::vector<float> out = encode();  // warm-up
    const double first_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    std::printf("{\"engine\": \"scout\", \"load_s\": %.3f, \"first_tile_s\": %.3f, \"tile\": %lld, \"values_per_tile\": %zu}\n",
                load_s, first_s, static_cast<long long>(c.image_size), out.size());
    for (int a = 4; a < argc; ++a) {
        const int tiles = std::atoi(argv[a]);
        std::printf("{\"engine\": \"scout\", \"tiles\": %d, \"seconds\": [", tiles);
        for (int rep = 0; rep < reps; ++rep) {
            const auto s0 = std::chrono::steady_clock::now();
            for (int t = 0; t < tiles; ++t) encode();
            std::printf("%s%.3f", rep ? ", " : "", std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count());
            std::fflush(stdout);
        }
        std::printf("]}\n");
        std::fflush(stdout);
    }
    return 0;
} catch (const scout::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
}
