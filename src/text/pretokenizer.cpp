#include "text/pretokenizer.hpp"

#include "text/unicode_tables.hpp"

namespace scout::text {
namespace {

using namespace unicode;

constexpr size_t k_fail = static_cast<size_t>(-1);

// [^\r\n\p{L}\p{N}]: the optional one-character prefix of A1/A2.
bool is_prefix(uint8_t f) { return (f & (k_cr_lf | k_letter | k_number)) == 0; }

// Simple case folding of the contraction letters: only 's' has a non-ASCII member (U+017F LONG S).
uint32_t fold(uint32_t cp) {
    if (cp >= 'A' && cp <= 'Z') return cp + 32;
    if (cp == 0x17F) return 's';
    return cp;
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d) at position i: returns the number of code points matched (0 if none).
size_t match_contraction(const CodePointSpan& s, size_t i) {
    if (i + 1 >= s.n || s.cps[i] != '\'') return 0;
    const uint32_t a = fold(s.cps[i + 1]);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 >= s.n) return 0;
    const uint32_t b = fold(s.cps[i + 2]);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

size_t run_of(const CodePointSpan& s, size_t i, uint8_t mask) {
    size_t j = i;
    while (j < s.n && (s.flags[j] & mask)) ++j;
    return j;
}

// U* L+ contraction? starting at j; returns end or k_fail.
// U* is greedy and gives back one character at a time until L+ can start: the first L-position
// found going backwards from the end of the U run.
size_t word_lower(const CodePointSpan& s, size_t j) {
    const size_t u_end = run_of(s, j, k_upper_set);
    size_t k = u_end;
    for (;;) {
        if (k < s.n && (s.flags[k] & k_lower_set)) break;
        if (k == j) return k_fail;
        --k;
    }
    const size_t l_end = run_of(s, k, k_lower_set);
    return l_end + match_contraction(s, l_end);
}

// U+ L* contraction? starting at j; returns end or k_fail. L* always matches, so no backtracking.
size_t word_upper(const CodePointSpan& s, size_t j) {
    if (j >= s.n || !(s.flags[j] & k_upper_set)) return k_fail;
    const size_t u_end = run_of(s, j, k_upper_set);
    const size_t l_end = run_of(s, u_end, k_lower_set);
    return l_end + match_contraction(s, l_end);
}

// A1 or A2: the optional prefix is greedy, so it is tried consumed first, then skipped.
size_t word(const CodePointSpan& s, size_t i, size_t (*body)(const CodePointSpan&, size_t)) {
    if (is_prefix(s.flags[i])) {
        const size_t e = body(s, i + 1);
        if (e != k_fail) return e;
    }
    return body(s, i);
}

}  // namespace

size_t match_piece(const CodePointSpan& s, size_t i) {
    const uint8_t f = s.flags[i];

    size_t e = word(s, i, word_lower);
    if (e != k_fail) return e - i;
    e = word(s, i, word_upper);
    if (e != k_fail) return e - i;

    // A3
    if (f & k_number) {
        size_t j = i + 1;
        while (j < s.n && j < i + 3 && (s.flags[j] & k_number)) ++j;
        return j - i;
    }

    // A4: optional ASCII space, then [^\s\p{L}\p{N}]+, then [\r\n/]*.
    constexpr uint8_t k_not_other = k_white | k_letter | k_number;
    size_t j = i;
    if (s.cps[j] == ' ' && j + 1 < s.n && !(s.flags[j + 1] & k_not_other)) ++j;
    if (!(s.flags[j] & k_not_other)) {
        while (j < s.n && !(s.flags[j] & k_not_other)) ++j;
        while (j < s.n && (s.cps[j] == '\r' || s.cps[j] == '\n' || s.cps[j] == '/')) ++j;
        return j - i;
    }

    // Only whitespace is left (every character is covered by some alternative).
    const size_t ws_end = run_of(s, i, k_white);
    // A5: \s*[\r\n]+ ends after the last CR/LF of the whitespace run.
    for (size_t k = ws_end; k > i; --k) {
        if (s.flags[k - 1] & k_cr_lf) return k - i;
    }
    // A6: \s+(?!\S): the whole run at the end of the text, else the run minus its last character.
    if (ws_end == s.n) return ws_end - i;
    if (ws_end - i >= 2) return ws_end - 1 - i;
    // A7
    return ws_end - i;
}

}  // namespace scout::text
