// A small context-free grammar over bytes and Unicode code points: the IR that JSON Schemas
// (json_schema.hpp) and regexes (regex.hpp) compile to, and that the pushdown matcher
// (matcher.hpp) runs. Rules are lists of alternatives; an alternative is a sequence of
// elements: a byte range, a code-point class (matched as UTF-8, only valid UTF-8 accepted), or a
// reference to a rule. Repetition is expressed with helper rules (repeat()); right recursion in
// tail position costs no stack (the matcher drops the finished frame), left recursion is not
// allowed. docs/structured-output.md describes the layer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace scout::grammar {

// Where a flat position sits in a counted repetition's chain of rules: rule k of the chain is
// "item then rule k-1" with k items still allowed (or, in the required part, still needed), so the
// same offset in every rule of the chain is the same grammar position but for the count. `index`
// is that count (0: not in a chain; chains start at 2, where the rules' shapes become equal);
// `canonical` is the position at the same offset in the chain's first rule. Two matcher states
// equal once every position is replaced by its canonical one accept the same byte strings of up
// to min(count) - 1 bytes (each item takes at least one byte, so neither count is reached).
struct ChainPosition {
    uint32_t canonical = 0;
    uint32_t index = 0;
};

struct CodepointRange {
    uint32_t lo, hi;  // inclusive
};

enum class ElemKind : uint8_t { end, bytes, cls, ref };

struct Element {
    ElemKind kind = ElemKind::end;
    uint8_t lo = 0, hi = 0;  // bytes: the inclusive byte range
    uint32_t id = 0;         // cls: class index; ref: rule index
};

using Sequence = std::vector<Element>;

class Grammar {
public:
    // Building.
    uint32_t add_rule(std::string name);
    void add_alternative(uint32_t rule, Sequence seq);
    // A class of code points (normalised: sorted, merged, surrogates removed; `negate` takes the
    // complement within U+0000..U+10FFFF), minus the code points in `exclude`.
    uint32_t add_class(std::vector<CodepointRange> ranges, bool negate, std::vector<CodepointRange> exclude = {});
    // A new rule matching item{min, max}; max < 0 means unbounded. Requires 0 <= min, max < 0 or
    // min <= max. Bounded counts become chains of rules alike but for their count (see
    // ChainPosition), so that masks can be shared between states that differ only in a count.
    uint32_t repeat(const Sequence& item, int min, int max, const std::string& name);
    // A new rule with the given alternatives.
    uint32_t choice(std::vector<Sequence> alts, const std::string& name);
    void set_root(uint32_t rule) { root_ = rule; }

    static Element byte(uint8_t b) { return {ElemKind::bytes, b, b, 0}; }
    static Element byte_range(uint8_t lo, uint8_t hi) { return {ElemKind::bytes, lo, hi, 0}; }
    static Element ref(uint32_t rule) { return {ElemKind::ref, 0, 0, rule}; }
    static Element cls(uint32_t id) { return {ElemKind::cls, 0, 0, id}; }
    static Sequence literal(std::string_view bytes);

    // Flattens the rules for the matcher and checks that the root admits at least one finite
    // string and that every reference is defined; throws scout::Error otherwise (the message
    // names the first rule that admits nothing when it is the root).
    void finalize();

    // Reading (after finalize()).
    uint32_t root() const { return root_; }
    size_t n_rules() const { return rules_.size(); }
    const std::vector<Element>& flat() const { return flat_; }            // alternatives, each ending with `end`
    std::span<const uint32_t> alternatives(uint32_t rule) const;         // start positions in flat()
    const std::vector<CodepointRange>& class_ranges(uint32_t id) const { return classes_[id]; }
    // True when some code point in [lo, hi] is in the class.
    bool class_intersects(uint32_t id, uint32_t lo, uint32_t hi) const;
    ChainPosition chain_position(uint32_t p) const { return chain_pos_[p]; }
    // GBNF-like text, for tests and debugging.
    std::string to_string() const;

private:
    struct Rule {
        std::string name;
        std::vector<Sequence> alts;
    };
    std::vector<Rule> rules_;
    std::vector<std::vector<CodepointRange>> classes_;
    uint32_t root_ = 0;
    std::vector<Element> flat_;
    std::vector<uint32_t> alt_starts_;  // all rules' alternative starts, rule by rule
    std::vector<uint32_t> rule_first_;  // [n_rules + 1] index into alt_starts_
    // Counted repetitions: chains_[c][i] is the rule with count i + 2 of chain c.
    std::vector<std::vector<uint32_t>> chains_;
    std::vector<ChainPosition> chain_pos_;  // [flat_.size()]
};

}  // namespace scout::grammar
