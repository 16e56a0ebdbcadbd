// The pushdown matcher: see matcher.hpp.
#include "grammar/matcher.hpp"

#include <algorithm>
#include <cstring>

#include "base/error.hpp"

namespace scout::grammar {

namespace {

// Code points an n-byte UTF-8 sequence may encode (shortest form only).
constexpr uint32_t kSeqMin[4] = {0, 0x80, 0x800, 0x10000};
constexpr uint32_t kSeqMax[4] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};

// Expansion recursion bound: only a grammar with an epsilon cycle through tail calls gets there.
constexpr int kMaxGuard = 4096;

}  // namespace

Matcher::Matcher(std::shared_ptr<const Grammar> grammar, MatcherOptions options)
    : grammar_(std::move(grammar)), options_(options) {
    check(grammar_ != nullptr, "matcher: no grammar");
    const auto alts = grammar_->alternatives(grammar_->root());
    for (uint32_t a : alts) {
        frames_.assign(1, a);
        expand(frames_, state_, 0);
    }
}

void Matcher::emit(const std::vector<uint32_t>& frames, uint32_t partial, MatchState& out) const {
    // Skip duplicates (ambiguous grammars would otherwise multiply stacks).
    const auto n = static_cast<uint32_t>(frames.size());
    size_t i = 0, n_stacks = 0;
    while (i < out.buf.size()) {
        const uint32_t len = out.buf[i];
        if (len == n && out.buf[i + 1] == partial &&
            (n == 0 || std::memcmp(&out.buf[i + 2], frames.data(), n * sizeof(uint32_t)) == 0))
            return;
        i += 2 + len;
        ++n_stacks;
    }
    if (n_stacks >= static_cast<size_t>(options_.max_stacks)) return;
    out.buf.push_back(n);
    out.buf.push_back(partial);
    out.buf.insert(out.buf.end(), frames.begin(), frames.end());
}

void Matcher::expand(std::vector<uint32_t>& frames, MatchState& out, int guard) const {
    if (guard > kMaxGuard) return;
    if (frames.empty()) {
        emit(frames, 0, out);
        return;
    }
    const auto& flat = grammar_->flat();
    const uint32_t p = frames.back();
    const Element& e = flat[p];
    switch (e.kind) {
        case ElemKind::bytes:
        case ElemKind::cls:
            emit(frames, 0, out);
            return;
        case ElemKind::end:
            frames.pop_back();
            expand(frames, out, guard + 1);
            frames.push_back(p);
            return;
        case ElemKind::ref: {
            frames.pop_back();
            // Tail call: nothing follows the reference, so its frame is not kept.
            const bool keep_return = flat[p + 1].kind != ElemKind::end;
            if (keep_return) frames.push_back(p + 1);
            if (static_cast<int>(frames.size()) < options_.max_depth) {
                for (uint32_t a : grammar_->alternatives(e.id)) {
                    frames.push_back(a);
                    expand(frames, out, guard + 1);
                    frames.pop_back();
                }
            }
            if (keep_return) frames.pop_back();
            frames.push_back(p);
            return;
        }
    }
}

bool Matcher::advance(const MatchState& in, uint8_t b, MatchState& out) const {
    out.buf.clear();
    const auto& flat = grammar_->flat();
    size_t i = 0;
    while (i < in.buf.size()) {
        const uint32_t len = in.buf[i];
        const uint32_t partial = in.buf[i + 1];
        const uint32_t* f = &in.buf[i + 2];
        i += 2 + len;
        if (len == 0) continue;  // complete: takes no more input
        const uint32_t p = f[len - 1];
        const Element& e = flat[p];
        bool step = false;  // element fully matched: move to p + 1
        uint32_t new_partial = 0;
        if (e.kind == ElemKind::bytes) {
            step = b >= e.lo && b <= e.hi;
            if (!step) continue;
        } else {  // cls
            uint32_t left, cp, n;  // continuation bytes still expected, code point bits so far, sequence's continuation bytes
            if (partial == 0) {
                if (b < 0x80) left = 0, cp = b;
                else if (b >= 0xC2 && b <= 0xDF) left = 1, cp = b & 0x1F;
                else if (b >= 0xE0 && b <= 0xEF) left = 2, cp = b & 0x0F;
                else if (b >= 0xF0 && b <= 0xF4) left = 3, cp = b & 0x07;
                else continue;
                n = left;
            } else {
                if ((b & 0xC0) != 0x80) continue;
                n = (partial >> 21) & 7;
                left = (partial >> 24) - 1;
                cp = ((partial & 0x1FFFFF) << 6) | (b & 0x3F);
            }
            // The code points this prefix can still become, within the shortest-form range of an
            // (n+1)-byte sequence (so E0 80.., F0 8x.. and F4 9x.. are refused at their second byte).
            const uint32_t lo = std::max(cp << (6 * left), kSeqMin[n]);
            const uint32_t hi = std::min((cp << (6 * left)) | ((1u << (6 * left)) - 1), kSeqMax[n]);
            if (lo > hi || !grammar_->class_intersects(e.id, lo, hi)) continue;
            if (left == 0) step = true;
            else new_partial = (left << 24) | (n << 21) | cp;
        }
        frames_.assign(f, f + len);
        if (step) {
            frames_.back() = p + 1;
            expand(frames_, out, 0);
        } else {
            emit(frames_, new_partial, out);
        }
    }
    return !out.empty();
}

bool Matcher::accept(uint8_t byte) {
    if (!advance(state_, byte, scratch_)) return false;
    std::swap(state_, scratch_);
    return true;
}

bool Matcher::accept(std::string_view bytes) {
    MatchState saved = state_;
    for (unsigned char c : bytes) {
        if (!accept(static_cast<uint8_t>(c))) {
            state_ = std::move(saved);
            return false;
        }
    }
    return true;
}

bool Matcher::can_end() const {
    for (size_t i = 0; i < state_.buf.size(); i += 2 + state_.buf[i])
        if (state_.buf[i] == 0) return true;
    return false;
}

bool Matcher::is_done() const {
    for (size_t i = 0; i < state_.buf.size(); i += 2 + state_.buf[i])
        if (state_.buf[i] != 0) return false;
    return !state_.buf.empty();
}

}  // namespace scout::grammar
