// Regex subset -> grammar rules: see regex.hpp.
#include "grammar/regex.hpp"

#include <cstdio>
#include <optional>

#include "base/error.hpp"
#include "text/utf8.hpp"

namespace scout::grammar {

namespace {

// What a class inside a JSON string may produce without an escape.
const std::vector<CodepointRange> kJsonUnsafe = {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}};

class RegexCompiler {
public:
    RegexCompiler(Grammar& g, std::string_view p, std::string name) : g_(g), p_(p), name_(std::move(name)) {}

    Sequence compile() {
        bool anchored_start = false, anchored_end = false;
        if (!p_.empty() && p_.front() == '^') {
            anchored_start = true;
            pos_ = 1;
        }
        if (p_.size() > pos_ && p_.back() == '$' && !escaped_at(p_.size() - 1)) {
            anchored_end = true;
            p_.remove_suffix(1);
        }
        Sequence body = alternation();
        if (pos_ != p_.size()) fail(cat("unexpected '", p_[pos_], "'"));
        Sequence out;
        if (!anchored_start) out.push_back(Grammar::ref(any_star()));
        out.insert(out.end(), body.begin(), body.end());
        if (!anchored_end) out.push_back(Grammar::ref(any_star()));
        return out;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(cat("pattern '", std::string(orig_), "': ", what, " (supported: literals, [...], \\d \\w \\s, ., "
                        "groups, |, ? * + {m,n}, ^ at the start and $ at the end)"));
    }

    bool escaped_at(size_t i) const {
        size_t n = 0;
        while (i > n && p_[i - n - 1] == '\\') ++n;
        return n % 2 == 1;
    }

    uint32_t any_star() {
        if (!any_star_) {
            const uint32_t c = g_.add_class({{'\n', '\n'}}, true, kJsonUnsafe);
            any_star_ = g_.repeat({Grammar::cls(c)}, 0, -1, name_ + "-any");
        }
        return *any_star_;
    }

    uint32_t next_cp() {
        size_t bad = 0;
        const size_t len = text::utf8::valid_sequence_length(p_, pos_, &bad);
        if (len == 0) fail("invalid UTF-8");
        const uint32_t cp = text::utf8::decode_at(p_, pos_, len);
        pos_ += len;
        return cp;
    }

    // A literal character as it is written inside a JSON string.
    static Sequence literal_cp(uint32_t cp) {
        std::string s;
        if (cp == '"') s = "\\\"";
        else if (cp == '\\') s = "\\\\";
        else if (cp == '\n') s = "\\n";
        else if (cp == '\t') s = "\\t";
        else if (cp == '\r') s = "\\r";
        else if (cp < 0x20) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "\\u%04x", cp);
            s = buf;
        } else {
            text::utf8::append(s, cp);
        }
        return Grammar::literal(s);
    }

    Sequence alternation() {
        std::vector<Sequence> branches{concatenation()};
        while (pos_ < p_.size() && p_[pos_] == '|') {
            ++pos_;
            branches.push_back(concatenation());
        }
        if (branches.size() == 1) return branches[0];
        return {Grammar::ref(g_.choice(std::move(branches), name_ + "-alt"))};
    }

    Sequence concatenation() {
        Sequence out;
        while (pos_ < p_.size() && p_[pos_] != '|' && p_[pos_] != ')') {
            Sequence a = atom();
            quantified(a);
            out.insert(out.end(), a.begin(), a.end());
        }
        return out;
    }

    int number() {
        if (pos_ >= p_.size() || p_[pos_] < '0' || p_[pos_] > '9') fail("expected a number in {m,n}");
        int n = 0;
        while (pos_ < p_.size() && p_[pos_] >= '0' && p_[pos_] <= '9') {
            n = n * 10 + (p_[pos_++] - '0');
            if (n > 10000) fail("repetition count above 10000");
        }
        return n;
    }

    void quantified(Sequence& a) {
        if (pos_ >= p_.size()) return;
        int lo = 0, hi = 0;
        const char c = p_[pos_];
        if (c == '?') lo = 0, hi = 1;
        else if (c == '*') lo = 0, hi = -1;
        else if (c == '+') lo = 1, hi = -1;
        else if (c == '{') {
            ++pos_;
            lo = number();
            hi = lo;
            if (pos_ < p_.size() && p_[pos_] == ',') {
                ++pos_;
                hi = (pos_ < p_.size() && p_[pos_] == '}') ? -1 : number();
            }
            if (pos_ >= p_.size() || p_[pos_] != '}') fail("unterminated {m,n}");
            if (hi >= 0 && hi < lo) fail("{m,n} with n < m");
        } else {
            return;
        }
        ++pos_;
        if (pos_ < p_.size() && (p_[pos_] == '?' || p_[pos_] == '+')) fail("lazy and possessive quantifiers are not supported");
        if (pos_ < p_.size() && (p_[pos_] == '*' || p_[pos_] == '{')) fail("a quantifier after a quantifier");
        a = {Grammar::ref(g_.repeat(a, lo, hi, name_ + "-rep"))};
    }

    // \d \w \s and their negations as ranges; false if c is not one of them.
    static bool shorthand(char c, std::vector<CodepointRange>& r, bool& neg) {
        neg = c >= 'A' && c <= 'Z';
        switch (c | 0x20) {
            case 'd': r = {{'0', '9'}}; return true;
            case 'w': r = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; return true;
            case 's': r = {{' ', ' '}, {'\t', '\r'}}; return true;
            default: return false;
        }
    }

    uint32_t escaped_char() {
        if (pos_ >= p_.size()) fail("a trailing backslash");
        const char c = p_[pos_];
        if (c == 'n') return ++pos_, '\n';
        if (c == 't') return ++pos_, '\t';
        if (c == 'r') return ++pos_, '\r';
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            fail(cat("the escape \\", c, " is not supported"));
        return next_cp();
    }

    Sequence klass() {
        ++pos_;  // '['
        bool neg = false;
        if (pos_ < p_.size() && p_[pos_] == '^') neg = true, ++pos_;
        std::vector<CodepointRange> ranges;
        bool first = true;
        while (true) {
            if (pos_ >= p_.size()) fail("unterminated [...]");
            if (p_[pos_] == ']' && !first) break;
            first = false;
            uint32_t lo;
            if (p_[pos_] == '\\') {
                ++pos_;
                std::vector<CodepointRange> sh;
                bool sneg = false;
                if (pos_ < p_.size() && shorthand(p_[pos_], sh, sneg)) {
                    if (sneg) fail("\\D \\W \\S inside [...] are not supported");
                    ++pos_;
                    ranges.insert(ranges.end(), sh.begin(), sh.end());
                    continue;
                }
                lo = escaped_char();
            } else {
                if (p_[pos_] == '[') fail("nested classes and [:name:] are not supported");
                lo = next_cp();
            }
            uint32_t hi = lo;
            if (pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']') {
                ++pos_;
                if (p_[pos_] == '\\') {
                    ++pos_;
                    hi = escaped_char();
                } else {
                    hi = next_cp();
                }
                if (hi < lo) fail("a range [a-b] with b < a");
            }
            ranges.push_back({lo, hi});
        }
        ++pos_;  // ']'
        return {Grammar::cls(g_.add_class(std::move(ranges), neg, kJsonUnsafe))};
    }

    Sequence atom() {
        const char c = p_[pos_];
        if (c == '(') {
            ++pos_;
            if (pos_ < p_.size() && p_[pos_] == '?') {
                if (pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') pos_ += 2;
                else fail("lookaround and named groups are not supported");
            }
            Sequence inner = alternation();
            if (pos_ >= p_.size() || p_[pos_] != ')') fail("unbalanced (");
            ++pos_;
            return {Grammar::ref(g_.choice({std::move(inner)}, name_ + "-group"))};
        }
        if (c == '[') return klass();
        if (c == '.') {
            ++pos_;
            return {Grammar::cls(g_.add_class({{'\n', '\n'}}, true, kJsonUnsafe))};
        }
        if (c == '\\') {
            ++pos_;
            std::vector<CodepointRange> sh;
            bool neg = false;
            if (pos_ < p_.size() && shorthand(p_[pos_], sh, neg)) {
                ++pos_;
                return {Grammar::cls(g_.add_class(std::move(sh), neg, kJsonUnsafe))};
            }
            return literal_cp(escaped_char());
        }
        if (c == '*' || c == '+' || c == '?' || c == '{') fail(cat("nothing to repeat before '", c, "'"));
        if (c == '^' || c == '$') fail("^ and $ are supported only at the start and the end");
        return literal_cp(next_cp());
    }

    Grammar& g_;
    std::string_view p_;
    const std::string_view orig_ = p_;
    std::string name_;
    size_t pos_ = 0;
    std::optional<uint32_t> any_star_;
};

}  // namespace

Sequence compile_pattern(Grammar& g, std::string_view pattern, const std::string& name) {
    return RegexCompiler(g, pattern, name).compile();
}

}  // namespace scout::grammar
