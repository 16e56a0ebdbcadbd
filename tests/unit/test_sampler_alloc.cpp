// Sampler's promise that a steady-state call does not allocate: after the first call has sized
// its scratch buffers, sample() must not reach operator new. Own binary, because counting needs
// the global operator new replaced for the whole program (alloc_counter.cpp).
#include <gtest/gtest.h>

#include <vector>

#include "alloc_counter.hpp"
#include "sample/rng.hpp"
#include "sample/sampler.hpp"

namespace scout {
namespace {

TEST(SamplerAlloc, SteadyStateSampleDoesNotAllocate) {
    const size_t n_vocab = 202048;
    std::vector<float> logits(n_vocab);
    Rng rng(5);
    for (float& x : logits) x = static_cast<float>(rng.next_unit() * 20.0 - 10.0);
    std::vector<int32_t> history;
    history.reserve(200);
    for (int i = 0; i < 100; ++i) history.push_back(static_cast<int32_t>(rng.next_u64() % n_vocab));

    SamplingParams full;  // every step on
    full.temperature = 0.7f;
    full.top_k = 100;
    full.top_p = 0.9f;
    full.min_p = 0.02f;
    full.repetition_penalty = 1.1f;
    full.frequency_penalty = 0.1f;
    full.presence_penalty = 0.1f;
    SamplingParams plain;  // no filters: candidate list spans the whole vocabulary
    SamplingParams greedy;
    greedy.temperature = 0.0f;
    greedy.repetition_penalty = 1.2f;
    for (const SamplingParams& params : {full, plain, greedy}) {
        Sampler sampler(params);
        sampler.sample(logits, history);  // sizes the scratch
        const long before = test::allocation_count();
        for (int i = 0; i < 20; ++i) {
            history.push_back(sampler.sample(logits, history));
            history.erase(history.begin());  // keep the length (and capacity) fixed
        }
        EXPECT_EQ(test::allocation_count() - before, 0) << "temperature " << params.temperature;
    }
    SCOUT_SKIP_IF_ALLOCATIONS_UNCOUNTED();
}

}  // namespace
}  // namespace scout
