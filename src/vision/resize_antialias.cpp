#include "vision/resize_antialias.hpp"

#include <algorithm>
#include <cmath>

#include "base/error.hpp"

namespace scout::vision {
namespace {

double triangle(double x) {
    x = std::abs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

uint8_t clip_u8(int32_t v) { return static_cast<uint8_t>(std::clamp(v, 0, 255)); }

}  // namespace

ResampleTaps bilinear_antialias_taps(int in_size, int out_size) {
    check(in_size > 0 && out_size > 0, cat("resize from ", in_size, " to ", out_size, " samples"));
    // PyTorch: scale = in/out; the filter (support 1) is stretched by the scale when shrinking.
    const double scale = static_cast<double>(in_size) / out_size;
    const double support = scale >= 1.0 ? scale : 1.0;
    const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    const int max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;

    ResampleTaps t;
    t.taps_per_output = max_taps;
    t.first.resize(out_size);
    t.count.resize(out_size);
    std::vector<double> w(size_t(out_size) * max_taps, 0.0);
    double w_max = 0.0;
    for (int i = 0; i < out_size; ++i) {
        const double center = scale * (i + 0.5);
        // Truncation toward zero, as the reference's static_cast<int64_t>.
        const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
        const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size);
        const int64_t n = std::clamp<int64_t>(hi - lo, 0, max_taps);
        double* wi = w.data() + size_t(i) * max_taps;
        double total = 0.0;
        for (int64_t j = 0; j < n; ++j) {
            wi[j] = triangle((static_cast<double>(j + lo) - center + 0.5) * invscale);
            total += wi[j];
        }
        if (total != 0.0) {
            for (int64_t j = 0; j < n; ++j) {
                wi[j] /= total;
                w_max = std::max(w_max, wi[j]);
            }
        }
        t.first[i] = static_cast<int>(lo);
        t.count[i] = static_cast<int>(n);
    }
    // The largest precision whose rounded largest weight, doubled, still fits int16.
    int p = 0;
    for (; p < 22; ++p) {
        const int next = static_cast<int>(0.5 + w_max * (1 << (p + 1)));
        if (next >= (1 << 15)) break;
    }
    t.precision = p;
    t.weights.resize(w.size());
    for (size_t k = 0; k < w.size(); ++k) {
        const double v = w[k] * (1 << p);
        t.weights[k] = static_cast<int16_t>(v < 0 ? static_cast<int>(-0.5 + v) : static_cast<int>(0.5 + v));
    }
    return t;
}

RgbImage resize_bilinear_antialias(const RgbImage& image, int new_width, int new_height) {
    check(image.width > 0 && image.height > 0 && image.rgb.size() == size_t(image.width) * image.height * 3,
          cat("resize: bad image of ", image.width, "x", image.height));
    check(new_width > 0 && new_height > 0, cat("resize: bad target size ", new_width, "x", new_height));
    RgbImage cur = image;
    cur.alpha.clear();
    if (new_width != cur.width) {  // horizontal pass: [h, w, 3] -> [h, new_w, 3]
        const ResampleTaps t = bilinear_antialias_taps(cur.width, new_width);
        const int32_t round = 1 << (t.precision - 1);
        RgbImage out{new_width, cur.height, std::vector<uint8_t>(size_t(new_width) * cur.height * 3), {}};
        for (int y = 0; y < cur.height; ++y) {
            const uint8_t* row = cur.rgb.data() + size_t(y) * cur.width * 3;
            uint8_t* orow = out.rgb.data() + size_t(y) * new_width * 3;
            for (int x = 0; x < new_width; ++x) {
                const int16_t* w = t.weights.data() + size_t(x) * t.taps_per_output;
                const uint8_t* src = row + size_t(t.first[x]) * 3;
                for (int c = 0; c < 3; ++c) {
                    int32_t acc = round;
                    for (int k = 0; k < t.count[x]; ++k) acc += int32_t(src[3 * k + c]) * w[k];
                    orow[3 * x + c] = clip_u8(acc >> t.precision);
                }
            }
        }
        cur = std::move(out);
    }
    if (new_height != cur.height) {  // vertical pass: [h, w, 3] -> [new_h, w, 3]
        const ResampleTaps t = bilinear_antialias_taps(cur.height, new_height);
        const int32_t round = 1 << (t.precision - 1);
        const size_t row_len = size_t(cur.width) * 3;
        RgbImage out{cur.width, new_height, std::vector<uint8_t>(row_len * new_height), {}};
        std::vector<int32_t> acc(row_len);
        for (int y = 0; y < new_height; ++y) {
            std::fill(acc.begin(), acc.end(), round);
            const int16_t* w = t.weights.data() + size_t(y) * t.taps_per_output;
            for (int k = 0; k < t.count[y]; ++k) {
                const uint8_t* src = cur.rgb.data() + size_t(t.first[y] + k) * row_len;
                for (size_t i = 0; i < row_len; ++i) acc[i] += int32_t(src[i]) * w[k];
            }
            uint8_t* orow = out.rgb.data() + size_t(y) * row_len;
            for (size_t i = 0; i < row_len; ++i) orow[i] = clip_u8(acc[i] >> t.precision);
        }
        cur = std::move(out);
    }
    return cur;
}

}  // namespace scout::vision
