// scout's side of bench/grammar/compare_llamacpp_grammar.py: the time of one allowed-token mask
// over the real Llama 4 vocabulary (202,048 ids) under a JSON Schema, step by step along a
// random constrained generation (issue 21).
//   bench_grammar_mask TOKENIZER SCHEMA_JSON STEPS SEED TOKENS_OUT
// At each step: the mask as generation uses it (TokenConstraint, with its cache of recent
// states) and, for the same state, a fresh trie walk without the cache. The next token is drawn
// uniformly from the allowed ones without white space (a random-weight model at its most
// erratic, writing compact JSON), the end token included once the value is complete. The chosen
// regular tokens go to TOKENS_OUT, one id per line, so that llama.cpp's grammar sampler can
// replay exactly the same text: its grammars place optional white space elsewhere than scout's
// (none before a comma, up to two newlines and 20 blanks elsewhere), so only compact JSON is
// certain to be text both admit. Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "grammar/json_schema.hpp"
#include "grammar/token_mask.hpp"
#include "text/tokenizer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

nlohmann::ordered_json summary(std::vector<double> v) {
    if (v.empty()) return nullptr;
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    const auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]; };
    return {{"n", v.size()}, {"mean_ms", sum / static_cast<double>(v.size())}, {"median_ms", at(0.5)}, {"p99_ms", at(0.99)},
            {"max_ms", v.back()}, {"total_ms", sum}};
}

int run(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s TOKENIZER SCHEMA_JSON STEPS SEED TOKENS_OUT\n", argv[0]);
        return 2;
    }
    using namespace scout;
    const text::Tokenizer tok = text::Tokenizer::load(argv[1]);
    std::ifstream sf(argv[2]);
    std::stringstream ss;
    ss << sf.rdbuf();
    const auto schema = nlohmann::ordered_json::parse(ss.str());
    const int steps = std::stoi(argv[3]);
    const auto seed = std::stoull(argv[4]);

    auto t0 = Clock::now();
    auto trie = std::make_shared<const grammar::TokenTrie>(grammar::TokenTrie::from_tokenizer(tok));
    const double trie_ms = ms_since(t0);  // once per tokenizer: the server builds it at start-up
    t0 = Clock::now();
    auto g = grammar::json_schema_to_grammar(schema);
    const double grammar_ms = ms_since(t0);  // once per request

    const auto n_vocab = static_cast<size_t>(tok.n_vocab());
    const std::vector<int32_t> end = tok.stop_tokens();
    grammar::TokenConstraint constraint(g, trie, end);
    grammar::TokenMasker fresh(*trie);
    std::vector<uint64_t> fresh_mask((n_vocab + 63) / 64);
    std::mt19937_64 rng(seed);
    std::vector<double> cached_ms, walk_ms;
    std::vector<int32_t> chosen;
    std::string text;
    double allowed_sum = 0;
    bool ended = false;
    for (int step = 0; step < steps && !ended; ++step) {
        t0 = Clock::now();
        const auto mask = constraint.mask(n_vocab);
        cached_ms.push_back(ms_since(t0));
        t0 = Clock::now();
        fresh.compute(constraint.matcher(), end, fresh_mask);
        walk_ms.push_back(ms_since(t0));
        scout::check(std::equal(mask.begin(), mask.end(), fresh_mask.begin()), "cached mask differs from a fresh walk");
        std::vector<int32_t> allowed, compact;
        for (size_t id = 0; id < n_vocab; ++id) {
            const auto t = static_cast<int32_t>(id);
            if (!grammar::mask_allows(mask, t)) continue;
            allowed.push_back(t);
            if (tok.is_special(t) || tok.token_bytes(t).find_first_of(" \t\n\r") == std::string_view::npos)
                compact.push_back(t);
        }
        scout::check(!allowed.empty(), "no token allowed");
        allowed_sum += static_cast<double>(allowed.size());
        if (!compact.empty()) allowed.swap(compact);
        const int32_t t = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
        if (tok.is_special(t)) {
            ended = true;
            break;
        }
        scout::check(constraint.accept(tok.token_bytes(t)), "allowed token refused");
        chosen.push_back(t);
        text += tok.token_bytes(t);
    }
    std::ofstream out(argv[5]);
    for (int32_t t : chosen) out << t << "\n";
    nlohmann::ordered_json r = {{"engine", "scout"},
                                {"steps", cached_ms.size()},
                                {"tokens", chosen.size()},
                                {"ended", ended},
                                {"mean_allowed", allowed_sum / static_cast<double>(cached_ms.size())},
                                {"trie_build_ms", trie_ms},
                                {"grammar_build_ms", grammar_ms},
                                {"mask", summary(cached_ms)},
                                {"walk_without_cache", summary(walk_ms)},
                                {"full_walks", constraint.walks()},
                                {"partial_walks", constraint.partial_walks()},
                                {"cache_hits", constraint.cache_hits()},
                                {"mask_ms_per_step", cached_ms},
                                {"text", text}};
    std::printf("%s\n", r.dump().c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_grammar_mask: %s\n", e.what());
        return 1;
    }
}
