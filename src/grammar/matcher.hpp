// Byte-level pushdown matcher over a finalized Grammar. The state is a set of stacks (the
// grammar may be ambiguous for a while, e.g. after a prefix shared by two alternatives); each
// stack holds grammar positions, the top being the next element to match, plus the code point
// decoded so far when the top is a class part-way through a multi-byte UTF-8 character. The
// state is a plain value (copyable, no allocation once its buffers are warm); stacks deeper than
// max_depth are dropped (nesting beyond it is refused), and at most max_stacks are kept.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "grammar/grammar.hpp"

namespace scout::grammar {

struct MatcherOptions {
    int max_depth = 128;   // frames per stack
    int max_stacks = 512;  // parallel stacks kept
};

// Stacks stored back to back: [n_frames, partial, frame_0 .. frame_{n-1}] (frame_{n-1} is the top).
// partial: 0, or (bytes still expected << 24) | (the sequence's continuation bytes << 21) | code
// point bits so far.
struct MatchState {
    std::vector<uint32_t> buf;
    bool empty() const { return buf.empty(); }
    bool operator==(const MatchState&) const = default;
};

class Matcher {
public:
    explicit Matcher(std::shared_ptr<const Grammar> grammar, MatcherOptions options = {});

    // Advances by one byte; false (state unchanged) when no stack accepts it.
    bool accept(uint8_t byte);
    // Advances by all bytes, or (false) leaves the state unchanged.
    bool accept(std::string_view bytes);
    // The input so far is a complete sentence of the grammar.
    bool can_end() const;
    // Complete and nothing more can follow.
    bool is_done() const;

    const MatchState& state() const { return state_; }
    const Grammar& grammar() const { return *grammar_; }
    const std::shared_ptr<const Grammar>& grammar_ptr() const { return grammar_; }
    const MatcherOptions& options() const { return options_; }

    // out = in advanced by `byte` (out's buffer is reused). Returns !out.empty().
    bool advance(const MatchState& in, uint8_t byte, MatchState& out) const;

private:
    void expand(std::vector<uint32_t>& frames, MatchState& out, int guard) const;
    void emit(const std::vector<uint32_t>& frames, uint32_t partial, MatchState& out) const;

    std::shared_ptr<const Grammar> grammar_;
    MatcherOptions options_;
    MatchState state_;
    MatchState scratch_;
    mutable std::vector<uint32_t> frames_;
};

}  // namespace scout::grammar
