// llama.cpp's side of bench/vision/compare_mtmd.py: times llama.cpp's CLIP encoder (the one
// llama-mtmd-cli runs for each image slice) on an mmproj file. Built by that script against the
// llama.cpp source and build in its work folder; not part of scout's build.
//   llamacpp_clip_encode MMPROJ SIDE THREADS REPS TILES...   (SIDE: the tile side in pixels, 336)
// For each TILES count: REPS timings of encoding that many tiles one after another (as mtmd
// encodes the slices of an image), after one warm-up tile. Prints one JSON object per line.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "clip-impl.h"
#include "clip.h"

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: %s MMPROJ SIDE THREADS REPS TILES...\n", argv[0]);
        return 2;
    }
    const int side = std::atoi(argv[2]), threads = std::atoi(argv[3]), reps = std::atoi(argv[4]);
    clip_context_params params{};
    params.use_gpu = false;
    params.flash_attn_type = CLIP_FLASH_ATTN_TYPE_AUTO;
    params.warmup = false;
    const auto t0 = std::chrono::steady_clock::now();
    clip_init_result r = clip_init(argv[1], params);
    if (!r.ctx_v) {
        std::fprintf(stderr, "clip_init failed for %s\n", argv[1]);
        return 1;
    }
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> px(static_cast<size_t>(side) * side * 3);
    for (float& v : px) v = u(rng);
    clip_image_f32 img;
    img.set_size({side, side}, false, false);
    img.cpy_buf(px);
    // Sized by the caller: clip_encode copies the embeddings out only into a buffer of their size.
    std::vector<float> out(static_cast<size_t>(clip_n_output_tokens(r.ctx_v, &img)) * clip_n_mmproj_embd(r.ctx_v));
    const auto w0 = std::chrono::steady_clock::now();
    if (!clip_image_encode(r.ctx_v, threads, &img, out)) return 1;  // warm-up
    const double first_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    std::printf("{\"engine\": \"llama.cpp\", \"load_s\": %.3f, \"first_tile_s\": %.3f, \"tile\": %d, \"values_per_tile\": %zu}\n",
                load_s, first_s, side, out.size());
    for (int a = 5; a < argc; ++a) {
        const int tiles = std::atoi(argv[a]);
        std::printf("{\"engine\": \"llama.cpp\", \"tiles\": %d, \"seconds\": [", tiles);
        for (int rep = 0; rep < reps; ++rep) {
            const auto s0 = std::chrono::steady_clock::now();
            for (int t = 0; t < tiles; ++t)
                if (!clip_image_encode(r.ctx_v, threads, &img, out)) return 1;
            std::printf("%s%.3f", rep ? ", " : "", std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count());
            std::fflush(stdout);
        }
        std::printf("]}\n");
        std::fflush(stdout);
    }
    clip_free(r.ctx_v);
    return 0;
}
