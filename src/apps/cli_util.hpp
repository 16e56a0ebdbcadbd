// Small helpers shared by the subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace scout::apps {

// "1,2, 3" -> {1, 2, 3}; throws scout::Error naming the bad item.
std::vector<int32_t> parse_id_list(const std::string& text, const std::string& option_name);

// Token counts for --ctx and --depth: "131072", "128K", "1M", "10M" (K = 1,024, M = 1,048,576:
// Llama 4's context lengths are powers of two, Scout's 10M is 10 x 2^20), several comma-separated;
// throws scout::Error naming the bad item.
std::vector<int64_t> parse_token_counts(const std::string& text, const std::string& option_name);

// Byte sizes: "1048576", "512K", "64M", "8G", "1T" (powers of 1,024; a trailing B or iB is
// allowed: "8GiB", "8GB" mean the same); throws scout::Error naming the option.
uint64_t parse_byte_size(const std::string& text, const std::string& option_name);

// 1234567 -> "1,234,567"
std::string group_thousands(int64_t v);
// 1536 -> "1.50 KiB"
std::string human_bytes(double bytes);

}  // namespace scout::apps
