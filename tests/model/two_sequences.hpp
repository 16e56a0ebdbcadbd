// The decode pattern the KV tests share (test_kv_global, test_kv_offload): two sequences of one
// token list, the second one token ahead, prefilled from half the tokens and then decoded one
// token at a time in one batch, so batched decode crosses pages and chunk edges together.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend/forward.hpp"
#include "fixture.hpp"
#include "kv/kv_memory.hpp"

namespace scout::test {

struct TwoSequenceRun {
    std::vector<float> logits;          // every row the passes returned, in order
    std::unique_ptr<kv::KvMemory> a, b;  // the two sequences' KV at the end
};

inline TwoSequenceRun run_two_sequences(backend::Forward& fwd, const std::vector<int32_t>& tokens) {
    TwoSequenceRun r{{}, fwd.make_kv(), fwd.make_kv()};
    std::vector<float> out;
    const std::size_t half = tokens.size() / 2;
    fwd.forward(*r.a, std::span<const int32_t>(tokens).first(half), true, out);
    r.logits.insert(r.logits.end(), out.begin(), out.end());
    fwd.forward(*r.b, std::span<const int32_t>(tokens).first(half + 1), false, out);
    r.logits.insert(r.logits.end(), out.begin(), out.end());
    // a decodes tokens [half, n), b (one ahead) [half + 1, n), together once both run.
    for (std::size_t t = half; t < tokens.size(); ++t) {
        const std::span<const int32_t> tok = std::span<const int32_t>(tokens).subspan(t, 1);
        const backend::SequenceStep steps[2] = {{r.a.get(), tok, {}, {}, false}, {r.b.get(), tok, {}, {}, false}};
        fwd.forward(backend::Batch(steps, t > half ? 2 : 1), out);
        r.logits.insert(r.logits.end(), out.begin(), out.end());
    }
    return r;
}

// The fixture's longest logits case (the most positions: chunk edges, pages).
inline const LogitsCase& longest_case(const Fixture& fx) {
    const LogitsCase* longest = &fx.logits.front();
    for (const auto& c : fx.logits)
        if (c.tokens.size() > longest->tokens.size()) longest = &c;
    return *longest;
}

}  // namespace scout::test
