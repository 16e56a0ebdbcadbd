// Small helpers shared by the subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace scout::apps {

// "1,2, 3" -> {1, 2, 3}; throws scout::Error naming the bad item.
std::vector<int32_t> parse_id_list(const std::string& text, const std::string& option_name);

// 1234567 -> "1,234,567"
std::string group_thousands(int64_t v);
// 1536 -> "1.50 KiB"
std::string human_bytes(double bytes);

}  // namespace scout::apps
