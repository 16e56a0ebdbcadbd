// llama.cpp's side of bench/grammar/compare_llamacpp_grammar.py: the time of llama.cpp's grammar
// sampler on the same schema and the same token sequence as bench_grammar_mask. Built by that
// script against the llama.cpp source and build in its work folder; not part of scout's build.
//   llamacpp_grammar_mask MODEL_GGUF SCHEMA_JSON TOKENS [GBNF_OUT]
// The schema goes through llama.cpp's own json_schema_to_grammar (what llama-server does with a
// response_format) to GBNF; the vocabulary is loaded from the GGUF (vocab_only). At each step
// the grammar sampler is applied to all n_vocab candidates (what a full mask costs: llama.cpp's
// common sampler applies it this way whenever the unconstrained pick is refused, and to every
// candidate with grammar_first), then the step's token is accepted. Also timed: the sampler on
// the step's token alone, llama.cpp's fast path when the unconstrained pick is in the grammar.
// Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "json-schema-to-grammar.h"
#include "json.h"
#include "llama.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string stats(std::vector<double> v) {
    if (v.empty()) return "null";
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    const auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]; };
    char buf[256];
    std::snprintf(buf, sizeof buf, "{\"n\": %zu, \"mean_ms\": %.4f, \"median_ms\": %.4f, \"p99_ms\": %.4f, \"max_ms\": %.4f, \"total_ms\": %.3f}",
                  v.size(), sum / static_cast<double>(v.size()), at(0.5), at(0.99), v.back(), sum);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: %s MODEL_GGUF SCHEMA_JSON TOKENS [GBNF_OUT]\n", argv[0]);
        return 2;
    }
    llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    llama_model* model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        std::fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab* vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    std::ifstream sf(argv[2]);
    std::stringstream ss;
    ss << sf.rdbuf();
    auto t0 = Clock::now();
    const std::string gbnf = json_schema_to_grammar(common_json::parse(ss.str()));
    const double convert_ms = ms_since(t0);
    if (argc == 5) std::ofstream(argv[4]) << gbnf;
    t0 = Clock::now();
    llama_sampler* grammar = llama_sampler_init_grammar(vocab, gbnf.c_str(), "root");
    const double init_ms = ms_since(t0);
    if (!grammar) {
        std::fprintf(stderr, "llama.cpp refused the grammar:\n%s\n", gbnf.c_str());
        return 1;
    }
    std::vector<int32_t> tokens;
    std::ifstream tf(argv[3]);
    for (int32_t t; tf >> t;) tokens.push_back(t);

    std::vector<llama_token_data> cand(static_cast<size_t>(n_vocab));
    std::vector<double> apply_ms, one_ms;
    double allowed_sum = 0;
    int refused_at = -1;
    // One step per chosen token, plus the last step (where only the end of the value is allowed).
    for (size_t step = 0; step <= tokens.size(); ++step) {
        for (int i = 0; i < n_vocab; ++i) cand[static_cast<size_t>(i)] = {i, 0.0f, 0.0f};
        llama_token_data_array arr{cand.data(), cand.size(), -1, false};
        t0 = Clock::now();
        llama_sampler_apply(grammar, &arr);
        apply_ms.push_back(ms_since(t0));
        size_t allowed = 0;
        for (size_t i = 0; i < arr.size; ++i) allowed += std::isfinite(arr.data[i].logit) ? 1 : 0;
        allowed_sum += static_cast<double>(allowed);
        if (step == tokens.size()) break;
        const int32_t t = tokens[step];
        if (!std::isfinite(cand[static_cast<size_t>(t)].logit)) {
            refused_at = static_cast<int>(step);  // llama.cpp's grammar does not admit this text
            break;
        }
        llama_token_data one{t, 0.0f, 0.0f};
        llama_token_data_array single{&one, 1, -1, false};
        t0 = Clock::now();
        llama_sampler_apply(grammar, &single);
        one_ms.push_back(ms_since(t0));
        llama_sampler_accept(grammar, t);
    }
    std::printf("{\"engine\": \"llama.cpp\", \"steps\": %zu, \"tokens\": %zu, \"refused_at\": %d, \"mean_allowed\": %.1f, "
                "\"grammar_convert_ms\": %.3f, \"grammar_init_ms\": %.3f, \"mask\": %s, \"chosen_token_only\": %s, "
                "\"gbnf_bytes\": %zu}\n",
                apply_ms.size(), tokens.size(), refused_at, allowed_sum / static_cast<double>(apply_ms.size()), convert_ms,
                init_ms, stats(apply_ms).c_str(), stats(one_ms).c_str(), gbnf.size());
    llama_sampler_free(grammar);
    llama_model_free(model);
    return 0;
}
