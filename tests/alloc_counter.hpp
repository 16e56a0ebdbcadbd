// Counts heap allocations for the tests that promise a hot path allocates nothing
// (test_decode_alloc, test_sampler_alloc). Linking alloc_counter.cpp (the scout_alloc_counter
// object library) replaces the global operator new/new[] (plain, nothrow and aligned) for the whole
// program with counting ones, which is why each such test is a binary of its own.
//
// Under ASan or TSan the sanitizer's own operator new must stay in place (it is how they find
// mismatched, double and racy frees), so there nothing is replaced and nothing is counted: the
// tests still run their hot paths (checked by the sanitizer) but not their count checks, and end
// with SCOUT_SKIP_IF_ALLOCATIONS_UNCOUNTED() so the run reports them skipped, with the reason.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SCOUT_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SCOUT_TEST_SANITIZED 1
#endif
#endif
#ifndef SCOUT_TEST_SANITIZED
#define SCOUT_TEST_SANITIZED 0
#endif

namespace scout::test {

// Calls of the global operator new/new[] so far in this program (every thread); always 0 when
// allocations_counted() is false.
long allocation_count();
constexpr bool allocations_counted() { return !SCOUT_TEST_SANITIZED; }

}  // namespace scout::test

// Marks the current test skipped when allocations were not counted (a sanitizer build).
#define SCOUT_SKIP_IF_ALLOCATIONS_UNCOUNTED()                                                     \
    do {                                                                                          \
        if (!::scout::test::allocations_counted())                                                \
            GTEST_SKIP() << "allocation count not checked: a sanitizer build keeps the "           \
                            "sanitizer's operator new (the code ran; the plain build counts)";    \
    } while (0)
