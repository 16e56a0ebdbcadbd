// Grammar IR: building, normalising classes, flattening, the productivity check.
#include "grammar/grammar.hpp"

#include <algorithm>
#include <cstdio>

#include "base/error.hpp"

namespace scout::grammar {

namespace {

constexpr uint32_t kMaxCodepoint = 0x10FFFF;

// Sorted, merged, without surrogates (D800..DFFF are not characters and have no UTF-8 form).
std::vector<CodepointRange> normalise(std::vector<CodepointRange> r) {
    std::vector<CodepointRange> split;
    for (auto x : r) {
        if (x.lo > x.hi || x.lo > kMaxCodepoint) continue;
        x.hi = std::min(x.hi, kMaxCodepoint);
        if (x.hi < 0xD800 || x.lo > 0xDFFF) {
            split.push_back(x);
            continue;
        }
        if (x.lo < 0xD800) split.push_back({x.lo, 0xD7FF});
        if (x.hi > 0xDFFF) split.push_back({0xE000, x.hi});
    }
    std::sort(split.begin(), split.end(), [](auto a, auto b) { return a.lo < b.lo; });
    std::vector<CodepointRange> out;
    for (auto x : split) {
        if (!out.empty() && x.lo <= out.back().hi + 1) out.back().hi = std::max(out.back().hi, x.hi);
        else out.push_back(x);
    }
    return out;
}

std::vector<CodepointRange> complement(const std::vector<CodepointRange>& r) {
    std::vector<CodepointRange> out;
    uint32_t next = 0;
    for (auto x : r) {
        if (x.lo > next) out.push_back({next, x.lo - 1});
        next = x.hi + 1;
    }
    if (next <= kMaxCodepoint) out.push_back({next, kMaxCodepoint});
    return normalise(out);
}

}  // namespace

uint32_t Grammar::add_rule(std::string name) {
    rules_.push_back({std::move(name), {}});
    return static_cast<uint32_t>(rules_.size() - 1);
}

void Grammar::add_alternative(uint32_t rule, Sequence seq) {
    check(rule < rules_.size(), "grammar: alternative for an undefined rule");
    rules_[rule].alts.push_back(std::move(seq));
}

uint32_t Grammar::add_class(std::vector<CodepointRange> ranges, bool negate, std::vector<CodepointRange> exclude) {
    auto n = normalise(std::move(ranges));
    if (negate) n = complement(n);
    if (!exclude.empty()) {
        // n minus exclude = n intersected with the complement of exclude.
        const auto keep = complement(normalise(std::move(exclude)));
        std::vector<CodepointRange> out;
        size_t i = 0, j = 0;
        while (i < n.size() && j < keep.size()) {
            const uint32_t lo = std::max(n[i].lo, keep[j].lo), hi = std::min(n[i].hi, keep[j].hi);
            if (lo <= hi) out.push_back({lo, hi});
            if (n[i].hi < keep[j].hi) ++i;
            else ++j;
        }
        n = std::move(out);
    }
    classes_.push_back(std::move(n));
    return static_cast<uint32_t>(classes_.size() - 1);
}

Sequence Grammar::literal(std::string_view bytes) {
    Sequence s;
    for (unsigned char c : bytes) s.push_back(byte(c));
    return s;
}

uint32_t Grammar::choice(std::vector<Sequence> alts, const std::string& name) {
    const uint32_t r = add_rule(name);
    for (auto& a : alts) add_alternative(r, std::move(a));
    return r;
}

uint32_t Grammar::repeat(const Sequence& item, int min, int max, const std::string& name) {
    check(min >= 0 && (max < 0 || max >= min), cat("grammar: bad repetition {", min, ",", max, "} in ", name));
    // The optional tail: item{0, max - min} as nested optionals, or item* as a right recursion.
    uint32_t tail = 0;
    bool has_tail = false;
    if (max < 0) {
        tail = add_rule(name + "-star");
        Sequence s = item;
        s.push_back(ref(tail));
        add_alternative(tail, std::move(s));
        add_alternative(tail, {});
        has_tail = true;
    } else {
        std::vector<uint32_t> chain;
        for (int k = 0; k < max - min; ++k) {  // the rule allowing k + 1 more items
            const uint32_t r = add_rule(cat(name, "-opt", k));
            Sequence s = item;
            if (has_tail) s.push_back(ref(tail));
            add_alternative(r, std::move(s));
            add_alternative(r, {});
            tail = r;
            has_tail = true;
            if (k >= 1) chain.push_back(r);
        }
        if (chain.size() >= 2) chains_.push_back(std::move(chain));
    }
    // The required part: a chain too (rule j needs j more items), the last rule being `name`.
    std::vector<uint32_t> chain;
    for (int j = 1; j <= min; ++j) {
        const uint32_t r = add_rule(j == min ? name : cat(name, "-req", j));
        Sequence s = item;
        if (has_tail) s.push_back(ref(tail));
        add_alternative(r, std::move(s));
        tail = r;
        has_tail = true;
        if (j >= 2) chain.push_back(r);
    }
    if (chain.size() >= 2) chains_.push_back(std::move(chain));
    if (min > 0) return tail;
    const uint32_t r = add_rule(name);
    add_alternative(r, has_tail ? Sequence{ref(tail)} : Sequence{});
    return r;
}

void Grammar::finalize() {
    check(!rules_.empty(), "grammar: no rules");
    for (const auto& r : rules_)
        for (const auto& a : r.alts)
            for (const auto& e : a) {
                if (e.kind == ElemKind::ref) check(e.id < rules_.size(), "grammar: reference to an undefined rule");
                if (e.kind == ElemKind::cls) check(e.id < classes_.size(), "grammar: undefined class");
            }
    // Productivity: a rule is productive when one of its alternatives has only productive parts.
    std::vector<char> productive(rules_.size(), 0);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < rules_.size(); ++i) {
            if (productive[i]) continue;
            for (const auto& a : rules_[i].alts) {
                bool ok = true;
                for (const auto& e : a) {
                    if (e.kind == ElemKind::ref && !productive[e.id]) ok = false;
                    if (e.kind == ElemKind::cls && classes_[e.id].empty()) ok = false;
                    if (e.kind == ElemKind::bytes && e.lo > e.hi) ok = false;
                }
                if (ok) {
                    productive[i] = 1;
                    changed = true;
                    break;
                }
            }
        }
    }
    check(productive[root_], cat("the schema admits no value (rule '", rules_[root_].name, "' matches nothing)"));
    flat_.clear();
    alt_starts_.clear();
    rule_first_.assign(1, 0);
    std::vector<uint32_t> rule_flat(rules_.size() + 1, 0);  // [rule] its alternatives' first position
    for (size_t ri = 0; ri < rules_.size(); ++ri) {
        const Rule& r = rules_[ri];
        rule_flat[ri] = static_cast<uint32_t>(flat_.size());
        for (const auto& a : r.alts) {
            // Unproductive alternatives are dropped: the matcher never enters a dead end.
            bool ok = true;
            for (const auto& e : a) {
                if (e.kind == ElemKind::ref && !productive[e.id]) ok = false;
                if (e.kind == ElemKind::cls && classes_[e.id].empty()) ok = false;
            }
            if (!ok) continue;
            alt_starts_.push_back(static_cast<uint32_t>(flat_.size()));
            flat_.insert(flat_.end(), a.begin(), a.end());
            flat_.push_back(Element{});
        }
        rule_first_.push_back(static_cast<uint32_t>(alt_starts_.size()));
    }
    rule_flat[rules_.size()] = static_cast<uint32_t>(flat_.size());
    chain_pos_.assign(flat_.size(), ChainPosition{});
    for (const auto& chain : chains_) {
        const uint32_t first = rule_flat[chain[0]];
        const uint32_t size = rule_flat[chain[0] + 1] - first;
        for (size_t i = 0; i < chain.size(); ++i) {
            const uint32_t start = rule_flat[chain[i]];
            check(rule_flat[chain[i] + 1] - start == size, "grammar: a repetition's rules differ in shape");
            for (uint32_t o = 0; o < size; ++o) chain_pos_[start + o] = {first + o, static_cast<uint32_t>(i + 2)};
        }
    }
}

std::span<const uint32_t> Grammar::alternatives(uint32_t rule) const {
    return std::span<const uint32_t>(alt_starts_).subspan(rule_first_[rule], rule_first_[rule + 1] - rule_first_[rule]);
}

bool Grammar::class_intersects(uint32_t id, uint32_t lo, uint32_t hi) const {
    const auto& r = classes_[id];
    // First range whose hi >= lo.
    auto it = std::lower_bound(r.begin(), r.end(), lo, [](const CodepointRange& x, uint32_t v) { return x.hi < v; });
    return it != r.end() && it->lo <= hi;
}

std::string Grammar::to_string() const {
    std::string out;
    char buf[32];
    for (size_t i = 0; i < rules_.size(); ++i) {
        out += rules_[i].name + " ::=";
        for (size_t a = 0; a < rules_[i].alts.size(); ++a) {
            if (a) out += " |";
            for (const auto& e : rules_[i].alts[a]) {
                if (e.kind == ElemKind::bytes) {
                    if (e.lo == e.hi) std::snprintf(buf, sizeof buf, " x%02X", e.lo);
                    else std::snprintf(buf, sizeof buf, " [x%02X-x%02X]", e.lo, e.hi);
                    out += buf;
                } else if (e.kind == ElemKind::cls) {
                    out += " class" + std::to_string(e.id);
                } else if (e.kind == ElemKind::ref) {
                    out += " " + rules_[e.id].name;
                }
            }
            if (rules_[i].alts[a].empty()) out += " ()";
        }
        out += "\n";
    }
    return out;
}

}  // namespace scout::grammar
