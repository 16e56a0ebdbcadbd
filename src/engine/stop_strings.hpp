// Stop strings on streamed text: the one filter behind `scout run/chat --stop` (generate.cpp) and
// the server's "stop" (scheduler.cpp).
//
// Contract. Text arrives in pieces split anywhere (a stop string, or a UTF-8 character, may span
// pieces). add() returns the text that is safe to show now: everything received so far except
//   - a tail that is still a proper prefix of some stop string (it may yet become one), and
//   - a tail that is an incomplete UTF-8 character (its last bytes are still to come).
// When a stop string is complete, add() returns the text before it and the filter has stopped:
// the stop string and everything after it are dropped, and later add()/finish() calls return "".
// The text stops at the stop string that is complete first, reading the text byte by byte (the
// one that ends earliest; of two that end together, the longer, which starts earlier), so the
// result never depends on how the text was split into pieces: with stops "abcd" and "bc", "abcd"
// gives "a" whether it arrives whole or as "ab" + "cd".
// finish() is the end of the text: it returns whatever is still held back (nothing more can
// complete a stop string). Concatenating every returned piece gives the text cut before its
// first stop string (or the whole text). When the text and the stop strings are valid UTF-8,
// every returned piece is whole characters.
// With no stop strings only incomplete UTF-8 tails are held back.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace scout::engine {

class StopStringFilter {
public:
    // Each stop string must be non-empty (scout::Error otherwise).
    explicit StopStringFilter(std::vector<std::string> stops = {});

    std::string add(std::string_view piece);
    std::string finish();
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;  // owned: the caller's list may be a temporary or move
    std::string pending_;             // received, not yet returned
    bool stopped_ = false;
};

}  // namespace scout::engine
